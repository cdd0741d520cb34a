/*
 * parse_stmt.c - the statements inside a process or a timed line: socket calls with their
 * expectations, options, data, fault knobs, world actions and nested blocks (grammar in
 * docs/scenarios.md).
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "exec/elfcheck.h"
#include "exec/exec.h"
#include "scenario/names.h"
#include "scenario/parser.h"
#include "sim/alloc.h"
#include "vmcisim/vmci_sockets.h"

/* ---- expectations ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    short bit;
} pollbits[] = {
    {"in", POLLIN}, {"out", POLLOUT}, {"err", POLLERR}, {"hup", POLLHUP},
    {"rdhup", POLLRDHUP}, {"pri", POLLPRI}, {"nval", POLLNVAL},
    {"rdnorm", POLLRDNORM}, {"wrnorm", POLLWRNORM},
};

short ps_poll_set(struct parser *p)
{
    short set = 0;
    for (;;) {
        const struct scen_token *t = ps_peek(p);
        size_t i;
        for (i = 0; i < sizeof pollbits / sizeof pollbits[0]; i++)
            if (ps_is_word(t, pollbits[i].name))
                break;
        if (i == sizeof pollbits / sizeof pollbits[0])
            ps_expected(p, t, "a poll event (in, out, err, hup, rdhup, pri, nval, rdnorm, wrnorm)");
        ps_next(p);
        set |= pollbits[i].bit;
        if (ps_peek(p)->kind != T_PIPE && ps_peek(p)->kind != T_COMMA)
            return set;
        ps_next(p);
    }
}

int ps_errno_word(const struct scen_token *t)
{
    if (t->kind != T_IDENT || t->len < 2 || t->start[0] != 'E')
        return -1;
    return scen_errno_by_name(t->start, t->len);
}

void ps_expectation(struct parser *p, struct scen_stmt *st)
{
    struct scen_expect *ex = &st->ex;
    if (ps_peek(p)->kind != T_ARROW)
        return;
    ps_next(p);
    const struct scen_token *t = ps_peek(p);
    ex->line = t->line;
    ex->col = t->col;
    int e = ps_errno_word(t);
    if (t->kind == T_IDENT && t->start[0] == 'E' && e < 0 && t->len > 1 &&
        t->start[1] >= 'A' && t->start[1] <= 'Z')
        ps_expected(p, t, "an errno name such as ECONNRESET, EPIPE or EINVAL");
    if (e >= 0) {
        ex->kind = EX_ERRNO;
        ex->err = e;
        ps_next(p);
        return;
    }
    if (ps_accept_word(p, "any")) {
        if (ps_peek(p)->kind == T_COLON) { /* any:PORT, an address */
            p->pos--;
        } else {
            ex->kind = EX_ANY;
            return;
        }
    }
    if (ps_accept_word(p, "ok")) {
        ex->kind = EX_OK;
        return;
    }
    if (ps_accept_word(p, "error")) {
        ex->kind = EX_ERROR;
        return;
    }
    switch (st->op) {
    case OP_POLL:
        if (ps_accept_word(p, "none")) {
            ex->kind = EX_POLL;
            ex->revents = 0;
            return;
        }
        ex->kind = EX_POLL;
        ex->revents = ps_poll_set(p);
        return;
    case OP_GETSOCKNAME:
    case OP_GETPEERNAME:
        ex->kind = EX_ADDR;
        ps_address(p, &ex->addr, 0);
        return;
    case OP_RECV:
    case OP_RECVFROM:
        if (ps_accept_word(p, "eof")) {
            ex->kind = EX_EOF;
            return;
        }
        if (t->kind == T_STR) {
            ex->kind = EX_DATA;
            ex->data = t->bytes; /* moved out of the token */
            ex->len = t->nbytes;
            ((struct scen_token *)t)->bytes = NULL;
            ps_next(p);
            if (st->op == OP_RECVFROM && ps_accept_word(p, "from")) {
                ex->has_from = 1;
                ps_address(p, &ex->addr, 0);
            }
            return;
        }
        break;
    default:
        break;
    }
    if (t->kind == T_NUM) {
        ex->kind = EX_RANGE;
        ex->lo = ex->hi = ps_size_value(p, "a number", INT64_MAX / 2);
        if (ps_peek(p)->kind == T_DOTDOT) {
            ps_next(p);
            ex->hi = ps_size_value(p, "the upper end of the range", INT64_MAX / 2);
            if (ex->hi < ex->lo)
                ps_expected(p, &p->toks.v[p->pos - 1], "an upper end not below the lower end");
        }
        return;
    }
    if (st->op == OP_RECV || st->op == OP_RECVFROM)
        ps_expected(p, t, "an expected result: ok, any, error, eof, a count, \"text\", x\"hex\" "
                       "or an errno name");
    ps_expected(p, t,
                "an expected result: ok, any, error, a number, a range A..B or an errno name");
}

