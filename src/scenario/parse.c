/*
 * parse.c - scenario text -> struct scen_script (grammar in docs/scenarios.md).
 *
 * A recursive-descent parser over the token array of lex.c. The first error ends the parse with
 * "path:line:col: expected ..., got ..." (longjmp back to scen_parse, which frees the partial
 * script: everything allocated is attached to the script before anything that can fail runs).
 * All names (VMs, processes, descriptors, events) are resolved to indices here. This file holds
 * the top level; parse_read.c the reading primitives, parse_stmt.c the process statements.
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
#include "scenario/ast.h"
#include "scenario/diag.h"
#include "scenario/lex.h"
#include "scenario/names.h"
#include "scenario/parser.h"
#include "sim/alloc.h"
#include "scenario/scenario.h"
#include "vmcisim/vmci_sockets.h"

/* ---- top level ------------------------------------------------------------------------------- */

static int new_top_name(struct parser *p, const struct scen_token *t, char *out, const char *what)
{
    char name[SCEN_NAME_MAX];
    ps_name_of(p, t, name, what);
    if (ps_is_word(t, "host") || ps_is_word(t, "any") || ps_is_word(t, "self") ||
        ps_is_word(t, "local") ||
        ps_is_word(t, "hypervisor") || ps_is_word(t, "time"))
        ps_expected(p, t, "a name that is not a reserved word (host, any, self, local, hypervisor, "
                       "time)");
    if (ps_find_vm(p->s, name) >= 0 || ps_find_proc(p->s, name) >= 0)
        ps_expected(p, t, "a name not used yet by a VM, process or program");
    memcpy(out, name, sizeof name);
    ps_next(p);
    return 0;
}

static void top_vm(struct parser *p)
{
    size_t i = p->s->nvms;
    p->s->vms = ps_grow(p, p->s->vms, &p->s->nvms, sizeof *p->s->vms);
    struct scen_vm *vm = &p->s->vms[i];
    vm->line = ps_peek(p)->line;
    new_top_name(p, ps_peek(p), vm->name, "a VM name");
    vm->cid = VMADDR_CID_ANY;
    while (ps_peek(p)->kind == T_IDENT) {
        if (ps_accept_word(p, "cid")) {
            if (!ps_accept_word(p, "auto")) {
                const struct scen_token *t = ps_peek(p);
                if (t->kind != T_NUM || t->has_frac || t->unit[0] || t->ival < 3 ||
                    t->ival > 0xFFFFFFFEull)
                    ps_expected(p, t, "a VM CID from 3 to 4294967294 (0, 1 and 2 are the "
                                   "hypervisor, local and the host), or auto");
                vm->cid = (uint32_t)ps_count_value(p, "a CID", 3, 0xFFFFFFFEll);
                for (size_t k = 1; k < i; k++)
                    if (p->s->vms[k].cid == vm->cid)
                        ps_expected(p, t, "a CID no other VM has");
            }
        } else if (ps_accept_word(p, "restricted")) {
            vm->flags |= VMCISIM_VM_RESTRICTED;
        } else if (ps_accept_word(p, "trusted")) {
            vm->flags |= VMCISIM_VM_TRUSTED;
        } else {
            ps_expected(p, ps_peek(p), "cid, restricted or trusted");
        }
    }
}

static void proc_options(struct parser *p, struct scen_proc *pr)
{
    for (;;) {
        if (ps_accept_word(p, "root"))
            pr->root = 1;
        else if (ps_accept_word(p, "daemon"))
            pr->daemon = 1;
        else if (ps_accept_word(p, "instances"))
            pr->instances = ps_count_value(p, "a number of instances", 1, MAX_INSTANCES);
        else if (ps_accept_word(p, "start"))
            pr->start_ns = ps_duration_value(p, "a start time");
        else if (ps_accept_word(p, "after"))
            pr->after_event = ps_event_ref(p, 0);
        else
            return;
    }
}

