/* Meetings: creation with placement, join tokens, the node's join/leave/end reports, the
 * host's end, deletion once no recording is pending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "parley/log.h"
#include "join_token.h"
#include "meeting_end_sql.h"
#include "node_call.h"
#include "outbox_sql.h"

#define TITLE_MAX 200

/* Placement: the healthy (recent heartbeat), non-draining node with the lowest load is chosen
 * and its meeting count raised in the same statement that creates the meeting. Concurrent
 * creates (on any number of control-plane instances) serialise on the chosen node's row: the
 * UPDATE waits for the row lock, then re-checks health on the newest row version and adds to
 * the newest count, so counts stay exact. If the chosen node turned draining or silent while
 * the statement waited, the re-check fails and the statement does nothing at all (nothing is
 * written), so it is run again, a few times, before answering 503: another node may be fine.
 * The choice must not use a volatile function such as random(): PostgreSQL's re-check of a
 * changed row can then disagree with the choice, which showed as spurious 503s under load.
 * Load = meetings + participants, ties to fewer meetings, then the id. */
static const char create_sql[] =
    "WITH n AS ("
    "  UPDATE nodes SET meetings = meetings + 1"
    "  WHERE id = (SELECT id FROM nodes WHERE NOT draining"
    "    AND last_heartbeat > now() - make_interval(secs => $4::integer)"
    "    ORDER BY meetings + participants, meetings, id LIMIT 1)"
    "  AND NOT draining AND last_heartbeat > now() - make_interval(secs => $4::integer)"
    "  RETURNING id, signaling_url),"
    " c AS (INSERT INTO conferences (id, name, host_user_id, tenant_id, start_time)"
    "  SELECT gen_random_uuid()::text, $1, $2, $3, now() FROM n RETURNING id),"
    " s AS (INSERT INTO sessions (id, conference_id, session_name, start_time)"
    "  SELECT gen_random_uuid()::text, c.id, $1, now() FROM c RETURNING id, conference_id),"
    " m AS (INSERT INTO meetings (id, tenant_id, conference_id, session_id, title,"
    "   host_account_id, node_id)"
    "  SELECT s.conference_id, $3, s.conference_id, s.id, $1, $2, n.id FROM s, n"
    "  RETURNING id, session_id, node_id, created_at, tenant_id),"
    " ev AS (" OUTBOX_EVENT("'meeting.started'", "m.tenant_id",
                            "jsonb_build_object('meeting_id', m.id, 'title', $1::text,"
                            " 'host_account_id', $2::text, 'node_id', m.node_id)", "m") ")"
    " SELECT m.id, m.session_id, m.node_id, n.signaling_url, m.created_at FROM m, n";

#define PLACEMENT_TRIES 8

struct create {
    int tries;
    char *params[4];
};

static void create_free(void *p)
{
    struct create *c = p;
    for (int i = 0; c && i < 4; i++)
        free(c->params[i]);
    free(c);
}

static void created(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct create *cr = r->data;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "meeting");
        return;
    }
    if (PQntuples(res) == 0) {
        if (++cr->tries < PLACEMENT_TRIES) {
            pl_db_query(r->ctl->db, create_sql, 4, (const char *const *)cr->params, created, r);
            return;
        }
        ctl_reply_error(r, 503, "no healthy node available");
        return;
    }
    const char *id = PQgetvalue(res, 0, 0);
    int64_t exp = 0;
    char *tok = ctl_mint_join(r->ctl, id, r->account_id, r->tenant_id, PL_ROLE_HOST, &exp);
    if (!tok) {
        ctl_reply_error(r, 500, "cannot mint join token");
        return;
    }
    json_t *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:s}", "meeting_id", id,
                            "conference_id", id, "session_id", PQgetvalue(res, 0, 1), "node_id",
                            PQgetvalue(res, 0, 2), "signaling_url", PQgetvalue(res, 0, 3),
                            "host_account_id", r->account_id, "tenant_id", r->tenant_id,
                            "join_token", tok, "token_expires_at", (json_int_t)exp, "role",
                            "host");
    free(tok);
    ctl_reply_json(r, 201, out);
}

