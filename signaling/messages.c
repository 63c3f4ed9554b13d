/* Signaling packets: dispatch of validated packets (signaling/packet.c checks their shape),
 * the join paths with their token checks, and ERROR / JOIN_DENIED replies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* A refused packet: ERROR back, and a strike against the connection. */
static void reject(struct pl_conn *c, const char *meeting_id, const char *msg)
{
    c->strikes++;
    PL_DEBUG("signaling", "refused packet: %s", msg);
    pl_sig_send_error(c, meeting_id, "%s", msg);
}

/* A refused join: the reason in ERROR, then JOIN_DENIED exactly as the original design has it. */
static void deny(struct pl_conn *c, const char *meeting_id, const char *why)
{
    PL_INFO("signaling", "join to meeting %s denied: %s", meeting_id, why);
    pl_sig_send_error(c, meeting_id, "join denied: %s", why);
    pl_conn_send_json(c, pl_sig_packet(meeting_id, "JOIN_DENIED"));
}

/* Checks the token of a join packet: signature, expiry, meeting, account (when given), role. */
static bool check_token(struct pl_conn *c, const struct pl_packet *pkt, const char *account,
                        struct pl_token *tok, char *why, size_t whylen)
{
    const char *secret = c->sig->node->cfg.token_secret;
    if (!pkt->token) {
        snprintf(why, whylen, "missing field \"token\"");
        return false;
    }
    char err[160];
    if (pl_token_verify((const uint8_t *)secret, strlen(secret), pkt->token, strlen(pkt->token),
                        (int64_t)time(NULL), tok, err, sizeof err) != PL_TOKEN_OK) {
        snprintf(why, whylen, "invalid token: %s", err);
        return false;
    }
    if (strcmp(tok->meeting_id, pkt->meeting_id) != 0) {
        snprintf(why, whylen, "the token is for another meeting");
        return false;
    }
    if (account && strcmp(tok->account_id, account) != 0) {
        snprintf(why, whylen, "the token is for another account");
        return false;
    }
    return true;
}

static bool already_in(struct pl_meeting *m, const char *account)
{
    for (struct pl_participant *p = m->parts; p; p = p->next)
        if (strcmp(p->account_id, account) == 0)
            return true;
    return false;
}

/* INIT (host starts the meeting and joins), JOIN and RECORD_JOIN. */
static void on_join(struct pl_conn *c, const struct pl_packet *pkt)
{
    struct pl_signaling *s = c->sig;
    const char *mid = pkt->meeting_id;
    const char *account = pkt->type == PL_SIG_INIT   ? pkt->host
                          : pkt->type == PL_SIG_JOIN ? pkt->account_id
                                                     : NULL;
    if (c->part) {
        reject(c, mid, "already joined on this connection");
        return;
    }
    struct pl_token tok;
    char why[256];
    if (!check_token(c, pkt, account, &tok, why, sizeof why)) {
        deny(c, mid, why);
        return;
    }
    enum pl_role need = pkt->type == PL_SIG_INIT ? PL_ROLE_HOST : pkt->type == PL_SIG_RECORD_JOIN
                                                                      ? PL_ROLE_RECORDER
                                                                      : PL_ROLE_PARTICIPANT;
    bool role_ok = tok.role == need || (need == PL_ROLE_PARTICIPANT && tok.role == PL_ROLE_HOST);
    if (!role_ok) {
        snprintf(why, sizeof why, "%s needs a %s token, not a %s one", pl_sig_type_name(pkt->type),
                 pl_role_name(need), pl_role_name(tok.role));
        deny(c, mid, why);
        return;
    }
    struct pl_meeting *m = pl_meeting_find(s, mid);
    if (m && m->ended) {
        deny(c, mid, "the meeting has ended");
        return;
    }
    if (!m && pkt->type != PL_SIG_INIT) {
        deny(c, mid, "the meeting has not been started by its host");
        return;
    }
    if (!m && !(m = pl_meeting_start(s, mid))) {
        deny(c, mid, "out of memory");
        return;
    }
    if (pkt->type == PL_SIG_RECORD_JOIN) {
        if (m->recorder) {
            deny(c, mid, "a recorder is already in the meeting");
            return;
        }
    } else if (already_in(m, account)) {
        deny(c, mid, "this account is already in the meeting");
        return;
    } else if (m->n_parts >= s->node->cfg.max_participants) {
        deny(c, mid, "the meeting is full");
        return;
    }
    if (!pl_meeting_add(s, m, c, pkt->type == PL_SIG_RECORD_JOIN ? tok.account_id : account,
                        tok.role))
        deny(c, mid, "out of memory");
}

