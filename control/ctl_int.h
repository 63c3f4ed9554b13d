/* Internals of parley-control shared between its files: configuration, the HTTP request a
 * handler works on, the PostgreSQL pool, the route table and the crypto helpers. */
#ifndef PARLEY_CTL_INT_H
#define PARLEY_CTL_INT_H
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "parley/http.h"

struct pl_ctl_config {
    const char *db_url;
    const char *listen_ip;
    int port;
    const char *token_secret;    /* join tokens: the nodes' --token-secret */
    const char *node_key;        /* nodes authenticate with Authorization: Bearer <node key> */
    const char *recordings_root;
    const char *url_secret;      /* signs download URLs */
    const char *public_url;      /* base of signed download URLs */
    int db_pool;
    int node_timeout_s;          /* a node without heartbeat this long gets no meetings */
    int auth_ttl_s;              /* default login token lifetime */
    int join_ttl_s;              /* join token lifetime */
    int download_ttl_s;          /* signed URL lifetime */
    int max_body;
    int scrypt_n;
    int recording_stale_s;       /* a recording without progress this long is aborted */
    int node_lost_s;             /* a node without heartbeat this long: its meetings are ended */
    int meeting_retention_s;     /* an ended meeting, its recordings done, is deleted after this */
    const char *smtp_url;        /* smtp://host:port of the mail relay; "" = no e-mail */
    const char *mail_from;
    int outbox_interval_ms;
    int outbox_backoff_ms;       /* first retry delay; doubles per attempt */
    int outbox_max_attempts;
    int idle_timeout_s;          /* idle connections close after this */
    int rate_ip;                 /* requests per second per client address (0: no limit) */
    int rate_key;                /* requests per second per token or API key (0: no limit) */
    const char *web_root;        /* folder of the web app's files ("" = none served) */
};

struct pl_db;
struct ctl_conn;

struct ctl {
    uv_loop_t *loop;
    struct pl_ctl_config cfg;
    struct pl_db *db;
    uv_tcp_t server;
    uv_timer_t idle_sweep;
    uint64_t requests;
    uv_timer_t housekeeping;
    bool housekeeping_busy;
    uv_timer_t outbox_timer;
    int outbox_inflight;
    uint64_t outbox_delivered, outbox_failures;
};

enum ctl_auth { AUTH_NONE = 0, AUTH_NODE, AUTH_USER, AUTH_NODE_OR_USER };

#define CTL_ID_MAX 64

/* The inbound recording-started webhook's two answers, exactly as the original contract has them. */
#define CTL_REC_SUCCESS \
    "{\"status\":\"success\",\"message\":\"Recording start event received successfully.\"}"
#define CTL_REC_FAILURE \
    "{\"status\":\"failure\",\"message\":\"Failed to process recording start event.\"}"

/* One request, owned by the handler from dispatch until ctl_reply*() frees it. */
struct ctl_req {
    struct ctl *ctl;
    struct ctl_conn *conn;
    char method[16];
    char *path;        /* without the query */
    char *query;       /* after '?', or "" */
    char *body;
    size_t body_len;
    char *bearer;      /* Authorization: Bearer value, or NULL */
    char *range;       /* Range header, or NULL */
    char ip[48];       /* the client's address */
    char *params[4];   /* {name} segments of the matched route */
    int nparams;
    bool head_only;
    /* Who is calling (after authentication). */
    bool is_node;
    bool is_api_key;
    char account_id[CTL_ID_MAX + 1];
    char tenant_id[CTL_ID_MAX + 1];
    char role[16];     /* admin, host, participant */
    json_t *json;      /* the parsed body, when the handler asked for one */
    void *data;        /* handler state */
    void (*free_data)(void *);
};

/* ---- replies (reply.c); each one ends the request and frees it ---- */
void ctl_reply(struct ctl_req *r, int status, const char *type, const char *body, size_t len,
               const char *extra_headers);
