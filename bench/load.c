/*
 * load.c - CPU time taken by other processes while a case ran (see load.h).
 */
#define _GNU_SOURCE
#include "posix/real.h"
#include "load.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clk_tck(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? (double)t : 100.0;
}

/* Busy jiffies of all CPUs: every field of the "cpu" line but idle and iowait. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 4)
        return -1;
    /* user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
     * inside user/nice */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / clk_tck();
}

/* utime + stime (+ cutime + cstime when children) of /proc/<pid>/stat in jiffies, and its
 * parent's pid; -1 when it cannot be read. */
static long long stat_jiffies(const char *path, bool children, long *ppid)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    long long ut, st, cut, cst;
    long pp;
    if (!p || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %lld %lld",
                     &pp, &ut, &st, &cut, &cst) != 5)
        return -1;
    if (ppid)
        *ppid = pp;
    return ut + st + (children ? cut + cst : 0);
}

/* The CPU time of this process and of its children (the programs `exec` rows start are part of
 * what is measured, not load from others): its own, its reaped children's, and its live
 * children's so far. */
static double self_cpu_s(void)
{
    long long j = stat_jiffies("/proc/self/stat", true, NULL);
    if (j < 0)
        return -1;
    long me = (long)getpid();
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[300];
        long pp = 0;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        long long c = stat_jiffies(path, false, &pp);
        if (c > 0 && pp == me)
            j += c;
    }
    if (d)
        closedir(d);
    return (double)j / clk_tck();
}

void bench_load_mark(struct bench_load_mark *m)
{
    struct timespec ts;
    REAL(clock_gettime)(CLOCK_MONOTONIC, &ts);
    m->wall_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    m->busy_s = machine_busy_s();
    m->self_s = self_cpu_s();
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    m->cpus = c > 0 ? (int)c : 1;
    if (m->self_s < 0)
        m->busy_s = -1;
}

double bench_load_others(const struct bench_load_mark *a, const struct bench_load_mark *b)
{
    double wall = b->wall_s - a->wall_s;
    if (a->busy_s < 0 || b->busy_s < 0 || wall <= 0.05)
        return -1; /* jiffies are 10 ms: too short to say */
    double others = (b->busy_s - a->busy_s) - (b->self_s - a->self_s);
    double share = others / (wall * a->cpus);
    return share < 0 ? 0 : share > 1 ? 1 : share;
}

double bench_loadavg1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}
