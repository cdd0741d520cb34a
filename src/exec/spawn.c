/*
 * spawn.c - starting an exec'd program: its main channel, its environment (the preload library
 * and where its channel is), its standard streams, and the fork + execve.
 *
 * The child is made with fork and execve only: everything it needs (argv, envp, the paths) is
 * prepared before the fork, since the world has many threads and the child may only make
 * async-signal-safe calls until execve.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exec/exec.h"
#include "exec/exec_internal.h"
#include "posix/real.h"
#include "sim/alloc.h"

extern char **environ;

/* envp: the world's environment, LD_PRELOAD with ours first, and the channel. */
static char **make_env(const char *preload, int sfd, int mfd, char **pidvar)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **e = vmcisim_calloc(n + 4, sizeof *e);
    if (!e)
        return NULL;
    size_t k = 0;
    const char *old = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(environ[i], "LD_PRELOAD=", 11))
            old = environ[i] + 11;
        else if (strncmp(environ[i], XP_ENV_FD "=", sizeof XP_ENV_FD) &&
                 strncmp(environ[i], XP_ENV_PID "=", sizeof XP_ENV_PID))
            e[k++] = environ[i];
    }
    char *lp = NULL, *fdv = NULL, *pv = NULL;
    if (asprintf(&lp, "LD_PRELOAD=%s%s%s", preload, old && *old ? ":" : "", old ? old : "") < 0)
        lp = NULL;
    if (asprintf(&fdv, "%s=%d,%d", XP_ENV_FD, sfd, mfd) < 0)
        fdv = NULL;
    /* the pid is written by the child after the fork (10 digits of room) */
    if (asprintf(&pv, "%s=0000000000", XP_ENV_PID) < 0)
        pv = NULL;
    if (!lp || !fdv || !pv) {
        free(lp);
        free(fdv);
        free(pv);
        free(e);
        return NULL;
    }
    e[k++] = lp;
    e[k++] = fdv;
    e[k++] = pv;
    e[k] = NULL;
    *pidvar = pv;
    return e;
}

static void free_env(char **e)
{
    /* the last three are ours */
    size_t n = 0;
    while (e[n])
        n++;
    for (size_t i = n - 3; i < n; i++)
        free(e[i]);
    free(e);
}

static void child_write_pid(char *pidvar)
{
    char *d = pidvar + sizeof XP_ENV_PID;   /* after "NAME=" */
    pid_t pid = getpid();
    char buf[16];
    int k = 0;
    do {
        buf[k++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid);
    while (k)
        *d++ = buf[--k];
    *d = 0;
}

/* The forked child, up to execve. Only raw system calls: the world has many threads, and a
 * sanitizer's interceptor of sigaction, dup2 or fcntl may take a lock another thread held at
 * the fork (seen: ASan's, a child stuck for good before execve). */
static __attribute__((noreturn)) void child_exec(const struct exec_opts *o, char **env,
                                                 char *pidvar, int in, int out, int err,
                                                 const int cf[2])
{
    child_write_pid(pidvar);
    /* A program starts as from a shell: default signal dispositions, nothing blocked (the
     * forking thread's mask and an ignored signal would survive execve), and none of the
     * world's descriptors but its channel (a leaked pipe or socket would keep another end from
     * seeing its end of file). The kernel's struct sigaction: handler, flags, restorer, mask. */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } dfl = {0};
    for (long s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP)
            syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof dfl.mask);
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    const int from[3] = {in, out, err};
    for (int k = 0; k < 3; k++)
        if (from[k] != k && syscall(SYS_dup3, from[k], k, 0) < 0) /* dup3(k, k) is EINVAL */
            syscall(SYS_exit_group, 127);
    syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC); /* older kernels: as it was */
    if (syscall(SYS_fcntl, cf[0], F_SETFD, 0) < 0 || syscall(SYS_fcntl, cf[1], F_SETFD, 0) < 0)
        syscall(SYS_exit_group, 127);
    syscall(SYS_execve, o->path, o->argv, env);
    syscall(SYS_exit_group, 127);
    __builtin_unreachable();
}

static int open_out(const char *path)
{
    return path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
                : open("/dev/null", O_WRONLY | O_CLOEXEC);
}

struct exec_proc *exec_start(const struct exec_opts *o, char *why, size_t n)
{
    sim_thread *self = sim_self_proc_thread();
    if (!self) {
        snprintf(why, n, "exec from a simulated process");
        return NULL;
    }
    vmcisim *sim = self->sim;
    if (!exec_world_of(sim)) {
        snprintf(why, n, "room for the exec layer in the world");
        return NULL;
    }
    struct exec_proc *p = vmcisim_calloc(1, sizeof *p);
    if (!p) {
        snprintf(why, n, "memory");
        return NULL;
    }
    p->sim = sim;
    p->sp = self->proc;
    int cf[2];
    p->main = exec_chan_new(sim, cf);
    if (!p->main) {
        free(p);
        snprintf(why, n, "a channel to the program: %s", strerror(errno));
        return NULL;
    }
    p->main->proc = p;
    char *pidvar = NULL;
    char **env = make_env(o->preload, cf[0], cf[1], &pidvar);
    int out = open_out(o->stdout_path), err = open_out(o->stderr_path);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (!env || out < 0 || err < 0 || in < 0) {
        snprintf(why, n, "the program's standard streams (%s): %s",
                 out < 0 ? o->stdout_path : err < 0 ? o->stderr_path : "/dev/null",
                 strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, n, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_exec(o, env, pidvar, in, out, err, cf);
    p->pid = pid;
    REAL(close)(in);
    REAL(close)(out);
    REAL(close)(err);
    REAL(close)(cf[0]);
    REAL(close)(cf[1]);
    free_env(env);
    exec_world_add(sim, p, NULL);
    sim_lock(sim);
    sim_trace(sim, "exec", "pid=%u argv0=%s", p->sp->pid, o->argv[0]);
    sim_unlock(sim);
    return p;
fail:
    if (in >= 0)
        REAL(close)(in);
    if (out >= 0)
        REAL(close)(out);
    if (err >= 0)
        REAL(close)(err);
    REAL(close)(cf[0]);
    REAL(close)(cf[1]);
    if (env)
        free_env(env);
    free(p);
    return NULL;
}
