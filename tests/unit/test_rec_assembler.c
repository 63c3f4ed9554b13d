/* Frame assembler: reordering within the jitter window, loss (the incomplete frame dropped,
 * a key frame asked for, nothing until it comes), late and duplicate packets, wraparound. */
#include <string.h>

#include "check.h"
#include "parley/depkt.h"

/* VP8 packets: frame f (f % key_every == 0 is a key frame) split in `per` packets. */
struct pkt {
    uint16_t seq;
    uint32_t ts;
    bool marker;
    uint8_t d[20];
    size_t len;
};

static size_t make_vp8(struct pkt *out, uint16_t seq0, int frames, int per, int key_every)
{
    size_t n = 0;
    for (int f = 0; f < frames; f++) {
        bool key = f % key_every == 0;
        for (int i = 0; i < per; i++) {
            struct pkt *p = &out[n++];
            memset(p, 0, sizeof(*p));
            p->seq = (uint16_t)(seq0 + n - 1);
            p->ts = 1000u + (uint32_t)f * 3000u;
            p->marker = i == per - 1;
            size_t k = 0;
            p->d[k++] = i == 0 ? 0x10 : 0x00; /* S on the first packet, PID 0 */
            if (i == 0) {
                if (key) {
                    const uint8_t h[] = {0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};
                    memcpy(p->d + k, h, sizeof(h));
                    k += sizeof(h);
                } else {
                    p->d[k++] = 0x01; /* P = 1, first partition size 0 */
                    p->d[k++] = 0x00;
                    p->d[k++] = 0x00;
                }
            }
            p->d[k++] = (uint8_t)f;
            p->d[k++] = (uint8_t)i;
            p->len = k;
        }
    }
    return n;
}

static void push(struct pl_assembler *a, const struct pkt *p, uint64_t t)
{
    pl_asm_push(a, p->seq, p->ts, p->marker, p->d, p->len, t);
}

/* Pops everything ready; records frame numbers (the byte before the last of the frame). */
static int pop_all(struct pl_assembler *a, bool flush, int *frames, int max, bool *kw)
{
    struct pl_asm_out o;
    int n = 0;
    while (pl_asm_pop(a, flush, &o, kw) == 1 && n < max)
        frames[n++] = o.frame->data[o.frame->len - 2];
    return n;
}

static void reorder(void)
{
    struct pkt p[60];
    size_t n = make_vp8(p, 65530, 10, 3, 5); /* wraps the sequence number */
    struct pl_assembler a;
    pl_asm_init(&a, PL_REC_VP8, 100);
    /* Swap neighbours everywhere. */
    for (size_t i = 0; i + 1 < n; i += 2) {
        struct pkt t = p[i];
        p[i] = p[i + 1];
        p[i + 1] = t;
    }
    int got[20], total = 0;
    bool kw = false;
    for (size_t i = 0; i < n; i++) {
        push(&a, &p[i], 1000 * i);
        total += pop_all(&a, false, got + total, 20 - total, &kw);
    }
    total += pop_all(&a, true, got + total, 20 - total, &kw);
    CHECK_EQ_INT(total, 10);
    for (int i = 0; i < total; i++)
        CHECK_EQ_INT(got[i], i);
    CHECK(!kw);
    CHECK_EQ_INT(a.losses, 0);
    pl_asm_free(&a);
}

static void loss(void)
{
    struct pkt p[60];
    size_t n = make_vp8(p, 100, 12, 3, 6); /* key frames 0 and 6 */
    struct pl_assembler a;
    pl_asm_init(&a, PL_REC_VP8, 50);
    int got[20], total = 0;
    bool kw = false;
    for (size_t i = 0; i < n; i++) {
        if (i == 7) /* middle packet of frame 2 */
            continue;
        push(&a, &p[i], 10000 * (uint64_t)i); /* 10 ms apart: the gap times out */
        total += pop_all(&a, false, got + total, 20 - total, &kw);
    }
    total += pop_all(&a, true, got + total, 20 - total, &kw);
    /* 0, 1; frame 2 lost, 3..5 depend on it; from key frame 6 on. */
    CHECK_EQ_INT(total, 2 + 6);
    CHECK_EQ_INT(got[0], 0);
    CHECK_EQ_INT(got[1], 1);
    CHECK_EQ_INT(got[2], 6);
    CHECK_EQ_INT(got[7], 11);
    CHECK(kw);
    CHECK(a.losses >= 1);

    /* The stream starts with delta frames: nothing until the first key frame. */
    pl_asm_free(&a);
    pl_asm_init(&a, PL_REC_VP8, 50);
    total = 0;
    kw = false;
    for (size_t i = 3; i < n; i++) {
        push(&a, &p[i], 10000 * (uint64_t)i);
        total += pop_all(&a, false, got + total, 20 - total, &kw);
    }
    CHECK_EQ_INT(total, 6);
    CHECK_EQ_INT(got[0], 6);
    /* A late duplicate of something already out is ignored. */
    push(&a, &p[20], 1000000);
    CHECK_EQ_INT(pop_all(&a, true, got, 20, &kw), 0);
    CHECK(a.late_packets >= 1);
    pl_asm_free(&a);
}