static struct scen_proc *proc_head(struct parser *p, int builtin)
{
    size_t i = p->s->nprocs;
    p->s->procs = ps_grow(p, p->s->procs, &p->s->nprocs, sizeof *p->s->procs);
    struct scen_proc *pr = &p->s->procs[i];
    pr->line = ps_peek(p)->line;
    pr->col = ps_peek(p)->col;
    pr->instances = 1;
    pr->after_event = -1;
    pr->ready_event = -1;
    pr->builtin = builtin;
    new_top_name(p, ps_peek(p), pr->name, builtin ? "a program name" : "a process name");
    return pr;
}

static void done_events(struct parser *p, struct scen_proc *pr, int server)
{
    char ev[SCEN_NAME_MAX * 2];
    snprintf(ev, sizeof ev, "%s.done", pr->name);
    pr->done_event = ps_event_index(p, ev, NULL, 1);
    if (server) {
        snprintf(ev, sizeof ev, "%s.ready", pr->name);
        pr->ready_event = ps_event_index(p, ev, NULL, 1);
    }
}

/* exec NAME on VM [procopt...] "command line": refused here (exit status 2) when the program
 * cannot be found or cannot be simulated (src/exec/elfcheck.h). */
static void top_exec(struct parser *p)
{
    struct scen_proc *pr = proc_head(p, B_EXEC);
    size_t idx = (size_t)(pr - p->s->procs);
    ps_want_word(p, "on");
    pr->vm = ps_vm_ref(p);
    proc_options(p, pr);
    pr = &p->s->procs[idx];
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_STR)
        ps_expected(p, t, "the program's \"command line\"");
    pr->cmdline = strndup((const char *)t->bytes, t->nbytes);
    if (!pr->cmdline)
        ps_expected(p, t, "memory for the command line");
    char why[256], path[4096];
    char **argv = NULL;
    if (exec_split_words(pr->cmdline, &argv, why, sizeof why) != 0)
        ps_expected(p, t, why);
    int found = exec_resolve(argv[0], path, sizeof path) == 0;
    if (!found) {
        snprintf(why, sizeof why, "a program '%s' that exists and is executable (PATH is searched "
                 "when it has no '/')", argv[0]);
        exec_free_words(argv);
        ps_expected(p, t, why);
    }
    exec_free_words(argv);
    if (exec_check_binary(path, why, sizeof why) != 0)
        ps_expected(p, t, why);
    ps_next(p);
    done_events(p, pr, 0);
}

static void top_process(struct parser *p)
{
    struct scen_proc *pr = proc_head(p, B_NONE);
    size_t idx = (size_t)(pr - p->s->procs);
    ps_want_word(p, "on");
    pr->vm = ps_vm_ref(p);
    proc_options(p, pr);
    done_events(p, pr, 0);
    ps_end_of_line(p);
    p->cur = &p->s->procs[idx];
    ps_block(p, &p->cur->body, &p->cur->nbody, "process", p->cur->line);
    p->cur = NULL;
}

static int is_server(int b)
{
    return b == B_ECHO_SERVER || b == B_SINK || b == B_RR_SERVER || b == B_DGRAM_PONG;
}

