/*
 * parse.c - scenario text -> struct scen_script (grammar in docs/scenarios.md).
 *
 * A recursive-descent parser over the token array of lex.c. The first error ends the parse with
 * "path:line:col: expected ..., got ..." (longjmp back to scen_parse, which frees the partial
 * script: everything allocated is attached to the script before anything that can fail runs).
 * All names (VMs, processes, descriptors, events) are resolved to indices here.
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
#include "scenario/scenario.h"
#include "vmcisim/vmci_sockets.h"
#include "sim/alloc.h"
#include "scenario/ast.h"
#include "scenario/lex.h"
#include "scenario/names.h"
#include "scenario/scenario.h"
#include "vmcisim/vmci_sockets.h"

#define MAX_DEPTH 8                    /* nested repeat blocks */
#define MAX_COUNT 1000000000LL         /* repeat, instances and built-in counts */
#define MAX_IO (16LL << 20)            /* one recv/send length */
#define MAX_INSTANCES 10000
#define DEFAULT_LIMIT_NS (600ull * 1000000000ull)

struct evinfo {
    int defined;
    int ref_line, ref_col;
};

struct parser {
    const char *path;
    const char *text;           /* the source, for the excerpt under an error */
    size_t len;
    struct scen_diag *diag;     /* the whole error, never cut */
    struct scen_tokens toks;
    size_t pos;
    struct scen_script *s;
    char *err;
    size_t errn;
    jmp_buf fail;
    struct scen_proc *cur;      /* the process whose body is being read */
    struct evinfo *ev;
    size_t ev_cap;
    int depth;
};

/* ---- errors and tokens ---------------------------------------------------------------------- */

static const struct scen_token *peek(struct parser *p)
{
    assert(p->pos < p->toks.n); /* the token list always ends with T_EOF, never passed */
    return &p->toks.v[p->pos];
}
static const struct scen_token *peek2(struct parser *p)
{
    return p->pos + 1 < p->toks.n ? &p->toks.v[p->pos + 1] : &p->toks.v[p->pos];
}
static const struct scen_token *next(struct parser *p)
{
    assert(p->pos < p->toks.n);
    const struct scen_token *t = &p->toks.v[p->pos];
    if (t->kind != T_EOF)
        p->pos++;
    else
        assert(p->pos + 1 == p->toks.n); /* T_EOF is the last token */
    return t;
}

static void __attribute__((noreturn, format(printf, 3, 4)))
fail_at(struct parser *p, const struct scen_token *t, const char *fmt, ...)
{
    char *what = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    va_end(ap);
    const char *w = what ? what : "expected less text (out of memory)";
    if (t)
        snprintf(p->err, p->errn, "%s:%d:%d: %s", p->path, t->line, t->col, w);
    else /* no token to point at (an event defined by the parser itself) */
        snprintf(p->err, p->errn, "%s: %s", p->path, w);
    if (p->diag) {
        p->diag->line = t ? t->line : 0;
        p->diag->col = t ? t->col : 0;
        if (asprintf(&p->diag->message, "%s", p->err) < 0)
            p->diag->message = NULL;
        p->diag->excerpt = t ? scen_source_excerpt(p->text, p->len, t->line, t->col) : NULL;
    }
    free(what);
    longjmp(p->fail, 1);
}

/* The declared name or listed word closest to an unknown word, or NULL. */
static const char *near_miss(struct parser *p, const struct scen_token *t, const char *what,
                             size_t *n)
{
    struct scen_suggest sg;
    scen_suggest_init(&sg, t->start, t->len);
    scen_suggest_offer_words(&sg, what);
    const struct scen_script *s = p->s;
    for (size_t i = 0; s && i < s->nvms; i++)
        scen_suggest_offer(&sg, s->vms[i].name, strlen(s->vms[i].name));
    for (size_t i = 0; s && i < s->nprocs; i++)
        scen_suggest_offer(&sg, s->procs[i].name, strlen(s->procs[i].name));
    for (int i = 0; p->cur && i < p->cur->nvars; i++)
        scen_suggest_offer(&sg, p->cur->varnames[i], strlen(p->cur->varnames[i]));
    *n = sg.best_len;
    return sg.best;
}

/* "expected WHAT, got TOKEN"; a lexer error token reports its own message instead. A word
 * one or two edits away from a listed word or a declared name adds "did you mean". */
static void __attribute__((noreturn)) expected(struct parser *p, const struct scen_token *t,
                                               const char *what)
{
    if (t->kind == T_ERROR)
        fail_at(p, t, "%s", t->bytes ? (const char *)t->bytes : "expected valid text");
    char got[64];
    scen_token_describe(t, got, sizeof got);
    size_t n = 0;
    const char *near = t->kind == T_IDENT ? near_miss(p, t, what, &n) : NULL;
    if (near)
        fail_at(p, t, "expected %s, got %s; did you mean '%.*s'?", what, got, (int)n, near);
    fail_at(p, t, "expected %s, got %s", what, got);
}

static int is_word(const struct scen_token *t, const char *w)
{
    return t->kind == T_IDENT && t->len == strlen(w) && memcmp(t->start, w, t->len) == 0;
}

static void want_word(struct parser *p, const char *w)
{
    const struct scen_token *t = peek(p);
    if (!is_word(t, w)) {
        char what[64];
        snprintf(what, sizeof what, "'%s'", w);
        expected(p, t, what);
    }
    next(p);
}

static int accept_word(struct parser *p, const char *w)
{
    if (is_word(peek(p), w)) {
        next(p);
        return 1;
    }
    return 0;
}

static void want(struct parser *p, enum scen_tok k, const char *what)
{
    if (peek(p)->kind != k)
        expected(p, peek(p), what);
    next(p);
}

static void end_of_line(struct parser *p)
{
    const struct scen_token *t = peek(p);
    if (t->kind == T_EOF)
        return;
    if (t->kind != T_NL)
        expected(p, t, "end of line");
    next(p);
}

static void name_of(struct parser *p, const struct scen_token *t, char *out, const char *what)
{
    if (t->kind != T_IDENT)
        expected(p, t, what);
    if (t->len >= SCEN_NAME_MAX)
        fail_at(p, t, "expected a name of at most %d characters", SCEN_NAME_MAX - 1);
    memcpy(out, t->start, t->len);
    out[t->len] = 0;
}

/* The capacity an array of n elements has under grow(): 0, then powers of two from 4. */
static size_t cap_of(size_t n)
{
    size_t c = 4;
    if (n == 0)
        return 0;
    while (c < n)
        c *= 2;
    return c;
}

/* Appends one zeroed element to arr (n elements of elem bytes); returns the new array. */
static void *grow(struct parser *p, void *arr, size_t *n, size_t elem)
{
    if (*n + 1 > cap_of(*n)) {
        void *q = vmcisim_realloc(arr, cap_of(*n + 1) * elem);
        if (!q)
            fail_at(p, peek(p), "expected less text (out of memory)");
        arr = q;
    }
    memset((char *)arr + *n * elem, 0, elem);
    (*n)++;
    return arr;
}

