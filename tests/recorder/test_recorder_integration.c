/* Recorder integration test, per video codec (VP8, VP9, H.264): three participants publish
 * ffmpeg-encoded test patterns and tones as RTP (alice all along, bob 5 s late with lossy (first 10 s),
 * reordered and 80 ms late-arriving video, carol leaving at 12 s); after stop, ffprobe must
 * list the mix and the six tracks with the right codecs, names, starts and ends (±0.5 s),
 * decode timestamps must never go backwards, `ffmpeg -v error -xerror` must decode the file
 * silently, and bob's audio and video must start together (±40 ms: Sender Reports). Then a
 * publisher restart with a new picture size and an Opus DTX gap; and a flash-and-beep pattern
 * measured in the final file. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/check.h"
#include "feed.h"
#include "parley/log.h"

#define T0 1000000000ull

static atomic_int key_requests[64];

static void on_key(void *user, int track)
{
    (void)user;
    if (track > 0 && track < 64)
        atomic_fetch_add(&key_requests[track], 1);
}

static bool near(double a, double b, double tol) { return a > b - tol && a < b + tol; }

static void scenario(const char *tmp, enum pl_rec_codec codec, const char *codec_name)
{
    char dir[512], root[600];
    snprintf(dir, sizeof(dir), "%s/%s", tmp, codec_name);
    snprintf(root, sizeof(root), "%s/rec", dir);
    mkdir(dir, 0755);
    if (encode_sources(dir, codec, 20) != 0) {
        CHECK(!"encoding the sources failed");
        return;
    }
    char vpath[700], apath[700];
    snprintf(vpath, sizeof(vpath), "%s/%s", dir, codec == PL_REC_H264 ? "v.h264" : "v.ivf");
    snprintf(apath, sizeof(apath), "%s/a.ogg", dir);
    struct media video, audio;
    int vr = codec == PL_REC_H264 ? media_read_annexb(vpath, 30, &video) : media_read_ivf(vpath, &video);
    CHECK_EQ_INT(vr, 0);
    CHECK_EQ_INT(media_read_ogg_opus(apath, &audio), 0);
    CHECK(video.n >= 590 && audio.n >= 990);

    struct pl_rec_config cfg = {.root = root, .tenant_id = "tenant-1", .conference_id = "../conf",
                                .session_id = "s1", .recording_id = "rec 1", .start_us = T0,
                                .on_keyframe = on_key};
    char err[256] = "";
    struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
    CHECK(r != NULL);
    if (!r) {
        fprintf(stderr, "open: %s\n", err);
        media_free(&video);
        media_free(&audio);
        return;
    }
    struct participant p[3] = {
        {.name = "alice", .join_s = 0, .leave_s = 20, .video_ts0 = 0xffffffffu - 90000u * 3,
         .audio_ts0 = 0xffffffffu - 48000u * 2},
        {.name = "bob", .join_s = 5, .leave_s = 20, .video_delay_s = 0.08, .lossy = true,
         .video_ts0 = 123456789u, .audio_ts0 = 987654321u},
        {.name = "carol", .join_s = 0.02, .leave_s = 12, .removed_at_leave = true,
         .video_ts0 = 5u, .audio_ts0 = 7u},
    };
    memset(key_requests, 0, sizeof(key_requests));
    long fed = feed_recording(r, T0, codec, &video, &audio, p, 3, 0);
    CHECK(fed > 2000);
    struct pl_rec_result res;
    int rc = pl_rec_stop(r, &res, err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "stop: %s\n", err);
        media_free(&video);
        media_free(&audio);
        return;
    }
    /* Ids were sanitised into the path; the parts are gone; the result waits next to the
     * file until it is delivered. */
    char want[900], parts[900], result[900];
    snprintf(want, sizeof(want), "%s/tenant-1/_._conf/s1/rec_1.mp4", root);
    snprintf(parts, sizeof(parts), "%s/tenant-1/_._conf/s1/rec_1.parts", root);
    snprintf(result, sizeof(result), "%s/tenant-1/_._conf/s1/rec_1.result", root);
    CHECK(strcmp(res.path, want) == 0);
    CHECK(access(parts, F_OK) != 0);
    CHECK(access(result, F_OK) == 0 && !res.recovered && !res.failed);
    CHECK_EQ_INT(pl_rec_result_delivered(res.path), 0);
    CHECK(access(result, F_OK) != 0);
    struct stat st;
    CHECK(stat(res.path, &st) == 0 && (uint64_t)st.st_size == res.size);
    /* moov first: ftyp, then moov, then the media. */
    uint8_t head[64] = {0};
    FILE *hf = fopen(res.path, "rb");
    CHECK(hf && fread(head, 1, sizeof(head), hf) == sizeof(head));
    if (hf)
        fclose(hf);
    size_t ftyp_len = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    CHECK(memcmp(head + 4, "ftyp", 4) == 0 && ftyp_len < 56 && memcmp(head + ftyp_len + 4, "moov", 4) == 0);
    CHECK_EQ_INT(res.n_tracks, 7);
    CHECK(near(res.duration_s, 20, 0.5));
    if (res.n_tracks == 7) {
        CHECK(res.tracks[0].mix && res.tracks[0].kind == PL_REC_AUDIO);
        CHECK(strcmp(res.tracks[1].name, "alice video") == 0);
        CHECK(near(res.tracks[5].start_s, 5, 0.1));
    }
    CHECK(key_requests[p[1].video_track] >= 1); /* bob's losses asked for key frames */

    /* ffprobe: streams, codecs, names, starts and ends, decode order. */
    struct probe_stream s[16];
    int n = probe_file(res.path, s, 16);
    CHECK_EQ_INT(n, 7);
    const char *vname = codec == PL_REC_VP8 ? "vp8" : codec == PL_REC_VP9 ? "vp9" : "h264";
    struct {
        const char *handler, *codec;
        double start, end;
    } exp[7] = {{"mix", "opus", 0, 20},           {"alice video", vname, 0, 20},
                {"alice audio", "opus", 0, 20},   {"carol video", vname, 0, 12},
                {"carol audio", "opus", 0, 12},   {"bob video", vname, 5, 20},
                {"bob audio", "opus", 5, 20}};
    for (int i = 0; i < n && i < 7; i++) {
        fprintf(stderr, "  %s stream %d: %-5s %-12s %7.3f .. %7.3f  %zu packets\n", codec_name, i,
                s[i].codec, s[i].handler, s[i].first, s[i].end, s[i].packets);
        CHECK(strcmp(s[i].handler, exp[i].handler) == 0);
        CHECK(strcmp(s[i].codec, exp[i].codec) == 0);
        CHECK(near(s[i].first, exp[i].start, 0.5));
        CHECK(near(s[i].end, exp[i].end, 0.5));
        CHECK(!s[i].dts_backwards);
    }
    /* A/V sync of bob: video arrived 80 ms late, the Sender Reports put it back. The audio
     * packets' pts are shifted by the pre-skip edit. */
    if (n == 7) {
        double apre = audio.pre_skip / 48000.0;
        fprintf(stderr, "  %s bob: video starts %.3f, audio %.3f\n", codec_name, s[5].first, s[6].first + apre);
        CHECK(near(s[5].first, s[6].first + apre, 0.040));
        CHECK(near(s[3].first, s[4].first + apre, 0.040));
    }
    /* Decodes without a single message. */
    char cmd[4400], out[4096];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -xerror -i '%s' -map 0 -f null -", res.path);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    CHECK(out[0] == 0);
    if (out[0])
        fprintf(stderr, "ffmpeg said: %s\n", out);
    pl_rec_result_free(&res);
    media_free(&video);
    media_free(&audio);
}

