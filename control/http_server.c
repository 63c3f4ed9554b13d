/* The control plane's HTTP/1.1 server on libuv: accepts on 127.0.0.1, buffers each
 * connection's bytes, parses one request at a time (pl_http_parse), hands it to the router and
 * writes the reply; keep-alive and pipelining, with a bounded buffer per connection. */
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "parley/log.h"

#define HEAD_MAX 16384

struct ctl_conn {
    uv_tcp_t tcp;
    struct ctl *ctl;
    char *buf;
    size_t len, cap;
    bool busy;       /* a request is with a handler */
    bool closing;    /* uv_close called */
    bool closed;     /* close callback ran while busy: freed when the request ends */
    bool close_after;
    uint64_t last_active;  /* uv_now of the last bytes read or response finished */
};

struct write_req {
    uv_write_t w;
    struct ctl_conn *conn;
    char *mem[3];
    void (*cb)(void *arg, int status);
    void *arg;
};

static void conn_free(struct ctl_conn *c)
{
    free(c->buf);
    free(c);
}

static void on_closed(uv_handle_t *h)
{
    struct ctl_conn *c = h->data;
    if (c->busy)
        c->closed = true;
    else
        conn_free(c);
}

static void conn_close(struct ctl_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    for (int i = 0; i < 3; i++)
        free(wr->mem[i]);
    if (status < 0 || (wr->conn->close_after && !wr->cb))
        conn_close(wr->conn);
    if (wr->cb)
        wr->cb(wr->arg, status);
    free(wr);
}

/* Sends the buffers (their base pointers are malloc'd and taken over); cb, when given, runs
 * once the write is done (status < 0: failed, including "connection already closed"). */
void ctl_conn_send_cb(struct ctl_conn *c, uv_buf_t *bufs, unsigned nbufs,
                      void (*cb)(void *arg, int status), void *arg)
{
    struct write_req *wr = calloc(1, sizeof *wr);
    if (!wr || c->closing || nbufs > 3) {
        for (unsigned i = 0; i < nbufs; i++)
            free(bufs[i].base);
        free(wr);
        if (cb)
            cb(arg, UV_ECANCELED);
        return;
    }
    wr->conn = c;
    wr->cb = cb;
    wr->arg = arg;
    for (unsigned i = 0; i < nbufs; i++)
        wr->mem[i] = bufs[i].base;
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, nbufs, on_written) != 0) {
        for (unsigned i = 0; i < nbufs; i++)
            free(bufs[i].base);
        free(wr);
        conn_close(c);
        if (cb)
            cb(arg, UV_ECANCELED);
    }
}

/* Sends the buffers (their base pointers are malloc'd and taken over). */
void ctl_conn_send(struct ctl_conn *c, uv_buf_t *bufs, unsigned nbufs, bool keep_alive)
{
    struct write_req *wr = calloc(1, sizeof *wr);
    if (!wr || c->closing || nbufs > 3) {
        for (unsigned i = 0; i < nbufs; i++)
            free(bufs[i].base);
        free(wr);
        return;
    }
    wr->conn = c;
    for (unsigned i = 0; i < nbufs; i++)
        wr->mem[i] = bufs[i].base;
    if (!keep_alive)
        c->close_after = true;
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, nbufs, on_written) != 0) {
        for (unsigned i = 0; i < nbufs; i++)
            free(bufs[i].base);
        free(wr);
        conn_close(c);
    }
}

static void process(struct ctl_conn *c);

static void reply_early(struct ctl_conn *c, int status)
{
    const char *msg = status == 413 ? "request body too large"
                      : status == 431 ? "request header too large"
                      : status == 501 ? "Transfer-Encoding is not supported"
                      : status == 505 ? "HTTP version not supported"
                                      : "malformed HTTP request";
    char *out = malloc(512);
    if (!out) {
        conn_close(c);
        return;
    }
    int n = snprintf(out, 512,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n{\"error\":\"%s\"}",
                     status, ctl_status_text(status), strlen(msg) + 12, msg);
    uv_buf_t b = uv_buf_init(out, (unsigned)n);
    uv_read_stop((uv_stream_t *)&c->tcp);
    ctl_conn_send(c, &b, 1, false);
}

static char *dup_str(struct pl_http_str s)
{
    char *p = malloc(s.n + 1);
    if (p) {
        memcpy(p, s.p, s.n);
        p[s.n] = '\0';
    }
    return p;
}

static struct ctl_req *make_req(struct ctl_conn *c, const struct pl_http_request *hr)
{
    struct ctl_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ctl = c->ctl;
    r->conn = c;
    snprintf(r->method, sizeof r->method, "%.*s", (int)(hr->method.n < 15 ? hr->method.n : 15),
             hr->method.p);
    const char *q = memchr(hr->target.p, '?', hr->target.n);
    size_t plen = q ? (size_t)(q - hr->target.p) : hr->target.n;
    r->path = dup_str((struct pl_http_str){hr->target.p, plen});
    r->query = q ? dup_str((struct pl_http_str){q + 1, hr->target.n - plen - 1})
                 : dup_str((struct pl_http_str){"", 0});
    r->body = dup_str(hr->body);
    r->body_len = hr->body.n;
    const struct pl_http_str *auth = pl_http_header(hr, "authorization");
    if (auth && auth->n > 7 && strncasecmp(auth->p, "Bearer ", 7) == 0)
        r->bearer = dup_str((struct pl_http_str){auth->p + 7, auth->n - 7});
    struct sockaddr_storage peer;
    int plen_peer = sizeof peer;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen_peer) == 0) {
        if (peer.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&peer, r->ip, sizeof r->ip);
        else
            uv_ip4_name((struct sockaddr_in *)&peer, r->ip, sizeof r->ip);
    }
    const struct pl_http_str *range = pl_http_header(hr, "range");
    if (range)
        r->range = dup_str(*range);
    if (!r->path || !r->query || !r->body) {
        ctl_req_free(r);
        return NULL;
    }
    return r;
}

