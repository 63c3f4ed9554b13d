/* The node's own recorder as a peer of the worker: its slots are bound like any subscriber's
 * (the top layer of every participant's video, every participant's audio), but what they
 * would send goes, as plain RTP in the slot's continuous numbering, into the recording.
 * pl_rec_feed_rtp only copies into the recorder's queue, so the media path never waits on
 * disk. One recording track per slot and source: a participant who leaves and comes back, or
 * a slot that gets another feed, starts a new track. */
#include <stdio.h>
#include <string.h>

#include "parley/log.h"
#include "parley/recorder.h"
#include "parley/time.h"
#include "worker_int.h"

static int rec_codec(enum pl_codec c)
{
    switch (c) {
    case PL_CODEC_OPUS: return PL_REC_OPUS;
    case PL_CODEC_VP8: return PL_REC_VP8;
    case PL_CODEC_VP9: return PL_REC_VP9;
    case PL_CODEC_H264: return PL_REC_H264;
    default: return -1;
    }
}

void pl_rec_sink_source_changed(struct pl_slot *s)
{
    struct pl_peer *p = s->owner;
    if (p->rec && s->rec_track > 0)
        pl_rec_remove_track(p->rec, s->rec_track, pl_now_us());
    s->rec_track = 0;
}

static int add_track(struct pl_slot *s, enum pl_codec codec, uint8_t pt)
{
    int rc = rec_codec(codec);
    if (rc < 0)
        return -1;
    bool audio = s->spec.kind == PL_MEDIA_AUDIO;
    char name[160];
    snprintf(name, sizeof name, "%s %s", s->feed_name[0] ? s->feed_name : "participant",
             audio ? "audio" : "video");
    struct pl_rec_track_config tc = {
        .kind = audio ? PL_REC_AUDIO : PL_REC_VIDEO,
        .codec = (enum pl_rec_codec)rc,
        .payload_type = pt,
        .clock_rate = audio ? 48000 : 90000,
        .name = name,
        .participant_id = s->feed_name,
    };
    int track = pl_rec_add_track(s->owner->rec, &tc);
    if (track > 0)
        PL_INFO("recorder", "peer %u: track %d is %s (%s)", s->owner->id, track, name,
                pl_codec_name(codec));
    return track;
}

void pl_rec_sink_packet(struct pl_slot *s, const uint8_t *rtp, size_t len, enum pl_codec codec,
                        uint64_t now_us)
{
    struct pl_peer *p = s->owner;
    if (s->rec_track > 0 && s->rec_codec != codec)
        pl_rec_sink_source_changed(s); /* the publisher changed codec: a new track */
    if (s->rec_track == 0) {
        s->rec_track = add_track(s, codec, rtp[1] & 0x7f);
        s->rec_codec = codec;
        if (s->rec_track <= 0) {
            s->rec_track = -1; /* a codec the recorder cannot write: never ask again */
            return;
        }
    }
    if (s->rec_track > 0)
        pl_rec_feed_rtp(p->rec, s->rec_track, rtp, len, now_us);
}

void pl_rec_sink_tick(struct pl_peer *p, uint64_t now_us)
{
    for (int i = 0; i < p->n_slots; i++) {
        struct pl_slot *s = &p->slots[i];
        uint64_t ntp;
        uint32_t rtp_ts;
        if (s->rec_track > 0 && pl_slot_source_clock(s, now_us, &ntp, &rtp_ts))
            pl_rec_feed_sr(p->rec, s->rec_track, ntp, rtp_ts, now_us);
    }
}

void pl_rec_sink_keyframe(struct pl_peer *p, int track)
{
    for (int i = 0; i < p->n_slots; i++) {
        struct pl_slot *s = &p->slots[i];
        if (s->rec_track == track && track > 0 && s->source)
            pl_request_keyframe(s->source, s->layer >= 0 ? s->layer : s->target, false);
    }
}
