/* /healthz: the process answers. /readyz: and the database answers too. */
#include "ctl_int.h"

void api_healthz(struct ctl_req *r)
{
    ctl_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void ready(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        ctl_reply_json(r, 503, json_pack("{s:s,s:s}", "status", "unavailable", "error",
                                         "database unavailable"));
    else
        ctl_reply_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

void api_readyz(struct ctl_req *r)
{
    pl_db_query(r->ctl->db, "SELECT 1", 0, NULL, ready, r);
}
