/* Which feed goes into which slot. Audio is automatic: every participant's microphone goes
 * into a free audio slot of everyone else. Video follows SUBSCRIBE / UNSUBSCRIBE / UNSUB_SUB,
 * applied all or nothing; a slot freed by an unsubscription is reused first by the
 * subscriptions of the same packet, so the client's track simply changes source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "parley/worker.h"
#include "sig_int.h"

static void post_bind(struct pl_signaling *s, struct pl_participant *sub, int slot,
                      struct pl_participant *pub, int64_t bitrate)
{
    struct pl_cmd_bind *b = calloc(1, sizeof *b);
    if (!b)
        return;
    b->hdr.type = PL_CMD_SLOT_BIND;
    b->subscriber_id = sub->peer_id;
    b->slot = slot;
    b->publisher_id = pub ? pub->peer_id : 0;
    b->bitrate = bitrate;
    if (pub)
        snprintf(b->publisher_name, sizeof b->publisher_name, "%s", pub->account_id);
    if (pl_worker_post(s->node->workers[sub->meeting->worker], &b->hdr) != 0)
        free(b);
}

void pl_slots_send(struct pl_participant *p)
{
    if (!p->conn)
        return;
    json_t *slots = json_array();
    for (int i = 0; i < p->n_slots; i++) {
        struct pl_slot_state *st = &p->slots[i];
        if (!st->feed)
            continue;
        json_array_append_new(slots, json_pack("{s:s, s:s, s:s}", "mid", st->mid, "kind",
                                               st->kind == PL_MEDIA_AUDIO ? "audio" : "video",
                                               "account_id", st->feed->account_id));
    }
    json_t *pkt = pl_sig_packet(p->meeting->id, "SLOTS");
    json_object_set_new(pkt, "slots", slots);
    pl_conn_send_json(p->conn, pkt);
}

static int slot_fed_by(const struct pl_participant *sub, const struct pl_participant *pub,
                       enum pl_media_kind kind)
{
    for (int i = 0; i < sub->n_slots; i++)
        if (sub->slots[i].feed == pub && sub->slots[i].kind == kind)
            return i;
    return -1;
}

/* Puts pub's stream of `kind` into a free slot of sub; false when none is free. */
static bool take_free_slot(struct pl_signaling *s, struct pl_participant *sub,
                           struct pl_participant *pub, enum pl_media_kind kind, int64_t bitrate)
{
    for (int i = 0; i < sub->n_slots; i++) {
        struct pl_slot_state *st = &sub->slots[i];
        if (st->kind == kind && !st->feed) {
            st->feed = pub;
            st->bitrate = bitrate;
            post_bind(s, sub, i, pub, bitrate);
            return true;
        }
    }
    return false;
}

/* Gives every audio publisher a free audio slot in every other participant that has none for
 * it yet, and the node's own recorder every video publisher's top layer too; tells those
 * whose table changed. */
static void assign_audio(struct pl_signaling *s, struct pl_meeting *m)
{
    for (struct pl_participant *sub = m->parts; sub; sub = sub->next) {
        if (!sub->peer_id)
            continue;
        bool changed = false;
        for (struct pl_participant *pub = m->parts; pub; pub = pub->next) {
            if (pub == sub || !pub->peer_id)
                continue;
            if (pub->publishes[PL_MEDIA_AUDIO] && slot_fed_by(sub, pub, PL_MEDIA_AUDIO) < 0)
                changed |= take_free_slot(s, sub, pub, PL_MEDIA_AUDIO, 0);
            if (sub->recording && pub->publishes[PL_MEDIA_VIDEO] &&
                slot_fed_by(sub, pub, PL_MEDIA_VIDEO) < 0)
                changed |= take_free_slot(s, sub, pub, PL_MEDIA_VIDEO, PL_REC_BITRATE);
        }
        if (changed)
            pl_slots_send(sub);
    }
}

void pl_slots_media_ready(struct pl_signaling *s, struct pl_participant *p)
{
    struct pl_meeting *m = p->meeting;
    /* Video subscriptions made to p before its offer can be bound now. */
    for (struct pl_participant *o = m->parts; o; o = o->next) {
        if (o == p || !o->peer_id)
            continue;
        for (int i = 0; i < o->n_slots; i++)
            if (o->slots[i].feed == p && o->slots[i].kind == PL_MEDIA_VIDEO)
                post_bind(s, o, i, p, o->slots[i].bitrate);
    }
    assign_audio(s, m);
}

void pl_slots_forget(struct pl_signaling *s, struct pl_participant *gone)
{
    struct pl_meeting *m = gone->meeting;
    for (struct pl_participant *o = m->parts; o; o = o->next) {
        bool changed = false;
        for (int i = 0; i < o->n_slots; i++)
            if (o->slots[i].feed == gone) {
                o->slots[i].feed = NULL; /* the worker unbinds when gone's peer is removed */
                o->slots[i].bitrate = 0;
                changed = true;
            }
        if (changed)
            pl_slots_send(o);
    }
    assign_audio(s, m); /* someone waiting for an audio slot may get the freed one */
}

