/* parley-client: a native WebRTC participant (docs/client.md). Signaling over libwebsockets,
 * ICE with libnice (controlling, full agent), DTLS client (OpenSSL), SRTP (libsrtp2), media
 * sources (synthetic simulcast VP8-shaped video and Opus-sized audio, or a real libvpx test
 * pattern and libopus tone) and sinks that count what arrives.
 *
 * Threads: none of its own. Everything of a client happens on the GMainContext of its
 * pl_client_loop (libwebsockets runs on it through its glib event-lib plugin, libnice and the
 * media timers are sources of it), so many clients share one thread and one loop. */
#ifndef PARLEY_CLIENT_H
#define PARLEY_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

struct pl_client_loop;
struct pl_client;

/* One per thread: a GMainContext + GMainLoop, a libwebsockets context on it, the DTLS
 * certificate. ctx NULL makes a new context. NULL on failure. */
struct pl_client_loop *pl_client_loop_new(GMainContext *ctx);
/* Frees the loop; free its clients first. */
void pl_client_loop_free(struct pl_client_loop *l);
GMainContext *pl_client_loop_context(struct pl_client_loop *l);
void pl_client_loop_run(struct pl_client_loop *l);  /* until pl_client_loop_quit */
void pl_client_loop_quit(struct pl_client_loop *l);

enum pl_client_publish { PL_PUBLISH_NONE = 0, PL_PUBLISH_SYNTHETIC, PL_PUBLISH_VP8 };
enum pl_client_role { PL_CLIENT_PARTICIPANT = 0, PL_CLIENT_HOST, PL_CLIENT_RECORDER };
/* Who the client talks to: a parley-node (docs/protocol.md) or Janus' VideoRoom plugin over
 * Janus' WebSocket API (client/janus_signaling.c; docs/client.md, "Janus"). */
enum pl_client_target { PL_TARGET_PARLEY = 0, PL_TARGET_JANUS };

struct pl_client_opts {
    const char *url;            /* ws://host:port/path */
    const char *meeting_id;
    const char *account_id;     /* the recorder's comes from its token; any name for logs */
    const char *token;          /* join token (docs/protocol.md) */
    enum pl_client_role role;   /* host: INIT; participant: JOIN; recorder: RECORD_JOIN */
    enum pl_client_publish publish;
    bool audio;                 /* publish audio: an Opus tone (VP8) or Opus-sized packets */
    bool simulcast;             /* synthetic video in 3 layers (the default for synthetic) */
    int subscribe;              /* video feeds to subscribe to: -1 everyone, 0 none, N the first N */
    int sub_bitrate;            /* bitrate asked for in SUBSCRIBE (bps) */
    int send_bitrate;           /* video bitrate of the top (or only) layer (bps) */
    int video_slots;            /* recvonly video lines in the offer */
    int audio_slots;            /* recvonly audio lines in the offer */
    int width, height, fps;     /* real VP8 picture; synthetic top layer */
    const char *local_ip;       /* the ICE host candidate's address */
    const char *ivf_path;       /* NULL, or write the first received video feed to this IVF */
    const char *ogg_path;       /* NULL, or write the first received audio to this Ogg Opus */
    bool count_only;            /* count received RTP from its clear-text header without
                                   decrypting (light subscribers: no delay, no NACK, no files) */
    bool data_channel;          /* offer an m=application line; when the answer accepts it,
                                   run SCTP over the DTLS connection (client/datachannel.c) */
    /* Janus (target janus; no token needed). One client is one Janus handle and one
     * PeerConnection: it publishes (publish != none) or subscribes, never both. The host
     * creates the room first (an existing room is fine). */
    enum pl_client_target target;
    uint64_t janus_room;        /* the VideoRoom room id (> 0) */
    uint64_t janus_feed;        /* publisher: the feed id to register (0: Janus picks one) */
    int janus_room_publishers;  /* host: the room's publisher limit */
    int janus_substream;        /* subscriber: simulcast substream asked for, 0 (low) .. 2 (top) */
};

/* Defaults: participant, synthetic simulcast video, no audio, subscribe to everyone at
 * 1.5 Mbit/s, 8 video and 8 audio slots, 640x360 at 30 fps, 127.0.0.1. */
void pl_client_opts_default(struct pl_client_opts *o);

enum pl_client_state {
    PL_CLIENT_CONNECTING = 0, /* WebSocket, join */
    PL_CLIENT_JOINED,         /* MEETING_USERS received, offer sent */
    PL_CLIENT_MEDIA,          /* ICE + DTLS done, SRTP keys set: media flows */
    PL_CLIENT_CLOSED,         /* left, ended or socket closed after media */
    PL_CLIENT_FAILED,         /* could not join or connect */
};

/* Receive figures of one stream (one remote SSRC). */
struct pl_client_rx {
    char mid[32];
    char account_id[129];       /* from SLOTS: the last account in this slot, "" when unknown */
    bool video;
    uint32_t ssrc;
    uint64_t packets, bytes;
    uint64_t lost;              /* expected - received (RFC 3550), never negative */
    double jitter_ms;           /* RFC 3550 interarrival jitter */
    uint64_t frames;            /* video frames completed (marker bit seen) */
    uint64_t keyframes;
};

