/* Signaling packets from clients: JSON text -> a validated struct (docs/protocol.md).
 * Every check of shape and type happens here, so the meeting logic only sees well-formed
 * packets; the error text is what the client gets back in ERROR. */
#ifndef PARLEY_PACKET_H
#define PARLEY_PACKET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_ID_MAX 128            /* longest meeting_id / account_id / host */
#define PL_MAX_LIST 50           /* longest subscription list in one packet */
#define PL_MAX_BITRATE 100000000 /* bits per second */

enum pl_sig_type {
    PL_SIG_INIT = 1,
    PL_SIG_JOIN,
    PL_SIG_LEAVE,
    PL_SIG_END,
    PL_SIG_SUBSCRIBE,
    PL_SIG_UNSUBSCRIBE,
    PL_SIG_UNSUB_SUB,
    PL_SIG_RECORD_JOIN,
    PL_SIG_OFFER,
};

struct pl_sub_entry {
    char account_id[PL_ID_MAX + 1];
    int64_t bitrate;             /* -1 when absent (allowed in unsubscribe lists only) */
};

struct pl_packet {
    enum pl_sig_type type;
    char meeting_id[PL_ID_MAX + 1];
    char account_id[PL_ID_MAX + 1]; /* JOIN, LEAVE */
    char host[PL_ID_MAX + 1];       /* INIT */
    char *token;                    /* "token" (INIT, JOIN, RECORD_JOIN); NULL when absent */
    char *sdp;                      /* OFFER */
    size_t sdp_len;
    int64_t num_actions;            /* SUBSCRIBE, UNSUB_SUB: the integer given */
    struct pl_sub_entry subscribe[PL_MAX_LIST];   /* SUBSCRIBE subscriptions, UNSUB_SUB subscribe */
    int n_subscribe;
    struct pl_sub_entry unsubscribe[PL_MAX_LIST]; /* UNSUBSCRIBE list, UNSUB_SUB unsubscribe */
    int n_unsubscribe;
};

/* 0 on success (free with pl_packet_free). On failure -1, err holds the message for ERROR and
 * meeting_id_out (if not NULL, PL_ID_MAX+1 bytes) holds the packet's meeting_id when it had a
 * valid one, "" otherwise. */
int pl_packet_parse(const char *text, size_t len, struct pl_packet *out, char *meeting_id_out,
                    char *err, size_t errlen);
void pl_packet_free(struct pl_packet *p);

const char *pl_sig_type_name(enum pl_sig_type t); /* "INIT", "JOIN", ... */

#endif
