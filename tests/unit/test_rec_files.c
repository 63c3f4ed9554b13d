/* Recorder files: ids sanitised into paths, one live recorder per recording (lock), track
 * configs checked, and recovery's decisions: a live recording is left alone, a finished one's
 * leftover parts are removed, parts that cannot be finished are set aside as .failed with a
 * failed result; results not delivered are handed over (again, until delivered), a stale one
 * goes; a new video track without a key frame asks for one. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "parley/log.h"
#include "parley/recorder.h"

static void sanitize(void)
{
    char out[200];
    CHECK_EQ_INT(pl_rec_sanitize_id("../x", out, sizeof(out)), 0);
    CHECK(strcmp(out, "_._x") == 0);
    CHECK_EQ_INT(pl_rec_sanitize_id("a b/c\\d", out, sizeof(out)), 0);
    CHECK(strcmp(out, "a_b_c_d") == 0);
    CHECK_EQ_INT(pl_rec_sanitize_id(".hidden", out, sizeof(out)), 0);
    CHECK(strcmp(out, "_hidden") == 0);
    CHECK_EQ_INT(pl_rec_sanitize_id("Rec-1.2_x", out, sizeof(out)), 0);
    CHECK(strcmp(out, "Rec-1.2_x") == 0);
    CHECK_EQ_INT(pl_rec_sanitize_id("", out, sizeof(out)), -1);
    CHECK_EQ_INT(pl_rec_sanitize_id(NULL, out, sizeof(out)), -1);
    char longid[200];
    memset(longid, 'a', 150);
    longid[150] = 0;
    CHECK_EQ_INT(pl_rec_sanitize_id(longid, out, sizeof(out)), -1);
    CHECK_EQ_INT(pl_rec_sanitize_id("abc", out, 3), -1);
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(data, f);
        fclose(f);
    }
}

/* What recovery handed over. */
struct handed {
    int n;
    struct pl_rec_result res[4];
};

static void on_result(void *user, const struct pl_rec_result *res)
{
    struct handed *h = user;
    if (h->n < 4) {
        h->res[h->n] = *res;
        h->res[h->n].tracks = NULL; /* the caller frees its own */
        h->res[h->n].n_tracks = res->n_tracks;
        if (res->n_tracks == 1 && strcmp(res->tracks[0].name, "bob's camera") == 0 &&
            strcmp(res->tracks[0].codec, "vp08") == 0 && res->tracks[0].kind == PL_REC_VIDEO &&
            res->tracks[0].start_s == 1.5 && res->tracks[0].samples == 30)
            h->res[h->n].size = 999; /* the track was read back whole */
    }
    h->n++;
}

static const struct pl_rec_result *handed_for(const struct handed *h, const char *suffix)
{
    for (int i = 0; i < h->n && i < 4; i++) {
        size_t l = strlen(h->res[i].path), n = strlen(suffix);
        if (l >= n && strcmp(h->res[i].path + l - n, suffix) == 0)
            return &h->res[i];
    }
    return NULL;
}

