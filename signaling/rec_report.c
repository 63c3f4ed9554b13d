/* Recording results to the control plane: POST /recordings/{id}/completed with
 * recording.completed or recording.failed. A finished recording's result is on disk
 * (<recording>.result, written by the recorder before the final file appears) until the control
 * plane has taken it; one it did not take is sent again after its next good heartbeat, posted
 * once more (bounded) on the way out, and otherwise found by the next start's recovery, which
 * also finishes what a crash interrupted. So the control plane never aborts as stale a
 * recording whose file exists, unless it stays unreachable for that long. */
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "parley/recorder.h"
#include "parley/time.h"
#include "sig_int.h"

#define PL_REC_ID_MAX 160
#define PL_REPORT_EXIT_MS 3000 /* what the way out may spend posting results, in all */

struct pl_rec_report {
    char path[3 * PL_REC_ID_MAX + 32];
    json_t *body;
    char final_path[4096]; /* whose .result goes once delivered; "" for none */
    uv_work_t work;
    struct pl_rec_report *next;
};

static json_t *completed_json(const char *recording_id, const char *meeting_id,
                              const char *tenant_id, const char *conference_id,
                              const struct pl_rec_result *res)
{
    json_t *tracks = json_array();
    for (size_t i = 0; i < res->n_tracks; i++) {
        const struct pl_rec_track_info *t = &res->tracks[i];
        json_array_append_new(tracks, json_pack("{s:s, s:s, s:s, s:b, s:f, s:f}", "name", t->name,
                                                "codec", t->codec, "kind",
                                                t->kind == PL_REC_AUDIO ? "audio" : "video", "mix",
                                                t->mix, "start_seconds", t->start_s,
                                                "duration_seconds", t->duration_s));
    }
    json_t *body = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:I, s:f, s:o}", "event",
                             "recording.completed", "recording_id", recording_id, "meeting_id",
                             meeting_id, "tenant_id", tenant_id, "conference_id", conference_id,
                             "file_path", res->path, "size_bytes", (json_int_t)res->size,
                             "duration_seconds", res->duration_s, "tracks", tracks);
    if (body && res->recovered)
        json_object_set_new(body, "recovered", json_true());
    return body;
}

static struct pl_rec_report *report_new(const char *recording_id, json_t *body,
                                        const char *final_path)
{
    struct pl_rec_report *rp = body ? calloc(1, sizeof *rp) : NULL;
    if (!rp) {
        json_decref(body);
        return NULL;
    }
    size_t n = pl_control_id_path("/recordings/", recording_id, rp->path, sizeof rp->path);
    snprintf(rp->path + n, sizeof rp->path - n, "/completed");
    rp->body = body;
    snprintf(rp->final_path, sizeof rp->final_path, "%s", final_path ? final_path : "");
    return rp;
}

static void report_free(struct pl_rec_report *rp)
{
    json_decref(rp->body);
    free(rp);
}

/* Taken, or refused for good (4xx: not in progress any more, a bad body); 408 and 429 are
 * worth another try. */
static bool taken(long status)
{
    return status >= 200 && status < 500 && status != 408 && status != 429;
}

static void forget_work(uv_work_t *w)
{
    struct pl_rec_report *rp = w->data;
    if (pl_rec_result_delivered(rp->final_path) != 0)
        PL_WARN("recorder", "cannot remove the result of %s", rp->final_path);
}

static void forget_done(uv_work_t *w, int status)
{
    (void)status;
    report_free(w->data);
}

/* Its .result goes (a file removal: off the loop). */
static void delivered(struct pl_signaling *s, struct pl_rec_report *rp)
{
    if (!rp->final_path[0]) {
        report_free(rp);
        return;
    }
    rp->work.data = rp;
    if (uv_queue_work(s->node->loop, &rp->work, forget_work, forget_done) != 0) {
        forget_work(&rp->work);
        report_free(rp);
    }
}

static void keep(struct pl_signaling *s, struct pl_rec_report *rp)
{
    rp->next = s->undelivered;
    s->undelivered = rp;
    if (!s->stopping)
        PL_WARN("recorder", "POST %s not taken: sent again once the control plane answers", rp->path);
}

static void send_report(struct pl_signaling *s, struct pl_rec_report *rp);

static void on_reported(struct pl_signaling *s, long status, json_t *reply, void *user)
{
    (void)reply;
    if (taken(status))
        delivered(s, user);
    else
        keep(s, user);
}

static void send_report(struct pl_signaling *s, struct pl_rec_report *rp)
{
    const char *url = s->node->cfg.control_url;
    if (s->stopping)
        keep(s, rp); /* for pl_rec_report_flush */
    else if (!url || !*url)
        delivered(s, rp); /* nobody to tell: the log has said it */
    else if (pl_control_call(s, rp->path, json_incref(rp->body), on_reported, rp) != 0)
        keep(s, rp);
}

