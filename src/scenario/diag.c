/*
 * diag.c - near-miss suggestions and source excerpts for parse errors (diag.h).
 */
#include "sim/alloc.h"
#include "scenario/diag.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXCERPT_WIDTH 100   /* columns of a long line shown around the error */

size_t scen_edit_distance(const char *a, size_t an, const char *b, size_t bn, size_t limit)
{
    assert(a && b);
    if ((an > bn ? an - bn : bn - an) > limit || an > 64 || bn > 64)
        return limit + 1;
    /* Optimal string alignment distance, three rows of at most 65 entries. */
    size_t prev2[65], prev[65], cur[65];
    for (size_t j = 0; j <= bn; j++)
        prev[j] = j;
    for (size_t i = 1; i <= an; i++) {
        cur[0] = i;
        size_t row_min = cur[0];
        for (size_t j = 1; j <= bn; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
            if (d < row_min)
                row_min = d;
        }
        if (row_min > limit)
            return limit + 1;
        memcpy(prev2, prev, sizeof prev);
        memcpy(prev, cur, sizeof cur);
    }
    assert(prev[bn] <= (an > bn ? an : bn));   /* never more edits than the longer word */
    return prev[bn] > limit ? limit + 1 : prev[bn];
}

void scen_suggest_init(struct scen_suggest *sg, const char *word, size_t wlen)
{
    memset(sg, 0, sizeof *sg);
    sg->word = word;
    sg->wlen = wlen;
}

void scen_suggest_offer(struct scen_suggest *sg, const char *cand, size_t clen)
{
    /* Close means: one edit for short words, two for words of six letters or more; never the
     * word itself, and never a candidate that is mostly edits. */
    size_t limit = sg->wlen >= 6 ? 2 : 1;
    if (clen < 2 || (clen == sg->wlen && memcmp(cand, sg->word, clen) == 0))
        return;
    size_t d = scen_edit_distance(sg->word, sg->wlen, cand, clen, limit);
    if (d > limit || d * 2 >= clen)
        return;
    assert(d <= limit && d > 0);
    if (!sg->best || d < sg->best_dist) {
        sg->best = cand;
        sg->best_len = clen;
        sg->best_dist = d;
    }
}

static int word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

void scen_suggest_offer_words(struct scen_suggest *sg, const char *text)
{
    for (const char *p = text; *p;) {
        if (!word_char(*p)) {
            p++;
            continue;
        }
        const char *w = p;
        while (*p && word_char(*p))
            p++;
        scen_suggest_offer(sg, w, (size_t)(p - w));
    }
}

char *scen_source_excerpt(const char *text, size_t len, int line, int col)
{
    if (!text || line < 1)
        return NULL;
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (text[i] == '\n')
            l++;
    if (i > len)
        return NULL;
    size_t end = i;
    while (end < len && text[end] != '\n' && text[end] != '\r')
        end++;
    size_t n = end - i;
    size_t c = col > 0 ? (size_t)col - 1 : 0;
    if (c > n)
        c = n;
    size_t from = 0, to = n;
    if (n > EXCERPT_WIDTH) {
        from = c > EXCERPT_WIDTH / 2 ? c - EXCERPT_WIDTH / 2 : 0;
        to = from + EXCERPT_WIDTH < n ? from + EXCERPT_WIDTH : n;
    }
    const char *pre = from > 0 ? "..." : "";
    const char *post = to < n ? "..." : "";
    size_t cap = 2 * (to - from) + 32;
    char *out = vmcisim_malloc(cap);
    if (!out)
        return NULL;
    size_t o = (size_t)snprintf(out, cap, "    %s", pre);
    for (size_t k = from; k < to; k++)   /* tabs become one space, so the caret lines up */
    {
        unsigned char ch = (unsigned char)text[i + k];
        out[o++] = ch == '\t' ? ' ' : (ch >= 0x20 && ch != 0x7f ? (char)ch : '?');
    }
    o += (size_t)snprintf(out + o, cap - o, "%s\n    %s", post, pre[0] ? "   " : "");
    for (size_t k = from; k < c; k++)
        out[o++] = ' ';
    assert(o + 2 <= cap);   /* two lines of at most the window each, and the caret */
    snprintf(out + o, cap - o, "^");
    return out;
}
