/* Recordings: start (or join the recipients of) a meeting's recording, the node's
 * recording-started webhook (the original contract, exactly), completion and progress
 * reports, the catalogue, and signed download URLs for those allowed to see a recording. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_int.h"
#include "join_token.h"
#include "node_call.h"
#include "outbox_sql.h"
#include "parley/control_events.h"
#include "parley/log.h"

#define ACTIVE "('starting', 'active', 'ending')"

/* ---- POST /meetings/{id}/record ---- */

/* Starts a recording unless one is active (the partial unique index decides, across
 * instances), and adds the caller to its recipients either way. */
static const char record_sql[] =
    "WITH m AS (SELECT id, tenant_id, conference_id, session_id, title, node_id, host_account_id"
    "  FROM meetings WHERE id = $1 AND tenant_id = $2 AND status = 'live'),"
    " ins AS (INSERT INTO recordings (id, title, conference_id, session_id, meeting_id,"
    "   tenant_id, status, file_path)"
    "  SELECT $4::text, m.title, m.conference_id, m.session_id, m.id, m.tenant_id, 'starting',"
    "   $5::text || '/' || m.tenant_id || '/' || m.conference_id || '/' || m.session_id || '/'"
    "   || $4::text || '.mp4' FROM m"
    "  ON CONFLICT (meeting_id) WHERE status IN " ACTIVE " DO NOTHING RETURNING id),"
    " rec AS (SELECT id, true AS started FROM ins UNION ALL"
    "  SELECT r.id, false FROM recordings r JOIN m ON r.meeting_id = m.id"
    "  WHERE r.status IN " ACTIVE "),"
    " rcp AS (INSERT INTO recipients (recording_id, account_id)"
    "  SELECT id, $3 FROM rec ON CONFLICT DO NOTHING),"
    " mf AS (UPDATE meetings SET recording = true WHERE id = (SELECT id FROM m)"
    "  AND EXISTS (SELECT 1 FROM ins))"
    " SELECT (SELECT id FROM rec LIMIT 1), (SELECT started FROM rec LIMIT 1),"
    "  (SELECT status FROM meetings WHERE id = $1 AND tenant_id = $2), n.signaling_url,"
    "  (SELECT session_id FROM m), (SELECT conference_id FROM m), m.title, m.host_account_id,"
    "  (SELECT name FROM accounts WHERE id = m.host_account_id),"
    "  (SELECT name FROM tenants WHERE id = m.tenant_id)"
    " FROM (SELECT 1) one LEFT JOIN m ON true LEFT JOIN nodes n ON n.id = m.node_id";

/* A start the node did not take: the recording failed, the meeting is not being recorded. */
static const char start_failed_sql[] =
    "WITH x AS (UPDATE recordings SET status = 'failed', updated_at = now()"
    "  WHERE id = $1 AND status IN " ACTIVE " RETURNING id, meeting_id, tenant_id),"
    " m AS (UPDATE meetings SET recording = false WHERE id = (SELECT meeting_id FROM x)),"
    " ev AS (" OUTBOX_EVENT("'recording.failed'", "x.tenant_id",
                            "jsonb_build_object('recording_id', x.id, 'meeting_id', x.meeting_id,"
                            " 'reason', 'node', 'error', $2::text)", "x") ")"
    " SELECT count(*) FROM x";

/* What a start waits on while the node answers. */
struct rec_start {
    char recording_id[CTL_ID_MAX + 1];
    json_t *answer;    /* the 201 body, sent once the node said 201 */
    char error[512];   /* the 502 message otherwise */
};

static void rec_start_free(void *p)
{
    struct rec_start *st = p;
    json_decref(st->answer);
    free(st);
}

static void start_marked_failed(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct rec_start *st = r->data;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "recording");
        return;
    }
    ctl_reply_error(r, 502, "%s", st->error);
}

