/* Per-layer and per-consumer figures for /metrics: the worker copies them into a snapshot
 * once a tick (one allocation per tick, not per packet), and the main thread reads the
 * snapshot under the worker's stats lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_int.h"

static void fill_layer(struct pl_layer_stat *o, const struct pl_peer *p, const struct pl_track *t,
                       int l)
{
    const struct pl_layer *ly = &t->layers[l];
    memset(o, 0, sizeof *o);
    o->peer_id = p->id;
    snprintf(o->mid, sizeof o->mid, "%s", t->spec.mid);
    o->kind = t->spec.kind;
    o->layer = l;
    if (l < t->spec.n_rids)
        snprintf(o->rid, sizeof o->rid, "%s", t->spec.rids[l]);
    o->packets = ly->packets_total;
    o->bytes = ly->bytes_total;
    o->bitrate = ly->bitrate;
    o->keyframe_requests = ly->keyframe_requests;
    o->nacks_sent = ly->nacks_sent;
    o->rtx_received = ly->rtx_received;
    if (ly->rx.started) {
        uint64_t expected = (uint64_t)(ly->rx.cycles + ly->rx.max_seq - ly->rx.base_seq) + 1;
        o->lost = (int64_t)expected - (int64_t)ly->rx.received;
        o->jitter = ly->rx.jitter_q4 >> 4;
    }
}

static void fill_consumer(struct pl_consumer_stat *o, const struct pl_peer *p, const struct pl_slot *s)
{
    memset(o, 0, sizeof *o);
    o->peer_id = p->id;
    snprintf(o->mid, sizeof o->mid, "%s", s->spec.mid);
    o->kind = s->spec.kind;
    o->source_peer_id = s->source ? s->source->owner->id : 0;
    o->layer = s->source ? s->layer : -1;
    o->target = s->source ? s->target : -1;
    o->packets = s->packets;
    o->bytes = s->bytes;
    o->bitrate = s->tx_bitrate;
    o->layer_switches = s->layer_switches;
    o->keyframe_requests = s->keyframe_requests;
    o->nacks = s->nacks;
    o->retransmissions = s->retransmissions;
}

void pl_publish_stream_stats(struct pl_worker *w)
{
    uint64_t key;
    void *val;
    size_t n_layers = 0, n_consumers = 0;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        const struct pl_peer *p = val;
        for (int i = 0; i < p->n_tracks; i++)
            for (int l = 0; l < p->tracks[i].n_layers; l++)
                n_layers += p->tracks[i].layers[l].packets_total > 0;
        for (int i = 0; i < p->n_slots; i++)
            n_consumers += p->slots[i].source || p->slots[i].packets;
    }
    struct pl_layer_stat *ls = n_layers ? malloc(n_layers * sizeof *ls) : NULL;
    struct pl_consumer_stat *cs = n_consumers ? malloc(n_consumers * sizeof *cs) : NULL;
    if ((n_layers && !ls) || (n_consumers && !cs)) {
        free(ls);
        free(cs);
        return; /* keep the previous snapshot */
    }
    size_t nl = 0, nc = 0;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        const struct pl_peer *p = val;
        for (int i = 0; i < p->n_tracks; i++)
            for (int l = 0; l < p->tracks[i].n_layers; l++)
                if (p->tracks[i].layers[l].packets_total > 0 && nl < n_layers)
                    fill_layer(&ls[nl++], p, &p->tracks[i], l);
        for (int i = 0; i < p->n_slots; i++)
            if ((p->slots[i].source || p->slots[i].packets) && nc < n_consumers)
                fill_consumer(&cs[nc++], p, &p->slots[i]);
    }
    pthread_mutex_lock(&w->stats_mu);
    struct pl_layer_stat *old_ls = w->layer_stats;
    struct pl_consumer_stat *old_cs = w->consumer_stats;
    w->layer_stats = ls;
    w->n_layer_stats = nl;
    w->consumer_stats = cs;
    w->n_consumer_stats = nc;
    pthread_mutex_unlock(&w->stats_mu);
    free(old_ls);
    free(old_cs);
}

void pl_free_stream_stats(struct pl_worker *w)
{
    free(w->layer_stats);
    free(w->consumer_stats);
    w->layer_stats = NULL;
    w->consumer_stats = NULL;
    w->n_layer_stats = w->n_consumer_stats = 0;
}

void pl_worker_visit_streams(struct pl_worker *w,
                             void (*on_layer)(const struct pl_layer_stat *, void *),
                             void (*on_consumer)(const struct pl_consumer_stat *, void *),
                             void *ud)
{
    pthread_mutex_lock(&w->stats_mu);
    for (size_t i = 0; on_layer && i < w->n_layer_stats; i++)
        on_layer(&w->layer_stats[i], ud);
    for (size_t i = 0; on_consumer && i < w->n_consumer_stats; i++)
        on_consumer(&w->consumer_stats[i], ud);
    pthread_mutex_unlock(&w->stats_mu);
}
