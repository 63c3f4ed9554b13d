/* The node's HTTP + WebSocket server: libwebsockets on the main libuv loop (foreign loop).
 * Serves web/ at / and the signaling WebSocket (subprotocol "parley", any path). Messages are
 * assembled from fragments up to a size limit, and queued for sending one frame per writeable
 * callback. */
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "parley/time.h"
#include "sig_int.h"

static void conn_free_queue(struct pl_conn *c)
{
    while (c->out_head) {
        struct pl_out_msg *m = c->out_head;
        c->out_head = m->next;
        free(m);
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
}

void pl_conn_send_json(struct pl_conn *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text || !c->wsi)
        goto out;
    size_t len = strlen(text);
    if (c->out_bytes + len > PL_OUT_MAX_BYTES) {
        PL_WARN("signaling", "dropping a connection that does not read its messages");
        c->close_after_send = true;
        conn_free_queue(c);
        lws_callback_on_writable(c->wsi);
        goto out;
    }
    struct pl_out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        goto out;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, text, len);
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    c->out_bytes += len;
    lws_callback_on_writable(c->wsi);
out:
    free(text);
}

void pl_conn_close(struct pl_conn *c)
{
    c->close_after_send = true;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

static int on_writeable(struct pl_conn *c)
{
    struct pl_out_msg *m = c->out_head;
    if (!m) {
        if (c->close_after_send) {
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, NULL, 0);
            return -1;
        }
        return 0;
    }
    if (lws_write(c->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
        return -1;
    c->out_head = m->next;
    if (!c->out_head)
        c->out_tail = NULL;
    c->out_bytes -= m->len;
    free(m);
    if (c->out_head || c->close_after_send)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Too many messages too fast is abuse: the connection is closed. */
static bool over_rate(struct pl_conn *c)
{
    uint64_t now = pl_now_ms();
    if (now - c->rate_window_ms >= 1000) {
        c->rate_window_ms = now;
        c->rate_count = 0;
    }
    return ++c->rate_count > PL_RATE_PER_SEC;
}

static void on_receive(struct pl_conn *c, const void *in, size_t len)
{
    struct lws *wsi = c->wsi;
    size_t max = (size_t)c->sig->node->cfg.max_message_bytes;
    if (lws_is_first_fragment(wsi)) {
        c->rx_len = 0;
        c->rx_discard = false;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (!c->rx_discard) {
        if (c->rx_len + len > max) {
            c->rx_discard = true;
        } else {
            if (c->rx_len + len + 1 > c->rx_cap) {
                size_t cap = c->rx_cap ? c->rx_cap : 4096;
                while (cap < c->rx_len + len + 1)
                    cap *= 2;
                char *n = realloc(c->rx, cap);
                if (!n) {
                    c->rx_discard = true;
                    return;
                }
                c->rx = n;
                c->rx_cap = cap;
            }
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return;
    if (over_rate(c)) {
        PL_WARN("signaling", "closing a connection sending over %d messages/s", PL_RATE_PER_SEC);
        pl_sig_send_error(c, NULL, "too many messages: limit is %d per second", PL_RATE_PER_SEC);
        pl_conn_close(c);
        return;
    }
    if (c->rx_discard) {
        pl_sig_send_error(c, NULL, "message too large: limit is %zu bytes", max);
        c->strikes++;
    } else {
        c->rx[c->rx_len] = '\0';
        pl_sig_on_message(c, c->rx, c->rx_len, c->rx_binary);
    }
    /* Keep small buffers, give back big ones (an SDP offer can be large). */
    if (c->rx_cap > 65536) {
        free(c->rx);
        c->rx = NULL;
        c->rx_cap = 0;
    }
    c->rx_len = 0;
    if (c->strikes >= PL_MAX_STRIKES) {
        PL_WARN("signaling", "closing a connection after %d bad messages", c->strikes);
        pl_conn_close(c);
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct pl_conn *c = user;
    struct pl_signaling *s = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        memset(c, 0, sizeof *c);
        c->wsi = wsi;
        c->sig = s;
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (c->close_after_send)
            return 0;
        on_receive(c, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(c);
    case LWS_CALLBACK_CLOSED:
        pl_sig_on_closed(c);
        conn_free_queue(c);
        free(c->rx);
        c->rx = NULL;
        if (c->prev)
            c->prev->next = c->next;
        else if (s->conns == c)
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        c->wsi = NULL;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

int pl_dev_token_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len);
int pl_metrics_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len);
int pl_recording_api_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                              void *in, size_t len);

static const struct lws_protocols protocols[] = {
    /* First, so a WebSocket without a subprotocol lands here too. */
    {"parley", callback, sizeof(struct pl_conn), 65536, 0, NULL, 0},
    {"parley-dev-token", pl_dev_token_callback, 0, 0, 0, NULL, 0},
    {"parley-metrics", pl_metrics_callback, 0, 0, 0, NULL, 0},
    {"parley-recordings", pl_recording_api_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_lws_log(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    pl_log(level == LLL_ERR ? PL_LOG_ERROR : PL_LOG_WARN, "lws", "%.*s", (int)n, line);
}

struct pl_signaling *pl_signaling_start(struct pl_node *node)
{
    struct pl_signaling *s = calloc(1, sizeof *s);
    if (!s || pl_map_init(&s->peers, 64) != 0) {
        free(s);
        return NULL;
    }
    s->node = node;
    lws_set_log_level(LLL_ERR | LLL_WARN, on_lws_log);

    static struct lws_http_mount mount;
    memset(&mount, 0, sizeof mount);
    mount.mountpoint = "/";
    mount.mountpoint_len = 1;
    mount.origin = node->cfg.web_root;
    mount.def = "index.html";
    mount.origin_protocol = LWSMPRO_FILE;
    /* /metrics and /healthz answer from the same callback. */
    static struct lws_http_mount metrics_mount, health_mount;
    memset(&metrics_mount, 0, sizeof metrics_mount);
    metrics_mount.mountpoint = "/metrics";
    metrics_mount.mountpoint_len = 8;
    metrics_mount.origin = "parley-metrics";
    metrics_mount.origin_protocol = LWSMPRO_CALLBACK;
    health_mount = metrics_mount;
    health_mount.mountpoint = "/healthz";
    metrics_mount.mount_next = &health_mount;
    static struct lws_http_mount rec_mount;
    memset(&rec_mount, 0, sizeof rec_mount);
    rec_mount.mountpoint = "/recordings";
    rec_mount.mountpoint_len = 11;
    rec_mount.origin = "parley-recordings";
    rec_mount.origin_protocol = LWSMPRO_CALLBACK;
    health_mount.mount_next = &rec_mount;
    /* POST /meetings/end: the same callback (recording_api.c) */
    static struct lws_http_mount end_mount;
    end_mount = rec_mount;
    end_mount.mountpoint = "/meetings";
    end_mount.mountpoint_len = 9;
    rec_mount.mount_next = &end_mount;
    end_mount.mount_next = &mount;
    static struct lws_http_mount dev_mount;
    memset(&dev_mount, 0, sizeof dev_mount);
    dev_mount.mountpoint = "/dev/token";
    dev_mount.mountpoint_len = 10;
    dev_mount.origin = "parley-dev-token";
    dev_mount.origin_protocol = LWSMPRO_CALLBACK;
    if (node->cfg.dev_token_endpoint) {
        dev_mount.mount_next = &metrics_mount;
        PL_WARN("signaling", "--dev-token-endpoint: GET /dev/token gives anyone a join token");
    }

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    static void *loops[1];
    loops[0] = node->loop;
    info.port = node->cfg.http_port;
    info.iface = node->cfg.listen_ip;
    info.protocols = protocols;
    info.mounts = node->cfg.dev_token_endpoint ? &dev_mount : &metrics_mount;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.foreign_loops = loops;
    info.user = s;
    info.pcontext = &s->ctx;
    info.timeout_secs = 20;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        PL_ERROR("signaling", "cannot listen on http://%s:%d/ (libwebsockets context failed)",
                 node->cfg.listen_ip, node->cfg.http_port);
        pl_map_destroy(&s->peers);
        free(s);
        return NULL;
    }
    PL_INFO("signaling", "listening on http://%s:%d/ (web root %s)", node->cfg.listen_ip,
            node->cfg.http_port, node->cfg.web_root);
    pl_meeting_sweep_start(s);
    pl_recording_recover(s);
    pl_control_node_start(s);
    return s;
}

void pl_signaling_stop(struct pl_signaling *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    pl_control_stopping();
    pl_control_node_stop(s);
    pl_meeting_sweep_stop(s);
    /* Participants leave (their peers are removed from the workers); then libwebsockets
     * closes the sockets. Context destruction finishes on the loop and clears s->ctx. */
    pl_meeting_free_all(s);
    if (s->ctx)
        lws_context_destroy(s->ctx);
}

bool pl_signaling_stopped(const struct pl_signaling *s)
{
    return s->ctx == NULL;
}

void pl_signaling_free(struct pl_signaling *s)
{
    /* With a foreign libuv loop the first destroy closes lws' handles; once the loop has run
     * dry, the second call frees the context (it clears s->ctx through info.pcontext). */
    if (s->ctx)
        lws_context_destroy(s->ctx);
    pl_recording_finish_all(s); /* the workers have stopped: nothing feeds them any more */
    pl_control_cleanup();
    pl_map_destroy(&s->peers);
    free(s);
}
