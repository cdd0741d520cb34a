/*
 * exec.c - the statements of scripted processes: each is one vmci_* call (or a world action)
 * made as the simulated process, followed by its expectation (expect.c). Statements also keep
 * the process's counters, so final checks can read what scripted and built-in processes did.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "scenario/checksum.h"
#include "scenario/interp.h"
#include "scenario/names.h"

unsigned char scen_fill_byte(uint64_t i)
{
    /* Not periodic in any power of two below 2^32, so a misplaced or lost chunk shows. */
    uint64_t x = i * 0x9E3779B97F4A7C15ull;
    return (unsigned char)(x >> 56 ^ i);
}

/* The first PATTERN_TABLE bytes of the pattern, computed once per real process, and the
 * pattern's CRC-32C at every PATTERN_STEP: a 64-VM world sends the same first megabytes on
 * every connection, so they are copied instead of computed, and a source's checksum of what it
 * sent is looked up instead of recomputed. A pure function of the offset, read-only once made:
 * nothing of a world is in it, so worlds do not share state through it. */
#define PATTERN_TABLE (4u << 20)
#define PATTERN_STEP (64u << 10)
static unsigned char *pattern;                              /* PATTERN_TABLE bytes, or NULL */
static uint32_t pattern_crc[PATTERN_TABLE / PATTERN_STEP + 1]; /* CRC of [0, k * STEP) */
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

/* The same bytes as scen_fill_byte, in one loop the compiler can vectorise. */
static void fill_computed(unsigned char *b, uint64_t off, size_t n)
{
    uint64_t x = off * 0x9E3779B97F4A7C15ull;
    unsigned char lo = (unsigned char)off;
    for (size_t i = 0; i < n; i++) {
        b[i] = (unsigned char)(x >> 56) ^ lo++;
        x += 0x9E3779B97F4A7C15ull; /* (i + 1) * C without a multiply */
    }
}

static void pattern_make(void)
{
    /* the real process's cache, not a world's allocation: plain malloc; no memory, no table */
    unsigned char *t = malloc(PATTERN_TABLE);
    if (!t)
        return;
    fill_computed(t, 0, PATTERN_TABLE);
    pattern_crc[0] = 0;
    for (size_t k = 0; k < PATTERN_TABLE / PATTERN_STEP; k++)
        pattern_crc[k + 1] = scen_crc32c(pattern_crc[k], t + k * PATTERN_STEP, PATTERN_STEP);
    pattern = t;
}

uint32_t scen_pattern_crc(uint64_t n)
{
    pthread_once(&pattern_once, pattern_make);
    uint32_t c = 0;
    uint64_t off = 0;
    if (pattern) {
        uint64_t k = (n < PATTERN_TABLE ? n : PATTERN_TABLE) / PATTERN_STEP;
        c = pattern_crc[k];
        off = k * PATTERN_STEP;
        if (n <= PATTERN_TABLE) {
            assert(n - off < PATTERN_STEP);
            return scen_crc32c(c, pattern + off, (size_t)(n - off));
        }
    }
    unsigned char buf[4096];
    while (off < n) {
        size_t m = n - off < sizeof buf ? (size_t)(n - off) : sizeof buf;
        scen_fill(buf, off, m);
        c = scen_crc32c(c, buf, m);
        off += m;
    }
    return c;
}

void scen_fill(unsigned char *b, uint64_t off, size_t n)
{
    pthread_once(&pattern_once, pattern_make);
    if (pattern && off < PATTERN_TABLE && n <= PATTERN_TABLE - off) {
        memcpy(b, pattern + off, n);
        return;
    }
    fill_computed(b, off, n);
}

void scen_resolve_addr(struct scen_run *run, struct scen_inst *in, const struct scen_addr *a,
                       struct sockaddr_vm *out)
{
    if (a->var >= 0 && in) {
        assert(a->var < in->proc->nvars); /* the parser numbers variables per process */
        *out = in->addrs[a->var];
        return;
    }
    memset(out, 0, sizeof *out);
    out->svm_family = (sa_family_t)VMCISock_GetAFValue();
    out->svm_port = a->port;
    switch (a->cidref) {
    case CIDREF_VM:
        out->svm_cid = vmcisim_vm_cid(run->vms[a->vm]);
        break;
    case CIDREF_SELF:
        out->svm_cid = in ? vmcisim_vm_cid(in->vm) : VMADDR_CID_HOST;
        break;
    default:
        out->svm_cid = a->cid;
        break;
    }
}

