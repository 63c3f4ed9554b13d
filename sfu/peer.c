/* Peers on a worker: creation from the main thread's spec, address bookkeeping,
 * the DTLS handshake that yields SRTP keys, and binding slots to tracks. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "parley/hashmap.h"
#include "parley/log.h"
#include "parley/time.h"
#include "worker_int.h"

socklen_t pl_sockaddr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

uint64_t pl_addr_key(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return ((uint64_t)in->sin_addr.s_addr << 16) | in->sin_port;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    uint8_t k[18];
    memcpy(k, &in6->sin6_addr, 16);
    memcpy(k + 16, &in6->sin6_port, 2);
    return pl_hash_bytes(k, sizeof k) | (1ull << 63);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    return memcmp(a, b, pl_sockaddr_len(b)) == 0;
}

struct pl_peer *pl_peer_by_addr(struct pl_worker *w, const struct sockaddr *sa)
{
    return pl_map_get(&w->peers_by_addr, pl_addr_key(sa));
}

static void post_event(struct pl_peer *p, int type, const char *reason)
{
    struct pl_worker_event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return;
    ev->hdr.type = type;
    ev->worker = p->w->cfg.index;
    ev->peer_id = p->id;
    snprintf(ev->reason, sizeof ev->reason, "%s", reason ? reason : "");
    if (pl_mailbox_post(p->w->cfg.events, &ev->hdr) != 0)
        free(ev);
}

void pl_peer_learn_addr(struct pl_peer *p, const struct sockaddr *sa, bool nominate)
{
    uint64_t key = pl_addr_key(sa);
    struct pl_peer *other = pl_map_get(&p->w->peers_by_addr, key);
    if (other != p) {
        if (other) /* an address moved between peers (NAT rebinding on loopback tests) */
            for (int i = 0; i < other->n_addr_keys; i++)
                if (other->addr_keys[i] == key)
                    other->addr_keys[i] = other->addr_keys[--other->n_addr_keys];
        if (p->n_addr_keys == (int)(sizeof p->addr_keys / sizeof p->addr_keys[0])) {
            pl_map_remove(&p->w->peers_by_addr, p->addr_keys[0]);
            memmove(p->addr_keys, p->addr_keys + 1, sizeof p->addr_keys - sizeof p->addr_keys[0]);
            p->n_addr_keys--;
        }
        p->addr_keys[p->n_addr_keys++] = key;
        pl_map_put(&p->w->peers_by_addr, key, p);
    }
    if ((nominate || !p->has_addr) && !same_addr(&p->addr, sa)) {
        memcpy(&p->addr, sa, pl_sockaddr_len(sa));
        p->addr_len = pl_sockaddr_len(sa);
        p->has_addr = true;
        char ip[64] = "?";
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
        else
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
        PL_INFO("ice", "peer %u: %s %s:%u", p->id, nominate ? "nominated" : "first check from", ip,
                ntohs(((const struct sockaddr_in *)sa)->sin_port));
    }
    if (p->state == PL_PEER_NEW)
        p->state = PL_PEER_CHECKING;
}

/* ---- DTLS ---- */

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    struct pl_peer *p = user;
    if (len > PL_PKT_BUF)
        return;
    uint8_t *buf = pl_out_buf(p->w);
    if (!buf)
        return;
    memcpy(buf, data, len);
    pl_out_queue(p->w, p, buf, len);
}

static void dtls_data(void *user, const uint8_t *data, size_t len)
{
    struct pl_peer *p = user;
    pl_peer_dc_input(p, data, len); /* SCTP of the data channels; nothing else rides on DTLS */
}

static void arm_dtls_timer(struct pl_peer *p);

static void on_dtls_timer(uv_timer_t *t)
{
    struct pl_peer *p = t->data;
    if (!p->dtls)
        return;
    if (pl_dtls_on_timeout(p->dtls) == PL_DTLS_FAILED) {
        pl_peer_fail(p, "DTLS handshake timed out");
        return;
    }
    arm_dtls_timer(p);
}