static void node_started(void *ctx, long status, json_t *reply, const char *error)
{
    struct ctl_req *r = ctx;
    struct rec_start *st = r->data;
    (void)reply;
    if (status == 201) {
        json_t *a = st->answer;
        st->answer = NULL;
        ctl_reply_json(r, 201, a);
        return;
    }
    snprintf(st->error, sizeof st->error, "the node did not start the recording (%s)", error);
    PL_WARN("control", "recording %s: %s", st->recording_id, st->error);
    const char *p[2] = {st->recording_id, error};
    pl_db_query(r->ctl->db, start_failed_sql, 2, p, start_marked_failed, r);
}

/* Puts key: value into o when value is a non-empty string of at most max bytes (the node
 * refuses empty or longer fields; these ones are optional). */
static void put_optional(json_t *o, const char *key, const char *value, size_t max)
{
    if (value && *value && strlen(value) <= max)
        json_object_set_new(o, key, json_string(value));
}

static void record_done(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "recording");
        return;
    }
    if (PQgetisnull(res, 0, 2)) {
        ctl_reply_error(r, 404, "no such meeting");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 2), "live") != 0) {
        ctl_reply_error(r, 409, "the meeting has ended");
        return;
    }
    if (PQgetisnull(res, 0, 0)) {
        /* Another instance's start is still in flight: it will be visible in a moment. */
        ctl_reply_error(r, 409, "a recording is being started; try again");
        return;
    }
    const char *rec = PQgetvalue(res, 0, 0);
    if (PQgetvalue(res, 0, 1)[0] != 't') {
        ctl_reply_json(r, 200, json_pack("{s:s,s:s,s:b,s:b}", "recording_id", rec, "meeting_id",
                                         r->params[0], "started", 0, "recipient_added", 1));
        return;
    }
    struct rec_start *st = calloc(1, sizeof *st);
    if (!st) {
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    snprintf(st->recording_id, sizeof st->recording_id, "%s", rec);
    r->data = st;
    r->free_data = rec_start_free;
    const char *signaling_url = PQgetvalue(res, 0, 3);
    const char *session = PQgetvalue(res, 0, 4), *conference = PQgetvalue(res, 0, 5);
    char base[512];
    if (!ctl_node_http_base(signaling_url, base, sizeof base)) {
        snprintf(st->error, sizeof st->error,
                 "the node's signaling URL is not ws:// or wss://: cannot reach its recorder");
        const char *p[2] = {rec, "bad signaling URL"};
        pl_db_query(r->ctl->db, start_failed_sql, 2, p, start_marked_failed, r);
        return;
    }
    /* The recorder's credential, for the node's POST /recordings/start (and RECORD_JOIN). */
    int64_t exp = 0;
    char account[CTL_ID_MAX + 16];
    snprintf(account, sizeof account, "recorder-%s", rec);
    char *tok = ctl_mint_join(r->ctl, r->params[0], account, r->tenant_id, PL_ROLE_RECORDER, &exp);
    if (!tok) {
        const char *p[2] = {rec, "cannot mint the recorder token"};
        snprintf(st->error, sizeof st->error, "cannot mint the recorder token");
        pl_db_query(r->ctl->db, start_failed_sql, 2, p, start_marked_failed, r);
        return;
    }
    st->answer = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s}", "recording_id", rec,
                           "meeting_id", r->params[0], "conference_id", conference, "session_id",
                           session, "status", "starting", "started", 1, "recipient_added", 1,
                           "signaling_url", signaling_url, "recorder_token", tok);
    json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "token", tok, "recording_id", rec,
                             "conference_id", conference, "session_id", session);
    free(tok);
    if (body) {
        put_optional(body, "title", PQgetvalue(res, 0, 6), 150);
        put_optional(body, "host_user_id", PQgetvalue(res, 0, 7), 128);
        put_optional(body, "host_user_name", PQgetvalue(res, 0, 8), 128);
        put_optional(body, "tenant_name", PQgetvalue(res, 0, 9), 128);
    }
    ctl_node_post(r->ctl, base, "/recordings/start", body, node_started, r);
}

void api_record_start(struct ctl_req *r)
{
    char id[80];
    if (ctl_random_token("", id, sizeof id) != 0) {
        ctl_reply_error(r, 500, "no randomness");
        return;
    }
    id[32] = '\0'; /* 128 bits are plenty for an id */
    const char *p[5] = {r->params[0], r->tenant_id, r->account_id, id, r->ctl->cfg.recordings_root};
    pl_db_query(r->ctl->db, record_sql, 5, p, record_done, r);
}

