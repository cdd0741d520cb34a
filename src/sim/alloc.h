/*
 * alloc.h - every heap allocation of the library goes through these, so that a test can make
 * any one allocation site fail on purpose (as SQLite's test_malloc.c does) and check that each
 * failure ends in a clean error: ENOMEM, a failed vmcisim_create, a failed scenario line.
 *
 * The macros record the call site (file and line). Memory is released with plain free().
 */
#ifndef VMCISIM_ALLOC_H
#define VMCISIM_ALLOC_H

#include <stddef.h>

void *vmcisim_malloc_at(size_t n, const char *file, int line,
                  const char *func);
void *vmcisim_calloc_at(size_t nmemb, size_t size, const char *file, int line,
                  const char *func);
void *vmcisim_realloc_at(void *p, size_t n, const char *file, int line,
                  const char *func);
char *vmcisim_strdup_at(const char *s, const char *file, int line,
                  const char *func);

#define vmcisim_malloc(n) vmcisim_malloc_at((n), __FILE__, __LINE__, __func__)
#define vmcisim_calloc(m, n) vmcisim_calloc_at((m), (n), __FILE__, __LINE__, __func__)
#define vmcisim_realloc(p, n) vmcisim_realloc_at((p), (n), __FILE__, __LINE__, __func__)
#define vmcisim_strdup(s) vmcisim_strdup_at((s), __FILE__, __LINE__, __func__)

/* The grow-an-array pattern: room for element `len` of an array of `*cap` elements of `elem`
 * bytes, doubling from min_cap. Returns the array (moved or not; *cap updated), or NULL with
 * the array and *cap unchanged when there is no memory or the size would overflow. */
void *vmcisim_grow_at(void *arr, size_t *cap, size_t len, size_t elem, size_t min_cap,
                      const char *file, int line,
                  const char *func);
#define vmcisim_grow(arr, cap, len, min_cap)                                                     \
    vmcisim_grow_at((arr), (cap), (len), sizeof *(arr), (min_cap), __FILE__, __LINE__, __func__)

/* ---- failure injection (tests only) ------------------------------------------------------------ */

/* Called once per allocation with its site; returns nonzero to make that allocation fail. */
typedef int (*vmcisim_alloc_hook)(const char *file, int line, const char *func, void *ctx);
/* Install (or, with NULL, remove) the hook. Not thread-safe against running worlds: set it while
 * no world runs. */
void vmcisim_alloc_set_hook(vmcisim_alloc_hook hook, void *ctx);

#endif
