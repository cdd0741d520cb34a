/*
 * elfcheck_stub.c - accepts every program until the real check (src/exec/elfcheck.c, branch
 * elfcheck) is merged; the lead deletes this file at that merge.
 */
#include "exec/elfcheck.h"

int exec_check_binary(const char *path, char *why, size_t n)
{
    (void)path;
    (void)why;
    (void)n;
    return 0;
}
