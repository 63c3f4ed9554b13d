/* A real Opus stream: a sine tone at 48 kHz stereo, 20 ms frames, encoded with libopus. */
#include <math.h>
#include <opus.h>
#include <stdlib.h>

#include "client_int.h"
#include "parley/log.h"

#define RATE 48000
#define FRAME 960 /* 20 ms */

struct pl_opus_source {
    OpusEncoder *enc;
    double phase, step;
    int16_t pcm[FRAME * 2];
};

struct pl_opus_source *pl_opus_source_new(int freq_hz)
{
    struct pl_opus_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    int err;
    s->enc = opus_encoder_create(RATE, 2, OPUS_APPLICATION_AUDIO, &err);
    if (!s->enc) {
        PL_ERROR("client", "libopus: %s", opus_strerror(err));
        free(s);
        return NULL;
    }
    opus_encoder_ctl(s->enc, OPUS_SET_BITRATE(32000));
    s->step = 2.0 * M_PI * freq_hz / RATE;
    return s;
}

void pl_opus_source_free(struct pl_opus_source *s)
{
    if (!s)
        return;
    opus_encoder_destroy(s->enc);
    free(s);
}

int pl_opus_source_next(struct pl_opus_source *s, uint8_t *out, size_t cap)
{
    for (int i = 0; i < FRAME; i++) {
        int16_t v = (int16_t)(8000.0 * sin(s->phase));
        s->pcm[2 * i] = s->pcm[2 * i + 1] = v;
        s->phase += s->step;
        if (s->phase > 2.0 * M_PI)
            s->phase -= 2.0 * M_PI;
    }
    int n = opus_encode(s->enc, s->pcm, FRAME, out, (opus_int32)cap);
    return n < 0 ? -1 : n;
}