static void last_packet_lost(void)
{
    /* The marker packet of frame 1 is lost, and frame 2 follows: frame 1 must not come out
     * (its sequence numbers are not contiguous with frame 2's). */
    struct pkt p[30];
    size_t n = make_vp8(p, 7, 4, 2, 100);
    struct pl_assembler a;
    pl_asm_init(&a, PL_REC_VP8, 20);
    int got[10], total = 0;
    bool kw = false;
    for (size_t i = 0; i < n; i++) {
        if (i == 3)
            continue;
        push(&a, &p[i], 30000 * (uint64_t)i);
        total += pop_all(&a, false, got + total, 10 - total, &kw);
    }
    total += pop_all(&a, true, got + total, 10 - total, &kw);
    CHECK_EQ_INT(total, 1);
    CHECK_EQ_INT(got[0], 0);
    CHECK(kw);
    pl_asm_free(&a);
}

static void opus_loss(void)
{
    struct pl_assembler a;
    pl_asm_init(&a, PL_REC_OPUS, 40);
    uint8_t pkt[3] = {0x78, 0x00, 0x00};
    bool kw = false;
    int out = 0;
    struct pl_asm_out o;
    uint16_t order[] = {0, 2, 1, 3, 5, 6, 7, 8, 9}; /* 1 late but in time, 4 lost */
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        pkt[1] = (uint8_t)order[i];
        pl_asm_push(&a, order[i], order[i] * 960u, true, pkt, 3, 20000 * (uint64_t)i);
        while (pl_asm_pop(&a, false, &o, &kw) == 1) {
            CHECK_EQ_INT(o.frame->data[1], out == 4 ? 5 : (out > 4 ? out + 1 : out));
            out++;
        }
    }
    while (pl_asm_pop(&a, true, &o, &kw) == 1)
        out++;
    CHECK_EQ_INT(out, 9);
    CHECK(!kw); /* audio needs no key frame */
    pl_asm_free(&a);
}

static void padding(void)
{
    /* Padding-only packets (empty payloads) between frames hold sequence numbers: they are
     * skipped, they are not a loss. */
    struct pkt p[40], q[60];
    size_t n = make_vp8(p, 500, 6, 2, 100), m = 0;
    for (size_t i = 0; i < n; i++) {
        q[m] = p[i];
        q[m].seq = (uint16_t)(500 + m);
        m++;
        if (p[i].marker) {
            q[m] = (struct pkt){.seq = (uint16_t)(500 + m), .ts = p[i].ts, .len = 0};
            m++;
        }
    }
    struct pl_assembler a;
    pl_asm_init(&a, PL_REC_VP8, 20);
    int got[10], total = 0;
    bool kw = false;
    for (size_t i = 0; i < m; i++) {
        pl_asm_push(&a, q[i].seq, q[i].ts, q[i].marker, q[i].len ? q[i].d : NULL, q[i].len, 30000 * (uint64_t)i);
        total += pop_all(&a, false, got + total, 10 - total, &kw);
    }
    total += pop_all(&a, true, got + total, 10 - total, &kw);
    CHECK_EQ_INT(total, 6);
    CHECK(!kw);
    CHECK_EQ_INT(a.losses, 0);
    pl_asm_free(&a);
}

int main(void)
{
    padding();
    reorder();
    loss();
    last_packet_lost();
    opus_loss();
    return check_result("rec_assembler");
}
