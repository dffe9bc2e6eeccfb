/* The native tracer core: cowsnap/trace/tracer.py's stop loop and decoder.py's decoding in
 * C, run without the GIL. Python hands it the syscall table (cowsnap/trace/syscalls.py,
 * the one source of truth) and a seized root; Core.step() follows the tree and returns
 * a batch of events: those gathered until no stop is ready. A stop that needs a Python hook (before_mutation, a written close,
 * a rename onto a watched path) ends the batch with the thread still stopped: it is
 * resumed at the next step(), after Python has run the hook. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "_core_paths.h"
#include "_core_state.h"

/* -- kernel ABI ------------------------------------------------------------------ */

#define GET_SYSCALL_INFO 0x420e
#define SEIZE_LISTEN 0x4208
#define EVENT_FORK 1
#define EVENT_VFORK 2
#define EVENT_CLONE 3
#define EVENT_EXEC 4
#define EVENT_EXIT 6
#define EVENT_SECCOMP 7
#define EVENT_STOP 128
#define ARCH_X86_64 0xC000003EU
#define ARCH_I386 0x40000003U
#define X32_BIT 0x40000000ULL
#define WALL 0x40000000

#define CS_AT_FDCWD (-100)
#define CS_AT_SYMLINK_NOFOLLOW 0x100
#define CS_AT_SYMLINK_FOLLOW 0x400
#define CS_AT_EMPTY_PATH 0x1000
#define CS_O_ACCMODE 03
#define CS_O_WRONLY 01
#define CS_O_CREAT 0100
#define CS_O_EXCL 0200
#define CS_O_TRUNC 01000
#define CS_O_NOFOLLOW 0400000
#define CS_O_TMPFILE_BIT 020000000
#define CS_F_DUPFD 0
#define CS_F_DUPFD_CLOEXEC 1030
#define CS_CLONE_VM 0x100
#define CS_CLONE_FS 0x200
#define CS_CLONE_FILES 0x400
#define CS_CLONE_VFORK 0x4000
#define CS_CLONE_THREAD 0x10000
#define CS_RENAME_EXCHANGE 2
#define CS_CLOSE_RANGE_CLOEXEC 4

struct syscall_info {
    uint8_t op;
    uint8_t pad[3];
    uint32_t arch;
    uint64_t instruction_pointer;
    uint64_t stack_pointer;
    uint64_t nr; /* the return value at a syscall-exit stop */
    uint64_t args[6];
    uint32_t ret_data;
    uint32_t tail;
};

/* -- the vocabulary shared with Python ---------------------------------------------- */

enum kind { K_PATH, K_FD, K_OPEN, K_EXEC, K_RENAME, K_LINK, K_SYMLINK, K_CLOSE, K_CLOSE_RANGE,
            K_DUP, K_DUP2, K_FCNTL, K_BIND, K_UNSEEN, K_UNSHARE, K_COUNT };
static const char *KIND_NAMES[K_COUNT] = {"path", "fd", "open", "exec", "rename", "link",
                                          "symlink", "close", "close_range", "dup", "dup2",
                                          "fcntl", "bind", "unseen", "unshare"};

enum operation { OP_READ, OP_WRITE, OP_CREATE, OP_DELETE, OP_RENAME, OP_MKDIR, OP_METADATA,
                 OP_EXISTENCE, OP_DIRECTORY, OP_EXEC, OP_COUNT };
static const char *OPERATION_NAMES[OP_COUNT] = {"read", "write", "create", "delete", "rename",
                                                "mkdir", "metadata", "existence", "directory",
                                                "exec"};

static int mutating(int op) {
    return op == OP_WRITE || op == OP_CREATE || op == OP_DELETE || op == OP_RENAME ||
           op == OP_MKDIR || op == OP_METADATA;
}

typedef struct {
    int kind, operation, path, dirfd, fd, follow, flags, sets_cwd;
    int is_creat, is_two_plain, is_linkat;
    char *warning;
} spec;

#define TABLE_SIZE 1024

/* -- what step() hands back ------------------------------------------------------- */

enum item_type { I_PATH, I_SPAWN, I_EXEC, I_EXIT, I_WARNING, I_BEFORE, I_CLOSE, I_STOP_WITH };

typedef struct {
    int type;
    long pid, tid;
    int spec, op;
    char *path;
    long long result, flags;
    char *related;
    long parent; /* -1: None */
    int status;
    char *message;
} item;

static void item_free(item *it) {
    free(it->path);
    free(it->related);
    free(it->message);
}

static item path_item(long pid, long tid, int spec_index, int op, const char *path,
                      long long result, long long flags, const char *related) {
    item it = {I_PATH, pid, tid, spec_index, op, str_dup(path), result, flags,
               related ? str_dup(related) : NULL, -1, 0, NULL};
    return it;
}

/* -- threads ---------------------------------------------------------------------- */

enum pending_kind { PD_NONE, PD_EVENTS, PD_OPEN, PD_TMPFILE, PD_DUP, PD_EXEC };
enum forget { FORGET_NOTHING, FORGET_MISSING, FORGET_ALL };

typedef struct {
    int kind;
    int count;
    item events[2];
    int forget;
    fs_state *drop_fs;  /* cwd/root dropped at exit (chdir, fchdir, chroot) */
    fd_entry *entry;    /* PD_DUP: duplicated; PD_EVENTS: named at exit (linkat) */
    char *name;         /* PD_EVENTS: the name given to entry */
    fd_table *files;    /* PD_OPEN, PD_TMPFILE, PD_DUP: the table at entry */
    int writable;
} pending;

typedef struct {
    long tid, tgid;
    fd_table *files;
    fs_state *fs;
    pending pd;
    char *exec_path;
    int exec_spec;
    int exiting;
    int fd_directory; /* O_PATH fd of /proc/TID/fd, or -1 (see fd_directory) */
} task;

typedef struct {
    long tid;
    int request;
    int signal;
} parked;

typedef struct {
    PyObject_HEAD
    long root;
    int root_status; /* -1: not yet */
    int root_signal; /* the signal that killed the root; 0: none */
    intmap tasks;
    intmap early; /* tid -> (void *)(intptr_t)(status + 1) */
    intmap warned;
    resolver paths;
    strmap quiet_paths;
    strmap quiet_dirs;
    strmap quiet_closes;
    strmap quiet_trees;
    spec *specs;
    int spec_count;
    int x86_64[TABLE_SIZE], i386[TABLE_SIZE], x32[TABLE_SIZE];
    int fork_calls[TABLE_SIZE]; /* syscall number -> enum clone_flags_at (syscalls.FORK_CALLS) */
    int execve_spec;
    int hook_mutations, hook_closes, sync_renames;
    item *items;
    size_t item_count, item_capacity;
    parked *parks;
    size_t park_count, park_capacity;
    int holding; /* this stop emitted a hook request: park its resume */
    int flush;   /* this batch must reach Python now (the root stopped for job control) */
    size_t batch;
    int one_cpu; /* the tracer may run on one CPU only: see Core_step */
    /* Scheduling: see follow_the_tracee. */
    int follow;
    cpu_set_t allowed; /* the tracer's own affinity, restored when it stops following */
    int pinned_cpu;    /* -1: not pinned */
    long window_tid;   /* the one thread that stopped in this window, or -1: several */
    int window_stops;
    int fd_directories; /* tasks' /proc/TID/fd directories held open (see fd_directory) */
    int max_fd_directories;
} Core;

static void emit(Core *core, item it) {
    if (core->item_count == core->item_capacity) {
        core->item_capacity = core->item_capacity ? core->item_capacity * 2 : 256;
        core->items = realloc(core->items, core->item_capacity * sizeof *core->items);
        if (core->items == NULL) abort();
    }
    core->items[core->item_count++] = it;
    if (it.type == I_BEFORE || it.type == I_CLOSE) core->holding = 1;
    if (it.type == I_STOP_WITH) core->flush = 1;
}

static void emit_warning(Core *core, long pid, const char *message) {
    item it = {I_WARNING, pid, pid, 0, 0, NULL, 0, 0, NULL, -1, 0, str_dup(message)};
    emit(core, it);
}

static void emit_process(Core *core, int type, long pid, long tid, long parent, const char *path,
                         int status) {
    item it = {type, pid, tid, 0, 0, path ? str_dup(path) : NULL, 0, 0, NULL, parent, status, NULL};
    emit(core, it);
}

static void pending_clear(pending *pd) {
    for (int i = 0; i < pd->count; i++) item_free(&pd->events[i]);
    fs_unref(pd->drop_fs);
    entry_unref(pd->entry);
    free(pd->name);
    table_unref(pd->files);
    memset(pd, 0, sizeof *pd);
}