/* One publisher restarts 10 s in (new SSRCs, sequence numbers and timestamps) at another
 * picture size, another's audio goes silent (DTX: a 3 s timestamp gap without packets): the
 * tracks still cover their whole time, in one piece, and decode without a message. */
static void restart_and_dtx(const char *tmp)
{
    char dir[512], root[600], path[700];
    snprintf(dir, sizeof(dir), "%s/restart", tmp);
    snprintf(root, sizeof(root), "%s/rec", dir);
    mkdir(dir, 0755);
    struct media video, video2, audio;
    if (encode_sources(dir, PL_REC_VP8, 20) != 0 ||
        encode_video_as(dir, PL_REC_VP8, 10, "640x360", "v2.ivf") != 0) {
        CHECK(!"encoding the sources failed");
        return;
    }
    snprintf(path, sizeof(path), "%s/v.ivf", dir);
    CHECK_EQ_INT(media_read_ivf(path, &video), 0);
    snprintf(path, sizeof(path), "%s/v2.ivf", dir);
    CHECK_EQ_INT(media_read_ivf(path, &video2), 0);
    snprintf(path, sizeof(path), "%s/a.ogg", dir);
    CHECK_EQ_INT(media_read_ogg_opus(path, &audio), 0);
    struct pl_rec_config cfg = {.root = root, .tenant_id = "t", .conference_id = "c",
                                .session_id = "s", .recording_id = "restart", .start_us = T0};
    char err[256] = "";
    struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
    CHECK(r != NULL);
    if (!r)
        return;
    struct participant p[2] = {
        {.name = "dave", .join_s = 0, .leave_s = 20, .restart_s = 10, .restart_video = &video2,
         .video_ts0 = 77, .audio_ts0 = 88},
        {.name = "erin", .join_s = 1, .leave_s = 20, .dtx_from_s = 4, .dtx_to_s = 7,
         .video_ts0 = 0xfffff000u, .audio_ts0 = 0xfffff000u},
    };
    CHECK(feed_recording(r, T0, PL_REC_VP8, &video, &audio, p, 2, 0) > 1000);
    struct pl_rec_result res;
    CHECK_EQ_INT(pl_rec_stop(r, &res, err, sizeof(err)), 0);
    struct probe_stream s[8];
    int n = probe_file(res.path, s, 8);
    CHECK_EQ_INT(n, 5);
    double start[5] = {0, 0, 0, 1, 1};
    for (int i = 0; i < n && i < 5; i++) {
        fprintf(stderr, "  restart stream %d: %-5s %-12s %7.3f .. %7.3f  %zu packets\n", i,
                s[i].codec, s[i].handler, s[i].first, s[i].end, s[i].packets);
        CHECK(near(s[i].first, start[i], 0.5));
        CHECK(near(s[i].end, 20, 0.5));
        CHECK(!s[i].dts_backwards);
    }
    /* The video track holds both sizes; the sample entry says the larger. */
    char cmd[4400], out[4096];
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 '%s'", res.path);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    CHECK(strncmp(out, "640,360", 7) == 0);
    /* erin's audio: 3 s less of packets, no gap in the track's time. */
    if (n == 5)
        CHECK(s[4].packets < 19 * 50 - 140 && s[4].packets > 19 * 50 - 160);
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -xerror -i '%s' -map 0 -f null -", res.path);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    CHECK(out[0] == 0);
    if (out[0])
        fprintf(stderr, "ffmpeg said: %s\n", out);
    /* The mix is not silence. */
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v info -i '%s' -map 0:a:0 -af volumedetect -f null - 2>&1 | grep -o 'mean_volume: [-0-9.]*'", res.path);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    double mean = strlen(out) > 13 ? atof(out + 13) : -100;
    fprintf(stderr, "  restart mix %s", out);
    CHECK(mean > -30);
    pl_rec_result_free(&res);
    media_free(&video);
    media_free(&video2);
    media_free(&audio);
}

