/* Periodic jobs, each one statement, safe to run on every instance at once:
 * - recordings that made no progress for --recording-stale seconds are aborted (their
 *   meeting's recording flag drops, so a new one may start; a recording.failed event with
 *   reason "aborted" goes out);
 * - live meetings of a node without heartbeat for --node-lost seconds are ended (ended_by
 *   "node-lost", a meeting.ended event; the node's load drops): a node that died or restarted
 *   took them with it;
 * - ended meetings with no recording pending are deleted --meeting-retention seconds after
 *   their end (what DELETE /meetings/{id} does; conference, session and recordings stay). */
#include <stdio.h>
#include <string.h>

#include "ctl_int.h"
#include "meeting_end_sql.h"
#include "outbox_sql.h"
#include "parley/log.h"

#define PERIOD_MS 5000

static const char lifecycle_sql[] =
    "WITH" MEETINGS_END_CTES("node_id IN (SELECT id FROM nodes"
                             " WHERE last_heartbeat < now() - make_interval(secs => $1::integer))",
                             "'node-lost'") ","
    " n AS (UPDATE nodes SET meetings = greatest(0, nodes.meetings - x.k),"
    "  participants = greatest(0, nodes.participants - x.p)"
    "  FROM (SELECT node_id, count(*) AS k, sum(participants) AS p FROM m GROUP BY node_id) x"
    "  WHERE nodes.id = x.node_id),"
    " d AS (DELETE FROM meetings WHERE status = 'ended'"
    "  AND ended_at < now() - make_interval(secs => $2::integer)"
    "  AND NOT EXISTS (SELECT 1 FROM recordings r WHERE r.meeting_id = meetings.id"
    "   AND r.status IN ('starting', 'active', 'ending'))"
    "  RETURNING id)"
    " SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM d)";

static void lifecycle_done(void *ctx, PGresult *res)
{
    struct ctl *c = ctx;
    c->housekeeping_busy = false;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return;
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        PL_WARN("housekeeping", "ended %s meeting(s) of lost nodes", PQgetvalue(res, 0, 0));
    if (strcmp(PQgetvalue(res, 0, 1), "0") != 0)
        PL_INFO("housekeeping", "deleted %s ended meeting(s)", PQgetvalue(res, 0, 1));
}

static void swept(void *ctx, PGresult *res)
{
    struct ctl *c = ctx;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        PL_WARN("housekeeping", "aborted %d stale recording(s)", PQntuples(res));
    char lost[16], keep[16];
    snprintf(lost, sizeof lost, "%d", c->cfg.node_lost_s);
    snprintf(keep, sizeof keep, "%d", c->cfg.meeting_retention_s);
    const char *p[2] = {lost, keep};
    pl_db_query(c->db, lifecycle_sql, 2, p, lifecycle_done, c);
}

static void tick(uv_timer_t *t)
{
    struct ctl *c = t->data;
    if (c->housekeeping_busy)
        return;
    c->housekeeping_busy = true;
    char stale[16];
    snprintf(stale, sizeof stale, "%d", c->cfg.recording_stale_s);
    const char *p[1] = {stale};
    pl_db_query(c->db,
                "WITH a AS (UPDATE recordings SET status = 'aborted', updated_at = now()"
                "  WHERE status IN ('starting', 'active', 'ending')"
                "  AND progress_at < now() - make_interval(secs => $1::integer)"
                "  RETURNING id, meeting_id, tenant_id)"
                " , m AS (UPDATE meetings SET recording = false"
                "  WHERE id IN (SELECT meeting_id FROM a))"
                " , ev AS (" OUTBOX_EVENT("'recording.failed'", "a.tenant_id",
                                          "jsonb_build_object('recording_id', a.id, 'meeting_id',"
                                          " a.meeting_id, 'reason', 'aborted')", "a") ")"
                " SELECT meeting_id FROM a",
                1, p, swept, c);
}

void ctl_housekeeping_start(struct ctl *c)
{
    uv_timer_init(c->loop, &c->housekeeping);
    c->housekeeping.data = c;
    uv_timer_start(&c->housekeeping, tick, PERIOD_MS, PERIOD_MS);
}

void ctl_housekeeping_stop(struct ctl *c)
{
    uv_timer_stop(&c->housekeeping);
    uv_close((uv_handle_t *)&c->housekeeping, NULL);
}
