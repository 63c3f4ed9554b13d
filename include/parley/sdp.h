/* SDP (RFC 8866) as JSEP/WebRTC uses it (RFC 8829, 8839, 8843, 8853): parsing the offers that
 * Chromium and Firefox send, negotiating what the node supports, and writing the answer.
 * The node is always the answerer and always ICE-lite. */
#ifndef PARLEY_SDP_H
#define PARLEY_SDP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_SDP_MAX_MEDIA 128    /* 49 video + 49 audio slots, publish lines, data channel */
#define PL_SDP_MAX_CODECS 48
#define PL_SDP_MAX_EXTMAPS 24
#define PL_SDP_MAX_SSRCS 8
#define PL_SDP_MAX_RIDS 4
#define PL_SDP_MAX_SDP_LEN (512 * 1024) /* a Chromium offer with 49+49 slots is ~300 KB */

enum pl_media_kind { PL_MEDIA_AUDIO = 0, PL_MEDIA_VIDEO, PL_MEDIA_APPLICATION, PL_MEDIA_OTHER };
enum pl_direction { PL_DIR_SENDRECV = 0, PL_DIR_SENDONLY, PL_DIR_RECVONLY, PL_DIR_INACTIVE };
enum pl_setup { PL_SETUP_NONE = 0, PL_SETUP_ACTPASS, PL_SETUP_ACTIVE, PL_SETUP_PASSIVE };
enum pl_codec {
    PL_CODEC_OTHER = 0, PL_CODEC_OPUS, PL_CODEC_VP8, PL_CODEC_VP9, PL_CODEC_H264,
    PL_CODEC_AV1, PL_CODEC_RTX, PL_CODEC_RED, PL_CODEC_ULPFEC, PL_CODEC_TELEPHONE_EVENT
};
/* Header extensions the node understands. */
enum pl_ext {
    PL_EXT_MID = 0, PL_EXT_RID, PL_EXT_REPAIRED_RID, PL_EXT_ABS_SEND_TIME, PL_EXT_TRANSPORT_CC,
    PL_EXT_AUDIO_LEVEL, PL_EXT_COUNT
};

const char *pl_ext_uri(enum pl_ext e);      /* the extension's URI */
const char *pl_codec_name(enum pl_codec c); /* "opus", "VP8", ... as in rtpmap */

struct pl_sdp_codec {
    uint8_t pt;
    enum pl_codec codec;
    char name[24];          /* encoding name as written */
    uint32_t clock;
    uint8_t channels;       /* 0 when not given */
    char fmtp[160];         /* the a=fmtp parameters, "" when none */
    int apt;                /* RTX/RED: associated payload type from fmtp apt=, else -1 */
    int packetization_mode; /* H.264: 0/1 (default 0 when absent); -1 for other codecs */
    uint32_t profile_level_id; /* H.264 profile-level-id as a number; 0 when absent */
    bool fb_nack, fb_pli, fb_fir, fb_remb, fb_transport_cc; /* a=rtcp-fb for this pt (or '*') */
};

struct pl_sdp_extmap {
    uint8_t id;
    char uri[128];
    int ext;                /* enum pl_ext, or -1 when not one the node understands */
};

struct pl_sdp_rid {
    char id[16];
    bool send;              /* "a=rid:X send" (client sends this layer) */
};

struct pl_sdp_ssrc {
    uint32_t ssrc;
    uint32_t rtx_ssrc;      /* from a=ssrc-group:FID, 0 if none */
};

struct pl_sdp_media {
    enum pl_media_kind kind;
    char kind_name[16];
    uint16_t port;
    char proto[40];
    char fmt_list[256];     /* the m= line's format list as written (for rejected lines) */
    char mid[32];
    enum pl_direction dir;
    char ice_ufrag[64];     /* media-level ICE credentials; "" when only session-level */
    char ice_pwd[128];
    char fingerprint_alg[16];
    uint8_t fingerprint[64];
    size_t fingerprint_len;
    enum pl_setup setup;
    bool rtcp_mux;
    bool rtcp_rsize;
    bool bundle_only;
    struct pl_sdp_codec codecs[PL_SDP_MAX_CODECS];
    int n_codecs;
    struct pl_sdp_extmap extmaps[PL_SDP_MAX_EXTMAPS];
    int n_extmaps;
    struct pl_sdp_ssrc ssrcs[PL_SDP_MAX_SSRCS]; /* primary SSRCs (FID members folded in) */
    int n_ssrcs;
    char cname[64];
    char msid[160];
    struct pl_sdp_rid rids[PL_SDP_MAX_RIDS];
    int n_rids;
    bool simulcast;         /* a=simulcast present */
    int sctp_port;          /* a=sctp-port, 0 if none */
    int max_message_size;   /* a=max-message-size, 0 if none */
};

