/* Rewriting of RTP sequence numbers and timestamps for one outgoing stream (a slot), so that
 * it stays continuous when its source changes: out = in + offset, with the offsets recomputed
 * at the first packet of a new source from the last values sent and the time elapsed. */
#ifndef PARLEY_REWRITE_H
#define PARLEY_REWRITE_H
#include <stdbool.h>
#include <stdint.h>

struct pl_rewriter {
    bool started;        /* something was sent */
    bool resync;         /* next packet comes from a new source */
    uint16_t seq_offset;
    uint32_t ts_offset;
    uint16_t first_seq;  /* sent first from the current source (trails last_seq by <= 0x4000) */
    uint16_t last_seq;   /* highest sequence number sent */
    uint32_t last_ts;    /* timestamp of that packet */
    uint64_t last_ms;    /* when it was sent */
    bool has_ts_hint;    /* the next source's timestamp offset is known (Sender Reports) */
    uint32_t ts_hint;
};

/* The stream's next packet comes from another source. */
static inline void pl_rewrite_switch(struct pl_rewriter *rw)
{
    rw->resync = true;
    rw->has_ts_hint = false;
}

/* The same, when the new source's clock is known relative to the old one (both layers of one
 * simulcast track, aligned through their Sender Reports): ts_offset is what maps the new
 * source's timestamps onto the stream's timeline. It is used if it keeps the timestamps
 * moving forward by no more than the time elapsed plus half a second; otherwise the switch
 * falls back to the elapsed time. */
static inline void pl_rewrite_switch_aligned(struct pl_rewriter *rw, uint32_t ts_offset)
{
    rw->resync = true;
    rw->has_ts_hint = true;
    rw->ts_hint = ts_offset;
}

/* Maps an incoming packet; clock in Hz, now in ms. False: the packet is older than the current
 * source's first one (a late or retransmitted packet from before the switch), so its number
 * belongs to what the previous source sent; it must be dropped. */
bool pl_rewrite(struct pl_rewriter *rw, uint16_t in_seq, uint32_t in_ts, uint32_t clock,
                uint64_t now_ms, uint16_t *out_seq, uint32_t *out_ts);

/* Was out_seq (in the stream's numbering) sent before the current source began? */
bool pl_rewrite_predates_source(const struct pl_rewriter *rw, uint16_t out_seq);

#endif
