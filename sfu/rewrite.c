#include "parley/rewrite.h"

#include "parley/rtp.h"

/* The mark is kept at most this far behind the newest packet, so comparisons with it stay
 * valid however long a source lasts. */
#define FIRST_SEQ_TRAIL 0x4000

bool pl_rewrite_predates_source(const struct pl_rewriter *rw, uint16_t out_seq)
{
    /* Further behind the newest packet than the source's first one is. */
    return rw->started && !pl_seq_newer(out_seq, rw->last_seq) &&
           (uint16_t)(rw->last_seq - out_seq) > (uint16_t)(rw->last_seq - rw->first_seq);
}

bool pl_rewrite(struct pl_rewriter *rw, uint16_t in_seq, uint32_t in_ts, uint32_t clock,
                uint64_t now_ms, uint16_t *out_seq, uint32_t *out_ts)
{
    bool new_source = !rw->started || rw->resync;
    if (!rw->started) {
        rw->seq_offset = 0;
        rw->ts_offset = 0;
        rw->resync = false;
    } else if (rw->resync) {
        /* Continue right after the last packet sent, the timestamp advanced by the time that
         * passed (at least one tick, so it never repeats). */
        uint64_t gap_ms = now_ms > rw->last_ms ? now_ms - rw->last_ms : 0;
        uint32_t gap_ts = (uint32_t)(gap_ms * clock / 1000);
        rw->seq_offset = (uint16_t)(rw->last_seq + 1 - in_seq);
        rw->ts_offset = rw->last_ts + (gap_ts ? gap_ts : 1) - in_ts;
        if (rw->has_ts_hint) {
            int32_t step = (int32_t)(in_ts + rw->ts_hint - rw->last_ts);
            if (step > 0 && (int64_t)step <= (int64_t)gap_ts + clock / 2)
                rw->ts_offset = rw->ts_hint;
            rw->has_ts_hint = false;
        }
        rw->resync = false;
    }
    *out_seq = (uint16_t)(in_seq + rw->seq_offset);
    *out_ts = in_ts + rw->ts_offset;
    if (new_source)
        rw->first_seq = *out_seq;
    else if (pl_rewrite_predates_source(rw, *out_seq))
        return false;
    /* Late (reordered) packets keep their mapping but do not move the high-water mark. */
    if (new_source || pl_seq_newer(*out_seq, rw->last_seq)) {
        rw->last_seq = *out_seq;
        rw->last_ts = *out_ts;
        rw->last_ms = now_ms;
        if ((uint16_t)(rw->last_seq - rw->first_seq) > FIRST_SEQ_TRAIL)
            rw->first_seq = (uint16_t)(rw->last_seq - FIRST_SEQ_TRAIL);
    }
    rw->started = true;
    return true;
}
