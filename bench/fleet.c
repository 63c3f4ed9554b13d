/* The harness' clients: cfg->threads threads, each with its own pl_client_loop (one glib
 * context) carrying its share of the clients. Clients start at the ramp rate in plan order (a
 * meeting's host first: the others may only JOIN once it has INITed); each subscribes to the
 * publishers of its meeting as they appear. The main thread never touches a client: it asks
 * each loop for a snapshot of its clients' counters (g_main_context_invoke) and waits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/bench.h"
#include "parley/client.h"
#include "parley/log.h"
#include "parley/time.h"

#define MAX_PUBS 64

struct bclient {
    struct pl_client *c;
    /* Janus: a participant that publishes and subscribes is two handles (two PeerConnections),
     * as Janus' own clients do it: c publishes, sub receives. NULL otherwise. */
    struct pl_client *sub;
    atomic_bool failed;           /* Janus: the publisher failed (subscribers stop waiting) */
    struct pl_bench_fleet *f;
    int meeting;
    bool publisher, host, full, subscriber;
    char account[64];
    const char *token;
    uint64_t due_us;
    bool subscribed[MAX_PUBS];
    int subs;
    atomic_bool in_meeting;       /* MEETING_USERS came: others may subscribe to it */
};

struct bthread {
    struct pl_bench_fleet *f;
    int idx;
    pthread_t th;
    bool running;
    struct pl_client_loop *loop;
    int *clients;                 /* indices into f->cl, in plan order */
    int n, next;
    struct pl_client_stats *delay; /* merged delay histograms, filled at the end */
};

struct pl_bench_fleet {
    struct pl_bench_cfg cfg;
    struct bclient *cl;
    int n;
    struct bthread *th;
    int nth;
    atomic_int *host_state;       /* per meeting: 0 waiting, 1 joined, -1 failed */
    atomic_int started;
    uint64_t t0_us;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, ready;
    bool init_failed;
    struct pl_bench_counts *snap_out;
};

static pthread_mutex_t create_mu = PTHREAD_MUTEX_INITIALIZER;

int pl_bench_layer_bitrate(int layer, int send_bitrate)
{
    /* Between a layer's rate and the next one's (10% / 30% / 100% of the top). */
    static const double ask[3] = {0.2, 0.6, 3.0};
    return (int)(ask[layer < 0 ? 0 : layer > 2 ? 2 : layer] * send_bitrate);
}

int pl_bench_plan_size(const struct pl_bench_cfg *cfg)
{
    return cfg->meetings * (cfg->publishers + cfg->subscribers);
}

void pl_bench_plan(const struct pl_bench_cfg *cfg, int i, int *meeting, bool *publisher,
                   bool *host, char *account, size_t cap)
{
    /* Per meeting the members are p0..p(P-1) then s0..s(S-1); member 0 is the host. Order:
     * member 0 of every meeting, then member 1 of every meeting, ... */
    int m = i % cfg->meetings, k = i / cfg->meetings;
    *meeting = m;
    *publisher = k < cfg->publishers;
    *host = k == 0;
    if (*publisher)
        snprintf(account, cap, "m%d-p%d", m, k);
    else
        snprintf(account, cap, "m%d-s%d", m, k - cfg->publishers);
}

static void fill_counts(struct bclient *b, struct pl_bench_counts *o)
{
    memset(o, 0, sizeof *o);
    o->publisher = b->publisher;
    o->full = b->full;
    o->meeting = b->meeting;
    o->subs = b->subs;
    if (!b->c) {
        int hs = atomic_load(&b->f->host_state[b->meeting]);
        o->state = hs < 0 ? PL_CLIENT_FAILED : PL_CLIENT_CONNECTING;
        return;
    }
    o->state = pl_client_state(b->c);
    const struct pl_client_stats *s = pl_client_stats(b->c);
    o->join_ms = s->join_ms;
    o->connect_ms = s->connect_ms;
    if (b->sub) {
        /* Both halves count as one participant: failed if one failed, else the less advanced
         * state; media (connect time) once both have it. */
        int st2 = pl_client_state(b->sub);
        uint64_t conn2 = pl_client_stats(b->sub)->connect_ms;
        o->state = o->state == PL_CLIENT_FAILED || st2 == PL_CLIENT_FAILED ? PL_CLIENT_FAILED
                 : st2 < o->state ? st2 : o->state;
        o->connect_ms = o->connect_ms && conn2 ? (conn2 > o->connect_ms ? conn2 : o->connect_ms) : 0;
    }
    for (int l = 0; l < 3; l++)
        o->tx_layer[l] = s->tx_layer_packets[l];
    o->tx_audio = s->tx_audio_packets;
    struct pl_client *rc = b->sub ? b->sub : b->c;
    s = pl_client_stats(rc);
    o->rx_packets = s->rx_packets;
    o->rx_video = s->rx_video_packets;
    o->rx_audio = s->rx_audio_packets;
    o->rx_bytes = s->rx_bytes;
    /* Loss lives per stream (the stats' rx_lost is not kept up). */
    int n;
    const struct pl_client_rx *rx = pl_client_rx_streams(rc, &n);
    for (int i = 0; i < n; i++)
        o->rx_lost += rx[i].lost;
}

