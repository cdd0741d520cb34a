/*
 * harness.c - the two measurements every byte channel gets, done the same way for all:
 *
 *  throughput  end 0 writes `work` bytes in writes of msg_size; end 1 reads them with reads of
 *              msg_size. Timed from the writer's first write to the reader's last byte.
 *  round trip  end 0 sends 1 byte and waits for 1 byte back, `work` times after a warm-up;
 *              end 1 echoes. Every round trip is timed on its own; p50 and p99 of them.
 *
 * Both sides reuse one buffer each, allocated and touched before the clock starts, so what is
 * measured is the transport and not page faults. One channel is opened per run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "clock.h"
#include "pair.h"
#include "stats.h"

/* Round trips done before the timed ones: caches, branch predictors and the kernel's wake-up
 * paths warm up, TCP leaves slow start. */
#define RTT_WARMUP 200

struct side {
    struct bench_chan *ch;
    int end;
    size_t msg;
    uint64_t total;        /* bytes (throughput) or timed round trips */
    unsigned char *buf;
    uint64_t t_first, t_last;
    uint64_t *rtt;         /* round-trip samples, ns (end 0 of a round-trip run) */
    int err;               /* errno of the first failure, 0 if none */
    const char *what;      /* which call failed */
};

static void fail(struct side *s, const char *what, int err)
{
    s->err = err ? err : EIO;
    s->what = what;
    s->ch->ops->hangup(s->ch, s->end); /* the peer must not wait for us forever */
}

/* Send exactly n bytes (a transport may accept fewer per call). */
static int send_all(struct side *s, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = s->ch->ops->send(s->ch, s->end, p, n);
        if (r <= 0) {
            fail(s, "send", r < 0 ? errno : EIO);
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Receive exactly n bytes. */
static int recv_all(struct side *s, unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = s->ch->ops->recv(s->ch, s->end, p, n);
        if (r <= 0) {
            fail(s, r == 0 ? "recv (peer hung up)" : "recv", r < 0 ? errno : EPIPE);
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void writer_main(void *arg)
{
    struct side *s = arg;
    s->t_first = bench_now_ns();
    for (uint64_t sent = 0; sent < s->total;) {
        size_t n = s->total - sent < s->msg ? (size_t)(s->total - sent) : s->msg;
        if (send_all(s, s->buf, n) != 0)
            return;
        sent += n;
    }
}

static void reader_main(void *arg)
{
    struct side *s = arg;
    for (uint64_t got = 0; got < s->total;) {
        size_t want = s->total - got < s->msg ? (size_t)(s->total - got) : s->msg;
        ssize_t r = s->ch->ops->recv(s->ch, s->end, s->buf, want);
        if (r <= 0) {
            fail(s, r == 0 ? "recv (peer hung up)" : "recv", r < 0 ? errno : EPIPE);
            return;
        }
        got += (uint64_t)r;
    }
    s->t_last = bench_now_ns();
}

static void ping_main(void *arg)
{
    struct side *s = arg;
    unsigned char *b = s->buf;
    for (uint64_t i = 0; i < RTT_WARMUP + s->total; i++) {
        uint64_t t0 = bench_now_ns();
        if (send_all(s, b, 1) != 0 || recv_all(s, b, 1) != 0)
            return;
        if (i >= RTT_WARMUP)
            s->rtt[i - RTT_WARMUP] = bench_now_ns() - t0;
    }
}

static void pong_main(void *arg)
{
    struct side *s = arg;
    for (uint64_t i = 0; i < RTT_WARMUP + s->total; i++)
        if (recv_all(s, s->buf, 1) != 0 || send_all(s, s->buf, 1) != 0)
            return;
}

static int side_error(const struct bench_case *bc, const struct side *s, char *err,
                      size_t errlen)
{
    if (!s->err)
        return 0;
    snprintf(err, errlen, "%s: end %d: %s: %s", bc->transport, s->end, s->what,
             strerror(s->err));
    return -1;
}

/* Open the channel, run the pair, close; reports the first failure and the channel's queue
 * size. */
static int run_sides(const struct bench_case *bc, struct side *a, void (*fa)(void *),
                     struct side *b, void (*fb)(void *), size_t *queue_size, char *err,
                     size_t errlen)
{
    const struct bench_chan_ops *ops = bc->impl;
    struct bench_chan ch;
    memset(&ch, 0, sizeof ch);
    ch.ops = ops;
    if (ops->open(&ch, bc->queue_size) != 0) {
        snprintf(err, errlen, "%s: open: %s", bc->transport, strerror(errno));
        return -1;
    }
    *queue_size = ch.queue_size;
    a->ch = b->ch = &ch;
    a->end = 0;
    b->end = 1;
    int rc = bench_run_pair(fa, a, fb, b, bc->cpus);
    int e = errno;
    ops->close(&ch);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot start threads: %s", bc->transport, strerror(e));
        return -1;
    }
    return side_error(bc, a, err, errlen) ? -1 : side_error(bc, b, err, errlen);
}

int bench_chan_throughput(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                          char *err, size_t errlen)
{
    struct side w = {.msg = bc->msg_size, .total = work}, r = w;
    w.buf = malloc(bc->msg_size);
    r.buf = malloc(bc->msg_size);
    if (!w.buf || !r.buf) {
        free(w.buf);
        free(r.buf);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(w.buf, 0xa5, bc->msg_size);
    memset(r.buf, 0, bc->msg_size);
    int rc = run_sides(bc, &w, writer_main, &r, reader_main, &out->queue_size, err, errlen);
    free(w.buf);
    free(r.buf);
    if (rc != 0)
        return -1;
    double s = (double)(r.t_last - w.t_first) / 1e9;
    out->seconds = s > 0 ? s : 1e-9;
    out->value = (double)work / out->seconds;
    return 0;
}

int bench_chan_roundtrip(const struct bench_case *bc, uint64_t work, struct bench_sample *out,
                         char *err, size_t errlen)
{
    unsigned char pb[1] = {0x5a}, qb[1] = {0};
    struct side ping = {.msg = 1, .total = work, .buf = pb}, pong = ping;
    pong.buf = qb;
    if (work == 0 || !(ping.rtt = malloc(work * sizeof *ping.rtt))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(ping.rtt, 0, work * sizeof *ping.rtt);
    int rc = run_sides(bc, &ping, ping_main, &pong, pong_main, &out->queue_size, err, errlen);
    if (rc == 0) {
        uint64_t sum = 0;
        for (uint64_t i = 0; i < work; i++)
            sum += ping.rtt[i];
        out->seconds = (double)sum / 1e9;
        out->value = (double)bench_percentile_u64(ping.rtt, work, 50);
        out->value_p99 = (double)bench_percentile_u64(ping.rtt, work, 99);
    }
    free(ping.rtt);
    return rc;
}
