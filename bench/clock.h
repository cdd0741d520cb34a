/* clock.h - the one clock every figure is measured with: CLOCK_MONOTONIC in nanoseconds (a
 * vDSO call, ~20 ns, never a system call, so it does not disturb what it measures). It is the
 * C library's own clock_gettime: inside a simulated thread the plain name reads simulated
 * time, which a benchmark must not. */
#ifndef VMCISIM_BENCH_CLOCK_H
#define VMCISIM_BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "posix/real.h"

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    REAL(clock_gettime)(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