/* Subscribes to the meeting's publishers that have joined and are not subscribed yet. The plan
 * says who they are (a client keeps only the first 64 users the node lists, so a big meeting's
 * MEETING_USERS may not name them). */
static void sync_subs_janus(struct bclient *b);

static void sync_subs(struct bclient *b, struct pl_client *c)
{
    if (!b->subscriber)
        return;
    struct pl_bench_fleet *f = b->f;
    if (f->cfg.target == PL_TARGET_JANUS) {
        sync_subs_janus(b);
        return;
    }
    const char *want[MAX_PUBS];
    int idx[MAX_PUBS], k = 0;
    for (int j = 0; j < f->cfg.publishers && j < MAX_PUBS; j++) {
        struct bclient *p = &f->cl[j * f->cfg.meetings + b->meeting]; /* pl_bench_plan's order */
        if (p == b || b->subscribed[j] || !atomic_load(&p->in_meeting))
            continue;
        want[k] = p->account;
        idx[k++] = j;
    }
    if (k && pl_client_subscribe(c, want, k, f->cfg.sub_bitrate) == 0)
        for (int i = 0; i < k; i++) {
            b->subscribed[idx[i]] = true;
            b->subs++;
        }
}

/* Janus: feed ids are the plan index + 1 (pl_client_opts.janus_feed), rooms the meeting + 1.
 * By default a subscriber joins once every other publisher of its meeting has media (or
 * failed), with all their feeds in one join: one offer, no renegotiation during the ramp.
 * With janus_incremental it subscribes to each publisher once that one has media, as the
 * Parley target does; Janus then sends an updated offer each time. */
static uint64_t janus_feed(const struct pl_bench_fleet *f, const struct bclient *b)
{
    return (uint64_t)(b - f->cl) + 1;
}

static void sync_subs_janus(struct bclient *b)
{
    struct pl_bench_fleet *f = b->f;
    struct pl_client *rc = b->sub ? b->sub : b->c;
    if (!rc)
        return;
    uint64_t feeds[MAX_PUBS];
    int idx[MAX_PUBS], k = 0;
    for (int j = 0; j < f->cfg.publishers && j < MAX_PUBS; j++) {
        struct bclient *p = &f->cl[j * f->cfg.meetings + b->meeting];
        if (p == b || b->subscribed[j] || atomic_load(&p->failed))
            continue;
        if (!atomic_load(&p->in_meeting)) {
            if (!f->cfg.janus_incremental)
                return; /* not everyone is in yet */
            continue;
        }
        idx[k] = j;
        feeds[k++] = janus_feed(f, p);
    }
    if (k && pl_client_janus_subscribe(rc, feeds, k) == 0)
        for (int i = 0; i < k; i++) {
            b->subscribed[idx[i]] = true;
            b->subs++;
        }
}

