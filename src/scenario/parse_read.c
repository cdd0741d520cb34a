/*
 * parse_read.c - the scenario parser's reading primitives: tokens, the first error (with the
 * source line, a caret and a did-you-mean), numbers with units, and names resolved to indices
 * (VMs, processes, events, descriptors, addresses). parse.c explains the parser as a whole.
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

/* ---- errors and tokens ---------------------------------------------------------------------- */

const struct scen_token *ps_peek(struct parser *p)
{
    assert(p->pos < p->toks.n); /* the token list always ends with T_EOF, never passed */
    return &p->toks.v[p->pos];
}
const struct scen_token *ps_peek2(struct parser *p)
{
    return p->pos + 1 < p->toks.n ? &p->toks.v[p->pos + 1] : &p->toks.v[p->pos];
}
const struct scen_token *ps_next(struct parser *p)
{
    assert(p->pos < p->toks.n);
    const struct scen_token *t = &p->toks.v[p->pos];
    if (t->kind != T_EOF)
        p->pos++;
    else
        assert(p->pos + 1 == p->toks.n); /* T_EOF is the last token */
    return t;
}

void __attribute__((noreturn, format(printf, 3, 4)))
ps_fail_at(struct parser *p, const struct scen_token *t, const char *fmt, ...)
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
const char *ps_near_miss(struct parser *p, const struct scen_token *t, const char *what,
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
void __attribute__((noreturn)) ps_expected(struct parser *p, const struct scen_token *t,
                                               const char *what)
{
    if (t->kind == T_ERROR)
        ps_fail_at(p, t, "%s", t->bytes ? (const char *)t->bytes : "expected valid text");
    char got[64];
    scen_token_describe(t, got, sizeof got);
    size_t n = 0;
    const char *near = t->kind == T_IDENT ? ps_near_miss(p, t, what, &n) : NULL;
    if (near)
        ps_fail_at(p, t, "expected %s, got %s; did you mean '%.*s'?", what, got, (int)n, near);
    ps_fail_at(p, t, "expected %s, got %s", what, got);
}

int ps_is_word(const struct scen_token *t, const char *w)
{
    return t->kind == T_IDENT && t->len == strlen(w) && memcmp(t->start, w, t->len) == 0;
}

void ps_want_word(struct parser *p, const char *w)
{
    const struct scen_token *t = ps_peek(p);
    if (!ps_is_word(t, w)) {
        char what[64];
        snprintf(what, sizeof what, "'%s'", w);
        ps_expected(p, t, what);
    }
    ps_next(p);
}

int ps_accept_word(struct parser *p, const char *w)
{
    if (ps_is_word(ps_peek(p), w)) {
        ps_next(p);
        return 1;
    }
    return 0;
}

void ps_want(struct parser *p, enum scen_tok k, const char *what)
{
    if (ps_peek(p)->kind != k)
        ps_expected(p, ps_peek(p), what);
    ps_next(p);
}

void ps_end_of_line(struct parser *p)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind == T_EOF)
        return;
    if (t->kind != T_NL)
        ps_expected(p, t, "end of line");
    ps_next(p);
}

void ps_name_of(struct parser *p, const struct scen_token *t, char *out, const char *what)
{
    if (t->kind != T_IDENT)
        ps_expected(p, t, what);
    if (t->len >= SCEN_NAME_MAX)
        ps_fail_at(p, t, "expected a name of at most %d characters", SCEN_NAME_MAX - 1);
    memcpy(out, t->start, t->len);
    out[t->len] = 0;
}

/* The capacity an array of n elements has under ps_grow(): 0, then powers of two from 4. */
size_t ps_cap_of(size_t n)
{
    size_t c = 4;
    if (n == 0)
        return 0;
    while (c < n)
        c *= 2;
    return c;
}

/* Appends one zeroed element to arr (n elements of elem bytes); returns the new array. */
void *ps_grow(struct parser *p, void *arr, size_t *n, size_t elem)
{
    if (*n + 1 > ps_cap_of(*n)) {
        void *q = vmcisim_realloc(arr, ps_cap_of(*n + 1) * elem);
        if (!q)
            ps_fail_at(p, ps_peek(p), "expected less text (out of memory)");
        arr = q;
    }
    memset((char *)arr + *n * elem, 0, elem);
    (*n)++;
    return arr;
}

/* ---- numbers with units ------------------------------------------------------------------- */

