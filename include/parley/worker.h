/* Media workers: each runs its own libuv loop on its own thread and owns one UDP socket.
 * Every peer of a meeting lives on the meeting's worker, so the media path takes no locks.
 * The main thread drives workers with commands (peer add/remove, slot binding) and hears
 * back through events; both travel through mailboxes (uv_async). */
#ifndef PARLEY_WORKER_H
#define PARLEY_WORKER_H
#include <stdbool.h>
#include <stdint.h>

#include "parley/mailbox.h"
#include "parley/sdp.h"

struct pl_dtls_ctx;
struct pl_recorder;
struct pl_worker;

#define PL_MAX_PUBLISH_TRACKS 4
#define PL_MAX_LAYERS 3          /* simulcast layers of one video track */
#define PL_ICE_UFRAG_LEN 16
#define PL_ICE_PWD_LEN 32

/* Per m-line media description the worker needs: codec <-> payload type maps. */
struct pl_media_codecs {
    uint8_t pt_codec[128];          /* payload type -> enum pl_codec (0: none) */
    uint8_t codec_pt[16];           /* enum pl_codec -> payload type (0xff: none) */
    uint8_t rtx_pt_of_codec[16];    /* enum pl_codec -> its RTX payload type (0xff: none) */
};

struct pl_publish_spec {
    enum pl_media_kind kind;
    char mid[32];
    uint32_t ssrc;                  /* 0 when the SDP gave none: learnt from the MID extension */
    uint32_t rtx_ssrc;
    struct pl_media_codecs codecs;
    /* Simulcast: the rids of the layers, lowest quality first (offer order); none: one layer. */
    char rids[PL_MAX_LAYERS][16];
    int n_rids;
    /* RTCP feedback the publisher accepts (a=rtcp-fb): keyframes are asked for with PLI, or
     * FIR where only that was negotiated; REMB when it did not negotiate transport-cc. */
    bool fb_pli, fb_fir, fb_remb;
};

struct pl_slot_spec {
    enum pl_media_kind kind;
    char mid[32];
    uint32_t out_ssrc;              /* the SSRC the node sends on this slot, fixed for its life */
    uint32_t out_rtx_ssrc;          /* where resends go as RTX (RFC 4588); 0: plain repeats */
    struct pl_media_codecs codecs;
};

/* PL_CMD_PEER_ADD payload: one allocation (slots is a flexible array). */
struct pl_peer_spec {
    struct pl_msg hdr;
    uint32_t peer_id;
    char local_ufrag[PL_ICE_UFRAG_LEN + 1];
    char local_pwd[PL_ICE_PWD_LEN + 1];
    char remote_ufrag[64];
    uint8_t remote_fp[32];
    bool dtls_server;
    /* The node's own recorder (a peer with no network): what its slots receive is written to
     * this recording instead of being sent. NULL for every other peer. */
    struct pl_recorder *recorder;
    /* Data channels: the offer had an m=application line the answer accepted. Chat messages on
     * a channel labelled "chat" go to the peers of the same meeting, stamped with the sender. */
    bool data_channel;
    uint64_t meeting_key;           /* the same for every peer of one meeting */
    char account_id[129];
    uint8_t ext_id[PL_EXT_COUNT];   /* negotiated header extension ids (0: none) */
    struct pl_publish_spec publish[PL_MAX_PUBLISH_TRACKS];
    int n_publish;
    int n_slots;
    struct pl_slot_spec slots[];
};

enum pl_worker_cmd {
    PL_CMD_PEER_ADD = 1,   /* struct pl_peer_spec */
    PL_CMD_PEER_REMOVE,    /* struct pl_cmd_peer */
    PL_CMD_SLOT_BIND,      /* struct pl_cmd_bind */
    PL_CMD_REC_KEYFRAME,   /* struct pl_cmd_rec_keyframe (from the recorder's thread) */
    PL_CMD_DC_OUT,         /* struct pl_cmd_dc_out (SCTP from the thread driving usrsctp's timers) */
};

/* An SCTP packet for a peer's DTLS connection, made on another thread. */
struct pl_cmd_dc_out {
    struct pl_msg hdr;
    uint32_t peer_id;
    size_t len;
    uint8_t data[];
};

/* The recorder wants a keyframe on one of its tracks. */
struct pl_cmd_rec_keyframe {
    struct pl_msg hdr;
    uint32_t peer_id;      /* the recorder's peer */
    int track;             /* the recorder's track handle */
};

struct pl_cmd_peer {
    struct pl_msg hdr;
    uint32_t peer_id;
};

/* Binds subscriber slot `slot` to the publisher's track of the slot's kind
 * (publisher_id 0: unbind, the slot goes quiet). */
struct pl_cmd_bind {
    struct pl_msg hdr;
    uint32_t subscriber_id;
    int slot;
    uint32_t publisher_id;
    int64_t bitrate;   /* video: what the subscriber asked for (bits/s): picks the layer */
    char publisher_name[129]; /* whose feed it is, an account id (names the recorder's tracks) */
};

