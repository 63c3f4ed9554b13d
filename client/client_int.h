/* parley-client internals shared by the files of client/ (not a public header). */
#ifndef PARLEY_CLIENT_INT_H
#define PARLEY_CLIENT_INT_H
#include <nice/agent.h>

#include "parley/client.h"
#include "parley/datachannel.h"
#include "parley/client_media.h"
#include "parley/dtls.h"
#include "parley/nack_gen.h"
#include "parley/srtp.h"

struct lws_context;
struct lws;

struct pl_client_loop {
    GMainContext *ctx;
    GMainLoop *loop;
    struct lws_context *lws;
    struct pl_dtls_ctx *dtls;
    char fingerprint[96];
};

#define CL_MAX_RX 128           /* receive streams tracked */
#define CL_RING 512             /* packets kept per video layer for NACKs (~1 s at 2 Mbit/s) */
#define CL_MAX_PAYLOAD 1200     /* RTP payload limit (the header and SRTP trailer come on top) */
#define CL_PKT_CAP (1500 + PL_SRTP_MAX_TRAILER)
#define CL_MAX_USERS 64 /* users a client keeps track of (the first ones listed) */

struct ring_entry {
    uint16_t seq;
    uint16_t len;               /* payload length; 0 = empty */
    uint32_t ts;
    bool marker;
    uint8_t payload[CL_MAX_PAYLOAD];
};

/* One outgoing SSRC: audio, or one video layer. */
struct out_stream {
    uint32_t ssrc, rtx_ssrc;
    uint16_t seq, rtx_seq;
    uint32_t ts_offset;         /* random start of the RTP clock */
    int layer;                  /* -1 audio, 0.. video layer */
    int width, height, bitrate; /* synthetic video layer */
    uint16_t picture_id;
    uint8_t tl0picidx;
    uint32_t frame_no;
    bool force_key;
    uint64_t last_key_us;
    struct ring_entry *ring;    /* video only */
};

/* One incoming SSRC (RFC 3550 A.1 / A.8 bookkeeping). */
struct in_stream {
    struct pl_client_rx pub;
    uint32_t clock;
    uint16_t base_seq, max_seq;
    uint32_t cycles;
    int64_t last_transit;
    bool have_transit;
    double jitter;              /* in clock units */
    uint32_t expected_prior, received_prior;
    uint32_t lsr;               /* middle 32 bits of the last SR's NTP time */
    uint64_t lsr_at_us;
    struct pl_nack_gen *nack;   /* video streams only (when decrypting) */
    bool want_key;              /* losses were given up: ask for a key frame */
};

struct sig_out {                /* a queued WebSocket message */
    struct sig_out *next;
    size_t len;
    unsigned char data[];       /* LWS_PRE bytes, then the text */
};

struct pl_client {
    struct pl_client_loop *loop;
    struct pl_client_opts o;    /* strings point into `strings` */
    char *strings;
    pl_client_event_fn cb;
    void *user;
    enum pl_client_state state;
    char error[256];
    uint64_t t_start_us;

    /* signaling (client/signaling.c) */
    struct lws *wsi;
    struct sig_out *out_head, *out_tail;
    char *rx_text;
    size_t rx_len, rx_cap;
    bool joined, offer_sent;
    char users[CL_MAX_USERS][129];
    int n_users;
    const char *user_ptrs[CL_MAX_USERS];
    char subs[CL_MAX_USERS][129];
    int n_subs;
    struct pl_node_slot slots[PL_NODE_MSG_MAX_SLOTS];
    int n_slots;

    /* ICE / DTLS / SRTP (client/transport.c) */
    NiceAgent *agent;
    guint stream_id;
    bool gathered, have_answer;
    uint8_t remote_fp[32];
    struct pl_dtls *dtls;
    GSource *dtls_timer;
    struct pl_srtp srtp;
    bool srtp_ready;
    bool dc_wanted;             /* the answer accepted the m=application line */
    struct pl_dc *dc;

    /* from the answer (client/answer.c) */
    uint8_t pt_vp8, pt_rtx, pt_opus;
    bool has_rtx;
    uint8_t ext_mid, ext_rid, ext_rrid;
    char audio_mid[8], video_mid[8];
    struct { uint32_t ssrc; char mid[32]; bool video; uint32_t rtx_ssrc; } node_ssrcs[CL_MAX_RX];
    int n_node_ssrcs;

    /* sending (client/sender.c, client/sources.c) */
    struct out_stream audio, video[PL_OFFER_MAX_LAYERS];
    int n_layers;
    uint32_t rtcp_ssrc;         /* sender SSRC of RTCP when not publishing */
    struct pl_vp8_source *vp8;
    struct pl_opus_source *opus;
    uint8_t *frame_buf;         /* one video frame (synthetic or encoded) */
    size_t frame_cap;
    GSource *tick;
    uint64_t next_video_us, next_audio_us, next_rtcp_us;
    uint8_t pkt[CL_PKT_CAP];    /* the datagram being received */
    uint8_t tx[CL_PKT_CAP];     /* the packet being sent */

