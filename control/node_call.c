/* Calls from the control plane to a node's HTTP API (its recorder's start and stop): one POST
 * with libcurl on the libuv threadpool, so the loop never waits on a node. One try with a short
 * limit: the caller is a user waiting for an answer, and a failed start is marked failed
 * rather than retried behind the user's back. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "node_call.h"
#include "parley/log.h"

#define NODE_TIMEOUT_MS 5000L
#define NODE_MAX_REPLY (16 * 1024)

struct node_call {
    uv_work_t w;
    char *url, *body;
    ctl_node_cb cb;
    void *ctx;
    long status;
    char *reply;
    size_t reply_len;
    char error[CURL_ERROR_SIZE];
};

static size_t keep(char *p, size_t s, size_t n, void *u)
{
    struct node_call *k = u;
    size_t len = s * n;
    if (k->reply_len + len <= NODE_MAX_REPLY) { /* a longer answer is cut, never refused */
        char *b = realloc(k->reply, k->reply_len + len + 1);
        if (b) {
            memcpy(b + k->reply_len, p, len);
            k->reply = b;
            k->reply_len += len;
            b[k->reply_len] = '\0';
        }
    }
    return len;
}

static void run(uv_work_t *w)
{
    struct node_call *k = w->data;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(k->error, sizeof k->error, "cannot make a curl handle");
        return;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, k->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, k->body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, NODE_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->error);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &k->status);
    else if (!k->error[0])
        snprintf(k->error, sizeof k->error, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
}

static void done(uv_work_t *w, int status)
{
    struct node_call *k = w->data;
    (void)status;
    json_t *reply = k->reply ? json_loadb(k->reply, k->reply_len, 0, NULL) : NULL;
    /* The node's refusals are {"error": "..."}: pass its words on. */
    const char *why = k->error;
    if (k->status) {
        const char *e = json_string_value(json_object_get(reply, "error"));
        snprintf(k->error, sizeof k->error, "HTTP %ld%s%.200s", k->status, e ? ": " : "",
                 e ? e : "");
    }
    PL_INFO("control", "node POST %s: %s", k->url, k->status ? k->error : why);
    k->cb(k->ctx, k->status, reply, k->error);
    json_decref(reply);
    free(k->url);
    free(k->body);
    free(k->reply);
    free(k);
}

void ctl_node_post(struct ctl *c, const char *base, const char *path, json_t *body,
                   ctl_node_cb cb, void *ctx)
{
    struct node_call *k = calloc(1, sizeof *k);
    size_t ulen = strlen(base) + strlen(path) + 1;
    if (k) {
        k->url = malloc(ulen);
        k->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    }
    json_decref(body);
    if (!k || !k->url || !k->body) {
        if (k) {
            free(k->url);
            free(k->body);
            free(k);
        }
        cb(ctx, 0, NULL, "out of memory");
        return;
    }
    snprintf(k->url, ulen, "%s%s", base, path);
    k->cb = cb;
    k->ctx = ctx;
    k->w.data = k;
    if (uv_queue_work(c->loop, &k->w, run, done) != 0) {
        free(k->url);
        free(k->body);
        free(k);
        cb(ctx, 0, NULL, "cannot queue work");
    }
}