void api_meeting_create(struct ctl_req *r)
{
    if (r->body_len && !ctl_body_json(r))
        return;
    bool bad = false;
    const char *title = r->json ? ctl_json_str(r, "title", TITLE_MAX, false, &bad) : NULL;
    if (bad)
        return;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", r->ctl->cfg.node_timeout_s);
    struct create *cr = calloc(1, sizeof *cr);
    const char *p[4] = {title ? title : "", r->account_id, r->tenant_id, timeout};
    for (int i = 0; cr && i < 4; i++)
        if (!(cr->params[i] = strdup(p[i]))) {
            create_free(cr);
            cr = NULL;
        }
    if (!cr) {
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    r->data = cr;
    r->free_data = create_free;
    pl_db_query(r->ctl->db, create_sql, 4, (const char *const *)cr->params, created, r);
}

#define MEETING_JSON                                                                         \
    "json_build_object('meeting_id', m.id, 'title', m.title, 'tenant_id', m.tenant_id,"     \
    " 'conference_id', m.conference_id, 'session_id', m.session_id, 'host_account_id',"     \
    " m.host_account_id, 'node_id', m.node_id, 'signaling_url', n.signaling_url, 'status',"  \
    " m.status, 'recording', m.recording, 'participants', m.participants, 'created_at',"     \
    " m.created_at, 'ended_at', m.ended_at)::text"

void api_meetings_list(struct ctl_req *r)
{
    const char *p[1] = {r->tenant_id};
    ctl_sql_json(r,
                 "SELECT " MEETING_JSON " FROM meetings m JOIN nodes n ON n.id = m.node_id"
                 " WHERE m.tenant_id = $1 ORDER BY m.created_at DESC, m.id LIMIT 1000",
                 1, p, 200, "meetings", NULL);
}

void api_meeting_get(struct ctl_req *r)
{
    const char *p[2] = {r->params[0], r->tenant_id};
    ctl_sql_json(r,
                 "SELECT " MEETING_JSON " FROM meetings m JOIN nodes n ON n.id = m.node_id"
                 " WHERE m.id = $1 AND m.tenant_id = $2",
                 2, p, 200, NULL, "no such meeting");
}

/* ---- POST /meetings/{id}/join: a join token for the caller, or (host/admin) for another
 * account of the tenant ---- */

struct join {
    char target[CTL_ID_MAX + 1];
    enum pl_role role;
    bool role_given;
};

static void join_found(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct join *j = r->data;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "join");
        return;
    }
    if (PQntuples(res) == 0) {
        ctl_reply_error(r, 404, "no such meeting");
        return;
    }
    const char *host = PQgetvalue(res, 0, 1);
    bool caller_is_host = strcmp(host, r->account_id) == 0;
    bool for_self = strcmp(j->target, r->account_id) == 0;
    if (strcmp(PQgetvalue(res, 0, 2), "live") != 0) {
        ctl_reply_error(r, 409, "the meeting has ended");
        return;
    }
    if (!for_self && !caller_is_host && strcmp(r->role, "admin") != 0) {
        ctl_reply_error(r, 403, "only the host or an admin mints tokens for others");
        return;
    }
    if (PQgetisnull(res, 0, 4)) {
        ctl_reply_error(r, 404, "no such account in this tenant");
        return;
    }
    enum pl_role role = strcmp(j->target, host) == 0 ? PL_ROLE_HOST : PL_ROLE_PARTICIPANT;
    if (j->role_given && j->role == PL_ROLE_HOST && role != PL_ROLE_HOST) {
        ctl_reply_error(r, 403, "only the meeting's host account gets a host token");
        return;
    }
    if (j->role_given)
        role = j->role;
    int64_t exp = 0;
    char *tok = ctl_mint_join(r->ctl, r->params[0], j->target, r->tenant_id, role, &exp);
    if (!tok) {
        ctl_reply_error(r, 500, "cannot mint join token");
        return;
    }
    ctl_reply_json(r, 200,
                   json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "meeting_id", r->params[0],
                             "account_id", j->target, "role", pl_role_name(role),
                             "signaling_url", PQgetvalue(res, 0, 3), "join_token", tok,
                             "token_expires_at", (json_int_t)exp));
    free(tok);
}

