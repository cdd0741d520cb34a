/*
 * exec_fast.c - a plain Linux program (no vmcisim code) for the realtime fast path of exec'd
 * programs (src/preload/fast.c): stream bytes moved through the queue pair mapped into the
 * program, with the world's answers wherever the fast path hands a call over.
 *   `sink PORT BYTES`   accept one connection, read BYTES with reads of varying sizes (some
 *                       larger than the queue), check every byte against the pattern, answer
 *                       "ok", read the client's shutdown (EOF), then close.
 *   `source CID PORT BYTES`
 *                       connect and check, printing "ok N what" or "FAIL N what: ...":
 *                       writes of varying sizes (1 byte to 3x the queue: partial moves that
 *                       end in the world) from two threads taking turns under a mutex, so
 *                       the pattern stays in order; a send from a bad buffer (EFAULT, nothing
 *                       sent); a non-blocking read with nothing queued (EAGAIN at once);
 *                       a receive into a bad buffer (EFAULT) after which the answer is still
 *                       queued and read whole; shutdown(SHUT_WR) then send (EPIPE: the gate
 *                       closed); after the sink's close, end of file.
 *   `pollsink PORT BYTES`, `pollsource CID PORT BYTES`
 *                       non-blocking ends that wait in poll() whenever their call would
 *                       block: the reader empties the queue at each read, the writer fills it;
 *                       each counts the waits that ran to their 2 s timeout with the socket
 *                       ready (a lost wake-up; none may happen) and checks every byte.
 *   `segv CID PORT`     moves a byte through the fast path (its fault handler is in place
 *                       from then on), then installs its own SIGSEGV handler and faults: the
 *                       handler runs (exit 42). `segvdfl CID PORT`: the same without a handler
 *                       of its own: the program dies of SIGSEGV (status 139), as without us.
 * The pattern: byte i of the stream is (i * 131 + i / 7) & 0xff.
 * Exit status 0 when every check held; otherwise the number of the first failed check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BAD ((void *)1)
#define QUEUE 262144 /* the default queue size (vmci-semantics.md §4.4) */

static unsigned char pat(unsigned long long i) { return (unsigned char)(i * 131 + i / 7); }

static int first_fail;

static void expect(int id, const char *what, long r, long want_r, int want_e)
{
    int e = r < 0 ? errno : 0;
    bool ok = r == want_r && e == want_e;
    printf("%s %d %s", ok ? "ok" : "FAIL", id, what);
    if (!ok)
        printf(": got %ld errno %d, want %ld errno %d", r, e, want_r, want_e);
    printf("\n");
    if (!ok && !first_fail)
        first_fail = id;
}

/* the sizes the writers and the reader cycle through */
static size_t size_at(unsigned k)
{
    static const size_t sizes[] = {1, 7, 4096, 65536, 100000, 3 * QUEUE, 13, 262143, 2};
    return sizes[k % (sizeof sizes / sizeof sizes[0])];
}

/* The one connection of a test: accepted on PORT (-1 on failure). */
static int vs_accept(unsigned port)
{
    int l = socket(AF_VSOCK, SOCK_STREAM, 0);
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0)
        return -1;
    int s = accept(l, NULL, NULL);
    close(l);
    return s;
}

/* Connected to CID:PORT, retried while the other end is not listening yet (-1). */
static int vs_connect(unsigned cid, unsigned port)
{
    for (int i = 0; i < 2000; i++) {
        int s = socket(AF_VSOCK, SOCK_STREAM, 0);
        struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = cid};
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0)
            return s;
        close(s);
        usleep(1000); /* the other end is not listening yet */
    }
    return -1;
}

static int sink(unsigned port, unsigned long long bytes)
{
    int s = vs_accept(port);
    if (s < 0)
        return 11;
    unsigned char *buf = malloc(3 * QUEUE);
    unsigned long long got = 0;
    for (unsigned k = 0; buf && got < bytes; k++) {
        size_t want = size_at(k);
        if (want > bytes - got)
            want = (size_t)(bytes - got);
        ssize_t n = k % 2 ? read(s, buf, want) : recv(s, buf, want, 0);
        if (n <= 0) {
            printf("FAIL sink: read %zd errno %d at %llu\n", n, errno, got);
            return 12;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pat(got + (unsigned long long)i)) {
                printf("FAIL sink: byte %llu is %u, want %u\n", got + (unsigned long long)i,
                       buf[i], pat(got + (unsigned long long)i));
                return 13;
            }
        got += (unsigned long long)n;
    }
    printf("sink: %llu bytes in order\n", got);
    if (send(s, "ok", 2, 0) != 2)
        return 14;
    char b;
    ssize_t e = read(s, &b, 1);
    printf("sink: then %s\n", e == 0 ? "end of file" : "something else");
    close(s);
    return e == 0 ? 0 : 15;
}

struct writer {
    int s;
    unsigned long long bytes, *sent;
    pthread_mutex_t *mu;
    unsigned k;
    int err;
};