/* Parses and dispatches the next buffered request, if complete. */
static void process(struct ctl_conn *c)
{
    while (!c->busy && !c->closing && c->len) {
        struct pl_http_request hr;
        struct pl_http_limits lim = {HEAD_MAX, (size_t)c->ctl->cfg.max_body};
        long n = pl_http_parse(c->buf, c->len, &lim, &hr);
        if (n == 0)
            return;
        if (n < 0) {
            reply_early(c, (int)-n);
            return;
        }
        struct ctl_req *r = make_req(c, &hr);
        bool keep = hr.keep_alive;
        memmove(c->buf, c->buf + n, c->len - (size_t)n);
        c->len -= (size_t)n;
        if (!r) {
            conn_close(c);
            return;
        }
        c->busy = true;
        c->close_after = !keep;
        c->ctl->requests++;
        ctl_dispatch(r);
    }
}

/* Called by reply.c after the response is queued. */
void ctl_conn_request_done(struct ctl_conn *c, bool keep_alive)
{
    c->last_active = uv_now(c->ctl->loop);
    if (c->close_after && !c->closing && !keep_alive)
        conn_close(c);
    c->busy = false;
    if (c->closed) {
        conn_free(c);
        return;
    }
    if (!keep_alive || c->closing || c->close_after)
        return;
    process(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_conn *c = h->data;
    size_t limit = HEAD_MAX + 4 + (size_t)c->ctl->cfg.max_body + 65536;
    if (c->cap - c->len < 65536 && c->cap < limit) {
        size_t ncap = c->cap ? c->cap * 2 : 65536;
        if (ncap > limit)
            ncap = limit;
        char *nb = realloc(c->buf, ncap);
        if (nb) {
            c->buf = nb;
            c->cap = ncap;
        }
    }
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct ctl_conn *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->last_active = uv_now(c->ctl->loop);
    c->len += (size_t)n;
    if (c->len == c->cap && !c->busy) {
        /* Full buffer and still no complete request: the parser decides why. */
        process(c);
        if (c->len == c->cap && !c->busy)
            reply_early(c, 413);
        return;
    }
    process(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct ctl *ctl = server->data;
    if (status < 0)
        return;
    struct ctl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->ctl = ctl;
    c->last_active = uv_now(ctl->loop);
    uv_tcp_init(ctl->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
}

/* Idle connections (slow or silent clients) are closed; one with a request at a handler is
 * left alone (the handler's own work is bounded). */
static void sweep_walk(uv_handle_t *h, void *arg)
{
    struct ctl *ctl = arg;
    if (h->type != UV_TCP || h == (uv_handle_t *)&ctl->server || uv_is_closing(h))
        return;
    struct ctl_conn *c = h->data;
    if (!c->busy && uv_now(ctl->loop) - c->last_active > (uint64_t)ctl->cfg.idle_timeout_s * 1000)
        conn_close(c);
}

static void sweep(uv_timer_t *t)
{
    uv_walk(t->loop, sweep_walk, t->data);
}

int ctl_http_listen(struct ctl *ctl)
{
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(ctl->cfg.listen_ip, ctl->cfg.port, &addr);
    if (rc == 0)
        rc = uv_tcp_init(ctl->loop, &ctl->server);
    if (rc == 0) {
        ctl->server.data = ctl;
        rc = uv_tcp_bind(&ctl->server, (const struct sockaddr *)&addr, 0);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&ctl->server, 256, on_connection);
    if (rc != 0) {
        if (ctl->server.data)
            uv_close((uv_handle_t *)&ctl->server, NULL);
        PL_ERROR("http", "listen on %s:%d: %s", ctl->cfg.listen_ip, ctl->cfg.port,
                 uv_strerror(rc));
        return -1;
    }
    uv_timer_init(ctl->loop, &ctl->idle_sweep);
    ctl->idle_sweep.data = ctl;
    uint64_t every = (uint64_t)ctl->cfg.idle_timeout_s * 1000 / 4;
    uv_timer_start(&ctl->idle_sweep, sweep, every, every);
    return 0;
}

/* Every TCP handle but the listener is a connection. */
static void close_walk(uv_handle_t *h, void *arg)
{
    if (h->type == UV_TCP && h != arg && !uv_is_closing(h))
        conn_close(h->data);
}

void ctl_http_close(struct ctl *ctl)
{
    uv_timer_stop(&ctl->idle_sweep);
    uv_close((uv_handle_t *)&ctl->idle_sweep, NULL);
    uv_close((uv_handle_t *)&ctl->server, NULL);
    uv_walk(ctl->loop, close_walk, &ctl->server);
}

bool ctl_conn_will_close(const struct ctl_conn *c)
{
    return c->close_after || c->closing;
}
