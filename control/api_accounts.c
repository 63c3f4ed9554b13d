/* Tenants, accounts, login tokens and API keys. Password hashing (scrypt, tens of ms on
 * purpose) runs on the libuv threadpool, never on the loop. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"

#define PASSWORD_MIN 8
#define PASSWORD_MAX 256
#define EMAIL_MAX 254
#define NAME_MAX_LEN 200

struct kdf_work {
    uv_work_t w;
    struct ctl_req *r;
    char *password;
    char *stored;       /* verify: the stored hash (NULL: unknown account) */
    bool verify;        /* check a password (else hash a new one) */
    int n_cost;         /* hashing: scrypt's N; an unknown account's dummy hash uses it too */
    bool ok;
    char hash[256];
    void (*next)(struct ctl_req *r, struct kdf_work *k);
};

static void kdf_free(struct kdf_work *k)
{
    if (k->password)
        OPENSSL_clear_free(k->password, strlen(k->password));
    free(k->stored);
    free(k);
}

static void kdf_run(uv_work_t *w)
{
    struct kdf_work *k = w->data;
    if (!k->verify)
        k->ok = ctl_password_hash(k->password, k->n_cost, k->hash, sizeof k->hash) == 0;
    else if (k->stored)
        k->ok = ctl_password_verify(k->password, k->stored);
    else { /* unknown account: spend about the same time anyway (the configured cost), then fail */
        ctl_password_hash(k->password, k->n_cost, k->hash, sizeof k->hash);
        k->ok = false;
    }
}

static void kdf_after(uv_work_t *w, int status)
{
    struct kdf_work *k = w->data;
    k->next(k->r, k);
    kdf_free(k);
}

