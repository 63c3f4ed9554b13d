/* Per-IP and per-credential rate limits: token buckets (rate per second, burst = 2 s worth) in
 * a fixed table of this instance: 4-way sets indexed by a hash of the key, so two busy keys
 * that share a set keep their own buckets; a new key takes the set's least recently used way
 * and starts with a full bucket, so the table never grows. Nodes presenting the node key are
 * not limited. Limits are per instance: N instances allow N times the rate. */
#include <string.h>

#include "ctl_int.h"

#define SLOTS 4096
#define WAYS 4

struct bucket {
    uint64_t key;
    double tokens;
    uint64_t last_ms;
};

struct rate_table {
    struct bucket b[SLOTS];
};

static struct rate_table ip_table, key_table;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h | 1; /* never 0: 0 marks an empty slot */
}

/* Takes a token; false when the bucket is empty. rate <= 0 disables the limit. */
static bool take(struct rate_table *t, const char *key, int rate, uint64_t now_ms)
{
    if (rate <= 0)
        return true;
    uint64_t h = fnv1a(key);
    struct bucket *set = &t->b[(h % (SLOTS / WAYS)) * WAYS];
    struct bucket *b = NULL, *lru = &set[0];
    for (int i = 0; i < WAYS && !b; i++) {
        if (set[i].key == h)
            b = &set[i];
        else if (set[i].key == 0 || (lru->key != 0 && set[i].last_ms < lru->last_ms))
            lru = &set[i];
    }
    double burst = 2.0 * rate;
    if (!b) {
        b = lru;
        b->key = h;
        b->tokens = burst;
        b->last_ms = now_ms;
    }
    b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_ms = now_ms;
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

bool ctl_rate_allow(struct ctl_req *r)
{
    const struct pl_ctl_config *cfg = &r->ctl->cfg;
    uint64_t now = uv_now(r->ctl->loop);
    if (!take(&ip_table, r->ip, cfg->rate_ip, now))
        return false;
    if (r->bearer && *r->bearer && !take(&key_table, r->bearer, cfg->rate_key, now))
        return false;
    return true;
}
