/*
 * stats.c - medians and percentiles. A median of a few runs resists the one run that a
 * page-cache flush or a migrated thread spoiled, where a mean would not.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "stats.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    assert(n >= 1);
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_quantile(double *v, size_t n, double q)
{
    assert(n >= 1 && q >= 0 && q <= 1);
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]);
}

uint64_t bench_percentile_u64(uint64_t *v, size_t n, double p)
{
    assert(n >= 1 && p > 0 && p <= 100);
    qsort(v, n, sizeof *v, cmp_u64);
    size_t rank = (size_t)ceil(p / 100.0 * (double)n); /* 1-based nearest rank */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

void bench_minmax(const double *v, size_t n, double *min, double *max)
{
    assert(n >= 1);
    *min = *max = v[0];
    for (size_t i = 1; i < n; i++) {
        if (v[i] < *min)
            *min = v[i];
        if (v[i] > *max)
            *max = v[i];
    }
}
