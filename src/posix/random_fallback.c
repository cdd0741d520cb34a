/*
 * random_fallback.c - a weak vmcisim_posix_random_bytes for builds without the process
 * model's own (posix_internal.h declares it; the process model's strong definition replaces
 * this one). Bytes come from the world's seeded stream, eight per draw, little-endian.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sim/sim.h"
#include "sock/usercopy.h"

size_t vmcisim_posix_random_bytes(void *buf, size_t n) __attribute__((weak));
size_t vmcisim_posix_random_bytes(void *buf, size_t n)
{
    sim_thread *self = sim_self();
    if (!self || !self->proc)
        return 0;
    vmcisim *sim = self->sim;
    sim_enter(sim);
    size_t done = 0;
    while (done < n) {
        uint64_t r = sim_rand(sim);
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(r >> (8 * i));
        size_t k = n - done < 8 ? n - done : 8;
        if (uc_copy_to_user((char *)buf + done, b, k) != 0)
            break;
        done += k;
    }
    sim_trace(sim, "call", "op=random-bytes n=%zu rc=%zu", n, done);
    sim_leave(sim);
    return done;
}
