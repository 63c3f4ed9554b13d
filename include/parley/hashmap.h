/* Open-addressing hash map from a 64-bit key to a pointer, for one thread.
 * Keys are arbitrary u64 (SSRCs, packed addresses, string hashes); value NULL is not allowed. */
#ifndef PARLEY_HASHMAP_H
#define PARLEY_HASHMAP_H
#include <stddef.h>
#include <stdint.h>

struct pl_map_entry {
    uint64_t key;
    void *value; /* NULL: empty; PL_MAP_TOMBSTONE: deleted */
};

struct pl_map {
    struct pl_map_entry *slots;
    size_t cap;   /* power of two */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
};

int pl_map_init(struct pl_map *m, size_t initial_cap);
void pl_map_destroy(struct pl_map *m);
void *pl_map_get(const struct pl_map *m, uint64_t key);
int pl_map_put(struct pl_map *m, uint64_t key, void *value); /* replaces; 0 ok, -1 no memory */
void *pl_map_remove(struct pl_map *m, uint64_t key);        /* returns old value or NULL */

/* Iteration: for (size_t i = 0; pl_map_next(m, &i, &k, &v); ) {...} — no puts while iterating. */
int pl_map_next(const struct pl_map *m, size_t *iter, uint64_t *key, void **value);

uint64_t pl_hash_bytes(const void *data, size_t len); /* FNV-1a 64 then mixed */
uint64_t pl_hash_u64(uint64_t x);

#endif
