#include "parley/vp8.h"

#include <string.h>

/* RFC 7741 section 4.2, first octet: |X|R|N|S|R| PID |; extension octet: |I|L|T|K| RSV |. */
#define VP8_X 0x80
#define VP8_N 0x20
#define VP8_S 0x10
#define VP8_I 0x80
#define VP8_L 0x40
#define VP8_T 0x20
#define VP8_K 0x10
#define VP8_M 0x80

int pl_vp8_parse(const uint8_t *payload, size_t len, struct pl_vp8_desc *out)
{
    memset(out, 0, sizeof(*out));
    if (!payload || len < 1)
        return -1;
    size_t pos = 0;
    uint8_t b0 = payload[pos++];
    out->non_reference = (b0 & VP8_N) != 0;
    out->start_of_partition = (b0 & VP8_S) != 0;
    out->partition_id = b0 & 0x07;
    out->start_of_frame = out->start_of_partition && out->partition_id == 0;

    if (b0 & VP8_X) {
        if (pos >= len)
            return -1;
        uint8_t x = payload[pos++];
        if (x & VP8_I) {
            if (pos >= len)
                return -1;
            out->has_picture_id = true;
            out->picture_id_off = pos;
            if (payload[pos] & VP8_M) {
                if (pos + 2 > len)
                    return -1;
                out->picture_id_15bit = true;
                out->picture_id = (uint16_t)(((payload[pos] & 0x7F) << 8) | payload[pos + 1]);
                pos += 2;
            } else {
                out->picture_id = payload[pos] & 0x7F;
                pos += 1;
            }
        }
        if (x & VP8_L) {
            if (pos >= len)
                return -1;
            out->has_tl0picidx = true;
            out->tl0picidx_off = pos;
            out->tl0picidx = payload[pos++];
        }
        /* T and K share one octet |TID|Y| KEYIDX |, present when either is set. */
        if (x & (VP8_T | VP8_K)) {
            if (pos >= len)
                return -1;
            uint8_t tk = payload[pos++];
            if (x & VP8_T) {
                out->has_tid = true;
                out->tid = tk >> 6;
                out->layer_sync = (tk & 0x20) != 0;
            }
            if (x & VP8_K) {
                out->has_keyidx = true;
                out->keyidx = tk & 0x1F;
            }
        }
    }
    out->desc_len = pos;

    /* A packet must carry some VP8 data; one that starts a frame begins with the 3-octet
     * payload header (RFC 7741 section 4.3). */
    size_t rest = len - pos;
    if (rest == 0)
        return -1;
    if (out->start_of_frame) {
        if (rest < 3)
            return -1;
        const uint8_t *h = payload + pos;
        /* P, the low bit of the first octet, is the inverse key frame flag. A key frame also
         * carries the start code 9d 01 2a and its size (RFC 6386 section 9.1): require them,
         * so that a stray cleared bit does not make us switch layers on a delta frame. */
        out->keyframe = (h[0] & 0x01) == 0 && rest >= 10 && h[3] == 0x9d && h[4] == 0x01 &&
                        h[5] == 0x2a;
    }
    return 0;
}

int pl_vp8_rewrite(uint8_t *payload, size_t len, const struct pl_vp8_desc *d, uint16_t picture_id,
                   uint8_t tl0picidx)
{
    if (!payload || !d)
        return -1;
    /* Check both fields before writing either: no half-rewritten packet on error. The
     * fields never overlap the first descriptor octet. */
    size_t w = d->picture_id_15bit ? 2 : 1;
    if (d->has_picture_id && (len < w || d->picture_id_off < 1 || d->picture_id_off > len - w))
        return -1;
    if (d->has_tl0picidx && (d->tl0picidx_off < 1 || d->tl0picidx_off >= len))
        return -1;
    if (d->has_picture_id) {
        uint8_t *p = payload + d->picture_id_off;
        if (d->picture_id_15bit) {
            p[0] = (uint8_t)(VP8_M | ((picture_id >> 8) & 0x7F));
            p[1] = (uint8_t)picture_id;
        } else {
            p[0] = (uint8_t)(picture_id & 0x7F); /* M stays 0 */
        }
    }
    if (d->has_tl0picidx)
        payload[d->tl0picidx_off] = tl0picidx;
    return 0;
}

/* Signed distance from b to a in a counter of `bits` bits: positive when a is newer. */
static int32_t wrap_delta(uint32_t a, uint32_t b, unsigned bits)
{
    uint32_t mod = 1u << bits;
    uint32_t d = (a - b) & (mod - 1);
    return d >= mod / 2 ? (int32_t)d - (int32_t)mod : (int32_t)d;
}

void pl_vp8_rewrite_map_bits(struct pl_vp8_rewriter *rw, uint16_t in_pid, unsigned pid_bits,
                             uint8_t in_tl0, uint16_t *out_pid, uint8_t *out_tl0)
{
    if (pid_bits != 7)
        pid_bits = 15;
    in_pid &= (uint16_t)((1u << pid_bits) - 1);
    if (!rw->started) {
        /* The first source passes through unchanged. */
        rw->last_in_pid = in_pid;
        rw->last_out_pid = in_pid;
        rw->last_in_tl0 = in_tl0;
        rw->last_out_tl0 = in_tl0;
        rw->started = true;
        rw->resync = false;
    } else if (rw->resync) {
        /* The new source's first packet is the next picture, on temporal layer 0. */
        rw->last_in_pid = in_pid;
        rw->last_out_pid = (uint16_t)((rw->last_out_pid + 1) & 0x7FFF);
        rw->last_in_tl0 = in_tl0;
        rw->last_out_tl0 = (uint8_t)(rw->last_out_tl0 + 1);
        rw->resync = false;
    }
    /* Output moves by as much as the input did since the newest picture sent. Working with
     * distances rather than a fixed offset lets a 7-bit source (wrapping at 128) drive the
     * 15-bit output; late packets map backwards without moving the high-water mark. */
    int32_t dp = wrap_delta(in_pid, rw->last_in_pid, pid_bits);
    int32_t dt = wrap_delta(in_tl0, rw->last_in_tl0, 8);
    *out_pid = (uint16_t)((uint32_t)((int32_t)rw->last_out_pid + dp) & 0x7FFF);
    *out_tl0 = (uint8_t)((int32_t)rw->last_out_tl0 + dt);
    if (dp > 0) {
        rw->last_in_pid = in_pid;
        rw->last_out_pid = *out_pid;
    }
    if (dt > 0) {
        rw->last_in_tl0 = in_tl0;
        rw->last_out_tl0 = *out_tl0;
    }
}
