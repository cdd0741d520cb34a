/*
 * sim_clock.h - the simulated clocks, one definition for both places that show them: an
 * in-process program (src/posix/sleep_time.c) and an exec'd one (src/preload/sys.c). Header
 * only, so the preload library, which links no layer, shares it too. Simulated time `now` (ns
 * since the world began) reads as realtime from 2026-01-01T00:00:00Z and monotonic from
 * 1000 s; CPU-time clocks move with the simulated clock (no CPU time passes otherwise).
 */
#ifndef VMCISIM_PRELOAD_SIM_CLOCK_H
#define VMCISIM_PRELOAD_SIM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define SIM_CLOCK_EPOCH_BASE_S 1767225600ull /* 2026-01-01T00:00:00Z */
#define SIM_CLOCK_MONO_BASE_S 1000ull
#define SIM_CLOCK_NS 1000000000ull

/* The reading of clock clk at simulated time now; false for a clock that does not exist. */
static inline bool sim_clock_read(clockid_t clk, uint64_t now, uint64_t *ns)
{
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case CLOCK_TAI:
    case CLOCK_REALTIME_ALARM:
        *ns = SIM_CLOCK_EPOCH_BASE_S * SIM_CLOCK_NS + now;
        return true;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
        *ns = SIM_CLOCK_MONO_BASE_S * SIM_CLOCK_NS + now;
        return true;
    case CLOCK_PROCESS_CPUTIME_ID:
    case CLOCK_THREAD_CPUTIME_ID:
        *ns = now;
        return true;
    default:
        return false;
    }
}

#endif
