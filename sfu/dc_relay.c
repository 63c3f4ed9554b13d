/* Data channels on the node: one SCTP association per peer that offered an m=application line
 * (parley_dc: usrsctp in its thread-less mode, DCEP), carried in its DTLS connection. The node
 * does not originate channels; it answers the ones a peer opens. A string message on the peer's
 * "chat" channel goes to every other peer of the same meeting on this worker (all of a
 * meeting's peers live on one worker) as {"from": <sender's account>, "text": <message>}: the
 * sender is stamped by the node, never taken from the message. Messages received while usrsctp
 * processes input are queued and relayed once pl_dc_input has returned, so no association is
 * entered from inside another's callback. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "parley/datachannel.h"
#include "parley/log.h"
#include "worker_int.h"

#define PL_CHAT_MAX 4096      /* longest chat message relayed (bytes) */
#define PL_CHAT_QUEUE_MAX 256 /* messages waiting to be relayed, per worker */

struct pl_chat_msg {
    struct pl_chat_msg *next;
    uint32_t from_peer;
    size_t len;
    char text[];
};

static int queued(const struct pl_worker *w)
{
    int n = 0;
    for (const struct pl_chat_msg *m = w->chat_head; m; m = m->next)
        n++;
    return n;
}

/* SCTP out. On the worker's own thread straight into DTLS; from the thread that drives
 * usrsctp's timers (retransmissions), through the worker's mailbox. */
static void dc_send(void *user, const uint8_t *data, size_t len)
{
    struct pl_peer *p = user;
    if (pthread_equal(pthread_self(), p->w->tid)) {
        if (p->dtls)
            pl_dtls_write(p->dtls, data, len);
        return;
    }
    struct pl_cmd_dc_out *c = malloc(sizeof *c + len);
    if (!c)
        return;
    memset(&c->hdr, 0, sizeof c->hdr);
    c->hdr.type = PL_CMD_DC_OUT;
    c->peer_id = p->id;
    c->len = len;
    memcpy(c->data, data, len);
    if (pl_worker_post(p->w, &c->hdr) != 0)
        free(c);
}

void pl_dc_out_command(struct pl_worker *w, const struct pl_cmd_dc_out *c)
{
    struct pl_peer *p = pl_map_get(&w->peers_by_id, c->peer_id);
    if (p && p->dtls && p->dc)
        pl_dtls_write(p->dtls, c->data, c->len);
}

static void dc_connected(void *user)
{
    struct pl_peer *p = user;
    PL_INFO("datachannel", "peer %u: SCTP association up", p->id);
}

static void dc_open(void *user, uint16_t sid, const char *label)
{
    struct pl_peer *p = user;
    PL_INFO("datachannel", "peer %u: channel \"%s\" opened on stream %u", p->id, label, sid);
    if (strcmp(label, "chat") == 0)
        p->chat_sid = sid;
}

static void dc_message(void *user, uint16_t sid, bool binary, const uint8_t *data, size_t len)
{
    struct pl_peer *p = user;
    struct pl_worker *w = p->w;
    if ((int)sid != p->chat_sid || binary || len == 0)
        return;
    if (len > PL_CHAT_MAX || queued(w) >= PL_CHAT_QUEUE_MAX) {
        PL_WARN("datachannel", "peer %u: chat message of %zu bytes dropped (over %d bytes, or "
                "too many waiting)", p->id, len, PL_CHAT_MAX);
        return;
    }
    struct pl_chat_msg *m = malloc(sizeof *m + len + 1);
    if (!m)
        return;
    m->next = NULL;
    m->from_peer = p->id;
    m->len = len;
    memcpy(m->text, data, len);
    m->text[len] = '\0';
    if (w->chat_tail)
        w->chat_tail->next = m;
    else
        w->chat_head = m;
    w->chat_tail = m;
    w->stats.chat_messages++;
}

void pl_peer_dc_start(struct pl_peer *p)
{
    if (!p->wants_dc || p->dc)
        return;
    struct pl_dc_callbacks cb = {dc_send, dc_connected, dc_open, dc_message, p};
    /* The node answers a=setup:passive: it is the DTLS server, so it takes odd stream ids. */
    p->dc = pl_dc_new(false, &cb);
    if (!p->dc)
        PL_WARN("datachannel", "peer %u: no SCTP association (usrsctp refused)", p->id);
}

static void relay(struct pl_worker *w, const struct pl_chat_msg *m)
{
    struct pl_peer *from = pl_map_get(&w->peers_by_id, m->from_peer);
    if (!from)
        return;
    /* jansson checks the text is UTF-8 (json_string refuses anything else) and escapes it. */
    json_t *j = json_pack("{s:s, s:s}", "from", from->account_id, "text", m->text);
    char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!out) {
        PL_WARN("datachannel", "peer %u: a chat message that is not UTF-8 text dropped", from->id);
        return;
    }
    uint64_t key;
    void *val;
    for (size_t it = 0; pl_map_next(&w->peers_by_id, &it, &key, &val);) {
        struct pl_peer *to = val;
        if (to == from || to->meeting_key != from->meeting_key || !to->dc || to->chat_sid < 0)
            continue;
        if (pl_dc_send(to->dc, (uint16_t)to->chat_sid, false, (const uint8_t *)out, strlen(out)) == 0)
            w->stats.chat_deliveries++;
    }
    free(out);
}

void pl_peer_dc_input(struct pl_peer *p, const uint8_t *data, size_t len)
{
    struct pl_worker *w = p->w;
    if (!p->dc)
        return;
    pl_dc_input(p->dc, data, len);
    while (w->chat_head) {
        struct pl_chat_msg *m = w->chat_head;
        w->chat_head = m->next;
        if (!w->chat_head)
            w->chat_tail = NULL;
        relay(w, m);
        free(m);
    }
}

void pl_peer_dc_free(struct pl_peer *p)
{
    pl_dc_free(p->dc); /* takes usrsctp's lock: no callback of p runs after this */
    p->dc = NULL;
}

void pl_chat_free_all(struct pl_worker *w)
{
    while (w->chat_head) {
        struct pl_chat_msg *m = w->chat_head;
        w->chat_head = m->next;
        free(m);
    }
    w->chat_tail = NULL;
}
