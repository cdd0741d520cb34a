/*
 * serve.c - what `bridge` lines and `vmcisim serve` add to a run: the bridges (src/bridge/),
 * the serve process that keeps a served world going until its stop descriptor is readable, and
 * the control socket (docs/bridge.md, "The control protocol"): one
 * request line per connection, answered and closed. Lifecycle requests go through
 * scen_do_action, the code path of the scenario's own `at`/`on` lines, so a fault from the
 * command line is the fault a scenario file injects (its pcap note, power-off accounting).
 *
 * It runs in the serve process, a simulated root process of the host, so the lifecycle calls
 * are made from a simulated thread as the API contract asks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bridge/bridge.h"
#include "posix/real.h"
#include "scenario/diag.h"
#include "scenario/interp.h"
#include "scenario/names.h"
#include "sim/alloc.h"

#define CTL_LINE_MAX 256
#define CTL_READ_TIMEOUT_MS 2000
#define CTL_REPLY_MAX (256u * 1024u)

struct reply {
    char *buf;
    size_t len, cap;
};

static void reply_add(struct reply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply_add(struct reply *r, const char *fmt, ...)
{
    if (!r->buf || r->len + 1 >= r->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->buf + r->len, r->cap - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len = (size_t)n < r->cap - r->len ? r->len + (size_t)n : r->cap - 1;
}

static int find_vm(struct scen_run *run, const char *name)
{
    for (size_t i = 0; i < run->sc->nvms; i++)
        if (strcmp(run->sc->vms[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void unknown_vm(struct scen_run *run, const char *name, struct reply *r)
{
    /* the closest name at most two edits away, and fewer edits than the name is long */
    size_t nlen = strlen(name), best_d = 3;
    const char *best = NULL;
    for (size_t i = 0; i < run->sc->nvms; i++) {
        const char *v = run->sc->vms[i].name;
        size_t d = scen_edit_distance(name, nlen, v, strlen(v), 2);
        if (d < best_d && d < nlen) {
            best_d = d;
            best = v;
        }
    }
    if (best)
        reply_add(r, "error 2 no VM '%s'; did you mean '%s'?\n", name, best);
    else
        reply_add(r, "error 2 no VM '%s' (VMs: see status)\n", name);
}

static void status(struct scen_run *run, struct reply *r)
{
    reply_add(r, "ok\n");
    for (size_t i = 0; i < run->sc->nvms; i++) {
        vmcisim_vm *vm = run->vms[i];
        reply_add(r, "vm %s cid %u %s ft=%s\n", run->sc->vms[i].name, vmcisim_vm_cid(vm),
                  scen_vm_state_name(vmcisim_vm_state(vm)),
                  vmcisim_vm_in_fault_tolerance(vm) ? "on" : "off");
    }
    for (size_t i = 0; i < run->nbridges; i++) {
        const char *vm = run->sc->vms[run->sc->bridges[i].vm].name;
        reply_add(r, "bridge %s %s\n", vm, bridge_path(run->bridges[i]));
        if (r->buf && r->len + 1 < r->cap)
            r->len += bridge_describe(run->bridges[i], vm, r->buf + r->len, r->cap - r->len);
    }
}