static task *task_new(long tid, long tgid, fd_table *files, fs_state *fs, int exec_spec) {
    task *t = calloc(1, sizeof *t);
    if (t == NULL) abort();
    t->tid = tid;
    t->tgid = tgid;
    t->files = files;
    t->fs = fs;
    t->exec_spec = exec_spec;
    t->fd_directory = -1;
    return t;
}

/* Closes t's /proc/TID/fd directory (its thread is gone or has another tid). */
static void close_fd_directory(task *t, int *open_directories) {
    if (t->fd_directory < 0) return;
    close(t->fd_directory);
    t->fd_directory = -1;
    (*open_directories)--;
}

static void task_free(task *t, int *open_directories) {
    close_fd_directory(t, open_directories);
    pending_clear(&t->pd);
    table_unref(t->files);
    fs_unref(t->fs);
    free(t->exec_path);
    free(t);
}

/* -- ptrace and memory ------------------------------------------------------------ */

static long trace_request(int request, long tid, unsigned long address, unsigned long data) {
    return ptrace((enum __ptrace_request)request, (pid_t)tid, (void *)address, (void *)data);
}

static void park(Core *core, long tid, int request, int signal) {
    if (core->park_count == core->park_capacity) {
        core->park_capacity = core->park_capacity ? core->park_capacity * 2 : 8;
        core->parks = realloc(core->parks, core->park_capacity * sizeof *core->parks);
        if (core->parks == NULL) abort();
    }
    parked p = {tid, request, signal};
    core->parks[core->park_count++] = p;
}

static int resume_with(Core *core, task *t, int signal) {
    int request = t->pd.kind != PD_NONE ? PTRACE_SYSCALL : PTRACE_CONT;
    if (core->holding) {
        park(core, t->tid, request, signal);
        return 0;
    }
    return trace_request(request, t->tid, 0, (unsigned long)signal) < 0 ? -1 : 0;
}

static int resume(Core *core, task *t) { return resume_with(core, t, 0); }

static long event_message(long tid, int *failed) {
    unsigned long message = 0;
    *failed = trace_request(PTRACE_GETEVENTMSG, tid, 0, (unsigned long)&message) < 0;
    return (long)message;
}

static size_t read_memory(long tid, uint64_t address, void *buffer, size_t length) {
    struct iovec local = {buffer, length};
    struct iovec remote = {(void *)(uintptr_t)address, length};
    ssize_t n = process_vm_readv((pid_t)tid, &local, 1, &remote, 1, 0);
    return n > 0 ? (size_t)n : 0;
}

#define FIRST_CHUNK 256

/* The NUL-terminated string at address, never reading across into an unmapped page;
 * NULL if unreadable. Each byte is read once. */
static char *read_string(long tid, uint64_t address) {
    static char buffer[2 * CS_PATH_MAX + 2];
    static long page;
    if (!page) page = sysconf(_SC_PAGESIZE);
    if (address == 0) return NULL;
    size_t collected = 0, limit = FIRST_CHUNK;
    while (collected <= CS_PATH_MAX) {
        size_t chunk = (size_t)page - (size_t)(address % (uint64_t)page);
        if (chunk > limit) chunk = limit;
        limit = CS_PATH_MAX + 1;
        size_t n = read_memory(tid, address, buffer + collected, chunk);
        char *end = memchr(buffer + collected, 0, n);
        if (end != NULL) return str_dup_n(buffer, (size_t)(end - buffer));
        if (n < chunk) return NULL;
        collected += n;
        address += n;
    }
    return str_dup_n(buffer, collected);
}

static long long as_int(uint64_t value) { return (long long)(int32_t)(uint32_t)value; }

/* -- where paths come from ---------------------------------------------------------- */

/* /proc/TID/NAME's target, the directory's path even beyond PATH_MAX; NULL with errno
 * (ESRCH when the thread is gone). */
