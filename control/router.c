/* The route table and what runs before every handler: path matching ({name} segments become
 * r->params), authentication (node key, login token or API key) and the role check. */
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"

struct route {
    const char *method;
    const char *pattern;
    enum ctl_auth auth;
    const char *min_role;  /* for user callers; NULL = any role */
    void (*handler)(struct ctl_req *);
};

static const struct route routes[] = {
    {"GET", "/healthz", AUTH_NONE, NULL, api_healthz},
    {"GET", "/readyz", AUTH_NONE, NULL, api_readyz},
    {"POST", "/tenants", AUTH_NONE, NULL, api_tenant_create},
    {"POST", "/auth/login", AUTH_NONE, NULL, api_login},
    {"POST", "/auth/logout", AUTH_USER, NULL, api_logout},
    {"GET", "/me", AUTH_USER, NULL, api_me},
    {"POST", "/accounts", AUTH_USER, "admin", api_account_create},
    {"GET", "/accounts", AUTH_USER, "admin", api_accounts_list},
    {"POST", "/api-keys", AUTH_USER, "admin", api_key_create},
    {"GET", "/api-keys", AUTH_USER, "admin", api_keys_list},
    {"DELETE", "/api-keys/{id}", AUTH_USER, "admin", api_key_delete},
    {"POST", "/nodes/register", AUTH_NODE, NULL, api_node_register},
    {"POST", "/nodes/{id}/heartbeat", AUTH_NODE, NULL, api_node_heartbeat},
    {"GET", "/nodes", AUTH_NODE, NULL, api_nodes_list},
    {"POST", "/meetings", AUTH_USER, "host", api_meeting_create},
    {"GET", "/meetings", AUTH_USER, NULL, api_meetings_list},
    {"GET", "/meetings/{id}", AUTH_USER, NULL, api_meeting_get},
    {"POST", "/meetings/{id}/join", AUTH_USER, NULL, api_meeting_join_token},
    {"POST", "/meetings/{id}/joined", AUTH_NODE, NULL, api_meeting_joined},
    {"POST", "/meetings/{id}/left", AUTH_NODE, NULL, api_meeting_left},
    {"POST", "/meetings/{id}/end", AUTH_NODE_OR_USER, NULL, api_meeting_end},
    {"DELETE", "/meetings/{id}", AUTH_NODE_OR_USER, NULL, api_meeting_delete},
    {"POST", "/guest/meeting", AUTH_NONE, NULL, api_guest_meeting},
    {"POST", "/meetings/{id}/record", AUTH_USER, NULL, api_record_start},
    {"POST", "/meetings/{id}/record/stop", AUTH_USER, NULL, api_record_stop},
    {"GET", "/meetings/{id}/recipients", AUTH_USER, NULL, api_recipients_list},
    {"POST", "/recordings/webhook/recording-started", AUTH_NODE, NULL, api_recording_started},
    {"POST", "/recordings/{id}/completed", AUTH_NODE, NULL, api_recording_completed},
    {"POST", "/recordings/{id}/progress", AUTH_NODE, NULL, api_recording_progress},
    {"GET", "/recordings", AUTH_USER, NULL, api_recordings_list},
    {"GET", "/recordings/{id}", AUTH_USER, NULL, api_recording_get},
    {"POST", "/recordings/{id}/download-url", AUTH_USER, NULL, api_recording_url},
    {"GET", "/files/{id}", AUTH_NONE, NULL, api_download},
    {"POST", "/webhooks", AUTH_USER, "admin", api_webhook_create},
    {"GET", "/webhooks", AUTH_USER, "admin", api_webhooks_list},
    {"DELETE", "/webhooks/{id}", AUTH_USER, "admin", api_webhook_delete},
    {"GET", "/metrics", AUTH_NONE, NULL, api_metrics},
};
#define NROUTES (sizeof routes / sizeof routes[0])

/* Matches a path against a pattern; fills r->params on success. Ids are 1..CTL_ID_MAX
 * characters of [A-Za-z0-9_-]. Returns 1 on match, 0 on no match, -1 on a bad id. */
static int match(const char *pattern, const char *path, struct ctl_req *r)
{
    char *params[4];
    int np = 0, rc = 1;
    const char *p = pattern, *s = path;
    while (*p && *s && rc == 1) {
        if (*p != '/' || *s != '/') {
            rc = 0;
            break;
        }
        p++, s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p), sl = se ? (size_t)(se - s) : strlen(s);
        if (pl > 2 && p[0] == '{') {
            if (sl == 0 || sl > CTL_ID_MAX || np == 4) {
                rc = sl == 0 ? 0 : -1;
                break;
            }
            for (size_t i = 0; i < sl; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_'))
                    rc = -1;
            }
            if (rc == 1 && (params[np] = strndup(s, sl)))
                np++;
        } else if (pl != sl || strncmp(p, s, pl) != 0) {
            rc = 0;
        }
        p += pl;
        s += sl;
    }
    if (rc == 1 && (*p || *s))
        rc = 0;
    if (rc != 1) {
        for (int i = 0; i < np; i++)
            free(params[i]);
        return rc;
    }
    for (int i = 0; i < np; i++)
        r->params[i] = params[i];
    r->nparams = np;
    return 1;
}

