/* heap.c - the min-heap of deadlines shared by the scheduler and the event loops (heap.h). */
#include "sim/alloc.h"
#include "sim/heap.h"

#include <assert.h>
#include <stdlib.h>

static bool less(const struct sim_heap_node *a, const struct sim_heap_node *b)
{
    return a->key < b->key || (a->key == b->key && a->tie < b->tie);
}

static void put(struct sim_heap *h, size_t i, struct sim_heap_node *n)
{
    h->a[i] = n;
    n->idx = i;
}

static void up(struct sim_heap *h, size_t i)
{
    struct sim_heap_node *n = h->a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(n, h->a[p]))
            break;
        put(h, i, h->a[p]);
        i = p;
    }
    put(h, i, n);
}

static void down(struct sim_heap *h, size_t i)
{
    struct sim_heap_node *n = h->a[i];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = l;
        if (l >= h->len)
            break;
        if (r < h->len && less(h->a[r], h->a[l]))
            m = r;
        if (!less(h->a[m], n))
            break;
        put(h, i, h->a[m]);
        i = m;
    }
    put(h, i, n);
}

int sim_heap_push(struct sim_heap *h, struct sim_heap_node *n)
{
    assert(n->idx == SIM_HEAP_NONE);
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        struct sim_heap_node **a = vmcisim_realloc(h->a, cap * sizeof *a);
        if (!a)
            return -1;
        h->a = a;
        h->cap = cap;
    }
    put(h, h->len++, n);
    up(h, n->idx);
    return 0;
}

void sim_heap_remove(struct sim_heap *h, struct sim_heap_node *n)
{
    size_t i = n->idx;
    if (i == SIM_HEAP_NONE)
        return;
    assert(i < h->len && h->a[i] == n);
    h->len--;
    if (i != h->len) {
        struct sim_heap_node *m = h->a[h->len];
        put(h, i, m);
        down(h, i);
        up(h, m->idx);
    }
    n->idx = SIM_HEAP_NONE;
}

void sim_heap_free(struct sim_heap *h)
{
    free(h->a);
    h->a = NULL;
    h->len = h->cap = 0;
}