static char *proc_link(long tid, const char *name) {
    char link[96];
    snprintf(link, sizeof link, "/proc/%ld/%s", tid, name);
    char *target = read_link_at(AT_FDCWD, link);
    if (target != NULL) return target;
    if (errno == ENOENT || errno == ESRCH) {
        errno = ESRCH;
        return NULL;
    }
    if (errno != ENAMETOOLONG) return NULL;
    int fd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return NULL;
    target = directory_path(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return target;
}

static const char DELETED[] = " (deleted)";

#define MAX_FD_DIRECTORIES 128

/* An O_PATH fd of /proc/TID/fd, opened at the thread's first fd lookup and kept while it
 * lives: each later lookup walks one name of /proc instead of four (tar x looks up four
 * fds per file). The kernel still checks access and reads the fd's file at each lookup,
 * so it answers exactly as the whole path does. Held for at most MAX_FD_DIRECTORIES
 * threads at once, and an eighth of the tracer's fd limit (its fds are the recorder's
 * too); -1: spell the whole path. */
static int fd_directory(Core *core, task *t) {
    if (t->fd_directory < 0 && core->fd_directories < core->max_fd_directories) {
        char link[64];
        snprintf(link, sizeof link, "/proc/%ld/fd", t->tid);
        t->fd_directory = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (t->fd_directory >= 0) core->fd_directories++;
    }
    return t->fd_directory;
}

/* The path an fd names (a fresh string); NULL for pipes, sockets, deleted and unnamed
 * files. /proc first, the table where /proc cannot tell. */
static char *fd_path(Core *core, task *t, long fd, int *error) {
    char link[96];
    int directory = fd_directory(core, t);
    if (directory >= 0) {
        snprintf(link, sizeof link, "%ld", fd);
    } else {
        snprintf(link, sizeof link, "/proc/%ld/fd/%ld", t->tid, fd);
        directory = AT_FDCWD;
    }
    char *target = read_link_at(directory, link);
    if (target == NULL) {
        if (errno != ENAMETOOLONG) return NULL;
        char name[48];
        snprintf(name, sizeof name, "fd/%ld", fd);
        target = proc_link(t->tid, name);
        if (target == NULL) {
            if (errno != ENOTDIR) {
                *error = errno;
                return NULL;
            }
            target = str_dup(DELETED);
        }
    }
    if (ends_with(target, DELETED)) {
        free(target);
        fd_entry *e = table_get(t->files, fd);
        return (e != NULL && e->path != NULL) ? str_dup(e->path) : NULL;
    }
    if (target[0] != '/') {
        free(target);
        return NULL;
    }
    return target;
}

static const char *task_cwd(task *t, int *error) {
    if (t->fs->cwd == NULL) {
        t->fs->cwd = proc_link(t->tid, "cwd");
        if (t->fs->cwd == NULL) *error = errno;
    }
    return t->fs->cwd;
}

static const char *task_root(task *t, int *error) {
    if (t->fs->root == NULL) {
        t->fs->root = proc_link(t->tid, "root");
        if (t->fs->root == NULL) *error = errno;
    }
    return t->fs->root;
}

/* Resolve raw as t would; located.path NULL when there is nothing to report. */
static located resolve_for(Core *core, task *t, long dirfd, const char *raw, int follow,
                           int probe, int *error) {
    located none = {NULL, 0, 0};
    char *absolute;
    if (raw[0] == '/') {
        char *own = NULL;
        if (starts_with(raw, "/proc/self/") || starts_with(raw, "/proc/thread-self/")) {
            const char *rest = strchr(raw + 6, '/') + 1;
            char prefix[48];
            snprintf(prefix, sizeof prefix, "/proc/%ld/", t->tid);
            own = str_cat3(prefix, rest, "");
            raw = own;
        }
        const char *root = task_root(t, error);
        if (root == NULL) {
            free(own);
            return none;
        }
        absolute = strcmp(root, "/") == 0 ? str_dup(raw) : str_cat3(root, raw, "");
        free(own);
    } else if (dirfd == CS_AT_FDCWD) {
        const char *cwd = task_cwd(t, error);
        if (cwd == NULL) return none;
        absolute = path_join(cwd, raw);
    } else {
        char *base = fd_path(core, t, dirfd, error);
        if (base == NULL) return none;
        if (!raw[0]) {
            located here = {base, 1, 0};
            return here;
        }
        absolute = path_join(base, raw);
        free(base);
    }
    located found = resolver_resolve(&core->paths, absolute, follow, probe);
    free(absolute);
    if (found.path != NULL && ends_with(found.path, DELETED)) {
        free(found.path);
        return none;
    }
    return found;
}

static int follows_last(const spec *s, long long flags) {
    if (s->kind == K_OPEN)
        return !((flags & CS_O_NOFOLLOW) || ((flags & CS_O_CREAT) && (flags & CS_O_EXCL)));
    if (s->kind == K_LINK) return (flags & CS_AT_SYMLINK_FOLLOW) != 0;
    if (flags & CS_AT_SYMLINK_NOFOLLOW) return 0;
    return s->follow;
}

/* An open with O_CREAT|O_EXCL creates its path or fails: whether the path exists at
 * entry changes nothing it reports (a create; at exit, existence if it failed), and its
 * last component is never followed, so the resolver need not look at it (tar x, git
 * checkout: one lstat less per file). */
static int creates_afresh(const spec *s, long long flags) {
    return s->kind == K_OPEN && (flags & CS_O_CREAT) && (flags & CS_O_EXCL);
}

static located path_argument(Core *core, task *t, const spec *s, const uint64_t *args,
                             long long flags, int *error) {
    located none = {NULL, 0, 0};
    long dirfd = s->dirfd < 0 ? CS_AT_FDCWD : (long)as_int(args[s->dirfd]);
    uint64_t address = args[s->path];
    if (address == 0) {
        if (s->dirfd < 0 || dirfd == CS_AT_FDCWD) return none;
        located here = {fd_path(core, t, dirfd, error), 1, 0};
        return here;
    }
    char *raw = read_string(t->tid, address);
    if (raw == NULL) return none;
    if (!raw[0] && !(flags & CS_AT_EMPTY_PATH)) {
        free(raw);
        return none;
    }
    located found = resolve_for(core, t, dirfd, raw, follows_last(s, flags),
                                !creates_afresh(s, flags), error);
    free(raw);
    return found;
}

/* -- hooks ------------------------------------------------------------------------- */

static int quiet(Core *core, const char *path) {
    int found;
    strmap_get(&core->quiet_paths, path, &found);
    if (found) return 1;
    char *parent, *name;
    split_last(path, &parent, &name);
    free(name);
    strmap_get(&core->quiet_dirs, parent, &found);
    /* Beneath a quiet tree: each ancestor, cut in place at its last slash. */
    for (size_t n = strlen(parent); !found && core->quiet_trees.count && n > 1;) {
        parent[n] = 0;
        strmap_get(&core->quiet_trees, parent, &found);
        while (n > 0 && parent[n - 1] != '/') n--;
        if (n > 1) n--;
    }
    free(parent);
    return found;
}

static void announce(Core *core, const item *events, int count) {
    if (!core->hook_mutations) return;
    for (int i = 0; i < count; i++) {
        const item *e = &events[i];
        if (!mutating(e->op)) continue;
        if (quiet(core, e->path) && (e->related == NULL || quiet(core, e->related))) continue;
        item request = path_item(e->pid, e->tid, e->spec, e->op, e->path, 0, e->flags, e->related);
        request.type = I_BEFORE;
        emit(core, request);
    }
}

static void closed(Core *core, task *t, fd_entry *e) {
    int quiet = 1;
    if (e != NULL && e->writable && e->path != NULL && e->path[0] && core->hook_closes)
        strmap_get(&core->quiet_closes, e->path, &quiet);
    if (!quiet) {
        item request = {I_CLOSE, t->tgid, t->tid, 0, 0, str_dup(e->path), 0, 0, NULL, -1, 0, NULL};
        emit(core, request);
    }
    entry_unref(e);
}

/* -- decoding (decoder.py) ---------------------------------------------------------- */

static int directory_or_symlink(const char *path, unsigned mode) {
    if (!mode) {
        struct stat st;
        if (lstat(path, &st) != 0) return 0;
        mode = st.st_mode;
    }
    return S_ISDIR(mode) || S_ISLNK(mode);
}

static void apply_forget(Core *core, int forget) {
    if (forget == FORGET_ALL) {
        strmap_clear(&core->paths.directories);
        strmap_clear(&core->paths.missing);
    } else if (forget == FORGET_MISSING) {
        strmap_clear(&core->paths.missing);
    }
}

/* Announce now, emit with the result at exit; events are taken over. */
static void at_exit(Core *core, task *t, item *events, int count, unsigned mode) {
    announce(core, events, count);
    int forget = FORGET_NOTHING;
    for (int i = 0; i < count && forget != FORGET_ALL; i++) {
        int op = events[i].op;
        if (op == OP_RENAME || (op == OP_DELETE && directory_or_symlink(events[i].path, mode)))
            forget = FORGET_ALL;
    }
    if (forget == FORGET_NOTHING)
        for (int i = 0; i < count; i++)
            if (events[i].op == OP_CREATE || events[i].op == OP_MKDIR) forget = FORGET_MISSING;
    apply_forget(core, forget);
    pending_clear(&t->pd);
    t->pd.kind = PD_EVENTS;
    t->pd.count = count;
    for (int i = 0; i < count; i++) t->pd.events[i] = events[i];
    t->pd.forget = forget;
}

static void single(Core *core, task *t, int spec_index, int op, located where, long long flags) {
    const spec *s = &core->specs[spec_index];
    if (op == OP_MKDIR && where.exists) {
        emit(core, path_item(t->tgid, t->tid, spec_index, op, where.path, -EEXIST, flags, NULL));
    } else if (mutating(op) || s->sets_cwd) {
        item event = path_item(t->tgid, t->tid, spec_index, op, where.path, 0, flags, NULL);
        at_exit(core, t, &event, 1, where.mode);
        if (s->sets_cwd) {
            fs_forget(t->fs);
            t->pd.drop_fs = t->fs;
            t->fs->refs++;
        }
    } else {
        emit(core, path_item(t->tgid, t->tid, spec_index, op, where.path,
                             where.exists ? 0 : -ENOENT, flags, NULL));
    }
    free(where.path);
}

/* Whether fd is still the file its own open created (see _new_file_metadata in decoder.py). */
static int made_here(task *t, long fd, const char *path) {
    fd_entry *e = table_get(t->files, fd);
    return e != NULL && e->created && e->path != NULL && strcmp(e->path, path) == 0;
}

/* A metadata call on an fd whose own open created the file is reported at its entry,
 * result 0, without a stop at its exit (decoder.py, _new_file_metadata says why). */
static int metadata_at_entry(Core *core, task *t, int si, long fd, located where, long long flags) {
    if (core->specs[si].operation != OP_METADATA || !made_here(t, fd, where.path)) return 0;
    item event = path_item(t->tgid, t->tid, si, OP_METADATA, where.path, 0, flags, NULL);
    announce(core, &event, 1);
    emit(core, event);
    free(where.path);
    return 1;
}

static int decode_path(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    long long flags = s->flags < 0 ? 0 : as_int(args[s->flags]);
    located where = path_argument(core, t, s, args, flags, error);
    if (where.path == NULL) return 0;
    long fd = args[s->path] == 0 && s->dirfd >= 0 ? (long)as_int(args[s->dirfd]) : -1;
    if (fd < 0 || !metadata_at_entry(core, t, si, fd, where, flags))
        single(core, t, si, s->operation, where, flags);
    return 0;
}

static int decode_fd(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    long fd = (long)as_int(args[s->fd]);
    char *path = fd_path(core, t, fd, error);
    if (path != NULL) {
        located where = {path, 1, 0};
        if (!metadata_at_entry(core, t, si, fd, where, 0)) single(core, t, si, s->operation, where, 0);
    }
    return 0;
}

static int open_operation(long long flags, int existed) {
    if ((flags & CS_O_CREAT) && ((flags & CS_O_EXCL) || !existed)) return OP_CREATE;
    if ((flags & CS_O_ACCMODE) || (flags & CS_O_TRUNC)) return OP_WRITE;
    return OP_READ;
}

static int decode_open(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    long long flags;
    if (s->is_creat) {
        flags = CS_O_CREAT | CS_O_WRONLY | CS_O_TRUNC;
    } else if (s->flags < 0) {
        uint64_t how = 0;
        read_memory(t->tid, args[2], &how, sizeof how);
        flags = (long long)how;
    } else {
        flags = as_int(args[s->flags]);
    }
    located where = path_argument(core, t, s, args, flags, error);
    if (where.path == NULL) return 0;
    if (flags & CS_O_TMPFILE_BIT) {
        free(where.path);
        pending_clear(&t->pd);
        t->pd.kind = PD_TMPFILE;
        t->pd.files = t->files;
        t->files->refs++;
        return 0;
    }
    int op = open_operation(flags, where.exists);
    int may_mutate = (flags & (CS_O_ACCMODE | CS_O_CREAT | CS_O_TRUNC)) != 0;
    if (!may_mutate && strlen(where.path) < CS_PATH_MAX) {
        emit(core, path_item(t->tgid, t->tid, si, where.exists ? op : OP_EXISTENCE, where.path,
                             where.exists ? 0 : -ENOENT, flags, NULL));
        free(where.path);
        return 0;
    }
    item event = path_item(t->tgid, t->tid, si, op, where.path, 0, flags, NULL);
    if (may_mutate) announce(core, &event, 1);
    pending_clear(&t->pd);
    t->pd.kind = PD_OPEN;
    t->pd.count = 1;
    t->pd.events[0] = event;
    t->pd.files = t->files;
    t->files->refs++;
    t->pd.writable = (flags & CS_O_ACCMODE) || (flags & (CS_O_TRUNC | CS_O_TMPFILE_BIT));
    free(where.path);
    return 0;
}

static int decode_exec(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    long long flags = s->flags < 0 ? 0 : as_int(args[s->flags]);
    located where = path_argument(core, t, s, args, flags, error);
    free(t->exec_path);
    t->exec_path = NULL;
    if (where.path == NULL) return 0;
    if (!where.exists) {
        emit(core, path_item(t->tgid, t->tid, si, OP_EXISTENCE, where.path, -ENOENT, flags, NULL));
        free(where.path);
        return 0;
    }
    t->exec_path = where.path;
    t->exec_spec = si;
    pending_clear(&t->pd);
    t->pd.kind = PD_EXEC;
    t->pd.count = 1;
    t->pd.events[0] = path_item(t->tgid, t->tid, si, OP_EXISTENCE, where.path, 0, 0, NULL);
    return 0;
}

/* One path of a two-path syscall (rename, link); NULL when none. */
static char *one_path(Core *core, task *t, const uint64_t *args, int dirfd_index, int path_index,
                      int follow, int empty_ok, int *error) {
    long dirfd = dirfd_index < 0 ? CS_AT_FDCWD : (long)as_int(args[dirfd_index]);
    char *raw = read_string(t->tid, args[path_index]);
    if (raw == NULL) return NULL;
    if (!raw[0] && !empty_ok) {
        free(raw);
        return NULL;
    }
    located where = resolve_for(core, t, dirfd, raw, follow, 1, error);
    free(raw);
    return where.path;
}

static int decode_rename(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    char *old, *new;
    long long flags = 0;
    if (s->is_two_plain) {
        old = one_path(core, t, args, -1, 0, 0, 0, error);
        new = one_path(core, t, args, -1, 1, 0, 0, error);
    } else {
        flags = s->flags >= 0 ? as_int(args[4]) : 0;
        old = one_path(core, t, args, 0, 1, 0, 0, error);
        new = one_path(core, t, args, 2, 3, 0, 0, error);
    }
    if (old != NULL && new != NULL) {
        int target = (flags & CS_RENAME_EXCHANGE) ? OP_RENAME : OP_CREATE;
        item events[2] = {path_item(t->tgid, t->tid, si, OP_RENAME, old, 0, flags, new),
                          path_item(t->tgid, t->tid, si, target, new, 0, flags, old)};
        at_exit(core, t, events, 2, 0);
    }
    free(old);
    free(new);
    return 0;
}

/* After linkat of an O_TMPFILE fd, that open file is named `new`. */
static void name_unnamed_fd(Core *core, task *t, const uint64_t *args, const char *new) {
    (void)core;
    char *raw = read_string(t->tid, args[1]);
    long fd = (long)as_int(args[0]);
    if (raw != NULL && starts_with(raw, "/proc/") && strstr(raw, "/fd/") != NULL) {
        const char *tail = strrchr(raw, '/') + 1;
        int digits = *tail != 0;
        for (const char *c = tail; *c; c++) digits = digits && *c >= '0' && *c <= '9';
        if (digits) fd = strtol(tail, NULL, 10);
    }
    free(raw);
    fd_entry *e = table_get(t->files, fd);
    if (e == NULL || e->path != NULL || t->pd.kind != PD_EVENTS) return;
    t->pd.entry = entry_ref(e);
    t->pd.name = str_dup(new);
}

static int decode_link(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    char *old, *new;
    long long flags = 0;
    if (s->is_two_plain) {
        old = one_path(core, t, args, -1, 0, 0, 0, error);
        new = one_path(core, t, args, -1, 1, 0, 0, error);
    } else {
        flags = as_int(args[4]);
        old = one_path(core, t, args, 0, 1, follows_last(s, flags), (flags & CS_AT_EMPTY_PATH) != 0,
                       error);
        new = one_path(core, t, args, 2, 3, 0, 0, error);
    }
    if (new != NULL) {
        item events[2];
        int count = 0;
        if (old != NULL) events[count++] = path_item(t->tgid, t->tid, si, OP_EXISTENCE, old, 0, flags, new);
        events[count++] = path_item(t->tgid, t->tid, si, OP_CREATE, new, 0, flags, old);
        at_exit(core, t, events, count, 0);
        if (old == NULL && s->is_linkat) name_unnamed_fd(core, t, args, new);
    }
    free(old);
    free(new);
    return 0;
}

static int decode_symlink(Core *core, task *t, int si, const uint64_t *args, int *error) {
    const spec *s = &core->specs[si];
    long dirfd = s->dirfd < 0 ? CS_AT_FDCWD : (long)as_int(args[s->dirfd]);
    char *raw = read_string(t->tid, args[s->path]);
    if (raw == NULL || !raw[0]) {
        free(raw);
        return 0;
    }
    located where = resolve_for(core, t, dirfd, raw, 0, 1, error);
    free(raw);
    if (where.path != NULL) {
        item event = path_item(t->tgid, t->tid, si, OP_CREATE, where.path, 0, 0, NULL);
        at_exit(core, t, &event, 1, 0);
        free(where.path);
    }
    return 0;
}

static int decode_bind(Core *core, task *t, int si, const uint64_t *args, int *error) {
    size_t length = args[2] & 0xFFFFFFFFULL;
    if (length > 110) length = 110;
    unsigned char address[112] = {0};
    size_t got = length > 2 ? read_memory(t->tid, args[1], address, length) : 0;
    if (got < 3 || (address[0] | (address[1] << 8)) != AF_UNIX || address[2] == 0) return 0;
    char *name = str_dup_n((char *)address + 2, got - 2);
    located where = resolve_for(core, t, CS_AT_FDCWD, name, 0, 1, error);
    free(name);
    if (where.path != NULL) {
        item event = path_item(t->tgid, t->tid, si, OP_CREATE, where.path, 0, 0, NULL);
        at_exit(core, t, &event, 1, 0);
        free(where.path);
    }
    return 0;
}

static void copy_at_exit(task *t, long old) {
    fd_entry *e = table_get(t->files, old);
    if (e == NULL) return;
    pending_clear(&t->pd);
    t->pd.kind = PD_DUP;
    t->pd.entry = entry_ref(e);
    t->pd.files = t->files;
    t->files->refs++;
}

static int decode_fds(Core *core, task *t, int si, const uint64_t *args) {
    const spec *s = &core->specs[si];
    fd_table *files = t->files;
    switch (s->kind) {
    case K_CLOSE:
        closed(core, t, table_pop(files, (long)as_int(args[0])));
        break;
    case K_CLOSE_RANGE: {
        unsigned long first = args[0] & 0xFFFFFFFFUL, last = args[1] & 0xFFFFFFFFUL;
        if (args[2] & CS_CLOSE_RANGE_CLOEXEC) break;
        for (long fd = (long)first; fd < files->capacity && (unsigned long)fd <= last; fd++)
            if (files->fds[fd] != NULL) closed(core, t, table_pop(files, fd));
        break;
    }
    case K_DUP:
        copy_at_exit(t, (long)as_int(args[0]));
        break;
    case K_FCNTL: {
        long long command = as_int(args[1]);
        if (command == CS_F_DUPFD || command == CS_F_DUPFD_CLOEXEC) copy_at_exit(t, (long)as_int(args[0]));
        break;
    }
    case K_DUP2: {
        long old = (long)as_int(args[0]), new = (long)as_int(args[1]);
        if (old == new) break;
        closed(core, t, table_pop(files, new));
        fd_entry *e = table_get(files, old);
        if (e != NULL) table_set(files, new, entry_ref(e));
        break;
    }
    case K_UNSHARE:
        if (args[0] & CS_CLONE_FILES) {
            fd_table *copy = table_copy(t->files);
            table_unref(t->files);
            t->files = copy;
        }
        if (args[0] & CS_CLONE_FS) {
            fs_state *copy = fs_new(t->fs->cwd, t->fs->root);
            fs_unref(t->fs);
            t->fs = copy;
        }
        break;
    }
    return 0;
}

static int decode(Core *core, task *t, int si, const uint64_t *args, int *error) {
    switch (core->specs[si].kind) {
    case K_PATH: return decode_path(core, t, si, args, error);
    case K_FD: return decode_fd(core, t, si, args, error);
    case K_OPEN: return decode_open(core, t, si, args, error);
    case K_EXEC: return decode_exec(core, t, si, args, error);
    case K_RENAME: return decode_rename(core, t, si, args, error);
    case K_LINK: return decode_link(core, t, si, args, error);
    case K_SYMLINK: return decode_symlink(core, t, si, args, error);
    case K_BIND: return decode_bind(core, t, si, args, error);
    case K_UNSEEN:
        emit_warning(core, t->tgid, core->specs[si].warning);
        return 0;
    default: return decode_fds(core, t, si, args);
    }
}

/* At a syscall's exit, with its result. */
static void complete(Core *core, task *t, pending *pd, long long result) {
    switch (pd->kind) {
    case PD_EVENTS:
        apply_forget(core, pd->forget);
        if (pd->drop_fs != NULL) fs_forget(pd->drop_fs);
        if (pd->entry != NULL && result >= 0) {
            free(pd->entry->path);
            pd->entry->path = str_dup(pd->name);
        }
        for (int i = 0; i < pd->count; i++) {
            pd->events[i].result = result;
            emit(core, pd->events[i]);
            if (core->sync_renames && pd->events[i].op == OP_RENAME) core->holding = 1;
        }
        pd->count = 0;
        break;
    case PD_OPEN:
        if (result >= 0) {
            fd_entry *e = entry_new(pd->events[0].path, pd->writable);
            e->created = pd->events[0].op == OP_CREATE;
            table_set(pd->files, (long)result, e);
        } else {
            pd->events[0].op = OP_EXISTENCE;
        }
        pd->events[0].result = result;
        emit(core, pd->events[0]);
        pd->count = 0;
        break;
    case PD_TMPFILE:
        if (result >= 0) table_set(pd->files, (long)result, entry_new(NULL, 1));
        break;
    case PD_DUP:
        if (result >= 0) table_set(pd->files, (long)result, entry_ref(pd->entry));
        break;
    case PD_EXEC:
        if (result < 0) {
            pd->events[0].result = result;
            emit(core, pd->events[0]);
            pd->count = 0;
        }
        break;
    }
    (void)t;
}

/* -- the stop loop (tracer.py) -------------------------------------------------------- */

static int handle(Core *core, long tid, int status);

static int exit_code(int status) {
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void warn_foreign(Core *core, task *t, const char *abi) {
    if (intmap_get(&core->warned, t->tgid) != NULL) return;
    intmap_put(&core->warned, t->tgid, (void *)1);
    char message[320];
    snprintf(message, sizeof message,
             "process %ld makes %s ABI syscalls; cowsnap decodes the file syscalls it knows of "
             "that ABI, others may touch paths it does not record",
             t->tgid, abi);
    emit_warning(core, t->tgid, message);
}

static int syscall_entry(Core *core, task *t, int *error) {
    struct syscall_info info;
    if (trace_request(GET_SYSCALL_INFO, t->tid, sizeof info, (unsigned long)&info) < 0) return -1;
    uint64_t number = info.nr;
    int si = -1;
    if (info.arch == ARCH_X86_64) {
        if (number & X32_BIT) {
            warn_foreign(core, t, "x32");
            uint64_t plain = number & ~X32_BIT;
            si = plain < TABLE_SIZE ? core->x32[plain] : -1;
        } else {
            si = number < TABLE_SIZE ? core->x86_64[number] : -1;
        }
    } else if (info.arch == ARCH_I386) {
        warn_foreign(core, t, "i386");
        si = number < TABLE_SIZE ? core->i386[number] : -1;
    } else {
        char abi[64];
        snprintf(abi, sizeof abi, "unknown (audit arch %#x)", info.arch);
        warn_foreign(core, t, abi);
    }
    if (si >= 0) {
        decode(core, t, si, info.args, error);
        if (*error) {
            errno = *error;
            return -1;
        }
    }
    return resume(core, t);
}

static int syscall_exit(Core *core, task *t) {
    pending done = t->pd;
    memset(&t->pd, 0, sizeof t->pd);
    if (done.kind != PD_NONE) {
        struct syscall_info info;
        if (trace_request(GET_SYSCALL_INFO, t->tid, sizeof info, (unsigned long)&info) < 0) {
            pending_clear(&done);
            return -1;
        }
        long long result = (long long)info.nr;
        if (result != -512 && result != -513 && result != -514 && result != -516)
            complete(core, t, &done, result);
        pending_clear(&done);
    }
    return resume(core, t);
}

/* Where a fork-family syscall keeps its clone flags (syscalls.FORK_CALLS). */
enum clone_flags_at { CF_NONE, CF_REGISTER, CF_STRUCT, CF_I386_REGISTER, CF_VFORK, CF_COUNT };
static const char *CLONE_FLAGS_AT[CF_COUNT] = {"none", "register", "struct", "i386_register",
                                               "vfork"};

static long clone_flags(Core *core, long tid, int *failed) {
    struct user_regs_struct regs;
    *failed = trace_request(PTRACE_GETREGS, tid, 0, (unsigned long)&regs) < 0;
    if (*failed || regs.orig_rax >= TABLE_SIZE) return 0;
    switch (core->fork_calls[regs.orig_rax]) {
    case CF_REGISTER: return (long)regs.rdi;
    case CF_STRUCT: {
        uint64_t flags = 0;
        read_memory(tid, regs.rdi, &flags, sizeof flags);
        return (long)flags;
    }
    case CF_I386_REGISTER: return (long)(regs.rbx & 0xFFFFFFFFUL);
    case CF_VFORK: return CS_CLONE_VM | CS_CLONE_VFORK;
    default: return 0;
    }
}

static void parent_and_group(long tid, long *parent, long *group) {
    *parent = -1;
    *group = tid;
    char name[64];
    snprintf(name, sizeof name, "/proc/%ld/status", tid);
    FILE *status = fopen(name, "re");
    if (status == NULL) return;
    char line[256];
    while (fgets(line, sizeof line, status) != NULL) {
        if (starts_with(line, "Tgid:")) *group = strtol(line + 5, NULL, 10);
        else if (starts_with(line, "PPid:")) *parent = strtol(line + 5, NULL, 10);
    }
    fclose(status);
}

/* Children stopped before their parent's fork event, whose parent died before reporting
 * it: followed with fresh state rather than left stopped. */
static void adopt_orphans(Core *core) {
    size_t count = core->early.count, n = 0;
    long *tids = malloc((count + 1) * sizeof *tids);
    if (tids == NULL) abort();
    INTMAP_EACH(&core->early, node) tids[n++] = node->key;
    for (size_t i = 0; i < n; i++) {
        long parent, group, tid = tids[i];
        parent_and_group(tid, &parent, &group);
        int known = 0;
        INTMAP_EACH(&core->tasks, node) {
            long tgid = ((task *)node->value)->tgid;
            if (tgid == group || tgid == parent) known = 1;
        }
        if (known) continue;
        void *early = intmap_pop(&core->early, tid);
        if (early == NULL) continue;
        int status = (int)((intptr_t)early - 1);
        intmap_put(&core->tasks, tid, task_new(tid, group, table_new(), fs_new(NULL, NULL),
                                               core->execve_spec));
        emit_process(core, I_SPAWN, group, tid, parent, NULL, 0);
        handle(core, tid, status);
    }
    free(tids);
}

static int spawned(Core *core, task *t) {
    int failed;
    long child_tid = event_message(t->tid, &failed);
    long flags = failed ? 0 : clone_flags(core, t->tid, &failed);
    if (failed) {
        int saved = errno;
        adopt_orphans(core);
        errno = saved;
        return -1;
    }
    fd_table *files;
    if (flags & CS_CLONE_FILES) {
        files = t->files;
        files->refs++;
    } else {
        files = table_copy(t->files);
    }
    fs_state *fs;
    if (flags & CS_CLONE_FS) {
        fs = t->fs;
        fs->refs++;
    } else {
        fs = fs_new(t->fs->cwd, t->fs->root);
    }
    long tgid = (flags & CS_CLONE_THREAD) ? t->tgid : child_tid;
    task *child = task_new(child_tid, tgid, files, fs, core->execve_spec);
    intmap_put(&core->tasks, child_tid, child);
    emit_process(core, I_SPAWN, tgid, child_tid, t->tgid, NULL, 0);
    void *early = intmap_pop(&core->early, child_tid);
    if (early != NULL) {
        int holding = core->holding;
        core->holding = 0;
        handle(core, child_tid, (int)((intptr_t)early - 1));
        core->holding = holding;
    }
    return resume(core, t);
}

static int executed(Core *core, task *t) {
    long tid = t->tid;
    int failed;
    long former = event_message(tid, &failed);
    if (failed) return -1;
    if (former != tid) {
        task *moved = intmap_pop(&core->tasks, former);
        if (moved != NULL) {
            moved->tid = tid;
            close_fd_directory(moved, &core->fd_directories);
            intmap_put(&core->tasks, tid, moved);
            task_free(t, &core->fd_directories);
            t = moved;
        }
    }
    char link[64];
    snprintf(link, sizeof link, "/proc/%ld/exe", tid);
    char *executable = read_link_at(AT_FDCWD, link);
    fd_table *kept = table_new();
    if (executable != NULL && t->files->count > 0) {
        snprintf(link, sizeof link, "/proc/%ld/fd", tid);
        DIR *listing = opendir(link);
        if (listing == NULL) {
            free(executable);
            executable = NULL;
        } else {
            struct dirent *entry;
            while ((entry = readdir(listing)) != NULL) {
                if (entry->d_name[0] == '.') continue;
                long fd = strtol(entry->d_name, NULL, 10);
                fd_entry *e = table_get(t->files, fd);
                if (e != NULL) table_set(kept, fd, entry_ref(e));
            }
            closedir(listing);
        }
    }
    table_unref(t->files);
    t->files = kept;
    emit_process(core, I_EXEC, t->tgid, tid, -1, t->exec_path ? t->exec_path : executable, 0);
    char *path = t->exec_path;
    t->exec_path = NULL;
    pending_clear(&t->pd);
    if (path != NULL)
        emit(core, path_item(t->tgid, tid, t->exec_spec, OP_EXEC, path, 0, 0, NULL));
    if (executable != NULL && (path == NULL || strcmp(executable, path) != 0))
        emit(core, path_item(t->tgid, tid, t->exec_spec, OP_EXEC, executable, 0, 0, path));
    free(path);
    free(executable);
    return resume(core, t);
}

/* PTRACE_EVENT_EXIT: when no other live thread uses its fd table, every fd in it is
 * about to be closed by the kernel; each is a close like any other. */
static void exiting(Core *core, task *t) {
    t->exiting = 1;
    INTMAP_EACH(&core->tasks, node) {
        task *other = node->value;
        if (other->files == t->files && !other->exiting) return;
    }
    for (int fd = 0; fd < t->files->capacity; fd++)
        if (t->files->fds[fd] != NULL) closed(core, t, table_pop(t->files, fd));
}

static void exited(Core *core, long tid, task *t, int status) {
    intmap_pop(&core->early, tid);
    if (t == NULL) return;
    intmap_pop(&core->tasks, tid);
    int code = exit_code(status);
    emit_process(core, I_EXIT, t->tgid, tid, -1, NULL, code);
    if (tid == core->root) {
        core->root_status = code;
        core->root_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    task_free(t, &core->fd_directories);
    if (core->early.count) adopt_orphans(core);
}

static int is_stop_signal(int sig) {
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static int dispatch(Core *core, task *t, int status, int *error) {
    int event = status >> 16;
    if (event == EVENT_SECCOMP) return syscall_entry(core, t, error);
    int sig = WSTOPSIG(status);
    if (sig == (SIGTRAP | 0x80)) return syscall_exit(core, t);
    switch (event) {
    case 0: return resume_with(core, t, sig);
    case EVENT_FORK:
    case EVENT_VFORK:
    case EVENT_CLONE: return spawned(core, t);
    case EVENT_EXEC: return executed(core, t);
    case EVENT_EXIT:
        exiting(core, t);
        return resume(core, t);
    case EVENT_STOP:
        if (is_stop_signal(sig)) {
            if (trace_request(SEIZE_LISTEN, t->tid, 0, 0) < 0) return -1;
            if (t->tid == core->root && sig != SIGSTOP) emit_process(core, I_STOP_WITH, 0, 0, -1, NULL, 0);
            return 0;
        }
        return resume(core, t);
    default: return resume(core, t);
    }
}

#define FOLLOW_WINDOW 32

/* The CPU a thread last ran on: field 39 of /proc/TID/stat; -1 if unknown. */
static int last_cpu_of(long tid) {
    char name[64], text[1024];
    snprintf(name, sizeof name, "/proc/%ld/stat", tid);
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    char *field = strrchr(text, ')');
    if (field == NULL) return -1;
    for (int i = 2; i < 39 && field != NULL; i++) field = strchr(field + 1, ' ');
    return field == NULL ? -1 : atoi(field + 1);
}

/* On a VM a wakeup across CPUs costs more than the stop itself. While one thread does
 * all the stopping (a sequential build step, a script), the tracer moves to the CPU
 * that thread runs on, so each stop and resume is a wakeup on the same CPU; as soon
 * as several threads stop (make -j), it takes back its own affinity. Only the tracer
 * moves: the tracees' affinity, which their children inherit, is never touched. */
static void follow_the_tracee(Core *core, long tid) {
    if (!core->follow) return;
    if (core->window_stops == 0) core->window_tid = tid;
    else if (core->window_tid != tid) core->window_tid = -1;
    if (++core->window_stops < FOLLOW_WINDOW) return;
    core->window_stops = 0;
    if (core->window_tid < 0) {
        if (core->pinned_cpu >= 0 && sched_setaffinity(0, sizeof core->allowed, &core->allowed) == 0)
            core->pinned_cpu = -1;
        return;
    }
    int cpu = last_cpu_of(core->window_tid);
    if (cpu < 0 || cpu == core->pinned_cpu || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &core->allowed))
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) == 0) core->pinned_cpu = cpu;
}

static void stop_following(Core *core) {
    if (core->pinned_cpu >= 0) sched_setaffinity(0, sizeof core->allowed, &core->allowed);
    core->pinned_cpu = -1;
    core->window_stops = 0;
}

/* Never leave a thread stopped after a failure: if it is gone its exit report follows. */
static void resume_anyway(Core *core, long tid) {
    task *t = intmap_get(&core->tasks, tid);
    if (t != NULL) pending_clear(&t->pd);
    for (size_t i = 0; i < core->park_count; i++)
        if (core->parks[i].tid == tid) core->parks[i].tid = 0;
    trace_request(PTRACE_CONT, tid, 0, 0);
}

static int handle(Core *core, long tid, int status) {
    task *t = intmap_get(&core->tasks, tid);
    if (!WIFSTOPPED(status)) {
        exited(core, tid, t, status);
        return 0;
    }
    if (t == NULL) {
        intmap_put(&core->early, tid, (void *)(intptr_t)(status + 1));
        return 0;
    }
    int error = 0;
    long tgid = t->tgid;
    if (dispatch(core, t, status, &error) < 0) {
        int failure = error ? error : errno;
        if (failure != ESRCH) {
            char message[256];
            snprintf(message, sizeof message,
                     "thread %ld: a stop could not be followed (%s); paths its syscall "
                     "touched may be missing",
                     tid, strerror(failure));
            emit_warning(core, tgid, message);
        }
        resume_anyway(core, tid);
    }
    return 0;
}

static void resume_parked(Core *core) {
    for (size_t i = 0; i < core->park_count; i++) {
        parked *p = &core->parks[i];
        if (p->tid) trace_request(p->request, p->tid, 0, (unsigned long)p->signal);
    }
    core->park_count = 0;
}

/* -- the Python type ------------------------------------------------------------------- */

/* The event classes of cowsnap/trace/events.py (frozen, slotted dataclasses), built here
 * directly: allocated, then each slot filled at its member offset, as their __init__
 * would (object.__setattr__ per field is most of a Python-built event's cost). */
enum { PATH_FIELDS = 8, PROCESS_FIELDS = 6, WARNING_FIELDS = 2 };
static const char *PATH_FIELD_NAMES[PATH_FIELDS] = {"pid", "tid", "syscall", "operation", "path",
                                                    "result", "flags", "related_path"};
static const char *PROCESS_FIELD_NAMES[PROCESS_FIELDS] = {"kind", "pid", "tid", "parent", "path",
                                                          "status"};
static const char *WARNING_FIELD_NAMES[WARNING_FIELDS] = {"pid", "message"};

typedef struct {
    PyTypeObject *type;
    Py_ssize_t offsets[PATH_FIELDS];
    int count;
} event_class;

static event_class PATH_CLASS, PROCESS_CLASS, WARNING_CLASS;
static PyObject *OPERATION_OBJECTS[OP_COUNT];
static PyObject *PROCESS_KINDS[3];
static PyObject *SPEC_NAMES;

static int load_class(event_class *c, PyObject *type, const char **names, int count) {
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "an event class is expected");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        PyObject *member = PyObject_GetAttrString(type, names[i]);
        if (member == NULL) return -1;
        if (!Py_IS_TYPE(member, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)member)->d_member->type != T_OBJECT_EX) {
            Py_DECREF(member);
            PyErr_Format(PyExc_TypeError, "%s is not a slot", names[i]);
            return -1;
        }
        c->offsets[i] = ((PyMemberDescrObject *)member)->d_member->offset;
        Py_DECREF(member);
    }
    Py_XSETREF(c->type, (PyTypeObject *)Py_NewRef(type));
    c->count = count;
    return 0;
}

