/* testutil.h - helpers shared by the Check programs. */
#ifndef VMCISIM_TESTUTIL_H
#define VMCISIM_TESTUTIL_H

#include <check.h>
#include <stdint.h>

#include "vmcisim/vmcisim.h"

/* A world in deterministic mode with the given seed (fails the test if it cannot be made). */
vmcisim *tu_world(uint64_t seed);
vmcisim *tu_world_rt(void);
/* The VMCI stack alone (no vsock module above it), for the stack's own tests. */
vmcisim *tu_world_stack(uint64_t seed);
/* Run a suite; returns the process exit status. */
int tu_run_suite(Suite *s);
/* Seeds to sweep in tests that run "over several seeds": VMCISIM_TEST_SEEDS or 5. */
int tu_seed_count(void);

#endif
