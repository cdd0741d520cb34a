/*
 * fdtable.c - per-process descriptor tables (one per simulated process, as each process has
 * its own in a real kernel), whose numbers are real descriptors reserved with placeholders
 * (fdtable.h says why).
 */
#define _GNU_SOURCE
#include "sock/fdtable.h"
#include "sim/alloc.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "posix/real.h"
#include "sock/vsock.h"

/* ---- the process-wide registry of simulated numbers ------------------------------------------
 * Real descriptor numbers are shared by every simulated process (and every world) of this real
 * process, so which numbers are simulated is known process-wide; wrappers on any thread read it
 * without a lock to decide between the simulation and the C library. */
static unsigned char g_simfd[VSOCK_FD_MAX]; /* 0: not simulated; else 1 + enum vfile_kind */

bool fd_is_vsock_range(int fd)
{
    return fd >= 0 && fd < VSOCK_FD_MAX && __atomic_load_n(&g_simfd[fd], __ATOMIC_ACQUIRE);
}

int fd_sim_kind(int fd)
{
    if (fd < 0 || fd >= VSOCK_FD_MAX)
        return -1;
    return (int)__atomic_load_n(&g_simfd[fd], __ATOMIC_ACQUIRE) - 1;
}

static void reg_set_kind(int fd, const struct vfile *f)
{
    assert(fd >= 0 && fd < VSOCK_FD_MAX);
    __atomic_store_n(&g_simfd[fd], f ? (unsigned char)(1 + f->kind) : 0, __ATOMIC_RELEASE);
}

static void reg_clear(int fd)
{
    reg_set_kind(fd, NULL);
}

/* A new placeholder: the C library's lowest free number >= minfd, or -errno. */
static int placeholder_new(int minfd)
{
    int ph = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ph < 0)
        return -errno;
    if (ph < minfd) {
        int moved = REAL(fcntl)(ph, F_DUPFD_CLOEXEC, minfd);
        int e = errno;
        REAL(close)(ph);
        if (moved < 0)
            return e == EINVAL ? -EINVAL : -EMFILE;
        ph = moved;
    }
    if (ph >= VSOCK_FD_MAX) {
        REAL(close)(ph);
        return -EMFILE;
    }
    return ph;
}

/* ---- tables ------------------------------------------------------------------------------------ */

struct fdent {
    struct vfile *f; /* NULL: not a simulated descriptor of this process */
    int id;          /* index into by_id */
    bool cloexec;
};

struct fdtab {
    struct fdent *ent; /* by real descriptor number */
    int cap;
    int *by_id;        /* id -> real number, -1 when free; iterated in id order (determinism) */
    int idcap;
    struct vfile *files; /* every file this process opened that is still alive */
    /* The script's names of ids for the readable trace (presentation only): made on the first
     * name, kept after close (the close record still names it), replaced when the id is
     * handed out again. */
    char (*names)[SIM_NAME_MAX];
    int namecap;
};

static struct fdtab *tab(sim_proc *p, bool create)
{
    if (!p->fdtab && create)
        p->fdtab = vmcisim_calloc(1, sizeof(struct fdtab));
    return p->fdtab;
}

static struct fdent *ent(sim_proc *p, int fd)
{
    struct fdtab *t = tab(p, false);
    if (!t || fd < 0 || fd >= t->cap || !t->ent[fd].f)
        return NULL;
    return &t->ent[fd];
}

static int grow(struct fdtab *t, int fd)
{
    if (fd < t->cap)
        return 0;
    int cap = t->cap ? t->cap : 64;
    while (cap <= fd)
        cap *= 2;
    struct fdent *e = vmcisim_realloc(t->ent, (size_t)cap * sizeof *e);
    if (!e)
        return -ENOMEM;
    for (int k = t->cap; k < cap; k++)
        e[k] = (struct fdent){0};
    t->ent = e;
    t->cap = cap;
    return 0;
}

static int id_alloc(struct fdtab *t, int fd)
{
    int i = 0;
    while (i < t->idcap && t->by_id[i] >= 0)
        i++;
    if (i == t->idcap) {
        int cap = t->idcap ? t->idcap * 2 : 16;
        int *b = vmcisim_realloc(t->by_id, (size_t)cap * sizeof *b);
        if (!b)
            return -ENOMEM;
        for (int k = t->idcap; k < cap; k++)
            b[k] = -1;
        t->by_id = b;
        t->idcap = cap;
    }
    t->by_id[i] = fd;
    return i;
}

