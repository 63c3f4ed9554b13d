/* Frame assembler: a jitter buffer of PL_ASM_SLOTS packets indexed by sequence number. Frames
 * come out whole and in order; a gap open for jitter_us (or a full buffer, or a flush) is a
 * loss: the incomplete frame is dropped and video waits for the next key frame. */
#include <stdlib.h>
#include <string.h>

#include "parley/depkt.h"
#include "parley/rtp.h"

#define PAYLOAD_MAX 16384

void pl_asm_init(struct pl_assembler *a, enum pl_rec_codec codec, unsigned jitter_ms)
{
    memset(a, 0, sizeof(*a));
    a->codec = codec;
    a->video = codec != PL_REC_OPUS;
    a->jitter_us = (uint64_t)(jitter_ms ? jitter_ms : 200) * 1000;
    a->need_key = a->video;
}

void pl_asm_free(struct pl_assembler *a)
{
    for (int i = 0; i < PL_ASM_SLOTS; i++)
        free(a->slot[i].data);
    pl_depkt_frame_free(&a->frame);
    memset(a, 0, sizeof(*a));
}

static void drop_slot(struct pl_assembler *a, struct pl_asm_slot *s)
{
    if (s->used) {
        s->used = false;
        a->count--;
    }
}

static void drop_all(struct pl_assembler *a)
{
    for (int i = 0; i < PL_ASM_SLOTS; i++)
        drop_slot(a, &a->slot[i]);
}

void pl_asm_reset(struct pl_assembler *a)
{
    drop_all(a);
    a->synced = false;
    a->need_key = a->video;
    a->gap_since = 0;
}

static struct pl_asm_slot *at(struct pl_assembler *a, uint16_t seq)
{
    struct pl_asm_slot *s = &a->slot[seq % PL_ASM_SLOTS];
    return s->used && s->seq == seq ? s : NULL;
}

void pl_asm_push(struct pl_assembler *a, uint16_t seq, uint32_t ts, bool marker,
                 const uint8_t *payload, size_t len, uint64_t arrival_us)
{
    /* An empty payload is padding (bandwidth probing): it holds a sequence number, so it
     * is kept as a placeholder and skipped, not counted as a loss. */
    if ((!payload && len) || len > PAYLOAD_MAX) {
        a->bad_packets++;
        return;
    }
    if (arrival_us > a->newest_arrival)
        a->newest_arrival = arrival_us;
    if (a->synced) {
        uint16_t ahead = (uint16_t)(seq - a->next_seq);
        /* Output (re)started at a later packet of this very frame (an H.264 key frame synced
         * on its IDR fragment before its SPS/PPS packet came): the frame starts here. */
        struct pl_asm_slot *next = at(a, a->next_seq);
        if (ahead == 0xffff && next && next->ts == ts &&
            pl_depkt_starts_frame(a->codec, payload, len)) {
            a->next_seq = seq;
            ahead = 0;
        }
        if (ahead >= 0x8000) { /* older than what already came out */
            a->late_packets++;
            return;
        }
        if (ahead >= PL_ASM_SLOTS) {
            /* Too far ahead to wait for what is missing: everything buffered is lost. */
            drop_all(a);
            a->synced = false;
            a->need_key = a->video;
            a->losses++;
        }
    }
    struct pl_asm_slot *s = &a->slot[seq % PL_ASM_SLOTS];
    if (s->used && s->seq == seq)
        return; /* duplicate (retransmission of something we have) */
    if (s->used) /* unsynced: an older packet in the same slot goes */
        drop_slot(a, s);
    if (len > s->cap) {
        uint8_t *d = realloc(s->data, len < 1500 ? 1500 : len);
        if (!d) {
            a->bad_packets++;
            return;
        }
        s->data = d;
        s->cap = len < 1500 ? 1500 : len;
    }
    if (len)
        memcpy(s->data, payload, len);
    s->len = len;
    s->seq = seq;
    s->ts = ts;
    s->marker = marker;
    s->arrival_us = arrival_us;
    s->used = true;
    if (a->count == 0 || pl_seq_newer(seq, a->newest_seq))
        a->newest_seq = seq;
    a->count++;
}

/* A gap is declared a loss after jitter_us of newer arrivals, when half the buffer waits
 * behind it, or at a flush. */
static bool gap_is_loss(struct pl_assembler *a, bool flush)
{
    if (flush || a->count >= PL_ASM_SLOTS / 2)
        return true;
    if (a->gap_since == 0) {
        a->gap_since = a->newest_arrival ? a->newest_arrival : 1;
        return false;
    }
    return a->newest_arrival - a->gap_since >= a->jitter_us;
}