/* A new instance with its slots set from values (references stolen; NULL on failure,
 * every value released). */
static PyObject *build(const event_class *c, PyObject **values) {
    for (int i = 0; i < c->count; i++)
        if (values[i] == NULL) {
            for (int j = 0; j < c->count; j++) Py_XDECREF(values[j]);
            return NULL;
        }
    PyObject *object = c->type->tp_alloc(c->type, 0);
    if (object == NULL) {
        for (int j = 0; j < c->count; j++) Py_DECREF(values[j]);
        return NULL;
    }
    for (int i = 0; i < c->count; i++) *(PyObject **)((char *)object + c->offsets[i]) = values[i];
    return object;
}

static PyObject *bytes_or_none(const char *text) {
    return text ? PyBytes_FromString(text) : Py_NewRef(Py_None);
}

static PyObject *path_event(const item *it) {
    PyObject *values[PATH_FIELDS] = {
        PyLong_FromLong(it->pid), PyLong_FromLong(it->tid),
        Py_NewRef(PyTuple_GET_ITEM(SPEC_NAMES, it->spec)), Py_NewRef(OPERATION_OBJECTS[it->op]),
        PyBytes_FromString(it->path), PyLong_FromLongLong(it->result),
        PyLong_FromLongLong(it->flags), bytes_or_none(it->related)};
    return build(&PATH_CLASS, values);
}

