/* Internal state of a media worker: peers, their published tracks and their slots.
 * Everything here is touched only by the worker's own thread. */
#ifndef PARLEY_SFU_WORKER_INT_H
#define PARLEY_SFU_WORKER_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <uv.h>

#include "parley/downlink.h"
#include "parley/dtls.h"
#include "parley/hashmap.h"
#include "parley/keyframe_gate.h"
#include "parley/mailbox.h"
#include "parley/pool.h"
#include "parley/rewrite.h"
#include "parley/nack_gen.h"
#include "parley/rtx_ring.h"
#include "parley/rx_stats.h"
#include "parley/twcc.h"
#include "parley/vp8.h"
#include "parley/srtp.h"
#include "parley/worker.h"

#define PL_PKT_BUF 1600          /* a pooled packet buffer: MTU + SRTP trailer */
#define PL_OUT_QUEUE_MAX 512     /* datagrams queued before a forced flush */
#define PL_CMD_STOP 1000         /* private command: leave the loop */
#define PL_RTX_RING_PACKETS 512  /* per video track: ~2 s at 2 Mbit/s */
#define PL_RTX_RING_MS 2000
#define PL_FEEDBACK_MS 100       /* transport-cc feedback interval */
#define PL_NACK_MS 20            /* how often losses towards publishers are NACKed */

struct pl_peer;
struct pl_slot;

/* One RTP stream of a track: the track itself, or one simulcast layer of it. */
struct pl_layer {
    uint32_t ssrc;            /* 0 until known (simulcast: learnt from the RID extension) */
    uint32_t rtx_ssrc;
    struct pl_rtx_ring *ring; /* video: what was received, for subscribers' NACKs */
    struct pl_nack_gen *nack; /* video: what the publisher's packets lost on the way in */
    struct pl_keyframe_gate kf; /* when to ask it for a keyframe */
    uint8_t fir_seq;          /* RFC 5104 command sequence number of our FIRs */
    uint64_t bytes;           /* received since the last tick */
    uint32_t bitrate;         /* bits/s over the last tick; 0: the layer is not being sent */
    uint32_t bitrate_peak;    /* the highest recent bitrate, decaying 1/8 a tick: its cost */
    struct pl_rx_stats rx;    /* for receiver reports; its last SR maps the layer's clock */
    /* Totals for /metrics. */
    uint64_t packets_total, bytes_total;
    uint64_t keyframe_requests; /* PLI/FIR sent for this layer */
    uint64_t nacks_sent;        /* sequence numbers NACKed */
    uint64_t rtx_received;      /* retransmissions received */
};

/* A stream a peer publishes (one per publish m-line). */
struct pl_track {
    struct pl_peer *owner;
    struct pl_publish_spec spec;
    struct pl_layer layers[PL_MAX_LAYERS];
    int n_layers;
    struct pl_slot **consumers;  /* slots bound to this track */
    int n_consumers;
    int cap_consumers;
    uint32_t level_sum;    /* RFC 6464 levels (-dBov) since the last report */
    uint32_t level_count;
};

/* A recvonly transceiver of a subscriber, which the node sends one track into. */
struct pl_slot {
    struct pl_peer *owner;
    int index;
    struct pl_slot_spec spec;
    struct pl_track *source;
    struct pl_rewriter rw; /* continuous SSRC stream across source changes */
    int layer;             /* layer of the source being forwarded; -1: none yet */
    int target;            /* layer to move to at its next keyframe */
    int64_t bitrate;       /* what the subscriber asked for (SUBSCRIBE) */
    struct pl_vp8_rewriter vp8; /* picture id / TL0PICIDX continuous across sources */
    uint16_t rtx_seq;      /* sequence numbers of the RTX stream (out_rtx_ssrc) */
    /* Totals for /metrics and Sender Reports. */
    uint64_t packets, bytes;   /* RTP packets sent and their size on the wire */
    uint64_t octets;           /* payload octets (the SR's octet count) */
    uint64_t bytes_tick;       /* since the last tick, for bitrate */
    uint32_t tx_bitrate;       /* bits/s sent over the last tick */
    uint64_t layer_switches;
    uint64_t keyframe_requests; /* PLI/FIR the subscriber sent on this slot */
    uint64_t nacks;             /* sequence numbers it NACKed */
    uint64_t retransmissions;   /* of those, resent */
    /* The recorder's slots: the recording's track for the current source (0: none yet). */
    int rec_track;
    enum pl_codec rec_codec;
    char feed_name[129];
};

enum pl_peer_state { PL_PEER_NEW = 0, PL_PEER_CHECKING, PL_PEER_CONNECTED, PL_PEER_FAILED };

