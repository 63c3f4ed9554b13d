/* Internal state of the signaling side of the node (main thread only): WebSocket
 * connections, meetings and their participants, and which feed sits in which slot. */
#ifndef PARLEY_SIGNALING_INT_H
#define PARLEY_SIGNALING_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "parley/hashmap.h"
#include "parley/node.h"
#include "parley/sdp.h"

#define PL_ID_MAX 128            /* longest meeting_id / account_id accepted */
#define PL_MAX_STRIKES 5         /* bad messages before a connection is closed */
#define PL_RATE_PER_SEC 50       /* messages per second before a connection is closed */
#define PL_OUT_MAX_BYTES (4u << 20) /* unsent bytes before a slow reader is dropped */

struct lws;
struct pl_signaling;
struct pl_meeting;

struct pl_out_msg {
    struct pl_out_msg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the text */
};

struct pl_participant;

struct pl_conn {
    struct lws *wsi;
    struct pl_signaling *sig;
    struct pl_participant *part;  /* NULL until JOIN */
    char *rx;                     /* a message being assembled from fragments */
    size_t rx_len, rx_cap;
    bool rx_binary;
    bool rx_discard;              /* rest of an oversized message is skipped */
    struct pl_out_msg *out_head, *out_tail;
    size_t out_bytes;
    int strikes;
    uint64_t rate_window_ms;
    int rate_count;
    bool close_after_send;
    struct pl_conn *next, *prev;
};

/* A subscriber slot as the main thread sees it: which participant feeds it. */
struct pl_slot_state {
    char mid[32];
    enum pl_media_kind kind;
    struct pl_participant *feed;
};

struct pl_participant {
    struct pl_meeting *meeting;
    struct pl_conn *conn;
    char account_id[PL_ID_MAX + 1];
    uint32_t peer_id;             /* 0 until the offer was accepted */
    bool connected;               /* media path up (worker said so) */
    bool publishes[2];            /* by enum pl_media_kind: audio, video */
    struct pl_slot_state *slots;
    int n_slots;
    struct pl_participant *next;
};

struct pl_meeting {
    char id[PL_ID_MAX + 1];
    int worker;
    struct pl_participant *parts;
    int n_parts;
    struct pl_meeting *next;
};

struct pl_signaling {
    struct pl_node *node;
    struct lws_context *ctx;
    struct pl_conn *conns;
    struct pl_meeting *meetings;
    struct pl_map peers;          /* peer id -> participant */
    bool stopping;
    bool stopped;
};

/* server.c */
void pl_conn_send_json(struct pl_conn *c, json_t *msg); /* takes the reference */
void pl_conn_close(struct pl_conn *c);                  /* after queued messages go out */

/* messages.c */
void pl_sig_on_message(struct pl_conn *c, const char *text, size_t len, bool binary);
void pl_sig_on_closed(struct pl_conn *c);
void pl_sig_send_error(struct pl_conn *c, const char *meeting_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
json_t *pl_sig_packet(const char *meeting_id, const char *content_type);

/* meeting.c */
struct pl_participant *pl_meeting_join(struct pl_signaling *s, struct pl_conn *c,
                                       const char *meeting_id, const char *account_id,
                                       const char **why);
void pl_meeting_leave(struct pl_signaling *s, struct pl_participant *p);
/* The participant's offer was accepted: bind feeds both ways and tell everyone. */
void pl_meeting_media_ready(struct pl_signaling *s, struct pl_participant *p);
void pl_meeting_send_slots(struct pl_participant *p);

/* offer.c: negotiates, registers the peer on the meeting's worker, returns the answer. */
char *pl_offer_accept(struct pl_signaling *s, struct pl_participant *p, const char *sdp,
                      size_t len, char *err, size_t errlen);

#endif
