/*
 * exec_bench.c - the `vmci-exec` rows: stream throughput between two exec'd programs
 * (bench/peer/exec_peer.c, guest writer, host reader) in a realtime world, next to the
 * in-process vmci-stream rows and the socketpair baseline of the same write size.
 *
 * The time is the programs' own (CLOCK_MONOTONIC is the C library's in realtime mode): from the
 * writer's first write to the reader's last byte, as the in-process rows measure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cases.h"
#include "exec/exec.h"
#include "vmcisim/vmcisim.h"

#define EB_GUEST_CID 3u
#define EB_PORT 9100u

struct eb_side {
    char *argv[7];
    char out[PATH_MAX];
    const char *path, *preload;
    struct exec_proc *ep;
    int started;                /* exec_start returned (ep set, or NULL: failed) */
    char why[256];
};

static void eb_main(void *arg)
{
    struct eb_side *s = arg;
    struct exec_opts o = {.path = s->path, .argv = s->argv, .preload = s->preload,
                          .stdout_path = s->out, .stderr_path = NULL};
    s->ep = exec_start(&o, s->why, sizeof s->why);
    __atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
    if (s->ep)
        exec_serve_main(s->ep);
}

/* The last process of the world: once both programs have ended, it gives the VMs' kernel
 * workers a moment to finish what the programs' ends set off (the last control packets), so
 * that nothing is still posted to a worker when the world is torn down. */
struct eb_settle {
    struct eb_side *s[2];
};

static void eb_settle(void *arg)
{
    struct eb_settle *st = arg;
    for (int i = 0; i < 2; i++)
        while (!__atomic_load_n(&st->s[i]->started, __ATOMIC_ACQUIRE) ||
               (st->s[i]->ep && !exec_ended(st->s[i]->ep)))
            vmcisim_sleep(1000000);
    vmcisim_sleep(20000000);
}

static long long read_mark(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char k[16];
    long long v = -1;
    if (f && fscanf(f, "%15s %lld", k, &v) == 2 && strcmp(k, key) != 0)
        v = -1;
    if (f)
        fclose(f);
    return v;
}

int bench_exec_stream_run(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                          char *err, size_t errlen)
{
    char preload[PATH_MAX], peer[PATH_MAX + 32], self[PATH_MAX];
    if (exec_find_preload(preload, sizeof preload, err, errlen) != 0)
        return -1;
    ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
    if (l <= 0) {
        snprintf(err, errlen, "cannot find the vmcisim binary");
        return -1;
    }
    self[l] = 0;
    *strrchr(self, '/') = 0;
    snprintf(peer, sizeof peer, "%s/vmcisim-exec-peer", self);
    if (access(peer, X_OK) != 0) {
        snprintf(err, errlen, "%s: not found (built with the tool)", peer);
        return -1;
    }
    char bytes[32], size[32], port[16], cid[16];
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)work);
    snprintf(size, sizeof size, "%zu", bc->msg_size);
    snprintf(port, sizeof port, "%u", EB_PORT);
    snprintf(cid, sizeof cid, "%u", 2u);
    struct eb_side rx = {.argv = {peer, "recv", port, bytes, NULL}, .path = peer, .preload = preload};
    struct eb_side tx = {.argv = {peer, "send", cid, port, bytes, size, NULL}, .path = peer,
                         .preload = preload};
    const char *t = getenv("TMPDIR");
    snprintf(rx.out, sizeof rx.out, "%s/vmcisim-exec-bench-%ld.rx", t && *t ? t : "/tmp",
             (long)getpid());
    snprintf(tx.out, sizeof tx.out, "%s/vmcisim-exec-bench-%ld.tx", t && *t ? t : "/tmp",
             (long)getpid());
    struct vmcisim_config cfg = {.seed = 1, .realtime = 1};
    vmcisim *sim = vmcisim_create(&cfg);
    vmcisim_vm *g = sim ? vmcisim_vm_create(sim, "bench-guest", EB_GUEST_CID) : NULL;
    struct eb_settle settle = {{&rx, &tx}};
    if (!g || vmcisim_spawn_root(vmcisim_host(sim), "reader", eb_main, &rx) != 0 ||
        vmcisim_spawn(g, "writer", eb_main, &tx) != 0 ||
        vmcisim_spawn(vmcisim_host(sim), "settle", eb_settle, &settle) != 0) {
        snprintf(err, errlen, "cannot create the world");
        vmcisim_destroy(sim);
        return -1;
    }
    vmcisim_run(sim);
    int rs = -1, ts = -1;
    if (rx.ep)
        exec_status(rx.ep, &rs);
    if (tx.ep)
        exec_status(tx.ep, &ts);
    vmcisim_destroy(sim);
    long long start = read_mark(tx.out, "start"), end = read_mark(rx.out, "end");
    unlink(rx.out);
    unlink(tx.out);
    if (rs != 0 || ts != 0 || start < 0 || end <= start) {
        snprintf(err, errlen, "exec'd peers failed (reader %d%s%s, writer %d%s%s)", rs,
                 rx.ep ? "" : ": ", rx.ep ? "" : rx.why, ts, tx.ep ? "" : ": ",
                 tx.ep ? "" : tx.why);
        return -1;
    }
    out->seconds = (double)(end - start) / 1e9;
    out->value = (double)work / out->seconds;
    out->value_p99 = 0;
    out->queue_size = 262144 - 1;
    return 0;
}
