/*
 * elfcheck.h - may a program run under `exec`? A statically linked binary, or one that makes
 * raw system calls, cannot be interposed and must be refused, never run outside the simulation.
 */
#ifndef VMCISIM_EXEC_ELFCHECK_H
#define VMCISIM_EXEC_ELFCHECK_H

#include <stddef.h>

/* 0: path may run; -1: refused, with the reason (pointing at the docs) in why[0..n). */
int exec_check_binary(const char *path, char *why, size_t n);

#endif