/* One request line (without its '\n') -> the reply. */
static void handle(struct scen_run *run, char *line, struct reply *r)
{
    char *save = NULL;
    char *verb = strtok_r(line, " \t\r", &save);
    char *arg = verb ? strtok_r(NULL, " \t\r", &save) : NULL;
    char *extra = arg ? strtok_r(NULL, " \t\r", &save) : NULL;
    if (verb && strcmp(verb, "status") == 0 && !arg) {
        status(run, r);
        return;
    }
    int failover = verb && strcmp(verb, "ft-failover") == 0;
    int act = !verb ? -1 : failover ? ACT_FT_ON : scen_action_by_name(verb, strlen(verb));
    if (act < 0 || act == ACT_CLOG || !arg || extra) {
        reply_add(r, "error 2 expected 'status' or an action and a VM (suspend, resume, "
                     "migrate, power-off, ft-on, ft-off, ft-failover, hold, release), got '%s%s%s'\n",
                  verb ? verb : "", arg ? " " : "", arg ? arg : "");
        return;
    }
    int vmi = find_vm(run, arg);
    if (vmi < 0) {
        unknown_vm(run, arg, r);
        return;
    }
    char note[160];
    snprintf(note, sizeof note, "control %s %s", verb, arg);
    vmcisim_trace_note(run->sim, note);
    /* ft-failover: the primary is lost and the secondary takes over; for VMCI that is fault
     * tolerance coming on (streams dropped, §6) and the VM going on alone (off again) */
    int rc = scen_do_action(run, act, vmi);
    if (rc == 0 && failover)
        rc = scen_do_action(run, ACT_FT_OFF, vmi);
    if (rc != 0) {
        char got[96];
        scen_describe_rc(-1, errno, got, sizeof got);
        reply_add(r, "error 1 %s %s refused: %s (VM is %s)\n", verb, arg, got,
                  scen_vm_state_name(vmcisim_vm_state(run->vms[vmi])));
        return;
    }
    reply_add(r, "ok\n");
}

/* Waits for fd (a real descriptor) with the simulated poll, so the world can end this thread. */
static int wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int n = vmci_poll(&p, 1, ms);
    return n > 0 ? 0 : -1;
}

static void control_client(struct scen_run *run, int fd)
{
    char line[CTL_LINE_MAX];
    size_t len = 0;
    int done = 0;
    while (!done && len < sizeof line - 1) {
        ssize_t n = REAL(read)(fd, line + len, sizeof line - 1 - len);
        if (n > 0) {
            char *nl = memchr(line + len, '\n', (size_t)n);
            len += (size_t)n;
            if (nl) {
                *nl = 0;
                done = 1;
            }
        } else if (n == 0 || errno != EAGAIN || wait_fd(fd, POLLIN, CTL_READ_TIMEOUT_MS) != 0) {
            break;
        }
    }
    struct reply r = {.buf = vmcisim_malloc(CTL_REPLY_MAX), .cap = CTL_REPLY_MAX};
    struct sim_cleanup held;
    sim_cleanup_push(&held, free, r.buf);
    if (!done) {
        reply_add(&r, "error 2 expected one request line ending in a newline within %d bytes "
                      "and %d ms\n", CTL_LINE_MAX - 1, CTL_READ_TIMEOUT_MS);
    } else {
        line[len < sizeof line ? len : sizeof line - 1] = 0;
        handle(run, line, &r);
    }
    size_t off = 0;
    while (r.buf && off < r.len) {
        ssize_t w = REAL(send)(fd, r.buf + off, r.len - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, CTL_READ_TIMEOUT_MS) == 0)
            continue;
        else
            break;
    }
    sim_cleanup_pop(&held);
    free(r.buf);
}

static void close_fd(void *arg) { REAL(close)(*(int *)arg); }

/* ---- the serve process ---------------------------------------------------------------------- */

/* Until the stop descriptor (the CLI's signal thread) is readable, or, with serve_until_done,
 * until the file's foreground is done; meanwhile it answers the control socket. Interrupted,
 * it ends every other process where it stands, so that vmcisim_run returns. */
static void serve_main(void *arg)
{
    struct scen_run *run = arg;
    const struct scen_run_opts *o = run->opts;
    for (;;) {
        struct pollfd p[2] = {{.fd = o->serve_stop_fd, .events = POLLIN},
                              {.fd = run->ctl_fd, .events = POLLIN}};
        int n = vmci_poll(p, 2, o->serve_until_done ? 50 : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            __atomic_store_n(&run->interrupted, 1, __ATOMIC_SEQ_CST);
            break;
        }
        if (o->serve_until_done && __atomic_load_n(&run->stop, __ATOMIC_SEQ_CST))
            break;
        if (p[1].revents & POLLIN) {
            int fd = REAL(accept4)(run->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                struct sim_cleanup held;   /* the world may end this thread mid-request */
                sim_cleanup_push(&held, close_fd, &fd);
                control_client(run, fd);
                sim_cleanup_pop(&held);
                REAL(close)(fd);
            }
        }
    }
    scen_serve_stop(run);
    if (__atomic_load_n(&run->interrupted, __ATOMIC_SEQ_CST)) {
        vmcisim_trace_note(run->sim, "serve interrupted");
        sim_kill_other_procs(run->sim);
    }
    if (!o->serve_until_done)
        scen_fg_done(run);
}