static void on_offer(struct pl_conn *c, const struct pl_packet *pkt)
{
    char err[256];
    if (c->part->peer_id) {
        reject(c, pkt->meeting_id, "renegotiation is not supported: the node answers one offer");
        return;
    }
    char *answer = pl_offer_accept(c->sig, c->part, pkt->sdp, pkt->sdp_len, err, sizeof err);
    if (!answer) {
        reject(c, pkt->meeting_id, err);
        return;
    }
    json_t *reply = pl_sig_packet(pkt->meeting_id, "ANSWER");
    json_object_set_new(reply, "sdp", json_string(answer));
    free(answer);
    pl_conn_send_json(c, reply);
    pl_slots_media_ready(c->sig, c->part);
}

static void on_subscription(struct pl_conn *c, const struct pl_packet *pkt)
{
    char err[256];
    const struct pl_sub_entry *unsub = pkt->unsubscribe, *sub = pkt->subscribe;
    if (pl_slots_change(c->sig, c->part, unsub, pkt->n_unsubscribe, sub, pkt->n_subscribe, err,
                        sizeof err) != 0) {
        reject(c, pkt->meeting_id, err);
        return;
    }
    pl_slots_send(c->part);
}

static void on_leave(struct pl_conn *c, const struct pl_packet *pkt)
{
    if (strcmp(pkt->account_id, c->part->account_id) != 0) {
        reject(c, pkt->meeting_id, "LEAVE names another account than the sender's");
        return;
    }
    pl_meeting_leave(c->sig, c->part);
    pl_conn_close(c);
}

static void on_end(struct pl_conn *c, const struct pl_packet *pkt)
{
    if (c->part->role != PL_ROLE_HOST) {
        reject(c, pkt->meeting_id, "only the host may END the meeting");
        return;
    }
    pl_meeting_end(c->sig, c->part->meeting, c->part->account_id);
}

void pl_sig_on_message(struct pl_conn *c, const char *text, size_t len, bool binary)
{
    if (binary) {
        reject(c, NULL, "binary messages are not accepted: send JSON text");
        return;
    }
    struct pl_packet pkt;
    char err[256], mid[PL_ID_MAX + 1];
    if (pl_packet_parse(text, len, &pkt, mid, err, sizeof err) != 0) {
        reject(c, *mid ? mid : NULL, err);
        return;
    }
    bool joins = pkt.type == PL_SIG_INIT || pkt.type == PL_SIG_JOIN || pkt.type == PL_SIG_RECORD_JOIN;
    if (c->part && strcmp(pkt.meeting_id, c->part->meeting->id) != 0)
        reject(c, pkt.meeting_id, "meeting_id does not match the meeting this connection joined");
    else if (!c->part && !joins) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s before INIT, JOIN or RECORD_JOIN", pl_sig_type_name(pkt.type));
        reject(c, pkt.meeting_id, msg);
    } else {
        switch (pkt.type) {
        case PL_SIG_INIT:
        case PL_SIG_JOIN:
        case PL_SIG_RECORD_JOIN:
            on_join(c, &pkt);
            break;
        case PL_SIG_OFFER:
            on_offer(c, &pkt);
            break;
        case PL_SIG_SUBSCRIBE:
        case PL_SIG_UNSUBSCRIBE:
        case PL_SIG_UNSUB_SUB:
            on_subscription(c, &pkt);
            break;
        case PL_SIG_LEAVE:
            on_leave(c, &pkt);
            break;
        case PL_SIG_END:
            on_end(c, &pkt);
            break;
        }
    }
    pl_packet_free(&pkt);
}

void pl_sig_on_closed(struct pl_conn *c)
{
    if (c->part)
        pl_meeting_leave(c->sig, c->part);
}
