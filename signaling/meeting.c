/* Meetings on the main thread: who is in, which worker carries the meeting, and which feed
 * sits in which slot of each subscriber. For now every participant receives every other
 * participant's audio and video, in the first free slots (SUBSCRIBE comes later). */
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "parley/worker.h"
#include "sig_int.h"

static struct pl_meeting *find_meeting(struct pl_signaling *s, const char *id)
{
    for (struct pl_meeting *m = s->meetings; m; m = m->next)
        if (strcmp(m->id, id) == 0)
            return m;
    return NULL;
}

/* The worker carrying the fewest meetings takes a new one. */
static int pick_worker(struct pl_signaling *s)
{
    int n = s->node->n_workers;
    int best = 0, best_count = -1;
    for (int w = 0; w < n; w++) {
        int count = 0;
        for (struct pl_meeting *m = s->meetings; m; m = m->next)
            count += m->worker == w;
        if (best_count < 0 || count < best_count) {
            best = w;
            best_count = count;
        }
    }
    return best;
}

static void broadcast(struct pl_meeting *m, struct pl_participant *except, json_t *pkt)
{
    for (struct pl_participant *p = m->parts; p; p = p->next)
        if (p != except && p->conn)
            pl_conn_send_json(p->conn, json_incref(pkt));
    json_decref(pkt);
}

struct pl_participant *pl_meeting_join(struct pl_signaling *s, struct pl_conn *c,
                                       const char *meeting_id, const char *account_id,
                                       const char **why)
{
    struct pl_meeting *m = find_meeting(s, meeting_id);
    if (m)
        for (struct pl_participant *p = m->parts; p; p = p->next)
            if (strcmp(p->account_id, account_id) == 0) {
                *why = "this account is already in the meeting";
                return NULL;
            }
    if (!m) {
        m = calloc(1, sizeof *m);
        if (!m) {
            *why = "out of memory";
            return NULL;
        }
        snprintf(m->id, sizeof m->id, "%s", meeting_id);
        m->worker = pick_worker(s);
        m->next = s->meetings;
        s->meetings = m;
        PL_INFO("meeting", "meeting %s starts on worker %d", m->id, m->worker);
    }
    struct pl_participant *p = calloc(1, sizeof *p);
    if (!p) {
        *why = "out of memory";
        return NULL;
    }
    p->meeting = m;
    p->conn = c;
    snprintf(p->account_id, sizeof p->account_id, "%s", account_id);

    json_t *users = json_array();
    for (struct pl_participant *o = m->parts; o; o = o->next)
        json_array_append_new(users, json_string(o->account_id));
    json_t *list = pl_sig_packet(m->id, "MEETING_USERS");
    json_object_set_new(list, "users", users);
    pl_conn_send_json(c, list);

    json_t *join = pl_sig_packet(m->id, "JOIN");
    json_object_set_new(join, "account_id", json_string(account_id));
    broadcast(m, NULL, join);

    p->next = m->parts;
    m->parts = p;
    m->n_parts++;
    c->part = p;
    PL_INFO("meeting", "%s joined meeting %s (%d in)", account_id, m->id, m->n_parts);
    return p;
}

