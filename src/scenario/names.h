/* names.h - words of the scenario language <-> C values (names.c). */
#ifndef VMCISIM_SCEN_NAMES_H
#define VMCISIM_SCEN_NAMES_H

#include <stddef.h>

int scen_errno_by_name(const char *s, size_t n);  /* -1 if unknown */
const char *scen_errno_name(int e);                /* NULL if not in the table */
int scen_builtin_by_name(const char *s, size_t n); /* -1 if unknown */
const char *scen_action_name(int a);
int scen_action_by_name(const char *s, size_t n);
const char *scen_vm_state_name(int st);

#endif
