/* A media worker: thread, loop, timers and command handling (the socket: udp_in.c, udp_out.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "worker_int.h"

#define PL_POOL_MAX 65536

bool pl_test_drop(struct pl_worker *w)
{
    if (w->cfg.drop_rate <= 0)
        return false;
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (double)(w->rng >> 11) / (double)(1ull << 53) < w->cfg.drop_rate;
}

/* Anything queued outside a receive batch (timers, commands) goes out before the loop sleeps. */
static void on_check(uv_check_t *c)
{
    pl_out_flush(c->data);
}

/* Tells the main thread how loud each publisher was since the last tick (active speaker). */
static void report_levels(struct pl_worker *w)
{
    uint64_t key;
    void *val;
    int n = (int)w->peers_by_id.count;
    if (n == 0)
        return;
    struct pl_levels_event *ev = calloc(1, sizeof *ev + (size_t)n * sizeof ev->levels[0]);
    if (!ev)
        return;
    ev->hdr.type = PL_EV_AUDIO_LEVELS;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val) && ev->n < n;) {
        struct pl_peer *p = val;
        for (int i = 0; i < p->n_tracks; i++) {
            struct pl_track *t = &p->tracks[i];
            if (t->spec.kind != PL_MEDIA_AUDIO || !t->level_count)
                continue;
            ev->levels[ev->n].peer_id = p->id;
            ev->levels[ev->n].loudness = (uint8_t)(127 - t->level_sum / t->level_count);
            ev->n++;
            t->level_sum = t->level_count = 0;
            break;
        }
    }
    if (ev->n == 0 || pl_mailbox_post(w->cfg.events, &ev->hdr) != 0)
        free(ev);
}

/* Once a tick: each layer's bitrate, then every video slot's target layer from it. */
static void measure_layers(struct pl_worker *w)
{
    uint64_t key;
    void *val;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        struct pl_peer *p = val;
        for (int i = 0; i < p->n_tracks; i++)
            for (int l = 0; l < p->tracks[i].n_layers; l++) {
                struct pl_layer *ly = &p->tracks[i].layers[l];
                ly->bitrate = (uint32_t)(ly->bytes * 8); /* the tick is one second */
                ly->bytes = 0;
                /* A second's rate swings with keyframes and the encoder: a layer is taken to
                 * cost what it recently peaked at, so a quiet second does not make it fit. */
                ly->bitrate_peak -= ly->bitrate_peak / 8;
                if (ly->bitrate > ly->bitrate_peak)
                    ly->bitrate_peak = ly->bitrate;
            }
        p->tx_bitrate = (uint32_t)(p->tx_bytes * 8);
        p->tx_bytes = 0;
        for (int i = 0; i < p->n_slots; i++) {
            p->slots[i].tx_bitrate = (uint32_t)(p->slots[i].bytes_tick * 8);
            p->slots[i].bytes_tick = 0;
        }
    }
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        struct pl_peer *p = val;
        for (int i = 0; i < p->n_slots; i++)
            if (p->slots[i].source && p->slots[i].spec.kind == PL_MEDIA_VIDEO)
                pl_slot_retarget(&p->slots[i]);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct pl_worker *w = t->data;
    uint64_t now = pl_now_ms();
    uint64_t key;
    void *val;
    struct pl_peer *failed[64];
    int n_failed = 0;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val) && n_failed < 64;) {
        struct pl_peer *p = val;
        if (p->state == PL_PEER_FAILED || p->rec)
            continue;
        uint64_t since = p->last_consent_ms ? p->last_consent_ms : p->created_ms;
        /* Consent lost, or ICE/DTLS not done in time (OpenSSL alone would retry for minutes). */
        if (now - since > (uint64_t)w->cfg.consent_timeout_ms ||
            (p->state != PL_PEER_CONNECTED &&
             now - p->created_ms > (uint64_t)w->cfg.consent_timeout_ms))
            failed[n_failed++] = p;
    }
    report_levels(w);
    measure_layers(w);
    uint64_t now_us = pl_now_us();
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        struct pl_peer *p = val;
        if (p->rec)
            pl_rec_sink_tick(p, now_us);
        else if (p->state == PL_PEER_CONNECTED && p->srtp_ready && p->has_addr)
            pl_send_reports(p, now_us);
    }
    pthread_mutex_lock(&w->stats_mu);
    w->published = w->stats;
    pthread_mutex_unlock(&w->stats_mu);
    pl_publish_stream_stats(w);
    for (int i = 0; i < n_failed; i++) {
        struct pl_peer *p = failed[i];
        pl_peer_fail(p, !p->last_consent_ms               ? "ICE never connected"
                        : p->state != PL_PEER_CONNECTED ? "DTLS did not complete in time"
                                                        : "ICE consent expired");
    }
}

