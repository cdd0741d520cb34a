/* plot.h - `vmcisim bench --html FILE`: the results as two charts in one self-contained page
 * (inline SVG, no script, no network): throughput against write size, one line per transport,
 * direction, queue and placement, the baselines among them; and the vmci stream's throughput
 * against its queue size, one line per write size, beside the socketpair baseline. */
#ifndef VMCISIM_BENCH_PLOT_H
#define VMCISIM_BENCH_PLOT_H

#include <stddef.h>

#include "bench.h"

/* 0, or -1 with errno set (the file could not be written). */
int bench_write_html(const char *path, const struct bench_result *res, size_t n, double load_before,
                     double load_after);

#endif