static struct vfile *file_new(sim_proc *p, enum vfile_kind kind)
{
    struct fdtab *t = tab(p, true);
    struct vfile *f = t ? vmcisim_calloc(1, sizeof *f) : NULL;
    if (!f)
        return NULL;
    f->kind = kind;
    f->proc = p;
    f->next = t->files;
    if (t->files)
        t->files->prev = f;
    t->files = f;
    return f;
}

static void file_unlink(struct vfile *f)
{
    struct fdtab *t = tab(f->proc, false);
    if (f->prev)
        f->prev->next = f->next;
    else if (t)
        t->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
}

/* The last reference is gone: what close() does to the object behind the file (§2.12). */
static void file_free(struct vfile *f)
{
    file_unlink(f);
    if (f->kind == VF_SOCKET) {
        vsock_release(f->sk);
        vsock_put(f->sk);
    }
    free(f);
}

void vfile_put(struct vfile *f)
{
    assert(f->refs > 0);
    if (--f->refs == 0)
        file_free(f);
}

/* The id is handed out: it takes the name the script gave the next descriptor of the calling
 * thread, or loses the one an earlier descriptor with this id had. A socket named this way is
 * named in its own records too, as "process.name". No room for names: no names. */
static void name_id(sim_proc *p, struct fdtab *t, int id, struct vfile *f)
{
    char name[SIM_NAME_MAX];
    bool named = sim_trace_take_fd_name(name);
    if (named && id >= t->namecap) {
        int cap = t->namecap ? t->namecap : 16;
        while (cap <= id)
            cap *= 2;
        char(*n)[SIM_NAME_MAX] = vmcisim_realloc(t->names, (size_t)cap * sizeof *n);
        if (!n)
            return;
        memset(n + t->namecap, 0, (size_t)(cap - t->namecap) * sizeof *n);
        t->names = n;
        t->namecap = cap;
    }
    if (id < t->namecap)
        memcpy(t->names[id], named ? name : "", named ? SIM_NAME_MAX : 1);
    if (named && f->kind == VF_SOCKET)
        snprintf(f->sk->trace_name, sizeof f->sk->trace_name, "%s.%s", p->name, name);
}

const char *fdtab_trace_name(sim_proc *p, int trace_id)
{
    struct fdtab *t = p ? tab(p, false) : NULL;
    int id = trace_id - VSOCK_FD_BASE;
    if (!t || id < 0 || id >= t->namecap || !t->names[id][0])
        return NULL;
    return t->names[id];
}

const char *fdtab_trace_fd(sim_proc *p, int trace_id, char buf[FDTAB_TRACE_FD_MAX])
{
    const char *name = fdtab_trace_name(p, trace_id);
    if (name)
        snprintf(buf, FDTAB_TRACE_FD_MAX, SIM_TR_SHOW "%s(" SIM_TR_END "%d" SIM_TR_SHOW
                 ")" SIM_TR_END, name, trace_id);
    else
        snprintf(buf, FDTAB_TRACE_FD_MAX, "%d", trace_id);
    return buf;
}

/* Put file f (the caller's reference becomes the descriptor's) at real number fd, which the
 * caller has reserved with a placeholder. */
static int bind_fd(sim_proc *p, int fd, struct vfile *f, bool cloexec)
{
    struct fdtab *t = tab(p, true);
    if (!t || grow(t, fd) != 0)
        return -ENOMEM;
    int id = id_alloc(t, fd);
    if (id < 0)
        return id;
    t->ent[fd] = (struct fdent){.f = f, .id = id, .cloexec = cloexec};
    reg_set_kind(fd, f);
    name_id(p, t, id, f);
    return fd;
}

static int install(sim_proc *p, struct vfile *f, bool cloexec)
{
    int ph = placeholder_new(0);
    if (ph < 0)
        return ph;
    int rc = bind_fd(p, ph, f, cloexec);
    if (rc < 0)
        REAL(close)(ph);
    return rc;
}

int fdtab_install_cloexec(sim_proc *p, struct vsock *sk, bool cloexec)
{
    struct vfile *f = file_new(p, VF_SOCKET);
    if (!f)
        return -ENOMEM;
    f->sk = sk;
    f->flags = O_RDWR;
    f->refs = 1;
    int rc = install(p, f, cloexec);
    if (rc < 0) {
        file_unlink(f);
        free(f); /* the socket reference stays the caller's */
    }
    return rc;
}

int fdtab_install(sim_proc *p, struct vsock *sk)
{
    return fdtab_install_cloexec(p, sk, false);
}

int fdtab_install_dev(sim_proc *p, enum vfile_kind kind, int flags, bool cloexec)
{
    struct vfile *f = file_new(p, kind);
    if (!f)
        return -ENOMEM;
    f->flags = flags;
    f->refs = 1;
    int rc = install(p, f, cloexec);
    if (rc < 0) {
        file_unlink(f);
        free(f);
    }
    return rc;
}

