/*
 * lex.h - the scenario language's tokens. The whole text is cut into tokens up front; a
 * character that starts no token becomes a T_ERROR token at its place, so the parser reports
 * errors in the order they appear in the file.
 */
#ifndef VMCISIM_SCEN_LEX_H
#define VMCISIM_SCEN_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "scenario/ast.h" /* enum scen_cmp */

enum scen_tok {
    T_EOF,
    T_NL,       /* end of a line (statements are line-oriented) */
    T_IDENT,    /* [A-Za-z_][A-Za-z0-9_-]* (a '-' only when a letter, digit or '_' follows) */
    T_NUM,      /* 12, 0x1f, 1.5, with an optional unit glued on: 10ms, 4KiB, 5% */
    T_STR,      /* "text" with \\ \" \n \r \t \0 \xHH escapes, or x"68 65" hex bytes */
    T_ARROW,    /* -> */
    T_ASSIGN,   /* = */
    T_COLON,    /* : */
    T_DOTDOT,   /* .. */
    T_DOT,      /* . */
    T_PIPE,     /* | */
    T_COMMA,    /* , */
    T_STAR,     /* * */
    T_CMP,      /* == != < <= > >= */
    T_ERROR,    /* text holds what was expected */
};

struct scen_token {
    enum scen_tok kind;
    int line, col;          /* 1-based */
    const char *start;      /* into the source text (not NUL-terminated) */
    size_t len;
    /* T_NUM */
    uint64_t ival;          /* integer part */
    double dval;            /* whole value */
    int has_frac;
    char unit[8];           /* the glued unit, "" if none; T_ERROR if longer than 7 */
    /* T_STR: owned bytes (T_ERROR: the message) */
    unsigned char *bytes;
    size_t nbytes;
    int hex;
    /* T_CMP */
    enum scen_cmp cmp;
};

struct scen_tokens {
    struct scen_token *v;
    size_t n, cap;
};

/* Tokenize text; returns 0, or -1 if out of memory. Always ends with T_EOF. */
int scen_lex(const char *text, size_t len, struct scen_tokens *out);
void scen_tokens_free(struct scen_tokens *t);
/* A short printable rendering of a token for "got ..." in error messages. */
void scen_token_describe(const struct scen_token *t, char *buf, size_t n);

#endif
