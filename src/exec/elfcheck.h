/*
 * elfcheck.h - decide, before a program is started under `exec`, whether the interposer can
 * reach it at all.
 *
 * The simulation reaches an exec'd program only through LD_PRELOAD: the dynamic loader maps the
 * interposer library in front of the C library, and the program's socket, thread, time and
 * random calls land in it. A program the loader never runs (statically linked), one that the
 * loader runs in secure mode (setuid/setgid), one that makes its system calls without the C
 * library (Go's runtime), or one built for another machine would run outside the simulation
 * unnoticed. exec_check_binary refuses those with a message that says which file, why, and
 * where the docs explain it (docs/exec.md#what-cannot-run).
 */
#ifndef VMCISIM_EXEC_ELFCHECK_H
#define VMCISIM_EXEC_ELFCHECK_H

#include <stddef.h>

/* Where every refusal points the user. */
#define EXEC_CHECK_DOC "docs/exec.md#what-cannot-run"

/* Check the program `path` would run: a name without a slash is looked up in PATH as execvp
 * does; a `#!` script is followed to its interpreter (and through `/usr/bin/env NAME` to NAME),
 * up to 5 nested scripts as the kernel does. Returns 0 when the interposer can reach the program
 * (why is then the empty string), or -1 with a one-line message in why (truncated to whylen, always
 * NUL-terminated when whylen > 0; why may be NULL when whylen is 0):
 *   "FILE: REASON (see docs/exec.md#what-cannot-run)"
 *   "FILE: interpreter INTERP: REASON (see docs/exec.md#what-cannot-run)"
 * FILE is the path as found (after the PATH lookup). The file is only read, never run;
 * a truncated or hostile file gives a refusal, never a crash. */
int exec_check_binary(const char *path, char *why, size_t whylen);

/* The execvp lookup alone: the path of the program that `name` names (name itself when it holds
 * a slash), in out. Returns 0, or -1 with errno ENOENT (nowhere in PATH), EACCES (found, but no
 * entry is an executable regular file) or ENAMETOOLONG. */
int exec_find_program(const char *name, char *out, size_t outlen);

#endif