static int open_control(struct scen_run *run, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a control socket left by an earlier serve */
    int fd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (REAL(bind)(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || REAL(listen)(fd, 16) != 0) {
        int e = errno;
        REAL(close)(fd);
        errno = e;
        return -1;
    }
    run->ctl_fd = fd;
    return 0;
}

int scen_serve_setup(struct scen_run *run)
{
    const struct scen_script *sc = run->sc;
    const struct scen_run_opts *o = run->opts;
    if (sc->nbridges) {
        run->bridges = vmcisim_calloc(sc->nbridges, sizeof *run->bridges);
        if (!run->bridges)
            return scen_fail(run, sc->bridges[0].line, "memory for the bridges", "none", NULL);
    }
    for (size_t i = 0; i < sc->nbridges; i++) {
        const struct scen_bridge *br = &sc->bridges[i];
        char err[300];
        struct bridge *b = bridge_new(run->sim, run->vms[br->vm], br->path, err, sizeof err);
        if (!b)
            return scen_fail(run, br->line, "a Unix socket for the bridge", err, NULL);
        run->bridges[run->nbridges++] = b;
        if (bridge_start(b, err, sizeof err) != 0)
            return scen_fail(run, br->line, "the bridge to start", err, NULL);
    }
    if (o->control_path && open_control(run, o->control_path) != 0) {
        char got[300];
        snprintf(got, sizeof got, "%s: %s", o->control_path, strerror(errno));
        return scen_fail(run, 1, "a Unix socket for the control path", got, NULL);
    }
    if (o->serve) {
        if (!o->serve_until_done)
            run->fg_left++;
        if (vmcisim_spawn_root(run->vms[SCEN_HOST_VM], "serve", serve_main, run) != 0)
            return scen_fail(run, 1, "the serve process to start", vmcisim_error(run->sim), NULL);
    }
    if (o->announce) {
        for (size_t i = 0; i < run->nbridges; i++)
            fprintf(o->announce, "bridge %s %s\n", sc->vms[sc->bridges[i].vm].name,
                    bridge_path(run->bridges[i]));
        if (o->control_path)
            fprintf(o->announce, "control %s\n", o->control_path);
        fflush(o->announce);
    }
    return 0;
}

void scen_serve_wait_bridges(struct scen_run *run)
{
    for (size_t i = 0; i < run->nbridges; i++)
        while (bridge_ready(run->bridges[i]) == 0)
            vmcisim_sleep(100000);
}

void scen_serve_stop(struct scen_run *run)
{
    for (size_t i = 0; i < run->nbridges; i++)
        bridge_stop(run->bridges[i]);
}

void scen_serve_free(struct scen_run *run)
{
    for (size_t i = 0; i < run->nbridges; i++)
        bridge_free(run->bridges[i]);
    free(run->bridges);
    run->bridges = NULL;
    run->nbridges = 0;
    if (run->ctl_fd >= 0) {
        REAL(close)(run->ctl_fd);
        unlink(run->opts->control_path);
        run->ctl_fd = -1;
    }
}

int scen_needs_realtime(const struct scen_script *s, char *why, size_t n)
{
    if (!s->nbridges || s->realtime) /* a `realtime` line makes every run of the file one */
        return 0;
    snprintf(why, n,
             "%s:%d:%d: expected a realtime run (vmcisim run --realtime, a `realtime` line in the "
             "file, or vmcisim serve), got a "
             "deterministic one: 'bridge' lets programs outside the world in, and they run on the "
             "wall clock, which a deterministic run never reads (docs/bridge.md)",
             s->path, s->bridges[0].line, s->bridges[0].col);
    return 1;
}
