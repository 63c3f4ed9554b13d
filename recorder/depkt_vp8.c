/* VP8 depacketizer (RFC 7741): payloads minus descriptors, joined. The first packet must
 * start partition 0; a key frame must carry a whole 10-byte header (start code, size). */
#include "depkt_int.h"
#include "parley/vp8.h"

bool depkt_vp8_starts(const uint8_t *p, size_t len, bool key)
{
    struct pl_vp8_desc d;
    if (pl_vp8_parse(p, len, &d) != 0 || !d.start_of_frame)
        return false;
    return !key || d.keyframe;
}

int pl_depkt_vp8(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f)
{
    depkt_frame_reset(f);
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct pl_vp8_desc d;
        if (pl_vp8_parse(p[i].payload, p[i].len, &d) != 0)
            return -1;
        if ((i == 0) != d.start_of_frame)
            return -1;
        if (i == 0)
            f->keyframe = d.keyframe;
        if (depkt_append(f, p[i].payload + d.desc_len, p[i].len - d.desc_len) != 0)
            return -1;
    }
    /* Frame tag (RFC 6386 9.1): 19-bit first partition size must fit in the frame. */
    const uint8_t *h = f->data;
    if (f->len < 3)
        return -1;
    uint32_t first_part = ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16) >> 5;
    /* The bitstream's own key frame bit decides (the descriptor parser also wants the start
     * code, and a "delta" frame with P = 0 would break the decoder). */
    f->keyframe = !(h[0] & 1);
    size_t hdr = f->keyframe ? 10 : 3;
    if (f->len < hdr || first_part > f->len - hdr)
        return -1;
    if (f->keyframe) {
        if (h[3] != 0x9d || h[4] != 0x01 || h[5] != 0x2a)
            return -1;
        f->width = (uint16_t)((h[6] | h[7] << 8) & 0x3fff);
        f->height = (uint16_t)((h[8] | h[9] << 8) & 0x3fff);
        if (!f->width || !f->height)
            return -1;
    }
    return 0;
}
