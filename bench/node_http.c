/* HTTP GETs to the node (libcurl): /metrics, /healthz, /dev/token. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "parley/bench.h"

#define MAX_BODY (16u << 20)

struct body {
    char *buf;
    size_t len;
    bool too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    struct body *b = user;
    size_t n = size * nmemb;
    if (b->len + n > MAX_BODY) {
        b->too_big = true;
        return 0;
    }
    char *p = realloc(b->buf, b->len + n + 1);
    if (!p)
        return 0;
    b->buf = p;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = 0;
    return n;
}

char *pl_bench_http_get(const char *url, size_t *len)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    struct body b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || status < 200 || status > 299 || b.too_big) {
        free(b.buf);
        return NULL;
    }
    if (!b.buf) {
        b.buf = calloc(1, 1);
        if (!b.buf)
            return NULL;
    }
    *len = b.len;
    return b.buf;
}