static PyObject *process_event(const item *it, int kind) {
    PyObject *values[PROCESS_FIELDS] = {
        Py_NewRef(PROCESS_KINDS[kind]), PyLong_FromLong(it->pid), PyLong_FromLong(it->tid),
        it->parent < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(it->parent), bytes_or_none(it->path),
        kind == 2 ? PyLong_FromLong(it->status) : Py_NewRef(Py_None)};
    return build(&PROCESS_CLASS, values);
}

/* An event object, or a hook request: (type, PathEvent) or (type, pid, path) or (type,). */
static PyObject *item_object(const item *it) {
    switch (it->type) {
    case I_PATH: return path_event(it);
    case I_SPAWN: return process_event(it, 0);
    case I_EXEC: return process_event(it, 1);
    case I_EXIT: return process_event(it, 2);
    case I_WARNING: {
        PyObject *values[WARNING_FIELDS] = {PyLong_FromLong(it->pid),
                                            PyUnicode_DecodeFSDefault(it->message)};
        return build(&WARNING_CLASS, values);
    }
    case I_BEFORE: return Py_BuildValue("(iN)", it->type, path_event(it));
    case I_CLOSE: return Py_BuildValue("(ilN)", it->type, it->pid, bytes_or_none(it->path));
    default: return Py_BuildValue("(i)", it->type);
    }
}

