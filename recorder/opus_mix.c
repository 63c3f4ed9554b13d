/* The mixed audio track: every Opus track decoded (libopus, mono), summed on the recording's
 * timeline one second at a time, and encoded again as one mono Opus track, so that a player
 * that plays only the first audio track hears everyone. */
#include <opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "rec_int.h"

#define RATE 48000
#define BLOCK RATE /* samples mixed at once */
#define FRAME 960  /* 20 ms output frames */
#define MAX_DEC 5760

struct src {
    const struct pl_mp4_track *t;
    OpusDecoder *dec;
    size_t next;
    float carry[MAX_DEC];
    size_t carry_n;
    int64_t carry_pos;
};

static void add_pcm(float *mix, int64_t block_start, const float *pcm, size_t n, int64_t pos,
                    struct src *s)
{
    for (size_t j = 0; j < n; j++) {
        int64_t at = pos + (int64_t)j - block_start;
        if (at < 0)
            continue;
        if (at >= BLOCK) { /* belongs to the next block */
            size_t rest = n - j;
            memcpy(s->carry, pcm + j, rest * sizeof(float));
            s->carry_n = rest;
            s->carry_pos = pos + (int64_t)j;
            return;
        }
        mix[at] += pcm[j];
    }
}

int rec_opus_mix(const struct pl_mp4_track *t, size_t n, rec_sample_read_fn read, void *ctx,
                 struct pl_mp4_track *out, struct pl_buf *data)
{
    struct src *src = calloc(n ? n : 1, sizeof(*src));
    float *mix = malloc(BLOCK * sizeof(float));
    float *pcm = malloc(MAX_DEC * sizeof(float));
    uint8_t *pkt = malloc(65536);
    int err = 0, rc = -1;
    size_t ns = 0;
    int64_t start = INT64_MAX, end = 0;
    OpusEncoder *enc = NULL;
    memset(out, 0, sizeof(*out));
    if (!src || !mix || !pcm || !pkt)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (t[i].fourcc != PL_FOURCC('O', 'p', 'u', 's') || t[i].timescale != RATE || !t[i].n)
            continue;
        src[ns].t = &t[i];
        src[ns].dec = opus_decoder_create(RATE, 1, &err);
        if (!src[ns].dec)
            goto out;
        int64_t s0 = (int64_t)t[i].s[0].dts - t[i].pre_skip;
        int64_t e = (int64_t)(t[i].s[t[i].n - 1].dts + t[i].s[t[i].n - 1].dur) - t[i].pre_skip;
        if (s0 < start)
            start = s0;
        if (e > end)
            end = e;
        ns++;
    }
    if (ns == 0 || end <= start) {
        rc = 1; /* nothing to mix */
        goto out;
    }
    if (start < 0)
        start = 0;
    enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_AUDIO, &err);
    if (!enc)
        goto out;
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(48000));
    opus_int32 lookahead = 0;
    opus_encoder_ctl(enc, OPUS_GET_LOOKAHEAD(&lookahead));

    out->video = false;
    out->timescale = RATE;
    out->fourcc = PL_FOURCC('O', 'p', 'u', 's');
    snprintf(out->name, sizeof(out->name), "mix");
    out->pre_skip = (uint16_t)lookahead;
    out->roll = -4; /* 80 ms of 20 ms frames */
    struct pl_buf eb = {0};
    struct pl_mp4_entry_desc d = {.codec = PL_REC_OPUS, .channels = 1, .pre_skip = (uint16_t)lookahead};
    if (pl_mp4_sample_entry(&eb, &d) != 0) {
        pl_buf_free(&eb);
        goto out;
    }
    out->entry = eb.p;
    out->entry_len = eb.len;

    /* Encoder input sample k comes out as decoder sample k + lookahead: encode that much
     * longer, and the edit list (pre_skip) hides the head. */
    int64_t total = end - start + lookahead;
    int64_t frames = (total + FRAME - 1) / FRAME;
    int64_t done = 0;
    for (int64_t bs = start; done < frames; bs += BLOCK) {
        memset(mix, 0, BLOCK * sizeof(float));
        for (size_t k = 0; k < ns; k++) {
            struct src *s = &src[k];
            if (s->carry_n) {
                size_t cn = s->carry_n;
                s->carry_n = 0;
                float tmp[MAX_DEC];
                memcpy(tmp, s->carry, cn * sizeof(float));
                add_pcm(mix, bs, tmp, cn, s->carry_pos, s);
            }
            while (s->next < s->t->n) {
                const struct pl_mp4_sample *sm = &s->t->s[s->next];
                int64_t pos = (int64_t)sm->dts - s->t->pre_skip;
                if (pos >= bs + BLOCK)
                    break;
                s->next++;
                if (sm->size > 65536 || read(ctx, sm, pkt) != 0)
                    continue;
                int got = opus_decode_float(s->dec, pkt, (opus_int32)sm->size, pcm, MAX_DEC, 0);
                if (got > 0)
                    add_pcm(mix, bs, pcm, (size_t)got, pos, s);
            }
        }
        for (int64_t f = 0; f < BLOCK / FRAME && done < frames; f++, done++) {
            float *in = mix + f * FRAME;
            for (int j = 0; j < FRAME; j++)
                in[j] = in[j] > 1.0f ? 1.0f : (in[j] < -1.0f ? -1.0f : in[j]);
            uint8_t enc_out[1500];
            opus_int32 len = opus_encode_float(enc, in, FRAME, enc_out, sizeof(enc_out));
            if (len <= 0)
                goto out;
            struct pl_mp4_sample sm = {.dts = (uint64_t)(start + done * FRAME), .off = data->len,
                                       .size = (uint32_t)len, .dur = FRAME, .file = UINT16_MAX,
                                       .sync = true};
            pl_buf_put(data, enc_out, (size_t)len);
            if (data->err || pl_mp4_track_add_sample(out, &sm) != 0)
                goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0)
        PL_ERROR("recorder", "mixing the audio failed");
    if (rc != 0)
        pl_mp4_track_free(out);
    for (size_t i = 0; src && i < ns; i++)
        opus_decoder_destroy(src[i].dec);
    if (enc)
        opus_encoder_destroy(enc);
    free(src);
    free(mix);
    free(pcm);
    free(pkt);
    return rc;
}
