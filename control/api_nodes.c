/* Node-facing endpoints (node key): register, heartbeat with load and draining, list. */
#include <stdio.h>
#include <string.h>

#include "ctl_int.h"
#include "outbox_sql.h"

void api_node_register(struct ctl_req *r)
{
    if (!ctl_body_json(r))
        return;
    bool bad = false;
    const char *name = ctl_json_str(r, "name", 128, true, &bad);
    if (bad)
        return;
    const char *url = ctl_json_str(r, "signaling_url", 512, true, &bad);
    if (bad)
        return;
    if (strncmp(url, "ws://", 5) && strncmp(url, "wss://", 6)) {
        ctl_reply_error(r, 400, "\"signaling_url\" must be a ws:// or wss:// URL");
        return;
    }
    char interval[16];
    snprintf(interval, sizeof interval, "%d", r->ctl->cfg.node_timeout_s / 3 > 0
                                                  ? r->ctl->cfg.node_timeout_s / 3 : 1);
    /* Registering again under the same name (a restart) keeps the node's id. A node registers
     * when it starts (or when the control plane forgot it), so nobody is connected to it:
     * whoever was present in its live meetings has left (participant.left), their counts are
     * 0 and its load is its live meetings with nobody in them. The meetings stay live, so
     * their people can reconnect (the host's INIT starts it on the node again); a node that
     * does not come back has its meetings ended by the housekeeping after --node-lost. */
    const char *p[3] = {name, url, interval};
    ctl_sql_json(r,
                 "WITH o AS (SELECT id FROM nodes WHERE name = $1),"
                 " lm AS (UPDATE meetings SET participants = 0"
                 "  WHERE status = 'live' AND node_id = (SELECT id FROM o)"
                 "  RETURNING id, tenant_id),"
                 " pa AS (UPDATE participants SET left_at = now()"
                 "  WHERE left_at IS NULL AND meeting_id IN (SELECT id FROM lm)"
                 "  RETURNING meeting_id, account_id),"
                 " ev AS (" OUTBOX_EVENT("'participant.left'", "lm.tenant_id",
                                         "jsonb_build_object('meeting_id', lm.id,"
                                         " 'account_id', pa.account_id)",
                                         "pa JOIN lm ON lm.id = pa.meeting_id") "),"
                 " n AS (INSERT INTO nodes (name, signaling_url) VALUES ($1, $2)"
                 "  ON CONFLICT (name) DO UPDATE SET signaling_url = EXCLUDED.signaling_url,"
                 "   last_heartbeat = now(), draining = false, participants = 0,"
                 "   meetings = (SELECT count(*) FROM lm)"
                 "  RETURNING id, name)"
                 " SELECT json_build_object('node_id', id, 'name', name,"
                 "  'heartbeat_interval_s', $3::integer)::text FROM n",
                 3, p, 200, NULL, NULL);
}

static bool count_field(struct ctl_req *r, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(r->json, key);
    if (!v) {
        out[0] = '\0';
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000) {
        ctl_reply_error(r, 400, "\"%s\" must be an integer from 0 to 1000000", key);
        return false;
    }
    snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
    return true;
}

void api_node_heartbeat(struct ctl_req *r)
{
    if (!ctl_body_json(r))
        return;
    char meetings[16], participants[16];
    if (!count_field(r, "meetings", meetings, sizeof meetings) ||
        !count_field(r, "participants", participants, sizeof participants))
        return;
    json_t *d = json_object_get(r->json, "draining");
    if (d && !json_is_boolean(d)) {
        ctl_reply_error(r, 400, "\"draining\" must be true or false");
        return;
    }
    const char *p[4] = {r->params[0], meetings[0] ? meetings : NULL,
                        participants[0] ? participants : NULL,
                        d ? (json_is_true(d) ? "true" : "false") : NULL};
    /* A heartbeat is also the progress of the node's active recordings: its recorder runs in
     * the node, so while the node beats they are alive; housekeeping aborts them only once
     * the beats stop (or a start or stop hangs). */
    ctl_sql_json(r,
                 "WITH rec AS (UPDATE recordings SET progress_at = now()"
                 "  WHERE status = 'active' AND meeting_id IN"
                 "  (SELECT id FROM meetings WHERE node_id = $1 AND status = 'live'))"
                 " UPDATE nodes SET last_heartbeat = now(),"
                 "  reported_meetings = coalesce($2::integer, reported_meetings),"
                 "  reported_participants = coalesce($3::integer, reported_participants),"
                 "  draining = coalesce($4::boolean, draining)"
                 " WHERE id = $1"
                 " RETURNING json_build_object('node_id', id, 'draining', draining,"
                 "  'meetings', meetings, 'participants', participants)::text",
                 4, p, 200, NULL, "unknown node: register again");
}

void api_nodes_list(struct ctl_req *r)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", r->ctl->cfg.node_timeout_s);
    const char *p[1] = {timeout};
    ctl_sql_json(r,
                 "SELECT json_build_object('node_id', id, 'name', name, 'signaling_url',"
                 " signaling_url, 'meetings', meetings, 'participants', participants,"
                 " 'reported_meetings', reported_meetings, 'reported_participants',"
                 " reported_participants, 'draining', draining, 'last_heartbeat', last_heartbeat,"
                 " 'healthy', last_heartbeat > now() - make_interval(secs => $1::integer))::text"
                 " FROM nodes ORDER BY name",
                 1, p, 200, "nodes", NULL);
}
