/* VP8 RTP packetization (RFC 7741): one payload descriptor per packet, frames split evenly,
 * and synthetic VP8-shaped frames for load tests (a valid frame tag, so the node's key frame
 * detection and picture id rewriting work on them). */
#include "parley/client_media.h"

#include <string.h>

#define DESC_LEN 6 /* X | I,L,T | M + 15-bit picture id | TL0PICIDX | TID */

int pl_vp8_packetize(const uint8_t *frame, size_t len, uint16_t picture_id, uint8_t tl0picidx,
                     size_t max_payload, uint8_t *buf, pl_vp8_emit_fn emit, void *user)
{
    if (max_payload <= DESC_LEN || len == 0)
        return -1;
    size_t room = max_payload - DESC_LEN;
    size_t n = (len + room - 1) / room;
    size_t each = (len + n - 1) / n; /* even split: no tiny last packet */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t chunk = len - off < each ? len - off : each;
        buf[0] = (uint8_t)(0x80 | (i == 0 ? 0x10 : 0)); /* X, S on the first, PID 0 */
        buf[1] = 0xE0;                                   /* I, L, T */
        buf[2] = (uint8_t)(0x80 | ((picture_id >> 8) & 0x7F));
        buf[3] = (uint8_t)picture_id;
        buf[4] = tl0picidx;
        buf[5] = 0x20; /* TID 0, Y 1 */
        memcpy(buf + DESC_LEN, frame + off, chunk);
        off += chunk;
        emit(user, buf, DESC_LEN + chunk, i == n - 1);
    }
    return (int)n;
}

void pl_vp8_synth_frame(uint8_t *out, size_t len, bool key, int width, int height,
                        uint64_t send_us, uint32_t frame)
{
    size_t head = key ? 10 : 3;
    if (len < head + PL_STAMP_LEN)
        return;
    /* Frame tag (RFC 6386 9.1): P (0 = key frame), version 0, show_frame 1, first partition
     * size (here: everything up to the stamp). */
    uint32_t part = (uint32_t)(len - head - PL_STAMP_LEN) & 0x7FFFF;
    uint32_t tag = (key ? 0u : 1u) | 1u << 4 | part << 5;
    out[0] = (uint8_t)tag;
    out[1] = (uint8_t)(tag >> 8);
    out[2] = (uint8_t)(tag >> 16);
    if (key) {
        out[3] = 0x9d;
        out[4] = 0x01;
        out[5] = 0x2a;
        out[6] = (uint8_t)width;
        out[7] = (uint8_t)((width >> 8) & 0x3F);
        out[8] = (uint8_t)height;
        out[9] = (uint8_t)((height >> 8) & 0x3F);
    }
    /* Filler that does not compress to nothing if someone zips a capture. */
    uint32_t x = frame * 2654435761u + 1;
    for (size_t i = head; i < len - PL_STAMP_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)x;
    }
    pl_stamp_write(out + len - PL_STAMP_LEN, send_us, frame);
}

bool pl_vp8_key_size(const uint8_t *f, size_t len, int *width, int *height)
{
    if (len < 10 || (f[0] & 1) != 0 || f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a)
        return false;
    *width = (f[6] | f[7] << 8) & 0x3FFF;
    *height = (f[8] | f[9] << 8) & 0x3FFF;
    return true;
}