/* One-way delay histogram: 0.1 ms buckets below 100 ms, 1 ms buckets from 100 ms to 2 s, and
 * a last bucket for 2 s and more. */
#define PL_CLIENT_DELAY_BUCKETS 2900
int pl_client_delay_bucket(uint64_t delay_us);

struct pl_client_stats {
    uint64_t join_ms;           /* WebSocket open -> MEETING_USERS */
    uint64_t connect_ms;        /* WebSocket open -> SRTP ready */
    uint64_t tx_video_packets, tx_video_bytes, tx_audio_packets, tx_audio_bytes;
    uint64_t tx_frames, tx_keyframes;
    uint64_t rx_packets, rx_bytes, rx_lost, rx_video_packets, rx_audio_packets;
    uint64_t rx_unprotect_errors, rx_rtcp; /* refusals include replays: a resent packet that was only late */
    uint64_t rx_rtx;                       /* the node's resends, as RTX (RFC 4588) */
    uint64_t plis_received, nacks_received, retransmitted, plis_sent, nacks_sent;
    uint64_t errors_received;   /* ERROR packets from the node */
    bool meeting_ended;         /* END received */
    uint64_t ivf_frames;        /* frames written to --write-ivf */
    uint64_t ogg_packets;       /* packets written to --write-ogg */
    uint64_t dc_messages_received, dc_channels_opened; /* data channels */
    /* One-way delay of synthetic payloads (send stamp -> arrival, CLOCK_REALTIME). */
    uint64_t delay_count;
    uint32_t delay_hist[PL_CLIENT_DELAY_BUCKETS + 1];
    uint64_t tx_layer_packets[3]; /* video packets sent per simulcast layer (0 lowest; one layer: 0) */
};

enum pl_client_event {
    PL_CLIENT_EV_STATE = 0, PL_CLIENT_EV_USERS, PL_CLIENT_EV_SLOTS,
    PL_CLIENT_EV_DC_READY,      /* the SCTP association is up */
};
typedef void (*pl_client_event_fn)(struct pl_client *c, enum pl_client_event ev, void *user);

/* Copies what it needs of opts. Connects at once. NULL on bad options. */
struct pl_client *pl_client_new(struct pl_client_loop *l, const struct pl_client_opts *o,
                                pl_client_event_fn cb, void *user);
/* Closes everything at once (no LEAVE: call pl_client_leave first for a clean goodbye). */
void pl_client_free(struct pl_client *c);

enum pl_client_state pl_client_state(const struct pl_client *c);
const char *pl_client_account(const struct pl_client *c);
const char *pl_client_state_name(enum pl_client_state s);
const char *pl_client_error(const struct pl_client *c); /* why it failed, "" otherwise */
const struct pl_client_stats *pl_client_stats(const struct pl_client *c);
/* Receive streams: n is set to the count. Valid until the next loop iteration. */
const struct pl_client_rx *pl_client_rx_streams(const struct pl_client *c, int *n);
/* Delay percentile (0..100) in ms from the histogram; -1 when nothing was measured. */
double pl_client_delay_percentile(const struct pl_client_stats *s, double pct);
/* Accounts in the meeting besides this one (MEETING_USERS, JOIN, LEAVE). */
int pl_client_users(const struct pl_client *c, const char *const **users);

/* The rest of the packet set. 0 when queued, -1 when not joined or bad arguments. */
int pl_client_subscribe(struct pl_client *c, const char *const *accounts, int n, int bitrate);
int pl_client_unsubscribe(struct pl_client *c, const char *const *accounts, int n);
int pl_client_unsub_sub(struct pl_client *c, const char *const *unsub, int n_unsub,
                        const char *const *sub, int n_sub, int bitrate);
int pl_client_leave(struct pl_client *c);   /* LEAVE, then the socket closes (Janus: destroy) */
/* Janus subscriber: subscribe to these feeds (a join the first time, then a renegotiation with
 * the offer Janus sends). 0 when sent; -1 when not ready yet (handle not attached), an
 * exchange is still in flight, or not a Janus subscriber: try again later. */
int pl_client_janus_subscribe(struct pl_client *c, const uint64_t *feeds, int n);
/* Janus publisher: the feed id Janus registered (0 until joined). */
uint64_t pl_client_janus_feed(const struct pl_client *c);
int pl_client_end(struct pl_client *c);     /* END (host only) */
/* Data channels, once PL_CLIENT_EV_DC_READY came: opens a reliable channel (returns its stream
 * id, or -1) and sends a text message on it (0 or -1). */
int pl_client_dc_open(struct pl_client *c, const char *label);
int pl_client_dc_send(struct pl_client *c, int sid, const char *text);

/* Stats as one JSON object (malloc'd; free it). */
char *pl_client_stats_json(const struct pl_client *c);

#endif