/* Acceptance 4: a test pattern whose flash and beep happen together (every 2 s), published by
 * someone who joins 3 s late and whose video arrives 80 ms after its audio; in the final
 * file, each beep onset (silencedetect) is within 40 ms of a flash onset (signalstats). */
static void flash_and_beep(const char *tmp)
{
    char dir[512], root[600], path[700], cmd[4400];
    static char out[1 << 18];
    snprintf(dir, sizeof(dir), "%s/sync", tmp);
    snprintf(root, sizeof(root), "%s/rec", dir);
    mkdir(dir, 0755);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && ffmpeg -v error -y -f lavfi -i \"color=c=black:size=320x240:rate=30,"
             "drawbox=c=white:t=fill:enable='lt(mod(t,2),0.1)'\" -t 12 -pix_fmt yuv420p -c:v libvpx "
             "-b:v 400k -deadline realtime -cpu-used 8 -g 60 -f ivf v.ivf && ffmpeg -v error -y -f lavfi "
             "-i \"aevalsrc='if(lt(mod(t,2),0.1),0.8*sin(2*PI*1000*t),0)':s=48000:d=12\" -c:a libopus "
             "-b:a 32k -frame_duration 20 a.ogg",
             dir);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    struct media video, audio;
    snprintf(path, sizeof(path), "%s/v.ivf", dir);
    CHECK_EQ_INT(media_read_ivf(path, &video), 0);
    snprintf(path, sizeof(path), "%s/a.ogg", dir);
    CHECK_EQ_INT(media_read_ogg_opus(path, &audio), 0);
    struct pl_rec_config cfg = {.root = root, .tenant_id = "t", .conference_id = "c",
                                .session_id = "s", .recording_id = "sync", .start_us = T0};
    char err[256] = "";
    struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
    CHECK(r != NULL);
    if (!r)
        return;
    struct participant p[1] = {{.name = "frank", .join_s = 3, .leave_s = 15, .video_delay_s = 0.08,
                                .video_ts0 = 0x12345678u, .audio_ts0 = 0xfedcba98u}};
    CHECK(feed_recording(r, T0, PL_REC_VP8, &video, &audio, p, 1, 0) > 900);
    struct pl_rec_result res;
    CHECK_EQ_INT(pl_rec_stop(r, &res, err, sizeof(err)), 0);

    /* Flash onsets: frames whose mean luma jumps above the middle. Streams: mix, video, audio. */
    double flash[16], beep[16];
    int nf = 0, nb = 0;
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -copyts -i '%s' -map 0:v:0 -vf "
             "\"signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-\" -f null -", res.path);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    double t = 0;
    bool bright = false;
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
        char *pt = strstr(l, "pts_time:");
        if (pt)
            t = atof(pt + 9);
        char *y = strstr(l, "YAVG=");
        if (y) {
            bool b = atof(y + 5) > 128;
            if (b && !bright && nf < 16)
                flash[nf++] = t;
            bright = b;
        }
    }
    /* Beep onsets: where silence ends in frank's audio track (timestamps as in the file). */
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v info -copyts -i '%s' -map 0:a:1 -af "
             "silencedetect=n=-30dB:d=0.02 -f null - 2>&1 | grep -o 'silence_end: [0-9.]*'", res.path);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
        double b = atof(l + 13);
        if (nb < 16 && b < 14.9) /* silencedetect also "ends" the silence at the end of the stream */
            beep[nb++] = b;
    }
    fprintf(stderr, "  sync: %d flashes, %d beeps:", nf, nb);
    CHECK(nf >= 6 && nb >= 4);
    for (int i = 0; i < nb; i++) {
        double best = 1e9;
        for (int k = 0; k < nf; k++)
            if (fabs(flash[k] - beep[i]) < fabs(best))
                best = flash[k] - beep[i];
        fprintf(stderr, " %.3f (%+.0f ms)", beep[i], best * 1000);
        CHECK(fabs(best) <= 0.040);
        /* and on the recording's timeline: frank's 2 s cadence from his join at 3 s */
        double k = (beep[i] - 3) / 2;
        CHECK(fabs(k - (double)(long)(k + 0.5)) * 2 < 0.05);
    }
    fprintf(stderr, "\n");
    fprintf(stderr, "  sync: first flash at %.3f\n", nf > 0 ? flash[0] : -1.0);
    CHECK(nf > 0 && fabs(flash[0] - 3) < 0.05);
    pl_rec_result_free(&res);
    media_free(&video);
    media_free(&audio);
}

int main(void)
{
    pl_log_set_level(PL_LOG_WARN);
    char tmp[] = "/tmp/parley-rec-XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    scenario(tmp, PL_REC_VP8, "vp8");
    scenario(tmp, PL_REC_VP9, "vp9");
    scenario(tmp, PL_REC_H264, "h264");
    restart_and_dtx(tmp);
    flash_and_beep(tmp);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (check_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_result("recorder_integration");
}
