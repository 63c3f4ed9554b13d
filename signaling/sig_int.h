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
#include "parley/packet.h"
#include "parley/sdp.h"
#include "parley/token.h"

#define PL_MAX_VIDEO_SUBS 49     /* video feeds a participant may receive */
#define PL_MAX_RECORDER_SUBS 50  /* video feeds the recorder may receive */
#define PL_REC_BITRATE 1000000000LL /* what the node's recorder asks for: the top layer */
#define PL_EMPTY_MEETING_S 600   /* a started meeting nobody is in is forgotten after this */
#define PL_ENDED_MEETING_S 86400 /* an ended meeting is remembered (JOIN denied) this long */
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
struct pl_recording;
struct pl_rec_report;
struct pl_rec_result;

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
    int64_t bitrate;              /* asked for in SUBSCRIBE (video) */
};

struct pl_participant {
    struct pl_meeting *meeting;
    struct pl_conn *conn;
    char account_id[PL_ID_MAX + 1];
    enum pl_role role;
    uint32_t peer_id;             /* 0 until the offer was accepted */
    bool connected;               /* media path up (worker said so) */
    bool publishes[2];            /* by enum pl_media_kind: audio, video */
    struct pl_slot_state *slots;
    int n_slots;
    struct pl_recording *recording; /* the node's own recorder participant: its recording */
    struct pl_participant *next;
};

struct pl_meeting {
    char id[PL_ID_MAX + 1];
    int worker;
    bool ended;
    uint64_t ended_ms;            /* when END came */
    uint64_t empty_since_ms;      /* 0 while someone is in */
    struct pl_participant *parts; /* participants and the recorder */
    int n_parts;                  /* without the recorder */
    struct pl_participant *recorder;
    struct pl_participant *speaker; /* last ACTIVE_SPEAKER sent */
    struct pl_recording *recording; /* the node's own recorder, while it records */
    struct pl_meeting *next;
};

