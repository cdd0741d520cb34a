/* output.h - print results as an aligned table, JSON Lines or CSV. */
#ifndef VMCISIM_BENCH_OUTPUT_H
#define VMCISIM_BENCH_OUTPUT_H

#include <stdio.h>

#include "bench.h"

enum bench_format { BENCH_FMT_TABLE, BENCH_FMT_JSON, BENCH_FMT_CSV };

/* Prints the results that ran (res[i].ok); failed cases were reported on stderr already. */
void bench_print(FILE *f, enum bench_format fmt, const struct bench_result *res, size_t n);

#endif