enum pl_worker_event_type {
    PL_EV_PEER_CONNECTED = 1, /* ICE nominated and DTLS-SRTP keys in place */
    PL_EV_PEER_FAILED,        /* DTLS failed, or ICE consent / connect timeout */
    PL_EV_AUDIO_LEVELS,       /* struct pl_levels_event */
    PL_EV_RECORDER_DETACHED,  /* the recorder's peer is gone: nothing feeds the recording now */
};

struct pl_worker_event {
    struct pl_msg hdr;
    int worker;
    uint32_t peer_id;
    char reason[96];
};

/* Once a second: how loud each peer that sent audio was (RFC 6464 levels, averaged). */
struct pl_peer_level {
    uint32_t peer_id;
    uint8_t loudness;   /* 127 - mean dBov: 0 silence, ~100 speech */
};

struct pl_levels_event {
    struct pl_msg hdr;
    int n;
    struct pl_peer_level levels[];
};

struct pl_worker_config {
    int index;
    const char *bind_ip;
    uint16_t port;
    const struct pl_dtls_ctx *dtls_template; /* certificate shared by all workers */
    struct pl_mailbox *events;               /* where events go (the main loop's mailbox) */
    int consent_timeout_ms;                  /* no valid STUN for this long: peer failed */
    double drop_rate;                        /* test aid: drop this fraction of packets (0) */
    int test_downlink_kbps;                  /* test aid: cap what goes to each peer (0: none) */
};

/* Binds the socket and starts the thread. NULL on failure (port in use...). */
struct pl_worker *pl_worker_start(const struct pl_worker_config *cfg);
/* Posts a command (ownership passes to the worker). -1 when the worker is stopping. */
int pl_worker_post(struct pl_worker *w, struct pl_msg *cmd);
/* Stops the thread, closes every peer and frees everything. */
void pl_worker_stop(struct pl_worker *w);

/* Counters for /metrics, as of the worker's last tick (at most a second old). */
struct pl_worker_stats {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t rx_stun, rx_dtls, rx_rtp, rx_rtcp, rx_dropped;
    uint64_t forwarded_rtp, srtp_errors, send_errors;
    uint64_t nacks_received;    /* sequence numbers subscribers asked for again */
    uint64_t retransmissions;   /* of those, resent from the retransmission ring */
    uint64_t twcc_feedback;     /* transport-cc feedback packets sent to publishers */
    uint64_t remb_sent;         /* REMB messages sent to publishers without transport-cc */
    uint64_t rtcp_reports;      /* compound SR/RR packets sent */
    uint64_t keyframe_requests; /* PLIs sent to publishers */
    uint64_t nacks_sent;        /* sequence numbers NACKed to publishers */
    uint64_t rtx_received;      /* retransmissions (RTX) received from publishers */
    uint64_t rx_layer_packets[PL_MAX_LAYERS]; /* video packets received per simulcast layer */
    uint64_t layer_switches;    /* slots moved to another simulcast layer */
    uint64_t chat_messages;     /* chat messages received on data channels */
    uint64_t chat_deliveries;   /* and sent on to the other peers of their meeting */
    uint64_t test_dropped;      /* datagrams the test aids (drop rate, downlink cap) dropped */
    uint64_t peers;
};
void pl_worker_get_stats(struct pl_worker *w, struct pl_worker_stats *out);

/* Per-stream figures, also as of the last tick. A layer is one RTP stream a peer publishes
 * (audio, or one simulcast layer of video); a consumer is one slot of a subscriber. */
struct pl_layer_stat {
    uint32_t peer_id;
    char mid[32];
    enum pl_media_kind kind;
    int layer;                 /* 0 lowest; audio and non-simulcast video: 0 */
    char rid[16];              /* "" without simulcast */
    uint64_t packets, bytes;
    uint32_t bitrate;          /* bits/s over the last second */
    uint64_t keyframe_requests, nacks_sent, rtx_received;
    int64_t lost;              /* as the node's receiver reports say */
    uint32_t jitter;           /* RTP clock units */
};

struct pl_consumer_stat {
    uint32_t peer_id;          /* the subscriber */
    char mid[32];              /* its slot */
    enum pl_media_kind kind;
    uint32_t source_peer_id;   /* 0: the slot is unbound */
    int layer, target;         /* -1: none */
    uint64_t packets, bytes;
    uint32_t bitrate;
    uint64_t layer_switches, keyframe_requests, nacks, retransmissions;
};

/* Calls the visitors for every stream of the worker's last snapshot (under its lock: the
 * visitors must be quick and must not call back into the worker). */
void pl_worker_visit_streams(struct pl_worker *w,
                             void (*on_layer)(const struct pl_layer_stat *, void *),
                             void (*on_consumer)(const struct pl_consumer_stat *, void *),
                             void *ud);

#endif