static void top_program(struct parser *p)
{
    struct scen_proc *pr = proc_head(p, B_NONE);
    const struct scen_token *t = ps_peek(p);
    int b = t->kind == T_IDENT ? scen_builtin_by_name(t->start, t->len) : -1;
    if (b < 0 || b == B_EXEC)
        ps_expected(p, t, "a built-in program (echo-server, sink, source, rr-server, rr-client, "
                       "dgram-pong, dgram-ping)");
    ps_next(p);
    pr->builtin = b;
    ps_want_word(p, "on");
    pr->vm = ps_vm_ref(p);
    proc_options(p, pr);
    struct scen_bparams *bp = &pr->bp;
    bp->backlog = 64;
    bp->chunk = 4096;
    bp->requests = 1;
    bp->size = b == B_DGRAM_PING ? 32 : 64;
    bp->connections = 1;
    bp->count = b == B_DGRAM_PING ? 10 : 0;
    bp->timeout_ns = 10000000ull;
    int server = is_server(b);
    while (ps_peek(p)->kind == T_IDENT) {
        const struct scen_token *k = ps_peek(p);
        if (server && ps_accept_word(p, "port")) {
            bp->port = (uint32_t)ps_count_value(p, "a port number", 0, 0xFFFFFFFEll);
            bp->has_port = 1;
        } else if (!server && ps_accept_word(p, "to")) {
            ps_address(p, &bp->to, 0);
            bp->has_to = 1;
        } else if (server && b != B_DGRAM_PONG && ps_accept_word(p, "conns")) {
            bp->conns = ps_count_value(p, "a number of connections", 1, MAX_COUNT);
        } else if (server && b != B_DGRAM_PONG && ps_accept_word(p, "backlog")) {
            bp->backlog = ps_count_value(p, "a backlog", 0, 1 << 20);
        } else if ((b == B_DGRAM_PING || b == B_DGRAM_PONG) && ps_accept_word(p, "count")) {
            bp->count = ps_count_value(p, "a number of datagrams", 1, MAX_COUNT);
        } else if (b == B_SOURCE && ps_accept_word(p, "bytes")) {
            bp->bytes = ps_size_value(p, "a number of bytes", 1LL << 40);
        } else if (b == B_SOURCE && ps_accept_word(p, "chunk")) {
            bp->chunk = ps_size_value(p, "a chunk size", MAX_IO);
            if (bp->chunk < 1)
                ps_expected(p, k, "a chunk of at least 1 byte");
        } else if (b == B_RR_CLIENT && ps_accept_word(p, "requests")) {
            bp->requests = ps_count_value(p, "a number of requests", 1, MAX_COUNT);
        } else if ((b == B_RR_CLIENT || b == B_DGRAM_PING) && ps_accept_word(p, "size")) {
            bp->size = ps_size_value(p, "a request size", b == B_DGRAM_PING ? 69608 : MAX_IO);
            if (b == B_DGRAM_PING && bp->size < 8)
                ps_expected(p, k, "a datagram size of at least 8 bytes (the sequence number)");
        } else if ((b == B_RR_SERVER || b == B_DGRAM_PONG) && ps_accept_word(p, "reply")) {
            bp->reply = ps_size_value(p, "a reply size", b == B_DGRAM_PONG ? 69608 : MAX_IO);
        } else if ((b == B_SOURCE || b == B_RR_CLIENT) && ps_accept_word(p, "connections")) {
            bp->connections = ps_count_value(p, "a number of connections", 1, MAX_COUNT);
        } else if (!server && ps_accept_word(p, "interval")) {
            bp->interval_ns = ps_duration_value(p, "an interval");
        } else if (b == B_DGRAM_PING && ps_accept_word(p, "timeout")) {
            bp->timeout_ns = ps_duration_value(p, "a reply timeout");
        } else if ((b == B_SOURCE || b == B_RR_CLIENT) && ps_accept_word(p, "hold")) {
            bp->hold_ns = ps_duration_value(p, "a time to hold each connection");
        } else if (b != B_DGRAM_PING && b != B_DGRAM_PONG && ps_accept_word(p, "buffer")) {
            bp->buffer = ps_size_value(p, "a buffer size", 1LL << 30);
        } else if (ps_accept_word(p, "nosignal")) {
            bp->nosignal = 1;
        } else {
            ps_expected(p, k, "a parameter of this program (see docs/scenarios.md)");
        }
    }
    if (server && !bp->has_port)
        ps_expected(p, ps_peek(p), "'port N' (a server needs a port to listen on)");
    if (!server && !bp->has_to)
        ps_expected(p, ps_peek(p), "'to CID:PORT' (a client needs an address)");
    if (b == B_SOURCE && !bp->bytes)
        ps_expected(p, ps_peek(p), "'bytes N' (how much the source sends)");
    /* A server with no count to reach serves until every other process is done. */
    if (server && !bp->conns && !bp->count)
        pr->daemon = 1;
    done_events(p, pr, server);
}

