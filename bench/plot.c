/*
 * plot.c - the bench's results as SVG charts in one HTML page (plot.h). Both axes are
 * logarithmic: write sizes go from 64 B to 1 MiB and throughputs over three decades.
 */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 760
#define H 420
#define L 70    /* left margin: the y labels */
#define R 250   /* right margin: the legend */
#define T 20
#define B 50

struct series {
    char key[96];
    size_t idx[16];   /* result indexes, by increasing x */
    size_t n;
};

static const char *const colours[] = {"#1f5fbf", "#2a9d3a", "#c77c00", "#b5179e", "#d00000",
                                      "#6a4c93", "#00838f", "#7f7f7f", "#8d6e00", "#3f51b5",
                                      "#e65100", "#2e7d32"};

static void esc(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        default: fputc(*s, f);
        }
}

static double lx(double v, double lo, double hi)
{
    return L + (log(v) - log(lo)) / (log(hi) - log(lo)) * (W - L - R);
}

static double ly(double v, double lo, double hi)
{
    return H - B - (log(v) - log(lo)) / (log(hi) - log(lo)) * (H - T - B);
}

static void size_label(char *buf, size_t n, double v)
{
    if (v >= 1048576)
        snprintf(buf, n, "%g MiB", v / 1048576);
    else if (v >= 1024)
        snprintf(buf, n, "%g KiB", v / 1024);
    else
        snprintf(buf, n, "%g B", v);
}

/* One chart: every series as a polyline (a lone point as a dot) over log-log axes. x is the
 * write size or the queue size of each result, y its GB/s. */
static void chart(FILE *f, const char *title, const struct bench_result *res,
                  const struct series *s, size_t ns, int x_is_queue)
{
    double xlo = INFINITY, xhi = 0, ylo = INFINITY, yhi = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t k = 0; k < s[i].n; k++) {
            const struct bench_result *r = &res[s[i].idx[k]];
            double x = x_is_queue ? (double)r->queue_size : (double)r->bc->msg_size;
            xlo = fmin(xlo, x);
            xhi = fmax(xhi, x);
            ylo = fmin(ylo, r->median);
            yhi = fmax(yhi, r->median);
        }
    if (ns == 0 || !(xhi > 0) || !(yhi > 0)) {
        fprintf(f, "<h2>");
        esc(f, title);
        fprintf(f, "</h2><p>No rows of this kind were run.</p>\n");
        return;
    }
    if (xhi <= xlo)
        xhi = xlo * 2;
    ylo = pow(10, floor(log10(ylo)));
    yhi = pow(10, ceil(log10(yhi)));
    if (yhi <= ylo)
        yhi = ylo * 10;
    fprintf(f, "<h2>");
    esc(f, title);
    fprintf(f, "</h2>\n<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"%d\">\n", W, H);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#999\"/>\n", L, T, W - L - R, H - T - B);
    for (double y = ylo; y <= yhi * 1.0001; y *= 10) {   /* decades of GB/s */
        double py = ly(y, ylo, yhi);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g GB/s</text>\n",
                L, py, W - R, py, L - 4, py + 4, y);
    }
    for (double x = xlo; x <= xhi * 1.0001; x *= 4) {
        char lab[32];
        size_label(lab, sizeof lab, x);
        double px = lx(x, xlo, xhi);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                px, T, px, H - B, px, H - B + 16, lab);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (L + W - R) / 2,
            H - 10, x_is_queue ? "queue size (per direction)" : "bytes per write");
    for (size_t i = 0; i < ns; i++) {
        const char *c = colours[i % (sizeof colours / sizeof colours[0])];
        int dashed = strstr(s[i].key, "socketpair") || strstr(s[i].key, "pipe") ||
                     strstr(s[i].key, "tcp") || strstr(s[i].key, "spsc") ||
                     strstr(s[i].key, "memcpy");
        fprintf(f, "<g class=\"series\" data-key=\"");
        esc(f, s[i].key);
        fprintf(f, "\"><title>");
        esc(f, s[i].key);
        fprintf(f, "</title>");
        if (s[i].n > 1) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", c,
                    dashed ? " stroke-dasharray=\"6 3\"" : "");
            for (size_t k = 0; k < s[i].n; k++) {
                const struct bench_result *r = &res[s[i].idx[k]];
                double x = x_is_queue ? (double)r->queue_size : (double)r->bc->msg_size;
                fprintf(f, "%.1f,%.1f ", lx(x, xlo, xhi), ly(r->median, ylo, yhi));
            }
            fprintf(f, "\"/>");
        }
        for (size_t k = 0; k < s[i].n; k++) {
            const struct bench_result *r = &res[s[i].idx[k]];
            double x = x_is_queue ? (double)r->queue_size : (double)r->bc->msg_size;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%.3f GB/s"
                       "</title></circle>", lx(x, xlo, xhi), ly(r->median, ylo, yhi), c,
                    r->median);
        }
        double ly0 = T + 14 + 16.0 * (double)i;
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/><text class=\"legend\" x=\"%d\" y=\"%.1f\">",
                W - R + 10, ly0, W - R + 30, ly0, c, dashed ? " stroke-dasharray=\"6 3\"" : "",
                W - R + 36, ly0 + 4);
        esc(f, s[i].key);
        fprintf(f, "</text></g>\n");
    }
    fprintf(f, "</svg>\n");
}

