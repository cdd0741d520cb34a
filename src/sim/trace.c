/*
 * trace.c - the world's trace: one line per simulated event, hashed as it is written.
 *
 * A record is "<seconds>.<nanoseconds> <vm>/<cid> <thread> <event> <arguments>". The hash
 * (64-bit FNV-1a over every record's bytes, newline included) is what vmcisim_trace_hash
 * returns, so two runs with equal hashes wrote byte-identical traces. Records must never carry
 * heap addresses or wall-clock values in deterministic mode.
 */
#include <stdarg.h>
#include <string.h>

#include "sim/world_internal.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define TRACE_LINE_MAX 1024

/* Decimal digits of v, at least `width` of them (zero-padded); returns their count (<= 20). */
static size_t put_u64(char *out, uint64_t v, int width)
{
    char tmp[20];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k < width)
        tmp[k++] = '0';
    for (int i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    return (size_t)k;
}

/* Appends s at off, leaving room for the rest of the head (names are at most SIM_NAME_MAX). */
static size_t put_str(char *line, size_t off, const char *s)
{
    size_t l = strlen(s);
    if (l > TRACE_LINE_MAX / 4)
        l = TRACE_LINE_MAX / 4;
    memcpy(line + off, s, l);
    return off + l;
}

static void trace_emit(vmcisim *sim, const vmcisim_vm *vm, const char *thread, const char *event,
                       const char *fmt, va_list ap)
{
    /* Realtime runs are not reproducible, so their hash proves nothing: unless the user asked
     * for the text, count the record and skip formatting it (it was a fifth of the data path). */
    if (sim->realtime && !sim->trace_fp && !sim->trace_tap) {
        sim->trace_count++;
        return;
    }
    char line[TRACE_LINE_MAX];
    uint64_t now = sim->realtime ? sim_now(sim) : sim->now;
    /* The record's head by hand: the same bytes "%llu.%09llu %s/%u %s %s " gives, without
     * printf's format parsing on every record (the head is most of a record). */
    size_t off = put_u64(line, now / 1000000000ull, 0);
    line[off++] = '.';
    off += put_u64(line + off, now % 1000000000ull, 9);
    line[off++] = ' ';
    if (vm) {
        off = put_str(line, off, vm->name);
        line[off++] = '/';
        off += put_u64(line + off, vm->cid, 0);
    } else {
        off = put_str(line, off, "-/-");
    }
    line[off++] = ' ';
    off = put_str(line, off, thread);
    line[off++] = ' ';
    off = put_str(line, off, event);
    line[off++] = ' ';
    int n;
    if (fmt && off < sizeof line - 1) {
        n = vsnprintf(line + off, sizeof line - off, fmt, ap);
        if (n > 0)
            off += (size_t)n >= sizeof line - off ? sizeof line - off - 1 : (size_t)n;
    }
    while (off > 0 && line[off - 1] == ' ')
        off--;
    line[off++] = '\n';
    uint64_t h = sim->trace_hash;
    for (size_t i = 0; i < off; i++) {
        h ^= (unsigned char)line[i];
        h *= FNV_PRIME;
    }
    sim->trace_hash = h;
    sim->trace_count++;
    if (sim->trace_fp && sim_trace_filter_keeps(sim->trace_filter, vm, thread, event))
        fwrite(line, 1, off, sim->trace_fp);
    if (sim->trace_tap)
        sim->trace_tap(sim->trace_tap_ctx, now, event, line, off - 1);
}

void sim_set_trace_tap(vmcisim *sim, sim_trace_tap_fn fn, void *ctx)
{
    sim->trace_tap = fn;
    sim->trace_tap_ctx = ctx;
}

static void sim_vtrace(vmcisim *sim, const char *event, const char *fmt, va_list ap)
{
    sim_thread *self = sim_self();
    if (self && self->sim == sim)
        trace_emit(sim, self->vm, self->name, event, fmt, ap);
    else
        trace_emit(sim, NULL, "main", event, fmt, ap);
}

void sim_trace(vmcisim *sim, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_vtrace(sim, event, fmt, ap);
    va_end(ap);
}

void sim_trace_vm(vmcisim *sim, const vmcisim_vm *vm, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_thread *self = sim_self();
    trace_emit(sim, vm, self && self->sim == sim ? self->name : "main", event, fmt, ap);
    va_end(ap);
}

void trace_init(vmcisim *sim)
{
    sim->trace_hash = FNV_OFFSET;
}
