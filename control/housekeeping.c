/* Periodic jobs: recordings that made no progress for --recording-stale seconds are aborted
 * (their meeting's recording flag drops, so a new one may start; a recording.failed event
 * with reason "aborted" goes out). One statement, safe to run
 * on every instance at once. */
#include <stdio.h>

#include "ctl_int.h"
#include "outbox_sql.h"
#include "parley/log.h"

#define PERIOD_MS 5000

static void swept(void *ctx, PGresult *res)
{
    struct ctl *c = ctx;
    c->housekeeping_busy = false;
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        PL_WARN("housekeeping", "aborted %d stale recording(s)", PQntuples(res));
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
