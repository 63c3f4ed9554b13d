/* GET /dev/token?meeting=M&account=A&role=R -> {"token": "..."}: join tokens for local
 * development without a control plane. Only mounted with --dev-token-endpoint: it hands a
 * token to anyone who asks. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/log.h"
#include "sig_int.h"

static int json_reply(struct lws *wsi, unsigned status, const char *body)
{
    return pl_http_reply(wsi, status, "application/json", body, strlen(body));
}

static int arg(struct lws *wsi, const char *name, char *out, int len)
{
    out[0] = '\0';
    return lws_get_urlarg_by_name(wsi, name, out, len) && *out ? 0 : -1;
}

int pl_dev_token_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len)
{
    if (reason != LWS_CALLBACK_HTTP)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    struct pl_signaling *s = lws_context_user(lws_get_context(wsi));
    /* lws_get_urlarg_by_name copies "name=value" and returns the value part. */
    char meeting[PL_TOKEN_ID_MAX + 16], account[PL_TOKEN_ID_MAX + 16], role[48];
    if (arg(wsi, "meeting=", meeting, sizeof meeting) || arg(wsi, "account=", account, sizeof account))
        return json_reply(wsi, 400, "{\"error\":\"meeting and account are required\"}");
    if (arg(wsi, "role=", role, sizeof role))
        snprintf(role, sizeof role, "role=participant");
    const char *m = strchr(meeting, '=') + 1, *a = strchr(account, '=') + 1, *r = strchr(role, '=') + 1;
    int rv = pl_role_parse(r);
    if (rv < 0)
        return json_reply(wsi, 400, "{\"error\":\"role must be host, participant or recorder\"}");
    struct pl_token t = {.role = (enum pl_role)rv};
    snprintf(t.meeting_id, sizeof t.meeting_id, "%s", m);
    snprintf(t.account_id, sizeof t.account_id, "%s", a);
    snprintf(t.tenant_id, sizeof t.tenant_id, "dev");
    t.iat = (int64_t)time(NULL);
    t.exp = t.iat + 3600;
    const char *secret = s->node->cfg.token_secret;
    char *tok = pl_token_mint((const uint8_t *)secret, strlen(secret), &t);
    if (!tok)
        return json_reply(wsi, 400, "{\"error\":\"ids must be 1 to 128 characters\"}");
    json_t *body = json_pack("{s:s}", "token", tok);
    free(tok);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    int rc = json_reply(wsi, 200, text ? text : "{}");
    free(text);
    return rc;
}
