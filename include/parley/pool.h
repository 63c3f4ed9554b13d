/* Fixed-size buffer pool for one thread: no locks, no malloc per get/put once warm.
 * The pool grows in slabs when empty (up to max_count buffers); pl_pool_get returns NULL
 * when max_count buffers are out. */
#ifndef PARLEY_POOL_H
#define PARLEY_POOL_H
#include <stddef.h>

struct pl_pool_slab;

struct pl_pool {
    size_t buf_size;   /* usable bytes per buffer */
    size_t per_slab;   /* buffers allocated at once */
    size_t max_count;  /* hard cap on buffers ever allocated */
    size_t allocated;  /* buffers allocated so far */
    size_t in_use;     /* buffers handed out and not yet returned */
    void *free_list;   /* singly linked through the first bytes of each free buffer */
    struct pl_pool_slab *slabs;
};

int pl_pool_init(struct pl_pool *p, size_t buf_size, size_t per_slab, size_t max_count);
void *pl_pool_get(struct pl_pool *p);
void pl_pool_put(struct pl_pool *p, void *buf);
void pl_pool_destroy(struct pl_pool *p); /* frees every slab */

#endif
