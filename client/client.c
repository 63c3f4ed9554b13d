/* One client's life: options, the join over signaling, the transport, the media tick (every
 * 10 ms: due video frames and audio packets; once a second: RTCP), state and figures. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "parley/log.h"
#include "parley/time.h"

#define TICK_MS 10

void pl_client_opts_default(struct pl_client_opts *o)
{
    memset(o, 0, sizeof *o);
    o->role = PL_CLIENT_PARTICIPANT;
    o->publish = PL_PUBLISH_SYNTHETIC;
    o->simulcast = true;
    o->subscribe = -1;
    o->sub_bitrate = 1500000;
    o->send_bitrate = 1200000;
    o->video_slots = 8;
    o->audio_slots = 8;
    o->width = 640;
    o->height = 360;
    o->fps = 30;
    o->local_ip = "127.0.0.1";
}

const char *pl_client_state_name(enum pl_client_state s)
{
    static const char *const names[] = {"connecting", "joined", "media", "closed", "failed"};
    return s <= PL_CLIENT_FAILED ? names[s] : "?";
}

void cl_event(struct pl_client *c, enum pl_client_event ev)
{
    if (c->cb)
        c->cb(c, ev, c->user);
}

void cl_set_state(struct pl_client *c, enum pl_client_state s)
{
    if (c->state == s || c->state == PL_CLIENT_FAILED || c->state == PL_CLIENT_CLOSED)
        return;
    PL_INFO("client", "%s: %s -> %s", c->o.account_id, pl_client_state_name(c->state),
            pl_client_state_name(s));
    c->state = s;
    cl_event(c, PL_CLIENT_EV_STATE);
}

void cl_fail(struct pl_client *c, const char *fmt, ...)
{
    if (c->state == PL_CLIENT_FAILED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    PL_ERROR("client", "%s: %s", c->o.account_id, c->error);
    if (c->state == PL_CLIENT_CLOSED)
        return;
    c->state = PL_CLIENT_FAILED;
    cl_event(c, PL_CLIENT_EV_STATE);
}

static gboolean on_tick(gpointer data)
{
    struct pl_client *c = data;
    uint64_t now = pl_now_us();
    if (c->state == PL_CLIENT_MEDIA) {
        cl_sender_tick(c, now);
        if (c->dc)
            pl_dc_tick_now(); /* usrsctp's timers are process-wide */
        cl_receiver_nack_tick(c, now);
        if (now >= c->next_rtcp_us) {
            cl_receiver_rtcp_report(c, now);
            c->next_rtcp_us = now + 1000000;
        }
    }
    return G_SOURCE_CONTINUE;
}

/* Copies the option strings into one block the client owns. */
static int copy_opts(struct pl_client *c, const struct pl_client_opts *o)
{
    const char *src[] = {o->url, o->meeting_id, o->account_id, o->token ? o->token : "", o->local_ip,
                         o->ivf_path, o->ogg_path};
    const char **dst[] = {&c->o.url, &c->o.meeting_id, &c->o.account_id, &c->o.token,
                          &c->o.local_ip, &c->o.ivf_path, &c->o.ogg_path};
    size_t total = 0;
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++)
        total += src[i] ? strlen(src[i]) + 1 : 0;
    c->strings = malloc(total ? total : 1);
    if (!c->strings)
        return -1;
    char *p = c->strings;
    for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
        if (!src[i]) {
            *dst[i] = NULL;
            continue;
        }
        size_t n = strlen(src[i]) + 1;
        memcpy(p, src[i], n);
        *dst[i] = p;
        p += n;
    }
    return 0;
}

