/* libFuzzer target: a recorder depacketizer (FUZZ_CODEC, one build per codec) and the frame
 * assembler in front of it, on arbitrary packets. Input: packets as [len][seq delta][flags]
 * [payload...]; flags bit 0 = marker, bit 1 = new timestamp. Besides memory errors (ASan),
 * it aborts when results are inconsistent: a frame larger than its input, a key frame of a
 * video codec without a picture size, an H.264 key frame without parameter sets. */
#include <stdlib.h>
#include <string.h>

#include "parley/depkt.h"

#ifndef FUZZ_CODEC
#define FUZZ_CODEC PL_REC_VP8
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXP 64

static void check_frame(const struct pl_depkt_frame *f, size_t input)
{
    /* VP9 adds at most a superframe index; H.264 a 4-byte prefix per unit (>= 1 byte each,
     * and a packet header byte or two per fragment). */
    if (f->len > input * 5 + 64)
        abort();
    if (FUZZ_CODEC != PL_REC_OPUS && f->keyframe && (!f->width || !f->height))
        abort();
    if (FUZZ_CODEC == PL_REC_H264 && f->keyframe && (!f->sps_len || !f->pps_len))
        abort();
    if (FUZZ_CODEC == PL_REC_OPUS && (f->samples == 0 || f->samples > 5760))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl_depkt_pkt pk[MAXP];
    uint8_t *copy[MAXP];
    uint16_t seq[MAXP];
    uint8_t flags[MAXP];
    size_t n = 0, pos = 0;
    uint16_t s = 0;
    while (pos + 3 <= size && n < MAXP) {
        size_t len = data[pos];
        s = (uint16_t)(s + (data[pos + 1] & 0x0f) - 2); /* mostly forward, sometimes back */
        uint8_t fl = data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        /* Heap copies of exactly len bytes so that ASan catches any overread. */
        copy[n] = malloc(len ? len : 1);
        memcpy(copy[n], data + pos, len);
        pk[n] = (struct pl_depkt_pkt){copy[n], len};
        seq[n] = s;
        flags[n] = fl;
        n++;
        pos += len;
    }

    struct pl_depkt_frame f = {0};
    if (pl_depkt_frame(FUZZ_CODEC, pk, n, &f) == 0)
        check_frame(&f, size);
    for (size_t i = 0; i < n; i++) {
        pl_depkt_starts_frame(FUZZ_CODEC, pk[i].payload, pk[i].len);
        pl_depkt_starts_keyframe(FUZZ_CODEC, pk[i].payload, pk[i].len);
        if (pl_depkt_frame(FUZZ_CODEC, &pk[i], 1, &f) == 0)
            check_frame(&f, size);
    }
    pl_depkt_frame_free(&f);

    /* The same packets through the assembler, as RTP would bring them. */
    struct pl_assembler *a = malloc(sizeof(*a));
    pl_asm_init(a, FUZZ_CODEC, 30);
    uint32_t ts = 1000;
    struct pl_asm_out o;
    bool kw = false;
    for (size_t i = 0; i < n; i++) {
        if (flags[i] & 2)
            ts += 3000;
        pl_asm_push(a, seq[i], ts, flags[i] & 1, pk[i].payload, pk[i].len, 10000 * (uint64_t)i);
        while (pl_asm_pop(a, false, &o, &kw) == 1)
            check_frame(o.frame, size);
    }
    while (pl_asm_pop(a, true, &o, &kw) == 1)
        check_frame(o.frame, size);
    if (a->count > PL_ASM_SLOTS)
        abort();
    pl_asm_free(a);
    free(a);
    for (size_t i = 0; i < n; i++)
        free(copy[i]);
    return 0;
}