int64_t ps_count_value(struct parser *p, const char *what, int64_t min, int64_t max)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_NUM || t->has_frac || t->unit[0])
        ps_expected(p, t, what);
    if ((int64_t)t->ival < min || t->ival > (uint64_t)max) {
        char w[160];
        snprintf(w, sizeof w, "%s in %lld..%lld", what, (long long)min, (long long)max);
        ps_expected(p, t, w);
    }
    ps_next(p);
    return (int64_t)t->ival;
}

/* A size: a plain number of bytes or one with B, KiB, MiB, GiB. */
int64_t ps_size_value(struct parser *p, const char *what, int64_t max)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_NUM)
        ps_expected(p, t, what);
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
        ps_fail_at(p, t, "expected a size unit (B, KiB, MiB or GiB), got '%s'", t->unit);
    double v = t->dval * mul;
    if (v != (double)(int64_t)v || v > (double)max) {
        char w[160];
        snprintf(w, sizeof w, "%s: a whole number of bytes up to %lld", what, (long long)max);
        ps_expected(p, t, w);
    }
    ps_next(p);
    return (int64_t)v;
}

uint64_t ps_duration_value(struct parser *p, const char *what)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_NUM)
        ps_expected(p, t, what);
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
        ps_expected(p, t, w);
    } else
        ps_fail_at(p, t, "expected a time unit (ns, us, ms or s), got '%s'", t->unit);
    double v = t->dval * mul;
    if (v > 1e18 || v != (double)(uint64_t)v) {
        char w[160];
        snprintf(w, sizeof w, "%s: whole nanoseconds up to 10^18", what);
        ps_expected(p, t, w);
    }
    ps_next(p);
    return (uint64_t)v;
}

double ps_prob_value(struct parser *p)
{
    const struct scen_token *t = ps_peek(p);
    if (t->kind != T_NUM || (t->unit[0] && strcmp(t->unit, "%") != 0))
        ps_expected(p, t, "a probability (0.25 or 25%)");
    double v = strcmp(t->unit, "%") == 0 ? t->dval / 100 : t->dval;
    if (v < 0 || v > 1)
        ps_expected(p, t, "a probability between 0 and 1 (or 0% and 100%)");
    ps_next(p);
    return v;
}

/* ---- names: VMs, processes, events, variables ----------------------------------------------- */

int ps_find_vm(const struct scen_script *s, const char *name)
{
    for (size_t i = 0; i < s->nvms; i++)
        if (strcmp(s->vms[i].name, name) == 0)
            return (int)i;
    return -1;
}

int ps_find_proc(const struct scen_script *s, const char *name)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (strcmp(s->procs[i].name, name) == 0)
            return (int)i;
    return -1;
}

int ps_vm_ref(struct parser *p)
{
    const struct scen_token *t = ps_peek(p);
    char name[SCEN_NAME_MAX];
    ps_name_of(p, t, name, "a VM name (host or one declared with 'vm')");
    int i = ps_find_vm(p->s, name);
    if (i < 0)
        ps_expected(p, t, "a VM declared with 'vm' on an earlier line, or host");
    ps_next(p);
    return i;
}

