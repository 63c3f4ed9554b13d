/* Loss detection on a stream received from a publisher: gaps in the sequence numbers become
 * missing packets, which are NACKed upstream (pl_rtcp_build_nack) until they arrive (late or as
 * RTX), were asked for PL_NACK_MAX_TRIES times, or are older than PL_NACK_MAX_AGE_MS.
 * One thread, no I/O, no allocation: a zeroed struct (or pl_nack_gen_init) is ready. */
#ifndef PARLEY_NACK_GEN_H
#define PARLEY_NACK_GEN_H
#include <stdbool.h>
#include <stdint.h>

#define PL_NACK_MAX_MISSING 256   /* list bound; the oldest losses are given up beyond it */
#define PL_NACK_MAX_TRIES 10      /* NACKs per missing packet */
#define PL_NACK_MAX_AGE_MS 1000   /* a loss older than this is not worth asking for */
#define PL_NACK_RESET_JUMP 1000   /* a larger seq jump restarts tracking instead of listing */
#define PL_NACK_MIN_RTT_MS 20     /* floor of the spacing between NACKs for one packet */

struct pl_nack_missing {
    uint16_t seq;
    uint8_t tries;        /* NACKs sent so far */
    uint64_t lost_ms;     /* when the gap was seen */
    uint64_t sent_ms;     /* last NACK, valid when tries > 0 */
};

struct pl_nack_gen {
    bool started;
    uint16_t highest;     /* highest sequence number received */
    int count;            /* entries in missing[], oldest first (ascending seq) */
    struct pl_nack_missing missing[PL_NACK_MAX_MISSING];
};

void pl_nack_gen_init(struct pl_nack_gen *gen);

/* A media packet arrived. Returns true when losses were given up (a forward jump of more than
 * PL_NACK_RESET_JUMP, a backward one with losses pending, or more gaps than the list holds):
 * the caller should then ask for a keyframe (PLI) instead of waiting for retransmissions. */
bool pl_nack_gen_on_packet(struct pl_nack_gen *gen, uint16_t seq, uint64_t now_ms);

/* A packet came back as RTX (its original sequence number): no longer missing.
 * Returns true when it was on the list. */
bool pl_nack_gen_on_recovered(struct pl_nack_gen *gen, uint16_t seq);

/* Writes the sequence numbers to NACK now (ascending, at most max) and counts them as sent:
 * never-asked ones, and ones last asked at least max(rtt_ms, PL_NACK_MIN_RTT_MS) ago. Drops
 * entries that are too old or were asked PL_NACK_MAX_TRIES times. Returns the count. */
int pl_nack_gen_due(struct pl_nack_gen *gen, uint64_t now_ms, uint32_t rtt_ms, uint16_t *out,
                    int max);

#endif
