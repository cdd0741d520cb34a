/*
 * output.c - the three output formats of `vmcisim bench`.
 *
 * JSON Lines and CSV carry the same columns, for machines: the metric of a row's kind
 * (gb_per_s, msgs_per_s, or rtt_ns_p50 + rtt_ns_p99), runs, spread = (Q3 - Q1) / median,
 * min and max of the main metric, ratio (to the row named by ratio_to; ratio_to_socketpair is
 * the same figure under its old name), ratio_to_ring for vmci-stream rows, cpus (how the two
 * sides were pinned), others_cpu and loaded (load.h). Not applicable is
 * null in JSON and an empty field in CSV. The table is for people: human units, aligned.
 */
#include <string.h>

#include "load.h"
#include "output.h"

#define NCOLS 11
#define CELL 96

static const char *metric_unit(const struct bench_case *bc)
{
    switch (bc->kind) {
    case BENCH_THROUGHPUT:
        return "GB/s";
    case BENCH_LATENCY:
        return "ns";
    case BENCH_RATE:
        return bc->unit ? bc->unit : "1/s";
    }
    return "";
}

/* ---- JSON Lines --------------------------------------------------------------------------- */

/* Names and units are ours (registry.c): plain ASCII without quotes or backslashes. */
static void json_row(FILE *f, const struct bench_result *r)
{
    const struct bench_case *bc = r->bc;
    fprintf(f, "{\"name\":\"%s\",\"transport\":\"%s\",\"direction\":\"%s\",\"kind\":\"%s\",",
            bc->name, bc->transport, bc->direction, bench_kind_name(bc->kind));
    if (bc->msg_size)
        fprintf(f, "\"msg_size\":%zu,", bc->msg_size);
    else
        fprintf(f, "\"msg_size\":null,");
    if (r->queue_size)
        fprintf(f, "\"queue_size\":%zu,", r->queue_size);
    else
        fprintf(f, "\"queue_size\":null,");
    if (bc->cpus)
        fprintf(f, "\"cpus\":%d,", bc->cpus);
    else
        fprintf(f, "\"cpus\":null,");
    switch (bc->kind) {
    case BENCH_THROUGHPUT:
        fprintf(f, "\"gb_per_s\":%.4f,", r->median);
        break;
    case BENCH_LATENCY:
        fprintf(f, "\"rtt_ns_p50\":%.0f,\"rtt_ns_p99\":%.0f,", r->median, r->p99_median);
        break;
    case BENCH_RATE:
        fprintf(f, "\"msgs_per_s\":%.0f,", r->median);
        break;
    }
    fprintf(f, "\"unit\":\"%s\",\"runs\":%d,\"spread\":%.4f,\"min\":%.6g,\"max\":%.6g,",
            metric_unit(bc), r->runs, r->spread, r->min, r->max);
    if (r->ratio >= 0)
        fprintf(f, "\"ratio_to\":\"%s\",\"ratio\":%.3f,\"ratio_to_socketpair\":%.3f,",
                r->ratio_to, r->ratio, r->ratio);
    else
        fprintf(f, "\"ratio_to\":null,\"ratio\":null,\"ratio_to_socketpair\":null,");
    if (r->ring_ratio >= 0)
        fprintf(f, "\"ratio_to_ring\":%.3f,", r->ring_ratio);
    else
        fprintf(f, "\"ratio_to_ring\":null,");
    if (r->others_cpu >= 0)
        fprintf(f, "\"others_cpu\":%.3f,\"loaded\":%s,", r->others_cpu,
                r->others_cpu > BENCH_LOADED_SHARE ? "true" : "false");
    else
        fprintf(f, "\"others_cpu\":null,\"loaded\":null,");
    fprintf(f, "\"work_per_run\":%llu}\n", (unsigned long long)r->work);
}

/* ---- CSV ------------------------------------------------------------------------------- */

static const char csv_header[] =
    "name,transport,direction,kind,msg_size,queue_size,cpus,gb_per_s,msgs_per_s,rtt_ns_p50,"
    "rtt_ns_p99,unit,runs,spread,min,max,ratio_to_socketpair,work_per_run,ratio_to,ratio_to_ring,"
    "others_cpu\n";

static void csv_row(FILE *f, const struct bench_result *r)
{
    const struct bench_case *bc = r->bc;
    fprintf(f, "%s,%s,%s,%s,", bc->name, bc->transport, bc->direction,
            bench_kind_name(bc->kind));
    if (bc->msg_size)
        fprintf(f, "%zu", bc->msg_size);
    fputc(',', f);
    if (r->queue_size)
        fprintf(f, "%zu", r->queue_size);
    fputc(',', f);
    if (bc->cpus)
        fprintf(f, "%d", bc->cpus);
    fputc(',', f);
    switch (bc->kind) {
    case BENCH_THROUGHPUT:
        fprintf(f, "%.4f,,,,", r->median);
        break;
    case BENCH_RATE:
        fprintf(f, ",%.0f,,,", r->median);
        break;
    case BENCH_LATENCY:
        fprintf(f, ",,%.0f,%.0f,", r->median, r->p99_median);
        break;
    }
    fprintf(f, "%s,%d,%.4f,%.6g,%.6g,", metric_unit(bc), r->runs, r->spread, r->min, r->max);
    if (r->ratio >= 0)
        fprintf(f, "%.3f", r->ratio);
    fprintf(f, ",%llu,", (unsigned long long)r->work);
    if (r->ratio_to)
        fputs(r->ratio_to, f);
    fputc(',', f);
    if (r->ring_ratio >= 0)
        fprintf(f, "%.3f", r->ring_ratio);
    fputc(',', f);
    if (r->others_cpu >= 0)
        fprintf(f, "%.3f", r->others_cpu);
    fputc('\n', f);
}