/* configure(PathEvent, ProcessEvent, TraceWarning, operations, names): the classes and
 * values events are made of; operations in the order of OPERATIONS, names of the specs. */
static PyObject *configure(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *path_type, *process_type, *warning_type, *operations, *names;
    if (!PyArg_ParseTuple(args, "OOOO!O!", &path_type, &process_type, &warning_type,
                          &PyTuple_Type, &operations, &PyTuple_Type, &names))
        return NULL;
    if (PyTuple_GET_SIZE(operations) != OP_COUNT) {
        PyErr_SetString(PyExc_ValueError, "one object per operation is expected");
        return NULL;
    }
    if (load_class(&PATH_CLASS, path_type, PATH_FIELD_NAMES, PATH_FIELDS) < 0 ||
        load_class(&PROCESS_CLASS, process_type, PROCESS_FIELD_NAMES, PROCESS_FIELDS) < 0 ||
        load_class(&WARNING_CLASS, warning_type, WARNING_FIELD_NAMES, WARNING_FIELDS) < 0)
        return NULL;
    for (int i = 0; i < OP_COUNT; i++)
        Py_XSETREF(OPERATION_OBJECTS[i], Py_NewRef(PyTuple_GET_ITEM(operations, i)));
    const char *kinds[3] = {"spawn", "exec", "exit"};
    for (int i = 0; i < 3; i++) Py_XSETREF(PROCESS_KINDS[i], PyUnicode_InternFromString(kinds[i]));
    Py_XSETREF(SPEC_NAMES, Py_NewRef(names));
    Py_RETURN_NONE;
}

