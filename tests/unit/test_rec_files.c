/* Recorder files: ids sanitised into paths, one live recorder per recording (lock), track
 * configs checked, and recovery's decisions: a live recording is left alone, a finished one's
 * leftover parts are removed, parts that cannot be finished are set aside as .failed; a new
 * video track without a key frame asks for one. */
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

    CHECK_EQ_INT(pl_rec_recover(root, NULL, NULL), 0);
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