/* ---- POST /meetings/{id}/record/stop (the meeting's host or an admin) ---- */

static const char stop_sql[] =
    "SELECT m.host_account_id, r.id, r.status, n.signaling_url FROM meetings m"
    " JOIN nodes n ON n.id = m.node_id"
    " LEFT JOIN recordings r ON r.meeting_id = m.id AND r.status IN " ACTIVE
    " WHERE m.id = $1 AND m.tenant_id = $2";

struct rec_stop {
    char recording_id[CTL_ID_MAX + 1];
    char error[512];
};

static void stop_marked(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct rec_stop *st = r->data;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "recording");
        return;
    }
    /* The node's completion may already have come: then the row says complete or failed. */
    ctl_reply_json(r, 202, json_pack("{s:s,s:s,s:s}", "recording_id", st->recording_id,
                                     "meeting_id", r->params[0], "status",
                                     PQntuples(res) ? PQgetvalue(res, 0, 0) : "ending"));
}

static void node_stopped(void *ctx, long status, json_t *reply, const char *error)
{
    struct ctl_req *r = ctx;
    struct rec_stop *st = r->data;
    (void)reply;
    if (status != 202) {
        ctl_reply_error(r, 502, "the node did not stop the recording (%s)", error);
        return;
    }
    const char *p[1] = {st->recording_id};
    pl_db_query(r->ctl->db,
                "WITH u AS (UPDATE recordings SET status = 'ending', updated_at = now(),"
                "  progress_at = now() WHERE id = $1 AND status IN ('starting', 'active')"
                "  RETURNING status)"
                " SELECT status FROM u UNION ALL SELECT status FROM recordings"
                "  WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM u)",
                1, p, stop_marked, r);
}

static void stop_found(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "recording");
        return;
    }
    if (PQntuples(res) == 0) {
        ctl_reply_error(r, 404, "no such meeting");
        return;
    }
    if (strcmp(r->role, "admin") != 0 && strcmp(PQgetvalue(res, 0, 0), r->account_id) != 0) {
        ctl_reply_error(r, 403, "only the meeting's host or an admin may stop its recording");
        return;
    }
    if (PQgetisnull(res, 0, 1)) {
        ctl_reply_error(r, 409, "the meeting is not being recorded");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 2), "ending") == 0) {
        ctl_reply_error(r, 409, "the recording is stopping already");
        return;
    }
    char base[512];
    if (!ctl_node_http_base(PQgetvalue(res, 0, 3), base, sizeof base)) {
        ctl_reply_error(r, 502, "the node's signaling URL is not ws:// or wss://");
        return;
    }
    struct rec_stop *st = calloc(1, sizeof *st);
    int64_t exp = 0;
    char account[CTL_ID_MAX + 16];
    snprintf(account, sizeof account, "recorder-%s", PQgetvalue(res, 0, 1));
    char *tok = st ? ctl_mint_join(r->ctl, r->params[0], account, r->tenant_id, PL_ROLE_RECORDER,
                                   &exp) : NULL;
    if (!tok) {
        free(st);
        ctl_reply_error(r, 500, "cannot mint the recorder token");
        return;
    }
    snprintf(st->recording_id, sizeof st->recording_id, "%s", PQgetvalue(res, 0, 1));
    r->data = st;
    r->free_data = free;
    ctl_node_post(r->ctl, base, "/recordings/stop", json_pack("{s:s}", "token", tok),
                  node_stopped, r);
    free(tok);
}

void api_record_stop(struct ctl_req *r)
{
    const char *p[2] = {r->params[0], r->tenant_id};
    pl_db_query(r->ctl->db, stop_sql, 2, p, stop_found, r);
}

