/* Signaling with Janus' VideoRoom plugin over Janus' WebSocket API (subprotocol
 * "janus-protocol"; docs/client.md, "Janus"). One client = one session with one handle:
 *
 *   create -> attach janus.plugin.videoroom -> [host: create room; "already exists" is fine]
 *   publisher:  join ptype publisher (id = our feed) -> "joined" -> gather -> publish with our
 *               offer (a=setup:active, rid simulcast, rid_order lmh, no trickle) -> "configured"
 *               with Janus' answer (client/answer.c).
 *   subscriber: pl_client_janus_subscribe -> join ptype subscriber with the feeds (later:
 *               subscribe) -> "attached" / "updated" with Janus' offer -> our answer with our
 *               candidates (client/remote_offer.c) in start -> "started" -> configure the
 *               substream of every video line.
 *
 * A keepalive every 25 s keeps the session (Janus drops it after 60 s of silence). The shared
 * WebSocket plumbing (queue, receive buffer) is client/signaling.c's. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "parley/janus_msg.h"
#include "parley/log.h"
#include "parley/time.h"

#define KEEPALIVE_S 25
#define ROOM_EXISTS 427

/* The transaction names say which request an answer belongs to. */
static json_t *request(struct pl_client *c, const char *janus, const char *tx)
{
    char t[64];
    snprintf(t, sizeof t, "%s-%u", tx, ++c->j_tx);
    json_t *j = json_pack("{s:s, s:s}", "janus", janus, "transaction", t);
    if (c->j_session)
        json_object_set_new(j, "session_id", json_integer((json_int_t)c->j_session));
    return j;
}

static bool tx_is(const struct pl_janus_msg *m, const char *tx)
{
    size_t n = strlen(tx);
    return strncmp(m->transaction, tx, n) == 0 && m->transaction[n] == '-';
}

/* A plugin message on our handle; body and jsep are stolen. */
static int send_body(struct pl_client *c, const char *tx, json_t *body, json_t *jsep)
{
    json_t *j = request(c, "message", tx);
    json_object_set_new(j, "handle_id", json_integer((json_int_t)c->j_handle));
    json_object_set_new(j, "body", body);
    if (jsep)
        json_object_set_new(j, "jsep", jsep);
    return cl_sig_send_json(c, j);
}

static gboolean on_keepalive(gpointer data)
{
    struct pl_client *c = data;
    if (c->j_session && c->wsi && !c->j_leaving)
        cl_sig_send_json(c, request(c, "keepalive", "ka"));
    return G_SOURCE_CONTINUE;
}

void cl_janus_on_open(struct pl_client *c)
{
    cl_sig_send_json(c, request(c, "create", "create"));
}

static void join_publisher(struct pl_client *c)
{
    json_t *b = json_pack("{s:s, s:s, s:I, s:s}", "request", "join", "ptype", "publisher", "room",
                          (json_int_t)c->o.janus_room, "display", c->o.account_id);
    if (c->o.janus_feed)
        json_object_set_new(b, "id", json_integer((json_int_t)c->o.janus_feed));
    send_body(c, "join", b, NULL);
}

static void create_room(struct pl_client *c)
{
    int pubs = c->o.janus_room_publishers > 0 ? c->o.janus_room_publishers : 50;
    /* No bitrate cap (0), VP8 and Opus only, no recording, no join notifications. */
    json_t *b = json_pack("{s:s, s:I, s:i, s:i, s:s, s:s, s:b, s:b}", "request", "create", "room",
                          (json_int_t)c->o.janus_room, "publishers", pubs, "bitrate", 0,
                          "videocodec", "vp8", "audiocodec", "opus", "record", 0, "permanent", 0);
    send_body(c, "room", b, NULL);
}

/* Attached: the host makes the room; a publisher joins; a subscriber waits for its feeds. */
static void on_attached(struct pl_client *c)
{
    if (c->o.publish == PL_PUBLISH_NONE) {
        c->joined = true;
        c->st.join_ms = (pl_now_us() - c->t_start_us) / 1000;
        cl_set_state(c, PL_CLIENT_JOINED);
        cl_ice_start(c); /* candidates ready by the time Janus offers */
        return;
    }
    if (c->o.role == PL_CLIENT_HOST)
        create_room(c);
    else
        join_publisher(c);
}

