/*
 * parser.h - what the three parts of the scenario parser share (internal to src/scenario):
 * the parser's state, and the functions of parse_read.c (tokens, errors, values, names) and
 * parse_stmt.c (statements inside processes) that parse.c (the top level) builds on.
 */
#ifndef VMCISIM_SCENARIO_PARSER_H
#define VMCISIM_SCENARIO_PARSER_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario/ast.h"
#include "scenario/diag.h"
#include "scenario/lex.h"
#include "scenario/scenario.h"

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

const struct scen_token *ps_peek(struct parser *p);
const struct scen_token *ps_peek2(struct parser *p);
const struct scen_token *ps_next(struct parser *p);
void __attribute__((noreturn, format(printf, 3, 4)))
ps_fail_at(struct parser *p, const struct scen_token *t, const char *fmt, ...);
const char *ps_near_miss(struct parser *p, const struct scen_token *t, const char *what,
                             size_t *n);
void __attribute__((noreturn)) ps_expected(struct parser *p, const struct scen_token *t,
                                               const char *what);
int ps_is_word(const struct scen_token *t, const char *w);
void ps_want_word(struct parser *p, const char *w);
int ps_accept_word(struct parser *p, const char *w);
void ps_want(struct parser *p, enum scen_tok k, const char *what);
void ps_end_of_line(struct parser *p);
void ps_name_of(struct parser *p, const struct scen_token *t, char *out, const char *what);
size_t ps_cap_of(size_t n);
void *ps_grow(struct parser *p, void *arr, size_t *n, size_t elem);
int64_t ps_count_value(struct parser *p, const char *what, int64_t min, int64_t max);
int64_t ps_size_value(struct parser *p, const char *what, int64_t max);
uint64_t ps_duration_value(struct parser *p, const char *what);
double ps_prob_value(struct parser *p);
int ps_find_vm(const struct scen_script *s, const char *name);
int ps_find_proc(const struct scen_script *s, const char *name);
int ps_vm_ref(struct parser *p);
int ps_event_index(struct parser *p, const char *name, const struct scen_token *at, int define);
int ps_event_ref(struct parser *p, int define);
int ps_var_define(struct parser *p, const struct scen_token *t, int is_addr);
int ps_var_use(struct parser *p, int is_addr);
void ps_address(struct parser *p, struct scen_addr *a, int allow_var);
short ps_poll_set(struct parser *p);
int ps_errno_word(const struct scen_token *t);
void ps_expectation(struct parser *p, struct scen_stmt *st);
int ps_option(struct parser *p, int *kind);
int ps_msg_flags(struct parser *p);
void ps_data(struct parser *p, struct scen_stmt *st);
void ps_faults_knobs(struct parser *p, struct scen_faults *f);
int ps_world_action(struct parser *p, struct scen_stmt *st);
void ps_statement(struct parser *p, struct scen_stmt *st);
void ps_block(struct parser *p, struct scen_stmt **body, size_t *n, const char *what,
                  int opened);

#endif