void api_recipients_list(struct ctl_req *r)
{
    /* The meeting's latest recording's recipients. */
    const char *p[2] = {r->params[0], r->tenant_id};
    ctl_sql_json(r,
                 "SELECT json_build_object('recording_id', x.id, 'status', x.status,"
                 " 'recipients', coalesce((SELECT json_agg(json_build_object('account_id',"
                 "  a.id, 'email', a.email, 'added_at', rc.added_at) ORDER BY rc.added_at, a.id)"
                 "  FROM recipients rc JOIN accounts a ON a.id = rc.account_id"
                 "  WHERE rc.recording_id = x.id), '[]'::json))::text"
                 " FROM (SELECT r.id, r.status FROM recordings r"
                 "  JOIN meetings m ON m.id = r.meeting_id AND m.tenant_id = $2"
                 "  WHERE r.meeting_id = $1 ORDER BY r.created_at DESC LIMIT 1) x",
                 2, p, 200, NULL, "no recording of this meeting");
}

/* ---- POST /recordings/webhook/recording-started (node) ---- */

static const char started_sql[] =
    "WITH t AS (SELECT id FROM tenants WHERE id = $3),"
    " c AS (INSERT INTO conferences (id, name, host_user_id, tenant_id, start_time)"
    "  SELECT $2, $6, $8, t.id, $7::timestamptz FROM t"
    "  ON CONFLICT (id) DO UPDATE SET updated_at = now()"
    "  WHERE conferences.tenant_id = EXCLUDED.tenant_id RETURNING id),"
    " s AS (INSERT INTO sessions (id, conference_id, session_name, start_time, recording_url)"
    "  SELECT $4, c.id, $6, $7::timestamptz, $5 FROM c"
    "  ON CONFLICT (id) DO UPDATE SET recording_url = EXCLUDED.recording_url"
    "  WHERE sessions.conference_id = EXCLUDED.conference_id RETURNING id),"
    " r AS (INSERT INTO recordings (id, title, conference_id, session_id, meeting_id, tenant_id,"
    "   status, file_path)"
    "  SELECT $1, $6, c.id, s.id, (SELECT id FROM meetings WHERE id = $2 AND tenant_id = $3),"
    "   $3, 'active', $9 FROM c, s"
    "  ON CONFLICT (id) DO UPDATE SET status = 'active', title = EXCLUDED.title,"
    "   progress_at = now(), updated_at = now()"
    "  WHERE recordings.tenant_id = EXCLUDED.tenant_id"
    "   AND recordings.conference_id = EXCLUDED.conference_id"
    "   AND recordings.status IN ('starting', 'active')"
    "  RETURNING id, conference_id, session_id, meeting_id, title),"
    " ev AS (" OUTBOX_EVENT("'recording.started'", "$3",
                            "jsonb_build_object('recording_id', r.id, 'conference_id',"
                            " r.conference_id, 'session_id', r.session_id, 'meeting_id',"
                            " r.meeting_id, 'title', r.title)", "r") ")"
    " SELECT count(*) FROM r";

static void started_done(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    if (ok)
        ctl_reply(r, 200, "application/json", CTL_REC_SUCCESS, sizeof CTL_REC_SUCCESS - 1, NULL);
    else
        ctl_reply(r, res ? 400 : 503, "application/json", CTL_REC_FAILURE,
                  sizeof CTL_REC_FAILURE - 1, NULL);
}

void api_recording_started(struct ctl_req *r)
{
    struct pl_recording_started ev;
    json_t *root = pl_recording_started_parse(r->body, r->body_len, &ev);
    if (!root) {
        ctl_reply(r, 400, "application/json", CTL_REC_FAILURE, sizeof CTL_REC_FAILURE - 1, NULL);
        return;
    }
    r->json = root;
    char path[4 * PL_EVENT_ID_MAX + 4096];
    snprintf(path, sizeof path, "%s/%s/%s/%s/%s.mp4", r->ctl->cfg.recordings_root, ev.tenant_id,
             ev.conference_id, ev.session_id, ev.recording_id);
    const char *p[9] = {ev.recording_id, ev.conference_id, ev.tenant_id, ev.session_id,
                        ev.recording_url, ev.title, ev.start_time, ev.host_user_id, path};
    pl_db_query(r->ctl->db, started_sql, 9, p, started_done, r);
}

/* ---- POST /recordings/{id}/completed and /progress (node) ---- */

/* The node's file path, when it sends one: absolute, no ".." component, no control
 * characters (it is served from disk by GET /files/{id}). */
