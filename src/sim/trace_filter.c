/*
 * trace_filter.c - which records of the readable trace are written (vmcisim_config.trace_filter,
 * VMCISIM_TRACE_FILTER, `vmcisim run --trace-filter`). The filter chooses only what is written
 * to the text: every record is still hashed, so a filtered trace has the run's own hash.
 *
 * A filter is comma-separated terms: vm=NAME, proc=NAME (the thread's name: a process, a
 * kernel worker), event=KIND to keep only those kinds, -event=KIND to hide a kind (e.g.
 * -event=sched). Terms of one key are alternatives; different keys must all hold.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/world_internal.h"

#define FILTER_TERMS_MAX 32
#define FILTER_WORD_MAX 64

enum term_key { T_VM, T_PROC, T_EVENT, T_NOT_EVENT };

struct trace_filter {
    size_t n;
    struct {
        enum term_key key;
        char word[FILTER_WORD_MAX];
    } t[FILTER_TERMS_MAX];
};

int sim_trace_filter_parse(const char *text, struct trace_filter **out)
{
    *out = NULL;
    if (!text || !*text)
        return 0;
    struct trace_filter *f = vmcisim_calloc(1, sizeof *f);
    if (!f)
        return -ENOMEM;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || f->n == FILTER_TERMS_MAX) {
            free(f);
            return -EINVAL;
        }
        size_t kl = (size_t)(eq - p), wl = len - kl - 1;
        enum term_key key;
        if (kl == 2 && memcmp(p, "vm", 2) == 0)
            key = T_VM;
        else if (kl == 4 && memcmp(p, "proc", 4) == 0)
            key = T_PROC;
        else if (kl == 5 && memcmp(p, "event", 5) == 0)
            key = T_EVENT;
        else if (kl == 6 && memcmp(p, "-event", 6) == 0)
            key = T_NOT_EVENT;
        else {
            free(f);
            return -EINVAL;
        }
        if (wl == 0 || wl >= FILTER_WORD_MAX) {
            free(f);
            return -EINVAL;
        }
        f->t[f->n].key = key;
        memcpy(f->t[f->n].word, eq + 1, wl);
        f->t[f->n].word[wl] = 0;
        f->n++;
        p += len + (end ? 1 : 0);
    }
    assert(f->n > 0 && f->n <= FILTER_TERMS_MAX);
    *out = f;
    return 0;
}

bool sim_trace_filter_keeps(const struct trace_filter *f, const vmcisim_vm *vm,
                            const char *thread, const char *event)
{
    if (!f)
        return true;
    bool has[3] = {false, false, false}, hit[3] = {false, false, false};
    const char *vm_name = vm ? vm->name : "-";
    for (size_t i = 0; i < f->n; i++) {
        const char *w = f->t[i].word;
        switch (f->t[i].key) {
        case T_NOT_EVENT:
            if (strcmp(w, event) == 0)
                return false;
            break;
        case T_VM:
            has[0] = true;
            hit[0] |= strcmp(w, vm_name) == 0;
            break;
        case T_PROC:
            has[1] = true;
            hit[1] |= strcmp(w, thread) == 0;
            break;
        case T_EVENT:
            has[2] = true;
            hit[2] |= strcmp(w, event) == 0;
            break;
        }
    }
    for (int k = 0; k < 3; k++)
        if (has[k] && !hit[k])
            return false;
    return true;
}

void sim_trace_filter_free(struct trace_filter *f) { free(f); }
