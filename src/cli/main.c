/*
 * main.c - the `vmcisim` command: dispatch to its subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli_bench.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vmcisim <command> [options]\n"
               "commands:\n"
               "  run [options] FILE...                   run scenario files over seeds "
               "(vmcisim run --help)\n"
               "  report [FILE...]                        merge `run --json` output of many "
               "shards\n"
               "  shrink --seed N [--swarm] [--sched pct:D] FILE [-o OUT]\n"
               "                                            reduce a failing run's faults, knob\n"
               "                                            values, scheduler and workload\n"
               "  serve FILE [--control PATH] [--until-done] [--seed N]\n"
               "                                            run a world in realtime for outside "
               "programs (docs/bridge.md)\n"
               "  ctl PATH REQUEST [VM]                     suspend, resume, migrate, power-off, "
               "ft-failover a VM of a served world; status\n"
               "  bench [--quick] [--json|--csv] [--filter WORD] [--runs N]\n"
               "                                            measure the transports and the scheduler\n"
               "  check-exec PROGRAM                        can `exec` run PROGRAM under the "
               "simulation?\n"
               "  version                                   print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "run") == 0)
        return cli_run(argc - 1, argv + 1, argv[0]);
    if (strcmp(argv[1], "report") == 0)
        return cli_report(argc - 1, argv + 1);
    if (strcmp(argv[1], "shrink") == 0)
        return cli_shrink(argc - 1, argv + 1, argv[0]);
    if (strcmp(argv[1], "check-exec") == 0)
        return cli_check_exec(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "ctl") == 0)
        return cli_ctl(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0)
        return cli_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("vmcisim %s\n", VMCISIM_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "vmcisim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