static void lock_and_recover(const char *root)
{
    struct pl_rec_config cfg = {.root = root, .tenant_id = "t", .conference_id = "c",
                                .session_id = "s", .recording_id = "live"};
    char err[256];
    struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
    CHECK(r != NULL);
    /* The same recording cannot be opened twice. */
    CHECK(pl_rec_open(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "being recorded") != NULL);
    struct pl_rec_track_config bad = {.kind = PL_REC_VIDEO, .codec = PL_REC_OPUS, .clock_rate = 48000};
    CHECK_EQ_INT(pl_rec_add_track(r, &bad), -1);
    bad = (struct pl_rec_track_config){.kind = PL_REC_AUDIO, .codec = PL_REC_OPUS, .clock_rate = 8000};
    CHECK_EQ_INT(pl_rec_add_track(r, &bad), -1);
    struct pl_rec_track_config ok = {.kind = PL_REC_VIDEO, .codec = PL_REC_VP8, .clock_rate = 90000};
    CHECK_EQ_INT(pl_rec_add_track(r, &ok), 1);
    /* Junk is dropped quietly. */
    uint8_t junk[40] = {0x12, 0x34};
    pl_rec_feed_rtp(r, 1, junk, sizeof(junk), 1);
    pl_rec_feed_rtp(r, 7, junk, sizeof(junk), 1);

    /* A crashed one with a junk segment: set aside. A finished one with leftover parts: the
     * parts go, the file stays. */
    char p[1024];
    snprintf(p, sizeof(p), "%s/t/c/s/junk.parts", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/t/c/s/junk.parts/000001.mp4", root);
    write_file(p, "not an mp4 at all");
    snprintf(p, sizeof(p), "%s/t/c/s/done.parts", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/t/c/s/done.parts/000001.mp4", root);
    write_file(p, "whatever");
    snprintf(p, sizeof(p), "%s/t/c/s/done.mp4", root);
    write_file(p, "final");
    /* Its result, written before the file (as the recorder does), never delivered. */
    snprintf(p, sizeof(p), "%s/t/c/s/done.result", root);
    write_file(p, "parley-recording-result 1\nstatus complete\nrecovered 0\nsize 5\n"
                  "duration 2.500000\ntrack v 0 vp08 1.5 1.0 30 bob's camera\n");
    /* A result whose file was removed by hand is stale; a live recording's is not handed over. */
    snprintf(p, sizeof(p), "%s/t/c/s/gone.result", root);
    write_file(p, "parley-recording-result 1\nstatus complete\nsize 1\n");
    snprintf(p, sizeof(p), "%s/t/c/s/live.result", root);
    write_file(p, "parley-recording-result 1\nstatus failed\n");

    struct handed h = {0};
    CHECK_EQ_INT(pl_rec_recover(root, on_result, &h), 0);
    CHECK_EQ_INT(h.n, 2);
    const struct pl_rec_result *junk_res = handed_for(&h, "/t/c/s/junk.mp4");
    const struct pl_rec_result *done_res = handed_for(&h, "/t/c/s/done.mp4");
    CHECK(junk_res && junk_res->failed && junk_res->recovered && strstr(junk_res->error, "cannot recover"));
    CHECK(done_res && !done_res->failed && !done_res->recovered && done_res->size == 999 &&
          done_res->duration_s == 2.5 && done_res->n_tracks == 1);
    snprintf(p, sizeof(p), "%s/t/c/s/gone.result", root);
    CHECK(access(p, F_OK) != 0);
    /* Handed over again until delivered. */
    h.n = 0;
    CHECK_EQ_INT(pl_rec_recover(root, on_result, &h), 0);
    CHECK_EQ_INT(h.n, 2);
    snprintf(p, sizeof(p), "%s/t/c/s/junk.mp4", root);
    CHECK_EQ_INT(pl_rec_result_delivered(p), 0);
    snprintf(p, sizeof(p), "%s/t/c/s/done.mp4", root);
    CHECK_EQ_INT(pl_rec_result_delivered(p), 0);
    CHECK_EQ_INT(pl_rec_result_delivered(p), 0); /* twice is fine */
    snprintf(p, sizeof(p), "%s/t/c/s/done.result", root);
    CHECK(access(p, F_OK) != 0);
    h.n = 0;
    CHECK_EQ_INT(pl_rec_recover(root, on_result, &h), 0);
    CHECK_EQ_INT(h.n, 0);
    snprintf(p, sizeof(p), "%s/t/c/s/live.result", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/t/c/s/live.parts", root);
    CHECK(access(p, F_OK) == 0); /* live: untouched */
    snprintf(p, sizeof(p), "%s/t/c/s/junk.parts.failed/000001.mp4", root);
    CHECK(access(p, F_OK) == 0);
    snprintf(p, sizeof(p), "%s/t/c/s/junk.parts", root);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof(p), "%s/t/c/s/done.parts", root);
    CHECK(access(p, F_OK) != 0);
    snprintf(p, sizeof(p), "%s/t/c/s/done.mp4", root);
    CHECK(access(p, F_OK) == 0);
    /* A second pass finds nothing to do. */
    CHECK_EQ_INT(pl_rec_recover(root, NULL, NULL), 0);

    /* Stopping a recording that got no media: an error, and nothing left behind. */
    struct pl_rec_result res;
    CHECK_EQ_INT(pl_rec_stop(r, &res, err, sizeof(err)), -1);
    CHECK(strstr(err, "no media") != NULL);
    snprintf(p, sizeof(p), "%s/t/c/s/live.parts", root);
    CHECK(access(p, F_OK) != 0);
    pl_rec_result_free(&res);

    char missing[1100];
    snprintf(missing, sizeof(missing), "%s/nope", root);
    CHECK_EQ_INT(pl_rec_recover(missing, NULL, NULL), -1);
}

static atomic_int key_asked;

static void on_key(void *user, int track)
{
    (void)user;
    if (track == 1)
        atomic_fetch_add(&key_asked, 1);
}

/* A new video track whose first packets are not a key frame asks for one (on the writer
 * thread), at most once per 500 ms of arrival time. */
static void new_track_asks_key(const char *root)
{
    struct pl_rec_config cfg = {.root = root, .tenant_id = "t", .conference_id = "c",
                                .session_id = "s", .recording_id = "key", .start_us = 1000,
                                .on_keyframe = on_key};
    char err[256];
    struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
    CHECK(r != NULL);
    if (!r)
        return;
    struct pl_rec_track_config vc = {.kind = PL_REC_VIDEO, .codec = PL_REC_VP8, .payload_type = 96,
                                     .clock_rate = 90000, .name = "v", .participant_id = "p"};
    CHECK_EQ_INT(pl_rec_add_track(r, &vc), 1);
    /* RTP header + VP8 descriptor (S, PID 0) + a delta frame tag. */
    for (int i = 0; i < 20; i++) {
        uint8_t pkt[] = {0x80, 0xe0, 0x00, (uint8_t)i, 0x00, 0x00, 0x0b, (uint8_t)(i * 8), 0, 0, 0, 1,
                         0x10, 0x01, 0x00, 0x00, 0xaa};
        pl_rec_feed_rtp(r, 1, pkt, sizeof(pkt), 1000 + 100000 * (uint64_t)i); /* 2 s in all */
    }
    for (int i = 0; i < 200 && atomic_load(&key_asked) < 4; i++)
        usleep(10000);
    int asked = atomic_load(&key_asked);
    CHECK(asked >= 3 && asked <= 5); /* 1.9 s of packets: every 500 ms */
    struct pl_rec_result res;
    CHECK_EQ_INT(pl_rec_stop(r, &res, err, sizeof(err)), -1); /* no key frame ever came */
    pl_rec_result_free(&res);
}

int main(void)
{
    pl_log_set_level(PL_LOG_OFF);
    sanitize();
    char root[] = "/tmp/parley-recfiles-XXXXXX";
    if (!mkdtemp(root))
        return 1;
    lock_and_recover(root);
    new_track_asks_key(root);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_result("rec_files");
}
