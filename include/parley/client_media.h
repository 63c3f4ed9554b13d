/* Pieces of parley-client that need no network: the SDP offer builder, the node's signaling
 * packets, the synthetic payload stamp, the VP8 packetizer, VP8 frame assembly and the IVF and
 * Ogg writers. Used by the client and by unit tests and fuzz targets. */
#ifndef PARLEY_CLIENT_MEDIA_H
#define PARLEY_CLIENT_MEDIA_H
#include "parley/datachannel.h" /* DCEP moved there; kept visible for old users */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- SDP offer (client/sdp_offer.c) ---------------------------------------------------- */

#define PL_OFFER_MAX_LAYERS 3
#define PL_OFFER_PT_OPUS 111
#define PL_OFFER_PT_VP8 96
#define PL_OFFER_PT_RTX 97
#define PL_OFFER_EXT_MID 4
#define PL_OFFER_EXT_RID 10
#define PL_OFFER_EXT_RRID 11

struct pl_offer_params {
    const char *ice_ufrag, *ice_pwd;
    const char *fingerprint;     /* "AB:CD:..." sha-256 */
    bool setup_active;           /* a=setup:active instead of actpass */
    const char *cname;
    const char *stream_id;       /* msid stream id of what this client sends */
    uint64_t session_id;
    bool send_audio;
    uint32_t audio_ssrc;
    bool send_video;
    int n_layers;                /* 1: a=ssrc + FID group; 2..3: a=rid + a=simulcast */
    uint32_t video_ssrc, video_rtx_ssrc; /* one layer only */
    int recv_video, recv_audio;  /* recvonly slots */
    const char *const *candidates; /* "candidate:..." lines (without "a="), may be NULL */
    int n_candidates;
    bool data_channel;           /* an m=application line (SCTP over DTLS) last */
};

/* The rid of layer i (0 lowest): "q", "h", "f". */
const char *pl_offer_rid(int layer);
/* Writes the offer (CRLF line ends): lines in order send audio, send video, recv video slots,
 * recv audio slots, data channel; mids "0", "1", ... Returns the length, or -1 if cap is too small or the
 * parameters are out of range. */
int pl_offer_write(const struct pl_offer_params *p, char *out, size_t cap);

/* ---- SDP answer to a remote offer (client/sdp_recv_answer.c) ------------------------- */

struct pl_sdp;

struct pl_recv_answer_params {
    const char *ice_ufrag, *ice_pwd;
    const char *fingerprint;     /* "AB:CD:..." sha-256 */
    uint64_t session_id;
    const char *const *candidates; /* "candidate:..." lines (without "a="), may be NULL */
    int n_candidates;
};

/* Answers an offer whose lines the client only receives (Janus' subscriber offer): every
 * audio line with Opus and every video line with VP8 (and its RTX) is accepted recvonly with
 * the offer's payload types and its mid header extension; anything else is rejected (port 0).
 * All accepted lines are bundled; a=setup:active (the client is the DTLS client); the
 * candidates go on the first accepted line. Returns the length, -1 when nothing can be
 * accepted or cap is too small. */
int pl_recv_answer_write(const struct pl_sdp *offer, const struct pl_recv_answer_params *p,
                         char *out, size_t cap);

/* ---- the node's signaling packets (client/node_msg.c) ----------------------------------- */

#define PL_NODE_MSG_MAX_USERS 1000 /* a meeting may be bigger than what a client keeps (CL_MAX_USERS) */
#define PL_NODE_MSG_MAX_SLOTS 128

enum pl_node_msg_type {
    PL_NODE_MEETING_USERS = 1, PL_NODE_JOIN, PL_NODE_LEAVE, PL_NODE_END, PL_NODE_JOIN_DENIED,
    PL_NODE_ERROR, PL_NODE_ANSWER, PL_NODE_SLOTS, PL_NODE_RECORDING, PL_NODE_ACTIVE_SPEAKER,
};

struct pl_node_slot {
    char mid[32];
    bool video;
    char account_id[129];
};

struct pl_node_msg {
    enum pl_node_msg_type type;
    char meeting_id[129];
    char account_id[129];        /* JOIN, LEAVE, ACTIVE_SPEAKER */
    char msg[256];               /* ERROR (cut to fit) */
    char *sdp;                   /* ANSWER (malloc'd) */
    size_t sdp_len;
    bool recording;              /* RECORDING */
    char (*users)[129];          /* MEETING_USERS (malloc'd) */
    int n_users;
    struct pl_node_slot *slots;  /* SLOTS (malloc'd) */
    int n_slots;
};

/* Parses one packet from the node. 0 ok (free with pl_node_msg_free), -1 with err otherwise:
 * not JSON, not an object, unknown or client-only content_type, missing or mistyped fields,
 * too many users or slots, ids too long. */
int pl_node_msg_parse(const char *text, size_t len, struct pl_node_msg *out, char *err,
                      size_t errlen);
