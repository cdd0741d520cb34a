/*
 * diag.h - what a parse error shows besides its message: a "did you mean" for a near-miss
 * word, and the source line with a caret under the column.
 */
#ifndef VMCISIM_SCEN_DIAG_H
#define VMCISIM_SCEN_DIAG_H

#include <stddef.h>

/* Edit distance (insert, delete, substitute, swap of neighbours) between a and b, or limit + 1
 * when it is above limit. */
size_t scen_edit_distance(const char *a, size_t an, const char *b, size_t bn, size_t limit);

/* Keeps the closest candidate to word seen so far (ties: the first); call once per candidate,
 * then read best (NULL: nothing close enough). */
struct scen_suggest {
    const char *word;
    size_t wlen;
    const char *best;
    size_t best_len;
    size_t best_dist;
};
void scen_suggest_init(struct scen_suggest *sg, const char *word, size_t wlen);
void scen_suggest_offer(struct scen_suggest *sg, const char *cand, size_t clen);
/* Offers every word of a message such as "a statement (socket, bind, listen)" or "on or off":
 * runs of letters, digits, '-' and '_' of two characters or more. */
void scen_suggest_offer_words(struct scen_suggest *sg, const char *text);

/* The source line `line` (1-based) of text, and below it a caret under column col, each line
 * indented by four spaces; a line longer than fits is shown as a window around the column
 * with "..." at the cut ends. A malloc'd string, or NULL. */
char *scen_source_excerpt(const char *text, size_t len, int line, int col);

#endif