static struct pl_participant *find_account(struct pl_meeting *m, const char *account)
{
    for (struct pl_participant *p = m->parts; p; p = p->next)
        if (p->role != PL_ROLE_RECORDER && strcmp(p->account_id, account) == 0)
            return p;
    return NULL;
}

int pl_slots_change(struct pl_signaling *s, struct pl_participant *p,
                    const struct pl_sub_entry *unsub, int n_unsub,
                    const struct pl_sub_entry *sub, int n_sub, char *err, size_t errlen)
{
    struct pl_meeting *m = p->meeting;
    if (!p->peer_id) {
        snprintf(err, errlen, "subscriptions need the OFFER first: the slots come from the offer");
        return -1;
    }
    /* Work on a copy of the video feeds; nothing changes unless everything checks out. */
    int n = p->n_slots;
    struct pl_participant **feed = calloc((size_t)(n ? n : 1), sizeof *feed);
    int64_t *rate = calloc((size_t)(n ? n : 1), sizeof *rate);
    int *freed = calloc((size_t)(n_unsub ? n_unsub : 1), sizeof *freed);
    int n_freed = 0, rc = -1, video_slots = 0, subscribed = 0;
    if (!feed || !rate || !freed) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        feed[i] = p->slots[i].feed;
        rate[i] = p->slots[i].bitrate;
        if (p->slots[i].kind == PL_MEDIA_VIDEO) {
            video_slots++;
            subscribed += feed[i] != NULL;
        }
    }
    for (int k = 0; k < n_unsub; k++) {
        struct pl_participant *q = find_account(m, unsub[k].account_id);
        int i = -1;
        for (int j = 0; q && j < n; j++)
            if (feed[j] == q && p->slots[j].kind == PL_MEDIA_VIDEO)
                i = j;
        if (i < 0) {
            snprintf(err, errlen, "not subscribed to \"%s\"", unsub[k].account_id);
            goto out;
        }
        feed[i] = NULL;
        rate[i] = 0;
        freed[n_freed++] = i;
        subscribed--;
    }
    /* The limit first: it is the error a client over it needs to see. */
    int limit = p->role == PL_ROLE_RECORDER ? PL_MAX_RECORDER_SUBS : PL_MAX_VIDEO_SUBS;
    int adding = 0;
    for (int k = 0; k < n_sub; k++) {
        struct pl_participant *q = find_account(m, sub[k].account_id);
        bool have = false;
        for (int j = 0; q && j < n; j++)
            have |= feed[j] == q && p->slots[j].kind == PL_MEDIA_VIDEO;
        adding += !have;
    }
    if (subscribed + adding > limit) {
        snprintf(err, errlen, "too many subscriptions: at most %d video feeds", limit);
        goto out;
    }
    int next_freed = 0;
    for (int k = 0; k < n_sub; k++) {
        struct pl_participant *q = find_account(m, sub[k].account_id);
        if (!q) {
            snprintf(err, errlen, "no participant \"%s\" in the meeting", sub[k].account_id);
            goto out;
        }
        if (q == p) {
            snprintf(err, errlen, "cannot subscribe to yourself");
            goto out;
        }
        int i = -1;
        for (int j = 0; j < n && i < 0; j++)
            if (feed[j] == q && p->slots[j].kind == PL_MEDIA_VIDEO)
                i = j; /* already subscribed: new bitrate */
        while (i < 0 && next_freed < n_freed) {
            int j = freed[next_freed++];
            if (!feed[j])
                i = j;
        }
        for (int j = 0; j < n && i < 0; j++)
            if (!feed[j] && p->slots[j].kind == PL_MEDIA_VIDEO)
                i = j;
        if (i < 0) {
            snprintf(err, errlen, "no free video slot: the offer has %d video slots", video_slots);
            goto out;
        }
        feed[i] = q;
        rate[i] = sub[k].bitrate;
    }
    /* Everything checks out: apply, and bind what changed. */
    for (int i = 0; i < n; i++) {
        if (p->slots[i].kind != PL_MEDIA_VIDEO)
            continue;
        /* A new feed, or the same feed at another bitrate (the worker picks the layer). */
        if (p->slots[i].feed == feed[i] && p->slots[i].bitrate == rate[i])
            continue;
        p->slots[i].bitrate = rate[i];
        p->slots[i].feed = feed[i];
        post_bind(s, p, i, feed[i] && feed[i]->peer_id ? feed[i] : NULL, rate[i]);
    }
    rc = 0;
out:
    free(feed);
    free(rate);
    free(freed);
    return rc;
}
