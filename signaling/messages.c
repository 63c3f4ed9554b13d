/* Signaling packets: validation of every field, dispatch, and the ERROR replies.
 * Every packet is a JSON object with "meeting_id" and "content_type" (docs/protocol.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/log.h"
#include "sig_int.h"

json_t *pl_sig_packet(const char *meeting_id, const char *content_type)
{
    return json_pack("{s:s, s:s}", "meeting_id", meeting_id ? meeting_id : "", "content_type",
                     content_type);
}

void pl_sig_send_error(struct pl_conn *c, const char *meeting_id, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!meeting_id && c->part)
        meeting_id = c->part->meeting->id;
    json_t *pkt = pl_sig_packet(meeting_id, "ERROR");
    json_object_set_new(pkt, "msg", json_string(msg));
    pl_conn_send_json(c, pkt);
}

/* A bad packet: ERROR back, and a strike against the connection. */
static void reject(struct pl_conn *c, const char *meeting_id, const char *msg)
{
    c->strikes++;
    PL_DEBUG("signaling", "rejected packet: %s", msg);
    pl_sig_send_error(c, meeting_id, "%s", msg);
}

/* Returns the string field, or NULL with *err set when it is missing, not a string, empty or
 * longer than max. */
static const char *get_str(json_t *obj, const char *key, size_t max, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        snprintf(err, errlen, "missing field \"%s\"", key);
        return NULL;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "field \"%s\" must be a string", key);
        return NULL;
    }
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > max || strlen(s) != len) {
        snprintf(err, errlen, "field \"%s\" must be 1 to %zu characters", key, max);
        return NULL;
    }
    return s;
}

static void on_join(struct pl_conn *c, json_t *pkt, const char *meeting_id)
{
    char err[160];
    const char *account = get_str(pkt, "account_id", PL_ID_MAX, err, sizeof err);
    if (!account) {
        reject(c, meeting_id, err);
        return;
    }
    if (c->part) {
        reject(c, meeting_id, "already joined on this connection");
        return;
    }
    const char *why = NULL;
    struct pl_participant *p = pl_meeting_join(c->sig, c, meeting_id, account, &why);
    if (!p) {
        json_t *deny = pl_sig_packet(meeting_id, "JOIN_DENIED");
        if (why)
            json_object_set_new(deny, "msg", json_string(why));
        pl_conn_send_json(c, deny);
    }
}

static void on_offer(struct pl_conn *c, json_t *pkt, const char *meeting_id)
{
    char err[256];
    if (!c->part) {
        reject(c, meeting_id, "OFFER before JOIN");
        return;
    }
    json_t *sdp = json_object_get(pkt, "sdp");
    if (!json_is_string(sdp) || json_string_length(sdp) == 0) {
        reject(c, meeting_id, "field \"sdp\" must be a non-empty string");
        return;
    }
    if (c->part->peer_id) {
        reject(c, meeting_id, "renegotiation is not supported: the node answers one offer");
        return;
    }
    char *answer = pl_offer_accept(c->sig, c->part, json_string_value(sdp),
                                   json_string_length(sdp), err, sizeof err);
    if (!answer) {
        reject(c, meeting_id, err);
        return;
    }
    json_t *reply = pl_sig_packet(meeting_id, "ANSWER");
    json_object_set_new(reply, "sdp", json_string(answer));
    free(answer);
    pl_conn_send_json(c, reply);
    pl_meeting_media_ready(c->sig, c->part);
}

static void on_leave(struct pl_conn *c, json_t *pkt, const char *meeting_id)
{
    (void)pkt;
    if (!c->part) {
        reject(c, meeting_id, "LEAVE before JOIN");
        return;
    }
    pl_meeting_leave(c->sig, c->part);
    c->part = NULL;
    pl_conn_close(c);
}

void pl_sig_on_message(struct pl_conn *c, const char *text, size_t len, bool binary)
{
    if (binary) {
        reject(c, NULL, "binary messages are not accepted: send JSON text");
        return;
    }
    json_error_t jerr;
    json_t *pkt = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!pkt) {
        char msg[256];
        snprintf(msg, sizeof msg, "not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        reject(c, NULL, msg);
        return;
    }
    char err[160];
    if (!json_is_object(pkt)) {
        reject(c, NULL, "a packet must be a JSON object");
        goto out;
    }
    const char *meeting_id = get_str(pkt, "meeting_id", PL_ID_MAX, err, sizeof err);
    if (!meeting_id) {
        reject(c, NULL, err);
        goto out;
    }
    const char *type = get_str(pkt, "content_type", 32, err, sizeof err);
    if (!type) {
        reject(c, meeting_id, err);
        goto out;
    }
    if (c->part && strcmp(meeting_id, c->part->meeting->id) != 0) {
        reject(c, meeting_id, "meeting_id does not match the meeting this connection joined");
        goto out;
    }
    if (strcmp(type, "JOIN") == 0)
        on_join(c, pkt, meeting_id);
    else if (strcmp(type, "OFFER") == 0)
        on_offer(c, pkt, meeting_id);
    else if (strcmp(type, "LEAVE") == 0)
        on_leave(c, pkt, meeting_id);
    else {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown content_type \"%.32s\"", type);
        reject(c, meeting_id, msg);
    }
out:
    json_decref(pkt);
}

void pl_sig_on_closed(struct pl_conn *c)
{
    if (c->part) {
        pl_meeting_leave(c->sig, c->part);
        c->part = NULL;
    }
}