struct pl_client *pl_client_new(struct pl_client_loop *l, const struct pl_client_opts *o,
                                pl_client_event_fn cb, void *user)
{
    bool janus = o->target == PL_TARGET_JANUS;
    if (!o->url || !o->meeting_id || !o->account_id || (!o->token && !janus) || !o->local_ip ||
        (janus && (!o->janus_room || o->role == PL_CLIENT_RECORDER || o->janus_substream < 0 ||
                   o->janus_substream > 2 || o->data_channel)) ||
        o->fps <= 0 || o->fps > 120 || o->width < 16 || o->height < 16 || o->width > 3840 ||
        o->height > 2160 || o->video_slots < 0 || o->audio_slots < 0 ||
        o->video_slots > 49 || o->audio_slots > 49 || o->send_bitrate < 10000 ||
        (o->role == PL_CLIENT_RECORDER && o->publish != PL_PUBLISH_NONE) ||
        (o->count_only && (o->ivf_path || o->ogg_path))) {
        PL_ERROR("client", "bad client options");
        return NULL;
    }
    struct pl_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = l;
    c->o = *o;
    c->cb = cb;
    c->user = user;
    c->t_start_us = pl_now_us();
    if (copy_opts(c, o) != 0 || cl_sender_init(c) != 0 || cl_receiver_init(c) != 0) {
        pl_client_free(c);
        return NULL;
    }
    c->tick = g_timeout_source_new(TICK_MS);
    g_source_set_callback(c->tick, on_tick, c, NULL);
    g_source_attach(c->tick, l->ctx);
    cl_sig_connect(c);
    return c;
}

void pl_client_free(struct pl_client *c)
{
    if (!c)
        return;
    if (c->tick) {
        g_source_destroy(c->tick);
        g_source_unref(c->tick);
    }
    cl_sig_close(c);
    cl_janus_free(c);
    cl_transport_free(c);
    cl_sender_free(c);
    cl_receiver_free(c);
    free(c->strings);
    free(c);
}

enum pl_client_state pl_client_state(const struct pl_client *c) { return c->state; }
const char *pl_client_error(const struct pl_client *c) { return c->error; }
const char *pl_client_account(const struct pl_client *c) { return c->o.account_id; }
const struct pl_client_stats *pl_client_stats(const struct pl_client *c) { return &c->st; }

const struct pl_client_rx *pl_client_rx_streams(const struct pl_client *c, int *n)
{
    struct pl_client *m = (struct pl_client *)c; /* a snapshot buffer inside the client */
    for (int i = 0; i < c->n_rx; i++)
        m->rx_pub[i] = c->rx[i].pub;
    *n = c->n_rx;
    return m->rx_pub;
}

int pl_client_users(const struct pl_client *c, const char *const **users)
{
    struct pl_client *m = (struct pl_client *)c;
    for (int i = 0; i < c->n_users; i++)
        m->user_ptrs[i] = c->users[i];
    *users = m->user_ptrs;
    return c->n_users;
}

int pl_client_delay_bucket(uint64_t us)
{
    if (us < 100000)
        return (int)(us / 100);
    if (us < 2000000)
        return 1000 + (int)((us - 100000) / 1000);
    return PL_CLIENT_DELAY_BUCKETS;
}

/* The middle of a bucket, in ms. */
static double bucket_ms(int i)
{
    if (i < 1000)
        return (i + 0.5) * 0.1;
    if (i < PL_CLIENT_DELAY_BUCKETS)
        return 100.0 + (i - 1000) + 0.5;
    return 2000.0;
}

double pl_client_delay_percentile(const struct pl_client_stats *s, double pct)
{
    if (!s->delay_count)
        return -1;
    /* Nearest rank: the ceil(pct% of n)-th sample (1-based). */
    double rank = ceil((double)s->delay_count * pct / 100.0);
    uint64_t want = rank < 1 ? 0 : (uint64_t)rank - 1;
    if (want >= s->delay_count)
        want = s->delay_count - 1;
    uint64_t seen = 0;
    for (int i = 0; i <= PL_CLIENT_DELAY_BUCKETS; i++) {
        seen += s->delay_hist[i];
        if (seen > want)
            return bucket_ms(i);
    }
    return bucket_ms(PL_CLIENT_DELAY_BUCKETS);
}
