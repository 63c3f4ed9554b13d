#include "parley/nack_gen.h"

#include <string.h>

void pl_nack_gen_init(struct pl_nack_gen *gen) { memset(gen, 0, sizeof(*gen)); }

static uint64_t elapsed(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0; /* a clock going back counts as no time */
}

static void reset(struct pl_nack_gen *gen, uint16_t seq)
{
    gen->count = 0;
    gen->highest = seq;
}

static void drop_at(struct pl_nack_gen *gen, int i)
{
    memmove(&gen->missing[i], &gen->missing[i + 1],
            (size_t)(gen->count - i - 1) * sizeof(gen->missing[0]));
    gen->count--;
}

/* Appends a loss; when the list is full the oldest is given up (returns true). */
static bool add(struct pl_nack_gen *gen, uint16_t seq, uint64_t now_ms)
{
    bool dropped = false;
    if (gen->count == PL_NACK_MAX_MISSING) {
        drop_at(gen, 0);
        dropped = true;
    }
    gen->missing[gen->count++] = (struct pl_nack_missing){.seq = seq, .lost_ms = now_ms};
    return dropped;
}

bool pl_nack_gen_on_recovered(struct pl_nack_gen *gen, uint16_t seq)
{
    /* A linear scan is fine: the list is short (usually a handful, at most 256). */
    for (int i = 0; i < gen->count; i++) {
        if (gen->missing[i].seq == seq) {
            drop_at(gen, i);
            return true;
        }
    }
    return false;
}

bool pl_nack_gen_on_packet(struct pl_nack_gen *gen, uint16_t seq, uint64_t now_ms)
{
    if (!gen->started) {
        gen->started = true;
        reset(gen, seq);
        return false;
    }
    int d = (int16_t)(uint16_t)(seq - gen->highest);
    if (d == 0)
        return false; /* duplicate */
    /* Far off either way: the publisher restarted or skipped a lot; listing thousands of
     * losses would only flood it with NACKs for packets it has long dropped. */
    if (d > PL_NACK_RESET_JUMP || d < -PL_NACK_RESET_JUMP) {
        bool had_losses = gen->count > 0 || d > 0;
        reset(gen, seq);
        return had_losses;
    }
    if (d < 0) { /* late: reordered, or a retransmission sent on the original SSRC */
        pl_nack_gen_on_recovered(gen, seq);
        return false;
    }
    bool gave_up = false;
    uint16_t first = (uint16_t)(gen->highest + 1);
    if (d - 1 > PL_NACK_MAX_MISSING) { /* only the newest fit; the rest are given up */
        first = (uint16_t)(seq - PL_NACK_MAX_MISSING);
        gave_up = true;
    }
    for (uint16_t s = first; s != seq; s++)
        gave_up |= add(gen, s, now_ms);
    gen->highest = seq;
    return gave_up;
}

int pl_nack_gen_due(struct pl_nack_gen *gen, uint64_t now_ms, uint32_t rtt_ms, uint16_t *out,
                    int max)
{
    if (!out || max < 0)
        max = 0;
    /* Asking again before an RTT has passed would only duplicate a retransmission in flight. */
    uint64_t spacing = rtt_ms > PL_NACK_MIN_RTT_MS ? rtt_ms : PL_NACK_MIN_RTT_MS;
    int n = 0, kept = 0;
    for (int i = 0; i < gen->count; i++) {
        struct pl_nack_missing e = gen->missing[i];
        if (elapsed(now_ms, e.lost_ms) >= PL_NACK_MAX_AGE_MS || e.tries >= PL_NACK_MAX_TRIES)
            continue; /* given up */
        if (n < max && (e.tries == 0 || elapsed(now_ms, e.sent_ms) >= spacing)) {
            out[n++] = e.seq;
            e.tries++;
            e.sent_ms = now_ms;
        }
        gen->missing[kept++] = e;
    }
    gen->count = kept;
    return n;
}
