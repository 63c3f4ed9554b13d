/* Delivers the outbox: webhooks (HTTP POST signed the Standard Webhooks way: webhook-id,
 * webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>") and
 * e-mails (SMTP through libcurl). Rows are claimed with FOR UPDATE SKIP LOCKED and leased, so
 * several instances share the work and a crash mid-delivery only delays a retry: delivery is
 * at least once, a retried webhook keeps its webhook-id. Failures retry with exponential
 * backoff and full jitter, up to --outbox-max-attempts. libcurl runs on the threadpool. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_int.h"
#include "parley/log.h"

#define BATCH "8"
#define LEASE_S "30"   /* longer than a delivery can take (curl timeout below) */
#define TIMEOUT_MS 10000L

struct delivery {
    uv_work_t w;
    struct ctl *c;
    char *id, *kind, *webhook_id, *event, *body, *email_to, *url, *secret, *title;
    int attempts;
    bool ok;
    long status;
    char error[CURL_ERROR_SIZE];
    /* SMTP upload state */
    char *mail;
    size_t mail_len, mail_off;
};

static void delivery_free(struct delivery *d)
{
    free(d->id);
    free(d->kind);
    free(d->webhook_id);
    free(d->event);
    free(d->body);
    free(d->email_to);
    free(d->url);
    free(d->secret);
    free(d->title);
    free(d->mail);
    free(d);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* Standard Webhooks: the key is the base64 after "whsec_". */
static bool sign(const char *secret, const char *msg, char *out, size_t outlen)
{
    const char *b64 = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
    unsigned char key[128], mac[32];
    size_t bl = strlen(b64);
    if (bl > 160 || bl % 4)
        return false;
    int kl = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)bl);
    if (kl < 0)
        return false;
    while (bl && b64[bl - 1] == '=') /* DecodeBlock counts padding as zero bytes */
        bl--, kl--;
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, kl, (const unsigned char *)msg, strlen(msg), mac, &ml);
    if (outlen < 4 + 45)
        return false;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)ml);
    return true;
}

/* recording.completed carries a signed download URL, made like the e-mail's at sending time:
 * each attempt's link is valid --download-ttl from that attempt, however late a retry comes.
 * So a redelivery's body differs from the first in data.download_url/download_expires_at
 * only; the webhook-id stays the consumer's idempotency key. */
static bool add_download_url(struct delivery *d)
{
    json_t *body = json_loads(d->body, 0, NULL);
    json_t *data = json_object_get(body, "data");
    const char *rec = json_string_value(json_object_get(data, "recording_id"));
    char url[1024];
    long long exp = rec ? ctl_signed_url(&d->c->cfg, rec, url, sizeof url) : 0;
    char *s = NULL;
    if (exp && json_object_set_new(data, "download_url", json_string(url)) == 0 &&
        json_object_set_new(data, "download_expires_at", json_integer(exp)) == 0)
        s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!s)
        return false;
    free(d->body);
    d->body = s;
    return true;
}