static void *write_turns(void *arg)
{
    struct writer *w = arg;
    unsigned char *buf = malloc(3 * QUEUE);
    for (;;) {
        pthread_mutex_lock(w->mu);
        unsigned long long at = *w->sent;
        if (at >= w->bytes || !buf) {
            pthread_mutex_unlock(w->mu);
            break;
        }
        size_t n = size_at(w->k);
        w->k += 2;
        if (n > w->bytes - at)
            n = (size_t)(w->bytes - at);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(at + i);
        /* blocking: all of it goes, partly moved by us and the rest by the world */
        ssize_t r = w->k % 4 ? write(w->s, buf, n) : send(w->s, buf, n, 0);
        if (r != (ssize_t)n) {
            w->err = r < 0 ? errno : -1;
            pthread_mutex_unlock(w->mu);
            break;
        }
        *w->sent = at + n;
        pthread_mutex_unlock(w->mu);
    }
    free(buf);
    return NULL;
}

static int source(unsigned cid, unsigned port, unsigned long long bytes)
{
    int s = vs_connect(cid, port);
    expect(1, "connect", s >= 0 ? 0 : -1, 0, 0);
    if (s < 0)
        return first_fail;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    unsigned long long sent = 0;
    struct writer w1 = {.s = s, .bytes = bytes, .sent = &sent, .mu = &mu, .k = 0};
    struct writer w2 = w1;
    w2.k = 1;
    pthread_t t1, t2;
    pthread_create(&t1, NULL, write_turns, &w1);
    pthread_create(&t2, NULL, write_turns, &w2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    expect(2, "two threads wrote every byte", w1.err || w2.err ? -1 : (long)(sent == bytes), 1,
           0);
    expect(3, "send from (void*)1", send(s, BAD, 100, 0), -1, EFAULT);
    int fl = fcntl(s, F_GETFL);
    expect(4, "O_NONBLOCK", fcntl(s, F_SETFL, fl | O_NONBLOCK), 0, 0);
    char b[8] = {0};
    /* the sink answers only after the last byte: nothing may be queued yet, or "ok" already
     * is; either way a non-blocking read does not wait */
    ssize_t r = read(s, b, sizeof b);
    expect(5, "non-blocking read: EAGAIN or the answer", r == -1 && errno == EAGAIN ? 0 : r == 2 ? 0 : -2, 0, 0);
    expect(6, "blocking again", fcntl(s, F_SETFL, fl), 0, 0);
    if (r != 2) {
        expect(7, "recv into (void*)1", recv(s, BAD, 8, MSG_WAITALL) == -1 && errno == EFAULT
                                            ? 0 : -2, 0, 0);
        expect(8, "the answer, whole", recv(s, b, 2, MSG_WAITALL), 2, 0);
    } else {
        printf("ok 7 recv into (void*)1 (the answer came before)\nok 8 the answer, whole\n");
    }
    expect(9, "it is \"ok\"", memcmp(b, "ok", 2) == 0, 1, 0);
    expect(10, "shutdown(SHUT_WR)", shutdown(s, SHUT_WR), 0, 0);
    expect(11, "send after SHUT_WR", send(s, "x", 1, MSG_NOSIGNAL), -1, EPIPE);
    expect(12, "end of file after the sink's close", read(s, b, sizeof b), 0, 0);
    close(s);
    return first_fail;
}

/* ---- poll-driven ends: lost wake-ups ----------------------------------------------------- */

/* A wait that ran out while the socket was ready is a lost wake-up: the other end's move never
 * told the world, whose poll sleeps on notifications (fast.c, at_edge). A poll that runs to its
 * timeout looks at the socket once more and may then say "ready" (what it would have said at
 * once had it been woken): so a wait counts as lost when it lasted the whole timeout and the
 * socket was ready at its end (poll said so, or the call then went through). The other end
 * never pauses for anything like this long, so a full-length wait does not happen otherwise. */
#define POLL_MS 2000

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits for ev on s: 1 ready, 0 timed out, -1 error. */
/* Waits for ev on s: 1 ready, 0 not ready after the whole timeout, -1 error. *full: the wait
 * lasted the whole timeout (ready or not). */
static int wait_for(int s, short ev, bool *full)
{
    struct pollfd p = {.fd = s, .events = ev};
    double t0 = now_s();
    int r = poll(&p, 1, POLL_MS);
    *full = now_s() - t0 >= (POLL_MS - 10) / 1000.0;
    return r < 0 ? -1 : r > 0 && (p.revents & ev) ? 1 : r == 0 ? 0 : -1;
}

/* `pollsink PORT BYTES`: non-blocking; poll for POLLIN, then read all that is queued (the queue
 * empties at every read, and the reader is back in poll at once). */
static int pollsink(unsigned port, unsigned long long bytes)
{
    int s = vs_accept(port);
    if (s < 0 || fcntl(s, F_SETFL, O_NONBLOCK) != 0)
        return 20;
    unsigned char *buf = malloc(QUEUE);
    unsigned long long got = 0, lost = 0, waits = 0, timeouts = 0;
    while (buf && got < bytes) {
        ssize_t n = read(s, buf, QUEUE);
        if (n < 0 && errno == EAGAIN) {
            bool full;
            int w = wait_for(s, POLLIN, &full);
            waits++;
            if (w < 0)
                return 21;
            timeouts += full;
            n = read(s, buf, QUEUE);
            if (full && n > 0)
                lost++;
            if (n < 0 && errno == EAGAIN)
                continue;
        }
        if (n <= 0) {
            printf("FAIL pollsink: read %zd errno %d at %llu\n", n, errno, got);
            return 22;
        }
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pat(got + (unsigned long long)i)) {
                printf("FAIL pollsink: byte %llu is %u\n", got + (unsigned long long)i, buf[i]);
                return 23;
            }
        got += (unsigned long long)n;
    }
    printf("pollsink: %llu bytes in order, %llu lost wake-ups\n", got, lost);
    /* The source closes only after reading this, and the sink only after the source's close:
     * a guest's close drops what the host has not read yet (vmci-semantics.md §2.12), and
     * either end may be the guest. */
    int fl = fcntl(s, F_GETFL);
    char eof;
    if (fcntl(s, F_SETFL, fl & ~O_NONBLOCK) != 0 || write(s, "ok", 2) != 2 ||
        read(s, &eof, 1) != 0)
        return 25;
    fprintf(stderr, "pollsink: %llu waits, %llu ran to the timeout\n", waits, timeouts);
    close(s);
    return lost ? 24 : 0;
}

