/* VP8 frames from RTP payloads (RFC 7741): concatenates the VP8 data of the packets of one
 * timestamp, checks that no sequence number is missing, emits on the marker bit. After any
 * loss it drops frames until the next key frame (a decoder could not use them). */
#include "parley/client_media.h"

#include <stdlib.h>
#include <string.h>

#include "parley/rtp.h"
#include "parley/vp8.h"

int pl_vp8_asm_init(struct pl_vp8_assembler *a, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->buf = malloc(cap);
    if (!a->buf)
        return -1;
    a->cap = cap;
    a->need_key = true;
    return 0;
}

void pl_vp8_asm_free(struct pl_vp8_assembler *a)
{
    free(a->buf);
    a->buf = NULL;
}

int pl_vp8_asm_push(struct pl_vp8_assembler *a, uint16_t seq, uint32_t ts, bool marker,
                    const uint8_t *payload, size_t len, pl_vp8_frame_fn cb, void *user)
{
    struct pl_vp8_desc d;
    if (pl_vp8_parse(payload, len, &d) != 0)
        return -1;
    if (a->have_seq && pl_seq_newer(a->next_seq, seq))
        return 0; /* late or duplicate packet (a retransmission we no longer need) */
    bool gap = a->have_seq && seq != a->next_seq;
    a->have_seq = true;
    a->next_seq = (uint16_t)(seq + 1);
    if (gap)
        a->need_key = true; /* a whole frame may be gone: later frames refer to it */
    if (d.start_of_frame) {
        if (a->in_frame)
            a->dropped++; /* the previous frame never saw its marker */
        a->in_frame = true;
        a->broken = false;
        a->len = 0;
        a->ts = ts;
        if (d.keyframe)
            a->need_key = false;
    } else if (!a->in_frame || gap || ts != a->ts) {
        a->broken = true;
    }
    if (!a->in_frame)
        return 0;
    size_t n = len - d.desc_len;
    if (a->len + n > a->cap) {
        a->broken = true;
    } else {
        memcpy(a->buf + a->len, payload + d.desc_len, n);
        a->len += n;
    }
    if (!marker)
        return 0;
    a->in_frame = false;
    if (a->broken) {
        a->need_key = true;
        a->dropped++;
        return 0;
    }
    if (a->need_key) {
        a->dropped++;
        return 0;
    }
    bool key = a->len >= 3 && (a->buf[0] & 1) == 0;
    a->frames++;
    cb(user, a->buf, a->len, a->ts, key);
    return 1;
}