static void top_timed(struct parser *p, int on)
{
    size_t i = p->s->ntimed;
    p->s->timed = ps_grow(p, p->s->timed, &p->s->ntimed, sizeof *p->s->timed);
    struct scen_timed *tm = &p->s->timed[i];
    const struct scen_token *first = &p->toks.v[p->pos - 1];
    tm->line = first->line;
    tm->on_event = -1;
    if (on) {
        tm->on_event = ps_event_ref(p, 0);
        if (ps_accept_word(p, "after"))
            tm->at_ns = ps_duration_value(p, "a delay");
    } else {
        tm->at_ns = ps_duration_value(p, "a simulated time");
    }
    struct scen_stmt *st = &tm->stmt;
    st->line = ps_peek(p)->line;
    st->col = ps_peek(p)->col;
    st->dst = st->fd = st->from_var = -1;
    st->addr.var = st->ex.addr.var = -1;
    if (!ps_world_action(p, st))
        ps_expected(p, ps_peek(p), "an action (suspend, resume, migrate, power-off, ft-on, ft-off, "
                             "faults or mark)");
}

static void check_value(struct parser *p, struct scen_check *c, int64_t *out)
{
    const struct scen_token *t = ps_peek(p);
    switch (c->lhs) {
    case LHS_TIME:
        *out = (int64_t)ps_duration_value(p, "a simulated time");
        return;
    case LHS_VM_STATE:
        for (int st = VMCISIM_VM_RUNNING; st <= VMCISIM_VM_POWERED_OFF; st++)
            if (ps_is_word(t, scen_vm_state_name(st))) {
                ps_next(p);
                *out = st;
                return;
            }
        ps_expected(p, t, "running, suspended or powered-off");
    case LHS_VM_FT:
        if (ps_accept_word(p, "on"))
            *out = 1;
        else if (ps_accept_word(p, "off"))
            *out = 0;
        else
            ps_expected(p, t, "on or off");
        return;
    default:
        *out = ps_size_value(p, "a number", INT64_MAX / 2);
        return;
    }
}

static void top_check(struct parser *p)
{
    size_t i = p->s->nchecks;
    p->s->checks = ps_grow(p, p->s->checks, &p->s->nchecks, sizeof *p->s->checks);
    struct scen_check *c = &p->s->checks[i];
    const struct scen_token *t = ps_peek(p);
    c->line = t->line;
    c->col = t->col;
    c->proc = -1;
    /* `check sometimes X` / `check always X` (unless a process is named so: `sometimes.eof`) */
    if (ps_peek2(p)->kind != T_DOT) {
        if (ps_accept_word(p, "sometimes"))
            c->cov = VMCISIM_COV_SOMETIMES;
        else if (ps_accept_word(p, "always"))
            c->cov = VMCISIM_COV_ALWAYS;
        t = ps_peek(p);
    }
    if (ps_accept_word(p, "time")) {
        c->lhs = LHS_TIME;
    } else if (t->kind == T_STAR || t->kind == T_IDENT) {
        char name[SCEN_NAME_MAX] = "*";
        if (t->kind == T_IDENT)
            ps_name_of(p, t, name, "a name");
        ps_next(p);
        ps_want(p, T_DOT, "'.' and a counter (NAME.counter), or time");
        const struct scen_token *f = ps_peek(p);
        if (f->kind != T_IDENT)
            ps_expected(p, f, "a counter or VM field after '.'");
        int vm = t->kind == T_IDENT ? ps_find_vm(p->s, name) : -1;
        if (vm >= 0) {
            c->vm = vm;
            if (ps_is_word(f, "state"))
                c->lhs = LHS_VM_STATE;
            else if (ps_is_word(f, "ft"))
                c->lhs = LHS_VM_FT;
            else
                ps_expected(p, f, "a VM field (state or ft)");
        } else {
            if (t->kind == T_IDENT) {
                c->proc = ps_find_proc(p->s, name);
                if (c->proc < 0)
                    ps_expected(p, t, "a process, program or VM declared before this check, or *");
            }
            c->lhs = LHS_COUNTER;
            c->counter = scen_counter_by_name(f->start, f->len);
            if (c->counter < 0)
                ps_expected(p, f, "a counter (connected, refused, connect_errors, accepted, "
                               "bytes_sent, bytes_received, dgrams_sent, dgrams_received, eof, "
                               "epipe, errors, streams_ok, checksum_bad, truncated, requests, "
                               "responses, replies, lost, duplicates, late, killed)");
        }
        ps_next(p);
    } else {
        ps_expected(p, t, "what to check: NAME.counter, *.counter, VM.state, VM.ft or time");
    }
    if (ps_accept_word(p, "in")) {
        c->cmp = -1;
        check_value(p, c, &c->value);
        ps_want(p, T_DOTDOT, "'..' in a range A..B");
        check_value(p, c, &c->hi);
        if (c->hi < c->value)
            ps_expected(p, &p->toks.v[p->pos - 1], "an upper end not below the lower end");
        return;
    }
    const struct scen_token *op = ps_peek(p);
    if (op->kind != T_CMP)
        ps_expected(p, op, "a comparison (==, !=, <, <=, >, >=) or 'in A..B'");
    c->cmp = op->cmp;
    ps_next(p);
    if ((c->lhs == LHS_VM_STATE || c->lhs == LHS_VM_FT) && c->cmp != CMP_EQ && c->cmp != CMP_NE)
        ps_expected(p, op, "== or != for a VM state");
    check_value(p, c, &c->value);
}

