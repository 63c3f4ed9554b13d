/* GET /metrics (Prometheus text format) and GET /healthz on the node's HTTP port. */
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "parley/worker.h"
#include "sig_int.h"

struct text {
    char *buf;
    size_t len, cap;
};

static void add(void *tp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(void *tp, const char *fmt, ...)
{
    struct text *t = tp;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->buf ? vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 8192;
        char *b = realloc(t->buf, cap);
        if (!b)
            return;
        t->buf = b;
        t->cap = cap;
    }
}

/* One counter family: HELP, TYPE and a sample per worker. */
static void family(struct text *t, struct pl_node *node, const struct pl_worker_stats *st,
                   const char *name, const char *type, const char *help, size_t offset)
{
    const char *suffix = strcmp(type, "counter") == 0 ? "_total" : "";
    add(t, "# HELP parley_%s%s %s\n# TYPE parley_%s%s %s\n", name, suffix, help, name, suffix, type);
    for (int i = 0; i < node->n_workers; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&st[i] + offset, sizeof v);
        add(t, "parley_%s%s{worker=\"%d\"} %llu\n", name, suffix, i, (unsigned long long)v);
    }
}

static char *render(struct pl_signaling *s, size_t *len)
{
    struct pl_node *node = s->node;
    struct text t = {0};
    struct pl_worker_stats *st = calloc((size_t)(node->n_workers ? node->n_workers : 1), sizeof *st);
    if (!st)
        return NULL;
    for (int i = 0; i < node->n_workers; i++)
        pl_worker_get_stats(node->workers[i], &st[i]);
#define F2(field, type, help) \
    family(&t, node, st, #field, type, help, offsetof(struct pl_worker_stats, field))
#define F(field, type, help) \
    family(&t, node, st, #field, type, help, offsetof(struct pl_worker_stats, field))
    F(rx_packets, "counter", "Datagrams received by the worker.");
    F(rx_bytes, "counter", "Bytes received by the worker.");
    F(tx_packets, "counter", "Datagrams sent by the worker.");
    F(tx_bytes, "counter", "Bytes sent by the worker.");
    F(rx_stun, "counter", "STUN messages received.");
    F(rx_dtls, "counter", "DTLS records received.");
    F(rx_rtp, "counter", "SRTP packets received.");
    F(rx_rtcp, "counter", "SRTCP packets received.");
    F(rx_dropped, "counter", "Datagrams dropped: unknown sender, malformed, or test loss.");
    F(forwarded_rtp, "counter", "RTP packets forwarded to subscribers.");
    F(srtp_errors, "counter", "SRTP/SRTCP packets that failed to unprotect or protect.");
    F(send_errors, "counter", "Datagrams that could not be sent.");
    F(nacks_received, "counter", "Sequence numbers subscribers asked to be resent (NACK).");
    F(retransmissions, "counter", "Packets resent to subscribers from the retransmission ring.");
    F(twcc_feedback, "counter", "Transport-cc feedback packets sent to publishers.");
    F(remb_sent, "counter", "REMB messages sent to publishers without transport-cc.");
    F(rtcp_reports, "counter", "Compound RTCP packets of sender and receiver reports sent.");
    F(keyframe_requests, "counter", "Keyframe requests (PLI/FIR) sent to publishers.");
    F(nacks_sent, "counter", "Sequence numbers NACKed to publishers (lost on the way in).");
    F(rtx_received, "counter", "Retransmissions (RTX) received from publishers.");
    F(chat_messages, "counter", "Chat messages received on data channels.");
    F(chat_deliveries, "counter", "Chat messages sent on to the other participants of a meeting.");
    F(test_dropped, "counter", "Datagrams dropped by the test aids (--drop-rate, --test-downlink-kbps).");
    F(peers, "gauge", "Peers on the worker.");
#undef F
    add(&t, "# HELP parley_rx_layer_packets_total Video packets received per simulcast layer "
            "(0 lowest).\n# TYPE parley_rx_layer_packets_total counter\n");
    for (int i = 0; i < node->n_workers; i++)
        for (int l = 0; l < PL_MAX_LAYERS; l++)
            add(&t, "parley_rx_layer_packets_total{worker=\"%d\",layer=\"%d\"} %llu\n", i, l,
                (unsigned long long)st[i].rx_layer_packets[l]);
    F2(layer_switches, "counter", "Slots moved to another simulcast layer.");
#undef F2
    int meetings = 0, participants = 0, recording = 0;
    for (struct pl_meeting *m = s->meetings; m; m = m->next) {
        if (m->ended)
            continue;
        meetings++;
        participants += m->n_parts;
        recording += m->recorder != NULL;
    }
    add(&t, "# HELP parley_meetings Meetings running on the node.\n# TYPE parley_meetings gauge\n"
            "parley_meetings %d\n", meetings);
    add(&t, "# HELP parley_participants Participants in those meetings.\n"
            "# TYPE parley_participants gauge\nparley_participants %d\n", participants);
    add(&t, "# HELP parley_recording_meetings Meetings with the recorder in.\n"
            "# TYPE parley_recording_meetings gauge\nparley_recording_meetings %d\n", recording);
    pl_metrics_streams(s, add, &t);
    free(st);
    *len = t.len;
    return t.buf;
}

int pl_metrics_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    if (reason != LWS_CALLBACK_HTTP)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    struct pl_signaling *s = lws_context_user(lws_get_context(wsi));
    char uri[64] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    if (strstr(uri, "healthz"))
        return pl_http_reply(wsi, s->stopping ? 503 : 200, "text/plain", s->stopping ? "stopping\n" : "ok\n",
                     s->stopping ? 9 : 3);
    size_t n = 0;
    char *text = render(s, &n);
    if (!text)
        return pl_http_reply(wsi, 500, "text/plain", "out of memory\n", 14);
    int rc = pl_http_reply(wsi, 200, "text/plain; version=0.0.4", text, n);
    free(text);
    return rc;
}