static void kdf_start(struct ctl_req *r, const char *password, bool verify, const char *stored,
                      void (*next)(struct ctl_req *, struct kdf_work *))
{
    struct kdf_work *k = calloc(1, sizeof *k);
    if (!k || !(k->password = strdup(password)) || (stored && !(k->stored = strdup(stored)))) {
        if (k)
            kdf_free(k);
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    k->r = r;
    k->verify = verify;
    k->n_cost = r->ctl->cfg.scrypt_n;
    k->next = next;
    k->w.data = k;
    if (uv_queue_work(r->ctl->loop, &k->w, kdf_run, kdf_after) != 0) {
        kdf_free(k);
        ctl_reply_error(r, 500, "cannot queue work");
    }
}

static bool valid_email(const char *e)
{
    const char *at = strchr(e, '@');
    return at && at != e && at[1] && !strchr(at + 1, '@') && !strpbrk(e, " \t\r\n");
}

/* Reads email + password (+ role) from the body; replies 400 and returns false when bad. */
static bool read_credentials(struct ctl_req *r, const char **email, const char **password)
{
    bool bad = false;
    *email = ctl_json_str(r, "email", EMAIL_MAX, true, &bad);
    if (bad)
        return false;
    *password = ctl_json_str(r, "password", PASSWORD_MAX, true, &bad);
    if (bad)
        return false;
    if (!valid_email(*email)) {
        ctl_reply_error(r, 400, "\"email\" is not an e-mail address");
        return false;
    }
    return true;
}

/* ---- POST /tenants: a new organisation and its first (admin) account ---- */

static const char tenant_sql[] =
    "WITH t AS (INSERT INTO tenants (name) VALUES ($1) RETURNING id),"
    " a AS (INSERT INTO accounts (tenant_id, email, name, password_hash, role)"
    "   SELECT t.id, $2, $3, $4, 'admin' FROM t RETURNING id, tenant_id, email, role)"
    " SELECT json_build_object('tenant_id', tenant_id, 'account_id', id, 'email', email,"
    "   'role', role)::text FROM a";

static void tenant_hashed(struct ctl_req *r, struct kdf_work *k)
{
    if (!k->ok) {
        ctl_reply_error(r, 500, "password hashing failed");
        return;
    }
    bool bad = false;
    const char *p[4] = {ctl_json_str(r, "tenant_name", NAME_MAX_LEN, true, &bad),
                        ctl_json_str(r, "email", EMAIL_MAX, true, &bad),
                        ctl_json_str(r, "name", NAME_MAX_LEN, false, &bad), k->hash};
    if (!p[2])
        p[2] = "";
    ctl_sql_json(r, tenant_sql, 4, p, 201, NULL, NULL);
}

void api_tenant_create(struct ctl_req *r)
{
    const char *email, *password;
    bool bad = false;
    if (!ctl_body_json(r))
        return;
    ctl_json_str(r, "tenant_name", NAME_MAX_LEN, true, &bad);
    if (bad)
        return;
    ctl_json_str(r, "name", NAME_MAX_LEN, false, &bad);
    if (bad || !read_credentials(r, &email, &password))
        return;
    if (strlen(password) < PASSWORD_MIN) {
        ctl_reply_error(r, 400, "\"password\" needs at least %d characters", PASSWORD_MIN);
        return;
    }
    kdf_start(r, password, false, NULL, tenant_hashed);
}

/* ---- POST /accounts (admin): an account in the caller's tenant ---- */

static const char account_sql[] =
    "INSERT INTO accounts (tenant_id, email, name, password_hash, role)"
    " VALUES ($1, $2, $3, $4, $5)"
    " RETURNING json_build_object('account_id', id, 'tenant_id', tenant_id, 'email', email,"
    "   'name', name, 'role', role)::text";

static void account_hashed(struct ctl_req *r, struct kdf_work *k)
{
    if (!k->ok) {
        ctl_reply_error(r, 500, "password hashing failed");
        return;
    }
    bool bad = false;
    const char *name = ctl_json_str(r, "name", NAME_MAX_LEN, false, &bad);
    const char *p[5] = {r->tenant_id, ctl_json_str(r, "email", EMAIL_MAX, true, &bad),
                        name ? name : "", k->hash, ctl_json_str(r, "role", 16, true, &bad)};
    ctl_sql_json(r, account_sql, 5, p, 201, NULL, NULL);
}

void api_account_create(struct ctl_req *r)
{
    const char *email, *password;
    bool bad = false;
    if (!ctl_body_json(r))
        return;
    const char *role = ctl_json_str(r, "role", 16, true, &bad);
    if (bad)
        return;
    ctl_json_str(r, "name", NAME_MAX_LEN, false, &bad);
    if (bad || !read_credentials(r, &email, &password))
        return;
    if (strcmp(role, "admin") && strcmp(role, "host") && strcmp(role, "participant")) {
        ctl_reply_error(r, 400, "\"role\" must be admin, host or participant");
        return;
    }
    if (strlen(password) < PASSWORD_MIN) {
        ctl_reply_error(r, 400, "\"password\" needs at least %d characters", PASSWORD_MIN);
        return;
    }
    kdf_start(r, password, false, NULL, account_hashed);
}

void api_accounts_list(struct ctl_req *r)
{
    const char *p[1] = {r->tenant_id};
    ctl_sql_json(r,
                 "SELECT json_build_object('account_id', id, 'email', email, 'name', name,"
                 " 'role', role, 'created_at', created_at)::text FROM accounts"
                 " WHERE tenant_id = $1 ORDER BY created_at, id",
                 1, p, 200, "accounts", NULL);
}

void api_me(struct ctl_req *r)
{
    const char *p[2] = {r->account_id, r->tenant_id};
    ctl_sql_json(r,
                 "SELECT json_build_object('account_id', id, 'tenant_id', tenant_id,"
                 " 'email', email, 'name', name, 'role', role)::text FROM accounts"
                 " WHERE id = $1 AND tenant_id = $2",
                 2, p, 200, NULL, "account not found");
}

/* ---- POST /auth/login ---- */

struct login {
    char account_id[CTL_ID_MAX + 1];
    char ttl[16];
};

static void login_verified(struct ctl_req *r, struct kdf_work *k)
{
    struct login *l = r->data;
    if (!k->ok || !l->account_id[0]) {
        ctl_reply_error(r, 401, "wrong e-mail or password");
        return;
    }
    char token[80], hash[65];
    if (ctl_random_token("plt_", token, sizeof token) != 0) {
        ctl_reply_error(r, 500, "no randomness");
        return;
    }
    ctl_sha256_hex(token, strlen(token), hash);
    /* The token itself is never stored; it goes back in the reply built here. */
    const char *p[4] = {hash, l->account_id, l->ttl, token};
    ctl_sql_json(r,
                 "WITH t AS (INSERT INTO auth_tokens (token_hash, account_id, expires_at)"
                 "  VALUES ($1, $2, now() + make_interval(secs => $3::integer))"
                 "  RETURNING account_id, expires_at)"
                 " SELECT json_build_object('token', $4::text, 'expires_at', t.expires_at,"
                 "  'account_id', a.id, 'tenant_id', a.tenant_id, 'role', a.role)::text"
                 " FROM t JOIN accounts a ON a.id = t.account_id",
                 4, p, 200, NULL, NULL);
}

static void login_found(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct login *l = r->data;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "login");
        return;
    }
    const char *stored = NULL;
    if (PQntuples(res) == 1) {
        snprintf(l->account_id, sizeof l->account_id, "%s", PQgetvalue(res, 0, 0));
        stored = PQgetvalue(res, 0, 1);
    }
    const char *password = json_string_value(json_object_get(r->json, "password"));
    kdf_start(r, password, true, stored, login_verified);
}

