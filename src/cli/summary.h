/*
 * summary.h - the end of a sweep in a few lines: how many runs passed and failed, which
 * (file, seed) failed with the command that replays each, and the rate. `vmcisim run` fills it
 * as results come in; `vmcisim report` fills it from the JSON Lines of many shards.
 */
#ifndef VMCISIM_CLI_SUMMARY_H
#define VMCISIM_CLI_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SUMMARY_SHOW_FAILED 50   /* failing runs listed by name; the rest are counted */

struct summary_failure {
    char *file;
    uint64_t seed;
    char *message;
    char *replay;
};

struct summary_file {           /* per scenario file */
    char *file;
    size_t runs, failed;
};

struct sweep_summary {
    size_t runs, passed, failed;
    struct summary_failure *fail;   /* the first SUMMARY_SHOW_FAILED failures, in order */
    size_t nfail;
    struct summary_file *files;
    size_t nfiles;
};

void summary_init(struct sweep_summary *s);
/* One result; strings are copied. 0, or -1 out of memory (the result is still counted). */
int summary_add(struct sweep_summary *s, const char *file, uint64_t seed, int passed,
                const char *message, const char *replay);
/* The closing lines. seconds < 0: no rate (merged shards). total: the runs planned (0: as
 * many as were added); fewer added than planned says the sweep was interrupted. */
void summary_print(const struct sweep_summary *s, FILE *out, double seconds, size_t total);
void summary_free(struct sweep_summary *s);

#endif
