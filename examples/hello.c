/*
 * hello.c - the smallest vmcisim program: a world with one guest VM and one process in it.
 * Build against an installed vmcisim with
 *   cc hello.c $(pkg-config --cflags --libs --static vmcisim)
 */
#include <stdio.h>
#include <vmcisim.h>

static void guest_main(void *arg)
{
    (void)arg;
    vmcisim_sleep(1000000000ull); /* one simulated second: costs no wall time */
    printf("hello from '%s' (cid %u) at t=%llu ns\n", vmcisim_vm_name(vmcisim_self_vm()),
           vmcisim_vm_cid(vmcisim_self_vm()),
           (unsigned long long)vmcisim_now(vmcisim_self_world()));
}

int main(void)
{
    struct vmcisim_config cfg = {.seed = 42};
    vmcisim *sim = vmcisim_create(&cfg);
    if (!sim)
        return 1;
    vmcisim_vm *vm = vmcisim_vm_create(sim, "guest", 0xFFFFFFFFu);
    if (!vm || vmcisim_spawn(vm, "hello", guest_main, NULL) != 0) {
        fprintf(stderr, "hello: %s\n", vmcisim_error(sim));
        vmcisim_destroy(sim);
        return 1;
    }
    int rc = vmcisim_run(sim);
    printf("hello: run=%d trace_hash=%016llx\n", rc, (unsigned long long)vmcisim_trace_hash(sim));
    vmcisim_destroy(sim);
    return rc == 0 ? 0 : 1;
}