int cl_janus_send_offer(struct pl_client *c, const char *sdp)
{
    json_t *b = json_pack("{s:s, s:b, s:b}", "request", "publish", "audio", c->o.audio, "video", 1);
    /* Our rids go low to high (q, h, f); Janus' default order is high first. */
    json_t *jsep = json_pack("{s:s, s:s, s:b, s:s}", "type", "offer", "sdp", sdp, "trickle", 0,
                             "rid_order", "lmh");
    if (send_body(c, "publish", b, jsep) != 0)
        return -1;
    c->offer_sent = true;
    return 0;
}

/* Janus' offer and our candidates are both there: answer it in a start request. */
static void answer_offer(struct pl_client *c)
{
    if (!c->j_offer || !c->gathered)
        return;
    char *answer = cl_remote_offer_answer(c, c->j_offer, c->j_offer_len);
    free(c->j_offer);
    c->j_offer = NULL;
    if (!answer)
        return; /* failed with the reason */
    json_t *jsep = json_pack("{s:s, s:s, s:b}", "type", "answer", "sdp", answer, "trickle", 0);
    free(answer);
    send_body(c, "start", json_pack("{s:s}", "request", "start"), jsep);
    c->offer_sent = true;
}

void cl_janus_on_gathered(struct pl_client *c) { answer_offer(c); }

/* After start: every video line at the asked substream (Janus' default is the top one). */
static void configure_substreams(struct pl_client *c)
{
    if (!c->j_n_video_mids)
        return;
    json_t *streams = json_array();
    for (int i = 0; i < c->j_n_video_mids; i++)
        json_array_append_new(streams, json_pack("{s:s, s:i}", "mid", c->j_video_mids[i],
                                                 "substream", c->o.janus_substream));
    json_t *b = json_pack("{s:s, s:o}", "request", "configure", "streams", streams);
    send_body(c, "configure", b, NULL);
}

int pl_client_janus_subscribe(struct pl_client *c, const uint64_t *feeds, int n)
{
    if (c->o.target != PL_TARGET_JANUS || c->o.publish != PL_PUBLISH_NONE || !c->j_handle ||
        c->j_busy || n <= 0 || c->state == PL_CLIENT_FAILED || c->state == PL_CLIENT_CLOSED)
        return -1;
    json_t *streams = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(streams, json_pack("{s:I}", "feed", (json_int_t)feeds[i]));
    json_t *b;
    if (!c->j_sub_sent) {
        b = json_pack("{s:s, s:s, s:I, s:o}", "request", "join", "ptype", "subscriber", "room",
                      (json_int_t)c->o.janus_room, "streams", streams);
        c->j_sub_sent = true;
    } else {
        b = json_pack("{s:s, s:o}", "request", "subscribe", "streams", streams);
    }
    c->j_busy = true;
    return send_body(c, "subscribe", b, NULL);
}

uint64_t pl_client_janus_feed(const struct pl_client *c) { return c->j_feed; }

int cl_janus_leave(struct pl_client *c)
{
    if (!c->j_session || !c->wsi)
        return -1;
    c->j_leaving = true;
    return cl_sig_send_json(c, request(c, "destroy", "destroy"));
}