static void on_feedback_timer(uv_timer_t *t)
{
    struct pl_worker *w = t->data;
    uint64_t key;
    void *val;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        struct pl_peer *p = val;
        if (p->twcc && p->srtp_ready && p->has_addr)
            pl_send_feedback(p);
    }
}

static void on_nack_timer(uv_timer_t *t)
{
    struct pl_worker *w = t->data;
    uint64_t key;
    void *val;
    uint64_t now = pl_now_ms();
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        struct pl_peer *p = val;
        if (p->srtp_ready && p->has_addr)
            pl_send_nacks(p, now);
    }
}

static void handle_command(struct pl_mailbox *mb, struct pl_msg *msg, void *user)
{
    struct pl_worker *w = user;
    (void)mb;
    switch (msg->type) {
    case PL_CMD_PEER_ADD: {
        struct pl_peer_spec *spec = (struct pl_peer_spec *)msg;
        if (!pl_peer_create(w, spec))
            PL_ERROR("worker", "worker %d: could not add peer %u", w->cfg.index, spec->peer_id);
        break;
    }
    case PL_CMD_PEER_REMOVE: {
        struct pl_cmd_peer *c = (struct pl_cmd_peer *)msg;
        struct pl_peer *p = pl_map_get(&w->peers_by_id, c->peer_id);
        if (p)
            pl_peer_destroy(p);
        break;
    }
    case PL_CMD_STOP:
        w->stopping = true; /* the loop in thread_main returns after this iteration */
        break;
    case PL_CMD_SLOT_BIND: {
        struct pl_cmd_bind *c = (struct pl_cmd_bind *)msg;
        struct pl_peer *sub = pl_map_get(&w->peers_by_id, c->subscriber_id);
        struct pl_peer *pub = c->publisher_id ? pl_map_get(&w->peers_by_id, c->publisher_id) : NULL;
        if (sub && (pub || !c->publisher_id)) {
            if (c->slot >= 0 && c->slot < sub->n_slots)
                snprintf(sub->slots[c->slot].feed_name, sizeof sub->slots[0].feed_name, "%s",
                         c->publisher_name);
            pl_peer_bind_slot(sub, c->slot, pub, c->bitrate);
        }
        break;
    }
    case PL_CMD_DC_OUT:
        pl_dc_out_command(w, (struct pl_cmd_dc_out *)msg);
        break;
    case PL_CMD_REC_KEYFRAME: {
        struct pl_cmd_rec_keyframe *c = (struct pl_cmd_rec_keyframe *)msg;
        struct pl_peer *p = pl_map_get(&w->peers_by_id, c->peer_id);
        if (p && p->rec)
            pl_rec_sink_keyframe(p, c->track);
        break;
    }
    default:
        PL_WARN("worker", "unknown command %d", msg->type);
    }
    free(msg);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void shutdown_loop(struct pl_worker *w)
{
    uint64_t key;
    void *val;
    /* Destroying a peer edits the maps: collect first. */
    for (;;) {
        size_t it = 0;
        if (!pl_map_next(&w->peers_by_id, &it, &key, &val))
            break;
        pl_peer_destroy(val);
    }
    pl_out_flush(w);
    pl_mailbox_close(&w->inbox);
    uv_walk(&w->loop, close_walk, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    pl_in_close_fd(w);
}

static void thread_main(void *arg)
{
    struct pl_worker *w = arg;
    w->tid = pthread_self();
    w->start_error = uv_loop_init(&w->loop);
    if (!w->start_error)
        w->start_error = pl_mailbox_init(&w->inbox, &w->loop, handle_command, w);
    if (!w->start_error)
        w->start_error = pl_in_open(w);
    if (w->start_error) {
        uv_sem_post(&w->started);
        uv_walk(&w->loop, close_walk, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        pl_in_close_fd(w);
        uv_loop_close(&w->loop);
        return;
    }
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, 1000, 1000);
    uv_timer_init(&w->loop, &w->feedback);
    w->feedback.data = w;
    uv_timer_start(&w->feedback, on_feedback_timer, PL_FEEDBACK_MS, PL_FEEDBACK_MS);
    uv_timer_init(&w->loop, &w->nack_timer);
    w->nack_timer.data = w;
    uv_timer_start(&w->nack_timer, on_nack_timer, PL_NACK_MS, PL_NACK_MS);
    uv_check_init(&w->loop, &w->flush_check);
    w->flush_check.data = w;
    uv_check_start(&w->flush_check, on_check);
    PL_INFO("worker", "worker %d: media on udp %s:%u", w->cfg.index, w->bind_ip, w->cfg.port);
    uv_sem_post(&w->started);
    while (!w->stopping)
        uv_run(&w->loop, UV_RUN_ONCE);
    shutdown_loop(w);
    if (uv_loop_close(&w->loop) != 0)
        PL_WARN("worker", "worker %d: loop still has handles at exit", w->cfg.index);
}

static void free_worker(struct pl_worker *w)
{
    if (w->dtls_ctx)
        pl_dtls_ctx_free(w->dtls_ctx);
    pl_map_destroy(&w->peers_by_id);
    pl_map_destroy(&w->peers_by_addr);
    pl_map_destroy(&w->peers_by_ufrag);
    pl_pool_destroy(&w->bufs);
    pl_free_stream_stats(w);
    pl_chat_free_all(w);
    pthread_mutex_destroy(&w->stats_mu);
    uv_sem_destroy(&w->started);
    free(w);
}

struct pl_worker *pl_worker_start(const struct pl_worker_config *cfg)
{
    struct pl_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cfg = *cfg;
    snprintf(w->bind_ip, sizeof w->bind_ip, "%s", cfg->bind_ip);
    w->cfg.bind_ip = w->bind_ip;
    w->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(cfg->index + 1) ^ pl_now_us();
    w->fd = -1;
    w->dtls_ctx = pl_dtls_ctx_clone(cfg->dtls_template);
    pthread_mutex_init(&w->stats_mu, NULL);
    if (uv_sem_init(&w->started, 0) != 0) {
        free(w);
        return NULL;
    }
    if (!w->dtls_ctx || pl_pool_init(&w->bufs, PL_PKT_BUF, 256, PL_POOL_MAX) ||
        pl_map_init(&w->peers_by_id, 64) || pl_map_init(&w->peers_by_addr, 64) ||
        pl_map_init(&w->peers_by_ufrag, 64)) {
        free_worker(w);
        return NULL;
    }
    if (uv_thread_create(&w->thread, thread_main, w) != 0) {
        free_worker(w);
        return NULL;
    }
    uv_sem_wait(&w->started);
    if (w->start_error) {
        PL_ERROR("worker", "worker %d: cannot use udp %s:%u: %s", cfg->index, w->bind_ip,
                 cfg->port, uv_strerror(w->start_error));
        uv_thread_join(&w->thread);
        free_worker(w);
        return NULL;
    }
    return w;
}

int pl_worker_post(struct pl_worker *w, struct pl_msg *cmd)
{
    return pl_mailbox_post(&w->inbox, cmd);
}

void pl_worker_stop(struct pl_worker *w)
{
    if (!w)
        return;
    struct pl_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->type = PL_CMD_STOP;
        if (pl_mailbox_post(&w->inbox, m) != 0)
            free(m);
    }
    uv_thread_join(&w->thread);
    free_worker(w);
}

/* The counters as of the worker's last tick (at most a second old). */
void pl_worker_get_stats(struct pl_worker *w, struct pl_worker_stats *out)
{
    pthread_mutex_lock(&w->stats_mu);
    *out = w->published;
    pthread_mutex_unlock(&w->stats_mu);
}
