/* What the native core remembers per thread, shared as the kernel shares it (see
 * cowsnap/trace/state.py): fd tables (CLONE_FILES), cwd/root (CLONE_FS), and one open
 * file entry per open file description, shared by its duplicates. */
#ifndef COWSNAP_CORE_STATE_H
#define COWSNAP_CORE_STATE_H

#include "_core_util.h"

typedef struct {
    int refs;
    char *path; /* NULL: an unnamed O_TMPFILE */
    int writable;
    int created; /* the open that made this fd created its file */
} fd_entry;

typedef struct {
    int refs;
    fd_entry **fds; /* indexed by fd */
    int capacity;
    int count;
} fd_table;

typedef struct {
    int refs;
    char *cwd; /* NULL: ask /proc */
    char *root;
} fs_state;

#define MAX_TRACKED_FD (1 << 20)

static fd_entry *entry_new(const char *path, int writable) {
    fd_entry *e = calloc(1, sizeof *e);
    if (e == NULL) abort();
    e->refs = 1;
    e->path = path ? str_dup(path) : NULL;
    e->writable = writable;
    return e;
}

static fd_entry *entry_ref(fd_entry *e) {
    e->refs++;
    return e;
}

static void entry_unref(fd_entry *e) {
    if (e != NULL && --e->refs == 0) {
        free(e->path);
        free(e);
    }
}

static fd_table *table_new(void) {
    fd_table *t = calloc(1, sizeof *t);
    if (t == NULL) abort();
    t->refs = 1;
    return t;
}

static fd_entry *table_get(const fd_table *t, long fd) {
    return (fd >= 0 && fd < t->capacity) ? t->fds[fd] : NULL;
}

/* The entry at fd, removed (the caller owns its reference). */
static fd_entry *table_pop(fd_table *t, long fd) {
    fd_entry *e = table_get(t, fd);
    if (e != NULL) {
        t->fds[fd] = NULL;
        t->count--;
    }
    return e;
}

/* Takes over the caller's reference to e. */
static void table_set(fd_table *t, long fd, fd_entry *e) {
    if (fd < 0 || fd >= MAX_TRACKED_FD) {
        entry_unref(e);
        return;
    }
    if (fd >= t->capacity) {
        int capacity = t->capacity ? t->capacity : 64;
        while (capacity <= fd) capacity *= 2;
        t->fds = realloc(t->fds, (size_t)capacity * sizeof *t->fds);
        if (t->fds == NULL) abort();
        memset(t->fds + t->capacity, 0, (size_t)(capacity - t->capacity) * sizeof *t->fds);
        t->capacity = capacity;
    }
    if (t->fds[fd] != NULL) {
        entry_unref(t->fds[fd]);
        t->count--;
    }
    t->fds[fd] = e;
    t->count++;
}

static fd_table *table_copy(const fd_table *t) {
    fd_table *copy = table_new();
    for (int fd = 0; fd < t->capacity; fd++)
        if (t->fds[fd] != NULL) table_set(copy, fd, entry_ref(t->fds[fd]));
    return copy;
}

static void table_unref(fd_table *t) {
    if (t == NULL || --t->refs > 0) return;
    for (int fd = 0; fd < t->capacity; fd++) entry_unref(t->fds[fd]);
    free(t->fds);
    free(t);
}

static fs_state *fs_new(const char *cwd, const char *root) {
    fs_state *fs = calloc(1, sizeof *fs);
    if (fs == NULL) abort();
    fs->refs = 1;
    fs->cwd = cwd ? str_dup(cwd) : NULL;
    fs->root = root ? str_dup(root) : NULL;
    return fs;
}

static void fs_forget(fs_state *fs) {
    free(fs->cwd);
    free(fs->root);
    fs->cwd = fs->root = NULL;
}

static void fs_unref(fs_state *fs) {
    if (fs != NULL && --fs->refs == 0) {
        fs_forget(fs);
        free(fs);
    }
}

#endif
