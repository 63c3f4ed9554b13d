/* Open addressing with linear probing. Deleted slots hold a tombstone so probe chains stay
 * intact; the table is rebuilt when live + tombstones would pass 70% of capacity. */
#include "parley/hashmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A private address: no caller can pass it as a value. */
static char tombstone_byte;
#define PL_MAP_TOMBSTONE ((void *)&tombstone_byte)

#define MIN_CAP 8

uint64_t pl_hash_u64(uint64_t x)
{
    /* splitmix64: golden-ratio increment, then its finalizer. */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t pl_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return pl_hash_u64(h);
}

static size_t round_pow2(size_t n)
{
    size_t c = MIN_CAP;
    while (c < n && c <= SIZE_MAX / 2)
        c <<= 1;
    return c;
}

static int alloc_slots(struct pl_map *m, size_t cap)
{
    if (cap > SIZE_MAX / sizeof(struct pl_map_entry))
        return -1;
    struct pl_map_entry *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    m->slots = s;
    m->cap = cap;
    m->count = 0;
    m->used = 0;
    return 0;
}

int pl_map_init(struct pl_map *m, size_t initial_cap)
{
    memset(m, 0, sizeof *m);
    return alloc_slots(m, round_pow2(initial_cap));
}

void pl_map_destroy(struct pl_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Index of key's slot, or SIZE_MAX when absent. */
static size_t find(const struct pl_map *m, uint64_t key)
{
    if (!m->slots)
        return SIZE_MAX;
    size_t mask = m->cap - 1;
    size_t i = (size_t)pl_hash_u64(key) & mask;
    for (size_t n = 0; n < m->cap; n++, i = (i + 1) & mask) {
        const struct pl_map_entry *e = &m->slots[i];
        if (e->value == NULL)
            return SIZE_MAX;
        if (e->value != PL_MAP_TOMBSTONE && e->key == key)
            return i;
    }
    return SIZE_MAX;
}

void *pl_map_get(const struct pl_map *m, uint64_t key)
{
    size_t i = find(m, key);
    return i == SIZE_MAX ? NULL : m->slots[i].value;
}

/* Places a key known to be absent into the first empty or deleted slot of its chain. */
static void insert_new(struct pl_map *m, uint64_t key, void *value)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)pl_hash_u64(key) & mask;
    while (m->slots[i].value != NULL && m->slots[i].value != PL_MAP_TOMBSTONE)
        i = (i + 1) & mask;
    if (m->slots[i].value == NULL)
        m->used++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->count++;
}

/* Rebuilds the table without tombstones; doubles it unless live entries use under 35%. */
static int rehash(struct pl_map *m, size_t need)
{
    size_t cap = m->cap;
    while (need * 20 > cap * 7) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap <<= 1;
    }
    struct pl_map old = *m;
    if (alloc_slots(m, cap) != 0) {
        *m = old;
        return -1;
    }
    for (size_t i = 0; i < old.cap; i++) {
        void *v = old.slots[i].value;
        if (v != NULL && v != PL_MAP_TOMBSTONE)
            insert_new(m, old.slots[i].key, v);
    }
    free(old.slots);
    return 0;
}

int pl_map_put(struct pl_map *m, uint64_t key, void *value)
{
    if (value == NULL)
        return -1;
    if (!m->slots && alloc_slots(m, MIN_CAP) != 0)
        return -1;
    size_t i = find(m, key);
    if (i != SIZE_MAX) {
        m->slots[i].value = value;
        return 0;
    }
    if ((m->used + 1) * 10 > m->cap * 7 && rehash(m, m->count + 1) != 0)
        return -1;
    insert_new(m, key, value);
    return 0;
}

void *pl_map_remove(struct pl_map *m, uint64_t key)
{
    size_t i = find(m, key);
    if (i == SIZE_MAX)
        return NULL;
    void *old = m->slots[i].value;
    size_t mask = m->cap - 1;
    m->count--;
    if (m->slots[(i + 1) & mask].value != NULL) {
        m->slots[i].value = PL_MAP_TOMBSTONE;
        return old;
    }
    /* The next slot is empty, so no chain runs through this one: empty it, and the
     * tombstones right before it, which now also end in an empty slot. */
    do {
        m->slots[i].value = NULL;
        m->used--;
        i = (i - 1) & mask;
    } while (m->slots[i].value == PL_MAP_TOMBSTONE);
    return old;
}

int pl_map_next(const struct pl_map *m, size_t *iter, uint64_t *key, void **value)
{
    for (size_t i = *iter; i < m->cap; i++) {
        void *v = m->slots[i].value;
        if (v != NULL && v != PL_MAP_TOMBSTONE) {
            if (key)
                *key = m->slots[i].key;
            if (value)
                *value = v;
            *iter = i + 1;
            return 1;
        }
    }
    *iter = m->cap;
    return 0;
}
