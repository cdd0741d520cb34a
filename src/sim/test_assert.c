/*
 * test_assert.c - VMCISIM_ASSERT for code that runs inside a world (vmcisim_test.h): a failed
 * assertion names the seed, becomes a trace record, fails the run and ends the calling thread,
 * where a plain assert() would end the whole test program without saying which seed it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "vmcisim/vmcisim_test.h"
#include "sim/world_internal.h"

struct test_failure {
    char what[512];
};

static void failure_destroy(void *self) { free(self); }
static const struct sim_layer_ops failure_ops = {.name = "test-failure",
                                                 .destroy = failure_destroy};

const char *sim_test_failure(vmcisim *sim)
{
    struct test_failure *f = sim ? sim_layer_find(sim, &failure_ops) : NULL;
    return f ? f->what : NULL;
}

uint64_t vmcisim_test_current_seed(void)
{
    sim_thread *self = sim_self();
    return self ? self->sim->cfg.seed : 0;
}

void vmcisim_assert_fail(const char *cond, const char *file, int line)
{
    sim_thread *self = sim_self();
    if (!self) {
        fprintf(stderr, "vmcisim: assertion failed at %s:%d: %s (outside a simulated thread)\n",
                file, line, cond);
        abort();
    }
    vmcisim *sim = self->sim;
    fprintf(stderr, "vmcisim: assertion failed at %s:%d: %s (seed=%llu, thread '%s')\n", file,
            line, cond, (unsigned long long)sim->cfg.seed, self->name);
    sim_enter(sim);
    sim_trace(sim, "assert-fail", "at=%s:%d cond=%s", file, line, cond);
    /* The first failure is the one reported; the layer is created on the first one. */
    if (!sim_layer_find(sim, &failure_ops)) {
        struct test_failure *f = vmcisim_calloc(1, sizeof *f);
        if (f && sim_register_layer(sim, &failure_ops, f) == 0)
            snprintf(f->what, sizeof f->what, "assertion failed at %s:%d: %s (thread '%s')",
                     file, line, cond, self->name);
        else
            free(f);
    }
    sim_unwind_self();   /* ends this thread where it stands; the world goes on */
}
