/*
 * expect.c - judging one call against what the scenario says it must give, and describing both
 * sides in the words of the scenario language ("ECONNRESET", "\"hello\"", "in|out", "host:5000")
 * so that a failure reads like the line that failed.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "scenario/interp.h"
#include "scenario/names.h"

static void scen_describe_bytes(const unsigned char *d, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    const size_t show = 48;
    if (cap < 8) {
        if (cap)
            buf[0] = 0;
        return;
    }
    buf[k++] = '"';
    for (size_t i = 0; i < n && i < show && k + 6 < cap; i++) {
        unsigned char c = d[i];
        if (c == '"' || c == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)c;
        } else if (c == '\n') {
            buf[k++] = '\\';
            buf[k++] = 'n';
        } else if (c >= 0x20 && c < 0x7f) {
            buf[k++] = (char)c;
        } else {
            k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
        }
    }
    buf[k++] = '"';
    buf[k] = 0;
    snprintf(buf + k, cap - k, " (%zu bytes)", n);
}

void scen_describe_rc(long rc, int err, char *buf, size_t cap)
{
    if (rc == -1) {
        const char *name = scen_errno_name(err);
        if (name)
            snprintf(buf, cap, "%s", name);
        else
            snprintf(buf, cap, "-1 (errno %d)", err);
    } else {
        snprintf(buf, cap, "%ld", rc);
    }
}

static void describe_poll(short ev, char *buf, size_t cap)
{
    static const struct {
        short bit;
        const char *name;
    } bits[] = {{POLLIN, "in"},     {POLLOUT, "out"},       {POLLERR, "err"},
                {POLLHUP, "hup"},   {POLLRDHUP, "rdhup"},   {POLLPRI, "pri"},
                {POLLNVAL, "nval"}, {POLLRDNORM, "rdnorm"}, {POLLWRNORM, "wrnorm"}};
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
        if (ev & bits[i].bit)
            k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, "%s%s", k ? "|" : "",
                                  bits[i].name);
    if (!k)
        snprintf(buf, cap, "none");
    else if (ev & ~(POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP | POLLPRI | POLLNVAL |
                    POLLRDNORM | POLLWRNORM))
        snprintf(buf + k, k < cap ? cap - k : 0, "|0x%x", (unsigned)ev);
}

static void describe_addr(const struct sockaddr_vm *a, char *buf, size_t cap)
{
    char c[16], p[16];
    if (a->svm_cid == VMADDR_CID_ANY)
        snprintf(c, sizeof c, "any");
    else
        snprintf(c, sizeof c, "%u", a->svm_cid);
    if (a->svm_port == VMADDR_PORT_ANY)
        snprintf(p, sizeof p, "any");
    else
        snprintf(p, sizeof p, "%u", a->svm_port);
    snprintf(buf, cap, "%s:%s", c, p);
}

static int addr_eq(const struct sockaddr_vm *a, const struct sockaddr_vm *b)
{
    return a->svm_cid == b->svm_cid && a->svm_port == b->svm_port;
}

int scen_expect(struct scen_inst *in, const struct scen_stmt *st, long rc, int err,
                const void *data, size_t n, const struct sockaddr_vm *from)
{
    const struct scen_expect *ex = &st->ex;
    char exp[256], got[256], ctx[SCEN_NAME_MAX * 2 + 32];
    int line = ex->line ? ex->line : st->line;
    int ok;
    assert(line > 0); /* every statement comes from a line of the file */
    exp[0] = got[0] = 0;
    snprintf(ctx, sizeof ctx, "%s in %s",
             st->op == OP_ACTION ? scen_action_name(st->action) : scen_op_name(st->op), in->name);
    switch (ex->kind) {
    case EX_ANY:
        return 0;
    case EX_DEFAULT:
    case EX_OK:
        ok = rc != -1;
        snprintf(exp, sizeof exp, "success");
        break;
    case EX_RANGE:
        ok = rc != -1 && rc >= ex->lo && rc <= ex->hi;
        if (ex->lo == ex->hi)
            snprintf(exp, sizeof exp, "%lld", (long long)ex->lo);
        else
            snprintf(exp, sizeof exp, "%lld..%lld", (long long)ex->lo, (long long)ex->hi);
        break;
    case EX_ERRNO:
        ok = rc == -1 && err == ex->err;
        snprintf(exp, sizeof exp, "%s", scen_errno_name(ex->err) ? scen_errno_name(ex->err) : "?");
        break;
    case EX_ERROR:
        ok = rc == -1;
        snprintf(exp, sizeof exp, "an error");
        break;
    case EX_EOF:
        ok = rc == 0;
        snprintf(exp, sizeof exp, "eof");
        break;
    case EX_DATA:
        ok = rc >= 0 && (size_t)rc == ex->len && n == ex->len &&
             (ex->len == 0 || memcmp(data, ex->data, ex->len) == 0);
        scen_describe_bytes(ex->data, ex->len, exp, sizeof exp);
        if (ok && ex->has_from && from) {
            struct sockaddr_vm want;
            scen_resolve_addr(in->run, in, &ex->addr, &want);
            if (!addr_eq(&want, from)) {
                char a[48], b[48];
                describe_addr(&want, a, sizeof a);
                describe_addr(from, b, sizeof b);
                snprintf(exp, sizeof exp, "data from %s", a);
                snprintf(got, sizeof got, "data from %s", b);
                return scen_fail(in->run, line, exp, got, ctx);
            }
        }
        if (!ok && rc >= 0)
            scen_describe_bytes(data, n, got, sizeof got);
        break;
    case EX_POLL:
        ok = rc != -1 && (short)rc == ex->revents;
        describe_poll(ex->revents, exp, sizeof exp);
        if (!ok && rc != -1)
            describe_poll((short)rc, got, sizeof got);
        break;
    case EX_ADDR: {
        struct sockaddr_vm want;
        scen_resolve_addr(in->run, in, &ex->addr, &want);
        ok = rc == 0 && from && addr_eq(&want, from);
        describe_addr(&want, exp, sizeof exp);
        if (!ok && rc == 0 && from)
            describe_addr(from, got, sizeof got);
        break;
    }
    default:
        ok = 0;
        snprintf(exp, sizeof exp, "a known expectation");
        break;
    }
    if (ok)
        return 0;
    if (!got[0])
        scen_describe_rc(rc, err, got, sizeof got);
    return scen_fail(in->run, line, exp, got, ctx);
}
