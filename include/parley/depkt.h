/* Recorder internals, part 1: RTP depacketizers (VP8 RFC 7741, VP9 RFC 9628, H.264 RFC 6184
 * modes 0/1, Opus RFC 7587) and the frame assembler (small jitter buffer) in front of them.
 * Everything here parses network input: it never reads outside the given buffers and turns
 * anything malformed into an error (the frame is dropped), never into a broken frame. */
#ifndef PARLEY_DEPKT_H
#define PARLEY_DEPKT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/recorder.h"

/* One RTP payload of a frame. A frame is passed as the payloads of consecutive sequence
 * numbers with one timestamp, in order. */
struct pl_depkt_pkt {
    const uint8_t *payload;
    size_t len;
};

/* One assembled frame: the MP4 sample (VP8/VP9 frame or superframe, H.264 access unit with
 * 4-byte length prefixes, Opus packet) and what the sample entry needs. */
struct pl_depkt_frame {
    uint8_t *data;              /* owned, reused from frame to frame */
    size_t len, cap;
    bool keyframe;
    uint16_t width, height;     /* from a key frame (VP8/VP9 header, H.264 SPS), else 0 */
    uint8_t profile, bit_depth; /* VP9: from the key frame's header; VP8: 0 and 8 */
    uint8_t chroma;             /* vpcC chromaSubsampling: 1 = 4:2:0, 2 = 4:2:2, 3 = 4:4:4 */
    uint8_t sps[256], pps[256]; /* H.264: the frame's last SPS and PPS (len 0 if none) */
    size_t sps_len, pps_len;
    unsigned samples;           /* Opus: samples at 48 kHz in the packet */
};

void pl_depkt_frame_free(struct pl_depkt_frame *f);

/* Each returns 0 with *f filled, or -1 when the packets do not make one whole, valid frame
 * (missing start or end, malformed descriptor, truncated key frame header). */
int pl_depkt_vp8(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f);
int pl_depkt_vp9(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f);
int pl_depkt_h264(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f);
int pl_depkt_opus(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f);
int pl_depkt_frame(enum pl_rec_codec c, const struct pl_depkt_pkt *p, size_t n,
                   struct pl_depkt_frame *f);

/* Whether a payload begins a frame, and a key frame (where assembly can resume after loss). */
bool pl_depkt_starts_frame(enum pl_rec_codec c, const uint8_t *payload, size_t len);
bool pl_depkt_starts_keyframe(enum pl_rec_codec c, const uint8_t *payload, size_t len);

/* What the recorder needs of an H.264 SPS (NAL unit with its header byte). */
struct pl_h264_sps {
    uint8_t profile;
    uint8_t chroma_format;      /* 0..3 (1 = 4:2:0 unless the profile says) */
    uint8_t bit_depth_luma, bit_depth_chroma; /* 8.. */
    uint16_t width, height;     /* after cropping */
};
/* 0, or -1 when malformed. */
int pl_h264_sps_parse(const uint8_t *sps, size_t len, struct pl_h264_sps *out);
int pl_h264_sps_size(const uint8_t *sps, size_t len, uint16_t *width, uint16_t *height);

/* The frame assembler: packets in any order, whole frames out in order. A gap that stays
 * open for jitter_us is a loss: the incomplete frame is dropped and, for video, nothing comes
 * out until the next key frame. */
#define PL_ASM_SLOTS 512
struct pl_asm_slot {
    bool used;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint64_t arrival_us;
    uint8_t *data;
    size_t len, cap;
};

struct pl_assembler {
    enum pl_rec_codec codec;
    bool video;
    uint64_t jitter_us;
    struct pl_asm_slot slot[PL_ASM_SLOTS];
    unsigned count;             /* slots in use */
    bool synced;                /* next_seq is where the next frame starts */
    bool need_key;              /* video: drop frames until a key frame */
    uint16_t next_seq;
    uint16_t newest_seq;
    uint64_t newest_arrival;
    uint64_t gap_since;         /* arrival clock when the current gap was seen, 0 = none */
    struct pl_depkt_frame frame;
    struct pl_depkt_pkt pkts[PL_ASM_SLOTS];
    /* counters */
    uint64_t frames, dropped_frames, late_packets, bad_packets, losses;
};

void pl_asm_init(struct pl_assembler *a, enum pl_rec_codec codec, unsigned jitter_ms);
void pl_asm_free(struct pl_assembler *a);
/* Forgets everything buffered (publisher restart): the next frame must be a key frame. */
void pl_asm_reset(struct pl_assembler *a);
/* Takes a copy of one packet's payload. */
void pl_asm_push(struct pl_assembler *a, uint16_t seq, uint32_t ts, bool marker,
                 const uint8_t *payload, size_t len, uint64_t arrival_us);

struct pl_asm_out {
    const struct pl_depkt_frame *frame; /* valid until the next pl_asm_* call */
    uint32_t ts;
    uint64_t arrival_us;        /* arrival of the frame's first packet */
};
/* 1 when a frame is out, 0 when none is ready. flush: every gap counts as lost now (stop).
 * *keyframe_wanted is set true when a loss means the publisher should send a key frame. */
int pl_asm_pop(struct pl_assembler *a, bool flush, struct pl_asm_out *out, bool *keyframe_wanted);

#endif