void pl_node_msg_free(struct pl_node_msg *m);

/* ---- synthetic payload stamp (client/stamp.c) -------------------------------------------- */

/* The last PL_STAMP_LEN bytes of every synthetic payload: "PLST", the sender's CLOCK_REALTIME
 * in microseconds (big-endian 64 bits), a frame number (32 bits). */
#define PL_STAMP_LEN 16
void pl_stamp_write(uint8_t *out, uint64_t send_us, uint32_t frame);
/* True when the payload ends with a stamp; sets *send_us and *frame. */
bool pl_stamp_read(const uint8_t *payload, size_t len, uint64_t *send_us, uint32_t *frame);
uint64_t pl_realtime_us(void);

/* ---- VP8 packetizer (client/vp8_packetizer.c) -------------------------------------------- */

/* Splits one VP8 frame into RTP payloads of at most max_payload bytes, each with a 4-byte...
 * 6-byte payload descriptor (X, I with a 15-bit picture id, L TL0PICIDX, T TID 0). Calls emit
 * for each with the marker bit on the last. Returns the number of payloads, -1 when
 * max_payload is too small. buf is scratch of at least max_payload bytes. */
typedef void (*pl_vp8_emit_fn)(void *user, const uint8_t *payload, size_t len, bool marker);
int pl_vp8_packetize(const uint8_t *frame, size_t len, uint16_t picture_id, uint8_t tl0picidx,
                     size_t max_payload, uint8_t *buf, pl_vp8_emit_fn emit, void *user);

/* Fills a synthetic VP8 frame of `len` bytes (len >= 10 + PL_STAMP_LEN for key frames,
 * 3 + PL_STAMP_LEN otherwise): a valid VP8 frame tag (and key frame header with width and
 * height), filler, the stamp at the end. */
void pl_vp8_synth_frame(uint8_t *out, size_t len, bool key, int width, int height,
                        uint64_t send_us, uint32_t frame);

/* ---- VP8 frame assembly (client/vp8_assembler.c) ------------------------------------------ */

/* Rebuilds VP8 frames from RTP payloads in order: a frame is emitted on the marker bit when
 * no packet of it is missing; after a loss it waits for the next key frame. */
struct pl_vp8_assembler {
    uint8_t *buf;
    size_t cap, len;
    bool in_frame, broken, need_key;
    uint16_t next_seq;
    uint32_t ts;
    bool have_seq;
    uint64_t frames, dropped;
};
typedef void (*pl_vp8_frame_fn)(void *user, const uint8_t *frame, size_t len, uint32_t ts,
                                bool key);
int pl_vp8_asm_init(struct pl_vp8_assembler *a, size_t cap);
void pl_vp8_asm_free(struct pl_vp8_assembler *a);
/* Feeds one RTP packet's payload. Returns 1 when a frame was emitted, 0 when not, -1 when the
 * payload is not VP8 (dropped). */
int pl_vp8_asm_push(struct pl_vp8_assembler *a, uint16_t seq, uint32_t ts, bool marker,
                    const uint8_t *payload, size_t len, pl_vp8_frame_fn cb, void *user);

/* Key frame size from the VP8 key frame header (RFC 6386 9.1). false when not a key frame. */
bool pl_vp8_key_size(const uint8_t *frame, size_t len, int *width, int *height);

/* ---- IVF writer (client/ivf.c) -------------------------------------------------------------- */

struct pl_ivf {
    FILE *f;
    uint32_t frames;
    uint64_t first_ts;
    bool have_ts;
};
/* Creates the file; width and height go in the header (fixed up at close if 0). 0 ok. */
int pl_ivf_open(struct pl_ivf *w, const char *path, int width, int height);
/* Writes a frame with a 90 kHz RTP timestamp (stored in the 1/90000 timebase). 0 ok. */
int pl_ivf_write(struct pl_ivf *w, const uint8_t *frame, size_t len, uint32_t rtp_ts);
/* Sets width/height if still 0 (from the first key frame). */
void pl_ivf_set_size(struct pl_ivf *w, int width, int height);
/* Writes the frame count and closes. 0 ok. */
int pl_ivf_close(struct pl_ivf *w);

/* ---- Ogg Opus writer (client/ogg_opus.c) ---------------------------------------------------- */

struct pl_ogg_opus {
    FILE *f;
    uint32_t serial, page_seq;
    uint64_t granule;            /* 48 kHz samples so far */
    uint64_t packets;
    void *pending;               /* the packet held back for the end-of-stream page */
};
int pl_ogg_opus_open(struct pl_ogg_opus *w, const char *path, int channels, uint32_t serial);
/* One Opus packet (one page per packet: simple, a little overhead). samples at 48 kHz. */
int pl_ogg_opus_write(struct pl_ogg_opus *w, const uint8_t *pkt, size_t len, uint32_t samples);
int pl_ogg_opus_close(struct pl_ogg_opus *w);

#endif