void api_meeting_join_token(struct ctl_req *r)
{
    if (r->body_len && !ctl_body_json(r))
        return;
    bool bad = false;
    const char *target = r->json ? ctl_json_str(r, "account_id", CTL_ID_MAX, false, &bad) : NULL;
    if (bad)
        return;
    const char *role = r->json ? ctl_json_str(r, "role", 16, false, &bad) : NULL;
    if (bad)
        return;
    struct join *j = calloc(1, sizeof *j);
    if (!j) {
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    r->data = j;
    r->free_data = free;
    snprintf(j->target, sizeof j->target, "%s", target ? target : r->account_id);
    if (role) {
        int v = pl_role_parse(role);
        if (v != PL_ROLE_HOST && v != PL_ROLE_PARTICIPANT) {
            ctl_reply_error(r, 400, "\"role\" must be host or participant");
            return;
        }
        j->role = (enum pl_role)v;
        j->role_given = true;
    }
    const char *p[3] = {r->params[0], r->tenant_id, j->target};
    pl_db_query(r->ctl->db,
                "SELECT m.id, m.host_account_id, m.status, n.signaling_url, a.id"
                " FROM meetings m JOIN nodes n ON n.id = m.node_id"
                " LEFT JOIN accounts a ON a.id = $3 AND a.tenant_id = m.tenant_id"
                " WHERE m.id = $1 AND m.tenant_id = $2",
                3, p, join_found, r);
}

/* ---- node reports: POST /meetings/{id}/joined and /left {"account_id"} ---- */

static const char joined_sql[] =
    "WITH m AS (SELECT id, node_id, session_id, tenant_id FROM meetings"
    "  WHERE id = $1 AND status = 'live'),"
    " p AS (INSERT INTO participants (meeting_id, session_id, account_id)"
    "  SELECT m.id, m.session_id, $2 FROM m"
    "  ON CONFLICT (meeting_id, account_id) WHERE left_at IS NULL DO NOTHING RETURNING id),"
    " um AS (UPDATE meetings SET participants = participants + 1"
    "  WHERE id = $1 AND EXISTS (SELECT 1 FROM p) RETURNING node_id),"
    " un AS (UPDATE nodes SET participants = participants + 1"
    "  WHERE id = (SELECT node_id FROM um) RETURNING id),"
    " ev AS (" OUTBOX_EVENT("'participant.joined'", "m.tenant_id",
                            "jsonb_build_object('meeting_id', m.id, 'account_id', $2::text)",
                            "m JOIN p ON true") ")"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM m) THEN json_build_object('meeting_id', $1::text,"
    "  'account_id', $2::text, 'counted', EXISTS (SELECT 1 FROM un))::text END";

static const char left_sql[] =
    "WITH p AS (UPDATE participants SET left_at = now()"
    "  WHERE meeting_id = $1 AND account_id = $2 AND left_at IS NULL RETURNING id),"
    " um AS (UPDATE meetings SET participants = participants - 1"
    "  WHERE id = $1 AND status = 'live' AND EXISTS (SELECT 1 FROM p) RETURNING node_id),"
    " un AS (UPDATE nodes SET participants = participants - 1"
    "  WHERE id = (SELECT node_id FROM um) RETURNING id),"
    " ev AS (" OUTBOX_EVENT("'participant.left'", "mt.tenant_id",
                            "jsonb_build_object('meeting_id', mt.id, 'account_id', $2::text)",
                            "p JOIN meetings mt ON mt.id = $1") ")"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM meetings WHERE id = $1) THEN"
    "  json_build_object('meeting_id', $1::text, 'account_id', $2::text,"
    "  'counted', EXISTS (SELECT 1 FROM un))::text END";

static void participant_report(struct ctl_req *r, const char *sql)
{
    if (!ctl_body_json(r))
        return;
    bool bad = false;
    const char *account = ctl_json_str(r, "account_id", PL_TOKEN_ID_MAX, true, &bad);
    if (bad)
        return;
    const char *p[2] = {r->params[0], account};
    ctl_sql_json(r, sql, 2, p, 200, NULL, "no such live meeting");
}

void api_meeting_joined(struct ctl_req *r)
{
    participant_report(r, joined_sql);
}

void api_meeting_left(struct ctl_req *r)
{
    participant_report(r, left_sql);
}

/* ---- POST /meetings/{id}/end: the node (authoritative) or the meeting's host ---- */

/* $2/$3 are NULL for the node; for a user, the meeting must be in $2 and hosted by $3. The
 * node's load drops by the meeting and whoever was still in it. The fourth column is the node's
 * signaling URL, for telling it when a user ended the meeting. */
static const char end_sql[] =
    "WITH" MEETINGS_END_CTES("id = $1 AND ($2::text IS NULL OR (tenant_id = $2 AND host_account_id = $3))",
                             "$4") ","
    " n AS (UPDATE nodes SET meetings = nodes.meetings - 1,"
    "  participants = nodes.participants - m.participants FROM m WHERE nodes.id = m.node_id)"
    " SELECT EXISTS (SELECT 1 FROM m), o.status, o.host_account_id,"
    "  (SELECT nd.signaling_url FROM nodes nd JOIN m ON nd.id = m.node_id)"
    " FROM (SELECT 1) one LEFT JOIN meetings o"
    "  ON o.id = $1 AND ($2::text IS NULL OR o.tenant_id = $2)";

static void node_told(void *ctx, long status, json_t *reply, const char *error)
{
    struct ctl_req *r = ctx;
    (void)reply;
    bool told = status == 200;
    if (!told)
        PL_WARN("control", "meeting %s ended, but its node did not end it (%s)", r->params[0], error);
    ctl_reply_json(r, 200, json_pack("{s:s,s:s,s:b}", "meeting_id", r->params[0], "status",
                                     "ended", "node_ended", told));
}