/* Registers an event name; define != 0 when this place marks it. */
int ps_event_index(struct parser *p, const char *name, const struct scen_token *at, int define)
{
    size_t i;
    for (i = 0; i < p->s->nevents; i++)
        if (strcmp(p->s->events[i], name) == 0)
            break;
    if (i == p->s->nevents) {
        size_t n = p->s->nevents;
        p->s->events = ps_grow(p, p->s->events, &p->s->nevents, sizeof p->s->events[0]);
        snprintf(p->s->events[n], sizeof p->s->events[n], "%s", name);
        if (p->ev_cap < p->s->nevents) {
            size_t cap = p->s->nevents * 2;
            struct evinfo *e = vmcisim_realloc(p->ev, cap * sizeof *e);
            if (!e)
                ps_fail_at(p, at, "expected less text (out of memory)");
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
int ps_event_ref(struct parser *p, int define)
{
    const struct scen_token *t = ps_peek(p);
    char a[SCEN_NAME_MAX], b[SCEN_NAME_MAX], full[SCEN_NAME_MAX * 2];
    ps_name_of(p, t, a, "an event name");
    ps_next(p);
    if (ps_peek(p)->kind == T_DOT) {
        ps_next(p);
        ps_name_of(p, ps_peek(p), b, "an event name after '.'");
        ps_next(p);
        if (define)
            ps_fail_at(p, t, "expected an event name without '.' (NAME.ready and NAME.done are "
                          "marked by the processes themselves)");
        snprintf(full, sizeof full, "%s.%s", a, b);
    } else {
        snprintf(full, sizeof full, "%s", a);
    }
    return ps_event_index(p, full, t, define);
}

int ps_var_define(struct parser *p, const struct scen_token *t, int is_addr)
{
    struct scen_proc *pr = p->cur;
    char name[SCEN_NAME_MAX];
    ps_name_of(p, t, name, "a name");
    for (int i = 0; i < pr->nvars; i++)
        if (strcmp(pr->varnames[i], name) == 0) {
            if (pr->var_is_addr[i] != is_addr)
                ps_fail_at(p, t, "expected a new name: '%s' already names %s", name,
                        pr->var_is_addr[i] ? "an address" : "a descriptor");
            return i;
        }
    size_t n = (size_t)pr->nvars;
    pr->varnames = ps_grow(p, pr->varnames, &n, sizeof pr->varnames[0]);
    n = (size_t)pr->nvars;
    pr->var_is_addr = ps_grow(p, pr->var_is_addr, &n, sizeof pr->var_is_addr[0]);
    memcpy(pr->varnames[pr->nvars], name, sizeof name);
    pr->var_is_addr[pr->nvars] = is_addr;
    return pr->nvars++;
}

int ps_var_use(struct parser *p, int is_addr)
{
    const struct scen_token *t = ps_peek(p);
    struct scen_proc *pr = p->cur;
    const char *what = is_addr ? "an address variable set earlier by 'recvfrom ... as NAME'"
                               : "a descriptor assigned earlier in this process (by socket or "
                                 "accept)";
    if (t->kind != T_IDENT || !pr)
        ps_expected(p, t, what);
    for (int i = 0; i < pr->nvars; i++)
        if (strlen(pr->varnames[i]) == t->len && memcmp(pr->varnames[i], t->start, t->len) == 0 &&
            pr->var_is_addr[i] == is_addr) {
            ps_next(p);
            return i;
        }
    ps_expected(p, t, what);
}

/* ---- addresses ------------------------------------------------------------------------------- */

/* ADDR := CID ':' PORT | VAR.  CID := NUM | host | hypervisor | local | any | self | VMNAME */
void ps_address(struct parser *p, struct scen_addr *a, int allow_var)
{
    const struct scen_token *t = ps_peek(p);
    memset(a, 0, sizeof *a);
    a->var = -1;
    if (allow_var && t->kind == T_IDENT && ps_peek2(p)->kind != T_COLON && p->cur) {
        a->var = ps_var_use(p, 1);
        return;
    }
    if (t->kind == T_NUM) {
        a->cidref = CIDREF_NUM;
        a->cid = (uint32_t)ps_count_value(p, "a CID", 0, 0xFFFFFFFFll);
    } else if (t->kind == T_IDENT) {
        a->cidref = CIDREF_NUM;
        if (ps_is_word(t, "host"))
            a->cid = VMADDR_CID_HOST;
        else if (ps_is_word(t, "hypervisor"))
            a->cid = VMADDR_CID_HYPERVISOR;
        else if (ps_is_word(t, "local"))
            a->cid = VMADDR_CID_LOCAL;
        else if (ps_is_word(t, "any"))
            a->cid = VMADDR_CID_ANY;
        else if (ps_is_word(t, "self"))
            a->cidref = CIDREF_SELF;
        else {
            char name[SCEN_NAME_MAX];
            ps_name_of(p, t, name, "a CID");
            int vm = ps_find_vm(p->s, name);
            if (vm < 0)
                ps_expected(p, t, "a CID, host, hypervisor, local, any, self or a declared VM");
            a->cidref = CIDREF_VM;
            a->vm = vm;
        }
        ps_next(p);
    } else {
        ps_expected(p, t, "an address CID:PORT");
    }
    ps_want(p, T_COLON, "':' and a port after the CID");
    if (ps_accept_word(p, "any"))
        a->port = VMADDR_PORT_ANY;
    else
        a->port = (uint32_t)ps_count_value(p, "a port number (or any)", 0, 0xFFFFFFFFll);
}