struct pl_peer {
    struct pl_worker *w;
    uint32_t id;
    enum pl_peer_state state;
    char local_ufrag[PL_ICE_UFRAG_LEN + 1];
    char local_pwd[PL_ICE_PWD_LEN + 1];
    char remote_ufrag[64];
    uint8_t remote_fp[32];
    uint8_t ext_id[PL_EXT_COUNT];
    /* The nominated address packets go to. */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    bool has_addr;
    /* Every address that passed a binding check (keys into w->peers_by_addr). */
    uint64_t addr_keys[4];
    int n_addr_keys;
    uint64_t created_ms;
    uint64_t last_consent_ms;
    struct pl_dtls *dtls;
    uv_timer_t dtls_timer;
    bool srtp_ready;
    struct pl_srtp srtp;
    uint32_t rtcp_ssrc;  /* SSRC the node uses as RTCP sender towards this peer */
    struct pl_twcc_recv *twcc; /* transport-cc arrivals, when negotiated */
    /* Downlink (what the node sends this peer): measured rate and a loss-based estimate. */
    uint64_t tx_bytes;        /* since the last tick */
    uint32_t tx_bitrate;      /* bits/s over the last tick */
    struct pl_downlink_est downlink; /* loss-based, from its receiver reports */
    /* Uplink: REMB to a publisher without transport-cc (a receive-side, loss-based estimate). */
    bool remb;
    uint32_t remb_est;        /* bits/s last sent in REMB */
    double bucket_bits;       /* test aid (--test-downlink-kbps): token bucket */
    uint64_t bucket_ms;
    struct pl_recorder *rec;  /* the node's recorder: slots feed it, nothing goes out */
    /* Data channels (dc_relay.c) */
    bool wants_dc;
    struct pl_dc *dc;
    int chat_sid;             /* the stream of its "chat" channel; -1: none open */
    uint64_t meeting_key;
    char account_id[129];
    struct pl_track tracks[PL_MAX_PUBLISH_TRACKS];
    int n_tracks;
    struct pl_slot *slots;
    int n_slots;
};

struct pl_out_pkt {
    uint8_t *buf;
    size_t len;
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

/* udp_in.c: one recvmmsg batch. Datagrams larger than a slot are dropped (MSG_TRUNC): peers
 * send at most ~1200-byte packets and DTLS records. */
#define PL_RX_BATCH 64
#define PL_RX_SLOT 4096
struct pl_rx {
    uint8_t bufs[PL_RX_BATCH][PL_RX_SLOT];
    struct mmsghdr msgs[PL_RX_BATCH];
    struct iovec iov[PL_RX_BATCH];
    struct sockaddr_storage addrs[PL_RX_BATCH];
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(struct timespec))];
    } ctrl[PL_RX_BATCH];
};

struct pl_worker {
    struct pl_worker_config cfg;
    char bind_ip[64];
    uv_thread_t thread;
    uv_loop_t loop;
    uv_poll_t rx_poll;     /* the UDP socket, read by udp_in.c */
    int fd;
    uv_timer_t tick;
    uv_timer_t feedback;   /* transport-cc feedback to publishers */
    uv_timer_t nack_timer; /* NACKs to publishers */
    uv_check_t flush_check;
    struct pl_mailbox inbox;
    uv_sem_t started;
    int start_error;
    bool stopping;
    struct pl_dtls_ctx *dtls_ctx;
    struct pl_rx rx;       /* recvmmsg buffers, reused for every batch */
    uint64_t rx_arrival_us; /* kernel arrival time of the datagram being handled (monotonic) */
    struct pl_pool bufs;   /* packet buffers for everything sent */
    struct pl_map peers_by_id;
    struct pl_map peers_by_addr;
    struct pl_map peers_by_ufrag;
    struct pl_out_pkt out[PL_OUT_QUEUE_MAX];
    int n_out;
    uint64_t rng;          /* xorshift state for test drops */
    struct pl_worker_stats stats;     /* the worker's own counters, touched only by it */
    pthread_mutex_t stats_mu;         /* guards `published` and the stream snapshots */
    struct pl_worker_stats published; /* a copy made every tick, read by the main thread */
    pthread_t tid;                    /* the worker's thread (data channel sends check it) */
    struct pl_chat_msg *chat_head, *chat_tail; /* received, to relay once SCTP input returns */
    struct pl_layer_stat *layer_stats;
    size_t n_layer_stats;
    struct pl_consumer_stat *consumer_stats;
    size_t n_consumer_stats;
};

/* rec_sink.c: the recorder's peer. Its slots' packets (already rewritten into the slot's
 * stream) go to the recording, one recording track per slot and source. */
void pl_rec_sink_packet(struct pl_slot *s, const uint8_t *rtp, size_t len, enum pl_codec codec,
                        uint64_t now_us);
void pl_rec_sink_source_changed(struct pl_slot *s); /* the slot's source changed or went away */
void pl_rec_sink_tick(struct pl_peer *p, uint64_t now_us); /* Sender Reports -> lip sync */
void pl_rec_sink_keyframe(struct pl_peer *p, int track);
/* rtcp_reports.c: the NTP/RTP pair of the slot's stream now, on its source's clock (false: the
 * source has sent no Sender Report yet). */