static int add_quiet(strmap *set, PyObject *paths) {
    if (paths == Py_None) return 0;
    PyObject *iterator = PyObject_GetIter(paths);
    if (iterator == NULL) return -1;
    PyObject *path;
    while ((path = PyIter_Next(iterator)) != NULL) {
        if (!PyBytes_Check(path)) {
            Py_DECREF(path);
            Py_DECREF(iterator);
            PyErr_SetString(PyExc_TypeError, "quiet paths must be bytes");
            return -1;
        }
        strmap_put(set, PyBytes_AS_STRING(path), NULL);
        Py_DECREF(path);
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

/* step(quiet_paths, quiet_dirs, quiet_closes, quiet_trees) -> (items, done) */
static PyObject *Core_step(Core *core, PyObject *args) {
    PyObject *quiet_paths = Py_None, *quiet_dirs = Py_None, *quiet_closes = Py_None;
    PyObject *quiet_trees = Py_None;
    if (!PyArg_ParseTuple(args, "|OOOO", &quiet_paths, &quiet_dirs, &quiet_closes, &quiet_trees))
        return NULL;
    if (add_quiet(&core->quiet_paths, quiet_paths) < 0 || add_quiet(&core->quiet_dirs, quiet_dirs) < 0 ||
        add_quiet(&core->quiet_closes, quiet_closes) < 0 ||
        add_quiet(&core->quiet_trees, quiet_trees) < 0)
        return NULL;
    int done = 0, interrupted = 0;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        resume_parked(core);
        core->flush = 0;
        while (core->item_count < core->batch && core->park_count == 0 && !core->flush) {
            if (core->tasks.count == 0 && core->early.count == 0) {
                done = 1;
                break;
            }
            int status;
            core->holding = 0;
            /* A batch is what gathered while stops were ready: events never wait for
             * a tree that sleeps, and Python works while the tracees run. Except when
             * the tracer has one CPU: Python would only run instead of the tracees,
             * so the batch fills up (or ends at a hook or the tree's end) first,
             * which saves a return to Python per stop. */
            int ready_only = core->item_count && !core->one_cpu;
            pid_t tid = waitpid(-1, &status, WALL | (ready_only ? WNOHANG : 0));
            if (tid == 0) break;
            if (tid < 0) {
                if (errno == EINTR) {
                    interrupted = 1;
                    break;
                }
                done = 1;
                break;
            }
            handle(core, tid, status);
            follow_the_tracee(core, tid);
        }
        if (done) stop_following(core);
        Py_END_ALLOW_THREADS
        if (interrupted) {
            interrupted = 0;
            if (PyErr_CheckSignals() < 0) return NULL;
            if (core->item_count == 0) continue;
        }
        break;
    }
    PyObject *items = PyList_New((Py_ssize_t)core->item_count);
    if (items == NULL) return NULL;
    for (size_t i = 0; i < core->item_count; i++) {
        PyObject *tuple = item_object(&core->items[i]);
        item_free(&core->items[i]);
        if (tuple == NULL) {
            for (size_t j = i + 1; j < core->item_count; j++) item_free(&core->items[j]);
            core->item_count = 0;
            Py_DECREF(items);
            return NULL;
        }
        PyList_SET_ITEM(items, (Py_ssize_t)i, tuple);
    }
    core->item_count = 0;
    return Py_BuildValue("(NO)", items, done ? Py_True : Py_False);
}

static PyObject *Core_kill_all(Core *core, PyObject *unused) {
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    stop_following(core);
    INTMAP_EACH(&core->tasks, node) kill((pid_t)node->key, SIGKILL);
    INTMAP_EACH(&core->early, node) kill((pid_t)node->key, SIGKILL);
    core->park_count = 0;
    while (core->tasks.count) {
        int status;
        pid_t tid = waitpid(-1, &status, WALL);
        if (tid < 0) break;
        task *t = intmap_pop(&core->tasks, tid);
        if (t != NULL) task_free(t, &core->fd_directories);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *Core_root_status(Core *core, void *closure) {
    (void)closure;
    if (core->root_status < 0) Py_RETURN_NONE;
    return PyLong_FromLong(core->root_status);
}

static PyObject *Core_root_signal(Core *core, void *closure) {
    (void)closure;
    if (core->root_signal == 0) Py_RETURN_NONE;
    return PyLong_FromLong(core->root_signal);
}

static int parse_kind(PyObject *name) {
    const char *text = PyUnicode_AsUTF8(name);
    if (text == NULL) return -1;
    for (int k = 0; k < K_COUNT; k++)
        if (!strcmp(text, KIND_NAMES[k])) return k;
    PyErr_Format(PyExc_ValueError, "unknown syscall kind %s", text);
    return -1;
}

static int parse_operation(PyObject *name) {
    if (name == Py_None) return -1;
    const char *text = PyUnicode_AsUTF8(name);
    if (text == NULL) return -2;
    for (int k = 0; k < OP_COUNT; k++)
        if (!strcmp(text, OPERATION_NAMES[k])) return k;
    PyErr_Format(PyExc_ValueError, "unknown operation %s", text);
    return -2;
}

static int parse_fork_calls(PyObject *calls, int *table) {
    for (int i = 0; i < TABLE_SIZE; i++) table[i] = CF_NONE;
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(calls, &position, &key, &value)) {
        long number = PyLong_AsLong(key);
        const char *where = PyUnicode_AsUTF8(value);
        if (PyErr_Occurred()) return -1;
        int found = CF_COUNT;
        for (int k = 0; k < CF_COUNT; k++)
            if (!strcmp(where, CLONE_FLAGS_AT[k])) found = k;
        if (number < 0 || number >= TABLE_SIZE || found == CF_COUNT) {
            PyErr_SetString(PyExc_ValueError, "bad fork call entry");
            return -1;
        }
        table[number] = found;
    }
    return 0;
}

static int parse_numbers(PyObject *numbers, int *table, int spec_count) {
    for (int i = 0; i < TABLE_SIZE; i++) table[i] = -1;
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(numbers, &position, &key, &value)) {
        long number = PyLong_AsLong(key), index = PyLong_AsLong(value);
        if (PyErr_Occurred()) return -1;
        if (number < 0 || number >= TABLE_SIZE || index < 0 || index >= spec_count) {
            PyErr_SetString(PyExc_ValueError, "syscall number or spec index out of range");
            return -1;
        }
        table[number] = (int)index;
    }
    return 0;
}

/* Core(root, specs, x86_64, i386, x32, fork_calls, hook_mutations, hook_closes, sync_renames,
 * follow): specs: (name, kind, operation, path, dirfd, fd, follow, flags, sets_cwd, warning)
 * tuples, -1 for an absent index; the tables: {number: index into specs}; fork_calls:
 * {number: where its clone flags are}. All from syscalls.py: the core has no numbers. */
static int Core_init(Core *core, PyObject *args, PyObject *kwargs) {
    (void)kwargs;
    long root;
    PyObject *specs, *x86_64, *i386, *x32, *fork_calls;
    int hook_mutations, hook_closes, sync_renames, follow;
    if (!PyArg_ParseTuple(args, "lO!O!O!O!O!pppp", &root, &PyList_Type, &specs, &PyDict_Type,
                          &x86_64, &PyDict_Type, &i386, &PyDict_Type, &x32, &PyDict_Type,
                          &fork_calls, &hook_mutations, &hook_closes, &sync_renames, &follow))
        return -1;
    if (core->specs != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Core is initialised once");
        return -1;
    }
    Py_ssize_t count = PyList_GET_SIZE(specs);
    core->specs = calloc((size_t)count + 1, sizeof *core->specs);
    if (core->specs == NULL) abort();
    core->spec_count = (int)count;
    core->execve_spec = -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name, *kind, *operation, *warning;
        spec *s = &core->specs[i];
        if (!PyArg_ParseTuple(PyList_GET_ITEM(specs, i), "UUOiiiiiiO", &name, &kind, &operation,
                              &s->path, &s->dirfd, &s->fd, &s->follow, &s->flags, &s->sets_cwd,
                              &warning))
            return -1;
        if ((s->kind = parse_kind(kind)) < 0) return -1;
        if ((s->operation = parse_operation(operation)) < -1) return -1;
        const char *text = PyUnicode_AsUTF8(name);
        if (text == NULL) return -1;
        s->is_creat = !strcmp(text, "creat");
        s->is_two_plain = !strcmp(text, "rename") || !strcmp(text, "link");
        s->is_linkat = !strcmp(text, "linkat");
        if (!strcmp(text, "execve")) core->execve_spec = (int)i;
        if (warning != Py_None) {
            const char *message = PyUnicode_AsUTF8(warning);
            if (message == NULL) return -1;
            s->warning = str_dup(message);
        }
    }
    if (parse_numbers(x86_64, core->x86_64, core->spec_count) < 0 ||
        parse_numbers(i386, core->i386, core->spec_count) < 0 ||
        parse_numbers(x32, core->x32, core->spec_count) < 0 ||
        parse_fork_calls(fork_calls, core->fork_calls) < 0)
        return -1;
    core->root = root;
    core->root_status = -1;
    core->root_signal = 0;
    core->hook_mutations = hook_mutations;
    core->hook_closes = hook_closes;
    core->sync_renames = sync_renames;
    core->pinned_cpu = -1;
    int cpus = sched_getaffinity(0, sizeof core->allowed, &core->allowed) == 0
                   ? CPU_COUNT(&core->allowed) : 0;
    core->follow = follow && cpus > 1;
    core->one_cpu = cpus == 1;
    core->batch = 512;
    struct rlimit files;
    core->max_fd_directories = MAX_FD_DIRECTORIES;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        files.rlim_cur / 8 < MAX_FD_DIRECTORIES)
        core->max_fd_directories = (int)(files.rlim_cur / 8);
    strmap_init(&core->paths.directories);
    strmap_init(&core->paths.missing);
    strmap_init(&core->quiet_paths);
    strmap_init(&core->quiet_dirs);
    strmap_init(&core->quiet_closes);
    strmap_init(&core->quiet_trees);
    intmap_put(&core->tasks, root, task_new(root, root, table_new(), fs_new(NULL, NULL),
                                            core->execve_spec));
    emit_process(core, I_SPAWN, root, root, -1, NULL, 0);
    return 0;
}

