/* What the recorder costs per recorded stream (docs/bench.md): N participants each publish a
 * real ffmpeg-encoded VP8 test pattern and an Opus tone as RTP (own SSRCs, sequence numbers,
 * timestamps, a Sender Report a second per track), fed to one recording for S seconds of media
 * as fast as the recorder takes them; then the stop writes the final file with the mix.
 * Encoding and packetizing happen before the clock starts. Prints, per run, the CPU seconds of
 * the live part (queueing, depacketizing, assembling, writing and fsyncing fragments: every
 * thread of the process) and of the finalisation, and the live part per stream (and per
 * participant) as a share of one core: CPU seconds over seconds of media.
 * Not a test: build/tests/recorder/recorder_cost [-n participants] [-s seconds]
 * [-v WxH] [-b video bitrate, e.g. 1400k] [-r runs of the same packets]. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "media.h"
#include "parley/log.h"

#define T0 1000000000ull

struct pkt {
    uint64_t t;
    size_t order;
    int track;      /* index into the track handles; SR when sr is set */
    bool sr;
    uint32_t rtp_ts;
    uint64_t ntp;
    size_t off, len; /* in the packet buffer */
};

struct sched {
    struct pkt *p;
    size_t n, cap;
    uint8_t *buf;
    size_t used, bcap;
};

static struct pkt *add(struct sched *s, uint64_t t, int track)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 65536;
        s->p = realloc(s->p, s->cap * sizeof(*s->p));
        if (!s->p)
            exit(1);
    }
    struct pkt *p = &s->p[s->n];
    memset(p, 0, sizeof(*p));
    p->t = t;
    p->order = s->n++;
    p->track = track;
    return p;
}

static void keep(struct sched *s, struct pkt *p, const struct rtp_out *o)
{
    if (s->used + o->len > s->bcap) {
        s->bcap = s->bcap ? 2 * s->bcap : (64u << 20);
        s->buf = realloc(s->buf, s->bcap);
        if (!s->buf)
            exit(1);
    }
    memcpy(s->buf + s->used, o->data, o->len);
    p->off = s->used;
    p->len = o->len;
    s->used += o->len;
}