bool pl_slot_source_clock(const struct pl_slot *s, uint64_t now_us, uint64_t *ntp, uint32_t *rtp_ts);

/* dc_relay.c: data channels of a peer, and chat between the peers of a meeting. */
struct pl_chat_msg;
void pl_peer_dc_start(struct pl_peer *p);     /* DTLS is up: the SCTP association starts */
void pl_peer_dc_input(struct pl_peer *p, const uint8_t *data, size_t len); /* DTLS app data */
void pl_peer_dc_free(struct pl_peer *p);
void pl_dc_out_command(struct pl_worker *w, const struct pl_cmd_dc_out *c);
void pl_chat_free_all(struct pl_worker *w);

/* stream_stats.c: each tick, a snapshot of every stream's figures for /metrics. */
void pl_publish_stream_stats(struct pl_worker *w);
void pl_free_stream_stats(struct pl_worker *w);

/* worker.c: test aid (--drop-rate): true for the datagrams to lose. */
bool pl_test_drop(struct pl_worker *w);

/* udp_in.c: binds the worker's socket and starts reading it; the fd is closed apart, once
 * the loop has closed the poll handle. */
int pl_in_open(struct pl_worker *w);
void pl_in_close_fd(struct pl_worker *w);

/* udp_out.c */
uint8_t *pl_out_buf(struct pl_worker *w);                 /* NULL when the pool is exhausted */
void pl_out_release(struct pl_worker *w, uint8_t *buf);
void pl_out_queue(struct pl_worker *w, struct pl_peer *p, uint8_t *buf, size_t len);
void pl_out_queue_to(struct pl_worker *w, uint8_t *buf, size_t len, const struct sockaddr *to,
                     socklen_t to_len);
void pl_out_flush(struct pl_worker *w);

/* peer.c */
struct pl_peer *pl_peer_create(struct pl_worker *w, const struct pl_peer_spec *spec);
void pl_peer_destroy(struct pl_peer *p);
void pl_peer_fail(struct pl_peer *p, const char *reason);
struct pl_peer *pl_peer_by_addr(struct pl_worker *w, const struct sockaddr *sa);
void pl_peer_learn_addr(struct pl_peer *p, const struct sockaddr *sa, bool nominate);
void pl_peer_on_dtls(struct pl_peer *p, const uint8_t *data, size_t len);
void pl_peer_bind_slot(struct pl_peer *sub, int slot, struct pl_peer *pub, int64_t bitrate);
uint64_t pl_addr_key(const struct sockaddr *sa);
socklen_t pl_sockaddr_len(const struct sockaddr *sa);

/* ice_lite.c */
void pl_ice_on_stun(struct pl_worker *w, uint8_t *data, size_t len, const struct sockaddr *from);

/* forward.c */
void pl_forward_rtp(struct pl_peer *p, uint8_t *data, size_t len);
void pl_forward_rtcp(struct pl_peer *p, uint8_t *data, size_t len);
/* Asks a layer for a keyframe (keyframe_gate.h: urgent for a slot that needs one now). */
void pl_request_keyframe(struct pl_track *t, int layer, bool urgent);
/* The layer that fits `bitrate` (pl_layer_for_budget on the recent peaks of the layers being
 * sent). */
int pl_choose_layer(const struct pl_track *t, int64_t bitrate);
/* The layer of its source that fits what slot s may use (its bitrate, capped by its share of
 * the subscriber's downlink estimate). */
int pl_slot_choose_layer(const struct pl_slot *s);
/* Sets the slot's target layer from its bitrate; asks for a keyframe when it changes. */
void pl_slot_retarget(struct pl_slot *s);
/* A subscriber's receiver report: adjusts its downlink estimate from the loss it reports. */
void pl_downlink_on_loss(struct pl_peer *p, uint8_t fraction_lost);
void pl_send_feedback(struct pl_peer *p);
void pl_slot_rewrite_vp8(struct pl_slot *s, uint8_t *payload, size_t len);
void pl_send_nacks(struct pl_peer *p, uint64_t now_ms);
/* The RTP clock rate of a track's streams. */
static inline uint32_t pl_track_clock(const struct pl_track *t)
{
    return t->spec.kind == PL_MEDIA_AUDIO ? 48000 : 90000;
}

/* rtcp_reports.c: once a second, receiver reports on what the peer publishes, sender reports
 * on what it is sent, and REMB where that is its congestion feedback. */
void pl_send_reports(struct pl_peer *p, uint64_t now_us);
/* A Sender Report from a publisher: remembered on its stream for lip sync and layer switches. */
void pl_on_sender_report(struct pl_peer *p, const struct pl_rtcp_sr *sr, uint64_t now_us);

#endif