/* Adds result i to the series called key, kept in increasing x. */
static void add(struct series *s, size_t *ns, size_t cap, const char *key,
                const struct bench_result *res, size_t i, int x_is_queue)
{
    size_t j = 0;
    while (j < *ns && strcmp(s[j].key, key) != 0)
        j++;
    if (j == *ns) {
        if (*ns == cap)
            return;
        memset(&s[j], 0, sizeof s[j]);
        snprintf(s[j].key, sizeof s[j].key, "%s", key);
        (*ns)++;
    }
    if (s[j].n == sizeof s[j].idx / sizeof s[j].idx[0])
        return;
    double x = x_is_queue ? (double)res[i].queue_size : (double)res[i].bc->msg_size;
    size_t k = s[j].n++;
    while (k > 0) {
        const struct bench_result *p = &res[s[j].idx[k - 1]];
        double px = x_is_queue ? (double)p->queue_size : (double)p->bc->msg_size;
        if (px <= x)
            break;
        s[j].idx[k] = s[j].idx[k - 1];
        k--;
    }
    s[j].idx[k] = i;
}

int bench_write_html(const char *path, const struct bench_result *res, size_t n, double load_before,
                     double load_after)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    struct series by_size[24], by_queue[8];
    size_t nsize = 0, nqueue = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        if (!r->ok || r->bc->kind != BENCH_THROUGHPUT || r->bc->msg_size == 0 || !(r->median > 0))
            continue;
        char key[96];
        const char *tail = strrchr(r->bc->name, '/');
        /* the series is the case name without its write size: transport/kind-and-variant */
        snprintf(key, sizeof key, "%.*s", tail ? (int)(tail - r->bc->name) : 90, r->bc->name);
        add(by_size, &nsize, sizeof by_size / sizeof by_size[0], key, res, i, 0);
        if (strcmp(r->bc->transport, "vmci-stream") == 0 && strstr(r->bc->name, "tput-g2h") &&
            !strstr(r->bc->name, "-x")) {
            char qkey[64];
            snprintf(qkey, sizeof qkey, "vmci-stream g2h, %zu-byte writes", r->bc->msg_size);
            add(by_queue, &nqueue, sizeof by_queue / sizeof by_queue[0], qkey, res, i, 1);
        }
        if (strcmp(r->bc->transport, "unix-socketpair") == 0 && r->bc->cpus == 2 &&
            (r->bc->msg_size == 4096 || r->bc->msg_size == 65536)) {
            char qkey[64];   /* the baseline, at the queue size it has */
            snprintf(qkey, sizeof qkey, "socketpair, %zu-byte writes", r->bc->msg_size);
            add(by_queue, &nqueue, sizeof by_queue / sizeof by_queue[0], qkey, res, i, 1);
        }
    }
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>vmcisim bench"
               "</title><style>body{font-family:sans-serif;margin:16px}h2{font-size:16px}"
               "svg text{font-size:11px;font-family:sans-serif}.legend{font-size:11px}"
               "</style></head><body>\n<h1>vmcisim bench</h1>\n<p>Medians of each row; dashed "
               "lines are the machine's own baselines measured in the same run. Load average "
               "(1 min): %.2f before, %.2f after.</p>\n", load_before, load_after);
    chart(f, "Throughput against write size", res, by_size, nsize, 0);
    chart(f, "vmci stream throughput against queue size", res, by_queue, nqueue, 1);
    fprintf(f, "</body></html>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        errno = EIO;
        return -1;
    }
    return 0;
}
