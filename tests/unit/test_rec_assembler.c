/* Frame assembler: reordering within the jitter window, loss (the incomplete frame dropped,
 * a key frame asked for, nothing until it comes), late and duplicate packets, wraparound;
 * for VP8 and Opus, and for VP9 and H.264 (FU-A fragments out of order, a lost one). */
#include <string.h>

#include "check.h"
#include "parley/bytes.h"
#include "parley/depkt.h"

/* VP8 packets: frame f (f % key_every == 0 is a key frame) split in `per` packets. */
struct pkt {
    uint16_t seq;
    uint32_t ts;
    bool marker;
    uint8_t d[64];
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

/* The SPS and PPS of a real x264 stream (High, 320x180) and the start of a real libvpx VP9
 * key frame (profile 1, 320x180), as in test_rec_depkt.c. */
static const uint8_t sps[] = {0x67, 0x64, 0x00, 0x0d, 0xac, 0xb2, 0x02, 0x83, 0x3f, 0x3e, 0x02, 0x20,
                              0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x81, 0xe2, 0x85, 0x49};
static const uint8_t pps[] = {0x68, 0xeb, 0xc3, 0xcb, 0x22, 0xc0};
static const uint8_t vp9_key[] = {0xa2, 0x49, 0x83, 0x42, 0xe0, 0x13, 0xf0, 0x0b, 0x36, 0x10,
                                  0x38, 0x24, 0x1c, 0x18, 0x4a, 0x00};

static struct pkt *next_pkt(struct pkt *out, size_t *n, uint16_t seq0, int f)
{
    struct pkt *p = &out[(*n)++];
    memset(p, 0, sizeof(*p));
    p->seq = (uint16_t)(seq0 + *n - 1);
    p->ts = 1000u + (uint32_t)f * 3000u;
    return p;
}

/* VP9 (non-flexible, one layer) or H.264 frames, each ending in the bytes (f, i) like
 * make_vp8's. VP9: `per` packets, B on the first, E on the last, P unless a key frame. H.264:
 * `per` FU-A fragments of an IDR or non-IDR slice; a key frame has a STAP-A with SPS and PPS
 * before them. first[f] is the index of frame f's first packet. */
static size_t make_frames(enum pl_rec_codec codec, struct pkt *out, uint16_t seq0, int frames,
                          int per, int key_every, size_t *first)
{
    size_t n = 0;
    for (int f = 0; f < frames; f++) {
        bool key = f % key_every == 0;
        first[f] = n;
        if (codec == PL_REC_H264 && key) {
            struct pkt *p = next_pkt(out, &n, seq0, f);
            size_t k = 0;
            p->d[k++] = 0x78;
            pl_wr16(p->d + k, sizeof(sps));
            memcpy(p->d + k + 2, sps, sizeof(sps));
            k += 2 + sizeof(sps);
            pl_wr16(p->d + k, sizeof(pps));
            memcpy(p->d + k + 2, pps, sizeof(pps));
            p->len = k + 2 + sizeof(pps);
        }
        for (int i = 0; i < per; i++) {
            struct pkt *p = next_pkt(out, &n, seq0, f);
            p->marker = i == per - 1;
            size_t k = 0;
            if (codec == PL_REC_VP9) {
                p->d[k++] = (uint8_t)((key ? 0 : 0x40) | (i == 0 ? 0x08 : 0) | (i == per - 1 ? 0x04 : 0));
                if (i == 0 && key) {
                    memcpy(p->d + k, vp9_key, sizeof(vp9_key));
                    k += sizeof(vp9_key);
                }
            } else {
                p->d[k++] = key ? 0x7c : 0x5c; /* FU-A indicator, NRI 3 / 2 */
                p->d[k++] = (uint8_t)((i == 0 ? 0x80 : 0) | (i == per - 1 ? 0x40 : 0) | (key ? 5 : 1));
                if (i == 0)
                    p->d[k++] = 0x88; /* the slice header's first byte */
            }
            p->d[k++] = (uint8_t)f;
            p->d[k++] = (uint8_t)i;
            p->len = k;
        }
    }
    first[frames] = n;
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

/* Pushes packets p[0..n) one a millisecond apart, popping what is ready after each, then flushes;
 * the frames' numbers go to frames (at most max); returns how many. */
static int push_and_pop(struct pl_assembler *a, const struct pkt *p, size_t n, int *frames, int max,
                        bool *kw)
{
    int total = 0;
    for (size_t i = 0; i < n; i++) {
        push(a, &p[i], 1000 * i);
        total += pop_all(a, false, frames + total, max - total, kw);
    }
    return total + pop_all(a, true, frames + total, max - total, kw);
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
    int got[20];
    bool kw = false;
    int total = push_and_pop(&a, p, n, got, 20, &kw);
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

/* VP9 and H.264 packets out of order within the jitter window: neighbours swapped (so the
 * first key frame's second packet comes first: for H.264 its IDR fragment before its SPS/PPS),
 * and one frame's fragments in reverse. Every frame comes out, in order, none lost. */
static void reorder_vp9_h264(enum pl_rec_codec codec)
{
    struct pkt p[80];
    size_t first[11];
    size_t n = make_frames(codec, p, 65500, 10, 3, 5, first); /* wraps */
    for (size_t i = 0; i + 1 < first[4]; i += 2) {
        struct pkt t = p[i];
        p[i] = p[i + 1];
        p[i + 1] = t;
    }
    for (size_t i = first[6], j = first[7] - 1; i < j; i++, j--) {
        struct pkt t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    struct pl_assembler a;
    pl_asm_init(&a, codec, 100);
    int got[20];
    bool kw = false;
    int total = push_and_pop(&a, p, n, got, 20, &kw);
    CHECK_EQ_INT(total, 10);
    for (int i = 0; i < total; i++)
        CHECK_EQ_INT(got[i], i);
    CHECK(!kw);
    CHECK_EQ_INT(a.losses, 0);
    CHECK_EQ_INT(a.dropped_frames, 0);
    pl_asm_free(&a);
}

/* The middle fragment of frame 2 never comes: frame 2 is dropped (never written), a key frame
 * is asked for, and frames 3..5 that depend on it are dropped until key frame 6. Then the
 * missing fragment arriving late changes nothing. */
static void loss_vp9_h264(enum pl_rec_codec codec)
{
    struct pkt p[80];
    size_t first[13];
    size_t n = make_frames(codec, p, 100, 12, 3, 6, first); /* key frames 0 and 6 */
    size_t lost = first[3] - 2; /* the middle FU-A / VP9 packet of frame 2 */
    struct pl_assembler a;
    pl_asm_init(&a, codec, 50);
    int got[20], total = 0;
    bool kw = false;
    for (size_t i = 0; i < n; i++) {
        if (i == lost)
            continue;
        push(&a, &p[i], 10000 * (uint64_t)i); /* 10 ms apart: the gap times out */
        total += pop_all(&a, false, got + total, 20 - total, &kw);
    }
    push(&a, &p[lost], 10000 * (uint64_t)n);
    total += pop_all(&a, true, got + total, 20 - total, &kw);
    CHECK_EQ_INT(total, 2 + 6);
    CHECK_EQ_INT(got[0], 0);
    CHECK_EQ_INT(got[1], 1);
    for (int i = 2; i < total && i < 20; i++)
        CHECK_EQ_INT(got[i], i + 4); /* 6..11: nothing of 2..5 */
    CHECK(kw);
    CHECK(a.losses >= 1);
    CHECK(a.late_packets >= 1);
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
    reorder_vp9_h264(PL_REC_VP9);
    reorder_vp9_h264(PL_REC_H264);
    loss_vp9_h264(PL_REC_VP9);
    loss_vp9_h264(PL_REC_H264);
    opus_loss();
    return check_result("rec_assembler");
}