/* ---- numbers with units ------------------------------------------------------------------- */

static int64_t count_value(struct parser *p, const char *what, int64_t min, int64_t max)
{
    const struct scen_token *t = peek(p);
    if (t->kind != T_NUM || t->has_frac || t->unit[0])
        expected(p, t, what);
    if ((int64_t)t->ival < min || t->ival > (uint64_t)max) {
        char w[160];
        snprintf(w, sizeof w, "%s in %lld..%lld", what, (long long)min, (long long)max);
        expected(p, t, w);
    }
    next(p);
    return (int64_t)t->ival;
}

/* A size: a plain number of bytes or one with B, KiB, MiB, GiB. */
static int64_t size_value(struct parser *p, const char *what, int64_t max)
{
    const struct scen_token *t = peek(p);
    if (t->kind != T_NUM)
        expected(p, t, what);
    double mul;
    if (!t->unit[0] || strcmp(t->unit, "B") == 0)
        mul = 1;
    else if (strcmp(t->unit, "KiB") == 0)
        mul = 1024.0;
    else if (strcmp(t->unit, "MiB") == 0)
        mul = 1048576.0;
    else if (strcmp(t->unit, "GiB") == 0)
        mul = 1073741824.0;
    else
        fail_at(p, t, "expected a size unit (B, KiB, MiB or GiB), got '%s'", t->unit);
    double v = t->dval * mul;
    if (v != (double)(int64_t)v || v > (double)max) {
        char w[160];
        snprintf(w, sizeof w, "%s: a whole number of bytes up to %lld", what, (long long)max);
        expected(p, t, w);
    }
    next(p);
    return (int64_t)v;
}

static uint64_t duration_value(struct parser *p, const char *what)
{
    const struct scen_token *t = peek(p);
    if (t->kind != T_NUM)
        expected(p, t, what);
    double mul;
    if (!t->unit[0] && t->ival == 0 && !t->has_frac)
        mul = 0;
    else if (strcmp(t->unit, "ns") == 0)
        mul = 1;
    else if (strcmp(t->unit, "us") == 0)
        mul = 1e3;
    else if (strcmp(t->unit, "ms") == 0)
        mul = 1e6;
    else if (strcmp(t->unit, "s") == 0)
        mul = 1e9;
    else if (!t->unit[0]) {
        char w[160];
        snprintf(w, sizeof w, "%s with a unit (ns, us, ms or s)", what);
        expected(p, t, w);
    } else
        fail_at(p, t, "expected a time unit (ns, us, ms or s), got '%s'", t->unit);
    double v = t->dval * mul;
    if (v > 1e18 || v != (double)(uint64_t)v) {
        char w[160];
        snprintf(w, sizeof w, "%s: whole nanoseconds up to 10^18", what);
        expected(p, t, w);
    }
    next(p);
    return (uint64_t)v;
}

static double prob_value(struct parser *p)
{
    const struct scen_token *t = peek(p);
    if (t->kind != T_NUM || (t->unit[0] && strcmp(t->unit, "%") != 0))
        expected(p, t, "a probability (0.25 or 25%)");
    double v = strcmp(t->unit, "%") == 0 ? t->dval / 100 : t->dval;
    if (v < 0 || v > 1)
        expected(p, t, "a probability between 0 and 1 (or 0% and 100%)");
    next(p);
    return v;
}

/* ---- names: VMs, processes, events, variables ----------------------------------------------- */

