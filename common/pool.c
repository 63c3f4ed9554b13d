/* Slab pool: buffers are carved from slabs of per_slab buffers each, 16-byte aligned, and
 * recycled through an intrusive free list. Slabs are only freed by pl_pool_destroy. */
#include "parley/pool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POOL_ALIGN 16

struct pl_pool_slab {
    struct pl_pool_slab *next;
    size_t count;
};

/* The slab header is padded so the first buffer stays aligned. */
#define SLAB_HEADER (((sizeof(struct pl_pool_slab) + POOL_ALIGN - 1) / POOL_ALIGN) * POOL_ALIGN)

static size_t stride(const struct pl_pool *p)
{
    size_t s = p->buf_size < sizeof(void *) ? sizeof(void *) : p->buf_size;
    return (s + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
}

int pl_pool_init(struct pl_pool *p, size_t buf_size, size_t per_slab, size_t max_count)
{
    memset(p, 0, sizeof *p);
    if (buf_size == 0 || per_slab == 0 || max_count == 0 || buf_size > SIZE_MAX / 2)
        return -1;
    p->buf_size = buf_size;
    p->per_slab = per_slab < max_count ? per_slab : max_count;
    p->max_count = max_count;
    if (p->per_slab > (SIZE_MAX - SLAB_HEADER) / stride(p))
        return -1;
    return 0;
}

static void push_free(struct pl_pool *p, void *buf)
{
    memcpy(buf, &p->free_list, sizeof(void *)); /* memcpy: no aliasing assumptions */
    p->free_list = buf;
}

static int grow(struct pl_pool *p)
{
    size_t n = p->max_count - p->allocated;
    if (n > p->per_slab)
        n = p->per_slab;
    size_t st = stride(p);
    size_t bytes = SLAB_HEADER + n * st; /* bounded by the check in pl_pool_init */
    struct pl_pool_slab *slab = aligned_alloc(POOL_ALIGN, bytes);
    if (!slab)
        return -1;
    slab->next = p->slabs;
    slab->count = n;
    p->slabs = slab;
    p->allocated += n;
    /* Push in reverse so buffers come out in address order. */
    unsigned char *base = (unsigned char *)slab + SLAB_HEADER;
    for (size_t i = n; i-- > 0;)
        push_free(p, base + i * st);
    return 0;
}

void *pl_pool_get(struct pl_pool *p)
{
    if (!p->free_list) {
        if (p->allocated >= p->max_count || grow(p) != 0)
            return NULL;
    }
    void *buf = p->free_list;
    memcpy(&p->free_list, buf, sizeof(void *));
    p->in_use++;
    return buf;
}

void pl_pool_put(struct pl_pool *p, void *buf)
{
    if (!buf)
        return;
    push_free(p, buf);
    p->in_use--;
}

void pl_pool_destroy(struct pl_pool *p)
{
    struct pl_pool_slab *s = p->slabs;
    while (s) {
        struct pl_pool_slab *next = s->next;
        free(s);
        s = next;
    }
    memset(p, 0, sizeof *p);
}
