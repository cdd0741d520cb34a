/*
 * driver.c - the smallest world for tests/install_test.sh: tests/byop/vecho.c, compiled on its
 * own with `cc -Dmain=vecho_main -c vecho.c $(pkg-config --cflags vmcisim)`, runs as a server on
 * the host and a client in a guest. Prints the two exit statuses and the trace hash; exits 0
 * when both ended with 0.
 */
#include <stdio.h>

#include <vmcisim/vmcisim.h>

int vecho_main(int argc, char **argv);

int main(void)
{
    struct vmcisim_config cfg = {.seed = 7};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *guest = sim ? vmcisim_vm_create(sim, "guest", 0xFFFFFFFF) : NULL;
    if (!guest)
        return 1;
    char *srv[] = {"vecho", "-l", "6000", "1", NULL};
    char *cli[] = {"vecho", "2", "6000", "hello from the guest", NULL};
    vmcisim_proc *s = vmcisim_spawn_main(vmcisim_host(sim), "server", vecho_main, 4, srv);
    vmcisim_proc *c = vmcisim_spawn_main(guest, "client", vecho_main, 4, cli);
    if (!s || !c || vmcisim_run(sim) != 0) {
        fprintf(stderr, "driver: %s\n", vmcisim_error(sim));
        return 1;
    }
    int ss = -1, cs = -1;
    vmcisim_proc_status(s, &ss);
    vmcisim_proc_status(c, &cs);
    printf("byop: server=%d client=%d hash=%016llx\n", ss, cs,
           (unsigned long long)vmcisim_trace_hash(sim));
    vmcisim_destroy(sim);
    return ss == 0 && cs == 0 ? 0 : 1;
}