static void lost(struct pl_assembler *a, bool *keyframe_wanted)
{
    a->losses++;
    a->synced = false;
    a->gap_since = 0;
    if (a->video) {
        a->need_key = true;
        *keyframe_wanted = true;
    }
}

/* Unsynced: find the oldest buffered packet where output can start (a key frame for video
 * that waits for one), drop what is older. */
static bool resync(struct pl_assembler *a, bool flush)
{
    uint16_t first = (uint16_t)(a->newest_seq - (PL_ASM_SLOTS - 1));
    for (int i = 0; i < PL_ASM_SLOTS; i++) {
        uint16_t seq = (uint16_t)(first + i);
        struct pl_asm_slot *s = at(a, seq);
        if (!s)
            continue;
        bool ok = a->need_key ? pl_depkt_starts_keyframe(a->codec, s->data, s->len)
                              : pl_depkt_starts_frame(a->codec, s->data, s->len);
        if (ok) {
            for (int j = 0; j < i; j++) {
                struct pl_asm_slot *o = at(a, (uint16_t)(first + j));
                if (o)
                    drop_slot(a, o);
            }
            a->next_seq = seq;
            a->synced = true;
            a->gap_since = 0;
            return true;
        }
    }
    /* Nothing to start from: what waited longer than the jitter can never start a frame. */
    for (int i = 0; i < PL_ASM_SLOTS; i++) {
        struct pl_asm_slot *s = &a->slot[i];
        if (s->used && (flush || s->arrival_us + a->jitter_us <= a->newest_arrival))
            drop_slot(a, s);
    }
    return false;
}

int pl_asm_pop(struct pl_assembler *a, bool flush, struct pl_asm_out *out, bool *keyframe_wanted)
{
    for (;;) {
        if (a->count == 0)
            return 0;
        if (!a->synced && !resync(a, flush))
            return 0;
        struct pl_asm_slot *s = at(a, a->next_seq);
        if (!s) {
            if (!gap_is_loss(a, flush))
                return 0;
            lost(a, keyframe_wanted);
            continue;
        }
        if (s->len == 0) { /* padding between frames */
            drop_slot(a, s);
            a->next_seq++;
            a->gap_since = 0;
            continue;
        }
        size_t n = 0;
        bool complete = false;
        uint16_t k = a->next_seq;
        if (!a->video) {
            a->pkts[n++] = (struct pl_depkt_pkt){s->data, s->len};
            k++;
            complete = true;
        } else {
            while (n < PL_ASM_SLOTS) {
                struct pl_asm_slot *t = at(a, k);
                if (!t)
                    break;
                if (t->ts != s->ts) { /* contiguous and a new timestamp: the frame ended */
                    complete = n > 0;
                    break;
                }
                a->pkts[n++] = (struct pl_depkt_pkt){t->data, t->len};
                k++;
                if (t->marker) {
                    complete = true;
                    break;
                }
            }
        }
        if (!complete) {
            /* Missing packet at k: a gap only when something newer is here. */
            bool gap = pl_seq_newer(a->newest_seq, k);
            if (!gap && !flush && n < PL_ASM_SLOTS)
                return 0;
            if (gap && !gap_is_loss(a, flush))
                return 0;
            for (uint16_t q = a->next_seq; q != k; q++)
                drop_slot(a, &a->slot[q % PL_ASM_SLOTS]);
            a->next_seq = k;
            a->dropped_frames++;
            lost(a, keyframe_wanted);
            continue;
        }
        a->gap_since = 0;
        int rc = pl_depkt_starts_frame(a->codec, a->pkts[0].payload, a->pkts[0].len)
                     ? pl_depkt_frame(a->codec, a->pkts, n, &a->frame)
                     : -1;
        out->ts = s->ts;
        out->arrival_us = s->arrival_us;
        for (uint16_t q = a->next_seq; q != k; q++)
            drop_slot(a, &a->slot[q % PL_ASM_SLOTS]);
        a->next_seq = k;
        if (rc != 0) {
            a->dropped_frames++;
            if (a->video) {
                a->need_key = true;
                *keyframe_wanted = true;
            }
            continue;
        }
        if (a->need_key && !a->frame.keyframe) {
            a->dropped_frames++;
            continue;
        }
        a->need_key = false;
        a->frames++;
        out->frame = &a->frame;
        return 1;
    }
}