static int find_vm(const struct scen_script *s, const char *name)
{
    for (size_t i = 0; i < s->nvms; i++)
        if (strcmp(s->vms[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int find_proc(const struct scen_script *s, const char *name)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (strcmp(s->procs[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int vm_ref(struct parser *p)
{
    const struct scen_token *t = peek(p);
    char name[SCEN_NAME_MAX];
    name_of(p, t, name, "a VM name (host or one declared with 'vm')");
    int i = find_vm(p->s, name);
    if (i < 0)
        expected(p, t, "a VM declared with 'vm' on an earlier line, or host");
    next(p);
    return i;
}

/* Registers an event name; define != 0 when this place marks it. */
static int event_index(struct parser *p, const char *name, const struct scen_token *at, int define)
{
    size_t i;
    for (i = 0; i < p->s->nevents; i++)
        if (strcmp(p->s->events[i], name) == 0)
            break;
    if (i == p->s->nevents) {
        size_t n = p->s->nevents;
        p->s->events = grow(p, p->s->events, &p->s->nevents, sizeof p->s->events[0]);
        snprintf(p->s->events[n], sizeof p->s->events[n], "%s", name);
        if (p->ev_cap < p->s->nevents) {
            size_t cap = p->s->nevents * 2;
            struct evinfo *e = vmcisim_realloc(p->ev, cap * sizeof *e);
            if (!e)
                fail_at(p, at, "expected less text (out of memory)");
            memset(e + p->ev_cap, 0, (cap - p->ev_cap) * sizeof *e);
            p->ev = e;
            p->ev_cap = cap;
        }
        if (at) {
            p->ev[n].ref_line = at->line;
            p->ev[n].ref_col = at->col;
        }
    }
    if (define)
        p->ev[i].defined = 1;
    return (int)i;
}

/* EVENT := NAME ['.' NAME] */
static int event_ref(struct parser *p, int define)
{
    const struct scen_token *t = peek(p);
    char a[SCEN_NAME_MAX], b[SCEN_NAME_MAX], full[SCEN_NAME_MAX * 2];
    name_of(p, t, a, "an event name");
    next(p);
    if (peek(p)->kind == T_DOT) {
        next(p);
        name_of(p, peek(p), b, "an event name after '.'");
        next(p);
        if (define)
            fail_at(p, t, "expected an event name without '.' (NAME.ready and NAME.done are "
                          "marked by the processes themselves)");
        snprintf(full, sizeof full, "%s.%s", a, b);
    } else {
        snprintf(full, sizeof full, "%s", a);
    }
    return event_index(p, full, t, define);
}

static int var_define(struct parser *p, const struct scen_token *t, int is_addr)
{
    struct scen_proc *pr = p->cur;
    char name[SCEN_NAME_MAX];
    name_of(p, t, name, "a name");
    for (int i = 0; i < pr->nvars; i++)
        if (strcmp(pr->varnames[i], name) == 0) {
            if (pr->var_is_addr[i] != is_addr)
                fail_at(p, t, "expected a new name: '%s' already names %s", name,
                        pr->var_is_addr[i] ? "an address" : "a descriptor");
            return i;
        }
    size_t n = (size_t)pr->nvars;
    pr->varnames = grow(p, pr->varnames, &n, sizeof pr->varnames[0]);
    n = (size_t)pr->nvars;
    pr->var_is_addr = grow(p, pr->var_is_addr, &n, sizeof pr->var_is_addr[0]);
    memcpy(pr->varnames[pr->nvars], name, sizeof name);
    pr->var_is_addr[pr->nvars] = is_addr;
    return pr->nvars++;
}

static int var_use(struct parser *p, int is_addr)
{
    const struct scen_token *t = peek(p);
    struct scen_proc *pr = p->cur;
    const char *what = is_addr ? "an address variable set earlier by 'recvfrom ... as NAME'"
                               : "a descriptor assigned earlier in this process (by socket or "
                                 "accept)";
    if (t->kind != T_IDENT || !pr)
        expected(p, t, what);
    for (int i = 0; i < pr->nvars; i++)
        if (strlen(pr->varnames[i]) == t->len && memcmp(pr->varnames[i], t->start, t->len) == 0 &&
            pr->var_is_addr[i] == is_addr) {
            next(p);
            return i;
        }
    expected(p, t, what);
}

/* ---- addresses ------------------------------------------------------------------------------- */

/* ADDR := CID ':' PORT | VAR.  CID := NUM | host | hypervisor | local | any | self | VMNAME */
static void address(struct parser *p, struct scen_addr *a, int allow_var)
{
    const struct scen_token *t = peek(p);
    memset(a, 0, sizeof *a);
    a->var = -1;
    if (allow_var && t->kind == T_IDENT && peek2(p)->kind != T_COLON && p->cur) {
        a->var = var_use(p, 1);
        return;
    }
    if (t->kind == T_NUM) {
        a->cidref = CIDREF_NUM;
        a->cid = (uint32_t)count_value(p, "a CID", 0, 0xFFFFFFFFll);
    } else if (t->kind == T_IDENT) {
        a->cidref = CIDREF_NUM;
        if (is_word(t, "host"))
            a->cid = VMADDR_CID_HOST;
        else if (is_word(t, "hypervisor"))
            a->cid = VMADDR_CID_HYPERVISOR;
        else if (is_word(t, "local"))
            a->cid = VMADDR_CID_LOCAL;
        else if (is_word(t, "any"))
            a->cid = VMADDR_CID_ANY;
        else if (is_word(t, "self"))
            a->cidref = CIDREF_SELF;
        else {
            char name[SCEN_NAME_MAX];
            name_of(p, t, name, "a CID");
            int vm = find_vm(p->s, name);
            if (vm < 0)
                expected(p, t, "a CID, host, hypervisor, local, any, self or a declared VM");
            a->cidref = CIDREF_VM;
            a->vm = vm;
        }
        next(p);
    } else {
        expected(p, t, "an address CID:PORT");
    }
    want(p, T_COLON, "':' and a port after the CID");
    if (accept_word(p, "any"))
        a->port = VMADDR_PORT_ANY;
    else
        a->port = (uint32_t)count_value(p, "a port number (or any)", 0, 0xFFFFFFFFll);
}

/* ---- expectations ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    short bit;
} pollbits[] = {
    {"in", POLLIN}, {"out", POLLOUT}, {"err", POLLERR}, {"hup", POLLHUP},
    {"rdhup", POLLRDHUP}, {"pri", POLLPRI}, {"nval", POLLNVAL},
    {"rdnorm", POLLRDNORM}, {"wrnorm", POLLWRNORM},
};

static short poll_set(struct parser *p)
{
    short set = 0;
    for (;;) {
        const struct scen_token *t = peek(p);
        size_t i;
        for (i = 0; i < sizeof pollbits / sizeof pollbits[0]; i++)
            if (is_word(t, pollbits[i].name))
                break;
        if (i == sizeof pollbits / sizeof pollbits[0])
            expected(p, t, "a poll event (in, out, err, hup, rdhup, pri, nval, rdnorm, wrnorm)");
        next(p);
        set |= pollbits[i].bit;
        if (peek(p)->kind != T_PIPE && peek(p)->kind != T_COMMA)
            return set;
        next(p);
    }
}

static int errno_word(const struct scen_token *t)
{
    if (t->kind != T_IDENT || t->len < 2 || t->start[0] != 'E')
        return -1;
    return scen_errno_by_name(t->start, t->len);
}

static void expectation(struct parser *p, struct scen_stmt *st)
{
    struct scen_expect *ex = &st->ex;
    if (peek(p)->kind != T_ARROW)
        return;
    next(p);
    const struct scen_token *t = peek(p);
    ex->line = t->line;
    ex->col = t->col;
    int e = errno_word(t);
    if (t->kind == T_IDENT && t->start[0] == 'E' && e < 0 && t->len > 1 &&
        t->start[1] >= 'A' && t->start[1] <= 'Z')
        expected(p, t, "an errno name such as ECONNRESET, EPIPE or EINVAL");
    if (e >= 0) {
        ex->kind = EX_ERRNO;
        ex->err = e;
        next(p);
        return;
    }
    if (accept_word(p, "any")) {
        if (peek(p)->kind == T_COLON) { /* any:PORT, an address */
            p->pos--;
        } else {
            ex->kind = EX_ANY;
            return;
        }
    }
    if (accept_word(p, "ok")) {
        ex->kind = EX_OK;
        return;
    }
    if (accept_word(p, "error")) {
        ex->kind = EX_ERROR;
        return;
    }
    switch (st->op) {
    case OP_POLL:
        if (accept_word(p, "none")) {
            ex->kind = EX_POLL;
            ex->revents = 0;
            return;
        }
        ex->kind = EX_POLL;
        ex->revents = poll_set(p);
        return;
    case OP_GETSOCKNAME:
    case OP_GETPEERNAME:
        ex->kind = EX_ADDR;
        address(p, &ex->addr, 0);
        return;
    case OP_RECV:
    case OP_RECVFROM:
        if (accept_word(p, "eof")) {
            ex->kind = EX_EOF;
            return;
        }
        if (t->kind == T_STR) {
            ex->kind = EX_DATA;
            ex->data = t->bytes; /* moved out of the token */
            ex->len = t->nbytes;
            ((struct scen_token *)t)->bytes = NULL;
            next(p);
            if (st->op == OP_RECVFROM && accept_word(p, "from")) {
                ex->has_from = 1;
                address(p, &ex->addr, 0);
            }
            return;
        }
        break;
    default:
        break;
    }
    if (t->kind == T_NUM) {
        ex->kind = EX_RANGE;
        ex->lo = ex->hi = size_value(p, "a number", INT64_MAX / 2);
        if (peek(p)->kind == T_DOTDOT) {
            next(p);
            ex->hi = size_value(p, "the upper end of the range", INT64_MAX / 2);
            if (ex->hi < ex->lo)
                expected(p, &p->toks.v[p->pos - 1], "an upper end not below the lower end");
        }
        return;
    }
    if (st->op == OP_RECV || st->op == OP_RECVFROM)
        expected(p, t, "an expected result: ok, any, error, eof, a count, \"text\", x\"hex\" "
                       "or an errno name");
    expected(p, t, "an expected result: ok, any, error, a number, a range A..B or an errno name");
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

static int option(struct parser *p, int *kind)
{
    const struct scen_token *t = peek(p);
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        if (is_word(t, options[i].name)) {
            next(p);
            *kind = options[i].kind;
            return options[i].opt;
        }
    expected(p, t, "a socket option (buffer-size, buffer-min-size, buffer-max-size, "
                   "connect-timeout, trusted, rcvtimeo, sndtimeo, rcvlowat, rcvbuf, nonblock, "
                   "error, type, peer-host-vm-id)");
}

static int msg_flags(struct parser *p)
{
    int f = 0;
    for (;;) {
        if (accept_word(p, "peek"))
            f |= MSG_PEEK;
        else if (accept_word(p, "waitall"))
            f |= MSG_WAITALL;
        else if (accept_word(p, "dontwait"))
            f |= MSG_DONTWAIT;
        else if (accept_word(p, "nosignal"))
            f |= MSG_NOSIGNAL;
        else if (accept_word(p, "oob"))
            f |= MSG_OOB;
        else
            return f;
    }
}

/* DATA := STRING | SIZE 'bytes' */
static void data(struct parser *p, struct scen_stmt *st)
{
    const struct scen_token *t = peek(p);
    if (t->kind == T_STR) {
        st->data = t->bytes;
        st->len = t->nbytes;
        ((struct scen_token *)t)->bytes = NULL;
        next(p);
        return;
    }
    if (t->kind == T_NUM) {
        st->len = (size_t)size_value(p, "a byte count", MAX_IO);
        st->fill = 1;
        want_word(p, "bytes");
        return;
    }
    expected(p, t, "data: \"text\", x\"hex\" or N bytes");
}

static void faults_knobs(struct parser *p, struct scen_faults *f)
{
    const struct scen_token *first = peek(p);
    if (accept_word(p, "none")) {
        f->mask = FK_ALL;
        memset(&f->v, 0, sizeof f->v);
        return;
    }
    while (peek(p)->kind == T_IDENT) {
        const struct scen_token *t = peek(p);
        if (accept_word(p, "dgram-delay")) {
            f->mask |= FK_DELAY;
            f->v.dg_delay_min_ns = duration_value(p, "a delay");
            f->v.dg_delay_max_ns = f->v.dg_delay_min_ns;
            if (peek(p)->kind == T_DOTDOT) {
                next(p);
                f->v.dg_delay_max_ns = duration_value(p, "the longest delay");
                if (f->v.dg_delay_max_ns < f->v.dg_delay_min_ns)
                    expected(p, &p->toks.v[p->pos - 1], "a longest delay not below the shortest");
            }
        } else if (accept_word(p, "dgram-drop")) {
            f->mask |= FK_DROP;
            f->v.dg_drop = prob_value(p);
        } else if (accept_word(p, "dgram-duplicate")) {
            f->mask |= FK_DUP;
            f->v.dg_duplicate = prob_value(p);
        } else if (accept_word(p, "dgram-reorder")) {
            f->mask |= FK_REORDER;
            f->v.dg_reorder = prob_value(p);
        } else if (accept_word(p, "qp-alloc-fail")) {
            f->mask |= FK_QPFAIL;
            f->v.qp_alloc_fail = prob_value(p);
        } else if (accept_word(p, "hv-latency")) {
            f->mask |= FK_LATENCY;
            f->v.hv_latency_ns = duration_value(p, "a latency");
        } else {
            expected(p, t, "a fault knob (dgram-delay, dgram-drop, dgram-duplicate, "
                           "dgram-reorder, qp-alloc-fail, hv-latency) or none");
        }
    }
    if (!f->mask)
        expected(p, first, "a fault knob (dgram-delay, dgram-drop, dgram-duplicate, dgram-reorder, "
                           "qp-alloc-fail, hv-latency) or none");
}

/* ACTION VM | faults KNOBS | mark EVENT: what `at`, `on` and processes share. Returns 0 if
 * the next word starts none of them. */
static int world_action(struct parser *p, struct scen_stmt *st)
{
    const struct scen_token *t = peek(p);
    if (t->kind != T_IDENT)
        return 0;
    int a = scen_action_by_name(t->start, t->len);
    if (a >= 0) {
        next(p);
        st->op = OP_ACTION;
        st->action = a;
        st->vm = vm_ref(p);
        if (a == ACT_CLOG)
            st->num = (int64_t)duration_value(p, "how long to clog the VM");
        expectation(p, st);
        return 1;
    }
    if (accept_word(p, "faults")) {
        st->op = OP_FAULTS;
        faults_knobs(p, &st->faults);
        expectation(p, st);
        return 1;
    }
    if (accept_word(p, "mark")) {
        st->op = OP_MARK;
        st->event = event_ref(p, 1);
        return 1;
    }
    return 0;
}

static void block(struct parser *p, struct scen_stmt **body, size_t *n, const char *what,
                  int opened);

static void statement(struct parser *p, struct scen_stmt *st)
{
    const struct scen_token *t = peek(p);
    st->line = t->line;
    st->col = t->col;
    st->dst = st->fd = st->from_var = -1;
    st->addr.var = -1;
    st->ex.addr.var = -1;
    if (t->kind != T_IDENT)
        expected(p, t, "a statement");

    /* NAME = socket TYPE | NAME = accept FD */
    if (peek2(p)->kind == T_ASSIGN) {
        const struct scen_token *name = t;
        next(p);
        next(p);
        if (accept_word(p, "socket")) {
            st->op = OP_SOCKET;
            if (accept_word(p, "stream"))
                st->sock_type = SOCK_STREAM;
            else if (accept_word(p, "dgram"))
                st->sock_type = SOCK_DGRAM;
            else if (accept_word(p, "seqpacket"))
                st->sock_type = SOCK_SEQPACKET;
            else
                expected(p, peek(p), "a socket type (stream, dgram or seqpacket)");
        } else if (accept_word(p, "accept")) {
            st->op = OP_ACCEPT;
            st->fd = var_use(p, 0);
        } else {
            expected(p, peek(p), "socket or accept after '='");
        }
        st->dst = var_define(p, name, 0);
        expectation(p, st);
        return;
    }
    if (world_action(p, st))
        return;
    if (accept_word(p, "bind")) {
        st->op = OP_BIND;
        st->fd = var_use(p, 0);
        address(p, &st->addr, 1);
    } else if (accept_word(p, "listen")) {
        st->op = OP_LISTEN;
        st->fd = var_use(p, 0);
        st->num = count_value(p, "a backlog", 0, 1 << 20);
    } else if (accept_word(p, "connect")) {
        st->op = OP_CONNECT;
        st->fd = var_use(p, 0);
        address(p, &st->addr, 1);
    } else if (accept_word(p, "send")) {
        st->op = OP_SEND;
        st->fd = var_use(p, 0);
        data(p, st);
        st->flags = msg_flags(p);
    } else if (accept_word(p, "recv")) {
        st->op = OP_RECV;
        st->fd = var_use(p, 0);
        st->num = size_value(p, "a byte count to read", MAX_IO);
        st->flags = msg_flags(p);
    } else if (accept_word(p, "sendto")) {
        st->op = OP_SENDTO;
        st->fd = var_use(p, 0);
        data(p, st);
        address(p, &st->addr, 1);
        st->flags = msg_flags(p);
    } else if (accept_word(p, "recvfrom")) {
        st->op = OP_RECVFROM;
        st->fd = var_use(p, 0);
        st->num = size_value(p, "a byte count to read", MAX_IO);
        st->flags = msg_flags(p);
        if (accept_word(p, "as"))
            st->from_var = var_define(p, next(p), 1);
    } else if (accept_word(p, "shutdown")) {
        st->op = OP_SHUTDOWN;
        st->fd = var_use(p, 0);
        if (accept_word(p, "rd"))
            st->how = SHUT_RD;
        else if (accept_word(p, "wr"))
            st->how = SHUT_WR;
        else if (accept_word(p, "rdwr"))
            st->how = SHUT_RDWR;
        else if (peek(p)->kind == T_NUM)
            st->how = (int)count_value(p, "rd, wr, rdwr or a number", 0, 255);
        else
            expected(p, peek(p), "rd, wr or rdwr");
    } else if (accept_word(p, "close")) {
        st->op = OP_CLOSE;
        st->fd = var_use(p, 0);
    } else if (accept_word(p, "poll")) {
        st->op = OP_POLL;
        st->fd = var_use(p, 0);
        st->events = poll_set(p);
        if (accept_word(p, "forever"))
            st->num = -1;
        else
            st->num = (int64_t)duration_value(p, "a poll timeout (or forever)");
    } else if (accept_word(p, "setsockopt")) {
        st->op = OP_SETSOCKOPT;
        st->fd = var_use(p, 0);
        int kind;
        const struct scen_token *ot = peek(p);
        st->opt = option(p, &kind);
        if (kind == 3)
            expected(p, ot, "an option that can be set");
        if (kind == 1)
            st->num = (int64_t)duration_value(p, "a time");
        else if (kind == 2) {
            if (accept_word(p, "on"))
                st->num = 1;
            else if (accept_word(p, "off"))
                st->num = 0;
            else
                expected(p, peek(p), "on or off");
        } else
            st->num = size_value(p, "a value", INT64_MAX / 2);
    } else if (accept_word(p, "getsockopt")) {
        st->op = OP_GETSOCKOPT;
        st->fd = var_use(p, 0);
        int kind;
        st->opt = option(p, &kind);
    } else if (accept_word(p, "getsockname")) {
        st->op = OP_GETSOCKNAME;
        st->fd = var_use(p, 0);
    } else if (accept_word(p, "getpeername")) {
        st->op = OP_GETPEERNAME;
        st->fd = var_use(p, 0);
    } else if (accept_word(p, "sleep")) {
        st->op = OP_SLEEP;
        st->num = (int64_t)duration_value(p, "a time to sleep");
        return;
    } else if (accept_word(p, "wait")) {
        st->op = OP_WAIT;
        st->event = event_ref(p, 0);
        return;
    } else if (accept_word(p, "note")) {
        st->op = OP_NOTE;
        if (peek(p)->kind != T_STR)
            expected(p, peek(p), "a \"text\" to write into the trace");
        st->data = peek(p)->bytes;
        st->len = peek(p)->nbytes;
        ((struct scen_token *)peek(p))->bytes = NULL;
        next(p);
        return;
    } else if (accept_word(p, "repeat")) {
        st->op = OP_REPEAT;
        st->num = count_value(p, "a repeat count", 0, MAX_COUNT);
        end_of_line(p);
        if (++p->depth > MAX_DEPTH)
            fail_at(p, t, "expected at most %d nested repeat blocks", MAX_DEPTH);
        block(p, &st->body, &st->nbody, "repeat", t->line);
        p->depth--;
        return;
    } else {
        expected(p, t, "a statement (socket, bind, listen, accept, connect, send, recv, sendto, "
                       "recvfrom, shutdown, close, poll, setsockopt, getsockopt, getsockname, "
                       "getpeername, sleep, mark, wait, repeat, note, faults, suspend, resume, "
                       "migrate, power-off, ft-on, ft-off)");
    }
    expectation(p, st);
}

/* Statements up to a line holding only 'end'. */
static void block(struct parser *p, struct scen_stmt **body, size_t *n, const char *what,
                  int opened)
{
    for (;;) {
        const struct scen_token *t = peek(p);
        if (t->kind == T_NL) {
            next(p);
            continue;
        }
        if (t->kind == T_EOF) {
            char w[96];
            snprintf(w, sizeof w, "'end' to close the %s block of line %d", what, opened);
            expected(p, t, w);
        }
        if (is_word(t, "end")) {
            next(p);
            end_of_line(p);
            return;
        }
        size_t i = *n;
        *body = grow(p, *body, n, sizeof **body);
        statement(p, &(*body)[i]);
        if ((*body)[i].op != OP_REPEAT) /* a repeat block consumed its own 'end' line */
            end_of_line(p);
    }
}

/* ---- top level ------------------------------------------------------------------------------- */

static int new_top_name(struct parser *p, const struct scen_token *t, char *out, const char *what)
{
    char name[SCEN_NAME_MAX];
    name_of(p, t, name, what);
    if (is_word(t, "host") || is_word(t, "any") || is_word(t, "self") || is_word(t, "local") ||
        is_word(t, "hypervisor") || is_word(t, "time"))
        expected(p, t, "a name that is not a reserved word (host, any, self, local, hypervisor, "
                       "time)");
    if (find_vm(p->s, name) >= 0 || find_proc(p->s, name) >= 0)
        expected(p, t, "a name not used yet by a VM, process or program");
    memcpy(out, name, sizeof name);
    next(p);
    return 0;
}

static void top_vm(struct parser *p)
{
    size_t i = p->s->nvms;
    p->s->vms = grow(p, p->s->vms, &p->s->nvms, sizeof *p->s->vms);
    struct scen_vm *vm = &p->s->vms[i];
    vm->line = peek(p)->line;
    new_top_name(p, peek(p), vm->name, "a VM name");
    vm->cid = VMADDR_CID_ANY;
    while (peek(p)->kind == T_IDENT) {
        if (accept_word(p, "cid")) {
            if (!accept_word(p, "auto")) {
                const struct scen_token *t = peek(p);
                if (t->kind != T_NUM || t->has_frac || t->unit[0] || t->ival < 3 ||
                    t->ival > 0xFFFFFFFEull)
                    expected(p, t, "a VM CID from 3 to 4294967294 (0, 1 and 2 are the "
                                   "hypervisor, local and the host), or auto");
                vm->cid = (uint32_t)count_value(p, "a CID", 3, 0xFFFFFFFEll);
                for (size_t k = 1; k < i; k++)
                    if (p->s->vms[k].cid == vm->cid)
                        expected(p, t, "a CID no other VM has");
            }
        } else if (accept_word(p, "restricted")) {
            vm->flags |= VMCISIM_VM_RESTRICTED;
        } else if (accept_word(p, "trusted")) {
            vm->flags |= VMCISIM_VM_TRUSTED;
        } else {
            expected(p, peek(p), "cid, restricted or trusted");
        }
    }
}

static void proc_options(struct parser *p, struct scen_proc *pr)
{
    for (;;) {
        if (accept_word(p, "root"))
            pr->root = 1;
        else if (accept_word(p, "daemon"))
            pr->daemon = 1;
        else if (accept_word(p, "instances"))
            pr->instances = count_value(p, "a number of instances", 1, MAX_INSTANCES);
        else if (accept_word(p, "start"))
            pr->start_ns = duration_value(p, "a start time");
        else if (accept_word(p, "after"))
            pr->after_event = event_ref(p, 0);
        else
            return;
    }
}

static struct scen_proc *proc_head(struct parser *p, int builtin)
{
    size_t i = p->s->nprocs;
    p->s->procs = grow(p, p->s->procs, &p->s->nprocs, sizeof *p->s->procs);
    struct scen_proc *pr = &p->s->procs[i];
    pr->line = peek(p)->line;
    pr->col = peek(p)->col;
    pr->instances = 1;
    pr->after_event = -1;
    pr->ready_event = -1;
    pr->builtin = builtin;
    new_top_name(p, peek(p), pr->name, builtin ? "a program name" : "a process name");
    return pr;
}

static void done_events(struct parser *p, struct scen_proc *pr, int server)
{
    char ev[SCEN_NAME_MAX * 2];
    snprintf(ev, sizeof ev, "%s.done", pr->name);
    pr->done_event = event_index(p, ev, NULL, 1);
    if (server) {
        snprintf(ev, sizeof ev, "%s.ready", pr->name);
        pr->ready_event = event_index(p, ev, NULL, 1);
    }
}

/* exec NAME on VM [procopt...] "command line": refused here (exit status 2) when the program
 * cannot be found or cannot be simulated (src/exec/elfcheck.h). */
static void top_exec(struct parser *p)
{
    struct scen_proc *pr = proc_head(p, B_EXEC);
    size_t idx = (size_t)(pr - p->s->procs);
    want_word(p, "on");
    pr->vm = vm_ref(p);
    proc_options(p, pr);
    pr = &p->s->procs[idx];
    const struct scen_token *t = peek(p);
    if (t->kind != T_STR)
        expected(p, t, "the program's \"command line\"");
    pr->cmdline = strndup((const char *)t->bytes, t->nbytes);
    if (!pr->cmdline)
        expected(p, t, "memory for the command line");
    char why[256], path[4096];
    char **argv = NULL;
    if (exec_split_words(pr->cmdline, &argv, why, sizeof why) != 0)
        expected(p, t, why);
    int found = exec_resolve(argv[0], path, sizeof path) == 0;
    if (!found) {
        snprintf(why, sizeof why, "a program '%s' that exists and is executable (PATH is searched "
                 "when it has no '/')", argv[0]);
        exec_free_words(argv);
        expected(p, t, why);
    }
    exec_free_words(argv);
    if (exec_check_binary(path, why, sizeof why) != 0)
        expected(p, t, why);
    next(p);
    done_events(p, pr, 0);
}

static void top_process(struct parser *p)
{
    struct scen_proc *pr = proc_head(p, B_NONE);
    size_t idx = (size_t)(pr - p->s->procs);
    want_word(p, "on");
    pr->vm = vm_ref(p);
    proc_options(p, pr);
    done_events(p, pr, 0);
    end_of_line(p);
    p->cur = &p->s->procs[idx];
    block(p, &p->cur->body, &p->cur->nbody, "process", p->cur->line);
    p->cur = NULL;
}

static int is_server(int b)
{
    return b == B_ECHO_SERVER || b == B_SINK || b == B_RR_SERVER || b == B_DGRAM_PONG;
}

static void top_program(struct parser *p)
{
    struct scen_proc *pr = proc_head(p, B_NONE);
    const struct scen_token *t = peek(p);
    int b = t->kind == T_IDENT ? scen_builtin_by_name(t->start, t->len) : -1;
    if (b < 0 || b == B_EXEC)
        expected(p, t, "a built-in program (echo-server, sink, source, rr-server, rr-client, "
                       "dgram-pong, dgram-ping)");
    next(p);
    pr->builtin = b;
    want_word(p, "on");
    pr->vm = vm_ref(p);
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
    while (peek(p)->kind == T_IDENT) {
        const struct scen_token *k = peek(p);
        if (server && accept_word(p, "port")) {
            bp->port = (uint32_t)count_value(p, "a port number", 0, 0xFFFFFFFEll);
            bp->has_port = 1;
        } else if (!server && accept_word(p, "to")) {
            address(p, &bp->to, 0);
            bp->has_to = 1;
        } else if (server && b != B_DGRAM_PONG && accept_word(p, "conns")) {
            bp->conns = count_value(p, "a number of connections", 1, MAX_COUNT);
        } else if (server && b != B_DGRAM_PONG && accept_word(p, "backlog")) {
            bp->backlog = count_value(p, "a backlog", 0, 1 << 20);
        } else if ((b == B_DGRAM_PING || b == B_DGRAM_PONG) && accept_word(p, "count")) {
            bp->count = count_value(p, "a number of datagrams", 1, MAX_COUNT);
        } else if (b == B_SOURCE && accept_word(p, "bytes")) {
            bp->bytes = size_value(p, "a number of bytes", 1LL << 40);
        } else if (b == B_SOURCE && accept_word(p, "chunk")) {
            bp->chunk = size_value(p, "a chunk size", MAX_IO);
            if (bp->chunk < 1)
                expected(p, k, "a chunk of at least 1 byte");
        } else if (b == B_RR_CLIENT && accept_word(p, "requests")) {
            bp->requests = count_value(p, "a number of requests", 1, MAX_COUNT);
        } else if ((b == B_RR_CLIENT || b == B_DGRAM_PING) && accept_word(p, "size")) {
            bp->size = size_value(p, "a request size", b == B_DGRAM_PING ? 69608 : MAX_IO);
            if (b == B_DGRAM_PING && bp->size < 8)
                expected(p, k, "a datagram size of at least 8 bytes (the sequence number)");
        } else if ((b == B_RR_SERVER || b == B_DGRAM_PONG) && accept_word(p, "reply")) {
            bp->reply = size_value(p, "a reply size", b == B_DGRAM_PONG ? 69608 : MAX_IO);
        } else if ((b == B_SOURCE || b == B_RR_CLIENT) && accept_word(p, "connections")) {
            bp->connections = count_value(p, "a number of connections", 1, MAX_COUNT);
        } else if (!server && accept_word(p, "interval")) {
            bp->interval_ns = duration_value(p, "an interval");
        } else if (b == B_DGRAM_PING && accept_word(p, "timeout")) {
            bp->timeout_ns = duration_value(p, "a reply timeout");
        } else if ((b == B_SOURCE || b == B_RR_CLIENT) && accept_word(p, "hold")) {
            bp->hold_ns = duration_value(p, "a time to hold each connection");
        } else if (b != B_DGRAM_PING && b != B_DGRAM_PONG && accept_word(p, "buffer")) {
            bp->buffer = size_value(p, "a buffer size", 1LL << 30);
        } else if (accept_word(p, "nosignal")) {
            bp->nosignal = 1;
        } else {
            expected(p, k, "a parameter of this program (see docs/scenarios.md)");
        }
    }
    if (server && !bp->has_port)
        expected(p, peek(p), "'port N' (a server needs a port to listen on)");
    if (!server && !bp->has_to)
        expected(p, peek(p), "'to CID:PORT' (a client needs an address)");
    if (b == B_SOURCE && !bp->bytes)
        expected(p, peek(p), "'bytes N' (how much the source sends)");
    /* A server with no count to reach serves until every other process is done. */
    if (server && !bp->conns && !bp->count)
        pr->daemon = 1;
    done_events(p, pr, server);
}

static void top_timed(struct parser *p, int on)
{
    size_t i = p->s->ntimed;
    p->s->timed = grow(p, p->s->timed, &p->s->ntimed, sizeof *p->s->timed);
    struct scen_timed *tm = &p->s->timed[i];
    const struct scen_token *first = &p->toks.v[p->pos - 1];
    tm->line = first->line;
    tm->on_event = -1;
    if (on) {
        tm->on_event = event_ref(p, 0);
        if (accept_word(p, "after"))
            tm->at_ns = duration_value(p, "a delay");
    } else {
        tm->at_ns = duration_value(p, "a simulated time");
    }
    struct scen_stmt *st = &tm->stmt;
    st->line = peek(p)->line;
    st->col = peek(p)->col;
    st->dst = st->fd = st->from_var = -1;
    st->addr.var = st->ex.addr.var = -1;
    if (!world_action(p, st))
        expected(p, peek(p), "an action (suspend, resume, migrate, power-off, ft-on, ft-off, "
                             "faults or mark)");
}

static void check_value(struct parser *p, struct scen_check *c, int64_t *out)
{
    const struct scen_token *t = peek(p);
    switch (c->lhs) {
    case LHS_TIME:
        *out = (int64_t)duration_value(p, "a simulated time");
        return;
    case LHS_VM_STATE:
        for (int st = VMCISIM_VM_RUNNING; st <= VMCISIM_VM_POWERED_OFF; st++)
            if (is_word(t, scen_vm_state_name(st))) {
                next(p);
                *out = st;
                return;
            }
        expected(p, t, "running, suspended or powered-off");
    case LHS_VM_FT:
        if (accept_word(p, "on"))
            *out = 1;
        else if (accept_word(p, "off"))
            *out = 0;
        else
            expected(p, t, "on or off");
        return;
    default:
        *out = size_value(p, "a number", INT64_MAX / 2);
        return;
    }
}

static void top_check(struct parser *p)
{
    size_t i = p->s->nchecks;
    p->s->checks = grow(p, p->s->checks, &p->s->nchecks, sizeof *p->s->checks);
    struct scen_check *c = &p->s->checks[i];
    const struct scen_token *t = peek(p);
    c->line = t->line;
    c->col = t->col;
    c->proc = -1;
    /* `check sometimes X` / `check always X` (unless a process is named so: `sometimes.eof`) */
    if (peek2(p)->kind != T_DOT) {
        if (accept_word(p, "sometimes"))
            c->cov = VMCISIM_COV_SOMETIMES;
        else if (accept_word(p, "always"))
            c->cov = VMCISIM_COV_ALWAYS;
        t = peek(p);
    }
    if (accept_word(p, "time")) {
        c->lhs = LHS_TIME;
    } else if (t->kind == T_STAR || t->kind == T_IDENT) {
        char name[SCEN_NAME_MAX] = "*";
        if (t->kind == T_IDENT)
            name_of(p, t, name, "a name");
        next(p);
        want(p, T_DOT, "'.' and a counter (NAME.counter), or time");
        const struct scen_token *f = peek(p);
        if (f->kind != T_IDENT)
            expected(p, f, "a counter or VM field after '.'");
        int vm = t->kind == T_IDENT ? find_vm(p->s, name) : -1;
        if (vm >= 0) {
            c->vm = vm;
            if (is_word(f, "state"))
                c->lhs = LHS_VM_STATE;
            else if (is_word(f, "ft"))
                c->lhs = LHS_VM_FT;
            else
                expected(p, f, "a VM field (state or ft)");
        } else {
            if (t->kind == T_IDENT) {
                c->proc = find_proc(p->s, name);
                if (c->proc < 0)
                    expected(p, t, "a process, program or VM declared before this check, or *");
            }
            c->lhs = LHS_COUNTER;
            c->counter = scen_counter_by_name(f->start, f->len);
            if (c->counter < 0)
                expected(p, f, "a counter (connected, refused, connect_errors, accepted, "
                               "bytes_sent, bytes_received, dgrams_sent, dgrams_received, eof, "
                               "epipe, errors, streams_ok, checksum_bad, truncated, requests, "
                               "responses, replies, lost, duplicates, late, killed)");
        }
        next(p);
    } else {
        expected(p, t, "what to check: NAME.counter, *.counter, VM.state, VM.ft or time");
    }
    if (accept_word(p, "in")) {
        c->cmp = -1;
        check_value(p, c, &c->value);
        want(p, T_DOTDOT, "'..' in a range A..B");
        check_value(p, c, &c->hi);
        if (c->hi < c->value)
            expected(p, &p->toks.v[p->pos - 1], "an upper end not below the lower end");
        return;
    }
    const struct scen_token *op = peek(p);
    if (op->kind != T_CMP)
        expected(p, op, "a comparison (==, !=, <, <=, >, >=) or 'in A..B'");
    c->cmp = op->cmp;
    next(p);
    if ((c->lhs == LHS_VM_STATE || c->lhs == LHS_VM_FT) && c->cmp != CMP_EQ && c->cmp != CMP_NE)
        expected(p, op, "== or != for a VM state");
    check_value(p, c, &c->value);
}

/* A per-byte cost: "276ps", "0.276ns", "10us" or "0" -> whole picoseconds. */
static uint64_t byte_cost_ps(struct parser *p)
{
    const struct scen_token *t = peek(p);
    if (t->kind != T_NUM)
        expected(p, t, "a time per byte (ps, ns or us)");
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
        expected(p, t, "a time per byte with a unit (ps, ns or us)");
    double v = t->dval * mul;
    if (v > 1e12 || v != (double)(uint64_t)v)
        expected(p, t, "a time per byte: whole picoseconds up to 1s");
    next(p);
    return (uint64_t)v;
}

/* cost none | published | { qp-byte PS | dgram DUR | notify DUR | hypercall DUR } */
static void top_cost(struct parser *p)
{
    struct vmcisim_cost *c = &p->s->cost;
    const struct scen_token *first = peek(p);
    p->s->has_cost = 1;
    if (accept_word(p, "none")) {
        memset(c, 0, sizeof *c);
        return;
    }
    if (accept_word(p, "published")) {
        *c = (struct vmcisim_cost)VMCISIM_COST_PUBLISHED;
        return;
    }
    int any = 0;
    for (;; any = 1) {
        if (accept_word(p, "qp-byte"))
            c->qp_byte_ps = byte_cost_ps(p);
        else if (accept_word(p, "dgram"))
            c->dgram_ns = duration_value(p, "a latency per datagram");
        else if (accept_word(p, "notify"))
            c->notify_ns = duration_value(p, "a latency per notification");
        else if (accept_word(p, "hypercall"))
            c->hypercall_ns = duration_value(p, "a time per hypercall");
        else
            break;
    }
    if (!any)
        expected(p, first, "a cost (qp-byte, dgram, notify, hypercall), published or none");
}

/* bridge VM "PATH" (docs/bridge.md) */
static void top_bridge(struct parser *p, const struct scen_token *kw)
{
    const struct scen_token *vt = peek(p);
    int vm = vm_ref(p);
    if (vm == SCEN_HOST_VM)
        expected(p, vt, "a guest VM (the bridge connects outside programs to a guest)");
    for (size_t i = 0; i < p->s->nbridges; i++)
        if (p->s->bridges[i].vm == vm)
            expected(p, vt, "a VM with no bridge yet (one bridge per VM)");
    const struct scen_token *t = peek(p);
    if (t->kind != T_STR)
        expected(p, t, "a \"path\" for the bridge's Unix socket");
    if (t->nbytes == 0 || t->nbytes >= SCEN_BRIDGE_PATH_MAX || memchr(t->bytes, 0, t->nbytes))
        expected(p, t, "a socket path of 1 to 95 bytes with no NUL byte");
    char path[SCEN_BRIDGE_PATH_MAX];
    memcpy(path, t->bytes, t->nbytes);
    path[t->nbytes] = 0;
    for (size_t i = 0; i < p->s->nbridges; i++)
        if (strcmp(p->s->bridges[i].path, path) == 0)
            expected(p, t, "a path no other bridge uses");
    next(p);
    size_t i = p->s->nbridges;
    p->s->bridges = grow(p, p->s->bridges, &p->s->nbridges, sizeof *p->s->bridges);
    p->s->bridges[i].vm = vm;
    p->s->bridges[i].line = kw->line;
    p->s->bridges[i].col = kw->col;
    memcpy(p->s->bridges[i].path, path, sizeof path);
}

static void top_level(struct parser *p)
{
    for (;;) {
        const struct scen_token *t = peek(p);
        if (t->kind == T_EOF)
            return;
        if (t->kind == T_NL) {
            next(p);
            continue;
        }
        if (accept_word(p, "scenario")) {
            if (peek(p)->kind != T_STR)
                expected(p, peek(p), "a \"name\" for the scenario");
            const struct scen_token *n = next(p);
            size_t k = n->nbytes < sizeof p->s->name - 1 ? n->nbytes : sizeof p->s->name - 1;
            for (size_t j = 0; j < k; j++)
                p->s->name[j] = n->bytes[j] >= 0x20 && n->bytes[j] < 0x7f ? (char)n->bytes[j] : '?';
        } else if (accept_word(p, "seeds")) {
            p->s->seed_lo = (uint64_t)count_value(p, "a seed", 0, INT64_MAX);
            p->s->seed_hi = p->s->seed_lo;
            if (peek(p)->kind == T_DOTDOT) {
                next(p);
                p->s->seed_hi = (uint64_t)count_value(p, "the last seed", (int64_t)p->s->seed_lo,
                                                      INT64_MAX);
            }
            p->s->has_seeds = 1;
        } else if (accept_word(p, "realtime")) {
            p->s->realtime = 1;
        } else if (accept_word(p, "limit")) {
            p->s->limit_line = t->line;
            p->s->limit_ns = duration_value(p, "a simulated-time limit");
            if (!p->s->limit_ns)
                expected(p, &p->toks.v[p->pos - 1], "a limit above 0");
        } else if (accept_word(p, "vm")) {
            top_vm(p);
        } else if (accept_word(p, "faults")) {
            if (!p->s->faults_line)
                p->s->faults_line = t->line;
            faults_knobs(p, &p->s->faults);
        } else if (accept_word(p, "process")) {
            top_process(p);
            continue; /* the block consumed its 'end' line */
        } else if (accept_word(p, "program")) {
            top_program(p);
        } else if (accept_word(p, "exec")) {
            top_exec(p);
        } else if (accept_word(p, "at")) {
            top_timed(p, 0);
        } else if (accept_word(p, "on")) {
            top_timed(p, 1);
        } else if (accept_word(p, "check")) {
            top_check(p);
        } else if (accept_word(p, "cost")) {
            top_cost(p);
        } else if (accept_word(p, "bridge")) {
            top_bridge(p, t);
        } else {
            expected(p, t, "a top-level statement (scenario, seeds, limit, vm, faults, cost, "
                           "process, program, exec, realtime, at, on, check, bridge)");
        }
        end_of_line(p);
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
        fail_at(&p, peek(&p), "expected less text (out of memory)");
    s->vms = grow(&p, s->vms, &s->nvms, sizeof *s->vms);
    snprintf(s->vms[0].name, sizeof s->vms[0].name, "host");
    s->vms[0].cid = VMADDR_CID_HOST;
    top_level(&p);
    for (size_t i = 0; i < s->nevents; i++)
        if (!p.ev[i].defined) {
            struct scen_token at = {.line = p.ev[i].ref_line, .col = p.ev[i].ref_col};
            fail_at(&p, &at,
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