/* A user ended the meeting: the node is told with a host token for it (POST /meetings/end),
 * so the people in it get END and the media stop. The database says ended either way. */
static void tell_node(struct ctl_req *r, const char *signaling_url)
{
    char base[512];
    int64_t exp = 0;
    char *tok = ctl_node_http_base(signaling_url, base, sizeof base)
                    ? ctl_mint_join(r->ctl, r->params[0], r->account_id, r->tenant_id,
                                    PL_ROLE_HOST, &exp)
                    : NULL;
    if (!tok) {
        node_told(r, 0, NULL, "no node address or token");
        return;
    }
    ctl_node_post(r->ctl, base, "/meetings/end", json_pack("{s:s}", "token", tok), node_told, r);
    free(tok);
}

static void ended(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "end");
        return;
    }
    if (PQgetvalue(res, 0, 0)[0] == 't') {
        if (!r->is_node && !PQgetisnull(res, 0, 3)) {
            tell_node(r, PQgetvalue(res, 0, 3));
            return;
        }
        ctl_reply_json(r, 200, json_pack("{s:s,s:s}", "meeting_id", r->params[0], "status",
                                         "ended"));
        return;
    }
    if (PQgetisnull(res, 0, 1))
        ctl_reply_error(r, 404, "no such meeting");
    else if (strcmp(PQgetvalue(res, 0, 1), "ended") == 0)
        ctl_reply_error(r, 409, "the meeting has already ended");
    else
        ctl_reply_error(r, 403, "only the host may end the meeting");
}

void api_meeting_end(struct ctl_req *r)
{
    const char *by = r->account_id;
    if (r->is_node) {
        /* The node's body: {"meeting_id", "ended_by", "ended_at"}; only ended_by is kept. */
        if (r->body_len && !ctl_body_json(r))
            return;
        bool bad = false;
        by = r->json ? ctl_json_str(r, "ended_by", PL_TOKEN_ID_MAX, false, &bad) : NULL;
        if (bad)
            return;
    }
    const char *p[4] = {r->params[0], r->is_node ? NULL : r->tenant_id,
                        r->is_node ? NULL : r->account_id, by};
    pl_db_query(r->ctl->db, end_sql, 4, p, ended, r);
}

/* ---- DELETE /meetings/{id}: after the end, once no recording is pending ---- */

static const char delete_sql[] =
    "WITH d AS (DELETE FROM meetings WHERE id = $1 AND status = 'ended'"
    "  AND ($2::text IS NULL OR (tenant_id = $2 AND (host_account_id = $3 OR $4)))"
    "  AND NOT EXISTS (SELECT 1 FROM recordings WHERE meeting_id = $1"
    "   AND status IN ('starting', 'active', 'ending'))"
    "  RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM d), o.status, o.host_account_id,"
    "  EXISTS (SELECT 1 FROM recordings WHERE meeting_id = $1"
    "   AND status IN ('starting', 'active', 'ending'))"
    " FROM (SELECT 1) one LEFT JOIN meetings o"
    "  ON o.id = $1 AND ($2::text IS NULL OR o.tenant_id = $2)";

static void deleted(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "delete");
        return;
    }
    if (PQgetvalue(res, 0, 0)[0] == 't')
        ctl_reply(r, 204, "application/json", "", 0, NULL);
    else if (PQgetisnull(res, 0, 1))
        ctl_reply_error(r, 404, "no such meeting");
    else if (!r->is_node && strcmp(r->role, "admin") != 0 &&
             (PQgetisnull(res, 0, 2) || strcmp(PQgetvalue(res, 0, 2), r->account_id) != 0))
        /* The role first: someone who may not delete it learns nothing of its state. */
        ctl_reply_error(r, 403, "only the host or an admin may delete the meeting");
    else if (strcmp(PQgetvalue(res, 0, 1), "ended") != 0)
        ctl_reply_error(r, 409, "the meeting has not ended");
    else if (PQgetvalue(res, 0, 3)[0] == 't')
        ctl_reply_error(r, 409, "a recording of the meeting is still pending");
    else
        ctl_reply_error(r, 403, "only the host or an admin may delete the meeting");
}

void api_meeting_delete(struct ctl_req *r)
{
    bool admin = !r->is_node && strcmp(r->role, "admin") == 0;
    const char *p[4] = {r->params[0], r->is_node ? NULL : r->tenant_id,
                        r->is_node ? NULL : r->account_id, admin ? "true" : "false"};
    pl_db_query(r->ctl->db, delete_sql, 4, p, deleted, r);
}