struct pl_sdp {
    char ice_ufrag[64];     /* session-level, "" when absent */
    char ice_pwd[128];
    bool ice_lite;
    char fingerprint_alg[16];
    uint8_t fingerprint[64];
    size_t fingerprint_len;
    enum pl_setup setup;
    char bundle_mids[PL_SDP_MAX_MEDIA][32]; /* a=group:BUNDLE members */
    int n_bundle;
    struct pl_sdp_media *media; /* heap array of n_media */
    int n_media;
};

/* Parses an SDP offer. 0 on success; negative with a message in err on malformed input
 * (missing v=/m= structure, oversize, too many m-lines, bad numbers). Unknown attributes are
 * ignored. pl_sdp_free must be called after success. */
int pl_sdp_parse(const char *text, size_t len, struct pl_sdp *out, char *err, size_t errlen);
void pl_sdp_free(struct pl_sdp *sdp);

/* ---- negotiation ---- */

struct pl_neg_codec {
    enum pl_codec codec;
    uint8_t pt;
    int rtx_pt;             /* -1 when no RTX */
    uint32_t clock;
    uint8_t channels;
    char fmtp[160];         /* the fmtp the answer carries for this codec */
    bool fb_nack, fb_pli, fb_fir, fb_remb, fb_transport_cc;
};

#define PL_NEG_MAX_CODECS 4

struct pl_neg_media {
    bool accepted;
    enum pl_media_kind kind;
    char mid[32];
    enum pl_direction dir;  /* the NODE's direction in the answer */
    struct pl_neg_codec codecs[PL_NEG_MAX_CODECS]; /* in the node's preference order */
    int n_codecs;
    uint8_t ext_id[PL_EXT_COUNT]; /* negotiated header extension ids; 0 = not negotiated */
    /* What the client sends on this line (node receives): from a=ssrc / a=rid. */
    struct pl_sdp_ssrc recv_ssrcs[PL_SDP_MAX_SSRCS];
    int n_recv_ssrcs;
    struct pl_sdp_rid recv_rids[PL_SDP_MAX_RIDS];
    int n_recv_rids;
    /* What the node sends on this line: filled by the caller before pl_sdp_write_answer. */
    uint32_t send_ssrc;
    uint32_t send_rtx_ssrc; /* 0: no RTX stream announced */
    char send_msid[96];     /* "stream-id track-id"; "" for none */
    /* Data channel. */
    int sctp_port;
    int max_message_size;
};

struct pl_negotiate_opts {
    bool transport_cc;      /* negotiate the transport-cc extension and feedback */
    bool remb;              /* negotiate goog-remb feedback */
    bool simulcast;         /* accept a=simulcast/rid on sending lines */
    bool data_channel;      /* accept an m=application line (SCTP over DTLS) */
    bool h264;              /* accept H.264 (packetization-mode=1) */
    bool vp9;               /* accept VP9 */
};

struct pl_negotiated {
    struct pl_neg_media *media; /* heap array, one per offered m-line, same order */
    int n_media;
    char remote_ufrag[64];
    char remote_pwd[128];
    uint8_t remote_fingerprint[32]; /* sha-256 */
    enum pl_setup local_setup;      /* PL_SETUP_PASSIVE: node is DTLS server; ACTIVE: client */
};

/* Decides what to accept: every m-line that can be bundled on one transport; audio Opus;
 * video VP8 first, then H.264 packetization-mode=1 (and VP9 when enabled) with their RTX;
 * the extensions of enum pl_ext that the offer carries. Requires ICE credentials, a sha-256
 * fingerprint and rtcp-mux. 0 on success, negative with err otherwise. */
int pl_sdp_negotiate(const struct pl_sdp *offer, const struct pl_negotiate_opts *opts,
                     struct pl_negotiated *out, char *err, size_t errlen);
void pl_negotiated_free(struct pl_negotiated *neg);

struct pl_answer_params {
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *fingerprint;   /* "AB:CD:..." sha-256, upper-case hex with colons */
    const char *candidate_ip;  /* the address clients reach the node's UDP port at */
    uint16_t candidate_port;
    const char *cname;         /* CNAME for the node's outgoing streams */
    uint64_t session_id;
};

/* Writes the answer (CRLF line ends). Returns the length, or -1 when cap is too small. */
int pl_sdp_write_answer(const struct pl_sdp *offer, const struct pl_negotiated *neg,
                        const struct pl_answer_params *p, char *out, size_t cap);

#endif
