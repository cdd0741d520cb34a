/*
 * alloc.c - the library's one way to allocate (alloc.h), with the failure hook of the
 * allocation-failure sweep (tests/test_alloc_failure.c).
 */
#define _GNU_SOURCE
#include "sim/alloc.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static vmcisim_alloc_hook g_hook;
static void *g_hook_ctx;

void vmcisim_alloc_set_hook(vmcisim_alloc_hook hook, void *ctx)
{
    g_hook = hook;
    g_hook_ctx = ctx;
}

/* Whether the hook fails this allocation; a failure looks like the C library's (ENOMEM). */
static int fails(const char *file, int line,
                  const char *func)
{
    vmcisim_alloc_hook h = g_hook;
    if (h && h(file, line, func, g_hook_ctx)) {
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *vmcisim_malloc_at(size_t n, const char *file, int line,
                  const char *func)
{
    return fails(file, line, func) ? NULL : malloc(n);
}

void *vmcisim_calloc_at(size_t nmemb, size_t size, const char *file, int line,
                  const char *func)
{
    return fails(file, line, func) ? NULL : calloc(nmemb, size);
}

void *vmcisim_realloc_at(void *p, size_t n, const char *file, int line,
                  const char *func)
{
    return fails(file, line, func) ? NULL : realloc(p, n);
}

void *vmcisim_grow_at(void *arr, size_t *cap, size_t len, size_t elem, size_t min_cap,
                      const char *file, int line,
                  const char *func)
{
    assert(len <= *cap && elem > 0 && min_cap > 0);
    if (len < *cap)
        return arr;
    size_t nc = *cap ? *cap : min_cap;
    while (nc <= len) {
        if (nc > SIZE_MAX / 2)
            return NULL;
        nc *= 2;
    }
    if (nc > SIZE_MAX / elem) {
        errno = ENOMEM;
        return NULL;
    }
    void *a = vmcisim_realloc_at(arr, nc * elem, file, line, func);
    if (a)
        *cap = nc;
    return a;
}

char *vmcisim_strdup_at(const char *s, const char *file, int line,
                  const char *func)
{
    return fails(file, line, func) ? NULL : strdup(s);
}
