/*
 * expect.h - the checks the exec test programs (plain Linux programs, no vmcisim header) print:
 * "ok N what: r=R errno=E" or "FAIL N ...", read by their shell scripts line by line, and the
 * program's exit status is the number of the first failed check (0: all held).
 */
#ifndef VMCISIM_TESTS_EXEC_EXPECT_H
#define VMCISIM_TESTS_EXEC_EXPECT_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int first_fail;

/* (void *)1, hidden from the compiler (it would refuse the calls at build time) */
static inline void *bad(void)
{
    void *p = (void *)1;
    __asm__("" : "+r"(p));
    return p;
}
#define BAD bad()

/* One check: the call returned want_r, with errno want_e when want_r is -1. */
static inline void expect(int id, const char *what, long r, long want_r, int want_e)
{
    int e = errno;
    bool ok = r == want_r && (want_r != -1 || e == want_e);
    printf("%s %d %s: r=%ld errno=%s\n", ok ? "ok" : "FAIL", id, what, r,
           r < 0 ? strerror(e) : "-");
    if (!ok && !first_fail)
        first_fail = id;
}

#endif
