/* The node's own recorder. Starting a recording adds a ghost participant to the meeting (the
 * RECORD_JOIN role, never listed in MEETING_USERS) whose peer has no network: the worker
 * writes what its slots receive — every participant's top simulcast layer and audio — into a
 * recorder/ recording (sfu/rec_sink.c). Everyone in the meeting gets RECORDING true, and
 * false when it stops. The control plane hears of it through the recording-started webhook
 * (the original contract) and POST /recordings/{id}/completed (rec_report.c). */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/log.h"
#include "parley/recorder.h"
#include "parley/worker.h"
#include "sig_int.h"

#define PL_REC_SLOTS PL_MAX_RECORDER_SUBS /* video feeds, and as many audio ones */
#define PL_REC_FIELD 160

/* What the recorder's thread needs to ask the worker for a keyframe. */
struct keyframe_ctx {
    struct pl_worker *w;
    uint32_t peer_id;
};

struct pl_recording {
    struct pl_signaling *s;
    struct pl_recorder *rec;
    struct keyframe_ctx kf;
    uint32_t peer_id;
    char meeting_id[PL_ID_MAX + 1];
    char recording_id[PL_REC_FIELD], tenant_id[PL_REC_FIELD], conference_id[PL_REC_FIELD];
    char session_id[PL_REC_FIELD], title[PL_REC_FIELD];
    char path[4096];
    uv_work_t work;
    int stop_rc;
    struct pl_rec_result result;
    char err[256];
    struct pl_recording *next;
};

static void on_keyframe(void *user, int track)
{
    struct keyframe_ctx *kf = user;
    struct pl_cmd_rec_keyframe *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->hdr.type = PL_CMD_REC_KEYFRAME;
    c->peer_id = kf->peer_id;
    c->track = track;
    if (pl_worker_post(kf->w, &c->hdr) != 0)
        free(c);
}

static void iso_now(char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The slots of the recorder's peer: payload types of its own choosing for every codec it can
 * write (the worker maps each source's payload type onto these). */
static void fill_slot(struct pl_slot_spec *sl, enum pl_media_kind kind, int index)
{
    memset(sl->codecs.codec_pt, 0xff, sizeof sl->codecs.codec_pt);
    memset(sl->codecs.rtx_pt_of_codec, 0xff, sizeof sl->codecs.rtx_pt_of_codec);
    static const struct { enum pl_codec codec; uint8_t pt; } map[] = {
        {PL_CODEC_OPUS, 111}, {PL_CODEC_VP8, 96}, {PL_CODEC_VP9, 98}, {PL_CODEC_H264, 102}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if ((map[i].codec == PL_CODEC_OPUS) != (kind == PL_MEDIA_AUDIO))
            continue;
        sl->codecs.codec_pt[map[i].codec] = map[i].pt;
        sl->codecs.pt_codec[map[i].pt] = (uint8_t)map[i].codec;
    }
    sl->kind = kind;
    snprintf(sl->mid, sizeof sl->mid, "r%d", index);
    while (!sl->out_ssrc)
        RAND_bytes((uint8_t *)&sl->out_ssrc, sizeof sl->out_ssrc);
}

/* The ids become path components: the recorder sanitises them the same way. */
static void final_path(struct pl_recording *r, const char *root)
{
    char t[PL_REC_FIELD], c[PL_REC_FIELD], se[PL_REC_FIELD], id[PL_REC_FIELD];
    if (pl_rec_sanitize_id(r->tenant_id, t, sizeof t) || pl_rec_sanitize_id(r->conference_id, c, sizeof c) ||
        pl_rec_sanitize_id(r->session_id, se, sizeof se) || pl_rec_sanitize_id(r->recording_id, id, sizeof id))
        r->path[0] = '\0';
    else
        snprintf(r->path, sizeof r->path, "%s/%s/%s/%s/%s.mp4", root, t, c, se, id);
}

static void started_webhook(struct pl_signaling *s, struct pl_recording *r,
                            const struct pl_rec_request *req)
{
    char start[32];
    iso_now(start, sizeof start);
    char url[4200];
    snprintf(url, sizeof url, "file://%s", r->path);
    /* Exactly the original contract: every field a string. */
    json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                             "recording_id", r->recording_id, "conference_id", r->conference_id,
                             "tenant_id", r->tenant_id, "session_id", r->session_id,
                             "recording_url", url, "title", r->title, "start_time", start,
                             "host_user_id", req->host_user_id ? req->host_user_id : "",
                             "host_user_name", req->host_user_name ? req->host_user_name : "",
                             "tenant_name", req->tenant_name ? req->tenant_name : "");
    if (data)
        pl_control_post(s, "/recordings/webhook/recording-started",
                        json_pack("{s:s, s:o}", "event", "recording.started", "data", data));
}

int pl_recording_start(struct pl_signaling *s, struct pl_meeting *m,
                       const struct pl_rec_request *req, char *err, size_t errlen)
{
    struct pl_node *node = s->node;
    if (m->recorder) {
        snprintf(err, errlen, "meeting %s is being recorded already", m->id);
        return 409;
    }
    struct pl_recording *r = calloc(1, sizeof *r);
    struct pl_peer_spec *spec = calloc(1, sizeof *spec + 2 * PL_REC_SLOTS * sizeof spec->slots[0]);
    struct pl_slot_state *slots = calloc(2 * PL_REC_SLOTS, sizeof *slots);
    if (!r || !spec || !slots) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    r->s = s;
    snprintf(r->meeting_id, sizeof r->meeting_id, "%s", m->id);
    snprintf(r->recording_id, sizeof r->recording_id, "%s", req->recording_id);
    snprintf(r->tenant_id, sizeof r->tenant_id, "%s", req->tenant_id);
    snprintf(r->conference_id, sizeof r->conference_id, "%s", req->conference_id);
    snprintf(r->session_id, sizeof r->session_id, "%s", req->session_id);
    snprintf(r->title, sizeof r->title, "%s", req->title ? req->title : m->id);
    final_path(r, node->cfg.recordings_root);
    r->peer_id = ++node->next_peer_id;
    r->kf = (struct keyframe_ctx){node->workers[m->worker], r->peer_id};
    struct pl_rec_config rc = {
        .root = node->cfg.recordings_root,
        .tenant_id = r->tenant_id,
        .conference_id = r->conference_id,
        .session_id = r->session_id,
        .recording_id = r->recording_id,
        .on_keyframe = on_keyframe,
        .user = &r->kf,
    };
    char rerr[200];
    r->rec = pl_rec_open(&rc, rerr, sizeof rerr);
    if (!r->rec) {
        snprintf(err, errlen, "cannot start the recording: %s", rerr);
        goto fail;
    }
    spec->hdr.type = PL_CMD_PEER_ADD;
    spec->peer_id = r->peer_id;
    spec->recorder = r->rec;
    spec->n_slots = 2 * PL_REC_SLOTS;
    for (int i = 0; i < spec->n_slots; i++) {
        enum pl_media_kind kind = i % 2 ? PL_MEDIA_AUDIO : PL_MEDIA_VIDEO;
        fill_slot(&spec->slots[i], kind, i);
        snprintf(slots[i].mid, sizeof slots[i].mid, "%s", spec->slots[i].mid);
        slots[i].kind = kind;
    }
    char account[PL_ID_MAX + 1];
    snprintf(account, sizeof account, "recorder-%.100s", r->recording_id);
    struct pl_participant *p = pl_meeting_add(s, m, NULL, account, PL_ROLE_RECORDER);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        goto fail_rec;
    }
    p->slots = slots;
    p->n_slots = spec->n_slots;
    p->peer_id = r->peer_id;
    p->recording = r;
    m->recording = r;
    pl_map_put(&s->peers, p->peer_id, p);
    if (pl_worker_post(node->workers[m->worker], &spec->hdr) != 0)
        free(spec);
    PL_INFO("recorder", "meeting %s: recording %s started into %s", m->id, r->recording_id, r->path);
    started_webhook(s, r, req);
    pl_slots_media_ready(s, p);
    return 0;

fail_rec:
    {
        struct pl_rec_result res;
        char e2[64];
        if (pl_rec_stop(r->rec, &res, e2, sizeof e2) == 0)
            pl_rec_result_free(&res);
    }
fail:
    free(r);
    free(spec);
    free(slots);
    return 500;
}