/* ---- the table ---------------------------------------------------------------------------- */

static void human_size(char *out, size_t len, size_t n)
{
    if (n == 0)
        snprintf(out, len, "-");
    else if (n >= (1u << 20) && n % (1u << 20) == 0)
        snprintf(out, len, "%zu MiB", n >> 20);
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(out, len, "%zu KiB", n >> 10);
    else
        snprintf(out, len, "%zu B", n);
}

static void human_rate(char *out, size_t len, double v, const char *unit)
{
    if (v >= 1e9)
        snprintf(out, len, "%.2f G %s", v / 1e9, unit);
    else if (v >= 1e6)
        snprintf(out, len, "%.2f M %s", v / 1e6, unit);
    else if (v >= 1e3)
        snprintf(out, len, "%.2f k %s", v / 1e3, unit);
    else
        snprintf(out, len, "%.0f %s", v, unit);
}

static void human_ns(char *out, size_t len, double ns)
{
    if (ns >= 1e6)
        snprintf(out, len, "%.2f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(out, len, "%.2f us", ns / 1e3);
    else
        snprintf(out, len, "%.0f ns", ns);
}

static void table_cells(const struct bench_result *r, char cell[NCOLS][CELL])
{
    const struct bench_case *bc = r->bc;
    char a[32], b[32];
    snprintf(cell[0], CELL, "%s", bc->transport);
    snprintf(cell[1], CELL, "%s", bench_kind_name(bc->kind));
    snprintf(cell[2], CELL, "%s", bc->direction);
    human_size(cell[3], CELL, bc->msg_size);
    human_size(cell[4], CELL, r->queue_size);
    if (bc->cpus)
        snprintf(cell[5], CELL, "%d", bc->cpus);
    else
        snprintf(cell[5], CELL, "-");
    switch (bc->kind) {
    case BENCH_THROUGHPUT:
        snprintf(cell[6], CELL, "%.3f GB/s", r->median);
        break;
    case BENCH_LATENCY:
        human_ns(a, sizeof a, r->median);
        human_ns(b, sizeof b, r->p99_median);
        snprintf(cell[6], CELL, "p50 %s  p99 %s", a, b);
        break;
    case BENCH_RATE:
        human_rate(cell[6], CELL, r->median, metric_unit(bc));
        break;
    }
    snprintf(cell[7], CELL, "%.1f%%", r->spread * 100);
    if (r->ratio >= 0)
        snprintf(cell[8], CELL, "%.2fx", r->ratio);
    else
        snprintf(cell[8], CELL, "-");
    if (r->ring_ratio >= 0)
        snprintf(cell[9], CELL, "%.2fx", r->ring_ratio);
    else
        snprintf(cell[9], CELL, "-");
    if (r->others_cpu >= 0)
        snprintf(cell[10], CELL, "%.0f%%%s", r->others_cpu * 100,
                 r->others_cpu > BENCH_LOADED_SHARE ? " !" : "");
    else
        snprintf(cell[10], CELL, "?");
}

static void table(FILE *f, const struct bench_result *res, size_t n)
{
    static const char *head[NCOLS] = {"transport", "kind",   "direction", "msg",
                                      "queue",     "cpus",   "median",    "spread",
                                      "vs socketpair", "vs ring", "others"};
    /* Numbers right-aligned, words left-aligned. */
    static const int right[NCOLS] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    int width[NCOLS];
    char cell[NCOLS][CELL];
    int runs = 0;
    for (int c = 0; c < NCOLS; c++)
        width[c] = (int)strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        if (!res[i].ok)
            continue;
        runs = res[i].runs;
        table_cells(&res[i], cell);
        for (int c = 0; c < NCOLS; c++)
            if ((int)strlen(cell[c]) > width[c])
                width[c] = (int)strlen(cell[c]);
    }
    fprintf(f, "vmcisim bench: median of %d runs per figure; spread = (Q3 - Q1) / median; "
               "GB = 10^9 bytes; cpus: 2 = one side per CPU, 1 = both on one; vs socketpair: "
               "GB/s over GB/s, round trips p50 over p50; others: CPU share other processes "
               "took meanwhile (! above %.0f%%)\n\n",
            runs, BENCH_LOADED_SHARE * 100);
    for (int c = 0; c < NCOLS; c++)
        fprintf(f, "%s%*s%s", c ? "  " : "", right[c] ? width[c] : -width[c], head[c],
                c == NCOLS - 1 ? "\n" : "");
    for (size_t i = 0; i < n; i++) {
        if (!res[i].ok)
            continue;
        table_cells(&res[i], cell);
        for (int c = 0; c < NCOLS; c++)
            fprintf(f, "%s%*s%s", c ? "  " : "", right[c] ? width[c] : -width[c], cell[c],
                    c == NCOLS - 1 ? "\n" : "");
    }
}

void bench_print(FILE *f, enum bench_format fmt, const struct bench_result *res, size_t n)
{
    if (fmt == BENCH_FMT_TABLE) {
        table(f, res, n);
        return;
    }
    if (fmt == BENCH_FMT_CSV)
        fputs(csv_header, f);
    for (size_t i = 0; i < n; i++)
        if (res[i].ok)
            (fmt == BENCH_FMT_JSON ? json_row : csv_row)(f, &res[i]);
}