static void on_plugin(struct pl_client *c, const struct pl_janus_msg *m)
{
    if (c->j_leaving)
        return; /* e.g. offers updated as others leave: the session is being destroyed */
    if (m->error_code) {
        if (m->error_code == ROOM_EXISTS && tx_is(m, "room")) {
            join_publisher(c);
            return;
        }
        c->st.errors_received++;
        if (tx_is(m, "configure")) { /* the media still flows at Janus' default layer */
            PL_WARN("client", "%s: Janus refused configure: %s (%d)", c->o.account_id, m->error,
                    m->error_code);
            return;
        }
        cl_fail(c, "Janus VideoRoom: %s (%d)", m->error, m->error_code);
        return;
    }
    const char *vr = m->videoroom;
    if (strcmp(vr, "created") == 0) {
        join_publisher(c);
    } else if (strcmp(vr, "joined") == 0) {
        c->j_feed = m->id;
        if (!c->joined) {
            c->joined = true;
            c->st.join_ms = (pl_now_us() - c->t_start_us) / 1000;
            cl_set_state(c, PL_CLIENT_JOINED);
        }
        cl_ice_start(c); /* the offer goes out once candidates are gathered */
    } else if (strcmp(vr, "attached") == 0 || strcmp(vr, "updated") == 0) {
        if (strcmp(m->jsep_type, "offer") != 0) {
            c->j_busy = false; /* an update without a new offer: nothing to answer */
            return;
        }
        free(c->j_offer);
        c->j_offer = malloc(m->sdp_len + 1);
        if (!c->j_offer) {
            cl_fail(c, "out of memory");
            return;
        }
        memcpy(c->j_offer, m->sdp, m->sdp_len + 1);
        c->j_offer_len = m->sdp_len;
        answer_offer(c);
    } else if (m->started_ok) {
        c->j_busy = false;
        configure_substreams(c);
    } else if (m->configured_ok && strcmp(m->jsep_type, "answer") == 0) {
        if (cl_answer_apply(c, m->sdp, m->sdp_len) != 0 && c->state != PL_CLIENT_FAILED)
            cl_fail(c, "Janus' answer could not be used");
    }
    /* Other events (publishers coming and going, talking, ...) are not needed here. */
}

void cl_janus_on_message(struct pl_client *c, const char *text, size_t len)
{
    struct pl_janus_msg m;
    char err[160];
    if (pl_janus_msg_parse(text, len, &m, err, sizeof err) != 0) {
        PL_WARN("client", "%s: bad message from Janus dropped: %s", c->o.account_id, err);
        return;
    }
    switch (m.type) {
    case PL_JANUS_SUCCESS:
        if (tx_is(&m, "create") && m.data_id) {
            c->j_session = m.data_id;
            c->j_keepalive = g_timeout_source_new_seconds(KEEPALIVE_S);
            g_source_set_callback(c->j_keepalive, on_keepalive, c, NULL);
            g_source_attach(c->j_keepalive, c->loop->ctx);
            json_t *j = request(c, "attach", "attach");
            json_object_set_new(j, "plugin", json_string("janus.plugin.videoroom"));
            cl_sig_send_json(c, j);
        } else if (tx_is(&m, "attach") && m.data_id) {
            c->j_handle = m.data_id;
            on_attached(c);
        } else if (tx_is(&m, "destroy")) {
            cl_set_state(c, PL_CLIENT_CLOSED);
        } else if (m.videoroom[0] || m.error_code) {
            on_plugin(c, &m); /* synchronous plugin answers (room create) */
        }
        break;
    case PL_JANUS_EVENT:
        on_plugin(c, &m);
        break;
    case PL_JANUS_ERROR:
        c->st.errors_received++;
        if (!c->j_leaving)
            cl_fail(c, "Janus: %s (%d)", m.error, m.error_code);
        break;
    case PL_JANUS_HANGUP:
        if (!c->j_leaving)
            cl_fail(c, "Janus hung up: %s", m.reason[0] ? m.reason : "no reason given");
        break;
    case PL_JANUS_TIMEOUT:
        cl_fail(c, "Janus timed the session out");
        break;
    case PL_JANUS_DETACHED:
        if (!c->j_leaving)
            cl_fail(c, "Janus detached the handle");
        break;
    default: /* ack, webrtcup, media, slowlink, keepalive acks */
        break;
    }
    pl_janus_msg_free(&m);
}

void cl_janus_free(struct pl_client *c)
{
    if (c->j_keepalive) {
        g_source_destroy(c->j_keepalive);
        g_source_unref(c->j_keepalive);
        c->j_keepalive = NULL;
    }
    free(c->j_offer);
    c->j_offer = NULL;
}
