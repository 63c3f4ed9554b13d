/* /metrics: Prometheus text for this instance (requests, outbox deliveries) and, from the
 * database, the outbox backlog and the live meetings. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl_int.h"

static void counted(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct ctl *c = r->ctl;
    bool db = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    char out[1024];
    int n = snprintf(out, sizeof out,
                     "# TYPE parley_control_requests_total counter\n"
                     "parley_control_requests_total %llu\n"
                     "# TYPE parley_control_outbox_delivered_total counter\n"
                     "parley_control_outbox_delivered_total %llu\n"
                     "# TYPE parley_control_outbox_failed_attempts_total counter\n"
                     "parley_control_outbox_failed_attempts_total %llu\n"
                     "# TYPE parley_control_database_up gauge\n"
                     "parley_control_database_up %d\n",
                     (unsigned long long)c->requests, (unsigned long long)c->outbox_delivered,
                     (unsigned long long)c->outbox_failures, db ? 1 : 0);
    if (db)
        n += snprintf(out + n, sizeof out - (size_t)n,
                      "# TYPE parley_control_outbox_pending gauge\n"
                      "parley_control_outbox_pending %s\n"
                      "# TYPE parley_control_live_meetings gauge\n"
                      "parley_control_live_meetings %s\n",
                      PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    ctl_reply(r, 200, "text/plain; version=0.0.4", out, (size_t)n, NULL);
}

void api_metrics(struct ctl_req *r)
{
    pl_db_query(r->ctl->db,
                "SELECT (SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
                " AND failed_at IS NULL), (SELECT count(*) FROM meetings WHERE status = 'live')",
                0, NULL, counted, r);
}