void pl_recording_detach(struct pl_signaling *s, struct pl_participant *p)
{
    struct pl_recording *r = p->recording;
    if (!r)
        return;
    struct pl_meeting *m = p->meeting;
    if (m->recording == r)
        m->recording = NULL;
    p->recording = NULL;
    /* The worker still feeds it until the peer is removed: finished on PL_EV_RECORDER_DETACHED. */
    r->next = s->finishing;
    s->finishing = r;
    PL_INFO("recorder", "meeting %s: recording %s stopping", r->meeting_id, r->recording_id);
}

static void report(struct pl_signaling *s, struct pl_recording *r)
{
    pl_rec_report_stopped(s, r->recording_id, r->meeting_id, r->tenant_id, r->conference_id,
                          r->stop_rc == 0 ? &r->result : NULL, r->err);
    if (r->stop_rc == 0)
        pl_rec_result_free(&r->result);
}

static void stop_work(uv_work_t *w)
{
    struct pl_recording *r = w->data;
    r->stop_rc = pl_rec_stop(r->rec, &r->result, r->err, sizeof r->err);
}

static void stop_done(uv_work_t *w, int status)
{
    struct pl_recording *r = w->data;
    (void)status;
    report(r->s, r);
    free(r);
}

void pl_recording_on_detached(struct pl_signaling *s, uint32_t peer_id)
{
    for (struct pl_recording **rp = &s->finishing; *rp; rp = &(*rp)->next) {
        struct pl_recording *r = *rp;
        if (r->peer_id != peer_id)
            continue;
        *rp = r->next;
        /* Writing the final file takes a while: on the threadpool, off the loop. */
        r->work.data = r;
        if (uv_queue_work(s->node->loop, &r->work, stop_work, stop_done) != 0) {
            stop_work(&r->work);
            stop_done(&r->work, 0);
        }
        return;
    }
}

void pl_recording_finish_all(struct pl_signaling *s)
{
    while (s->finishing) {
        struct pl_recording *r = s->finishing;
        s->finishing = r->next;
        r->work.data = r;
        stop_work(&r->work);
        report(s, r);
        free(r);
    }
    pl_rec_report_flush(s);
}
