/* A real VP8 stream: a moving test pattern (colour bars, a sweeping box, a frame counter
 * pattern) encoded with libvpx in real-time mode, one frame per call. */
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "client_int.h"
#include "parley/log.h"

struct pl_vp8_source {
    vpx_codec_ctx_t codec;
    vpx_image_t img;
    int width, height, fps;
    uint32_t frame;
};

struct pl_vp8_source *pl_vp8_source_new(int width, int height, int fps, int bitrate)
{
    struct pl_vp8_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->width = width & ~1;
    s->height = height & ~1;
    s->fps = fps;
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
        goto fail;
    cfg.g_w = (unsigned)s->width;
    cfg.g_h = (unsigned)s->height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = fps;
    cfg.rc_target_bitrate = (unsigned)(bitrate / 1000);
    cfg.rc_end_usage = VPX_CBR;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.g_lag_in_frames = 0;
    cfg.g_threads = 1;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_max_dist = (unsigned)fps * 3;
    cfg.rc_dropframe_thresh = 0;
    if (vpx_codec_enc_init(&s->codec, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
        PL_ERROR("client", "libvpx: %s", vpx_codec_error(&s->codec));
        goto fail;
    }
    vpx_codec_control(&s->codec, VP8E_SET_CPUUSED, 12); /* fastest real-time speed */
    if (!vpx_img_alloc(&s->img, VPX_IMG_FMT_I420, (unsigned)s->width, (unsigned)s->height, 16)) {
        vpx_codec_destroy(&s->codec);
        goto fail;
    }
    return s;
fail:
    free(s);
    return NULL;
}

void pl_vp8_source_free(struct pl_vp8_source *s)
{
    if (!s)
        return;
    vpx_codec_destroy(&s->codec);
    vpx_img_free(&s->img);
    free(s);
}

/* Eight vertical colour bars (BT.601 Y, U, V) with a white box moving across. */
static void draw(struct pl_vp8_source *s)
{
    static const uint8_t bars[8][3] = {
        {235, 128, 128}, {210, 16, 146}, {170, 166, 16}, {145, 54, 34},
        {106, 202, 222}, {81, 90, 240},  {41, 240, 110}, {16, 128, 128},
    };
    vpx_image_t *im = &s->img;
    int box = s->height / 4;
    int bx = (int)(s->frame * 4 % (unsigned)(s->width - box));
    int by = s->height / 2 - box / 2;
    for (int y = 0; y < s->height; y++) {
        uint8_t *row = im->planes[0] + y * im->stride[0];
        for (int x = 0; x < s->width; x++) {
            bool in_box = x >= bx && x < bx + box && y >= by && y < by + box;
            row[x] = in_box ? 255 : bars[x * 8 / s->width][0];
        }
    }
    for (int y = 0; y < s->height / 2; y++) {
        uint8_t *u = im->planes[1] + y * im->stride[1];
        uint8_t *v = im->planes[2] + y * im->stride[2];
        for (int x = 0; x < s->width / 2; x++) {
            bool in_box = 2 * x >= bx && 2 * x < bx + box && 2 * y >= by && 2 * y < by + box;
            const uint8_t *b = bars[2 * x * 8 / s->width];
            u[x] = in_box ? 128 : b[1];
            v[x] = in_box ? 128 : b[2];
        }
    }
}

int pl_vp8_source_next(struct pl_vp8_source *s, bool force_key, uint8_t *out, size_t cap,
                       bool *key)
{
    draw(s);
    vpx_enc_frame_flags_t flags = force_key ? VPX_EFLAG_FORCE_KF : 0;
    if (vpx_codec_encode(&s->codec, &s->img, s->frame++, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) {
        PL_ERROR("client", "libvpx encode: %s", vpx_codec_error(&s->codec));
        return -1;
    }
    vpx_codec_iter_t iter = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    size_t len = 0;
    *key = false;
    while ((pkt = vpx_codec_get_cx_data(&s->codec, &iter)) != NULL) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        if (len + pkt->data.frame.sz > cap)
            return -1;
        memcpy(out + len, pkt->data.frame.buf, pkt->data.frame.sz);
        len += pkt->data.frame.sz;
        *key = *key || (pkt->data.frame.flags & VPX_FRAME_IS_KEY);
    }
    return (int)len;
}
