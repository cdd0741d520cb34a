/*
 * random.c - randomness inside a simulated process.
 *
 * In deterministic mode rand() and random() draw from the world's seeded stream until the
 * process seeds them itself with srand()/srandom(); from then on they are the C library's,
 * which follows that seed exactly as it would in a real process. getrandom() and getentropy()
 * (and reads of /dev/urandom, through vmcisim_posix_random_bytes) always draw from the world's
 * stream, in both modes, so the same seed gives the same bytes. rand_r, drand48 and the
 * *_r variants take their state from the caller and stay the C library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "sock/usercopy.h"
#include "posix/posix_internal.h"

VMCISIM_POSIX_ANCHOR(random);

/* Deterministic mode, a process that has not seeded rand: the world's stream is the source. */
static sim_thread *world_rand_self(void)
{
    sim_thread *self = posix_self();
    if (!self || sim_is_realtime(self->sim) || self->proc->rand_seeded)
        return NULL;
    return self;
}

static uint64_t draw(sim_thread *self)
{
    sim_lock(self->sim);
    uint64_t v = sim_rand(self->sim);
    sim_unlock(self->sim);
    return v;
}

int rand(void)
{
    sim_thread *self = world_rand_self();
    if (!self)
        return REAL(rand)();
    return (int)(draw(self) >> 33); /* 31 bits: 0..RAND_MAX */
}

long random(void)
{
    sim_thread *self = world_rand_self();
    if (!self)
        return REAL(random)();
    return (long)(draw(self) >> 33);
}

static void seeded(void)
{
    sim_thread *self = posix_self();
    if (self) {
        sim_lock(self->sim);
        self->proc->rand_seeded = true;
        sim_unlock(self->sim);
    }
}

void srand(unsigned seed)
{
    seeded();
    REAL(srand)(seed);
}

void srandom(unsigned seed)
{
    seeded();
    REAL(srandom)(seed);
}

size_t vmcisim_posix_random_bytes(void *buf, size_t n)
{
    sim_thread *self = sim_self();
    if (!self)
        return 0;
    size_t done = 0;
    while (done < n) {
        uint64_t v = draw(self);
        size_t k = n - done < sizeof v ? n - done : sizeof v;
        if (uc_copy_to_user((char *)buf + done, &v, k) != 0)
            break;
        done += k;
    }
    return done;
}

/* Linux hands out at most this much per call from the urandom source. */
#define GETRANDOM_MAX 33554431u

ssize_t getrandom(void *buf, size_t n, unsigned int flags)
{
    if (!posix_self())
        return REAL(getrandom)(buf, n, flags);
    if (flags & ~(unsigned)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) ||
        (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE)) {
        errno = EINVAL;
        return -1;
    }
    if (n > GETRANDOM_MAX)
        n = GETRANDOM_MAX;
    size_t got = vmcisim_posix_random_bytes(buf, n);
    if (got == 0 && n > 0) {
        errno = EFAULT;
        return -1;
    }
    return (ssize_t)got;
}

int getentropy(void *buf, size_t n)
{
    if (!posix_self())
        return REAL(getentropy)(buf, n);
    if (n > 256) {
        errno = EIO;
        return -1;
    }
    if (vmcisim_posix_random_bytes(buf, n) != n) {
        errno = EFAULT;
        return -1;
    }
    return 0;
}