struct pl_signaling {
    struct pl_node *node;
    struct lws_context *ctx;
    struct pl_conn *conns;
    struct pl_meeting *meetings;
    struct pl_map peers;          /* peer id -> participant */
    uv_timer_t sweep;             /* forgets empty and long-ended meetings */
    int pending_calls;            /* control plane callbacks in flight */
    struct pl_recording *finishing; /* stopped recordings waiting for their file */
    struct pl_rec_report *undelivered; /* recording results the control plane has not taken */
    /* control_node.c: registration and heartbeats */
    uv_timer_t control_timer;
    bool control_timer_on;
    char node_id[64];             /* given by the control plane; "" until registered */
    uint64_t heartbeat_ms;
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

/* meeting.c: meetings, membership, relays */
struct pl_meeting *pl_meeting_find(struct pl_signaling *s, const char *id);
struct pl_meeting *pl_meeting_start(struct pl_signaling *s, const char *id);
/* Adds a participant (or the recorder) and sends MEETING_USERS / JOIN / RECORDING. */
struct pl_participant *pl_meeting_add(struct pl_signaling *s, struct pl_meeting *m,
                                      struct pl_conn *c, const char *account_id,
                                      enum pl_role role);
void pl_meeting_leave(struct pl_signaling *s, struct pl_participant *p);
void pl_meeting_end(struct pl_signaling *s, struct pl_meeting *m, const char *by);
/* The same, asked by the control plane (POST /meetings/end), which has ended it already: the
 * node does not report the end back. */
void pl_meeting_end_quiet(struct pl_signaling *s, struct pl_meeting *m, const char *by);
void pl_meeting_broadcast(struct pl_meeting *m, struct pl_participant *except, json_t *pkt);
void pl_meeting_sweep_start(struct pl_signaling *s);
void pl_meeting_sweep_stop(struct pl_signaling *s);
void pl_meeting_free_all(struct pl_signaling *s);
struct pl_levels_event;
void pl_meeting_on_levels(struct pl_signaling *s, const struct pl_levels_event *ev);

/* slots.c: which feed goes into which slot */
/* The participant's offer was accepted: audio both ways, and pending video subscriptions. */
void pl_slots_media_ready(struct pl_signaling *s, struct pl_participant *p);
/* Applies unsubscriptions then subscriptions, all or nothing. 0, or -1 with err. */
int pl_slots_change(struct pl_signaling *s, struct pl_participant *p,
                    const struct pl_sub_entry *unsub, int n_unsub,
                    const struct pl_sub_entry *sub, int n_sub, char *err, size_t errlen);
/* Frees every slot fed by `gone` in the meeting (it is leaving); tells who changed. */
void pl_slots_forget(struct pl_signaling *s, struct pl_participant *gone);
void pl_slots_send(struct pl_participant *p);

/* http_reply.c: a whole small response from an lws HTTP callback; returns the callback's result. */
int pl_http_reply(struct lws *wsi, unsigned status, const char *type, const char *body, size_t len);

/* control_client.c: callbacks to the control plane, off the loop thread */
/* metrics_streams.c: per-layer and per-consumer series of /metrics, written with add(out, ...). */
void pl_metrics_streams(struct pl_signaling *s, void (*add)(void *, const char *, ...), void *out);
void pl_control_post(struct pl_signaling *s, const char *path, json_t *body); /* takes body */
/* The same, and on_reply(status, parsed answer or NULL) on the loop thread when it is done
 * (status 0: no answer). Returns 0, or -1 when nothing was sent and on_reply will not be
 * called (no control plane, the node is stopping, no memory). */
typedef void (*pl_control_reply_fn)(struct pl_signaling *s, long status, json_t *reply, void *user);
int pl_control_call(struct pl_signaling *s, const char *path, json_t *body,
                    pl_control_reply_fn on_reply, void *user);
/* After the loop has finished (the node is exiting): one POST, waiting at most timeout_ms.
 * Returns the HTTP status, 0 when there was no answer or no control plane. */
long pl_control_post_now(struct pl_signaling *s, const char *path, json_t *body, long timeout_ms);
void pl_control_stopping(void); /* retries stop: the node is going down */
/* control_node.c */
void pl_control_node_start(struct pl_signaling *s);
void pl_control_node_stop(struct pl_signaling *s);
void pl_control_presence(struct pl_signaling *s, const struct pl_meeting *m, const char *account,
                         bool joined);
/* prefix + id percent-encoded (all but RFC 3986's unreserved characters) into path; returns
 * its length. */
size_t pl_control_id_path(const char *prefix, const char *id, char *path, size_t cap);
/* meeting.c: "/meetings/{id}" percent-encoded into path; returns its length. */
size_t pl_control_meeting_path(const char *id, char *path, size_t cap);
void pl_control_cleanup(void);  /* once, after the loop has finished */

/* recording.c: the node's own recorder, a ghost participant of the meeting. */
struct pl_rec_request {
    const char *recording_id, *tenant_id, *conference_id, *session_id, *title;
    const char *host_user_id, *host_user_name, *tenant_name;
};
/* Starts recording meeting m: 0, or an HTTP status (409 already recording, 500) with err. */
int pl_recording_start(struct pl_signaling *s, struct pl_meeting *m,
                       const struct pl_rec_request *req, char *err, size_t errlen);
/* The recorder participant leaves (stop, END, node stopping): the file is finished once the
 * worker lets go of the recording (PL_EV_RECORDER_DETACHED). */
void pl_recording_detach(struct pl_signaling *s, struct pl_participant *p);
void pl_recording_on_detached(struct pl_signaling *s, uint32_t peer_id);
/* At exit, after the loop: finishes what is left and posts every result not delivered yet,
 * blocking (a few seconds at most); what cannot be delivered waits on disk for the next start. */
void pl_recording_finish_all(struct pl_signaling *s);
/* At start: finishes recordings a crash interrupted and reports every result left on disk
 * (on the threadpool). */
void pl_recording_recover(struct pl_signaling *s);
/* The control plane answered: results it did not take earlier are sent again. */
void pl_recording_retry_reports(struct pl_signaling *s);

/* rec_report.c: results to the control plane (POST /recordings/{id}/completed). A stopped
 * recording's result (res NULL: it failed, err says why) is sent, or kept until the control
 * plane answers; at exit, pl_rec_report_flush posts what is kept (blocking, bounded). */
void pl_rec_report_stopped(struct pl_signaling *s, const char *recording_id,
                           const char *meeting_id, const char *tenant_id,
                           const char *conference_id, const struct pl_rec_result *res,
                           const char *err);
void pl_rec_report_flush(struct pl_signaling *s);

/* offer.c: negotiates, registers the peer on the meeting's worker, returns the answer. */
char *pl_offer_accept(struct pl_signaling *s, struct pl_participant *p, const char *sdp,
                      size_t len, char *err, size_t errlen);

#endif
