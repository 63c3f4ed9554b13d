/* Test-side RTP packetizers, as WebRTC senders packetize (payloads of at most 1200 bytes):
 * VP8 (RFC 7741, 15-bit picture id), VP9 (RFC 9628 non-flexible, picture id, B/E, P),
 * H.264 (RFC 6184 mode 1: SPS+PPS in a STAP-A, single NAL units, FU-A; AUDs dropped),
 * Opus (one packet per RTP packet). */
#include <string.h>

#include "media.h"
#include "parley/bytes.h"

#define MAX_PAYLOAD 1200

static struct rtp_out *next_pkt(struct rtp_out *out, size_t *n, size_t max, uint8_t pt,
                                uint32_t ssrc, uint32_t ts, uint16_t *seq)
{
    if (*n >= max)
        return NULL;
    struct rtp_out *o = &out[(*n)++];
    o->data[0] = 0x80;
    o->data[1] = pt;
    pl_wr16(o->data + 2, (*seq)++);
    pl_wr32(o->data + 4, ts);
    pl_wr32(o->data + 8, ssrc);
    o->len = 12;
    o->ts = ts;
    return o;
}

static void put(struct rtp_out *o, const void *d, size_t n)
{
    memcpy(o->data + o->len, d, n);
    o->len += n;
}

static size_t vpx(enum pl_rec_codec codec, const struct media_frame *f, uint8_t pt, uint32_t ssrc,
                  uint32_t ts, uint16_t *seq, uint16_t *pic, struct rtp_out *out, size_t max)
{
    size_t n = 0, pos = 0;
    uint16_t id = (uint16_t)((*pic)++ & 0x7fff);
    while (pos < f->len) {
        struct rtp_out *o = next_pkt(out, &n, max, pt, ssrc, ts, seq);
        if (!o)
            return n;
        uint8_t d[4];
        size_t dl;
        size_t chunk = f->len - pos > MAX_PAYLOAD - 4 ? MAX_PAYLOAD - 4 : f->len - pos;
        bool first = pos == 0, last = pos + chunk == f->len;
        if (codec == PL_REC_VP8) {
            d[0] = (uint8_t)(0x80 | (first ? 0x10 : 0)); /* X, S, PID 0 */
            d[1] = 0x80;                                   /* I */
            d[2] = (uint8_t)(0x80 | id >> 8);
            d[3] = (uint8_t)id;
            dl = 4;
        } else {
            d[0] = (uint8_t)(0x80 | (f->key ? 0 : 0x40) | (first ? 0x08 : 0) | (last ? 0x04 : 0));
            d[1] = (uint8_t)(0x80 | id >> 8);
            d[2] = (uint8_t)id;
            dl = 3;
        }
        put(o, d, dl);
        put(o, f->data + pos, chunk);
        pos += chunk;
        if (last)
            o->data[1] |= 0x80;
    }
    return n;
}

/* NAL units of an Annex B access unit. */
static size_t nal_units(const uint8_t *b, size_t len, const uint8_t **nal, size_t *nlen, size_t max)
{
    size_t n = 0, start = SIZE_MAX;
    for (size_t i = 0; i + 3 <= len; i++) {
        if (b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1) {
            if (start != SIZE_MAX && n < max) {
                size_t e = i;
                while (e > start && b[e - 1] == 0)
                    e--;
                nal[n] = b + start;
                nlen[n++] = e - start;
            }
            start = i + 3;
            i += 2;
        }
    }
    if (start != SIZE_MAX && start < len && n < max) {
        nal[n] = b + start;
        nlen[n++] = len - start;
    }
    return n;
}

static size_t h264(const struct media_frame *f, uint8_t pt, uint32_t ssrc, uint32_t ts,
                   uint16_t *seq, struct rtp_out *out, size_t max)
{
    const uint8_t *nal[64];
    size_t nlen[64];
    size_t nn = nal_units(f->data, f->len, nal, nlen, 64), n = 0;
    const uint8_t *sps = NULL, *pps = NULL;
    size_t sl = 0, ppl = 0;
    for (size_t i = 0; i < nn; i++) {
        uint8_t t = nal[i][0] & 0x1f;
        if (t == 7)
            sps = nal[i], sl = nlen[i];
        if (t == 8)
            pps = nal[i], ppl = nlen[i];
    }
    if (sps && pps) { /* parameter sets together in one STAP-A, as browsers send them */
        struct rtp_out *o = next_pkt(out, &n, max, pt, ssrc, ts, seq);
        uint8_t h = 0x78, l[2];
        put(o, &h, 1);
        pl_wr16(l, (uint16_t)sl);
        put(o, l, 2);
        put(o, sps, sl);
        pl_wr16(l, (uint16_t)ppl);
        put(o, l, 2);
        put(o, pps, ppl);
    }
    for (size_t i = 0; i < nn; i++) {
        uint8_t t = nal[i][0] & 0x1f;
        if (t == 9 || ((t == 7 || t == 8) && sps && pps))
            continue;
        if (nlen[i] <= MAX_PAYLOAD) {
            struct rtp_out *o = next_pkt(out, &n, max, pt, ssrc, ts, seq);
            if (!o)
                return n;
            put(o, nal[i], nlen[i]);
            continue;
        }
        size_t pos = 1;
        while (pos < nlen[i]) {
            struct rtp_out *o = next_pkt(out, &n, max, pt, ssrc, ts, seq);
            if (!o)
                return n;
            size_t chunk = nlen[i] - pos > MAX_PAYLOAD - 2 ? MAX_PAYLOAD - 2 : nlen[i] - pos;
            uint8_t fu[2] = {(uint8_t)((nal[i][0] & 0xe0) | 28),
                             (uint8_t)((pos == 1 ? 0x80 : 0) | (pos + chunk == nlen[i] ? 0x40 : 0) | t)};
            put(o, fu, 2);
            put(o, nal[i] + pos, chunk);
            pos += chunk;
        }
    }
    if (n)
        out[n - 1].data[1] |= 0x80;
    return n;
}

size_t rtp_packetize(enum pl_rec_codec codec, const struct media_frame *f, uint8_t pt,
                     uint32_t ssrc, uint32_t ts, uint16_t *seq, uint16_t *pic,
                     struct rtp_out *out, size_t max)
{
    switch (codec) {
    case PL_REC_VP8:
    case PL_REC_VP9: return vpx(codec, f, pt, ssrc, ts, seq, pic, out, max);
    case PL_REC_H264: return h264(f, pt, ssrc, ts, seq, out, max);
    case PL_REC_OPUS: {
        size_t n = 0;
        struct rtp_out *o = next_pkt(out, &n, max, pt, ssrc, ts, seq);
        if (o && f->len <= MAX_PAYLOAD) {
            put(o, f->data, f->len);
            o->data[1] |= 0x80;
        }
        return n;
    }
    }
    return 0;
}