void pl_meeting_send_slots(struct pl_participant *p)
{
    if (!p->conn || p->meeting == NULL)
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

static void post_bind(struct pl_signaling *s, struct pl_meeting *m, uint32_t sub, int slot,
                      uint32_t pub)
{
    struct pl_cmd_bind *b = calloc(1, sizeof *b);
    if (!b)
        return;
    b->hdr.type = PL_CMD_SLOT_BIND;
    b->subscriber_id = sub;
    b->slot = slot;
    b->publisher_id = pub;
    if (pl_worker_post(s->node->workers[m->worker], &b->hdr) != 0)
        free(b);
}

static bool has_feed(const struct pl_participant *sub, const struct pl_participant *pub,
                     enum pl_media_kind kind)
{
    for (int i = 0; i < sub->n_slots; i++)
        if (sub->slots[i].feed == pub && sub->slots[i].kind == kind)
            return true;
    return false;
}

/* Puts every publisher that a subscriber does not receive yet into a free slot. */
static void assign_all(struct pl_signaling *s, struct pl_meeting *m)
{
    for (struct pl_participant *sub = m->parts; sub; sub = sub->next) {
        if (!sub->peer_id)
            continue;
        bool changed = false;
        for (struct pl_participant *pub = m->parts; pub; pub = pub->next) {
            if (pub == sub || !pub->peer_id)
                continue;
            for (int kind = PL_MEDIA_AUDIO; kind <= PL_MEDIA_VIDEO; kind++) {
                if (!pub->publishes[kind] || has_feed(sub, pub, kind))
                    continue;
                for (int i = 0; i < sub->n_slots; i++) {
                    struct pl_slot_state *st = &sub->slots[i];
                    if (st->kind == (enum pl_media_kind)kind && !st->feed) {
                        st->feed = pub;
                        post_bind(s, m, sub->peer_id, i, pub->peer_id);
                        changed = true;
                        break;
                    }
                }
            }
        }
        if (changed)
            pl_meeting_send_slots(sub);
    }
}

void pl_meeting_media_ready(struct pl_signaling *s, struct pl_participant *p)
{
    assign_all(s, p->meeting);
}

void pl_meeting_leave(struct pl_signaling *s, struct pl_participant *p)
{
    struct pl_meeting *m = p->meeting;
    if (p->peer_id) {
        struct pl_cmd_peer *rm = calloc(1, sizeof *rm);
        if (rm) {
            rm->hdr.type = PL_CMD_PEER_REMOVE;
            rm->peer_id = p->peer_id;
            if (pl_worker_post(s->node->workers[m->worker], &rm->hdr) != 0)
                free(rm);
        }
        pl_map_remove(&s->peers, p->peer_id);
    }
    /* Unlink, then free the slots others had given to this participant. */
    for (struct pl_participant **pp = &m->parts; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    m->n_parts--;
    for (struct pl_participant *o = m->parts; o; o = o->next) {
        bool changed = false;
        for (int i = 0; i < o->n_slots; i++)
            if (o->slots[i].feed == p) {
                o->slots[i].feed = NULL; /* the worker unbinds when the peer goes */
                changed = true;
            }
        if (changed && !s->stopping)
            pl_meeting_send_slots(o);
    }
    PL_INFO("meeting", "%s left meeting %s (%d in)", p->account_id, m->id, m->n_parts);
    if (!s->stopping) {
        json_t *leave = pl_sig_packet(m->id, "LEAVE");
        json_object_set_new(leave, "account_id", json_string(p->account_id));
        broadcast(m, NULL, leave);
        assign_all(s, m); /* someone waiting for a slot may get the freed one */
    }
    if (p->conn)
        p->conn->part = NULL;
    free(p->slots);
    free(p);
    if (m->n_parts == 0) {
        for (struct pl_meeting **mp = &s->meetings; *mp; mp = &(*mp)->next)
            if (*mp == m) {
                *mp = m->next;
                break;
            }
        PL_INFO("meeting", "meeting %s is empty and closes", m->id);
        free(m);
    }
}

void pl_signaling_on_worker_event(struct pl_signaling *s, const struct pl_worker_event *ev)
{
    struct pl_participant *p = pl_map_get(&s->peers, ev->peer_id);
    if (!p)
        return;
    switch (ev->hdr.type) {
    case PL_EV_PEER_CONNECTED:
        p->connected = true;
        PL_INFO("meeting", "%s in meeting %s: media connected", p->account_id, p->meeting->id);
        break;
    case PL_EV_PEER_FAILED: {
        struct pl_conn *c = p->conn;
        PL_WARN("meeting", "%s in meeting %s: media failed: %s", p->account_id, p->meeting->id,
                ev->reason);
        if (c) {
            pl_sig_send_error(c, p->meeting->id, "media connection failed: %s", ev->reason);
            pl_meeting_leave(s, p);
            pl_conn_close(c);
        }
        break;
    }
    default:
        break;
    }
}
