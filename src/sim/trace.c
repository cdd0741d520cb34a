/*
 * trace.c - the world's trace: one line per simulated event, hashed as it is written.
 *
 * A record is "<seconds>.<nanoseconds> <vm>/<cid> <thread> <event> <arguments>". The hash
 * (64-bit FNV-1a over every record's bytes, newline included) is what vmcisim_trace_hash
 * returns, so two runs with equal hashes wrote byte-identical traces. Records must never carry
 * heap addresses or wall-clock values in deterministic mode.
 *
 * Presentation (sim_trace_rich): a record may say more to a person than the hash covers - the
 * script's name of a descriptor, a state's name instead of its number, the first bytes of a
 * payload. Such text sits between SIM_TR_SHOW and SIM_TR_END and only the readable trace gets
 * it; text between SIM_TR_HIDE and SIM_TR_END (the number a name replaces) is hashed and given
 * to taps but not written. So the hashed record of every event is what it was before names
 * existed, and users' recorded hashes stay valid.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim/world_internal.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define TRACE_LINE_MAX 1024
#define TRACE_RICH_MAX (2 * TRACE_LINE_MAX) /* a rich record's raw text, presentation included */

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

/* A rich record's arguments, formatted with their presentation markers into buf (rlen bytes):
 * the hashed text is appended to line at *off (at most cap - 1 - *off bytes, as plain
 * formatting would have cut it), the shown text is compacted in place in buf. Returns the
 * shown length. */
static size_t split_rich(char *buf, size_t rlen, char *line, size_t *off, size_t cap)
{
    size_t s = 0, o = *off;
    int mode = 0; /* 0 both, 1 shown only, 2 hashed only */
    for (size_t i = 0; i < rlen; i++) {
        char ch = buf[i];
        if (ch == SIM_TR_SHOW[0] || ch == SIM_TR_HIDE[0] || ch == SIM_TR_END[0]) {
            mode = ch == SIM_TR_SHOW[0] ? 1 : ch == SIM_TR_HIDE[0] ? 2 : 0;
            continue;
        }
        if (mode != 1 && o + 1 < cap)
            line[o++] = ch;
        if (mode != 2)
            buf[s++] = ch; /* s <= i: never ahead of what is read */
    }
    assert(o < cap && s <= rlen);
    *off = o;
    return s;
}

/* Writes the shown form of a rich record: the head line[0, head) and the shown arguments,
 * trailing spaces trimmed as the hashed form's are. */
static void write_shown(FILE *fp, const char *line, size_t head, const char *args, size_t alen)
{
    while (alen > 0 && args[alen - 1] == ' ')
        alen--;
    if (alen == 0)
        while (head > 0 && line[head - 1] == ' ')
            head--;
    fwrite(line, 1, head, fp);
    fwrite(args, 1, alen, fp);
    fputc('\n', fp);
}

static void trace_emit(vmcisim *sim, const vmcisim_vm *vm, const char *thread, const char *event,
                       bool rich, const char *fmt, va_list ap)
{
    /* Realtime runs are not reproducible, so their hash proves nothing: unless the user asked
     * for the text, count the record and skip formatting it (it was a fifth of the data path). */
    if (!sim_trace_formats(sim)) {
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
    size_t head = off;
    char shown[TRACE_RICH_MAX]; /* rich records: the raw, then the shown arguments */
    size_t shown_len = 0;
    int n;
    if (fmt && rich) {
        n = vsnprintf(shown, sizeof shown, fmt, ap);
        size_t rlen = n < 0 ? 0 : (size_t)n >= sizeof shown ? sizeof shown - 1 : (size_t)n;
        shown_len = split_rich(shown, rlen, line, &off, sizeof line);
    } else if (fmt && off < sizeof line - 1) {
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
    if (sim->trace_fp && sim_trace_filter_keeps(sim->trace_filter, vm, thread, event)) {
        if (rich) {
            write_shown(sim->trace_fp, line, head, shown, shown_len);
        } else {
            fwrite(line, 1, off, sim->trace_fp);
        }
    }
    if (sim->trace_tap)
        sim->trace_tap(sim->trace_tap_ctx, now, event, line, off - 1);
}

void sim_set_trace_tap(vmcisim *sim, sim_trace_tap_fn fn, void *ctx)
{
    sim->trace_tap = fn;
    sim->trace_tap_ctx = ctx;
}

static void sim_vtrace(vmcisim *sim, const char *event, bool rich, const char *fmt, va_list ap)
{
    sim_thread *self = sim_self();
    if (self && self->sim == sim)
        trace_emit(sim, self->vm, self->name, event, rich, fmt, ap);
    else
        trace_emit(sim, NULL, "main", event, rich, fmt, ap);
}

void sim_trace(vmcisim *sim, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_vtrace(sim, event, false, fmt, ap);
    va_end(ap);
}

void sim_trace_rich(vmcisim *sim, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_vtrace(sim, event, true, fmt, ap);
    va_end(ap);
}

bool sim_trace_formats(const vmcisim *sim)
{
    return !sim->realtime || sim->trace_fp || sim->trace_tap; /* as trace_emit decides */
}

size_t sim_trace_payload_max(const vmcisim *sim) { return sim->trace_fp ? sim->trace_payload : 0; }

const char *sim_tr_num(char buf[SIM_TR_NUM_MAX], long long v, const char *name)
{
    if (name)
        snprintf(buf, SIM_TR_NUM_MAX, SIM_TR_HIDE "%lld" SIM_TR_END SIM_TR_SHOW "%.40s" SIM_TR_END,
                 v, name);
    else
        snprintf(buf, SIM_TR_NUM_MAX, "%lld", v);
    return buf;
}

/* ---- the script's names for descriptors ---------------------------------------------------- */

void sim_trace_name_next_fd(const char *name)
{
    sim_thread *self = sim_self();
    if (!self)
        return;
    snprintf(self->fd_name_next, sizeof self->fd_name_next, "%s", name ? name : "");
}

bool sim_trace_take_fd_name(char out[SIM_NAME_MAX])
{
    sim_thread *self = sim_self();
    if (!self || !self->fd_name_next[0])
        return false;
    memcpy(out, self->fd_name_next, SIM_NAME_MAX);
    self->fd_name_next[0] = 0;
    return true;
}

void sim_trace_vm(vmcisim *sim, const vmcisim_vm *vm, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_thread *self = sim_self();
    trace_emit(sim, vm, self && self->sim == sim ? self->name : "main", event, false, fmt, ap);
    va_end(ap);
}

void trace_init(vmcisim *sim)
{
    sim->trace_hash = FNV_OFFSET;
}