struct auth_ctx {
    struct ctl_req *r;
    const struct route *route;
};

static void authed(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    const struct route *rt = r->data;
    r->data = NULL;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "authentication");
        return;
    }
    if (PQntuples(res) == 0) {
        ctl_reply_error(r, 401, "invalid or expired credentials");
        return;
    }
    snprintf(r->account_id, sizeof r->account_id, "%s", PQgetvalue(res, 0, 0));
    snprintf(r->tenant_id, sizeof r->tenant_id, "%s", PQgetvalue(res, 0, 1));
    snprintf(r->role, sizeof r->role, "%s", PQgetvalue(res, 0, 2));
    r->is_api_key = PQgetvalue(res, 0, 3)[0] == 't';
    if (rt->min_role && !ctl_role_at_least(r->role, rt->min_role)) {
        ctl_reply_error(r, 403, "this needs the %s role", rt->min_role);
        return;
    }
    rt->handler(r);
}

/* A login token or an API key (an API key acts as the admin account that created it). */
static const char auth_sql[] =
    "SELECT a.id, a.tenant_id, a.role, false FROM auth_tokens t JOIN accounts a"
    "  ON a.id = t.account_id"
    "  WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()"
    " UNION ALL "
    "SELECT a.id, k.tenant_id, 'admin', true FROM api_keys k JOIN accounts a"
    "  ON a.id = k.account_id"
    "  WHERE k.key_hash = $1 AND k.revoked_at IS NULL"
    "  AND (k.expires_at IS NULL OR k.expires_at > now())";

void ctl_dispatch(struct ctl_req *r)
{
    const struct route *rt = NULL;
    bool path_known = false;
    bool is_head = strcmp(r->method, "HEAD") == 0;
    for (size_t i = 0; i < NROUTES; i++) {
        int m = match(routes[i].pattern, r->path, r);
        if (m < 0) {
            ctl_reply_error(r, 404, "no such resource");
            return;
        }
        if (m == 0)
            continue;
        path_known = true;
        if (strcmp(routes[i].method, r->method) == 0 ||
            (is_head && strcmp(routes[i].method, "GET") == 0)) {
            rt = &routes[i];
            break;
        }
        for (int k = 0; k < r->nparams; k++)
            free(r->params[k]);
        r->nparams = 0;
    }
    if (!rt) {
        /* Not an API path: maybe one of the web app's files (GET/HEAD only). */
        if (!path_known && (is_head || strcmp(r->method, "GET") == 0)) {
            if (!ctl_rate_allow(r)) {
                ctl_reply(r, 429, "application/json", "{\"error\":\"too many requests\"}", 29,
                          "Retry-After: 1\r\n");
                return;
            }
            if (ctl_static_serve(r))
                return;
        }
        if (path_known)
            ctl_reply_error(r, 405, "method %s not allowed here", r->method);
        else
            ctl_reply_error(r, 404, "no such endpoint");
        return;
    }
    r->head_only = is_head;

    const struct pl_ctl_config *cfg = &r->ctl->cfg;
    bool node_ok = r->bearer && cfg->node_key && *cfg->node_key &&
                   ctl_const_eq(r->bearer, cfg->node_key);
    if (!node_ok && !ctl_rate_allow(r)) {
        ctl_reply(r, 429, "application/json", "{\"error\":\"too many requests\"}", 29,
                  "Retry-After: 1\r\n");
        return;
    }
    switch (rt->auth) {
    case AUTH_NONE:
        rt->handler(r);
        return;
    case AUTH_NODE:
        if (!node_ok) {
            if (rt->handler == api_recording_started) /* its contract has its own bodies */
                ctl_reply(r, 401, "application/json", CTL_REC_FAILURE,
                          sizeof CTL_REC_FAILURE - 1, NULL);
            else
                ctl_reply_error(r, 401, "node credentials required");
            return;
        }
        r->is_node = true;
        rt->handler(r);
        return;
    case AUTH_NODE_OR_USER:
        if (node_ok) {
            r->is_node = true;
            rt->handler(r);
            return;
        }
        /* fall through */
    case AUTH_USER:
        if (!r->bearer || !*r->bearer || strlen(r->bearer) > 256) {
            ctl_reply_error(r, 401, "Authorization: Bearer <token> required");
            return;
        }
        char h[65];
        ctl_sha256_hex(r->bearer, strlen(r->bearer), h);
        const char *params[1] = {h};
        r->data = (void *)rt;
        pl_db_query(r->ctl->db, auth_sql, 1, params, authed, r);
        return;
    }
}
