/* Crash recovery: a child process records two participants (VP8 + Opus) for ~12.6 s of
 * media and is killed with SIGKILL; recovery must leave a live recording alone, then turn
 * the dead one's fragments into an MP4 that decodes without error and holds at least 10 s
 * of every track; a second recovery finds nothing left. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/check.h"
#include "feed.h"
#include "parley/log.h"

#define T0 5000000ull

struct recovered {
    int count;
    char path[4096];
    size_t tracks;
    bool recovered, failed;
};

static void on_done(void *user, const struct pl_rec_result *res)
{
    struct recovered *r = user;
    r->count++;
    snprintf(r->path, sizeof(r->path), "%s", res->path);
    r->tracks = res->n_tracks;
    r->recovered = res->recovered;
    r->failed = res->failed;
}

static void child(const char *root, const struct media *video, const struct media *audio, int fd)
{
    struct pl_rec_config cfg = {.root = root, .tenant_id = "t", .conference_id = "c",
                                .session_id = "s", .recording_id = "crashed", .start_us = T0};
    char err[256];
    struct pl_recorder *r = pl_rec_open(&cfg, err, sizeof(err));
    if (!r)
        _exit(2);
    struct participant p[2] = {
        {.name = "alice", .join_s = 0, .leave_s = 14, .video_ts0 = 1, .audio_ts0 = 2},
        {.name = "bob", .join_s = 0.5, .leave_s = 14, .video_ts0 = 3, .audio_ts0 = 4},
    };
    feed_recording(r, T0, PL_REC_VP8, video, audio, p, 2, 12.6);
    sleep(3); /* the writer catches up and flushes what is idle */
    if (write(fd, "k", 1) != 1)
        _exit(3);
    for (;;)
        pause();
}

int main(void)
{
    pl_log_set_level(PL_LOG_WARN);
    char tmp[] = "/tmp/parley-crash-XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    char root[600];
    snprintf(root, sizeof(root), "%s/rec", tmp);
    if (encode_sources(tmp, PL_REC_VP8, 14) != 0)
        return 1;
    char vpath[700], apath[700];
    snprintf(vpath, sizeof(vpath), "%s/v.ivf", tmp);
    snprintf(apath, sizeof(apath), "%s/a.ogg", tmp);
    struct media video, audio;
    CHECK_EQ_INT(media_read_ivf(vpath, &video), 0);
    CHECK_EQ_INT(media_read_ogg_opus(apath, &audio), 0);

    int pfd[2];
    if (pipe(pfd) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        child(root, &video, &audio, pfd[1]);
    }
    close(pfd[1]);
    struct pollfd pf = {pfd[0], POLLIN, 0};
    char c = 0;
    CHECK(poll(&pf, 1, 120000) == 1 && read(pfd[0], &c, 1) == 1 && c == 'k');
    close(pfd[0]);

    /* The child is alive and holds its lock: recovery must not touch its recording. */
    struct recovered rec = {0};
    CHECK_EQ_INT(pl_rec_recover(root, on_done, &rec), 0);
    char parts[900];
    snprintf(parts, sizeof(parts), "%s/t/c/s/crashed.parts", root);
    CHECK(access(parts, F_OK) == 0);

    kill(pid, SIGKILL);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    CHECK_EQ_INT(pl_rec_recover(root, on_done, &rec), 1);
    CHECK_EQ_INT(rec.count, 1);
    CHECK_EQ_INT(rec.tracks, 5); /* mix + 2 x (video, audio) */
    CHECK(rec.recovered && !rec.failed);
    CHECK(access(parts, F_OK) != 0);
    char want[900];
    snprintf(want, sizeof(want), "%s/t/c/s/crashed.mp4", root);
    CHECK(strcmp(rec.path, want) == 0);

    struct probe_stream s[8];
    int n = probe_file(want, s, 8);
    CHECK_EQ_INT(n, 5);
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "  recovered stream %d: %-5s %-12s %7.3f .. %7.3f\n", i, s[i].codec,
                s[i].handler, s[i].first, s[i].end);
        CHECK(s[i].end - s[i].first >= 10.0);
        CHECK(!s[i].dts_backwards);
    }
    char cmd[4400], out[4096];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -xerror -i '%s' -map 0 -f null -", want);
    CHECK_EQ_INT(run_capture(cmd, out, sizeof(out)), 0);
    CHECK(out[0] == 0);
    if (out[0])
        fprintf(stderr, "ffmpeg said: %s\n", out);
    /* Nothing left to recover; the result is handed over again until it is delivered. */
    CHECK_EQ_INT(pl_rec_recover(root, on_done, &rec), 0);
    CHECK_EQ_INT(rec.count, 2);
    CHECK(rec.recovered && rec.tracks == 5);
    CHECK_EQ_INT(pl_rec_result_delivered(want), 0);
    CHECK_EQ_INT(pl_rec_recover(root, on_done, &rec), 0);
    CHECK_EQ_INT(rec.count, 2);

    media_free(&video);
    media_free(&audio);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (check_failures == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return check_result("recorder_crash");
}
