/* The per-stream part of /metrics: one series per published layer (parley_layer_*) and per
 * subscriber slot (parley_consumer_*), labelled with the meeting and participant ids. */
#include <stdlib.h>
#include <string.h>

#include "parley/worker.h"
#include "sig_int.h"

struct streams {
    struct pl_layer_stat *layers;
    size_t n_layers, cap_layers;
    struct pl_consumer_stat *consumers;
    size_t n_consumers, cap_consumers;
};

static void grab_layer(const struct pl_layer_stat *l, void *ud)
{
    struct streams *st = ud;
    if (st->n_layers == st->cap_layers) {
        size_t cap = st->cap_layers ? st->cap_layers * 2 : 64;
        void *p = realloc(st->layers, cap * sizeof *st->layers);
        if (!p)
            return;
        st->layers = p;
        st->cap_layers = cap;
    }
    st->layers[st->n_layers++] = *l;
}

static void grab_consumer(const struct pl_consumer_stat *c, void *ud)
{
    struct streams *st = ud;
    if (st->n_consumers == st->cap_consumers) {
        size_t cap = st->cap_consumers ? st->cap_consumers * 2 : 64;
        void *p = realloc(st->consumers, cap * sizeof *st->consumers);
        if (!p)
            return;
        st->consumers = p;
        st->cap_consumers = cap;
    }
    st->consumers[st->n_consumers++] = *c;
}

/* A label value as the text format wants it: backslash, quote and newline escaped. Ids come
 * from tokens and mids from SDP, so neither is trusted to be tidy. */
static const char *esc(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
    return out;
}

/* meeting="…",participant="…" of a peer ("" when it already left). */
static void who(struct pl_signaling *s, uint32_t peer_id, char *out, size_t cap)
{
    struct pl_participant *p = pl_map_get(&s->peers, peer_id);
    char m[2 * PL_ID_MAX + 2], a[2 * PL_ID_MAX + 2];
    snprintf(out, cap, "meeting=\"%s\",participant=\"%s\"",
             esc(p && p->meeting ? p->meeting->id : "", m, sizeof m),
             esc(p ? p->account_id : "", a, sizeof a));
}

static const char *kind_name(enum pl_media_kind k)
{
    return k == PL_MEDIA_AUDIO ? "audio" : "video";
}

enum field { PACKETS, BYTES, BITRATE, KEYFRAMES, NACKS, RTX, LOST, JITTER, SWITCHES, LAYER, TARGET };

static long long layer_value(const struct pl_layer_stat *l, enum field f)
{
    switch (f) {
    case PACKETS: return (long long)l->packets;
    case BYTES: return (long long)l->bytes;
    case BITRATE: return l->bitrate;
    case KEYFRAMES: return (long long)l->keyframe_requests;
    case NACKS: return (long long)l->nacks_sent;
    case RTX: return (long long)l->rtx_received;
    case LOST: return l->lost;
    case JITTER: return l->jitter;
    default: return 0;
    }
}

static long long consumer_value(const struct pl_consumer_stat *c, enum field f)
{
    switch (f) {
    case PACKETS: return (long long)c->packets;
    case BYTES: return (long long)c->bytes;
    case BITRATE: return c->bitrate;
    case KEYFRAMES: return (long long)c->keyframe_requests;
    case NACKS: return (long long)c->nacks;
    case RTX: return (long long)c->retransmissions;
    case SWITCHES: return (long long)c->layer_switches;
    case LAYER: return c->layer;
    case TARGET: return c->target;
    default: return 0;
    }
}

