/*
 * vmcisim_test.h - run a world over many seeds from a C test (Check or any other), the way
 * madsim's MADSIM_TEST_SEED / MADSIM_TEST_NUM do for Rust.
 *
 *   static int build(vmcisim *sim, void *arg) {        // called once per seed, before the run
 *       vmcisim_vm *g = vmcisim_vm_create(sim, "guest", 0xFFFFFFFF);  // lowest free CID
 *       return vmcisim_spawn(vmcisim_host(sim), "server", server, arg) == 0 &&
 *              vmcisim_spawn(g, "client", client, arg) == 0 ? 0 : -1;
 *   }
 *   ck_assert_int_eq(vmcisim_test_seeds(build, NULL, 100), 0);
 *
 * Each seed gets a fresh deterministic world: build(sim, arg), then vmcisim_run. A seed fails
 * when build returns non-zero, vmcisim_run fails (a deadlock, say), or a VMCISIM_ASSERT fails
 * inside the world. The first failure stops the sweep and prints, on stderr,
 *   vmcisim: FAIL seed=7 hash=5f0c... <why>
 *   vmcisim: replay: VMCISIM_SEED=7 ./test_prog
 * and writes the trace and capture of that seed only, where the environment asks for them.
 *
 * Environment (read at each call):
 *   VMCISIM_SEED=S            run seed S only (the replay line sets it)
 *   VMCISIM_TEST_NUM=N        run N seeds (1..N) instead of n
 *   VMCISIM_TEST_CHECK=1      run every seed twice and fail on different trace hashes
 *   VMCISIM_TRACE=FILE        the readable trace of the failing seed (or of VMCISIM_SEED)
 *   VMCISIM_PCAP=FILE         its LINKTYPE_VSOCK capture
 */
#ifndef VMCISIM_TEST_H
#define VMCISIM_TEST_H

#include <stdint.h>

#include "vmcisim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*vmcisim_setup_fn)(vmcisim *sim, void *arg);

/* 0 when every seed passed; -1 after the first failing seed (reported as above), or with
 * errno EINVAL for a NULL setup or n == 0 without VMCISIM_TEST_NUM. */
int vmcisim_test_seeds(vmcisim_setup_fn setup, void *arg, uint64_t n);

/* The seed of the calling simulated thread's world (0 outside one). */
uint64_t vmcisim_test_current_seed(void);

/* Inside a simulated thread: when cond is false, report "assertion failed at FILE:LINE: COND
 * (seed=S)", record it in the trace, fail the run, and end the calling thread. Outside a
 * simulated thread it reports the same and aborts. */
#define VMCISIM_ASSERT(cond) \
    ((cond) ? (void)0 : vmcisim_assert_fail(#cond, __FILE__, __LINE__))
void vmcisim_assert_fail(const char *cond, const char *file, int line)
    __attribute__((noreturn));

#ifdef __cplusplus
}
#endif
#endif
