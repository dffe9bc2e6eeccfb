/* Path resolution for the native tracer core, as cowsnap/trace/paths.py does it: the
 * kernel walks the symlinks (open O_PATH, readlink /proc/self/fd/N), parents' physical
 * paths (or their absence) are cached, paths beyond PATH_MAX are opened piecewise and
 * directories beyond it named by walking up through "..". Every returned string is
 * malloc'ed and the caller's. */
#ifndef COWSNAP_CORE_PATHS_H
#define COWSNAP_CORE_PATHS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "_core_util.h"

#define CS_PATH_MAX 4096
#define MAX_SYMLINK_DEPTH 40
#define CACHE_LIMIT 50000
#define OPEN_PATH (O_PATH | O_CLOEXEC)
#define OPEN_DIRECTORY (O_PATH | O_CLOEXEC | O_DIRECTORY)

typedef struct {
    char *path; /* NULL: nothing located */
    int exists;
    unsigned mode; /* lstat mode when read, else 0 */
} located;

/* readlink into a fresh string; NULL with errno on failure (ENAMETOOLONG beyond PATH_MAX). */
static char *read_link_at(int dirfd, const char *name) {
    char buffer[CS_PATH_MAX + 1];
    ssize_t n = readlinkat(dirfd, name, buffer, sizeof buffer);
    if (n < 0) return NULL;
    if ((size_t)n >= sizeof buffer) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return str_dup_n(buffer, (size_t)n);
}

/* The tracer's /proc/self/fd, opened once: each readlink of one of its own fds then walks
 * one name of /proc instead of four. A fork's child drops its copy (forget_own_fds, run
 * by pthread_atfork) and opens its own. */
static int own_fds = -1;

static void forget_own_fds(void) {
    if (own_fds >= 0) close(own_fds);
    own_fds = -1;
}