static void post_webhook(struct delivery *d)
{
    char ts[24], sig[64];
    if (d->event && strcmp(d->event, "recording.completed") == 0 && !add_download_url(d)) {
        snprintf(d->error, sizeof d->error, "cannot add the download URL");
        return;
    }
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    size_t ml = strlen(d->webhook_id) + strlen(ts) + strlen(d->body) + 3;
    char *msg = malloc(ml);
    if (!msg)
        return;
    snprintf(msg, ml, "%s.%s.%s", d->webhook_id, ts, d->body);
    bool signed_ok = sign(d->secret, msg, sig, sizeof sig);
    free(msg);
    if (!signed_ok) {
        snprintf(d->error, sizeof d->error, "bad endpoint secret");
        return;
    }
    char h1[128], h2[64], h3[96];
    snprintf(h1, sizeof h1, "webhook-id: %s", d->webhook_id);
    snprintf(h2, sizeof h2, "webhook-timestamp: %s", ts);
    snprintf(h3, sizeof h3, "webhook-signature: %s", sig);
    CURL *h = curl_easy_init();
    if (!h)
        return;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, h1);
    hdr = curl_slist_append(hdr, h2);
    hdr = curl_slist_append(hdr, h3);
    curl_easy_setopt(h, CURLOPT_URL, d->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, d->error);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &d->status);
        d->ok = d->status >= 200 && d->status < 300;
        if (!d->ok)
            snprintf(d->error, sizeof d->error, "HTTP %ld", d->status);
    } else if (!d->error[0]) {
        snprintf(d->error, sizeof d->error, "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
}

static size_t mail_read(char *buf, size_t size, size_t n, void *user)
{
    struct delivery *d = user;
    size_t left = d->mail_len - d->mail_off, want = size * n;
    if (want > left)
        want = left;
    memcpy(buf, d->mail + d->mail_off, want);
    d->mail_off += want;
    return want;
}

static void send_mail(struct delivery *d)
{
    const struct pl_ctl_config *cfg = &d->c->cfg;
    /* The link is signed when the mail goes out, so it is valid for the usual lifetime. */
    json_t *p = json_loads(d->body, 0, NULL);
    const char *rec = json_string_value(json_object_get(p, "recording_id"));
    const char *title = json_string_value(json_object_get(p, "title"));
    if (!rec || strpbrk(d->email_to, "<>\r\n") || strpbrk(cfg->mail_from, "<>\r\n")) {
        snprintf(d->error, sizeof d->error, "bad e-mail row");
        json_decref(p);
        return;
    }
    char subject[128];
    snprintf(subject, sizeof subject, "%s", title && *title ? title : "your meeting");
    for (char *s = subject; *s; s++) /* no header injection through the title */
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
    char link[1024];
    if (!ctl_signed_url(cfg, rec, link, sizeof link)) {
        snprintf(d->error, sizeof d->error, "the download URL is too long (--public-url)");
        json_decref(p);
        return;
    }
    size_t cap = 2048 + strlen(cfg->public_url);
    d->mail = malloc(cap);
    if (!d->mail) {
        json_decref(p);
        return;
    }
    int n = snprintf(d->mail, cap,
                     "From: <%s>\r\nTo: <%s>\r\nSubject: Recording ready: %s\r\n"
                     "Message-ID: <%s@parley>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                     "The recording of \"%s\" is ready.\r\n"
                     "Download it within %d minutes:\r\n%s\r\n",
                     cfg->mail_from, d->email_to, subject, d->webhook_id, subject,
                     cfg->download_ttl_s / 60, link);
    json_decref(p);
    d->mail_len = n > 0 && (size_t)n < cap ? (size_t)n : 0;
    char from[300], to[300];
    snprintf(from, sizeof from, "<%s>", cfg->mail_from);
    snprintf(to, sizeof to, "<%s>", d->email_to);
    CURL *h = curl_easy_init();
    if (!h)
        return;
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, mail_read);
    curl_easy_setopt(h, CURLOPT_READDATA, d);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, d->error);
    CURLcode rc = curl_easy_perform(h);
    d->ok = rc == CURLE_OK;
    if (!d->ok && !d->error[0])
        snprintf(d->error, sizeof d->error, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
}

static void deliver(uv_work_t *w)
{
    struct delivery *d = w->data;
    d->error[0] = '\0';
    if (strcmp(d->kind, "webhook") == 0) {
        if (d->url && d->secret)
            post_webhook(d);
        else
            snprintf(d->error, sizeof d->error, "endpoint deleted");
    } else {
        send_mail(d);
    }
}

static void recorded(void *ctx, PGresult *res)
{
    struct ctl *c = ctx;
    c->outbox_inflight--;
    if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK))
        PL_WARN("outbox", "cannot record a delivery result: %s",
                res ? PQresultErrorMessage(res) : "no database");
}