/* `pollsource CID PORT BYTES`: non-blocking; writes of varying sizes until the queue is full,
 * then poll for POLLOUT (room comes back as the reader empties it). */
static int pollsource(unsigned cid, unsigned port, unsigned long long bytes)
{
    int s = vs_connect(cid, port);
    if (s < 0 || fcntl(s, F_SETFL, O_NONBLOCK) != 0)
        return 30;
    unsigned char *buf = malloc(3 * QUEUE);
    unsigned long long sent = 0, lost = 0, waits = 0, timeouts = 0;
    for (unsigned k = 0; buf && sent < bytes; k++) {
        size_t n = size_at(k);
        if (n > bytes - sent)
            n = (size_t)(bytes - sent);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(sent + i);
        ssize_t r = write(s, buf, n);
        if (r < 0 && errno == EAGAIN) {
            bool full;
            int w = wait_for(s, POLLOUT, &full);
            if (w < 0)
                return 31;
            waits++;
            timeouts += full;
            r = write(s, buf, n);
            if (full && r > 0)
                lost++;
            if (r < 0 && errno == EAGAIN) {
                k--; /* the same size again */
                continue;
            }
        }
        if (r <= 0) {
            printf("FAIL pollsource: write %zd errno %d at %llu\n", r, errno, sent);
            return 32;
        }
        sent += (unsigned long long)r;
        if ((size_t)r < n)
            k--; /* the rest of this size next (its pattern is recomputed from `sent`) */
    }
    printf("pollsource: %llu bytes sent, %llu lost wake-ups\n", sent, lost);
    char ok[2];
    int fl = fcntl(s, F_GETFL);
    if (fcntl(s, F_SETFL, fl & ~O_NONBLOCK) != 0 || recv(s, ok, 2, MSG_WAITALL) != 2 ||
        memcmp(ok, "ok", 2) != 0)
        return 34;
    fprintf(stderr, "pollsource: %llu waits, %llu ran to the timeout\n", waits, timeouts);
    close(s);
    return lost ? 33 : 0;
}

static void on_segv(int sig)
{
    static const char m[] = "the program's own SIGSEGV handler ran\n";
    ssize_t w = write(1, m, sizeof m - 1);
    (void)w;
    _exit(sig == SIGSEGV ? 42 : 43);
}

static int segv(unsigned cid, unsigned port, bool own)
{
    int s = vs_connect(cid, port);
    if (s < 0 || send(s, "a", 1, 0) != 1 || send(s, BAD, 1, 0) != -1 || errno != EFAULT)
        return 20;
    if (own) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_segv;
        sigemptyset(&sa.sa_mask);
        struct sigaction old;
        if (sigaction(SIGSEGV, &sa, &old) != 0 || old.sa_handler != SIG_DFL)
            return 21; /* the program sees its own previous action, not the library's */
    }
    printf("faulting\n");
    fflush(stdout);
    volatile int *p = NULL;
    return *p;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp(argv[1], "sink"))
        return sink((unsigned)atoi(argv[2]), strtoull(argv[3], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "source"))
        return source((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]),
                      strtoull(argv[4], NULL, 10));
    if (argc == 4 && !strcmp(argv[1], "pollsink"))
        return pollsink((unsigned)atoi(argv[2]), strtoull(argv[3], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "pollsource"))
        return pollsource((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]),
                          strtoull(argv[4], NULL, 10));
    if (argc == 4 && (!strcmp(argv[1], "segv") || !strcmp(argv[1], "segvdfl")))
        return segv((unsigned)atoi(argv[2]), (unsigned)atoi(argv[3]), argv[1][4] == 0);
    fprintf(stderr, "usage: exec_fast sink PORT BYTES | source CID PORT BYTES | "
                    "pollsink PORT BYTES | pollsource CID PORT BYTES | segv|segvdfl CID PORT\n");
    return 2;
}
