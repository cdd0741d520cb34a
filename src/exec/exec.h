/*
 * exec.h - unmodified programs as simulated processes (`exec` in the scenario language).
 *
 * The program runs as a real child process with libvmcisim-preload.so preloaded; each of its
 * threads has a proxy simulated thread here that executes its forwarded calls as that thread,
 * through the same in-process code paths (docs/exec-protocol.md).
 */
#ifndef VMCISIM_EXEC_EXEC_H
#define VMCISIM_EXEC_EXEC_H

#include <stddef.h>

/* Split a command line like a shell's words (no shell: quotes and backslashes only, no
 * expansion). 0 and a NULL-terminated *argv (free with exec_free_words), or -1 with the reason
 * in why. */
int exec_split_words(const char *line, char ***argv, char *why, size_t n);
void exec_free_words(char **argv);
/* argv0 resolved like execvp: as is when it has a '/', else the first executable in PATH.
 * 0 and the path in out, or -1. */
int exec_resolve(const char *argv0, char *out, size_t n);

/* The preload library: $VMCISIM_PRELOAD, else next to the running binary (the build dir), else
 * in the install libdir. 0 and its path in out, or -1 with the reason in why. */
int exec_find_preload(char *out, size_t n, char *why, size_t whyn);

struct exec_opts {
    const char *path;           /* resolved program */
    char *const *argv;
    const char *preload;        /* the preload library */
    const char *stdout_path;    /* files for the child's stdout/stderr (NULL: /dev/null) */
    const char *stderr_path;
};

struct exec_proc;
/* Start the program as the calling simulated thread's process (call it from that process's
 * main thread, which becomes the proxy of the program's main thread): the handle (owned by
 * the world), or NULL with the reason in why. The program has not run yet: it waits for
 * exec_serve_main. */
struct exec_proc *exec_start(const struct exec_opts *o, char *why, size_t n);
/* Serve the program's main thread until the program ends; never returns: the calling thread
 * is ended with the process (sim_proc_exit with the child's status), or killed where it stands
 * by a power-off. Push a sim_cleanup first to learn the status (exec_status). */
void exec_serve_main(struct exec_proc *p) __attribute__((noreturn));
/* The program's exit status (0..255, or 128+N for signal N). If it still runs, the world ends
 * it now (SIGKILL: 128+9). */
int exec_status(struct exec_proc *p, int *status);
/* 1 once the program has ended and been reaped (nothing is done to it), else 0. */
int exec_ended(const struct exec_proc *p);

#endif