static void delivered(uv_work_t *w, int status)
{
    struct delivery *d = w->data;
    struct ctl *c = d->c;
    if (d->ok) {
        c->outbox_delivered++;
        PL_INFO("outbox", "%s %s %s delivered (attempt %d)", d->kind, d->event, d->webhook_id,
                d->attempts);
        const char *p[1] = {d->id};
        pl_db_query(c->db, "UPDATE outbox SET delivered_at = now(), last_error = NULL"
                           " WHERE id = $1::bigint", 1, p, recorded, c);
    } else {
        c->outbox_failures++;
        /* Exponential backoff, capped at an hour, with full jitter in [base/2, base]. */
        double base = c->cfg.outbox_backoff_ms / 1000.0;
        for (int i = 1; i < d->attempts && base < 3600; i++)
            base *= 2;
        if (base > 3600)
            base = 3600;
        uint32_t r = 0;
        RAND_bytes((unsigned char *)&r, sizeof r);
        double delay = base / 2 + base / 2 * (r / 4294967296.0);
        char delay_s[32], max[16];
        snprintf(delay_s, sizeof delay_s, "%.3f", delay);
        snprintf(max, sizeof max, "%d", c->cfg.outbox_max_attempts);
        PL_WARN("outbox", "%s %s %s attempt %d failed: %s; retry in %.1f s", d->kind, d->event,
                d->webhook_id, d->attempts, d->error[0] ? d->error : "?", delay);
        const char *p[4] = {d->id, delay_s, d->error[0] ? d->error : "failed", max};
        pl_db_query(c->db,
                    "UPDATE outbox SET next_attempt_at = now() + make_interval(secs =>"
                    " $2::double precision), last_error = $3,"
                    " failed_at = CASE WHEN attempts >= $4::integer THEN now() END"
                    " WHERE id = $1::bigint",
                    4, p, recorded, c);
    }
    delivery_free(d);
}

static char *col(PGresult *res, int row, int i)
{
    return PQgetisnull(res, row, i) ? NULL : strdup(PQgetvalue(res, row, i));
}

static void claimed(void *ctx, PGresult *res)
{
    struct ctl *c = ctx;
    c->outbox_inflight--;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        struct delivery *d = calloc(1, sizeof *d);
        if (!d)
            continue;
        d->c = c;
        d->id = col(res, i, 0);
        d->kind = col(res, i, 1);
        d->webhook_id = col(res, i, 2);
        d->event = col(res, i, 3);
        d->body = col(res, i, 4);
        d->email_to = col(res, i, 5);
        d->attempts = atoi(PQgetvalue(res, i, 6));
        d->url = col(res, i, 7);
        d->secret = col(res, i, 8);
        d->w.data = d;
        c->outbox_inflight++;
        /* The result is recorded even if the loop is stopping (the pool fails it then, and
         * the lease makes the row due again later). */
        if (!d->id || !d->kind || !d->webhook_id || !d->body ||
            uv_queue_work(c->loop, &d->w, deliver, delivered) != 0) {
            c->outbox_inflight--;
            delivery_free(d);
        }
    }
}

static void tick(uv_timer_t *t)
{
    struct ctl *c = t->data;
    if (c->outbox_inflight)
        return;
    c->outbox_inflight++;
    const char *p[1] = {c->cfg.smtp_url[0] ? "true" : "false"};
    pl_db_query(c->db,
                "WITH due AS (SELECT id FROM outbox WHERE delivered_at IS NULL"
                "  AND failed_at IS NULL AND next_attempt_at <= now()"
                "  AND (kind = 'webhook' OR $1::boolean)"
                "  ORDER BY next_attempt_at, id LIMIT " BATCH " FOR UPDATE SKIP LOCKED)"
                " UPDATE outbox o SET attempts = o.attempts + 1,"
                "  next_attempt_at = now() + interval '" LEASE_S " seconds'"
                " FROM due WHERE o.id = due.id"
                " RETURNING o.id, o.kind, o.webhook_id, o.event_type, o.payload::text,"
                "  o.email_to, o.attempts,"
                "  (SELECT url FROM webhook_endpoints e WHERE e.id = o.endpoint_id),"
                "  (SELECT secret FROM webhook_endpoints e WHERE e.id = o.endpoint_id)",
                1, p, claimed, c);
}

void ctl_outbox_start(struct ctl *c)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_timer_init(c->loop, &c->outbox_timer);
    c->outbox_timer.data = c;
    /* 0: this instance only serves the API; others deliver. */
    if (c->cfg.outbox_interval_ms > 0)
        uv_timer_start(&c->outbox_timer, tick, 200, (uint64_t)c->cfg.outbox_interval_ms);
}

void ctl_outbox_stop(struct ctl *c)
{
    uv_timer_stop(&c->outbox_timer);
    uv_close((uv_handle_t *)&c->outbox_timer, NULL);
}

void ctl_outbox_cleanup(void)
{
    curl_global_cleanup();
}