/* ---- statements inside processes ------------------------------------------------------------ */

static const struct {
    const char *name;
    int opt;
    int kind; /* 0 size/number, 1 duration, 2 on/off, 3 read-only */
} options[] = {
    {"buffer-size", OPT_BUFFER_SIZE, 0},   {"buffer-min-size", OPT_BUFFER_MIN, 0},
    {"buffer-max-size", OPT_BUFFER_MAX, 0}, {"connect-timeout", OPT_CONNECT_TIMEOUT, 1},
    {"trusted", OPT_TRUSTED, 0},           {"rcvtimeo", OPT_RCVTIMEO, 1},
    {"sndtimeo", OPT_SNDTIMEO, 1},         {"rcvlowat", OPT_RCVLOWAT, 0},
    {"rcvbuf", OPT_RCVBUF, 0},             {"nonblock", OPT_NONBLOCK, 2},
    {"error", OPT_ERROR, 3},               {"type", OPT_TYPE, 3},
    {"peer-host-vm-id", OPT_PEER_HOST_VM_ID, 0},
};

int ps_option(struct parser *p, int *kind)
{
    const struct scen_token *t = ps_peek(p);
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (ps_is_word(t, options[i].name)) {
            ps_next(p);
            *kind = options[i].kind;
            return options[i].opt;
        }
    ps_expected(p, t, "a socket option (buffer-size, buffer-min-size, buffer-max-size, "
                   "connect-timeout, trusted, rcvtimeo, sndtimeo, rcvlowat, rcvbuf, nonblock, "
                   "error, type, peer-host-vm-id)");
}

int ps_msg_flags(struct parser *p)
{
    int f = 0;
    for (;;) {
        if (ps_accept_word(p, "peek"))
            f |= MSG_PEEK;
        else if (ps_accept_word(p, "waitall"))
            f |= MSG_WAITALL;
        else if (ps_accept_word(p, "dontwait"))
            f |= MSG_DONTWAIT;
        else if (ps_accept_word(p, "nosignal"))
            f |= MSG_NOSIGNAL;
        else if (ps_accept_word(p, "oob"))
            f |= MSG_OOB;
        else
            return f;
    }
}

/* DATA := STRING | SIZE 'bytes' */
void ps_data(struct parser *p, struct scen_stmt *st)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind == T_STR) {
        st->data = t->bytes;
        st->len = t->nbytes;
        ((struct scen_token *)t)->bytes = NULL;
        ps_next(p);
        return;
    }
    if (t->kind == T_NUM) {
        st->len = (size_t)ps_size_value(p, "a byte count", MAX_IO);
        st->fill = 1;
        ps_want_word(p, "bytes");
        return;
    }
    ps_expected(p, t, "data: \"text\", x\"hex\" or N bytes");
}

void ps_faults_knobs(struct parser *p, struct scen_faults *f)
{
    const struct scen_token *first = ps_peek(p);
    if (ps_accept_word(p, "none")) {
        f->mask = FK_ALL;
        memset(&f->v, 0, sizeof f->v);
        return;
    }
    while (ps_peek(p)->kind == T_IDENT) {
        const struct scen_token *t = ps_peek(p);
        if (ps_accept_word(p, "dgram-delay")) {
            f->mask |= FK_DELAY;
            f->v.dg_delay_min_ns = ps_duration_value(p, "a delay");
            f->v.dg_delay_max_ns = f->v.dg_delay_min_ns;
            if (ps_peek(p)->kind == T_DOTDOT) {
                ps_next(p);
                f->v.dg_delay_max_ns = ps_duration_value(p, "the longest delay");
                if (f->v.dg_delay_max_ns < f->v.dg_delay_min_ns)
                    ps_expected(p, &p->toks.v[p->pos - 1],
                                "a longest delay not below the shortest");
            }
        } else if (ps_accept_word(p, "dgram-drop")) {
            f->mask |= FK_DROP;
            f->v.dg_drop = ps_prob_value(p);
        } else if (ps_accept_word(p, "dgram-duplicate")) {
            f->mask |= FK_DUP;
            f->v.dg_duplicate = ps_prob_value(p);
        } else if (ps_accept_word(p, "dgram-reorder")) {
            f->mask |= FK_REORDER;
            f->v.dg_reorder = ps_prob_value(p);
        } else if (ps_accept_word(p, "qp-alloc-fail")) {
            f->mask |= FK_QPFAIL;
            f->v.qp_alloc_fail = ps_prob_value(p);
        } else if (ps_accept_word(p, "hv-latency")) {
            f->mask |= FK_LATENCY;
            f->v.hv_latency_ns = ps_duration_value(p, "a latency");
        } else {
            ps_expected(p, t, "a fault knob (dgram-delay, dgram-drop, dgram-duplicate, "
                              "dgram-reorder, qp-alloc-fail, hv-latency) or none");
        }
    }
    if (!f->mask)
        ps_expected(p, first, "a fault knob (dgram-delay, dgram-drop, dgram-duplicate, "
                              "dgram-reorder, qp-alloc-fail, hv-latency) or none");
}