struct vsock *fdtab_get(sim_proc *p, int fd)
{
    struct fdent *e = ent(p, fd);
    return e && e->f->kind == VF_SOCKET ? e->f->sk : NULL;
}

struct vfile *fdtab_fget(sim_proc *p, int fd)
{
    struct fdent *e = ent(p, fd);
    if (!e)
        return NULL;
    e->f->refs++;
    return e->f;
}

/* Forget fd in the table (not its placeholder): its file reference, for the caller to drop. */
static struct vfile *unbind_fd(struct fdtab *t, int fd)
{
    struct fdent *e = &t->ent[fd];
    struct vfile *f = e->f;
    t->by_id[e->id] = -1;
    *e = (struct fdent){0};
    return f;
}

int fdtab_close(sim_proc *p, int fd)
{
    if (!ent(p, fd))
        return -EBADF;
    struct vfile *f = unbind_fd(p->fdtab, fd);
    /* the number is free again: first for our wrappers, then for the C library */
    reg_clear(fd);
    REAL(close)(fd);
    vfile_put(f);
    return 0;
}

int fdtab_forget(sim_proc *p, int fd)
{
    if (!ent(p, fd))
        return -EBADF;
    struct vfile *f = unbind_fd(p->fdtab, fd);
    reg_clear(fd);
    vfile_put(f);
    return 0;
}

int fdtab_dup(sim_proc *p, int oldfd, int newfd, int minfd, bool cloexec)
{
    struct fdent *old = ent(p, oldfd);
    if (!old)
        return -EBADF;
    struct vfile *f = old->f;
    if (newfd < 0) {
        int ph = placeholder_new(minfd);
        if (ph < 0)
            return ph;
        f->refs++;
        int rc = bind_fd(p, ph, f, cloexec);
        if (rc < 0) {
            f->refs--;
            REAL(close)(ph);
        }
        return rc;
    }
    if (newfd >= VSOCK_FD_MAX)
        return -EBADF; /* above what the simulation numbers (RLIMIT_NOFILE stands in) */
    if (newfd == oldfd)
        return newfd;
    struct fdent *cur = ent(p, newfd);
    if (cur) {
        /* newfd is ours already: its placeholder stays, the file behind it changes */
        f->refs++;
        struct vfile *gone = cur->f;
        cur->f = f;
        cur->cloexec = cloexec;
        reg_set_kind(newfd, f);
        vfile_put(gone);
        return newfd;
    }
    if (fd_is_vsock_range(newfd))
        return -EBADF; /* another simulated process's number: not this process's to take */
    /* a real descriptor or a free number: the placeholder of oldfd takes its place atomically,
     * closing what was there, as dup2 does */
    if (REAL(dup3)(oldfd, newfd, O_CLOEXEC) < 0)
        return -errno;
    f->refs++;
    int rc = bind_fd(p, newfd, f, cloexec);
    if (rc < 0) {
        f->refs--;
        REAL(close)(newfd);
    }
    return rc;
}

int fdtab_get_cloexec(sim_proc *p, int fd)
{
    struct fdent *e = ent(p, fd);
    return e ? e->cloexec : -EBADF;
}

int fdtab_set_cloexec(sim_proc *p, int fd, bool on)
{
    struct fdent *e = ent(p, fd);
    if (!e)
        return -EBADF;
    e->cloexec = on;
    return 0;
}

int fdtab_trace_id(sim_proc *p, int fd)
{
    struct fdent *e = ent(p, fd);
    return e ? VSOCK_FD_BASE + e->id : fd;
}

void fdtab_close_all(sim_proc *p)
{
    struct fdtab *t = tab(p, false);
    if (!t)
        return;
    /* in id order: the real numbers' order may differ between runs */
    for (int i = 0; i < t->idcap; i++) {
        int fd = t->by_id[i];
        if (fd < 0)
            continue;
        struct vfile *f = unbind_fd(t, fd);
        reg_clear(fd);
        REAL(close)(fd);
        char fdb[FDTAB_TRACE_FD_MAX];
        if (f->kind == VF_SOCKET)
            vsock_trace(f->sk, "exit-close", "fd=%s", fdtab_trace_fd(p, VSOCK_FD_BASE + i, fdb));
        vfile_put(f);
    }
    /* files still referenced were held by calls of the process's threads, which ended without
     * returning (power off, exit): nothing will drop those references any more */
    while (t->files) {
        struct vfile *f = t->files;
        f->refs = 0;
        file_free(f);
    }
    free(t->ent);
    free(t->by_id);
    free(t->names);
    free(t);
    p->fdtab = NULL;
}