static int cmp_pkt(const void *a, const void *b)
{
    const struct pkt *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static uint64_t to_ntp(double s)
{
    double sec = 3900000000.0 + s;
    uint64_t whole = (uint64_t)sec;
    return whole << 32 | (uint64_t)((sec - (double)whole) * 4294967296.0);
}

/* One track's packets: frames from ts0 on, arriving at their media time. */
static void schedule(struct sched *s, const struct media *m, enum pl_rec_codec codec, int track,
                     uint32_t ssrc, uint32_t ts0, uint16_t seq0, double seconds)
{
    static struct rtp_out out[256];
    uint16_t seq = seq0, pic = 0;
    bool video = codec != PL_REC_OPUS;
    uint32_t rate = video ? 90000 : 48000;
    uint64_t next_sr = 0;
    for (size_t f = 0; f < m->n && m->f[f].pts_us < seconds * 1e6; f++) {
        uint32_t ts = ts0 + (uint32_t)(m->f[f].pts_us * rate / 1000000);
        size_t n = rtp_packetize(codec, &m->f[f], video ? 96 : 111, ssrc, ts, &seq, &pic, out, 256);
        uint64_t at = T0 + m->f[f].pts_us + (video ? 2000 : 1000);
        for (size_t k = 0; k < n; k++)
            keep(s, add(s, at + k * 100, track), &out[k]);
        if (m->f[f].pts_us >= next_sr) {
            struct pkt *p = add(s, at, track);
            p->sr = true;
            p->rtp_ts = ts;
            p->ntp = to_ntp(m->f[f].pts_us / 1e6);
            next_sr += 1000000;
        }
    }
}

static double cpu_s(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = 4, seconds = 30, runs = 1;
    const char *size = "1280x720", *bitrate = "1400k";
    int c;
    while ((c = getopt(argc, argv, "n:s:v:b:r:")) != -1) {
        if (c == 'r')
            runs = atoi(optarg);
        else if (c == 'n')
            n = atoi(optarg);
        else if (c == 's')
            seconds = atoi(optarg);
        else if (c == 'v')
            size = optarg;
        else if (c == 'b')
            bitrate = optarg;
        else
            return 2;
    }
    if (n < 1 || n > 100 || seconds < 1 || seconds > 600 || runs < 1 || runs > 100 || strspn(size, "0123456789x") != strlen(size) ||
        strspn(bitrate, "0123456789kM") != strlen(bitrate)) {
        fprintf(stderr, "usage: recorder_cost [-n participants 1..100] [-s seconds] [-v WxH] "
                "[-b bitrate] [-r runs]\n");
        return 2;
    }
    pl_log_set_level(PL_LOG_WARN);
    char tmp[] = "/tmp/parley-reccost-XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    char cmd[2048], out[4096];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && ffmpeg -nostdin -v error -y -f lavfi -i testsrc=size=%s:rate=30 -t %d -pix_fmt yuv420p "
             "-c:v libvpx -b:v %s -deadline realtime -cpu-used 8 -g 60 -f ivf v.ivf && "
             "ffmpeg -nostdin -v error -y -f lavfi -i sine=frequency=440:sample_rate=48000 -t %d "
             "-c:a libopus -b:a 32k -frame_duration 20 a.ogg",
             tmp, size, seconds, bitrate, seconds);
    if (run_capture(cmd, out, sizeof(out)) != 0) {
        fprintf(stderr, "ffmpeg failed: %s\n", out);
        return 1;
    }
    char vpath[600], apath[600], root[600];
    snprintf(vpath, sizeof(vpath), "%s/v.ivf", tmp);
    snprintf(apath, sizeof(apath), "%s/a.ogg", tmp);
    snprintf(root, sizeof(root), "%s/rec", tmp);
    struct media video, audio;
    if (media_read_ivf(vpath, &video) != 0 || media_read_ogg_opus(apath, &audio) != 0) {
        fprintf(stderr, "cannot read what ffmpeg encoded in %s\n", tmp);
        return 1;
    }

    struct sched s = {0};
    for (int i = 0; i < n; i++) {
        schedule(&s, &video, PL_REC_VP8, 2 * i, 0x1000u + (uint32_t)i, 1000u * (uint32_t)i,
                 (uint16_t)(7 * i), seconds);
        schedule(&s, &audio, PL_REC_OPUS, 2 * i + 1, 0x2000u + (uint32_t)i, 5000u * (uint32_t)i,
                 (uint16_t)(11 * i), seconds);
    }
    qsort(s.p, s.n, sizeof(*s.p), cmp_pkt);
    size_t rtp = 0;
    for (size_t k = 0; k < s.n; k++)
        rtp += !s.p[k].sr;
    if (s.used > (96u << 20))
        fprintf(stderr, "warning: %.0f MB of RTP is more than the recorder queues (128 MB) if "
                "it falls behind: dropped packets would be logged\n", s.used / 1e6);

    printf("recorder_cost: %d participants x (%s VP8 at %s + Opus 32k) x %d s: %d streams, "
           "%zu RTP packets, %.1f MB\n", n, size, bitrate, seconds, 2 * n, rtp, s.used / 1e6);
    fflush(stdout);
    int *h = calloc((size_t)n * 2, sizeof(*h));
    for (int run = 1; run <= runs; run++) {
        char id[32];
        snprintf(id, sizeof(id), "cost%d", run);
        struct pl_rec_config cfg = {.root = root, .tenant_id = "t", .conference_id = "c",
                                    .session_id = "s", .recording_id = id, .start_us = T0};
        char err[256];
        double cpu0 = cpu_s(RUSAGE_SELF), wall0 = wall_s();
        struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
        if (!r) {
            fprintf(stderr, "pl_rec_open: %s\n", err);
            return 1;
        }
        for (int i = 0; i < n; i++) {
            char name[64], part[32];
            snprintf(part, sizeof(part), "p%d", i + 1);
            snprintf(name, sizeof(name), "p%d video", i + 1);
            h[2 * i] = pl_rec_add_track(r, &(struct pl_rec_track_config){
                .kind = PL_REC_VIDEO, .codec = PL_REC_VP8, .payload_type = 96, .clock_rate = 90000,
                .name = name, .participant_id = part});
            snprintf(name, sizeof(name), "p%d audio", i + 1);
            h[2 * i + 1] = pl_rec_add_track(r, &(struct pl_rec_track_config){
                .kind = PL_REC_AUDIO, .codec = PL_REC_OPUS, .payload_type = 111, .clock_rate = 48000,
                .name = name, .participant_id = part, .channels = 1, .pre_skip = audio.pre_skip});
        }
        for (size_t k = 0; k < s.n; k++) {
            const struct pkt *p = &s.p[k];
            if (p->sr)
                pl_rec_feed_sr(r, h[p->track], p->ntp, p->rtp_ts, p->t);
            else
                pl_rec_feed_rtp(r, h[p->track], s.buf + p->off, p->len, p->t);
        }
        /* pl_rec_stop joins the writer (the rest of the live part), then finalises on this thread. */
        double fed_wall = wall_s() - wall0;
        double thread0 = cpu_s(RUSAGE_THREAD);
        double stop0 = wall_s();
        struct pl_rec_result res;
        int rc = pl_rec_stop(r, &res, err, sizeof(err));
        double fin_cpu = cpu_s(RUSAGE_THREAD) - thread0;
        double all_cpu = cpu_s(RUSAGE_SELF) - cpu0, all_wall = wall_s() - wall0;
        if (rc != 0) {
            fprintf(stderr, "pl_rec_stop: %s\n", err);
            return 1;
        }
        double live_cpu = all_cpu - fin_cpu;
        int streams = 2 * n;
        printf("run %d: live %.3f s CPU (fed in %.3f s wall): %.3f%% of one core per stream, "
               "%.3f%% per participant; finalise %.3f s CPU (%.3f s wall; %zu tracks, %.1f s, "
               "%.1f MB); total %.3f s CPU in %.3f s wall\n",
               run, live_cpu, fed_wall, 100.0 * live_cpu / (streams * (double)seconds),
               100.0 * live_cpu / (n * (double)seconds), fin_cpu, wall_s() - stop0, res.n_tracks,
               res.duration_s, res.size / 1e6, all_cpu, all_wall);
        pl_rec_result_free(&res);
        fflush(stdout);
    }
    free(h);
    free(s.p);
    free(s.buf);
    media_free(&video);
    media_free(&audio);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return 0;
}