static void on_event(struct pl_client *c, enum pl_client_event ev, void *user)
{
    struct bclient *b = user;
    if (ev == PL_CLIENT_EV_STATE && b->f->cfg.target == PL_TARGET_JANUS) {
        enum pl_client_state s = pl_client_state(c);
        /* A feed can be subscribed to once it is published: when its PeerConnection is up. */
        if (c == b->c && b->publisher && s == PL_CLIENT_MEDIA)
            atomic_store(&b->in_meeting, true);
        if (c == b->c && s == PL_CLIENT_FAILED)
            atomic_store(&b->failed, true);
        if (c == b->c && b->host && s == PL_CLIENT_JOINED)
            atomic_store(&b->f->host_state[b->meeting], 1); /* the room exists */
        if (c == b->c && b->host && s == PL_CLIENT_FAILED) {
            int expect = 0;
            atomic_compare_exchange_strong(&b->f->host_state[b->meeting], &expect, -1);
        }
        if (c == (b->sub ? b->sub : b->c))
            sync_subs(b, c);
        return;
    }
    if (ev == PL_CLIENT_EV_STATE) {
        enum pl_client_state s = pl_client_state(c);
        if (s == PL_CLIENT_JOINED)
            atomic_store(&b->in_meeting, true);
        if (b->host && s == PL_CLIENT_JOINED)
            atomic_store(&b->f->host_state[b->meeting], 1);
        if (b->host && s == PL_CLIENT_FAILED) {
            int expect = 0;
            atomic_compare_exchange_strong(&b->f->host_state[b->meeting], &expect, -1);
        }
    }
    if (ev == PL_CLIENT_EV_USERS || ev == PL_CLIENT_EV_STATE)
        sync_subs(b, c);
}

static void start_client(struct bthread *t, struct bclient *b)
{
    const struct pl_bench_cfg *cfg = &t->f->cfg;
    struct pl_client_opts o;
    pl_client_opts_default(&o);
    o.url = cfg->url;
    char meeting[96];
    snprintf(meeting, sizeof meeting, "%s-%d", cfg->meeting_prefix, b->meeting);
    o.meeting_id = meeting;
    o.account_id = b->account;
    o.token = b->token;
    o.role = b->host ? PL_CLIENT_HOST : PL_CLIENT_PARTICIPANT;
    o.publish = b->publisher ? PL_PUBLISH_SYNTHETIC : PL_PUBLISH_NONE;
    o.audio = b->publisher && cfg->audio;
    o.subscribe = 0; /* the harness subscribes to publishers only (sync_subs) */
    o.sub_bitrate = cfg->sub_bitrate;
    o.send_bitrate = cfg->send_bitrate;
    o.fps = cfg->fps;
    int others = cfg->publishers - (b->publisher ? 1 : 0);
    o.video_slots = b->subscriber ? (others < 1 ? 1 : others > 49 ? 49 : others) : 0;
    o.audio_slots = b->subscriber && cfg->audio ? o.video_slots : 0;
    o.count_only = !b->full;
    if (cfg->local_ip)
        o.local_ip = cfg->local_ip;
    if (cfg->target == PL_TARGET_JANUS) {
        o.target = PL_TARGET_JANUS;
        o.token = NULL;
        o.janus_room = (uint64_t)b->meeting + 1;
        o.janus_feed = janus_feed(t->f, b);
        o.janus_room_publishers = cfg->publishers;
        o.janus_substream = cfg->layer;
        o.video_slots = o.audio_slots = 0; /* Janus offers the lines it sends */
        if (b->publisher && b->subscriber) {
            struct pl_client_opts so = o;
            char acc[80];
            snprintf(acc, sizeof acc, "%s-sub", b->account);
            so.account_id = acc;
            so.role = PL_CLIENT_PARTICIPANT;
            so.publish = PL_PUBLISH_NONE;
            so.audio = false;
            b->sub = pl_client_new(t->loop, &so, on_event, b);
        }
        if (b->publisher)
            o.count_only = true; /* receives nothing itself */
    }
    b->c = pl_client_new(t->loop, &o, on_event, b);
    atomic_fetch_add(&t->f->started, 1);
}

