/* Webhook endpoints of a tenant (admin): where the outbox delivers its events. The secret is
 * shown once, in the Standard Webhooks form "whsec_<base64>". */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "ctl_int.h"

void api_webhook_create(struct ctl_req *r)
{
    if (!ctl_body_json(r))
        return;
    bool bad = false;
    const char *url = ctl_json_str(r, "url", 2048, true, &bad);
    if (bad)
        return;
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
        ctl_reply_error(r, 400, "\"url\" must be an http:// or https:// URL");
        return;
    }
    unsigned char key[24];
    char secret[64] = "whsec_";
    if (RAND_bytes(key, sizeof key) != 1) {
        ctl_reply_error(r, 500, "no randomness");
        return;
    }
    EVP_EncodeBlock((unsigned char *)secret + 6, key, sizeof key);
    const char *p[3] = {r->tenant_id, url, secret};
    ctl_sql_json(r,
                 "INSERT INTO webhook_endpoints (tenant_id, url, secret) VALUES ($1, $2, $3)"
                 " RETURNING json_build_object('id', id, 'url', url, 'secret', secret,"
                 "  'created_at', created_at)::text",
                 3, p, 201, NULL, NULL);
}

void api_webhooks_list(struct ctl_req *r)
{
    const char *p[1] = {r->tenant_id};
    ctl_sql_json(r,
                 "SELECT json_build_object('id', id, 'url', url, 'created_at', created_at)::text"
                 " FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, id",
                 1, p, 200, "webhooks", NULL);
}

void api_webhook_delete(struct ctl_req *r)
{
    const char *p[2] = {r->params[0], r->tenant_id};
    ctl_sql_json(r,
                 "DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2"
                 " RETURNING json_build_object('id', id, 'deleted', true)::text",
                 2, p, 200, NULL, "no such webhook endpoint");
}