/* A per-byte cost: "276ps", "0.276ns", "10us" or "0" -> whole picoseconds. */
static uint64_t byte_cost_ps(struct parser *p)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_NUM)
        ps_expected(p, t, "a time per byte (ps, ns or us)");
    double mul;
    if (!t->unit[0] && t->ival == 0 && !t->has_frac)
        mul = 0;
    else if (strcmp(t->unit, "ps") == 0)
        mul = 1;
    else if (strcmp(t->unit, "ns") == 0)
        mul = 1e3;
    else if (strcmp(t->unit, "us") == 0)
        mul = 1e6;
    else
        ps_expected(p, t, "a time per byte with a unit (ps, ns or us)");
    double v = t->dval * mul;
    if (v > 1e12 || v != (double)(uint64_t)v)
        ps_expected(p, t, "a time per byte: whole picoseconds up to 1s");
    ps_next(p);
    return (uint64_t)v;
}

/* cost none | published | { qp-byte PS | dgram DUR | notify DUR | hypercall DUR } */
static void top_cost(struct parser *p)
{
    struct vmcisim_cost *c = &p->s->cost;
    const struct scen_token *first = ps_peek(p);
    p->s->has_cost = 1;
    if (ps_accept_word(p, "none")) {
        memset(c, 0, sizeof *c);
        return;
    }
    if (ps_accept_word(p, "published")) {
        *c = (struct vmcisim_cost)VMCISIM_COST_PUBLISHED;
        return;
    }
    int any = 0;
    for (;; any = 1) {
        if (ps_accept_word(p, "qp-byte"))
            c->qp_byte_ps = byte_cost_ps(p);
        else if (ps_accept_word(p, "dgram"))
            c->dgram_ns = ps_duration_value(p, "a latency per datagram");
        else if (ps_accept_word(p, "notify"))
            c->notify_ns = ps_duration_value(p, "a latency per notification");
        else if (ps_accept_word(p, "hypercall"))
            c->hypercall_ns = ps_duration_value(p, "a time per hypercall");
        else
            break;
    }
    if (!any)
        ps_expected(p, first, "a cost (qp-byte, dgram, notify, hypercall), published or none");
}

/* bridge VM "PATH" (docs/bridge.md) */
static void top_bridge(struct parser *p, const struct scen_token *kw)
{
    const struct scen_token *vt = ps_peek(p);
    int vm = ps_vm_ref(p);
    if (vm == SCEN_HOST_VM)
        ps_expected(p, vt, "a guest VM (the bridge connects outside programs to a guest)");
    for (size_t i = 0; i < p->s->nbridges; i++)
        if (p->s->bridges[i].vm == vm)
            ps_expected(p, vt, "a VM with no bridge yet (one bridge per VM)");
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_STR)
        ps_expected(p, t, "a \"path\" for the bridge's Unix socket");
    if (t->nbytes == 0 || t->nbytes >= SCEN_BRIDGE_PATH_MAX || memchr(t->bytes, 0, t->nbytes))
        ps_expected(p, t, "a socket path of 1 to 95 bytes with no NUL byte");
    char path[SCEN_BRIDGE_PATH_MAX];
    memcpy(path, t->bytes, t->nbytes);
    path[t->nbytes] = 0;
    for (size_t i = 0; i < p->s->nbridges; i++)
        if (strcmp(p->s->bridges[i].path, path) == 0)
            ps_expected(p, t, "a path no other bridge uses");
    ps_next(p);
    size_t i = p->s->nbridges;
    p->s->bridges = ps_grow(p, p->s->bridges, &p->s->nbridges, sizeof *p->s->bridges);
    p->s->bridges[i].vm = vm;
    p->s->bridges[i].line = kw->line;
    p->s->bridges[i].col = kw->col;
    memcpy(p->s->bridges[i].path, path, sizeof path);
}

