/* Retransmission store of one producer layer: the last `capacity` RTP packets (decrypted),
 * indexed by sequence number, so subscribers' NACKs can be answered without asking the
 * publisher; and the RFC 4588 RTX packet built from a stored packet. One thread, no I/O;
 * all storage is allocated once at init. */
#ifndef PARLEY_RTX_RING_H
#define PARLEY_RTX_RING_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_RTX_MAX_PACKET 1500 /* bytes per slot; bigger packets are not stored */

struct pl_rtx_slot {
    int64_t ext_seq;      /* unwrapped sequence number held, valid only when len != 0 */
    uint64_t stored_ms;   /* when it was put */
    uint64_t sent_ms;     /* last time it was resent (see should_resend), valid when resent */
    uint32_t ts;          /* RTP timestamp, kept for the caller's diagnostics */
    uint16_t len;         /* 0: empty */
    bool resent;
};

struct pl_rtx_ring {
    struct pl_rtx_slot *slots;
    uint8_t *data;        /* capacity * PL_RTX_MAX_PACKET bytes */
    uint32_t mask;        /* capacity - 1 */
    uint32_t max_age_ms;
    bool started;
    int64_t highest;      /* highest unwrapped sequence number put */
};

/* capacity: a power of two from 2 to 65536 (e.g. 1024, ~2 s of 720p video); max_age_ms > 0.
 * 0 on success, -1 on bad arguments or allocation failure (ring left freeable). */
int pl_rtx_ring_init(struct pl_rtx_ring *ring, uint32_t capacity, uint32_t max_age_ms);
void pl_rtx_ring_free(struct pl_rtx_ring *ring);

/* Copies a packet in (seq as sent by the publisher). false when refused: len is 0 or above
 * PL_RTX_MAX_PACKET, or its slot already holds a newer packet. */
bool pl_rtx_ring_put(struct pl_rtx_ring *ring, uint16_t seq, uint32_t ts, uint64_t now_ms,
                     const uint8_t *rtp, size_t len);

/* The stored packet `seq` if it is still there (not overwritten, not older than max_age_ms).
 * *rtp points into the ring: valid until the next put. */
bool pl_rtx_ring_get(const struct pl_rtx_ring *ring, uint16_t seq, uint64_t now_ms,
                     const uint8_t **rtp, size_t *len);

/* Rate guard for answering NACKs: true (and records the resend at now_ms) when `seq` is
 * stored and was not resent in the last min_interval_ms (use ~RTT/2). false when it is not
 * stored or was resent too recently, so several NACKs for one packet cost one resend. */
bool pl_rtx_ring_should_resend(struct pl_rtx_ring *ring, uint16_t seq, uint64_t now_ms,
                               uint32_t min_interval_ms);

/* RFC 4588 RTX packet of `rtp` into out: the header (CSRCs and header extension kept, marker and
 * timestamp kept) with PT, SSRC and sequence number replaced, then the original sequence number
 * (2 bytes), then the original payload without its padding. out must not overlap rtp.
 * Returns bytes written, 0 when rtp is malformed or cap is too small. */
size_t pl_rtx_build(uint8_t *out, size_t cap, const uint8_t *rtp, size_t len, uint8_t rtx_pt,
                    uint32_t rtx_ssrc, uint16_t rtx_seq);

#endif
