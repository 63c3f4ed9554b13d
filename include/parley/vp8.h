/* VP8 RTP payload (RFC 7741): payload descriptor parsing, in-place rewriting of the picture id
 * and TL0PICIDX, and a per-stream rewriter that keeps them continuous when an outgoing stream
 * (a slot) changes source (simulcast layer switch, new participant in the slot).
 * Parsing never reads outside the given buffer. */
#ifndef PARLEY_VP8_H
#define PARLEY_VP8_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pl_vp8_desc {
    size_t desc_len;          /* payload descriptor length; the VP8 payload starts here */
    bool non_reference;       /* N */
    bool start_of_partition;  /* S */
    uint8_t partition_id;     /* PID (0..7) */
    bool start_of_frame;      /* S && PID == 0: the packet starts a frame (payload header) */
    bool keyframe;            /* start_of_frame and the payload header says key frame */
    bool has_picture_id;      /* I */
    bool picture_id_15bit;    /* M: the picture id is 15 bits (else 7) */
    uint16_t picture_id;
    bool has_tl0picidx;       /* L */
    uint8_t tl0picidx;
    bool has_tid;             /* T: tid and layer_sync are valid */
    uint8_t tid;              /* 0..3 */
    bool layer_sync;          /* Y */
    bool has_keyidx;          /* K */
    uint8_t keyidx;           /* 0..31 */
    size_t picture_id_off;    /* where the fields sit in the payload, for pl_vp8_rewrite */
    size_t tl0picidx_off;
};

/* 0 on success, negative when malformed: truncated descriptor, no VP8 data after it, or a
 * frame start shorter than the 3-byte VP8 payload header. */
int pl_vp8_parse(const uint8_t *payload, size_t len, struct pl_vp8_desc *out);

/* Writes picture_id and tl0picidx over the fields that the packet carries (those absent are
 * left alone: the descriptor cannot grow in place). A 7-bit field gets the low 7 bits.
 * `d` comes from pl_vp8_parse of this payload. 0 on success, negative if `d` does not fit. */
int pl_vp8_rewrite(uint8_t *payload, size_t len, const struct pl_vp8_desc *d, uint16_t picture_id,
                   uint8_t tl0picidx);

/* Picture id (15 bits) and TL0PICIDX (8 bits) of one outgoing stream: out = in + offset, where
 * the offsets are recomputed at the first packet of a new source so that it continues at the
 * last values sent + 1 (a switch lands on a key frame: a new picture, on temporal layer 0). */
struct pl_vp8_rewriter {
    bool started;           /* something was sent */
    bool resync;            /* next packet comes from a new source */
    uint16_t last_in_pid;   /* source picture id of the newest picture sent */
    uint16_t last_out_pid;  /* and what it went out as (15 bits) */
    uint8_t last_in_tl0;
    uint8_t last_out_tl0;
};

/* The stream's next packet comes from another source. */
static inline void pl_vp8_rewriter_switch(struct pl_vp8_rewriter *rw) { rw->resync = true; }

/* Maps a packet's picture id and TL0PICIDX. `pid_bits` is the source's picture id width, 7 or
 * 15 (struct pl_vp8_desc.picture_id_15bit), so a 7-bit source that wraps at 128 still counts
 * forward. A source without TL0PICIDX passes 0 (the output is then not meaningful). */
void pl_vp8_rewrite_map_bits(struct pl_vp8_rewriter *rw, uint16_t in_pid, unsigned pid_bits,
                             uint8_t in_tl0, uint16_t *out_pid, uint8_t *out_tl0);

/* The same for a source with 15-bit picture ids (what browsers send). */
static inline void pl_vp8_rewrite_map(struct pl_vp8_rewriter *rw, uint16_t in_pid, uint8_t in_tl0,
                                      uint16_t *out_pid, uint8_t *out_tl0)
{
    pl_vp8_rewrite_map_bits(rw, in_pid, 15, in_tl0, out_pid, out_tl0);
}

#endif
