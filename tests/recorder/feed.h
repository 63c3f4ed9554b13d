/* Builds the packet schedule of a few test participants and feeds it to a recorder. */
#ifndef PARLEY_TEST_FEED_H
#define PARLEY_TEST_FEED_H
#include <stdint.h>

#include "media.h"

struct participant {
    const char *name;
    double join_s, leave_s;  /* on the recording's timeline */
    double video_delay_s;    /* video arrives this much later than audio of the same instant */
    bool lossy;              /* drop and reorder some video packets (first 10 s) */
    bool removed_at_leave;   /* pl_rec_remove_track at leave_s (else the stop ends it) */
    double restart_s;        /* > 0: the publisher restarts here (new SSRCs, sequence numbers,
                                timestamps), its video from restart_video (another size) */
    const struct media *restart_video;
    double dtx_from_s, dtx_to_s; /* audio sends nothing (Opus DTX): a timestamp gap */
    uint32_t video_ts0, audio_ts0;
    int video_track, audio_track; /* filled by feed_recording */
};

/* Encodes (ffmpeg) what the tests need into dir: v.ivf / v.h264 and a.ogg, seconds long. */
int encode_sources(const char *dir, enum pl_rec_codec codec, int seconds);

/* Encodes a VP8/VP9 test pattern of another size into dir/file (IVF). */
int encode_video_as(const char *dir, enum pl_rec_codec codec, int seconds, const char *size,
                    const char *file);

/* Feeds every participant's media to r, arrival times from t0. Stops feeding at cut_s if it
 * is > 0 (the crash test). Returns packets fed or -1. */
long feed_recording(struct pl_recorder *r, uint64_t t0, enum pl_rec_codec codec,
                    const struct media *video, const struct media *audio,
                    struct participant *p, int np, double cut_s);

#endif