void ctl_reply_json(struct ctl_req *r, int status, json_t *body); /* steals body */
void ctl_reply_error(struct ctl_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps a failed query to 409 (unique/exclusion), 400 (bad value), 503 (no database) or 500. */
void ctl_reply_db_error(struct ctl_req *r, PGresult *res, const char *what);
void ctl_req_free(struct ctl_req *r);
const char *ctl_status_text(int status);

/* ---- request helpers (request.c) ---- */
/* Parses the body as a JSON object into r->json; on failure replies 400 and returns false. */
bool ctl_body_json(struct ctl_req *r);
/* A string member of r->json: NULL when absent; replies 400 and sets *bad when mistyped or
 * longer than max. */
const char *ctl_json_str(struct ctl_req *r, const char *key, size_t max, bool required, bool *bad);
bool ctl_role_at_least(const char *role, const char *min);
/* Value of a query parameter (not decoded; the control plane's parameters are [A-Za-z0-9-_]). */
bool ctl_query_param(const char *query, const char *name, char *out, size_t outlen);

/* ---- server (http_server.c) ---- */
int ctl_http_listen(struct ctl *c);
void ctl_http_close(struct ctl *c);
/* Writes a response on the request's connection (used by reply.c). */
void ctl_conn_send(struct ctl_conn *conn, uv_buf_t *bufs, unsigned nbufs, bool keep_alive);
void ctl_conn_send_cb(struct ctl_conn *conn, uv_buf_t *bufs, unsigned nbufs,
                      void (*cb)(void *arg, int status), void *arg);
/* The request is over: read the next one (keep_alive) or close once written. */
void ctl_conn_request_done(struct ctl_conn *conn, bool keep_alive);
bool ctl_conn_will_close(const struct ctl_conn *conn);

/* ---- rate limits (rate_limit.c): false when the caller is over its limit ---- */
bool ctl_rate_allow(struct ctl_req *r);

/* ---- router (router.c) ---- */
void ctl_dispatch(struct ctl_req *r);

/* ---- the web app's files (static.c): true when it replied (the request is over) ---- */
bool ctl_static_serve(struct ctl_req *r);

/* ---- PostgreSQL pool (db_pool.c) ---- */
/* res is the statement's result (PGRES_TUPLES_OK, PGRES_COMMAND_OK or an error), or NULL
 * when the connection failed; the pool clears it after the callback. */
typedef void (*pl_db_cb)(void *ctx, PGresult *res);
struct pl_db *pl_db_open(uv_loop_t *loop, const char *url, int size, char *err, size_t errlen);
/* Queues a statement with text parameters (NULL = SQL NULL); parameters are copied. */
void pl_db_query(struct pl_db *db, const char *sql, int nparams, const char *const *params,
                 pl_db_cb cb, void *ctx);
void pl_db_close(struct pl_db *db);
/* Applies the embedded migrations under an advisory lock (migrate.c); blocking, at start. */
int pl_db_migrate(const char *url, char *err, size_t errlen);

/* ---- crypto (crypto.c) ---- */
void ctl_sha256_hex(const char *in, size_t len, char out[65]);
/* prefix + 64 hex characters of randomness; out needs strlen(prefix) + 65 bytes. */
int ctl_random_token(const char *prefix, char *out, size_t outlen);
/* "scrypt$N$r$p$salthex$hashhex" */
int ctl_password_hash(const char *password, int n_cost, char *out, size_t outlen);
bool ctl_password_verify(const char *password, const char *stored);
void ctl_hmac_hex(const char *key, const char *msg, char out[65]);
bool ctl_const_eq(const char *a, const char *b);
/* A signed download URL of a recording into out (signed_url.c); its expiry (Unix seconds), or 0
 * when out is too small. */
long long ctl_signed_url(const struct pl_ctl_config *cfg, const char *recording_id, char *out,
                         size_t outlen);

/* ---- handlers ---- */
void api_healthz(struct ctl_req *r);
void api_readyz(struct ctl_req *r);
void api_tenant_create(struct ctl_req *r);
void api_account_create(struct ctl_req *r);
void api_accounts_list(struct ctl_req *r);
void api_me(struct ctl_req *r);
void api_login(struct ctl_req *r);
void api_logout(struct ctl_req *r);
void api_key_create(struct ctl_req *r);
void api_keys_list(struct ctl_req *r);
void api_key_delete(struct ctl_req *r);
void api_node_register(struct ctl_req *r);
void api_node_heartbeat(struct ctl_req *r);
void api_nodes_list(struct ctl_req *r);
void api_meeting_create(struct ctl_req *r);
void api_meetings_list(struct ctl_req *r);
void api_meeting_get(struct ctl_req *r);
void api_meeting_join_token(struct ctl_req *r);
void api_meeting_joined(struct ctl_req *r);
void api_meeting_left(struct ctl_req *r);
void api_meeting_end(struct ctl_req *r);
void api_meeting_delete(struct ctl_req *r);
void api_guest_meeting(struct ctl_req *r);
void api_record_start(struct ctl_req *r);
void api_record_stop(struct ctl_req *r);
void api_recipients_list(struct ctl_req *r);
void api_recording_started(struct ctl_req *r);
void api_recording_completed(struct ctl_req *r);
void api_recording_get(struct ctl_req *r);
void api_recordings_list(struct ctl_req *r);
void api_recording_url(struct ctl_req *r);
void api_download(struct ctl_req *r);
void api_recording_progress(struct ctl_req *r);

/* Periodic jobs (housekeeping.c): abort stale recordings. */
void ctl_housekeeping_start(struct ctl *c);
void ctl_housekeeping_stop(struct ctl *c);
/* The outbox deliverer (outbox.c). */
void ctl_outbox_start(struct ctl *c);
void ctl_outbox_stop(struct ctl *c);
void ctl_outbox_cleanup(void);
void api_webhook_create(struct ctl_req *r);
void api_webhooks_list(struct ctl_req *r);
void api_webhook_delete(struct ctl_req *r);
void api_metrics(struct ctl_req *r);

/* Runs one statement whose rows become a JSON reply: the statement returns one text column of
 * JSON per row; `list` replies {"<key>": [rows...]}, otherwise the single row (404 with
 * `missing` when there is none) with `status`. */
void ctl_sql_json(struct ctl_req *r, const char *sql, int n, const char *const *params,
                  int status, const char *list_key, const char *missing);

#endif
