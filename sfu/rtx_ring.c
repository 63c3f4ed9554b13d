#include "parley/rtx_ring.h"

#include <stdlib.h>
#include <string.h>

#include "parley/rtp.h"

int pl_rtx_ring_init(struct pl_rtx_ring *ring, uint32_t capacity, uint32_t max_age_ms)
{
    memset(ring, 0, sizeof(*ring));
    /* More than 65536 slots would be pointless: slots are indexed by the 16-bit seq. */
    if (capacity < 2 || capacity > 65536 || (capacity & (capacity - 1)) || max_age_ms == 0)
        return -1;
    ring->slots = calloc(capacity, sizeof(*ring->slots));
    ring->data = malloc((size_t)capacity * PL_RTX_MAX_PACKET);
    if (!ring->slots || !ring->data) {
        pl_rtx_ring_free(ring);
        return -1;
    }
    ring->mask = capacity - 1;
    ring->max_age_ms = max_age_ms;
    return 0;
}

void pl_rtx_ring_free(struct pl_rtx_ring *ring)
{
    free(ring->slots);
    free(ring->data);
    memset(ring, 0, sizeof(*ring));
}

/* The unwrapped seq nearest to the highest one put, so seqs 65536 apart never compare equal. */
static int64_t unwrap(const struct pl_rtx_ring *ring, uint16_t seq)
{
    return ring->highest + (int16_t)(uint16_t)(seq - (uint16_t)ring->highest);
}

static uint64_t elapsed(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0; /* a clock going back counts as no time */
}

/* The slot holding `seq`, if it is there and young enough. */
static struct pl_rtx_slot *find(const struct pl_rtx_ring *ring, uint16_t seq, uint64_t now_ms)
{
    if (!ring->slots || !ring->started)
        return NULL;
    struct pl_rtx_slot *s = &ring->slots[seq & ring->mask];
    if (s->len == 0 || s->ext_seq != unwrap(ring, seq))
        return NULL;
    if (elapsed(now_ms, s->stored_ms) >= ring->max_age_ms)
        return NULL;
    return s;
}

bool pl_rtx_ring_put(struct pl_rtx_ring *ring, uint16_t seq, uint32_t ts, uint64_t now_ms,
                     const uint8_t *rtp, size_t len)
{
    if (!ring->slots || !rtp || len == 0 || len > PL_RTX_MAX_PACKET)
        return false;
    int64_t ext;
    if (!ring->started) {
        ext = seq;
        ring->highest = ext;
        ring->started = true;
    } else {
        ext = unwrap(ring, seq);
        if (ext > ring->highest) {
            ring->highest = ext;
        } else if (ring->highest - ext > ring->mask) {
            /* Further back than the ring reaches: not a late packet but a publisher that
             * restarted its sequence. Forget everything rather than refuse it forever. */
            memset(ring->slots, 0, (size_t)(ring->mask + 1) * sizeof(*ring->slots));
            ring->highest = ext;
        }
    }
    /* Within the window the slot can only hold an older seq (or this one again), since
     * anything congruent and newer would be above the highest. */
    struct pl_rtx_slot *s = &ring->slots[seq & ring->mask];
    if (s->len == 0 || s->ext_seq != ext)
        s->resent = false; /* a duplicate keeps its resend history */
    s->ext_seq = ext;
    s->stored_ms = now_ms;
    s->ts = ts;
    s->len = (uint16_t)len;
    memcpy(ring->data + (size_t)(seq & ring->mask) * PL_RTX_MAX_PACKET, rtp, len);
    return true;
}

bool pl_rtx_ring_get(const struct pl_rtx_ring *ring, uint16_t seq, uint64_t now_ms,
                     const uint8_t **rtp, size_t *len)
{
    const struct pl_rtx_slot *s = find(ring, seq, now_ms);
    if (!s)
        return false;
    *rtp = ring->data + (size_t)(seq & ring->mask) * PL_RTX_MAX_PACKET;
    *len = s->len;
    return true;
}

bool pl_rtx_ring_should_resend(struct pl_rtx_ring *ring, uint16_t seq, uint64_t now_ms,
                               uint32_t min_interval_ms)
{
    struct pl_rtx_slot *s = find(ring, seq, now_ms);
    if (!s)
        return false;
    if (s->resent && elapsed(now_ms, s->sent_ms) < min_interval_ms)
        return false;
    s->resent = true;
    s->sent_ms = now_ms;
    return true;
}

size_t pl_rtx_build(uint8_t *out, size_t cap, const uint8_t *rtp, size_t len, uint8_t rtx_pt,
                    uint32_t rtx_ssrc, uint16_t rtx_seq)
{
    struct pl_rtp r;
    if (!out || pl_rtp_parse(rtp, len, &r) != 0)
        return 0;
    size_t n = r.header_len + 2 + r.payload_len;
    if (cap < n)
        return 0;
    memcpy(out, rtp, r.header_len);
    out[0] &= (uint8_t)~0x20; /* padding dropped (RFC 4588 4: the sender may re-pad) */
    out[1] = (uint8_t)((r.marker << 7) | (rtx_pt & 0x7f));
    out[2] = (uint8_t)(rtx_seq >> 8);
    out[3] = (uint8_t)rtx_seq;
    out[8] = (uint8_t)(rtx_ssrc >> 24);
    out[9] = (uint8_t)(rtx_ssrc >> 16);
    out[10] = (uint8_t)(rtx_ssrc >> 8);
    out[11] = (uint8_t)rtx_ssrc;
    out[r.header_len] = (uint8_t)(r.seq >> 8); /* OSN, RFC 4588 4 */
    out[r.header_len + 1] = (uint8_t)r.seq;
    if (r.payload_len)
        memcpy(out + r.header_len + 2, r.payload, r.payload_len);
    return n;
}
