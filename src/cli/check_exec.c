/*
 * check_exec.c - `vmcisim check-exec PROGRAM`: would `exec` accept this program? A user asks
 * before writing a scenario around it. Prints "PROGRAM: ok" (exit 0) or the refusal with its
 * reason and the docs section (exit 2, as a scenario that tries to exec it).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "exec/elfcheck.h"

int cli_check_exec(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fprintf(argc == 2 ? stdout : stderr,
                "usage: vmcisim check-exec PROGRAM\n"
                "  says whether `exec` can run PROGRAM under the simulation (exit 0), or why not "
                "(exit 2)\n");
        return argc == 2 ? 0 : 2;
    }
    char why[1024];
    if (exec_check_binary(argv[1], why, sizeof why) != 0) {
        fprintf(stderr, "vmcisim: %s\n", why);
        return 2;
    }
    printf("%s: ok\n", argv[1]);
    return 0;
}
