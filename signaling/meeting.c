/* Meetings on the main thread: start (INIT), membership and its relays (JOIN, LEAVE,
 * MEETING_USERS, RECORDING), END, forgetting old meetings, and the active speaker. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/log.h"
#include "parley/time.h"
#include "parley/worker.h"
#include "sig_int.h"

struct pl_meeting *pl_meeting_find(struct pl_signaling *s, const char *id)
{
    for (struct pl_meeting *m = s->meetings; m; m = m->next)
        if (strcmp(m->id, id) == 0)
            return m;
    return NULL;
}

/* The worker carrying the fewest live meetings takes a new one. */
static int pick_worker(struct pl_signaling *s)
{
    int best = 0, best_count = -1;
    for (int w = 0; w < s->node->n_workers; w++) {
        int count = 0;
        for (struct pl_meeting *m = s->meetings; m; m = m->next)
            count += !m->ended && m->worker == w;
        if (best_count < 0 || count < best_count) {
            best = w;
            best_count = count;
        }
    }
    return best;
}

struct pl_meeting *pl_meeting_start(struct pl_signaling *s, const char *id)
{
    struct pl_meeting *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    snprintf(m->id, sizeof m->id, "%s", id);
    m->worker = pick_worker(s);
    m->next = s->meetings;
    s->meetings = m;
    PL_INFO("meeting", "meeting %s starts on worker %d", m->id, m->worker);
    return m;
}

void pl_meeting_broadcast(struct pl_meeting *m, struct pl_participant *except, json_t *pkt)
{
    for (struct pl_participant *p = m->parts; p; p = p->next)
        if (p != except && p->conn)
            pl_conn_send_json(p->conn, json_incref(pkt));
    json_decref(pkt);
}

static json_t *recording_packet(struct pl_meeting *m, bool on)
{
    json_t *pkt = pl_sig_packet(m->id, "RECORDING");
    json_object_set_new(pkt, "recording", json_boolean(on));
    return pkt;
}

static json_t *speaker_packet(struct pl_meeting *m)
{
    json_t *pkt = pl_sig_packet(m->id, "ACTIVE_SPEAKER");
    json_object_set_new(pkt, "account_id", json_string(m->speaker->account_id));
    return pkt;
}

struct pl_participant *pl_meeting_add(struct pl_signaling *s, struct pl_meeting *m,
                                      struct pl_conn *c, const char *account_id,
                                      enum pl_role role)
{
    struct pl_participant *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->meeting = m;
    p->conn = c;
    p->role = role;
    snprintf(p->account_id, sizeof p->account_id, "%s", account_id);

    /* Who else is in: the recorder is a ghost and never listed. */
    json_t *users = json_array();
    for (struct pl_participant *o = m->parts; o; o = o->next)
        if (o->role != PL_ROLE_RECORDER)
            json_array_append_new(users, json_string(o->account_id));
    json_t *list = pl_sig_packet(m->id, "MEETING_USERS");
    json_object_set_new(list, "users", users);
    if (c)
        pl_conn_send_json(c, list); /* the node's own recorder has no connection */
    else
        json_decref(list);

    if (role == PL_ROLE_RECORDER) {
        m->recorder = p;
        pl_meeting_broadcast(m, NULL, recording_packet(m, true));
    } else {
        json_t *join = pl_sig_packet(m->id, "JOIN");
        json_object_set_new(join, "account_id", json_string(account_id));
        pl_meeting_broadcast(m, NULL, join);
        if (m->recorder)
            pl_conn_send_json(c, recording_packet(m, true));
        if (m->speaker)
            pl_conn_send_json(c, speaker_packet(m));
        m->n_parts++;
        pl_control_presence(s, m, account_id, true);
    }
    p->next = m->parts;
    m->parts = p;
    m->empty_since_ms = 0;
    if (c)
        c->part = p;
    PL_INFO("meeting", "%s joined meeting %s as %s (%d in)", account_id, m->id, pl_role_name(role),
            m->n_parts);
    return p;
}

static void remove_peer(struct pl_signaling *s, struct pl_participant *p)
{
    if (!p->peer_id)
        return;
    struct pl_cmd_peer *rm = calloc(1, sizeof *rm);
    if (rm) {
        rm->hdr.type = PL_CMD_PEER_REMOVE;
        rm->peer_id = p->peer_id;
        if (pl_worker_post(s->node->workers[p->meeting->worker], &rm->hdr) != 0)
            free(rm);
    }
    pl_map_remove(&s->peers, p->peer_id);
    p->peer_id = 0;
}