/* Every 10 ms: start the clients that are due (and whose meeting's host is in). */
static gboolean ramp_tick(gpointer data)
{
    struct bthread *t = data;
    uint64_t now = pl_now_us();
    while (t->next < t->n) {
        struct bclient *b = &t->f->cl[t->clients[t->next]];
        if (now < b->due_us)
            break;
        int hs = atomic_load(&t->f->host_state[b->meeting]);
        if (!b->host && hs == 0)
            break; /* its host has not joined yet: keep the order */
        if (!b->host && hs < 0)
            atomic_fetch_add(&t->f->started, 1); /* the meeting failed: never started */
        else
            start_client(t, b);
        t->next++;
    }
    return t->next < t->n ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Every second: subscribe to publishers that the USERS events did not bring (a SUBSCRIBE
 * refused before the offer went out). */
static gboolean subs_tick(gpointer data)
{
    struct bthread *t = data;
    for (int i = 0; i < t->next; i++) {
        struct bclient *b = &t->f->cl[t->clients[i]];
        struct pl_client *rc = b->sub ? b->sub : b->c;
        if (rc && pl_client_state(rc) != PL_CLIENT_FAILED)
            sync_subs(b, rc);
    }
    return G_SOURCE_CONTINUE;
}

static void add_timer(struct bthread *t, guint ms, GSourceFunc fn)
{
    GSource *s = g_timeout_source_new(ms);
    g_source_set_callback(s, fn, t, NULL);
    g_source_attach(s, pl_client_loop_context(t->loop));
    g_source_unref(s);
}

static void *thread_main(void *arg)
{
    struct bthread *t = arg;
    struct pl_bench_fleet *f = t->f;
    pthread_mutex_lock(&create_mu); /* lws and libsrtp2 set-up is not thread-safe */
    t->loop = pl_client_loop_new(NULL);
    pthread_mutex_unlock(&create_mu);
    pthread_mutex_lock(&f->mu);
    f->ready++;
    if (!t->loop)
        f->init_failed = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (!t->loop)
        return NULL;
    add_timer(t, 10, ramp_tick);
    add_timer(t, 1000, subs_tick);
    pl_client_loop_run(t->loop);
    /* Stopped: keep the delay histograms of the full subscribers, then free everything. */
    t->delay = calloc(1, sizeof *t->delay);
    for (int i = 0; i < t->n; i++) {
        struct bclient *b = &f->cl[t->clients[i]];
        if (!b->c) {
            pl_client_free(b->sub); /* its publishing half could not be made */
            b->sub = NULL;
            continue;
        }
        const struct pl_client_stats *s = pl_client_stats(b->sub ? b->sub : b->c);
        if (t->delay && b->full) {
            t->delay->delay_count += s->delay_count;
            for (int k = 0; k <= PL_CLIENT_DELAY_BUCKETS; k++)
                t->delay->delay_hist[k] += s->delay_hist[k];
        }
        pl_client_free(b->sub);
        b->sub = NULL;
        pl_client_free(b->c);
        b->c = NULL;
    }
    /* Let the loop finish closing what the clients left (lws, libnice sources). */
    GMainContext *ctx = pl_client_loop_context(t->loop);
    for (int i = 0; i < 100 && g_main_context_iteration(ctx, FALSE); i++)
        ;
    pthread_mutex_lock(&create_mu); /* as for creation: lws context teardown unloads plugins */
    pl_client_loop_free(t->loop);
    pthread_mutex_unlock(&create_mu);
    t->loop = NULL;
    return NULL;
}

struct pl_bench_fleet *pl_bench_fleet_new(const struct pl_bench_cfg *cfg, char **tokens)
{
    struct pl_bench_fleet *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->cfg = *cfg;
    f->n = pl_bench_plan_size(cfg);
    f->nth = cfg->threads;
    f->cl = calloc((size_t)f->n, sizeof *f->cl);
    f->th = calloc((size_t)f->nth, sizeof *f->th);
    f->host_state = calloc((size_t)cfg->meetings, sizeof *f->host_state);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (!f->cl || !f->th || !f->host_state) {
        pl_bench_fleet_free(f);
        return NULL;
    }
    int *sub_rank = calloc((size_t)cfg->meetings, sizeof *sub_rank);
    for (int i = 0; i < f->n; i++) {
        struct bclient *b = &f->cl[i];
        b->f = f;
        pl_bench_plan(cfg, i, &b->meeting, &b->publisher, &b->host, b->account, sizeof b->account);
        b->token = tokens[i];
        b->subscriber = !b->publisher || (cfg->pubs_subscribe && cfg->publishers > 1);
        /* The first full_per_meeting subscribing clients of a meeting decrypt: pure subscribers
         * when there are any, else subscribing publishers. */
        bool candidate = cfg->subscribers > 0 ? !b->publisher : b->subscriber;
        if (candidate && sub_rank && sub_rank[b->meeting] < cfg->full_per_meeting) {
            b->full = true;
            sub_rank[b->meeting]++;
        }
    }
    free(sub_rank);
    for (int k = 0; k < f->nth; k++) {
        struct bthread *t = &f->th[k];
        t->f = f;
        t->idx = k;
        t->clients = calloc((size_t)f->n / (size_t)f->nth + 1, sizeof *t->clients);
        if (!t->clients) {
            pl_bench_fleet_free(f);
            return NULL;
        }
    }
    for (int i = 0; i < f->n; i++) {
        struct bthread *t = &f->th[i % f->nth];
        t->clients[t->n++] = i;
    }
    return f;
}

int pl_bench_fleet_start(struct pl_bench_fleet *f)
{
    f->t0_us = pl_now_us() + 100000;
    for (int i = 0; i < f->n; i++)
        f->cl[i].due_us = f->t0_us + (uint64_t)((double)i * 1e6 / f->cfg.ramp);
    for (int k = 0; k < f->nth; k++) {
        if (pthread_create(&f->th[k].th, NULL, thread_main, &f->th[k]) != 0)
            return -1;
        f->th[k].running = true;
    }
    pthread_mutex_lock(&f->mu);
    while (f->ready < f->nth)
        pthread_cond_wait(&f->cv, &f->mu);
    bool failed = f->init_failed;
    pthread_mutex_unlock(&f->mu);
    return failed ? -1 : 0;
}

int pl_bench_fleet_size(const struct pl_bench_fleet *f) { return f->n; }

bool pl_bench_fleet_all_started(struct pl_bench_fleet *f)
{
    return atomic_load(&f->started) >= f->n;
}

static gboolean snap_on_loop(gpointer data)
{
    struct bthread *t = data;
    struct pl_bench_fleet *f = t->f;
    for (int i = 0; i < t->n; i++)
        fill_counts(&f->cl[t->clients[i]], &f->snap_out[t->clients[i]]);
    pthread_mutex_lock(&f->mu);
    f->pending--;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return G_SOURCE_REMOVE;
}

void pl_bench_fleet_snapshot(struct pl_bench_fleet *f, struct pl_bench_counts *out)
{
    pthread_mutex_lock(&f->mu);
    f->snap_out = out;
    f->pending = f->nth;
    pthread_mutex_unlock(&f->mu);
    for (int k = 0; k < f->nth; k++)
        g_main_context_invoke(pl_client_loop_context(f->th[k].loop), snap_on_loop, &f->th[k]);
    pthread_mutex_lock(&f->mu);
    while (f->pending > 0)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static gboolean quit_loop(gpointer data)
{
    struct bthread *t = data;
    pl_client_loop_quit(t->loop);
    return G_SOURCE_REMOVE;
}

/* LEAVE for everyone on this loop, then stop it 1.5 s later (the node closes the sockets). */
static gboolean leave_on_loop(gpointer data)
{
    struct bthread *t = data;
    t->next = t->n; /* no more starts */
    for (int i = 0; i < t->n; i++) {
        struct bclient *b = &t->f->cl[t->clients[i]];
        if (b->sub)
            pl_client_leave(b->sub);
        if (b->c)
            pl_client_leave(b->c);
    }
    add_timer(t, 1500, quit_loop);
    return G_SOURCE_REMOVE;
}

void pl_bench_fleet_stop(struct pl_bench_fleet *f, struct pl_bench_counts *out, double *delay_p50,
                         double *delay_p99, uint64_t *delay_count)
{
    /* Final counters first (LEAVE changes states), then the goodbye. */
    pl_bench_fleet_snapshot(f, out);
    for (int k = 0; k < f->nth; k++)
        if (f->th[k].running)
            g_main_context_invoke(pl_client_loop_context(f->th[k].loop), leave_on_loop, &f->th[k]);
    struct pl_client_stats *all = calloc(1, sizeof *all);
    for (int k = 0; k < f->nth; k++) {
        struct bthread *t = &f->th[k];
        if (!t->running)
            continue;
        pthread_join(t->th, NULL);
        t->running = false;
        if (all && t->delay) {
            all->delay_count += t->delay->delay_count;
            for (int i = 0; i <= PL_CLIENT_DELAY_BUCKETS; i++)
                all->delay_hist[i] += t->delay->delay_hist[i];
        }
    }
    *delay_count = all ? all->delay_count : 0;
    *delay_p50 = all && all->delay_count ? pl_client_delay_percentile(all, 50) : -1;
    *delay_p99 = all && all->delay_count ? pl_client_delay_percentile(all, 99) : -1;
    free(all);
}

void pl_bench_fleet_free(struct pl_bench_fleet *f)
{
    if (!f)
        return;
    for (int k = 0; f->th && k < f->nth; k++) {
        struct bthread *t = &f->th[k];
        if (t->running) {
            if (t->loop)
                g_main_context_invoke(pl_client_loop_context(t->loop), quit_loop, t);
            pthread_join(t->th, NULL);
        }
        free(t->clients);
        free(t->delay);
    }
    free(f->th);
    free(f->cl);
    free((void *)f->host_state);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
