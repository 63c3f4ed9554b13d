/* Growable byte buffer with big-endian writers and box nesting. An allocation failure sets
 * err and makes every later write a no-op, so callers check once at the end. */
#include <stdlib.h>
#include <string.h>

#include "parley/bytes.h"
#include "parley/mp4.h"

void pl_buf_free(struct pl_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static bool reserve(struct pl_buf *b, size_t n)
{
    if (b->err)
        return false;
    if (n > SIZE_MAX / 4 - b->len) {
        b->err = true;
        return false;
    }
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->err = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void pl_buf_put(struct pl_buf *b, const void *d, size_t n)
{
    if (!n || !reserve(b, n))
        return;
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

void pl_buf_zero(struct pl_buf *b, size_t n)
{
    if (!n || !reserve(b, n))
        return;
    memset(b->p + b->len, 0, n);
    b->len += n;
}

void pl_buf_u8(struct pl_buf *b, uint8_t v) { pl_buf_put(b, &v, 1); }

void pl_buf_u16(struct pl_buf *b, uint16_t v)
{
    uint8_t x[2];
    pl_wr16(x, v);
    pl_buf_put(b, x, 2);
}

void pl_buf_u32(struct pl_buf *b, uint32_t v)
{
    uint8_t x[4];
    pl_wr32(x, v);
    pl_buf_put(b, x, 4);
}

void pl_buf_u64(struct pl_buf *b, uint64_t v)
{
    uint8_t x[8];
    pl_wr64(x, v);
    pl_buf_put(b, x, 8);
}

size_t pl_box_open(struct pl_buf *b, const char *type)
{
    size_t at = b->len;
    pl_buf_u32(b, 0);
    pl_buf_put(b, type, 4);
    return at;
}

size_t pl_fullbox_open(struct pl_buf *b, const char *type, uint8_t version, uint32_t flags)
{
    size_t at = pl_box_open(b, type);
    pl_buf_u32(b, (uint32_t)version << 24 | (flags & 0xffffff));
    return at;
}

void pl_box_close(struct pl_buf *b, size_t at)
{
    if (b->err || at + 8 > b->len)
        return;
    pl_wr32(b->p + at, (uint32_t)(b->len - at));
}

void pl_mp4_track_free(struct pl_mp4_track *t)
{
    free(t->entry);
    free(t->s);
    free(t->c);
    memset(t, 0, sizeof(*t));
}

int pl_mp4_track_add_sample(struct pl_mp4_track *t, const struct pl_mp4_sample *s)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct pl_mp4_sample *n = realloc(t->s, cap * sizeof(*n));
        if (!n)
            return -1;
        t->s = n;
        t->cap = cap;
    }
    t->s[t->n++] = *s;
    return 0;
}