/* Leaves quietly when the meeting is ending or the node stopping: no relays then. */
void pl_meeting_leave(struct pl_signaling *s, struct pl_participant *p)
{
    struct pl_meeting *m = p->meeting;
    bool quiet = s->stopping || m->ended;
    remove_peer(s, p);
    for (struct pl_participant **pp = &m->parts; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (m->speaker == p)
        m->speaker = NULL;
    if (!quiet)
        pl_slots_forget(s, p);
    if (p->recording)
        pl_recording_detach(s, p);
    if (p->role == PL_ROLE_RECORDER) {
        m->recorder = NULL;
        if (!quiet)
            pl_meeting_broadcast(m, NULL, recording_packet(m, false));
    } else {
        m->n_parts--;
        if (!quiet)
            pl_control_presence(s, m, p->account_id, false);
        if (!quiet) {
            json_t *leave = pl_sig_packet(m->id, "LEAVE");
            json_object_set_new(leave, "account_id", json_string(p->account_id));
            pl_meeting_broadcast(m, NULL, leave);
        }
    }
    PL_INFO("meeting", "%s left meeting %s (%d in)", p->account_id, m->id, m->n_parts);
    if (p->conn)
        p->conn->part = NULL;
    free(p->slots);
    free(p);
    if (!m->parts)
        m->empty_since_ms = pl_now_ms();
}

/* "/meetings/{id}" with the id percent-encoded (all but unreserved characters): its length. */
size_t pl_control_meeting_path(const char *id, char *path, size_t cap)
{
    return pl_control_id_path("/meetings/", id, path, cap);
}

/* Builds the control plane's "meeting ended" callback: path and body. */
static json_t *end_callback(const struct pl_meeting *m, const char *by, char *path, size_t cap)
{
    char ended_at[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ended_at, sizeof ended_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    size_t n = pl_control_meeting_path(m->id, path, cap);
    snprintf(path + n, cap - n, "/end");
    return json_pack("{s:s, s:s, s:s}", "meeting_id", m->id, "ended_by", by, "ended_at", ended_at);
}

static void end_meeting(struct pl_signaling *s, struct pl_meeting *m, const char *by, bool report)
{
    PL_INFO("meeting", "meeting %s ended by %s%s", m->id, by, report ? "" : " through the control plane");
    /* Before anyone leaves: `by` belongs to a participant about to be freed. */
    char path[64 + 3 * PL_ID_MAX];
    json_t *body = report ? end_callback(m, by, path, sizeof path) : NULL;
    pl_meeting_broadcast(m, NULL, pl_sig_packet(m->id, "END"));
    m->ended = true;
    m->ended_ms = pl_now_ms();
    while (m->parts) {
        struct pl_conn *c = m->parts->conn;
        pl_meeting_leave(s, m->parts);
        if (c)
            pl_conn_close(c); /* after END has gone out */
    }
    if (body)
        pl_control_post(s, path, body);
}

void pl_meeting_end(struct pl_signaling *s, struct pl_meeting *m, const char *by)
{
    end_meeting(s, m, by, true);
}

void pl_meeting_end_quiet(struct pl_signaling *s, struct pl_meeting *m, const char *by)
{
    end_meeting(s, m, by, false);
}

static void free_meeting(struct pl_signaling *s, struct pl_meeting *m)
{
    for (struct pl_meeting **mp = &s->meetings; *mp; mp = &(*mp)->next)
        if (*mp == m) {
            *mp = m->next;
            break;
        }
    free(m);
}

static void on_sweep(uv_timer_t *t)
{
    struct pl_signaling *s = t->data;
    uint64_t now = pl_now_ms();
    struct pl_meeting *m = s->meetings;
    while (m) {
        struct pl_meeting *next = m->next;
        bool forget = m->ended ? now - m->ended_ms > PL_ENDED_MEETING_S * 1000ull
                               : !m->parts && now - m->empty_since_ms > PL_EMPTY_MEETING_S * 1000ull;
        if (forget) {
            PL_INFO("meeting", "forgetting meeting %s (%s)", m->id, m->ended ? "ended" : "empty");
            free_meeting(s, m);
        }
        m = next;
    }
}

void pl_meeting_sweep_start(struct pl_signaling *s)
{
    uv_timer_init(s->node->loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, on_sweep, 30000, 30000);
}

void pl_meeting_sweep_stop(struct pl_signaling *s)
{
    uv_timer_stop(&s->sweep);
    uv_close((uv_handle_t *)&s->sweep, NULL);
}

void pl_meeting_free_all(struct pl_signaling *s)
{
    while (s->meetings) {
        struct pl_meeting *m = s->meetings;
        while (m->parts)
            pl_meeting_leave(s, m->parts);
        free_meeting(s, m);
    }
}

/* Audio levels from a worker: the loudest participant of each meeting, with a little
 * hysteresis so that ACTIVE_SPEAKER does not flap between two close voices. */
#define PL_SPEAKER_MIN 20    /* loudness (127 - dBov) below which nobody is speaking */
#define PL_SPEAKER_MARGIN 6  /* a new speaker must be this much louder than the current one */

void pl_meeting_on_levels(struct pl_signaling *s, const struct pl_levels_event *ev)
{
    for (int i = 0; i < ev->n; i++) {
        struct pl_participant *p = pl_map_get(&s->peers, ev->levels[i].peer_id);
        if (!p || p->role == PL_ROLE_RECORDER)
            continue;
        struct pl_meeting *m = p->meeting;
        /* Find this meeting's loudest in the event and the current speaker's loudness. */
        int best = -1, best_loud = -1, cur_loud = -1;
        for (int j = 0; j < ev->n; j++) {
            struct pl_participant *q = pl_map_get(&s->peers, ev->levels[j].peer_id);
            if (!q || q->meeting != m || q->role == PL_ROLE_RECORDER)
                continue;
            if (ev->levels[j].loudness > best_loud) {
                best_loud = ev->levels[j].loudness;
                best = j;
            }
            if (q == m->speaker)
                cur_loud = ev->levels[j].loudness;
        }
        if (best != i)
            continue; /* handled when the loop reaches that meeting's loudest */
        if (best_loud < PL_SPEAKER_MIN || p == m->speaker || best_loud < cur_loud + PL_SPEAKER_MARGIN)
            continue;
        m->speaker = p;
        pl_meeting_broadcast(m, NULL, speaker_packet(m));
    }
}

void pl_signaling_on_worker_event(struct pl_signaling *s, const struct pl_worker_event *ev)
{
    if (ev->hdr.type == PL_EV_AUDIO_LEVELS) {
        pl_meeting_on_levels(s, (const struct pl_levels_event *)ev);
        return;
    }
    if (ev->hdr.type == PL_EV_RECORDER_DETACHED) {
        pl_recording_on_detached(s, ev->peer_id);
        return;
    }
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
