/* Callbacks from the node to the control plane (POST {control-url}{path} with a JSON body).
 * libcurl runs on the libuv threadpool so the main loop never waits on the network; a call
 * is retried up to 3 times with a growing pause, and abandoned quickly once the node stops.
 * On the way out, after the loop, pl_control_post_now posts once and waits (bounded). */
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parley/log.h"
#include "sig_int.h"

#define PL_CONTROL_MAX_REPLY (64 * 1024)

struct call {
    uv_work_t work;
    struct pl_signaling *sig;
    char *url;
    char *body;
    char *auth;  /* "Authorization: Bearer ..." or NULL */
    long status;
    char error[CURL_ERROR_SIZE];
    pl_control_reply_fn on_reply;  /* NULL: fire and forget */
    void *user;
    char *reply;                   /* the answer's body (when on_reply is set) */
    size_t reply_len;
};

static atomic_bool node_stopping;

/* Keeps the answer's body when someone wants it (up to 64 KiB), else drops it. */
static size_t keep(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct call *c = user;
    size_t n = size * nmemb;
    if (c->on_reply && c->reply_len + n <= PL_CONTROL_MAX_REPLY) {
        char *b = realloc(c->reply, c->reply_len + n + 1);
        if (b) {
            memcpy(b + c->reply_len, ptr, n);
            c->reply = b;
            c->reply_len += n;
            c->reply[c->reply_len] = '\0';
        }
    }
    return n;
}

/* One POST of c (the answer's status in c->status, 0 when there was none). */
static void perform(struct call *c, long timeout_ms)
{
    CURL *h = curl_easy_init();
    if (!h)
        return;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (c->auth)
        hdr = curl_slist_append(hdr, c->auth);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    free(c->reply);
    c->reply = NULL;
    c->reply_len = 0;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->error);
    c->error[0] = '\0';
    CURLcode rc = curl_easy_perform(h);
    c->status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    else if (!c->error[0])
        snprintf(c->error, sizeof c->error, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
}

static void do_post(uv_work_t *w)
{
    struct call *c = w->data;
    for (int attempt = 0; attempt < 3 && !atomic_load(&node_stopping); attempt++) {
        if (attempt)
            usleep((useconds_t)attempt * 500000);
        perform(c, 5000L);
        /* 2xx is done; 4xx will not get better by trying again. */
        if (c->status >= 200 && c->status < 500)
            break;
    }
}

static void call_free(struct call *c)
{
    free(c->reply);
    free(c->url);
    free(c->body);
    free(c->auth);
    free(c);
}

static void after_post(uv_work_t *w, int status)
{
    struct call *c = w->data;
    (void)status;
    if (c->status >= 200 && c->status < 300 && strstr(c->url, "/heartbeat"))
        PL_DEBUG("control", "POST %s: %ld", c->url, c->status); /* every few seconds: quiet */
    else if (c->status >= 200 && c->status < 300)
        PL_INFO("control", "POST %s: %ld", c->url, c->status);
    else if (c->status)
        PL_WARN("control", "POST %s: HTTP %ld", c->url, c->status);
    else
        PL_WARN("control", "POST %s failed: %s", c->url, c->error[0] ? c->error : "cancelled");
    c->sig->pending_calls--;
    if (c->on_reply) {
        json_t *reply = c->reply ? json_loadb(c->reply, c->reply_len, 0, NULL) : NULL;
        c->on_reply(c->sig, c->status, reply, c->user);
        json_decref(reply);
    }
    call_free(c);
}

void pl_control_post(struct pl_signaling *s, const char *path, json_t *body)
{
    pl_control_call(s, path, body, NULL, NULL);
}

/* The call of path with body (taken), or NULL without a control plane or memory. */
static struct call *call_new(struct pl_signaling *s, const char *path, json_t *body)
{
    const struct pl_node_config *cfg = &s->node->cfg;
    if (!cfg->control_url || !*cfg->control_url) {
        json_decref(body);
        return NULL;
    }
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    struct call *c = calloc(1, sizeof *c);
    if (!c) {
        json_decref(body);
        return NULL;
    }
    size_t base = strlen(cfg->control_url);
    while (base && cfg->control_url[base - 1] == '/')
        base--;
    size_t ulen = base + strlen(path) + 1;
    c->url = malloc(ulen);
    c->body = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (cfg->control_key && *cfg->control_key) {
        size_t alen = strlen(cfg->control_key) + 32;
        if ((c->auth = malloc(alen)))
            snprintf(c->auth, alen, "Authorization: Bearer %s", cfg->control_key);
    }
    if (!c->url || !c->body) {
        call_free(c);
        return NULL;
    }
    snprintf(c->url, ulen, "%.*s%s", (int)base, cfg->control_url, path);
    c->sig = s;
    return c;
}

int pl_control_call(struct pl_signaling *s, const char *path, json_t *body,
                    pl_control_reply_fn on_reply, void *user)
{
    if (s->stopping) {
        json_decref(body);
        return -1;
    }
    struct call *c = call_new(s, path, body);
    if (!c)
        return -1;
    c->on_reply = on_reply;
    c->user = user;
    c->work.data = c;
    s->pending_calls++;
    if (uv_queue_work(s->node->loop, &c->work, do_post, after_post) != 0) {
        c->sig->pending_calls--;
        call_free(c);
        return -1;
    }
    return 0;
}

long pl_control_post_now(struct pl_signaling *s, const char *path, json_t *body, long timeout_ms)
{
    struct call *c = call_new(s, path, body);
    if (!c)
        return 0;
    perform(c, timeout_ms > 0 ? timeout_ms : 1);
    long status = c->status;
    if (status >= 200 && status < 300)
        PL_INFO("control", "POST %s: %ld", c->url, status);
    else if (status)
        PL_WARN("control", "POST %s: HTTP %ld", c->url, status);
    else
        PL_WARN("control", "POST %s failed: %s", c->url, c->error[0] ? c->error : "no answer");
    call_free(c);
    return status;
}

size_t pl_control_id_path(const char *prefix, const char *id, char *path, size_t cap)
{
    size_t n = (size_t)snprintf(path, cap, "%s", prefix);
    if (n >= cap)
        return cap ? cap - 1 : 0;
    for (const unsigned char *q = (const unsigned char *)id; *q && n + 4 < cap; q++) {
        if ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
            *q == '-' || *q == '_' || *q == '.' || *q == '~')
            path[n++] = (char)*q;
        else
            n += (size_t)snprintf(path + n, cap - n, "%%%02X", *q);
    }
    path[n] = '\0';
    return n;
}

void pl_control_stopping(void)
{
    atomic_store(&node_stopping, true);
}

void pl_control_cleanup(void)
{
    curl_global_cleanup();
}