static void Core_dealloc(Core *core) {
    if (core->specs != NULL) {
        INTMAP_EACH(&core->tasks, node) task_free(node->value, &core->fd_directories);
        for (size_t b = 0; b < INTMAP_BUCKETS; b++) {
            intmap *maps[3] = {&core->tasks, &core->early, &core->warned};
            for (int m = 0; m < 3; m++) {
                intnode *n = maps[m]->buckets[b];
                while (n) {
                    intnode *next = n->next;
                    free(n);
                    n = next;
                }
            }
        }
        for (size_t i = 0; i < core->item_count; i++) item_free(&core->items[i]);
        free(core->items);
        free(core->parks);
        for (int i = 0; i < core->spec_count; i++) free(core->specs[i].warning);
        free(core->specs);
        strmap_free(&core->paths.directories);
        strmap_free(&core->paths.missing);
        strmap_free(&core->quiet_paths);
        strmap_free(&core->quiet_dirs);
        strmap_free(&core->quiet_closes);
        strmap_free(&core->quiet_trees);
    }
    Py_TYPE(core)->tp_free((PyObject *)core);
}

static PyMethodDef Core_methods[] = {
    {"step", (PyCFunction)Core_step, METH_VARARGS,
     "step(quiet_paths=None, quiet_dirs=None, quiet_closes=None, quiet_trees=None) -> (items, "
     "done): follow the "
     "tree until a batch "
     "is ready, a hook is due (its thread left stopped until the next step) or the tree is gone."},
    {"kill_all", (PyCFunction)Core_kill_all, METH_NOARGS, "Kill and reap the whole traced tree."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Core_getset[] = {
    {"root_status", (getter)Core_root_status, NULL, "The root's exit status, once it has exited.",
     NULL},
    {"root_signal", (getter)Core_root_signal, NULL, "The signal that killed the root, if one did.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "cowsnap.trace._core.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One traced process tree, followed from its seized root.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
    .tp_getset = Core_getset,
};

static PyMethodDef module_functions[] = {
    {"configure", configure, METH_VARARGS,
     "configure(PathEvent, ProcessEvent, TraceWarning, operations, names): what events are "
     "made of."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_core", "The native tracer core (see cowsnap/trace/fast.py).", -1,
    module_functions, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    if (PyType_Ready(&CoreType) < 0) return NULL;
    if (pthread_atfork(NULL, NULL, forget_own_fds) != 0) return PyErr_NoMemory();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0) return NULL;
    PyObject *operations = PyTuple_New(OP_COUNT);
    PyObject *kinds = PyTuple_New(K_COUNT);
    if (operations == NULL || kinds == NULL) return NULL;
    for (int i = 0; i < OP_COUNT; i++) PyTuple_SET_ITEM(operations, i, PyUnicode_FromString(OPERATION_NAMES[i]));
    for (int i = 0; i < K_COUNT; i++) PyTuple_SET_ITEM(kinds, i, PyUnicode_FromString(KIND_NAMES[i]));
    if (PyModule_AddObject(m, "OPERATIONS", operations) < 0) return NULL;
    if (PyModule_AddObject(m, "KINDS", kinds) < 0) return NULL;
    return m;
}
