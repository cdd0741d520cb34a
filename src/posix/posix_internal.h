/*
 * posix_internal.h - what the interposed libc functions of src/posix share, and what they
 * offer the rest of the library (the descriptor and socket wrappers).
 */
#ifndef VMCISIM_POSIX_INTERNAL_H
#define VMCISIM_POSIX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sim/sim.h"
#include "posix/real.h"


/* The calling thread when a call must act on the simulation: a thread of a simulated process.
 * NULL: the call goes to the C library unchanged. */
static inline sim_thread *posix_self(void) { return sim_self_proc_thread(); }

/* The time of clock `clk` as the program sees it from thread self (simulated in deterministic
 * mode), in ns; false for a clock the simulation does not know (the C library then answers). */
bool posix_clock_now(sim_thread *self, clockid_t clk, uint64_t *ns);
/* *deadline = the simulated time at which the absolute time *abstime of clock clk arrives (now,
 * if it has passed). 0, or EINVAL for a bad timespec or clock. */
int posix_abs_deadline(sim_thread *self, clockid_t clk, const struct timespec *abstime,
                       uint64_t *deadline);

/* n bytes from the world's seeded stream into buf (a program's buffer: a bad one stops the
 * copy). Returns how many bytes were written. Call from a simulated thread: reads of
 * /dev/urandom use it. */
size_t vmcisim_posix_random_bytes(void *buf, size_t n);

/* A send on a simulated socket failed with EPIPE without MSG_NOSIGNAL: the calling process
 * gets SIGPIPE now (its handler runs on this thread, SIG_IGN ignores it, the default ends the
 * process with status 128+13 and does not return). Call outside the world. */
void vmcisim_posix_raise_sigpipe(void);

/* Every file of src/posix defines one anchor; link_all.c refers to them all and world.c to
 * link_all.c, so a program that links the library gets every wrapper. Without this the linker
 * would skip a wrapper whose name an earlier shared library already defines (the ASan and TSan
 * runtimes define pthread_create, pthread_join, ...), and the program's call would miss it. */
#define VMCISIM_POSIX_ANCHOR(file) const char vmcisim_posix_anchor_##file = 1

#endif