static void top_level(struct parser *p)
{
    for (;;) {
        const struct scen_token *t = ps_peek(p);
        if (t->kind == T_EOF)
            return;
        if (t->kind == T_NL) {
            ps_next(p);
            continue;
        }
        if (ps_accept_word(p, "scenario")) {
            if (ps_peek(p)->kind != T_STR)
                ps_expected(p, ps_peek(p), "a \"name\" for the scenario");
            const struct scen_token *n = ps_next(p);
            size_t k = n->nbytes < sizeof p->s->name - 1 ? n->nbytes : sizeof p->s->name - 1;
            for (size_t j = 0; j < k; j++)
                p->s->name[j] = n->bytes[j] >= 0x20 && n->bytes[j] < 0x7f ? (char)n->bytes[j] : '?';
        } else if (ps_accept_word(p, "seeds")) {
            p->s->seed_lo = (uint64_t)ps_count_value(p, "a seed", 0, INT64_MAX);
            p->s->seed_hi = p->s->seed_lo;
            if (ps_peek(p)->kind == T_DOTDOT) {
                ps_next(p);
                p->s->seed_hi = (uint64_t)ps_count_value(p, "the last seed", (int64_t)p->s->seed_lo,
                                                      INT64_MAX);
            }
            p->s->has_seeds = 1;
        } else if (ps_accept_word(p, "realtime")) {
            p->s->realtime = 1;
        } else if (ps_accept_word(p, "limit")) {
            p->s->limit_line = t->line;
            p->s->limit_ns = ps_duration_value(p, "a simulated-time limit");
            if (!p->s->limit_ns)
                ps_expected(p, &p->toks.v[p->pos - 1], "a limit above 0");
        } else if (ps_accept_word(p, "vm")) {
            top_vm(p);
        } else if (ps_accept_word(p, "faults")) {
            if (!p->s->faults_line)
                p->s->faults_line = t->line;
            ps_faults_knobs(p, &p->s->faults);
        } else if (ps_accept_word(p, "process")) {
            top_process(p);
            continue; /* the block consumed its 'end' line */
        } else if (ps_accept_word(p, "program")) {
            top_program(p);
        } else if (ps_accept_word(p, "exec")) {
            top_exec(p);
        } else if (ps_accept_word(p, "at")) {
            top_timed(p, 0);
        } else if (ps_accept_word(p, "on")) {
            top_timed(p, 1);
        } else if (ps_accept_word(p, "check")) {
            top_check(p);
        } else if (ps_accept_word(p, "cost")) {
            top_cost(p);
        } else if (ps_accept_word(p, "bridge")) {
            top_bridge(p, t);
        } else {
            ps_expected(p, t, "a top-level statement (scenario, seeds, limit, vm, faults, cost, "
                           "process, program, exec, realtime, at, on, check, bridge)");
        }
        ps_end_of_line(p);
    }
}