static void arm_dtls_timer(struct pl_peer *p)
{
    int64_t ms = p->dtls ? pl_dtls_timeout_ms(p->dtls) : -1;
    if (ms < 0)
        uv_timer_stop(&p->dtls_timer);
    else
        uv_timer_start(&p->dtls_timer, on_dtls_timer, (uint64_t)ms + 1, 0);
}

static void on_connected(struct pl_peer *p)
{
    struct pl_srtp_keys keys;
    if (pl_dtls_srtp_keys(p->dtls, &keys) != 0 || pl_srtp_init(&p->srtp, &keys) != 0) {
        pl_peer_fail(p, "no SRTP keys from DTLS");
        return;
    }
    p->srtp_ready = true;
    p->state = PL_PEER_CONNECTED;
    PL_INFO("dtls", "peer %u: DTLS-SRTP connected (%s)", p->id,
            keys.profile == PL_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80");
    pl_peer_dc_start(p);
    /* The new subscriber needs keyframes from everything bound to its slots. */
    for (int i = 0; i < p->n_slots; i++)
        if (p->slots[i].source)
            pl_request_keyframe(p->slots[i].source, p->slots[i].target, true);
    post_event(p, PL_EV_PEER_CONNECTED, NULL);
}

void pl_peer_on_dtls(struct pl_peer *p, const uint8_t *data, size_t len)
{
    if (!p->dtls || p->state == PL_PEER_FAILED)
        return;
    enum pl_dtls_state st = pl_dtls_feed(p->dtls, data, len);
    if (st == PL_DTLS_FAILED) {
        pl_peer_fail(p, "DTLS handshake failed");
        return;
    }
    if (st == PL_DTLS_CONNECTED && !p->srtp_ready)
        on_connected(p);
    if (p->state != PL_PEER_FAILED)
        arm_dtls_timer(p);
}

/* ---- lifecycle ---- */

struct pl_peer *pl_peer_create(struct pl_worker *w, const struct pl_peer_spec *spec)
{
    if (pl_map_get(&w->peers_by_id, spec->peer_id))
        return NULL;
    struct pl_peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->w = w;
    p->id = spec->peer_id;
    memcpy(p->local_ufrag, spec->local_ufrag, sizeof p->local_ufrag);
    memcpy(p->local_pwd, spec->local_pwd, sizeof p->local_pwd);
    memcpy(p->remote_ufrag, spec->remote_ufrag, sizeof p->remote_ufrag);
    memcpy(p->remote_fp, spec->remote_fp, sizeof p->remote_fp);
    memcpy(p->ext_id, spec->ext_id, sizeof p->ext_id);
    p->created_ms = pl_now_ms();
    p->rtcp_ssrc = 0x50000000u | (spec->peer_id & 0x0fffffffu);
    p->n_tracks = spec->n_publish < PL_MAX_PUBLISH_TRACKS ? spec->n_publish : PL_MAX_PUBLISH_TRACKS;
    for (int i = 0; i < p->n_tracks; i++) {
        p->tracks[i].owner = p;
        p->tracks[i].spec = spec->publish[i];
    }
    if (spec->n_slots > 0) {
        p->slots = calloc((size_t)spec->n_slots, sizeof *p->slots);
        if (!p->slots) {
            free(p);
            return NULL;
        }
    }
    p->n_slots = spec->n_slots;
    for (int i = 0; i < p->n_slots; i++) {
        p->slots[i].owner = p;
        p->slots[i].index = i;
        p->slots[i].spec = spec->slots[i];
    }
    p->rec = spec->recorder;
    p->wants_dc = spec->data_channel;
    p->chat_sid = -1;
    p->meeting_key = spec->meeting_key;
    memcpy(p->account_id, spec->account_id, sizeof p->account_id);
    p->dtls = p->rec ? NULL
                     : pl_dtls_new(w->dtls_ctx, spec->dtls_server, p->remote_fp, dtls_send, dtls_data, p);
    if (!p->dtls && !p->rec) {
        free(p->slots);
        free(p);
        return NULL;
    }
    /* Optional helpers: without them the peer still works (no resends, no feedback). */
    for (int i = 0; i < p->n_tracks; i++) {
        struct pl_track *t = &p->tracks[i];
        t->n_layers = t->spec.n_rids > 0 ? t->spec.n_rids : 1;
        if (t->n_layers > PL_MAX_LAYERS)
            t->n_layers = PL_MAX_LAYERS;
        if (t->spec.n_rids == 0) {
            t->layers[0].ssrc = t->spec.ssrc;
            t->layers[0].rtx_ssrc = t->spec.rtx_ssrc;
        }
        for (int l = 0; l < t->n_layers && t->spec.kind == PL_MEDIA_VIDEO; l++) {
            struct pl_layer *ly = &t->layers[l];
            if ((ly->ring = calloc(1, sizeof *ly->ring)) &&
                pl_rtx_ring_init(ly->ring, PL_RTX_RING_PACKETS, PL_RTX_RING_MS) != 0) {
                free(ly->ring);
                ly->ring = NULL;
            }
            if ((ly->nack = malloc(sizeof *ly->nack)))
                pl_nack_gen_init(ly->nack);
        }
    }
    if (p->ext_id[PL_EXT_TRANSPORT_CC] && p->n_tracks > 0 && (p->twcc = malloc(sizeof *p->twcc)))
        pl_twcc_recv_init(p->twcc, p->rtcp_ssrc, p->tracks[0].spec.ssrc);
    /* Without transport-cc, REMB is how a publisher learns it may send more. */
    for (int i = 0; i < p->n_tracks && !p->twcc; i++)
        p->remb |= p->tracks[i].spec.kind == PL_MEDIA_VIDEO && p->tracks[i].spec.fb_remb;
    uv_timer_init(&w->loop, &p->dtls_timer);
    p->dtls_timer.data = p;
    pl_map_put(&w->peers_by_id, p->id, p);
    pl_map_put(&w->peers_by_ufrag, pl_hash_bytes(p->local_ufrag, strlen(p->local_ufrag)), p);
    w->stats.peers++;
    if (p->rec) {
        /* No network to set up: the recorder is connected from the start. */
        p->state = PL_PEER_CONNECTED;
        post_event(p, PL_EV_PEER_CONNECTED, NULL);
    } else if (!spec->dtls_server) {
        pl_dtls_start(p->dtls); /* goes out once ICE has an address */
    }
    PL_INFO("worker", "worker %d: peer %u added (%d tracks, %d slots)", w->cfg.index, p->id,
            p->n_tracks, p->n_slots);
    return p;
}

static void track_remove_consumer(struct pl_track *t, struct pl_slot *s)
{
    for (int i = 0; i < t->n_consumers; i++)
        if (t->consumers[i] == s) {
            t->consumers[i] = t->consumers[--t->n_consumers];
            return;
        }
}

static int track_add_consumer(struct pl_track *t, struct pl_slot *s)
{
    if (t->n_consumers == t->cap_consumers) {
        int cap = t->cap_consumers ? t->cap_consumers * 2 : 8;
        struct pl_slot **c = realloc(t->consumers, (size_t)cap * sizeof *c);
        if (!c)
            return -1;
        t->consumers = c;
        t->cap_consumers = cap;
    }
    t->consumers[t->n_consumers++] = s;
    return 0;
}

static struct pl_track *track_of_kind(struct pl_peer *pub, enum pl_media_kind kind)
{
    for (int i = 0; i < pub->n_tracks; i++)
        if (pub->tracks[i].spec.kind == kind)
            return &pub->tracks[i];
    return NULL;
}

void pl_peer_bind_slot(struct pl_peer *sub, int slot, struct pl_peer *pub, int64_t bitrate)
{
    if (slot < 0 || slot >= sub->n_slots)
        return;
    struct pl_slot *s = &sub->slots[slot];
    struct pl_track *t = pub ? track_of_kind(pub, s->spec.kind) : NULL;
    s->bitrate = bitrate;
    if (s->source == t) {
        if (t)
            pl_slot_retarget(s); /* only the bitrate changed */
        return;
    }
    if (s->source)
        track_remove_consumer(s->source, s);
    s->source = NULL;
    pl_rewrite_switch(&s->rw);
    if (sub->rec)
        pl_rec_sink_source_changed(s);
    if (t && track_add_consumer(t, s) == 0) {
        s->source = t;
        /* Video starts at a keyframe of the chosen layer; audio at once. */
        s->layer = t->spec.kind == PL_MEDIA_VIDEO ? -1 : 0;
        s->target = pl_slot_choose_layer(s); /* within the subscriber's downlink, if limited */
        pl_vp8_rewriter_switch(&s->vp8);
        if (sub->srtp_ready || sub->rec)
            pl_request_keyframe(t, s->target, true);
    }
    PL_DEBUG("worker", "peer %u slot %d (mid %s) <- peer %u", sub->id, slot, s->spec.mid,
             pub ? pub->id : 0);
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

void pl_peer_destroy(struct pl_peer *p)
{
    struct pl_worker *w = p->w;
    /* Unhook from every slot that takes our tracks, and our slots from their tracks. */
    for (int i = 0; i < p->n_tracks; i++) {
        struct pl_track *t = &p->tracks[i];
        for (int j = 0; j < t->n_consumers; j++) {
            t->consumers[j]->source = NULL;
            pl_rewrite_switch(&t->consumers[j]->rw);
            if (t->consumers[j]->owner->rec)
                pl_rec_sink_source_changed(t->consumers[j]); /* the participant left */
        }
        free(t->consumers);
        for (int l = 0; l < t->n_layers; l++) {
            if (t->layers[l].ring) {
                pl_rtx_ring_free(t->layers[l].ring);
                free(t->layers[l].ring);
            }
            free(t->layers[l].nack);
        }
    }
    free(p->twcc);
    for (int i = 0; i < p->n_slots; i++)
        if (p->slots[i].source)
            track_remove_consumer(p->slots[i].source, &p->slots[i]);
    /* Queued datagrams hold a copy of the address, not p: they may still go out. */
    for (int i = 0; i < p->n_addr_keys; i++)
        if (pl_map_get(&w->peers_by_addr, p->addr_keys[i]) == p)
            pl_map_remove(&w->peers_by_addr, p->addr_keys[i]);
    uint64_t ukey = pl_hash_bytes(p->local_ufrag, strlen(p->local_ufrag));
    if (pl_map_get(&w->peers_by_ufrag, ukey) == p)
        pl_map_remove(&w->peers_by_ufrag, ukey);
    pl_map_remove(&w->peers_by_id, p->id);
    pl_peer_dc_free(p); /* before DTLS: an ABORT would go there */
    if (p->dtls) {
        if (p->state == PL_PEER_CONNECTED)
            pl_dtls_close(p->dtls);
        pl_dtls_free(p->dtls);
    }
    if (p->srtp_ready)
        pl_srtp_free(&p->srtp);
    w->stats.peers--;
    free(p->slots);
    PL_INFO("worker", "worker %d: peer %u removed", w->cfg.index, p->id);
    if (p->rec)
        post_event(p, PL_EV_RECORDER_DETACHED, NULL); /* the recording may be stopped now */
    /* The timer handle is inside p: free p once libuv has closed it. */
    p->dtls_timer.data = p;
    uv_close((uv_handle_t *)&p->dtls_timer, free_on_close);
}

void pl_peer_fail(struct pl_peer *p, const char *reason)
{
    if (p->state == PL_PEER_FAILED)
        return;
    p->state = PL_PEER_FAILED;
    uv_timer_stop(&p->dtls_timer);
    PL_WARN("worker", "peer %u failed: %s", p->id, reason);
    post_event(p, PL_EV_PEER_FAILED, reason);
}
