/*
 * lex.c - cuts scenario text into tokens (see lex.h). Never fails on bad input: a bad
 * character, an unterminated string or an oversized number becomes one T_ERROR token carrying
 * what was expected, and lexing goes on after it.
 */
#include "scenario/lex.h"
#include "sim/alloc.h"
#include "scenario/lex.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STR_BYTES (1u << 20) /* a literal longer than 1 MiB is surely a mistake */

static int push(struct scen_tokens *t, const struct scen_token *tok)
{
    struct scen_token *v = vmcisim_grow(t->v, &t->cap, t->n, 256);
    if (!v)
        return -1;
    t->v = v;
    t->v[t->n++] = *tok;
    return 0;
}

static int is_ident_start(int c) { return isalpha(c) || c == '_'; }
static int is_ident_char(int c) { return isalnum(c) || c == '_'; }

/* Make tok an error carrying msg (owned copy). */
static void set_error(struct scen_token *tok, const char *msg)
{
    free(tok->bytes);
    tok->kind = T_ERROR;
    size_t n = strlen(msg);
    tok->bytes = vmcisim_malloc(n + 1);
    if (tok->bytes) {
        memcpy(tok->bytes, msg, n + 1);
        tok->nbytes = n;
    } else {
        tok->nbytes = 0;
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends one byte to a growing string literal; returns -1 on overflow, -2 on no memory. */
static int str_put(struct scen_token *tok, size_t *cap, unsigned char b)
{
    if (tok->nbytes >= MAX_STR_BYTES)
        return -1;
    if (tok->nbytes == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        unsigned char *p = vmcisim_realloc(tok->bytes, nc);
        if (!p)
            return -2;
        tok->bytes = p;
        *cap = nc;
    }
    assert(tok->nbytes < *cap);
    tok->bytes[tok->nbytes++] = b;
    return 0;
}

/* Why str_put failed: the literal is full, or there was no memory for it. */
static const char *lit_error(const struct scen_token *tok)
{
    return tok->nbytes >= MAX_STR_BYTES ? "expected a literal of at most 1 MiB"
                                        : "expected less text (out of memory)";
}

/* Lexes a "..." or x"..." literal starting at text[i] (the quote). Returns the index after it. */
static size_t lex_string(const char *text, size_t len, size_t i, int hex, struct scen_token *tok)
{
    size_t cap = 0;
    tok->kind = T_STR;
    tok->hex = hex;
    i++; /* the opening quote */
    int half = -1;
    while (i < len && text[i] != '"' && text[i] != '\n') {
        int c = (unsigned char)text[i];
        if (hex) {
            if (c == ' ' || c == '\t' || c == ':' || c == '_') {
                i++;
                continue;
            }
            int v = hexval(c);
            if (v < 0) {
                set_error(tok, "expected hex digits (0-9, a-f) in x\"...\"");
                return i + 1;
            }
            if (half < 0) {
                half = v;
            } else {
                if (str_put(tok, &cap, (unsigned char)(half << 4 | v)) != 0) {
                    set_error(tok, lit_error(tok));
                    return i + 1;
                }
                half = -1;
            }
            i++;
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= len) {
                set_error(tok, "expected an escape after '\\'");
                return i + 1;
            }
            int e = (unsigned char)text[i + 1];
            unsigned char b;
            size_t used = 2;
            switch (e) {
            case 'n': b = '\n'; break;
            case 'r': b = '\r'; break;
            case 't': b = '\t'; break;
            case '0': b = 0; break;
            case '\\': b = '\\'; break;
            case '"': b = '"'; break;
            case 'x':
                if (i + 3 < len && hexval((unsigned char)text[i + 2]) >= 0 &&
                    hexval((unsigned char)text[i + 3]) >= 0) {
                    b = (unsigned char)(hexval((unsigned char)text[i + 2]) << 4 |
                                        hexval((unsigned char)text[i + 3]));
                    used = 4;
                    break;
                }
                set_error(tok, "expected two hex digits after \\x");
                return i + 2;
            default:
                set_error(tok, "expected one of the escapes \\n \\r \\t \\0 \\\\ \\\" \\xHH");
                return i + 2;
            }
            if (str_put(tok, &cap, b) != 0) {
                set_error(tok, lit_error(tok));
                return i + used;
            }
            i += used;
            continue;
        }
        if (c < 0x20 && c != '\t') {
            set_error(tok, "expected printable text in a string (use escapes for control bytes)");
            return i + 1;
        }
        if (str_put(tok, &cap, (unsigned char)c) != 0) {
            set_error(tok, lit_error(tok));
            return i + 1;
        }
        i++;
    }
    if (i >= len || text[i] != '"') {
        set_error(tok, "expected '\"' to close the string on the same line");
        return i;
    }
    if (hex && half >= 0) {
        set_error(tok, "expected an even number of hex digits in x\"...\"");
        return i + 1;
    }
    return i + 1;
}

static size_t lex_number(const char *text, size_t len, size_t i, struct scen_token *tok)
{
    tok->kind = T_NUM;
    size_t s = i;
    uint64_t v = 0;
    int overflow = 0;
    if (text[i] == '0' && i + 2 < len && (text[i + 1] == 'x' || text[i + 1] == 'X') &&
        hexval((unsigned char)text[i + 2]) >= 0) {
        i += 2;
        while (i < len && hexval((unsigned char)text[i]) >= 0) {
            if (v >> 60)
                overflow = 1;
            v = v << 4 | (uint64_t)hexval((unsigned char)text[i]);
            i++;
        }
        tok->ival = v;
        tok->dval = (double)v;
    } else {
        while (i < len && isdigit((unsigned char)text[i])) {
            uint64_t d = (uint64_t)(text[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                overflow = 1;
            v = v * 10 + d;
            i++;
        }
        tok->ival = v;
        double dv = (double)v;
        if (i + 1 < len && text[i] == '.' && isdigit((unsigned char)text[i + 1])) {
            tok->has_frac = 1;
            double scale = 0.1;
            i++;
            while (i < len && isdigit((unsigned char)text[i])) {
                dv += scale * (text[i] - '0');
                scale /= 10;
                i++;
            }
        }
        tok->dval = dv;
    }
    size_t u = 0;
    while (i < len && (isalpha((unsigned char)text[i]) || text[i] == '%')) {
        if (u < sizeof tok->unit - 1)
            tok->unit[u] = text[i];
        u++;
        i++;
    }
    tok->unit[u < sizeof tok->unit ? u : sizeof tok->unit - 1] = 0;
    if (overflow)
        set_error(tok, "expected a number below 2^64");
    else if (u >= sizeof tok->unit)
        set_error(tok, "expected a unit such as ns, us, ms, s, KiB, MiB, GiB or %");
    else if (i < len && is_ident_char((unsigned char)text[i]))
        set_error(tok, "expected a number followed by a unit and a space");
    (void)s;
    return i;
}

int scen_lex(const char *text, size_t len, struct scen_tokens *out)
{
    memset(out, 0, sizeof *out);
    int line = 1;
    size_t line_start = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '#') {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        struct scen_token tok = {0};
        tok.line = line;
        tok.col = (int)(i - line_start) + 1;
        tok.start = text + i;
        size_t s = i;
        if (c == '\n') {
            tok.kind = T_NL;
            i++;
        } else if (c == 'x' && i + 1 < len && text[i + 1] == '"') {
            i = lex_string(text, len, i + 1, 1, &tok);
        } else if (is_ident_start(c)) {
            while (i < len) {
                unsigned char d = (unsigned char)text[i];
                if (is_ident_char(d) ||
                    (d == '-' && i + 1 < len && is_ident_char((unsigned char)text[i + 1])))
                    i++;
                else
                    break;
            }
            tok.kind = T_IDENT;
        } else if (isdigit(c)) {
            i = lex_number(text, len, i, &tok);
        } else if (c == '"') {
            i = lex_string(text, len, i, 0, &tok);
        } else if (c == '-' && i + 1 < len && text[i + 1] == '>') {
            tok.kind = T_ARROW;
            i += 2;
        } else if (c == '=' && i + 1 < len && text[i + 1] == '=') {
            tok.kind = T_CMP, tok.cmp = CMP_EQ, i += 2;
        } else if (c == '!' && i + 1 < len && text[i + 1] == '=') {
            tok.kind = T_CMP, tok.cmp = CMP_NE, i += 2;
        } else if (c == '<' || c == '>') {
            int eq = i + 1 < len && text[i + 1] == '=';
            tok.kind = T_CMP;
            tok.cmp = c == '<' ? (eq ? CMP_LE : CMP_LT) : (eq ? CMP_GE : CMP_GT);
            i += eq ? 2 : 1;
        } else if (c == '=') {
            tok.kind = T_ASSIGN, i++;
        } else if (c == ':') {
            tok.kind = T_COLON, i++;
        } else if (c == '.' && i + 1 < len && text[i + 1] == '.') {
            tok.kind = T_DOTDOT, i += 2;
        } else if (c == '.') {
            tok.kind = T_DOT, i++;
        } else if (c == '|') {
            tok.kind = T_PIPE, i++;
        } else if (c == ',') {
            tok.kind = T_COMMA, i++;
        } else if (c == '*') {
            tok.kind = T_STAR, i++;
        } else {
            char msg[96];
            if (c >= 0x20 && c < 0x7f)
                snprintf(msg, sizeof msg,
                         "expected a name, number, string or operator, got '%c'", c);
            else
                snprintf(msg, sizeof msg,
                         "expected a name, number, string or operator, got byte 0x%02x", c);
            set_error(&tok, msg);
            i++;
        }
        if (i <= s)
            i = s + 1; /* always make progress */
        if (i > len)
            i = len;
        tok.len = i - s;
        if (push(out, &tok) != 0) {
            free(tok.bytes);
            scen_tokens_free(out);
            return -1;
        }
        if (c == '\n') {
            line++;
            line_start = i;
        }
    }
    struct scen_token eof = {.kind = T_EOF, .line = line, .col = (int)(i - line_start) + 1,
                             .start = text + len};
    if (push(out, &eof) != 0) {
        scen_tokens_free(out);
        return -1;
    }
    return 0;
}

void scen_tokens_free(struct scen_tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].bytes);
    free(t->v);
    memset(t, 0, sizeof *t);
}

void scen_token_describe(const struct scen_token *t, char *buf, size_t n)
{
    switch (t->kind) {
    case T_EOF:
        snprintf(buf, n, "end of file");
        return;
    case T_NL:
        snprintf(buf, n, "end of line");
        return;
    case T_STR:
        snprintf(buf, n, "a string");
        return;
    default:
        break;
    }
    /* the token's own text, printable bytes only, shortened */
    char tmp[40];
    size_t k = 0;
    for (size_t i = 0; i < t->len && k < sizeof tmp - 4; i++) {
        unsigned char c = (unsigned char)t->start[i];
        tmp[k++] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
    }
    if (t->len > sizeof tmp - 4)
        tmp[k++] = '.', tmp[k++] = '.', tmp[k++] = '.';
    tmp[k] = 0;
    snprintf(buf, n, "'%s'", tmp);
}
