/* The packet schedule of the recorder tests: each participant publishes the same encoded
 * video and audio from its join time, with its own SSRCs, sequence numbers and timestamps
 * (some near wraparound), Sender Reports every second on one NTP clock per participant,
 * optional loss and reordering, and a video delay that only the Sender Reports can undo. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "parley/log.h"

enum ev_kind { EV_ADD, EV_RTP, EV_SR, EV_REMOVE };

struct ev {
    uint64_t t;
    size_t order;
    enum ev_kind kind;
    int p;          /* participant */
    bool video;
    struct rtp_out pkt;
    uint64_t ntp;
    uint32_t rtp_ts;
};

struct evs {
    struct ev *e;
    size_t n, cap;
};

static struct ev *push(struct evs *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4096;
        v->e = realloc(v->e, v->cap * sizeof(*v->e));
    }
    struct ev *e = &v->e[v->n];
    memset(e, 0, sizeof(*e));
    e->order = v->n++;
    return e;
}

static int cmp_ev(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

int encode_sources(const char *dir, enum pl_rec_codec codec, int seconds)
{
    char cmd[2048];
    const char *venc = codec == PL_REC_VP8   ? "-c:v libvpx -b:v 400k -deadline realtime -cpu-used 8 -g 60 -f ivf v.ivf"
                       : codec == PL_REC_VP9 ? "-c:v libvpx-vp9 -b:v 400k -deadline realtime -cpu-used 8 -lag-in-frames 0 -g 60 -f ivf v.ivf"
                                             : "-c:v libx264 -preset ultrafast -profile:v baseline -bf 0 -g 60 -x264-params aud=1 -f h264 v.h264";
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && ffmpeg -v error -y -f lavfi -i testsrc=size=320x240:rate=30 -t %d "
             "-pix_fmt yuv420p %s && ffmpeg -v error -y -f lavfi -i sine=frequency=440:sample_rate=48000 "
             "-t %d -c:a libopus -b:a 32k -frame_duration 20 a.ogg",
             dir, seconds, venc, seconds);
    char out[4096];
    int rc = run_capture(cmd, out, sizeof(out));
    if (rc != 0)
        fprintf(stderr, "ffmpeg failed (%d): %s\n", rc, out);
    return rc == 0 ? 0 : -1;
}

int encode_video_as(const char *dir, enum pl_rec_codec codec, int seconds, const char *size,
                    const char *file)
{
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && ffmpeg -v error -y -f lavfi -i testsrc=size=%s:rate=30 -t %d -pix_fmt yuv420p "
             "-c:v %s -b:v 600k -deadline realtime -cpu-used 8 -lag-in-frames 0 -g 60 -f ivf %s",
             dir, size, seconds, codec == PL_REC_VP9 ? "libvpx-vp9" : "libvpx", file);
    int rc = run_capture(cmd, out, sizeof(out));
    if (rc != 0)
        fprintf(stderr, "ffmpeg failed (%d): %s\n", rc, out);
    return rc == 0 ? 0 : -1;
}

static uint64_t to_ntp(double s)
{
    double sec = 3900000000.0 + s; /* some NTP time in 2023 */
    uint64_t whole = (uint64_t)sec;
    return whole << 32 | (uint64_t)((sec - (double)whole) * 4294967296.0);
}