static bool safe_file_path(const char *p)
{
    if (p[0] != '/' || strstr(p, "/../") || (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")))
        return false;
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f)
            return false;
    return true;
}

/* The node sends {"event": "recording.completed", "recording_id", "meeting_id", "tenant_id",
 * "conference_id", "file_path", "size_bytes", "duration_seconds", "tracks": [...]} or
 * {"event": "recording.failed", "recording_id", "error"} (docs/protocol.md); the older
 * {"status": "complete"|"failed", ...} form is accepted too. Other members are ignored. */
void api_recording_completed(struct ctl_req *r)
{
    if (!ctl_body_json(r))
        return;
    bool bad = false;
    const char *status = ctl_json_str(r, "status", 16, false, &bad);
    if (bad)
        return;
    const char *event = ctl_json_str(r, "event", 32, false, &bad);
    if (bad)
        return;
    const char *file = ctl_json_str(r, "file_path", 4096, false, &bad);
    if (bad)
        return;
    if (event && strcmp(event, "recording.completed") && strcmp(event, "recording.failed")) {
        ctl_reply_error(r, 400, "\"event\" must be recording.completed or recording.failed");
        return;
    }
    if (!status)
        status = event && !strcmp(event, "recording.failed") ? "failed" : "complete";
    if (strcmp(status, "complete") && strcmp(status, "failed")) {
        ctl_reply_error(r, 400, "\"status\" must be complete or failed");
        return;
    }
    if (event && strcmp(status, !strcmp(event, "recording.failed") ? "failed" : "complete")) {
        ctl_reply_error(r, 400, "\"status\" contradicts \"event\"");
        return;
    }
    if (file && !safe_file_path(file)) {
        ctl_reply_error(r, 400, "\"file_path\" must be an absolute path without \"..\"");
        return;
    }
    json_t *size = json_object_get(r->json, "size_bytes");
    json_t *dur = json_object_get(r->json, "duration_seconds");
    if ((size && !json_is_integer(size)) || (dur && !json_is_number(dur)) ||
        (size && json_integer_value(size) < 0) || (dur && json_number_value(dur) < 0) ||
        (dur && json_number_value(dur) > 1e9)) {
        ctl_reply_error(r, 400, "\"size_bytes\" and \"duration_seconds\" must be numbers >= 0");
        return;
    }
    char s[32] = "", d[32] = "";
    if (size)
        snprintf(s, sizeof s, "%lld", (long long)json_integer_value(size));
    if (dur)
        snprintf(d, sizeof d, "%.0f", json_number_value(dur));
    const char *p[5] = {r->params[0], status, size ? s : NULL, dur ? d : NULL, file};
    ctl_sql_json(r,
                 "WITH x AS (UPDATE recordings SET status = $2, size_bytes = $3::bigint,"
                 "  duration_seconds = $4::integer, updated_at = now(), progress_at = now(),"
                 "  file_path = coalesce($5::text, file_path)"
                 "  WHERE id = $1 AND status IN " ACTIVE
                 "  RETURNING id, status, session_id, meeting_id, tenant_id, title),"
                 " ev AS (" OUTBOX_EVENT("(CASE x.status WHEN 'complete' THEN 'recording.completed'"
                                         " ELSE 'recording.failed' END)", "x.tenant_id",
                                         "jsonb_build_object('recording_id', x.id, 'meeting_id',"
                                         " x.meeting_id, 'size_bytes', $3::bigint,"
                                         " 'duration_seconds', $4::integer)", "x") "),"
                 /* Recipients get the link by e-mail (signed when the mail is sent). */
                 " em AS (INSERT INTO outbox (tenant_id, kind, event_type, email_to, payload)"
                 "  SELECT x.tenant_id, 'email', 'recording.ready', a.email,"
                 "   jsonb_build_object('recording_id', x.id, 'title', x.title)"
                 "  FROM x JOIN recipients rc ON rc.recording_id = x.id"
                 "  JOIN accounts a ON a.id = rc.account_id WHERE x.status = 'complete'),"
                 " s AS (UPDATE sessions SET duration_seconds = $4::integer,"
                 "  file_size_mb = round($3::bigint / 1048576.0, 2)"
                 "  WHERE id = (SELECT session_id FROM x)),"
                 " m AS (UPDATE meetings SET recording = false WHERE id = (SELECT meeting_id FROM x))"
                 " SELECT json_build_object('recording_id', id, 'status', status)::text FROM x",
                 5, p, 200, NULL, "no such recording in progress");
}

void api_recording_progress(struct ctl_req *r)
{
    const char *p[1] = {r->params[0]};
    ctl_sql_json(r,
                 "UPDATE recordings SET progress_at = now(), updated_at = now()"
                 " WHERE id = $1 AND status IN " ACTIVE
                 " RETURNING json_build_object('recording_id', id, 'status', status)::text",
                 1, p, 200, NULL, "no such recording in progress");
}

/* ---- the catalogue, for callers allowed to see a recording: the tenant's admins, the
 * conference's host and the recording's recipients ---- */

#define VISIBLE                                                                               \
    " r.tenant_id = $2 AND ($4 OR EXISTS (SELECT 1 FROM conferences c WHERE c.id ="          \
    " r.conference_id AND c.host_user_id = $3) OR EXISTS (SELECT 1 FROM recipients x"        \
    " WHERE x.recording_id = r.id AND x.account_id = $3))"

void api_recording_get(struct ctl_req *r)
{
    const char *p[4] = {r->params[0], r->tenant_id, r->account_id,
                        strcmp(r->role, "admin") == 0 ? "true" : "false"};
    ctl_sql_json(r,
                 "SELECT json_build_object('recording_id', r.id, 'title', r.title,"
                 " 'conference_id', r.conference_id, 'session_id', r.session_id, 'meeting_id',"
                 " r.meeting_id, 'tenant_id', r.tenant_id, 'status', r.status, 'file_path',"
                 " r.file_path, 'size_bytes', r.size_bytes, 'duration_seconds',"
                 " r.duration_seconds, 'created_at', r.created_at, 'updated_at',"
                 " r.updated_at)::text FROM recordings r WHERE r.id = $1 AND" VISIBLE,
                 4, p, 200, NULL, "no such recording");
}

void api_recordings_list(struct ctl_req *r)
{
    /* VISIBLE numbers its parameters $2..$4; $1 (NULL) only keeps the numbering. */
    const char *q[4] = {NULL, r->tenant_id, r->account_id,
                        strcmp(r->role, "admin") == 0 ? "true" : "false"};
    ctl_sql_json(r,
                 "SELECT json_build_object('recording_id', r.id, 'title', r.title,"
                 " 'conference_id', r.conference_id, 'session_id', r.session_id, 'meeting_id',"
                 " r.meeting_id, 'status', r.status, 'size_bytes', r.size_bytes,"
                 " 'duration_seconds', r.duration_seconds, 'created_at', r.created_at)::text"
                 " FROM recordings r WHERE $1::text IS NULL AND" VISIBLE
                 " ORDER BY r.created_at DESC, r.id LIMIT 1000",
                 4, q, 200, "recordings", NULL);
}

static void url_found(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "download URL");
        return;
    }
    if (PQntuples(res) == 0) {
        ctl_reply_error(r, 404, "no such recording");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "complete") != 0) {
        ctl_reply_error(r, 409, "the recording is %s, not complete", PQgetvalue(res, 0, 0));
        return;
    }
    char url[1024];
    long long exp = ctl_signed_url(&r->ctl->cfg, r->params[0], url, sizeof url);
    if (!exp) {
        ctl_reply_error(r, 500, "the download URL is too long (--public-url)");
        return;
    }
    ctl_reply_json(r, 200, json_pack("{s:s,s:s,s:I}", "recording_id", r->params[0], "url", url,
                                     "expires_at", (json_int_t)exp));
}

void api_recording_url(struct ctl_req *r)
{
    const char *p[4] = {r->params[0], r->tenant_id, r->account_id,
                        strcmp(r->role, "admin") == 0 ? "true" : "false"};
    pl_db_query(r->ctl->db, "SELECT r.status FROM recordings r WHERE r.id = $1 AND" VISIBLE, 4,
                p, url_found, r);
}
