/*
 * serve.c - `vmcisim serve FILE`: the scenario's world in realtime until SIGINT or SIGTERM (or,
 * with --until-done, until the file's processes have ended), with its bridges and a control
 * socket; and `vmcisim ctl PATH REQUEST [VM]`, the client of that socket (docs/bridge.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "scenario/scenario.h"

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: vmcisim serve FILE [--control PATH] [--until-done] [--seed N]\n"
               "  runs FILE's world in realtime (its bridges, processes and faults) until SIGINT\n"
               "  or SIGTERM; --until-done also ends it once the file's processes have ended.\n"
               "  --control PATH serves `vmcisim ctl PATH ...` requests (docs/bridge.md).\n");
}

/* The signals go to one thread, which turns them into a readable descriptor for the world's
 * serve process: no simulated thread is ever interrupted by them. */
struct sigthread {
    sigset_t set;
    int fd;
    int sig;            /* atomic: the signal that stopped the world */
};

static void *sig_main(void *arg)
{
    struct sigthread *st = arg;
    int sig = 0;
    if (sigwait(&st->set, &sig) == 0) {
        __atomic_store_n(&st->sig, sig, __ATOMIC_SEQ_CST);
        uint64_t one = 1;
        if (write(st->fd, &one, sizeof one) != (ssize_t)sizeof one)
            perror("vmcisim serve: eventfd");
    }
    return NULL;
}

int cli_serve(int argc, char **argv)
{
    const char *file = NULL, *control = NULL;
    int until_done = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            return 0;
        } else if (strcmp(a, "--control") == 0 && i + 1 < argc) {
            control = argv[++i];
        } else if (strcmp(a, "--until-done") == 0) {
            until_done = 1;
        } else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || !*argv[i]) {
                fprintf(stderr, "vmcisim serve: expected a seed number, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' || file) {
            fprintf(stderr, "vmcisim serve: unexpected '%s'\n", a);
            serve_usage(stderr);
            return 2;
        } else {
            file = a;
        }
    }
    if (!file) {
        serve_usage(stderr);
        return 2;
    }
    if (control && strlen(control) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
        fprintf(stderr, "vmcisim serve: the control path is too long: %s\n", control);
        return 2;
    }
    struct scen_diag d;
    struct scen_script *sc = scen_load_diag(file, &d);
    if (!sc) {
        fprintf(stderr, "%s\n", d.message ? d.message : "out of memory");
        if (d.excerpt)
            fprintf(stderr, "%s\n", d.excerpt);
        scen_diag_free(&d);
        return 2;
    }
    scen_diag_free(&d);

    static struct sigthread st;   /* the signal thread may outlive this frame */
    sigemptyset(&st.set);
    sigaddset(&st.set, SIGINT);
    sigaddset(&st.set, SIGTERM);
    st.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_t pt;
    /* blocked before any thread of the world exists, so every one inherits the mask */
    if (st.fd < 0 || pthread_sigmask(SIG_BLOCK, &st.set, NULL) != 0 ||
        pthread_create(&pt, NULL, sig_main, &st) != 0) {
        perror("vmcisim serve");
        scen_script_free(sc);
        return 2;
    }
    pthread_detach(pt);

    struct scen_run_opts o = {.seed = seed, .realtime = 1, .serve = 1,
                              .serve_until_done = until_done, .serve_stop_fd = st.fd,
                              .control_path = control, .announce = stdout};
    struct scen_result *res = calloc(1, sizeof *res);
    if (!res) {
        scen_script_free(sc);
        return 2;
    }
    printf("serving %s (realtime; SIGINT or SIGTERM stops it)\n", scen_path(sc));
    fflush(stdout);
    scen_run(sc, &o, res);
    int rc;
    int sig = __atomic_load_n(&st.sig, __ATOMIC_SEQ_CST);
    if (res->interrupted && res->status == SCEN_PASS) {
        printf("stopped by %s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        rc = 0;
    } else if (res->interrupted) {
        /* an expectation failed while it was served: say so, as a run would */
        printf("stopped by %s after a failure: %s\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               res->message);
        rc = 1;
    } else {
        char line[4096];
        scen_format_line(res, scen_path(sc), "", line, sizeof line);
        printf("%s\n", line);
        rc = res->status == SCEN_PASS ? 0 : 1;
    }
    fflush(stdout);
    free(res);
    scen_script_free(sc);
    return rc;
}

/* ---- vmcisim ctl ------------------------------------------------------------------------------ */

int cli_ctl(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: vmcisim ctl PATH status\n"
                        "       vmcisim ctl PATH suspend|resume|migrate|power-off|ft-on|ft-off|"
                        "ft-failover|hold|release VM\n");
        return 2;
    }
    const char *path = argv[1];
    char req[512];
    int n = snprintf(req, sizeof req, "%s%s%s\n", argv[2], argc == 4 ? " " : "",
                     argc == 4 ? argv[3] : "");
    if (n <= 0 || (size_t)n >= sizeof req || strchr(argv[2], '\n') ||
        (argc == 4 && strchr(argv[3], '\n'))) {
        fprintf(stderr, "vmcisim ctl: request too long\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "vmcisim ctl: path too long: %s\n", path);
        return 2;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "vmcisim ctl: cannot reach a served world at %s: %s\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        fprintf(stderr, "vmcisim ctl: %s: %s\n", path, strerror(errno));
        close(fd);
        return 2;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    if (!buf) {
        fprintf(stderr, "vmcisim ctl: out of memory\n");
        return 2;
    }
    buf[len] = 0;
    int rc;
    if (strncmp(buf, "ok\n", 3) == 0) {
        fputs(buf + 3, stdout);
        rc = 0;
    } else if (strncmp(buf, "error ", 6) == 0 && (buf[6] == '1' || buf[6] == '2') &&
               buf[7] == ' ') {
        fprintf(stderr, "vmcisim ctl: %s", buf + 8);
        rc = buf[6] - '0';
    } else {
        fprintf(stderr, "vmcisim ctl: no answer from %s (%zu bytes)\n", path, len);
        rc = 2;
    }
    free(buf);
    return rc;
}
