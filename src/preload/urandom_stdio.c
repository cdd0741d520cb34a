/*
 * urandom_stdio.c - /dev/urandom and /dev/random through stdio in an exec'd program. glibc's
 * fopen opens and its fread/fgets/getc read with internal calls that no preload reaches, so in
 * deterministic mode such a stream would give the kernel's bytes and two runs with one seed
 * would differ. Here fopen/fopen64 of those paths for reading (and fdopen of a descriptor
 * urandom.c marked) return a stdio stream of the C library's own (fopencookie) whose reads draw
 * from the world's seeded stream as read() of the descriptor does (pl_random_read). The stream
 * keeps a real descriptor of the device, opened with the flags fopen would use and marked, so
 * fileno() (interposed here for these streams: a cookie stream has none of its own) gives a
 * descriptor whose read(), fstat() and poll() behave as on Linux; writes and seeks go to it
 * (writing to /dev/urandom is the kernel's, seeking it does nothing there), and fclose closes
 * it. Realtime mode, a thread without a channel, or write-only modes: the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "preload/preload.h"

/* The open streams, for fileno(): a slot holds a stream or NULL (lock-free, few at a time; a
 * stream that finds every slot taken still reads from the world, only its fileno() is -1). */
#define RS_SLOTS 64

struct rstream {
    int fd;
    FILE *f;
};

static struct rstream *slots[RS_SLOTS];

static void rs_add(struct rstream *s)
{
    for (int i = 0; i < RS_SLOTS; i++) {
        struct rstream *none = NULL;
        if (__atomic_compare_exchange_n(&slots[i], &none, s, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return;
    }
}

static void rs_remove(struct rstream *s)
{
    for (int i = 0; i < RS_SLOTS; i++) {
        struct rstream *me = s;
        if (__atomic_compare_exchange_n(&slots[i], &me, NULL, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            return;
    }
}

/* The descriptor of one of our streams, or -1 when f is not one. */
static int rs_fd(FILE *f)
{
    for (int i = 0; i < RS_SLOTS; i++) {
        struct rstream *s = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
        if (s && s->f == f)
            return s->fd;
    }
    return -1;
}

static ssize_t rs_read(void *cookie, char *buf, size_t n)
{
    struct rstream *s = cookie;
    struct pl_chan *c = pl_chan();
    if (!c) /* a thread the program made before we ran: the kernel's, as its read() is */
        return PL_REAL(ssize_t(*)(int, void *, size_t), read)(s->fd, buf, n);
    return pl_random_read(c, buf, n);
}

static ssize_t rs_write(void *cookie, const char *buf, size_t n)
{
    struct rstream *s = cookie;
    return PL_REAL(ssize_t(*)(int, const void *, size_t), write)(s->fd, buf, n);
}

static int rs_seek(void *cookie, off64_t *off, int whence)
{
    struct rstream *s = cookie;
    off64_t r = lseek64(s->fd, *off, whence);
    if (r < 0)
        return -1;
    *off = r;
    return 0;
}

static int rs_close(void *cookie)
{
    struct rstream *s = cookie;
    rs_remove(s);
    pl_random_fd_set(s->fd, false);
    int r = PL_REAL(int (*)(int), close)(s->fd);
    free(s);
    return r;
}

static const cookie_io_functions_t rs_io = {
    .read = rs_read, .write = rs_write, .seek = rs_seek, .close = rs_close};

/* The stream over descriptor fd (marked, ours to close), with mode m ("r" or "r+" etc.), or
 * NULL with errno (fd then left to the caller). */
static FILE *rs_open(int fd, const char *m)
{
    struct rstream *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    s->fd = fd;
    FILE *f = fopencookie(s, m, rs_io);
    if (!f) {
        free(s);
        return NULL;
    }
    s->f = f;
    rs_add(s);
    return f;
}

/* fopen's mode as glibc reads it: the open flags (-1 when the mode is not one fopen takes) and
 * the mode for fopencookie, which reads only the first letter and a '+'. */
static int mode_flags(const char *mode, char m[3])
{
    int flags;
    switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return -1;
    }
    m[0] = mode[0];
    m[1] = m[2] = 0;
    for (int i = 1; i < 7 && mode[i] && mode[i] != ','; i++) {
        switch (mode[i]) {
        case '+':
            flags = (flags & ~O_ACCMODE) | O_RDWR;
            m[1] = '+';
            break;
        case 'x': flags |= O_EXCL; break;
        case 'e': flags |= O_CLOEXEC; break;
        default: break; /* 'b', 'm', 'c': nothing for a device */
        }
    }
    return flags;
}

/* Deterministic mode with a channel: the world's bytes are the ones to read. */
static bool world_random(void)
{
    struct pl_chan *c = pl_chan();
    return c && !c->a->realtime;
}

static FILE *fopen_common(const char *path, const char *mode, const char *real)
{
    char m[3];
    int flags = -1;
    if (pl_random_path(path) && mode && world_random())
        flags = mode_flags(mode, m);
    if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY)
        return ((FILE * (*)(const char *, const char *)) pl_real(real))(path, mode);
    int fd = PL_REAL(int (*)(const char *, int, ...), open)(path, flags, 0666);
    if (fd < 0)
        return NULL;
    pl_random_fd_set(fd, true);
    FILE *f = rs_open(fd, m);
    if (!f) {
        int e = errno;
        pl_random_fd_set(fd, false);
        PL_REAL(int (*)(int), close)(fd);
        errno = e;
    }
    return f;
}

FILE *fopen(const char *path, const char *mode)
{
    return fopen_common(path, mode, "fopen");
}

FILE *fopen64(const char *path, const char *mode)
{
    return fopen_common(path, mode, "fopen64");
}

FILE *fdopen(int fd, const char *mode)
{
    char m[3];
    int flags = -1;
    if (pl_is_random_fd(fd) && mode && world_random())
        flags = mode_flags(mode, m);
    if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY)
        return PL_REAL(FILE * (*)(int, const char *), fdopen)(fd, mode);
    /* glibc's checks: the descriptor's access mode must allow the stream's (EINVAL) */
    int fl = PL_REAL(int (*)(int, int, ...), fcntl)(fd, F_GETFL);
    if (fl < 0)
        return NULL;
    int acc = fl & O_ACCMODE;
    if ((acc == O_WRONLY) || ((flags & O_ACCMODE) == O_RDWR && acc != O_RDWR) ||
        (m[0] != 'r' && acc == O_RDONLY)) {
        errno = EINVAL;
        return NULL;
    }
    if ((flags & O_APPEND) && !(fl & O_APPEND) &&
        PL_REAL(int (*)(int, int, ...), fcntl)(fd, F_SETFL, fl | O_APPEND) < 0)
        return NULL;
    return rs_open(fd, m);
}

int fileno(FILE *f)
{
    int fd = rs_fd(f);
    return fd >= 0 ? fd : PL_REAL(int (*)(FILE *), fileno)(f);
}

int fileno_unlocked(FILE *f)
{
    int fd = rs_fd(f);
    return fd >= 0 ? fd : PL_REAL(int (*)(FILE *), fileno_unlocked)(f);
}
