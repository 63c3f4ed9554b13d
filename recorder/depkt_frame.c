/* What every depacketizer shares: the frame buffer, and dispatch by codec. */
#include <stdlib.h>
#include <string.h>

#include "depkt_int.h"
#include "parley/depkt.h"

void pl_depkt_frame_free(struct pl_depkt_frame *f)
{
    free(f->data);
    memset(f, 0, sizeof(*f));
}

void depkt_frame_reset(struct pl_depkt_frame *f)
{
    f->len = 0;
    f->keyframe = false;
    f->width = f->height = 0;
    f->profile = 0;
    f->bit_depth = 8;
    f->chroma = 1;
    f->sps_len = f->pps_len = 0;
    f->samples = 0;
}

/* A frame larger than this is refused (a 4K key frame is well under it). */
#define FRAME_MAX (8u << 20)

int depkt_append(struct pl_depkt_frame *f, const uint8_t *p, size_t n)
{
    if (n > FRAME_MAX || f->len > FRAME_MAX - n)
        return -1;
    if (f->len + n > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + n)
            cap *= 2;
        uint8_t *d = realloc(f->data, cap);
        if (!d)
            return -1;
        f->data = d;
        f->cap = cap;
    }
    if (n)
        memcpy(f->data + f->len, p, n);
    f->len += n;
    return 0;
}

int pl_depkt_frame(enum pl_rec_codec c, const struct pl_depkt_pkt *p, size_t n,
                   struct pl_depkt_frame *f)
{
    switch (c) {
    case PL_REC_VP8: return pl_depkt_vp8(p, n, f);
    case PL_REC_VP9: return pl_depkt_vp9(p, n, f);
    case PL_REC_H264: return pl_depkt_h264(p, n, f);
    case PL_REC_OPUS: return pl_depkt_opus(p, n, f);
    }
    return -1;
}

bool pl_depkt_starts_frame(enum pl_rec_codec c, const uint8_t *payload, size_t len)
{
    switch (c) {
    case PL_REC_VP8: return depkt_vp8_starts(payload, len, false);
    case PL_REC_VP9: return depkt_vp9_starts(payload, len, false);
    case PL_REC_H264: return depkt_h264_starts(payload, len, false);
    case PL_REC_OPUS: return len > 0;
    }
    return false;
}

bool pl_depkt_starts_keyframe(enum pl_rec_codec c, const uint8_t *payload, size_t len)
{
    switch (c) {
    case PL_REC_VP8: return depkt_vp8_starts(payload, len, true);
    case PL_REC_VP9: return depkt_vp9_starts(payload, len, true);
    case PL_REC_H264: return depkt_h264_starts(payload, len, true);
    case PL_REC_OPUS: return len > 0;
    }
    return false;
}
