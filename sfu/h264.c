#include "parley/h264.h"

/* Calls visit() for each NAL unit carried: its type, and the bytes that follow its header
 * (for an FU-A fragment: after the FU header; `start` says whether it is the first fragment).
 * Returns the number of units, or -1 when malformed or unsupported. */
typedef void (*nal_visit)(void *ctx, uint8_t type, bool start, const uint8_t *body, size_t len);

static int walk(const uint8_t *p, size_t len, nal_visit visit, void *ctx)
{
    if (!p || len < 1)
        return -1;
    uint8_t type = p[0] & 0x1F;
    switch (type) {
    case PL_H264_STAP_A: {
        /* One header octet, then (16-bit size, NAL unit) pairs up to the end exactly. */
        size_t pos = 1;
        int n = 0;
        if (pos >= len)
            return -1; /* an aggregate of nothing */
        while (pos < len) {
            if (len - pos < 2)
                return -1;
            size_t sz = ((size_t)p[pos] << 8) | p[pos + 1];
            pos += 2;
            if (sz == 0 || sz > len - pos)
                return -1;
            visit(ctx, p[pos] & 0x1F, true, p + pos + 1, sz - 1);
            pos += sz;
            n++;
        }
        return n;
    }
    case PL_H264_FU_A: {
        /* FU indicator, then FU header |S|E|R| Type |. */
        if (len < 2)
            return -1;
        visit(ctx, p[1] & 0x1F, (p[1] & 0x80) != 0, p + 2, len - 2);
        return 1;
    }
    case 25: /* STAP-B */
    case 26: /* MTAP16 */
    case 27: /* MTAP24 */
    case 29: /* FU-B */
        return -1;
    default: /* a single NAL unit packet (1..23; 0, 30, 31 are left to the decoder) */
        visit(ctx, type, true, p + 1, len - 1);
        return 1;
    }
}

struct key_ctx {
    bool key;
};

static void key_visit(void *ctx, uint8_t type, bool start, const uint8_t *body, size_t len)
{
    struct key_ctx *k = ctx;
    if (!start || len == 0) /* a unit with nothing after its header is no key frame */
        return;
    if (type == PL_H264_NAL_SPS)
        k->key = true;
    /* An IDR picture may have several slices; only its first one starts the frame. The slice
     * header opens with first_mb_in_slice, ue(v): its first bit is 1 exactly when it is 0. */
    if (type == PL_H264_NAL_IDR && (body[0] & 0x80))
        k->key = true;
}

bool pl_h264_is_keyframe(const uint8_t *payload, size_t len)
{
    struct key_ctx k = {false};
    if (walk(payload, len, key_visit, &k) < 0)
        return false;
    return k.key;
}

struct types_ctx {
    uint8_t *types;
    int max;
    int n;
};

static void types_visit(void *ctx, uint8_t type, bool start, const uint8_t *body, size_t len)
{
    (void)start, (void)body, (void)len;
    struct types_ctx *t = ctx;
    if (t->types && t->n < t->max)
        t->types[t->n] = type;
    t->n++;
}

int pl_h264_nal_types(const uint8_t *payload, size_t len, uint8_t *types, int max)
{
    struct types_ctx t = {types, max, 0};
    return walk(payload, len, types_visit, &t);
}