/* ACTION VM | faults KNOBS | mark EVENT: what `at`, `on` and processes share. Returns 0 if
 * the next word starts none of them. */
int ps_world_action(struct parser *p, struct scen_stmt *st)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_IDENT)
        return 0;
    int a = scen_action_by_name(t->start, t->len);
    if (a >= 0) {
        ps_next(p);
        st->op = OP_ACTION;
        st->action = a;
        st->vm = ps_vm_ref(p);
        if (a == ACT_CLOG)
            st->num = (int64_t)ps_duration_value(p, "how long to clog the VM");
        ps_expectation(p, st);
        return 1;
    }
    if (ps_accept_word(p, "faults")) {
        st->op = OP_FAULTS;
        ps_faults_knobs(p, &st->faults);
        ps_expectation(p, st);
        return 1;
    }
    if (ps_accept_word(p, "mark")) {
        st->op = OP_MARK;
        st->event = ps_event_ref(p, 1);
        return 1;
    }
    return 0;
}


void ps_statement(struct parser *p, struct scen_stmt *st)
{
    const struct scen_token *t = ps_peek(p);
    st->line = t->line;
    st->col = t->col;
    st->dst = st->fd = st->from_var = -1;
    st->addr.var = -1;
    st->ex.addr.var = -1;
    if (t->kind != T_IDENT)
        ps_expected(p, t, "a statement");

    /* NAME = socket TYPE | NAME = accept FD */
    if (ps_peek2(p)->kind == T_ASSIGN) {
        const struct scen_token *name = t;
        ps_next(p);
        ps_next(p);
        if (ps_accept_word(p, "socket")) {
            st->op = OP_SOCKET;
            if (ps_accept_word(p, "stream"))
                st->sock_type = SOCK_STREAM;
            else if (ps_accept_word(p, "dgram"))
                st->sock_type = SOCK_DGRAM;
            else if (ps_accept_word(p, "seqpacket"))
                st->sock_type = SOCK_SEQPACKET;
            else
                ps_expected(p, ps_peek(p), "a socket type (stream, dgram or seqpacket)");
        } else if (ps_accept_word(p, "accept")) {
            st->op = OP_ACCEPT;
            st->fd = ps_var_use(p, 0);
        } else {
            ps_expected(p, ps_peek(p), "socket or accept after '='");
        }
        st->dst = ps_var_define(p, name, 0);
        ps_expectation(p, st);
        return;
    }
    if (ps_world_action(p, st))
        return;
    if (ps_accept_word(p, "bind")) {
        st->op = OP_BIND;
        st->fd = ps_var_use(p, 0);
        ps_address(p, &st->addr, 1);
    } else if (ps_accept_word(p, "listen")) {
        st->op = OP_LISTEN;
        st->fd = ps_var_use(p, 0);
        st->num = ps_count_value(p, "a backlog", 0, 1 << 20);
    } else if (ps_accept_word(p, "connect")) {
        st->op = OP_CONNECT;
        st->fd = ps_var_use(p, 0);
        ps_address(p, &st->addr, 1);
    } else if (ps_accept_word(p, "send")) {
        st->op = OP_SEND;
        st->fd = ps_var_use(p, 0);
        ps_data(p, st);
        st->flags = ps_msg_flags(p);
    } else if (ps_accept_word(p, "recv")) {
        st->op = OP_RECV;
        st->fd = ps_var_use(p, 0);
        st->num = ps_size_value(p, "a byte count to read", MAX_IO);
        st->flags = ps_msg_flags(p);
    } else if (ps_accept_word(p, "sendto")) {
        st->op = OP_SENDTO;
        st->fd = ps_var_use(p, 0);
        ps_data(p, st);
        ps_address(p, &st->addr, 1);
        st->flags = ps_msg_flags(p);
    } else if (ps_accept_word(p, "recvfrom")) {
        st->op = OP_RECVFROM;
        st->fd = ps_var_use(p, 0);
        st->num = ps_size_value(p, "a byte count to read", MAX_IO);
        st->flags = ps_msg_flags(p);
        if (ps_accept_word(p, "as"))
            st->from_var = ps_var_define(p, ps_next(p), 1);
    } else if (ps_accept_word(p, "shutdown")) {
        st->op = OP_SHUTDOWN;
        st->fd = ps_var_use(p, 0);
        if (ps_accept_word(p, "rd"))
            st->how = SHUT_RD;
        else if (ps_accept_word(p, "wr"))
            st->how = SHUT_WR;
        else if (ps_accept_word(p, "rdwr"))
            st->how = SHUT_RDWR;
        else if (ps_peek(p)->kind == T_NUM)
            st->how = (int)ps_count_value(p, "rd, wr, rdwr or a number", 0, 255);
        else
            ps_expected(p, ps_peek(p), "rd, wr or rdwr");
    } else if (ps_accept_word(p, "close")) {
        st->op = OP_CLOSE;
        st->fd = ps_var_use(p, 0);
    } else if (ps_accept_word(p, "poll")) {
        st->op = OP_POLL;
        st->fd = ps_var_use(p, 0);
        st->events = ps_poll_set(p);
        if (ps_accept_word(p, "forever"))
            st->num = -1;
        else
            st->num = (int64_t)ps_duration_value(p, "a poll timeout (or forever)");
    } else if (ps_accept_word(p, "setsockopt")) {
        st->op = OP_SETSOCKOPT;
        st->fd = ps_var_use(p, 0);
        int kind;
        const struct scen_token *ot = ps_peek(p);
        st->opt = ps_option(p, &kind);
        if (kind == 3)
            ps_expected(p, ot, "an option that can be set");
        if (kind == 1)
            st->num = (int64_t)ps_duration_value(p, "a time");
        else if (kind == 2) {
            if (ps_accept_word(p, "on"))
                st->num = 1;
            else if (ps_accept_word(p, "off"))
                st->num = 0;
            else
                ps_expected(p, ps_peek(p), "on or off");
        } else
            st->num = ps_size_value(p, "a value", INT64_MAX / 2);
    } else if (ps_accept_word(p, "getsockopt")) {
        st->op = OP_GETSOCKOPT;
        st->fd = ps_var_use(p, 0);
        int kind;
        st->opt = ps_option(p, &kind);
    } else if (ps_accept_word(p, "getsockname")) {
        st->op = OP_GETSOCKNAME;
        st->fd = ps_var_use(p, 0);
    } else if (ps_accept_word(p, "getpeername")) {
        st->op = OP_GETPEERNAME;
        st->fd = ps_var_use(p, 0);
    } else if (ps_accept_word(p, "sleep")) {
        st->op = OP_SLEEP;
        st->num = (int64_t)ps_duration_value(p, "a time to sleep");
        return;
    } else if (ps_accept_word(p, "wait")) {
        st->op = OP_WAIT;
        st->event = ps_event_ref(p, 0);
        return;
    } else if (ps_accept_word(p, "note")) {
        st->op = OP_NOTE;
        if (ps_peek(p)->kind != T_STR)
            ps_expected(p, ps_peek(p), "a \"text\" to write into the trace");
        st->data = ps_peek(p)->bytes;
        st->len = ps_peek(p)->nbytes;
        ((struct scen_token *)ps_peek(p))->bytes = NULL;
        ps_next(p);
        return;
    } else if (ps_accept_word(p, "repeat")) {
        st->op = OP_REPEAT;
        st->num = ps_count_value(p, "a repeat count", 0, MAX_COUNT);
        ps_end_of_line(p);
        if (++p->depth > MAX_DEPTH)
            ps_fail_at(p, t, "expected at most %d nested repeat blocks", MAX_DEPTH);
        ps_block(p, &st->body, &st->nbody, "repeat", t->line);
        p->depth--;
        return;
    } else {
        ps_expected(p, t, "a statement (socket, bind, listen, accept, connect, send, recv, sendto, "
                       "recvfrom, shutdown, close, poll, setsockopt, getsockopt, getsockname, "
                       "getpeername, sleep, mark, wait, repeat, note, faults, suspend, resume, "
                       "migrate, power-off, ft-on, ft-off)");
    }
    ps_expectation(p, st);
}

/* Statements up to a line holding only 'end'. */
void ps_block(struct parser *p, struct scen_stmt **body, size_t *n, const char *what,
                  int opened)
{
    for (;;) {
        const struct scen_token *t = ps_peek(p);
        if (t->kind == T_NL) {
            ps_next(p);
            continue;
        }
        if (t->kind == T_EOF) {
            char w[96];
            snprintf(w, sizeof w, "'end' to close the %s block of line %d", what, opened);
            ps_expected(p, t, w);
        }
        if (ps_is_word(t, "end")) {
            ps_next(p);
            ps_end_of_line(p);
            return;
        }
        size_t i = *n;
        *body = ps_grow(p, *body, n, sizeof **body);
        ps_statement(p, &(*body)[i]);
        if ((*body)[i].op != OP_REPEAT) /* a repeat block consumed its own 'end' line */
            ps_end_of_line(p);
    }
}