long feed_recording(struct pl_recorder *r, uint64_t t0, enum pl_rec_codec codec,
                    const struct media *video, const struct media *audio,
                    struct participant *p, int np, double cut_s)
{
    struct evs v = {0};
    uint32_t rnd = 12345;
    struct rtp_out *pk = calloc(256, sizeof(*pk));
    for (int i = 0; i < np; i++) {
        double len = p[i].leave_s - p[i].join_s;
        uint64_t join = t0 + (uint64_t)(p[i].join_s * 1e6);
        struct ev *e = push(&v);
        e->t = join;
        e->kind = EV_ADD;
        e->p = i;
        uint16_t vseq = (uint16_t)(1000 * i + 65000), aseq = (uint16_t)(3000 * i), pic = 0;
        /* video: the first source until a restart, then the restart's source */
        for (int part = 0; part < 2; part++) {
            const struct media *src = part == 0 ? video : p[i].restart_video;
            double from = part == 0 ? 0 : p[i].restart_s;
            double until = part == 0 && p[i].restart_s > 0 ? p[i].restart_s : len;
            if (part == 1 && (!src || p[i].restart_s <= 0))
                break;
            uint32_t ts0 = p[i].video_ts0 + (part ? 0x40000000u : 0);
            uint32_t ssrc = 0x1000 + (uint32_t)i + (part ? 0x100u : 0);
            if (part)
                vseq = (uint16_t)(vseq + 20000);
            for (size_t f = 0; f < src->n && from + src->f[f].pts_us / 1e6 < until; f++) {
                uint64_t pts = (uint64_t)(from * 1e6) + src->f[f].pts_us;
                uint32_t ts = ts0 + (uint32_t)(src->f[f].pts_us * 90000 / 1000000);
                size_t n = rtp_packetize(codec, &src->f[f], 96, ssrc, ts, &vseq, &pic, pk, 256);
                uint64_t at = join + pts + (uint64_t)(p[i].video_delay_s * 1e6) + 2000;
                for (size_t k = 0; k < n; k++) {
                    rnd = rnd * 1103515245u + 12345u;
                    unsigned dice = (rnd >> 16) % 100;
                    if (p[i].lossy && f > 0 && f < 300 && dice < 2)
                        continue; /* lost */
                    e = push(&v);
                    e->kind = EV_RTP;
                    e->p = i;
                    e->video = true;
                    e->pkt = pk[k];
                    e->t = at + k * 100 + (p[i].lossy && f < 300 && dice < 8 ? 15000 : 0); /* reordered */
                }
                if (f % 30 == 0) {
                    e = push(&v);
                    e->kind = EV_SR;
                    e->p = i;
                    e->video = true;
                    e->t = at;
                    e->ntp = to_ntp(p[i].join_s + pts / 1e6);
                    e->rtp_ts = ts;
                }
            }
        }
        /* audio */
        for (size_t f = 0; f < audio->n && audio->f[f].pts_us < len * 1e6; f++) {
            double t = audio->f[f].pts_us / 1e6;
            bool restarted = p[i].restart_s > 0 && t >= p[i].restart_s;
            if (t >= p[i].dtx_from_s && t < p[i].dtx_to_s)
                continue; /* DTX: no packet, no sequence number */
            uint32_t ts = p[i].audio_ts0 + (restarted ? 0x50000000u : 0) +
                          (uint32_t)(audio->f[f].pts_us * 48000 / 1000000);
            uint32_t ssrc = 0x2000 + (uint32_t)i + (restarted ? 0x100u : 0);
            bool first_after = restarted && (f == 0 || audio->f[f - 1].pts_us / 1e6 < p[i].restart_s);
            if (first_after)
                aseq = (uint16_t)(aseq + 30000);
            size_t n = rtp_packetize(PL_REC_OPUS, &audio->f[f], 111, ssrc, ts, &aseq, &pic, pk, 256);
            uint64_t at = join + audio->f[f].pts_us + 1000;
            for (size_t k = 0; k < n; k++) {
                e = push(&v);
                e->kind = EV_RTP;
                e->p = i;
                e->pkt = pk[k];
                e->t = at;
            }
            if (f % 50 == 0 || first_after) {
                e = push(&v);
                e->kind = EV_SR;
                e->p = i;
                e->t = at;
                e->ntp = to_ntp(p[i].join_s + t);
                e->rtp_ts = ts;
            }
        }
        if (p[i].removed_at_leave) {
            e = push(&v);
            e->kind = EV_REMOVE;
            e->p = i;
            e->t = t0 + (uint64_t)(p[i].leave_s * 1e6) + 300000;
        }
    }
    free(pk);
    qsort(v.e, v.n, sizeof(*v.e), cmp_ev);
    long fed = 0;
    for (size_t k = 0; k < v.n; k++) {
        struct ev *e = &v.e[k];
        if (cut_s > 0 && e->t > t0 + (uint64_t)(cut_s * 1e6))
            break;
        struct participant *q = &p[e->p];
        switch (e->kind) {
        case EV_ADD: {
            char name[64];
            snprintf(name, sizeof(name), "%s video", q->name);
            struct pl_rec_track_config vc = {.kind = PL_REC_VIDEO, .codec = codec, .payload_type = 96,
                                             .clock_rate = 90000, .name = name, .participant_id = q->name};
            q->video_track = pl_rec_add_track(r, &vc);
            snprintf(name, sizeof(name), "%s audio", q->name);
            struct pl_rec_track_config ac = {.kind = PL_REC_AUDIO, .codec = PL_REC_OPUS, .payload_type = 111,
                                             .clock_rate = 48000, .name = name, .participant_id = q->name,
                                             .channels = 1, .pre_skip = audio->pre_skip};
            q->audio_track = pl_rec_add_track(r, &ac);
            break;
        }
        case EV_RTP:
            pl_rec_feed_rtp(r, e->video ? q->video_track : q->audio_track, e->pkt.data, e->pkt.len, e->t);
            fed++;
            break;
        case EV_SR:
            pl_rec_feed_sr(r, e->video ? q->video_track : q->audio_track, e->ntp, e->rtp_ts, e->t);
            break;
        case EV_REMOVE:
            pl_rec_remove_track(r, q->video_track, e->t);
            pl_rec_remove_track(r, q->audio_track, e->t);
            break;
        }
    }
    free(v.e);
    return fed;
}