static const struct family {
    const char *name, *type, *help;
    enum field field;
} layer_families[] = {
    {"parley_layer_packets_total", "counter", "RTP packets received on a published stream (simulcast layer).", PACKETS},
    {"parley_layer_bytes_total", "counter", "Bytes received on a published stream.", BYTES},
    {"parley_layer_bitrate_bps", "gauge", "Bitrate received on a published stream over the last second.", BITRATE},
    {"parley_layer_keyframe_requests_total", "counter", "Keyframe requests (PLI/FIR) sent for the stream.", KEYFRAMES},
    {"parley_layer_nacks_sent_total", "counter", "Sequence numbers of the stream NACKed to its publisher.", NACKS},
    {"parley_layer_rtx_received_total", "counter", "Retransmissions (RTX) received for the stream.", RTX},
    {"parley_layer_lost_packets", "gauge", "Packets of the stream lost on the way in (cumulative, as RTCP counts).", LOST},
    {"parley_layer_jitter", "gauge", "Interarrival jitter of the stream, RTP clock units.", JITTER},
}, consumer_families[] = {
    {"parley_consumer_packets_total", "counter", "RTP packets sent on a subscriber's slot.", PACKETS},
    {"parley_consumer_bytes_total", "counter", "Bytes sent on a subscriber's slot.", BYTES},
    {"parley_consumer_bitrate_bps", "gauge", "Bitrate sent on a subscriber's slot over the last second.", BITRATE},
    {"parley_consumer_layer", "gauge", "Simulcast layer the slot forwards (-1: none).", LAYER},
    {"parley_consumer_target_layer", "gauge", "Layer the slot moves to at its next keyframe (-1: none).", TARGET},
    {"parley_consumer_layer_switches_total", "counter", "Layer switches of the slot.", SWITCHES},
    {"parley_consumer_keyframe_requests_total", "counter", "Keyframe requests (PLI/FIR) the subscriber sent on the slot.", KEYFRAMES},
    {"parley_consumer_nacks_total", "counter", "Sequence numbers the subscriber NACKed on the slot.", NACKS},
    {"parley_consumer_retransmissions_total", "counter", "Packets resent on the slot.", RTX},
};

void pl_metrics_streams(struct pl_signaling *s, void (*add)(void *, const char *, ...), void *out)
{
    struct pl_node *node = s->node;
    struct streams st = {0};
    for (int i = 0; i < node->n_workers; i++)
        pl_worker_visit_streams(node->workers[i], grab_layer, grab_consumer, &st);
    char lbl[4 * PL_ID_MAX + 64], mid[80], src[4 * PL_ID_MAX + 64];
    for (size_t f = 0; f < sizeof layer_families / sizeof layer_families[0]; f++) {
        const struct family *fam = &layer_families[f];
        add(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
        for (size_t i = 0; i < st.n_layers; i++) {
            const struct pl_layer_stat *l = &st.layers[i];
            char rid[40];
            who(s, l->peer_id, lbl, sizeof lbl);
            add(out, "%s{%s,mid=\"%s\",kind=\"%s\",layer=\"%d\",rid=\"%s\"} %lld\n", fam->name, lbl,
                esc(l->mid, mid, sizeof mid), kind_name(l->kind), l->layer,
                esc(l->rid, rid, sizeof rid), layer_value(l, fam->field));
        }
    }
    for (size_t f = 0; f < sizeof consumer_families / sizeof consumer_families[0]; f++) {
        const struct family *fam = &consumer_families[f];
        add(out, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
        for (size_t i = 0; i < st.n_consumers; i++) {
            const struct pl_consumer_stat *c = &st.consumers[i];
            struct pl_participant *sp = c->source_peer_id ? pl_map_get(&s->peers, c->source_peer_id) : NULL;
            char a[2 * PL_ID_MAX + 2];
            who(s, c->peer_id, lbl, sizeof lbl);
            snprintf(src, sizeof src, "%s", esc(sp ? sp->account_id : "", a, sizeof a));
            add(out, "%s{%s,mid=\"%s\",kind=\"%s\",source=\"%s\"} %lld\n", fam->name, lbl,
                esc(c->mid, mid, sizeof mid), kind_name(c->kind), src, consumer_value(c, fam->field));
        }
    }
    free(st.layers);
    free(st.consumers);
}