void api_login(struct ctl_req *r)
{
    const char *email, *password;
    if (!ctl_body_json(r) || !read_credentials(r, &email, &password))
        return;
    long ttl = r->ctl->cfg.auth_ttl_s;
    json_t *t = json_object_get(r->json, "ttl_seconds");
    if (t) {
        if (!json_is_integer(t) || json_integer_value(t) < 1 ||
            json_integer_value(t) > 30 * 86400) {
            ctl_reply_error(r, 400, "\"ttl_seconds\" must be an integer from 1 to 2592000");
            return;
        }
        ttl = (long)json_integer_value(t);
    }
    struct login *l = calloc(1, sizeof *l);
    if (!l) {
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    snprintf(l->ttl, sizeof l->ttl, "%ld", ttl);
    r->data = l;
    r->free_data = free;
    const char *p[1] = {email};
    pl_db_query(r->ctl->db,
                "SELECT id, password_hash FROM accounts WHERE lower(email) = lower($1)", 1, p,
                login_found, r);
}

/* ---- POST /auth/logout: revokes the token presented ---- */

static void logged_out(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        ctl_reply_db_error(r, res, "logout");
    else
        ctl_reply(r, 204, "application/json", "", 0, NULL);
}

void api_logout(struct ctl_req *r)
{
    if (r->is_api_key) {
        ctl_reply_error(r, 400, "an API key is revoked with DELETE /api-keys/{id}");
        return;
    }
    char h[65];
    ctl_sha256_hex(r->bearer, strlen(r->bearer), h);
    const char *p[1] = {h};
    pl_db_query(r->ctl->db,
                "UPDATE auth_tokens SET revoked_at = now() WHERE token_hash = $1"
                " AND revoked_at IS NULL",
                1, p, logged_out, r);
}

/* ---- API keys (admin): server-to-server callers; they act as the admin who made them ---- */

void api_key_create(struct ctl_req *r)
{
    if (!ctl_body_json(r))
        return;
    bool bad = false;
    const char *name = ctl_json_str(r, "name", NAME_MAX_LEN, false, &bad);
    if (bad)
        return;
    char key[80], hash[65];
    if (ctl_random_token("plk_", key, sizeof key) != 0) {
        ctl_reply_error(r, 500, "no randomness");
        return;
    }
    ctl_sha256_hex(key, strlen(key), hash);
    const char *p[5] = {r->tenant_id, r->account_id, name ? name : "", hash, key};
    ctl_sql_json(r,
                 "INSERT INTO api_keys (tenant_id, account_id, name, key_hash)"
                 " VALUES ($1, $2, $3, $4)"
                 " RETURNING json_build_object('id', id, 'name', name, 'key', $5::text,"
                 "  'created_at', created_at)::text",
                 5, p, 201, NULL, NULL);
}

void api_keys_list(struct ctl_req *r)
{
    const char *p[1] = {r->tenant_id};
    ctl_sql_json(r,
                 "SELECT json_build_object('id', id, 'name', name, 'created_at', created_at,"
                 " 'revoked', revoked_at IS NOT NULL)::text FROM api_keys WHERE tenant_id = $1"
                 " ORDER BY created_at, id",
                 1, p, 200, "api_keys", NULL);
}

void api_key_delete(struct ctl_req *r)
{
    const char *p[2] = {r->params[0], r->tenant_id};
    ctl_sql_json(r,
                 "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
                 " WHERE id = $1 AND tenant_id = $2"
                 " RETURNING json_build_object('id', id, 'revoked', true)::text",
                 2, p, 200, NULL, "no such API key");
}