    /* receiving (client/receiver.c) */
    struct in_stream rx[CL_MAX_RX];
    int n_rx;
    int last_rx;                /* index of the stream of the previous packet */
    struct pl_vp8_assembler vasm;
    struct pl_ivf ivf;
    uint32_t ivf_ssrc;          /* 0 until the first video stream is chosen */
    uint64_t ivf_need_key_since_us, last_pli_us;
    struct pl_ogg_opus ogg;
    uint32_t ogg_ssrc;
    struct pl_client_rx rx_pub[CL_MAX_RX];

    /* Janus (client/janus_signaling.c, client/remote_offer.c) */
    uint64_t j_session, j_handle, j_feed;
    GSource *j_keepalive;
    unsigned j_tx;              /* transaction counter */
    char *j_offer;              /* subscriber: Janus' offer waiting for our candidates */
    size_t j_offer_len;
    bool j_sub_sent;            /* the subscriber join went out */
    bool j_busy;                /* a join/subscribe -> offer -> start exchange is in flight */
    bool j_leaving;
    char j_video_mids[CL_MAX_RX][32]; /* video lines of the last offer (for configure) */
    int j_n_video_mids;

    struct pl_client_stats st;
};

/* client.c */
void cl_set_state(struct pl_client *c, enum pl_client_state s);
void cl_fail(struct pl_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cl_event(struct pl_client *c, enum pl_client_event ev);

/* signaling.c */
int cl_sig_connect(struct pl_client *c);
void cl_sig_close(struct pl_client *c);
int cl_sig_send_json(struct pl_client *c, void *json /* json_t*, stolen */);
int cl_sig_send_offer(struct pl_client *c, const char *sdp);
void cl_sig_on_message(struct pl_client *c, const char *text, size_t len);
const struct lws_protocols *cl_sig_protocols(void);

/* janus_signaling.c */
void cl_janus_on_open(struct pl_client *c);
void cl_janus_on_message(struct pl_client *c, const char *text, size_t len);
int cl_janus_send_offer(struct pl_client *c, const char *sdp);
void cl_janus_on_gathered(struct pl_client *c);
int cl_janus_leave(struct pl_client *c);
void cl_janus_free(struct pl_client *c);

/* remote_offer.c: applies Janus' subscriber offer (ICE, fingerprint, payload types, SSRCs of
 * each line) and writes the answer (malloc'd, NULL on failure). */
char *cl_remote_offer_answer(struct pl_client *c, const char *sdp, size_t len);

/* transport.c */
int cl_local_candidates(struct pl_client *c, const char **lines, char **owned, int max);
int cl_ice_start(struct pl_client *c);
int cl_ice_set_remote(struct pl_client *c, const char *sdp, const char *ufrag, const char *pwd);
void cl_transport_free(struct pl_client *c);
void cl_send_raw(struct pl_client *c, const uint8_t *buf, size_t len);
void cl_dtls_start(struct pl_client *c, const uint8_t fp[32]);
void cl_dtls_feed(struct pl_client *c, const uint8_t *data, size_t len);

/* answer.c */
int cl_answer_apply(struct pl_client *c, const char *sdp, size_t len);
struct pl_sdp_media;
/* The Opus and VP8 payload types (and VP8's RTX) of a line, unless already known. */
void cl_learn_payload_types(struct pl_client *c, const struct pl_sdp_media *m);

/* sender.c */
int cl_sender_init(struct pl_client *c);
void cl_sender_free(struct pl_client *c);
void cl_sender_tick(struct pl_client *c, uint64_t now_us);
void cl_send_rtp(struct pl_client *c, struct out_stream *s, bool marker, uint32_t ts,
                 const uint8_t *payload, size_t len);
void cl_on_pli(struct pl_client *c, uint32_t media_ssrc);
void cl_on_nack(struct pl_client *c, uint32_t media_ssrc, uint16_t seq);
void cl_send_rtcp(struct pl_client *c, uint8_t *buf, size_t len, size_t cap);

/* receiver.c */
void cl_on_datagram(struct pl_client *c, const uint8_t *data, size_t len);
void cl_receiver_rtcp_report(struct pl_client *c, uint64_t now_us);
void cl_receiver_nack_tick(struct pl_client *c, uint64_t now_us);
int cl_receiver_init(struct pl_client *c);
void cl_receiver_free(struct pl_client *c);

/* sources: vp8_source.c, opus_source.c */
struct pl_vp8_source *pl_vp8_source_new(int width, int height, int fps, int bitrate);
void pl_vp8_source_free(struct pl_vp8_source *s);
/* Encodes the next test-pattern picture into out. Returns the frame length (0 when the
 * encoder dropped the frame, -1 on error); *key says whether it is a key frame. */
int pl_vp8_source_next(struct pl_vp8_source *s, bool force_key, uint8_t *out, size_t cap,
                       bool *key);
struct pl_opus_source *pl_opus_source_new(int freq_hz);
void pl_opus_source_free(struct pl_opus_source *s);
/* The next 20 ms of the tone, encoded. Returns the length or -1. */
int pl_opus_source_next(struct pl_opus_source *s, uint8_t *out, size_t cap);

#endif