void pl_rec_report_stopped(struct pl_signaling *s, const char *recording_id,
                           const char *meeting_id, const char *tenant_id,
                           const char *conference_id, const struct pl_rec_result *res,
                           const char *err)
{
    struct pl_rec_report *rp;
    if (res) {
        PL_INFO("recorder", "recording %s complete: %s, %llu bytes, %.1f s, %zu tracks",
                recording_id, res->path, (unsigned long long)res->size, res->duration_s,
                res->n_tracks);
        rp = report_new(recording_id,
                        completed_json(recording_id, meeting_id, tenant_id, conference_id, res),
                        res->path);
    } else {
        PL_ERROR("recorder", "recording %s could not be finished: %s (its parts stay on disk "
                 "and are finished at the next start)", recording_id, err);
        rp = report_new(recording_id, json_pack("{s:s, s:s, s:s}", "event", "recording.failed",
                                                "recording_id", recording_id, "error", err),
                        NULL);
    }
    if (rp)
        send_report(s, rp);
}

void pl_recording_retry_reports(struct pl_signaling *s)
{
    struct pl_rec_report *list = s->undelivered;
    s->undelivered = NULL;
    while (list) {
        struct pl_rec_report *rp = list;
        list = rp->next;
        send_report(s, rp);
    }
}

void pl_rec_report_flush(struct pl_signaling *s)
{
    const char *url = s->node->cfg.control_url;
    uint64_t deadline = pl_now_ms() + PL_REPORT_EXIT_MS;
    while (s->undelivered) {
        struct pl_rec_report *rp = s->undelivered;
        s->undelivered = rp->next;
        uint64_t now = pl_now_ms();
        long status = 200; /* without a control plane: nobody to tell */
        if (url && *url)
            status = now < deadline ? pl_control_post_now(s, rp->path, json_incref(rp->body),
                                                          (long)(deadline - now))
                                    : 0;
        if (taken(status) && rp->final_path[0] && pl_rec_result_delivered(rp->final_path) != 0)
            PL_WARN("recorder", "cannot remove the result of %s", rp->final_path);
        if (!taken(status))
            PL_WARN("recorder", "POST %s not taken before exit: %s", rp->path,
                    rp->final_path[0] ? "its result waits on disk for the next start" : "dropped");
        report_free(rp);
    }
}

/* Recovery runs on the threadpool; the reports it makes wait in a list for the main loop,
 * which alone talks to the control plane. */
struct recovery {
    uv_work_t work;
    struct pl_signaling *s;
    struct pl_rec_report *reports;
};

/* <root>/<tenant>/<conference>/<session>/<recording>.mp4: the ids are the path's last parts. */
static struct pl_rec_report *result_report(const struct pl_rec_result *res)
{
    char copy[sizeof res->path];
    snprintf(copy, sizeof copy, "%s", res->path);
    char *part[4];
    for (int i = 3; i >= 0; i--) {
        char *slash = strrchr(copy, '/');
        if (!slash)
            return NULL;
        part[i] = slash + 1;
        *slash = '\0';
    }
    size_t n = strlen(part[3]);
    if (n <= 4 || n - 4 >= PL_REC_ID_MAX || strcmp(part[3] + n - 4, ".mp4") != 0)
        return NULL;
    part[3][n - 4] = '\0';
    json_t *body;
    if (res->failed)
        body = json_pack("{s:s, s:s, s:s, s:b}", "event", "recording.failed", "recording_id",
                         part[3], "error", res->error, "recovered", res->recovered);
    else
        body = completed_json(part[3], NULL, part[0], part[1], res);
    return report_new(part[3], body, res->path);
}

static void recovered(void *user, const struct pl_rec_result *res)
{
    struct recovery *rc = user;
    if (res->failed)
        PL_WARN("recorder", "an interrupted recording could not be recovered: %s (%s)", res->path,
                res->error);
    else if (res->recovered)
        PL_INFO("recorder", "recovered an interrupted recording: %s (%llu bytes, %.1f s, %zu tracks)",
                res->path, (unsigned long long)res->size, res->duration_s, res->n_tracks);
    else
        PL_INFO("recorder", "a recording finished earlier was not reported yet: %s", res->path);
    struct pl_rec_report *rp = result_report(res);
    if (rp) {
        rp->next = rc->reports;
        rc->reports = rp;
    } else {
        PL_WARN("recorder", "%s: not <root>/<tenant>/<conference>/<session>/<id>.mp4, not reported",
                res->path);
    }
}

static void recover_work(uv_work_t *w)
{
    struct recovery *rc = w->data;
    int n = pl_rec_recover(rc->s->node->cfg.recordings_root, recovered, rc);
    if (n > 0)
        PL_INFO("recorder", "%d interrupted recording%s finished", n, n == 1 ? "" : "s");
}

static void recover_done(uv_work_t *w, int status)
{
    (void)status;
    struct recovery *rc = w->data;
    while (rc->reports) {
        struct pl_rec_report *rp = rc->reports;
        rc->reports = rp->next;
        send_report(rc->s, rp);
    }
    free(rc);
}

void pl_recording_recover(struct pl_signaling *s)
{
    struct recovery *rc = calloc(1, sizeof *rc);
    if (!rc)
        return;
    rc->s = s;
    rc->work.data = rc;
    if (uv_queue_work(s->node->loop, &rc->work, recover_work, recover_done) != 0)
        free(rc);
}