static void set_timeval(struct timeval *tv, int64_t ns)
{
    tv->tv_sec = (time_t)(ns / 1000000000);
    tv->tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
}

/* setsockopt / getsockopt of one scenario option; the value travels as int64 (times in ns). */
static int sockopt(int fd, int opt, int set, int64_t *val)
{
    int af = VMCISock_GetAFValue();
    int level, name, kind; /* kind 0 u64, 1 timeval, 2 int */
    switch (opt) {
    case OPT_BUFFER_SIZE: level = af, name = SO_VMCI_BUFFER_SIZE, kind = 0; break;
    case OPT_BUFFER_MIN: level = af, name = SO_VMCI_BUFFER_MIN_SIZE, kind = 0; break;
    case OPT_BUFFER_MAX: level = af, name = SO_VMCI_BUFFER_MAX_SIZE, kind = 0; break;
    case OPT_CONNECT_TIMEOUT: level = af, name = SO_VMCI_CONNECT_TIMEOUT, kind = 1; break;
    case OPT_TRUSTED: level = af, name = SO_VMCI_TRUSTED, kind = 2; break;
    case OPT_PEER_HOST_VM_ID: level = af, name = SO_VMCI_PEER_HOST_VM_ID, kind = 2; break;
    case OPT_RCVTIMEO: level = SOL_SOCKET, name = SO_RCVTIMEO, kind = 1; break;
    case OPT_SNDTIMEO: level = SOL_SOCKET, name = SO_SNDTIMEO, kind = 1; break;
    case OPT_RCVLOWAT: level = SOL_SOCKET, name = SO_RCVLOWAT, kind = 2; break;
    case OPT_RCVBUF: level = SOL_SOCKET, name = SO_RCVBUF, kind = 2; break;
    case OPT_ERROR: level = SOL_SOCKET, name = SO_ERROR, kind = 2; break;
    case OPT_TYPE: level = SOL_SOCKET, name = SO_TYPE, kind = 2; break;
    case OPT_NONBLOCK: {
        int fl = vmci_fcntl(fd, F_GETFL);
        if (fl < 0)
            return -1;
        if (!set) {
            *val = (fl & O_NONBLOCK) != 0;
            return 0;
        }
        return vmci_fcntl(fd, F_SETFL, *val ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
    }
    default:
        errno = EINVAL;
        return -1;
    }
    uint64_t u = 0;
    struct timeval tv = {0};
    int i = 0;
    void *p = kind == 0 ? (void *)&u : kind == 1 ? (void *)&tv : (void *)&i;
    socklen_t len = kind == 0 ? sizeof u : kind == 1 ? sizeof tv : sizeof i;
    if (set) {
        u = (uint64_t)*val;
        set_timeval(&tv, *val);
        i = (int)*val;
        return vmci_setsockopt(fd, level, name, p, len);
    }
    int rc = vmci_getsockopt(fd, level, name, p, &len);
    if (rc == 0)
        *val = kind == 0 ? (int64_t)u
             : kind == 1 ? (int64_t)tv.tv_sec * 1000000000 + (int64_t)tv.tv_usec * 1000
                         : i;
    return rc;
}

static int fd_of(struct scen_inst *in, int var)
{
    assert(var < in->proc->nvars);
    return var >= 0 ? in->fds[var] : -1;
}

static int exec_sock(struct scen_inst *in, const struct scen_stmt *st)
{
    struct scen_run *run = in->run;
    struct sockaddr_vm sa;
    socklen_t salen = sizeof sa;
    int fd = fd_of(in, st->fd);
    long rc;
    int err;
    switch (st->op) {
    case OP_SOCKET:
        sim_trace_name_next_fd(in->proc->varnames[st->dst]); /* the trace says `s`, not a number */
        rc = vmci_socket(VMCISock_GetAFValue(), st->sock_type, 0);
        err = errno;
        sim_trace_name_next_fd(NULL);
        if (rc >= 0)
            in->fds[st->dst] = (int)rc;
        return scen_expect(in, st, rc, err, NULL, 0, NULL);
    case OP_BIND:
    case OP_CONNECT:
        scen_resolve_addr(run, in, &st->addr, &sa);
        rc = st->op == OP_BIND ? vmci_bind(fd, (struct sockaddr *)&sa, sizeof sa)
                               : vmci_connect(fd, (struct sockaddr *)&sa, sizeof sa);
        err = errno;
        if (st->op == OP_CONNECT)
            scen_count(in, rc == 0                ? C_CONNECTED
                           : err == ECONNRESET ? C_REFUSED
                                               : C_CONNECT_ERRORS,
                       1);
        return scen_expect(in, st, rc, err, NULL, 0, NULL);
    case OP_LISTEN:
        rc = vmci_listen(fd, (int)st->num);
        return scen_expect(in, st, rc, errno, NULL, 0, NULL);
    case OP_ACCEPT:
        sim_trace_name_next_fd(in->proc->varnames[st->dst]);
        rc = vmci_accept(fd, (struct sockaddr *)&sa, &salen);
        err = errno;
        sim_trace_name_next_fd(NULL);
        if (rc >= 0) {
            in->fds[st->dst] = (int)rc;
            scen_count(in, C_ACCEPTED, 1);
        }
        return scen_expect(in, st, rc, err, NULL, 0, NULL);
    case OP_SEND:
    case OP_SENDTO: {
        const unsigned char *d = st->data;
        if (st->fill) {
            unsigned char *b = scen_buf(in, st->len);
            if (!b)
                return scen_fail(run, st->line, "memory for the data", "none", in->name);
            /* the pattern continues across sends, so a sink can check the whole stream */
            uint64_t base = (uint64_t)in->counters[C_BYTES_SENT];
            for (size_t i = 0; i < st->len; i++)
                b[i] = scen_fill_byte(base + i);
            d = b;
        }
        if (st->op == OP_SEND) {
            rc = vmci_send(fd, d, st->len, st->flags);
        } else {
            scen_resolve_addr(run, in, &st->addr, &sa);
            rc = vmci_sendto(fd, d, st->len, st->flags, (struct sockaddr *)&sa, sizeof sa);
        }
        err = errno;
        if (rc > 0)
            scen_count(in, C_BYTES_SENT, rc);
        if (rc >= 0 && st->op == OP_SENDTO)
            scen_count(in, C_DGRAMS_SENT, 1);
        if (rc < 0 && err == EPIPE)
            scen_count(in, C_EPIPE, 1);
        return scen_expect(in, st, rc, err, NULL, 0, NULL);
    }
    case OP_RECV:
    case OP_RECVFROM: {
        unsigned char *b = scen_buf(in, (size_t)st->num);
        if (!b)
            return scen_fail(run, st->line, "memory for the data", "none", in->name);
        memset(&sa, 0, sizeof sa);
        if (st->op == OP_RECV)
            rc = vmci_recv(fd, b, (size_t)st->num, st->flags);
        else
            rc = vmci_recvfrom(fd, b, (size_t)st->num, st->flags, (struct sockaddr *)&sa, &salen);
        err = errno;
        if (rc > 0)
            scen_count(in, C_BYTES_RECEIVED, rc);
        if (rc == 0 && st->op == OP_RECV && st->num > 0)
            scen_count(in, C_EOF, 1);
        if (rc >= 0 && st->op == OP_RECVFROM) {
            scen_count(in, C_DGRAMS_RECEIVED, 1);
            if (st->from_var >= 0)
                in->addrs[st->from_var] = sa;
        }
        return scen_expect(in, st, rc, err, b, rc > 0 ? (size_t)rc : 0, &sa);
    }
    case OP_SHUTDOWN:
        rc = vmci_shutdown(fd, st->how);
        return scen_expect(in, st, rc, errno, NULL, 0, NULL);
    case OP_CLOSE:
        rc = vmci_close(fd);
        return scen_expect(in, st, rc, errno, NULL, 0, NULL);
    case OP_POLL: {
        struct pollfd pfd = {.fd = fd, .events = st->events};
        int ms = st->num < 0 ? -1 : (int)((st->num + 999999) / 1000000);
        rc = vmci_poll(&pfd, 1, ms);
        err = errno;
        if (rc >= 0 && st->ex.kind == EX_POLL) /* the revents are what it is about */
            return scen_expect(in, st, pfd.revents, 0, NULL, 0, NULL);
        return scen_expect(in, st, rc, err, NULL, 0, NULL);
    }
    case OP_SETSOCKOPT: {
        int64_t v = st->num;
        rc = sockopt(fd, st->opt, 1, &v);
        return scen_expect(in, st, rc, errno, NULL, 0, NULL);
    }
    case OP_GETSOCKOPT: {
        int64_t v = 0;
        rc = sockopt(fd, st->opt, 0, &v);
        err = errno;
        if (rc == 0 && st->opt == OPT_ERROR && st->ex.kind == EX_ERRNO)
            return scen_expect(in, st, v ? -1 : 0, (int)v, NULL, 0, NULL); /* SO_ERROR by name */
        return scen_expect(in, st, rc == 0 ? (long)v : rc, err, NULL, 0, NULL);
    }
    case OP_GETSOCKNAME:
    case OP_GETPEERNAME:
        memset(&sa, 0, sizeof sa);
        rc = st->op == OP_GETSOCKNAME ? vmci_getsockname(fd, (struct sockaddr *)&sa, &salen)
                                      : vmci_getpeername(fd, (struct sockaddr *)&sa, &salen);
        return scen_expect(in, st, rc, errno, NULL, 0, &sa);
    default:
        return scen_fail(run, st->line, "a known statement", scen_op_name(st->op), in->name);
    }
}

int scen_exec_world(struct scen_run *run, const struct scen_stmt *st, const char *who)
{
    long rc;
    int err;
    switch (st->op) {
    case OP_MARK:
        scen_mark(run, st->event);
        return 0;
    case OP_ACTION:
        rc = scen_do_stmt_action(run, st);
        break;
    case OP_FAULTS:
        rc = scen_do_faults(run, &st->faults);
        break;
    default:
        return scen_fail(run, st->line, "a world action", scen_op_name(st->op), who);
    }
    err = errno;
    /* World statements outside a process have no instance; expectations need only the run. */
    struct scen_proc fake_proc = {.daemon = 0};
    struct scen_inst fake = {.run = run, .proc = &fake_proc};
    snprintf(fake.name, sizeof fake.name, "%s", who);
    return scen_expect(&fake, st, rc, err, NULL, 0, NULL);
}

int scen_exec_block(struct scen_inst *in, const struct scen_stmt *body, size_t n)
{
    struct scen_run *run = in->run;
    for (size_t i = 0; i < n; i++) {
        const struct scen_stmt *st = &body[i];
        in->cur_line = st->line;
        if (scen_failed(run))
            return -1; /* another process failed: this one ends where it is */
        if (scen_past_limit(run)) {
            char exp[96], got[64];
            snprintf(exp, sizeof exp, "to reach this line within the limit of %.3fs",
                     (double)run->sc->limit_ns / 1e9);
            snprintf(got, sizeof got, "simulated time %.9fs", (double)scen_now(run) / 1e9);
            return scen_fail(run, st->line, exp, got, in->name);
        }
        int rc = 0;
        switch (st->op) {
        case OP_SLEEP:
            vmcisim_sleep((uint64_t)st->num);
            break;
        case OP_MARK:
            scen_mark(run, st->event);
            break;
        case OP_WAIT:
            rc = scen_wait_event(in, st->event, st->line);
            break;
        case OP_NOTE: {
            char text[256];
            size_t k = st->len < sizeof text - 1 ? st->len : sizeof text - 1;
            for (size_t j = 0; j < k; j++)
                text[j] = st->data[j] >= 0x20 && st->data[j] < 0x7f ? (char)st->data[j] : '?';
            text[k] = 0;
            vmcisim_trace_note(run->sim, text);
            break;
        }
        case OP_REPEAT:
            for (int64_t k = 0; k < st->num && rc == 0; k++)
                rc = scen_exec_block(in, st->body, st->nbody);
            break;
        case OP_ACTION:
        case OP_FAULTS: {
            long r = st->op == OP_ACTION ? scen_do_stmt_action(run, st)
                                         : scen_do_faults(run, &st->faults);
            rc = scen_expect(in, st, r, errno, NULL, 0, NULL);
            break;
        }
        default:
            rc = exec_sock(in, st);
            break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}
