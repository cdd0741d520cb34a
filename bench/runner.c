/*
 * runner.c - calibrate, repeat, summarise (see runner.h).
 *
 * Transports differ by three orders of magnitude (64-byte pipe writes against 1 MiB memcpy),
 * so a fixed byte count would make some runs take microseconds and others minutes. Instead a
 * first, unreported run with a small amount of work warms the path up (threads, caches, the
 * kernel's buffers, TCP's window) and times it, growing until a run is long enough to trust;
 * every measured run then does the same fixed amount of work, scaled so that a run takes about
 * run_seconds, within hard bounds so that every loop stays bounded whatever the calibration
 * saw.
 */
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "runner.h"
#include "stats.h"

#define MAX_RUNS 1000
#define CALIBRATION_STEPS 4

/* Work of the calibration run, and the bounds of a measured run's work, per kind. */
static uint64_t first_work(const struct bench_case *bc)
{
    switch (bc->kind) {
    case BENCH_THROUGHPUT: {
        uint64_t w = (uint64_t)bc->msg_size * 256;
        return w < (256u << 10) ? (256u << 10) : w > (8u << 20) ? (8u << 20) : w;
    }
    case BENCH_LATENCY:
        return 500;
    case BENCH_RATE:
        return 20000;
    }
    return 1;
}

static uint64_t max_work(const struct bench_case *bc)
{
    switch (bc->kind) {
    case BENCH_THROUGHPUT:
        return 64ull << 30;   /* 64 GiB: > 1 s even for an L1-resident memcpy */
    case BENCH_LATENCY:
        return 2000000;       /* the samples take 8 bytes each */
    case BENCH_RATE:
        return 1ull << 30;
    }
    return 1;
}

static uint64_t scaled_work(const struct bench_case *bc, uint64_t w0, double s0, double target)
{
    double w = s0 > 0 ? (double)w0 * target / s0 : (double)w0;
    uint64_t lo = w0, hi = max_work(bc);
    uint64_t n = w < (double)lo ? lo : w > (double)hi ? hi : (uint64_t)w;
    if (bc->kind == BENCH_THROUGHPUT && bc->msg_size > 1) /* whole writes only */
        n = (n + bc->msg_size - 1) / bc->msg_size * bc->msg_size;
    return n;
}

int bench_run_case(const struct bench_case *bc, const struct bench_opts *o,
                   struct bench_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    res->bc = bc;
    res->ratio = -1;
    int runs = o->runs < 1 ? 1 : o->runs > MAX_RUNS ? MAX_RUNS : o->runs;
    struct bench_sample s;
    double v[MAX_RUNS], p99[MAX_RUNS];

    /* Calibrate: grow the work until one run lasts at least a quarter of the target, so the
     * estimate comes from the steady state and not from a start that was faster (buffers
     * still empty) or slower (caches cold) than the rest. At most CALIBRATION_STEPS runs. */
    if (o->progress)
        o->progress(o->ctx, bc, 0, runs);
    struct bench_load_mark m0, m1;
    bench_load_mark(&m0);
    uint64_t w = first_work(bc);
    for (int step = 0;; step++) {
        memset(&s, 0, sizeof s);
        if (bc->run(bc, w, &s, err, errlen) != 0)
            return -1;
        if (s.seconds >= o->run_seconds / 4 || w >= max_work(bc) || step + 1 == CALIBRATION_STEPS)
            break;
        w = scaled_work(bc, w, s.seconds, o->run_seconds / 2);
    }
    uint64_t work = scaled_work(bc, w, s.seconds, o->run_seconds);

    for (int i = 0; i < runs; i++) {
        if (o->progress)
            o->progress(o->ctx, bc, i + 1, runs);
        memset(&s, 0, sizeof s);
        if (bc->run(bc, work, &s, err, errlen) != 0)
            return -1;
        /* Throughput is kept in GB/s (10^9 bytes per second) from here on. */
        v[i] = bc->kind == BENCH_THROUGHPUT ? s.value / 1e9 : s.value;
        p99[i] = s.value_p99;
    }

    bench_load_mark(&m1);
    res->others_cpu = bench_load_others(&m0, &m1);
    res->ok = 1;
    res->runs = runs;
    res->work = work;
    res->queue_size = s.queue_size;
    bench_minmax(v, (size_t)runs, &res->min, &res->max);
    res->median = bench_median(v, (size_t)runs);
    /* The interquartile range, not max - min: one run that a stray wake-up spoiled should
     * not make a steady figure look unsteady. min and max are reported alongside. */
    double q1 = bench_quantile(v, (size_t)runs, 0.25), q3 = bench_quantile(v, (size_t)runs, 0.75);
    res->spread = res->median > 0 ? (q3 - q1) / res->median : 0;
    if (bc->kind == BENCH_LATENCY)
        res->p99_median = bench_median(p99, (size_t)runs);
    return 0;
}

static const struct bench_result *find_row(const struct bench_result *res, size_t n,
                                           const char *transport, enum bench_kind kind,
                                           size_t msg_size)
{
    for (size_t j = 0; j < n; j++) {
        const struct bench_result *b = &res[j];
        if (b->ok && b->bc->kind == kind && b->bc->cpus == 2 &&
            strcmp(b->bc->transport, transport) == 0 && b->bc->msg_size == msg_size &&
            b->median > 0)
            return b;
    }
    return NULL;
}

void bench_fill_ratios(struct bench_result *res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        res[i].ratio = -1;
        res[i].ring_ratio = -1;
        res[i].ratio_to = NULL;
        const struct bench_case *bc = res[i].bc;
        if (!res[i].ok || bc->kind == BENCH_RATE)
            continue;
        const struct bench_result *b = find_row(res, n, "unix-socketpair", bc->kind, bc->msg_size);
        if (b) {
            res[i].ratio = res[i].median / b->median;
            res[i].ratio_to = b->bc->name;
        }
        if (bc->kind == BENCH_THROUGHPUT && strcmp(bc->transport, "vmci-stream") == 0) {
            const struct bench_result *r = find_row(res, n, "vmci-ring", bc->kind, bc->msg_size);
            if (r)
                res[i].ring_ratio = res[i].median / r->median;
        }
    }
}