static struct scen_script *parse_text(const char *path, const char *text, size_t len,
                                      char *err, size_t errn, struct scen_diag *d)
{
    struct parser p;
    memset(&p, 0, sizeof p);
    p.path = path ? path : "<text>";
    p.text = text;
    p.len = len;
    p.diag = d;
    p.err = err;
    p.errn = errn;
    if (errn)
        err[0] = 0;
    p.s = vmcisim_calloc(1, sizeof *p.s);
    if (!p.s || scen_lex(text, len, &p.toks) != 0) {
        free(p.s);
        snprintf(err, errn, "%s: out of memory", p.path);
        return NULL;
    }
    p.s->path = vmcisim_strdup(p.path);
    p.s->seed_lo = p.s->seed_hi = 1;
    p.s->limit_ns = DEFAULT_LIMIT_NS;
    if (setjmp(p.fail)) {
        /* only p (in memory: its address escaped) is read after the longjmp */
        scen_tokens_free(&p.toks);
        free(p.ev);
        scen_script_free(p.s);
        return NULL;
    }
    struct scen_script *s = p.s;
    if (!s->path)
        ps_fail_at(&p, ps_peek(&p), "expected less text (out of memory)");
    s->vms = ps_grow(&p, s->vms, &s->nvms, sizeof *s->vms);
    snprintf(s->vms[0].name, sizeof s->vms[0].name, "host");
    s->vms[0].cid = VMADDR_CID_HOST;
    top_level(&p);
    for (size_t i = 0; i < s->nevents; i++)
        if (!p.ev[i].defined) {
            struct scen_token at = {.line = p.ev[i].ref_line, .col = p.ev[i].ref_col};
            ps_fail_at(&p, &at,
                    "expected an event that something marks ('mark %s', or NAME.ready / "
                    "NAME.done of a process), got '%s'",
                    s->events[i], s->events[i]);
        }
    if (!s->name[0]) {
        const char *b = strrchr(p.path, '/');
        snprintf(s->name, sizeof s->name, "%s", b ? b + 1 : p.path);
    }
    scen_tokens_free(&p.toks);
    free(p.ev);
    return s;
}

struct scen_script *scen_parse(const char *path, const char *text, size_t len, char *err,
                               size_t errn)
{
    return parse_text(path, text, len, err, errn, NULL);
}

static struct scen_script *load_file(const char *path, char *err, size_t errn,
                                     struct scen_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = vmcisim_malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            snprintf(err, errn, "%s: cannot read: out of memory", path);
            return NULL;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= (64u << 20)) {
            free(buf);
            fclose(f);
            snprintf(err, errn, "%s: cannot read: larger than 64 MiB", path);
            return NULL;
        }
        char *nb = vmcisim_realloc(buf, cap * 2);
        if (!nb)
            free(buf);
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errn, "%s: cannot read: I/O error", path);
        return NULL;
    }
    struct scen_script *s = parse_text(path, buf, n, err, errn, d);
    free(buf);
    return s;
}

struct scen_script *scen_load(const char *path, char *err, size_t errn)
{
    return load_file(path, err, errn, NULL);
}

struct scen_script *scen_load_diag(const char *path, struct scen_diag *d)
{
    char err[512];
    memset(d, 0, sizeof *d);
    struct scen_script *s = load_file(path, err, sizeof err, d);
    if (!s && !d->message)   /* unreadable file or out of memory: no position */
        d->message = vmcisim_strdup(err);
    return s;
}

void scen_diag_free(struct scen_diag *d)
{
    free(d->message);
    free(d->excerpt);
    memset(d, 0, sizeof *d);
}

static void free_body(struct scen_stmt *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].data);
        free(b[i].ex.data);
        free_body(b[i].body, b[i].nbody);
    }
    free(b);
}

void scen_script_free(struct scen_script *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nprocs; i++) {
        free_body(s->procs[i].body, s->procs[i].nbody);
        free(s->procs[i].varnames);
        free(s->procs[i].var_is_addr);
        free(s->procs[i].cmdline);
    }
    for (size_t i = 0; i < s->ntimed; i++) {
        free(s->timed[i].stmt.data);
        free(s->timed[i].stmt.ex.data);
    }
    free(s->procs);
    free(s->vms);
    free(s->timed);
    free(s->checks);
    free(s->events);
    free(s->bridges);
    free(s->path);
    free(s);
}

void scen_default_seeds(const struct scen_script *s, uint64_t *lo, uint64_t *hi)
{
    *lo = s->seed_lo;
    *hi = s->seed_hi;
}

const char *scen_path(const struct scen_script *s) { return s->path; }

int scen_wants_realtime(const struct scen_script *s) { return s->realtime; }