static int own_fds_directory(void) {
    int fd = __atomic_load_n(&own_fds, __ATOMIC_ACQUIRE);
    if (fd >= 0) return fd;
    fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int expected = -1;
    if (__atomic_compare_exchange_n(&own_fds, &expected, fd, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fd;
    close(fd);
    return expected;
}

static char *fd_link(int fd) {
    char link[64];
    int directory = own_fds_directory();
    if (directory < 0) {
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        return read_link_at(AT_FDCWD, link);
    }
    snprintf(link, sizeof link, "%d", fd);
    return read_link_at(directory, link);
}

static char *path_join(const char *base, const char *name) {
    if (name[0] == '/') return str_dup(name);
    if (!name[0]) return str_dup(base);
    return str_cat3(base, ends_with(base, "/") ? "" : "/", name);
}

/* The next name in `*p` after any slashes (length in `*part`, 0 at the end); `*p` moves
   past it. */
static const char *next_name(const char **p, size_t *part) {
    const char *q = *p;
    while (*q == '/') q++;
    const char *start = q;
    while (*q && *q != '/') q++;
    *part = (size_t)(q - start);
    *p = q;
    return start;
}

static char *normalise(const char *path) {
    size_t n = strlen(path);
    char *out = malloc(n + 2);
    if (out == NULL) abort();
    size_t length = 0;
    const char *p = path;
    while (*p) {
        size_t part;
        const char *start = next_name(&p, &part);
        if (part == 0 || (part == 1 && start[0] == '.')) continue;
        if (part == 2 && start[0] == '.' && start[1] == '.') {
            while (length > 0 && out[length - 1] != '/') length--;
            if (length > 0) length--;
            continue;
        }
        out[length++] = '/';
        memcpy(out + length, start, part);
        length += part;
    }
    if (length == 0) out[length++] = '/';
    out[length] = 0;
    return out;
}

/* (parent, last name) of an absolute path, trailing slashes ignored. */
static void split_last(const char *path, char **parent, char **name) {
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/') n--;
    if (n == 0) {
        *parent = str_dup("/");
        *name = str_dup("");
        return;
    }
    size_t slash = n;
    while (slash > 0 && path[slash - 1] != '/') slash--;
    *name = str_dup_n(path + slash, n - slash);
    size_t plen = slash > 0 ? slash - 1 : 0;
    *parent = plen == 0 ? str_dup("/") : str_dup_n(path, plen);
}

static int is_dot_name(const char *name) {
    return !name[0] || !strcmp(name, ".") || !strcmp(name, "..");
}

/* open(path, flags) at any length: pieces below PATH_MAX, each relative to the last. */
static int open_any_length(const char *path, int flags) {
    size_t n = strlen(path);
    if (n < CS_PATH_MAX) return open(path, flags);
    char *piece = malloc(n + 2);
    if (piece == NULL) abort();
    strcpy(piece, "/");
    size_t plen = 1;
    int fd = AT_FDCWD, result = -1;
    const char *p = path;
    while (*p) {
        size_t part;
        const char *start = next_name(&p, &part);
        if (!part) continue;
        size_t extra = (plen && piece[plen - 1] != '/') ? 1 : 0;
        if (plen + extra + part >= CS_PATH_MAX) {
            int next = openat(fd, piece, OPEN_DIRECTORY);
            if (fd != AT_FDCWD) close(fd);
            if (next < 0) goto done;
            fd = next;
            plen = 0;
            extra = 0;
        }
        if (extra) piece[plen++] = '/';
        memcpy(piece + plen, start, part);
        plen += part;
        piece[plen] = 0;
    }
    result = openat(fd, piece, flags);
done:;
    int saved = errno;
    if (fd != AT_FDCWD) close(fd);
    free(piece);
    errno = saved;
    return result;
}

/* The entry of directory `parent` that is `child`; NULL (ENOENT) if none. */
static char *name_in(int parent, const struct stat *child) {
    int copy = dup(parent);
    if (copy < 0) return NULL;
    DIR *listing = fdopendir(copy);
    if (listing == NULL) {
        close(copy);
        return NULL;
    }
    char *found = NULL;
    struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
        struct stat st;
        if (fstatat(parent, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (st.st_ino == child->st_ino && st.st_dev == child->st_dev) {
            found = str_dup(entry->d_name);
            break;
        }
    }
    closedir(listing);
    if (found == NULL) errno = ENOENT;
    return found;
}

/* The physical path of the directory open as fd, at any length. */
static char *directory_path(int fd) {
    char **names = NULL;
    int *opened = NULL;
    size_t count = 0;
    char *result = NULL, *base = NULL;
    int current = fd;
    for (;;) {
        base = fd_link(current);
        if (base != NULL) break;
        if (errno != ENAMETOOLONG) goto done;
        struct stat st;
        if (fstat(current, &st) != 0) goto done;
        int parent = openat(current, "..", O_RDONLY | O_CLOEXEC | O_DIRECTORY);
        if (parent < 0) goto done;
        names = realloc(names, (count + 1) * sizeof *names);
        opened = realloc(opened, (count + 1) * sizeof *opened);
        if (names == NULL || opened == NULL) abort();
        opened[count] = parent;
        names[count] = name_in(parent, &st);
        count++;
        if (names[count - 1] == NULL) goto done;
        current = parent;
    }
    result = base;
    for (size_t i = count; i > 0; i--) {
        char *longer = path_join(result, names[i - 1]);
        free(result);
        result = longer;
    }
done:;
    int saved = errno;
    for (size_t i = 0; i < count; i++) {
        close(opened[i]);
        free(names[i]);
    }
    free(names);
    free(opened);
    errno = saved;
    return result;
}

static char *kernel_path(const char *path, int flags) {
    int fd = open_any_length(path, flags);
    if (fd < 0) return NULL;
    char *real = strlen(path) >= CS_PATH_MAX ? directory_path(fd) : fd_link(fd);
    close(fd);
    return real;
}

static char *real_directory(const char *path) {
    char *real = kernel_path(path, OPEN_DIRECTORY);
    if (real != NULL) return real;
    char *parent, *name;
    split_last(path, &parent, &name);
    if (!name[0]) {
        free(parent);
        free(name);
        return str_dup("/");
    }
    char *real_parent = real_directory(parent);
    char *joined = path_join(real_parent, name);
    char *result = normalise(joined);
    free(parent);
    free(name);
    free(real_parent);
    free(joined);
    return result;
}

static located resolve_path(const char *path, int follow, int depth);

static located resolve_long(const char *parent, const char *name, int follow, int depth) {
    located out = {NULL, 0, 0};
    int fd = open_any_length(parent, OPEN_DIRECTORY);
    if (fd < 0) {
        char *joined = path_join(parent, name);
        out.path = normalise(joined);
        free(joined);
        return out;
    }
    char *real_parent = directory_path(fd);
    if (real_parent == NULL) real_parent = normalise(parent);
    char *candidate = path_join(real_parent, name);
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        out.path = candidate;
    } else if (follow && S_ISLNK(st.st_mode) && depth < MAX_SYMLINK_DEPTH) {
        char *target = read_link_at(fd, name);
        if (target == NULL) {
            out.path = candidate;
        } else {
            char *joined = path_join(real_parent, target);
            out = resolve_path(joined, 1, depth + 1);
            free(joined);
            free(target);
            free(candidate);
        }
    } else {
        out.path = candidate;
        out.exists = 1;
        out.mode = st.st_mode;
    }
    free(real_parent);
    close(fd);
    return out;
}

static located resolve_path(const char *path, int follow, int depth) {
    located out = {NULL, 0, 0};
    char *parent, *name;
    split_last(path, &parent, &name);
    if (is_dot_name(name)) {
        char *real = kernel_path(path, OPEN_DIRECTORY);
        out.exists = real != NULL;
        out.path = real != NULL ? real : real_directory(path);
    } else if (strlen(path) >= CS_PATH_MAX) {
        out = resolve_long(parent, name, follow, depth);
    } else {
        follow = follow || ends_with(path, "/");
        char *real = kernel_path(path, follow ? OPEN_PATH : OPEN_PATH | O_NOFOLLOW);
        if (real != NULL) {
            out.path = real;
            out.exists = 1;
        } else {
            char *real_parent = real_directory(parent);
            char *candidate = path_join(real_parent, name);
            free(real_parent);
            out.path = candidate;
            if (follow && depth < MAX_SYMLINK_DEPTH) {
                char *target = read_link_at(AT_FDCWD, candidate);
                if (target != NULL) {
                    char *cparent, *cname;
                    split_last(candidate, &cparent, &cname);
                    char *joined = path_join(cparent, target);
                    free(cparent);
                    free(cname);
                    free(target);
                    free(candidate);
                    out = resolve_path(joined, 1, depth + 1);
                    free(joined);
                }
            }
        }
    }
    free(parent);
    free(name);
    return out;
}

/* The resolver with its two caches: parent -> physical path, and parent -> the lexical
 * place of a missing directory. */
typedef struct {
    strmap directories;
    strmap missing;
} resolver;

static void remember(strmap *cache, const char *key, const char *value) {
    if (cache->count >= CACHE_LIMIT) strmap_clear(cache);
    strmap_put(cache, key, value);
}

/* `probe`: whether the caller needs to know if the path exists (and its mode); without,
 * a path whose parent is cached costs no syscall. */
static located resolver_resolve(resolver *r, const char *path, int follow, int probe) {
    char *parent, *name;
    split_last(path, &parent, &name);
    located out = {NULL, 0, 0};
    if (strlen(path) >= CS_PATH_MAX || is_dot_name(name) || ends_with(path, "/")) {
        out = resolve_path(path, follow, 0);
        goto done;
    }
    int found;
    const char *cached = strmap_get(&r->directories, parent, &found);
    char *real_parent;
    if (!found) {
        const char *missing = strmap_get(&r->missing, parent, &found);
        if (found) {
            out.path = path_join(missing, name);
            goto done;
        }
        real_parent = kernel_path(parent, OPEN_DIRECTORY);
        if (real_parent == NULL) {
            out = resolve_path(path, follow, 0);
            char *lparent, *lname;
            split_last(out.path, &lparent, &lname);
            remember(&r->missing, parent, lparent);
            free(lparent);
            free(lname);
            goto done;
        }
        remember(&r->directories, parent, real_parent);
    } else {
        real_parent = str_dup(cached);
    }
    char *candidate = path_join(real_parent, name);
    free(real_parent);
    struct stat st;
    if (!probe || lstat(candidate, &st) != 0) {
        out.path = candidate;
    } else if (follow && S_ISLNK(st.st_mode)) {
        out = resolve_path(candidate, 1, 0);
        free(candidate);
    } else {
        out.path = candidate;
        out.exists = 1;
        out.mode = st.st_mode;
    }
done:
    free(parent);
    free(name);
    return out;
}

#endif
