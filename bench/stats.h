/* stats.h - order statistics for the figures: medians over runs, percentiles over samples. */
#ifndef VMCISIM_BENCH_STATS_H
#define VMCISIM_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Median of n values (n >= 1); the mean of the two middle ones when n is even. Sorts v. */
double bench_median(double *v, size_t n);

/* Quantile q (0..1) of n values (n >= 1) by linear interpolation between the closest ranks
 * (as R's type 7 and numpy's default). Sorts v. */
double bench_quantile(double *v, size_t n, double q);

/* Nearest-rank percentile p (0 < p <= 100) of n samples (n >= 1). Sorts v. */
uint64_t bench_percentile_u64(uint64_t *v, size_t n, double p);

/* Smallest and largest of n values (n >= 1). */
void bench_minmax(const double *v, size_t n, double *min, double *max);

#endif
