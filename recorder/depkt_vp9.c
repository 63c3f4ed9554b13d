/* VP9 depacketizer (RFC 9628, flexible and non-flexible mode). A picture is one or more layer
 * frames (B..E, one per spatial layer); several become one superframe (VP9 bitstream spec,
 * Annex B) so the sample stays one decodable unit. Key frames give size, profile and bit
 * depth from the uncompressed header. */
#include <string.h>

#include "depkt_int.h"

/* First octet: |I|P|L|F|B|E|V|Z| */
#define VP9_I 0x80
#define VP9_P 0x40
#define VP9_L 0x20
#define VP9_F 0x10
#define VP9_B 0x08
#define VP9_E 0x04
#define VP9_V 0x02

struct vp9_desc {
    size_t len;
    bool inter;  /* P */
    bool begin;  /* B */
    bool end;    /* E */
    uint8_t sid;
};

static int vp9_desc_parse(const uint8_t *p, size_t len, struct vp9_desc *d)
{
    memset(d, 0, sizeof(*d));
    if (!p || len < 1)
        return -1;
    size_t pos = 1;
    uint8_t b = p[0];
    d->inter = (b & VP9_P) != 0;
    d->begin = (b & VP9_B) != 0;
    d->end = (b & VP9_E) != 0;
    if (b & VP9_I) {
        if (pos >= len)
            return -1;
        pos += (p[pos] & 0x80) ? 2 : 1;
    }
    if (b & VP9_L) {
        if (pos >= len)
            return -1;
        d->sid = (p[pos] >> 1) & 0x07;
        pos += 1;
        if (!(b & VP9_F))
            pos += 1; /* TL0PICIDX */
    }
    if ((b & VP9_F) && (b & VP9_P)) {
        /* Up to 3 P_DIFF octets, N (low bit) says another follows. */
        for (int i = 0;; i++) {
            if (pos >= len || i == 3)
                return -1;
            bool more = p[pos++] & 1;
            if (!more)
                break;
        }
    }
    if (b & VP9_V) {
        if (pos >= len)
            return -1;
        uint8_t ss = p[pos++];
        unsigned ns = (ss >> 5) + 1u;
        if (ss & 0x10)
            pos += 4 * ns; /* WIDTH, HEIGHT per spatial layer */
        if (ss & 0x08) {
            if (pos >= len)
                return -1;
            unsigned ng = p[pos++];
            for (unsigned i = 0; i < ng; i++) {
                if (pos >= len)
                    return -1;
                unsigned r = (p[pos] >> 2) & 0x03;
                pos += 1 + r;
            }
        }
    }
    if (pos >= len) /* no VP9 data */
        return -1;
    d->len = pos;
    return 0;
}

bool depkt_vp9_starts(const uint8_t *p, size_t len, bool key)
{
    struct vp9_desc d;
    if (vp9_desc_parse(p, len, &d) != 0 || !d.begin || d.sid != 0)
        return false;
    return !key || !d.inter;
}

struct bits {
    const uint8_t *p;
    size_t len, pos; /* pos in bits */
    bool over;
};

static unsigned bit(struct bits *b)
{
    if (b->pos >= b->len * 8) {
        b->over = true;
        return 0;
    }
    unsigned v = (b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1;
    b->pos++;
    return v;
}

static unsigned bitsn(struct bits *b, int n)
{
    unsigned v = 0;
    while (n--)
        v = v << 1 | bit(b);
    return v;
}

/* Uncompressed header of a key frame (VP9 spec 6.2): profile, bit depth, subsampling, size.
 * 1 when it is a key frame, 0 when not, -1 when malformed. */
static int vp9_key_header(const uint8_t *p, size_t len, struct pl_depkt_frame *f)
{
    struct bits b = {p, len, 0, false};
    if (bitsn(&b, 2) != 2)
        return -1;
    unsigned lo = bit(&b), hi = bit(&b);
    unsigned profile = hi << 1 | lo;
    if (profile == 3 && bit(&b))
        return -1;
    if (bit(&b)) /* show_existing_frame */
        return b.over ? -1 : 0;
    if (bit(&b) != 0) /* frame_type: 0 = key */
        return b.over ? -1 : 0;
    bit(&b); /* show_frame */
    bit(&b); /* error_resilient_mode */
    if (bitsn(&b, 24) != 0x498342)
        return -1;
    unsigned depth = 8;
    if (profile >= 2)
        depth = bit(&b) ? 12 : 10;
    unsigned cs = bitsn(&b, 3);
    unsigned chroma = 1;
    if (cs != 7) {
        bit(&b); /* color_range */
        if (profile == 1 || profile == 3) {
            unsigned sx = bit(&b), sy = bit(&b);
            bit(&b);
            chroma = (sx && sy) ? 1 : (sx ? 2 : 3);
        }
    } else {
        chroma = 3;
        if (profile == 1 || profile == 3)
            bit(&b);
    }
    unsigned w = bitsn(&b, 16) + 1, h = bitsn(&b, 16) + 1;
    if (b.over || w > 0xffff || h > 0xffff) /* MP4 sizes are 16-bit */
        return -1;
    f->profile = (uint8_t)profile;
    f->bit_depth = (uint8_t)depth;
    f->chroma = (uint8_t)chroma;
    f->width = (uint16_t)w;
    f->height = (uint16_t)h;
    return 1;
}

#define VP9_MAX_LAYERS 8

int pl_depkt_vp9(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f)
{
    depkt_frame_reset(f);
    if (n == 0)
        return -1;
    size_t layer_len[VP9_MAX_LAYERS];
    size_t layers = 0, layer_start = 0;
    bool open = false;
    for (size_t i = 0; i < n; i++) {
        struct vp9_desc d;
        if (vp9_desc_parse(p[i].payload, p[i].len, &d) != 0)
            return -1;
        if (d.begin == open) /* B inside an open frame, or a packet outside any frame */
            return -1;
        if (d.begin) {
            if (layers == VP9_MAX_LAYERS)
                return -1;
            if (layers == 0)
                f->keyframe = !d.inter && d.sid == 0;
            open = true;
            layer_start = f->len;
        }
        if (depkt_append(f, p[i].payload + d.len, p[i].len - d.len) != 0)
            return -1;
        if (d.end) {
            layer_len[layers++] = f->len - layer_start;
            open = false;
        }
    }
    if (open || layers == 0)
        return -1;
    if (f->keyframe && vp9_key_header(f->data, layer_len[0], f) != 1)
        return -1;
    if (layers > 1) {
        /* Superframe index: marker, 4-byte little-endian sizes, marker. */
        uint8_t idx[2 + 4 * VP9_MAX_LAYERS];
        size_t k = 0;
        uint8_t marker = (uint8_t)(0xc0 | (3 << 3) | (layers - 1));
        idx[k++] = marker;
        for (size_t i = 0; i < layers; i++) {
            uint32_t s = (uint32_t)layer_len[i];
            idx[k++] = (uint8_t)s;
            idx[k++] = (uint8_t)(s >> 8);
            idx[k++] = (uint8_t)(s >> 16);
            idx[k++] = (uint8_t)(s >> 24);
        }
        idx[k++] = marker;
        if (depkt_append(f, idx, k) != 0)
            return -1;
    }
    return 0;
}
