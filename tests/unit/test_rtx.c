/* Retransmission ring (store, lookup, aliasing, aging, resend guard) and RFC 4588 RTX building. */
#include <string.h>

#include "check.h"
#include "parley/rtx_ring.h"

/* A fake packet whose bytes identify seq, so a wrong slot's content is noticed. */
static size_t fake_pkt(uint8_t *buf, uint16_t seq, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 7 + i);
    return len;
}

static bool holds(const struct pl_rtx_ring *r, uint16_t seq, uint64_t now, size_t want_len)
{
    uint8_t want[PL_RTX_MAX_PACKET];
    const uint8_t *p = NULL;
    size_t len = 0;
    if (!pl_rtx_ring_get(r, seq, now, &p, &len))
        return false;
    fake_pkt(want, seq, want_len);
    return len == want_len && memcmp(p, want, len) == 0;
}

static bool put(struct pl_rtx_ring *r, uint16_t seq, uint64_t now, size_t len)
{
    uint8_t buf[3000];
    fake_pkt(buf, seq, len);
    return pl_rtx_ring_put(r, seq, 0, now, buf, len);
}

static void init_args(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1000, 2000), -1); /* not a power of two */
    pl_rtx_ring_free(&r);                                /* safe after a failed init */
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 0, 2000), -1);
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 131072, 2000), -1);
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 0), -1);
    /* A failed ring refuses everything. */
    CHECK(!put(&r, 1, 0, 100));
    CHECK(!holds(&r, 1, 0, 100));
    CHECK(!pl_rtx_ring_should_resend(&r, 1, 0, 10));
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    CHECK(!holds(&r, 0, 0, 100)); /* nothing stored yet */
    pl_rtx_ring_free(&r);
    pl_rtx_ring_free(&r); /* twice is harmless */
}

static void put_get(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    CHECK(put(&r, 10, 0, 100));
    CHECK(put(&r, 11, 0, 1200));
    CHECK(holds(&r, 10, 5, 100));
    CHECK(holds(&r, 11, 5, 1200));
    CHECK(!holds(&r, 12, 5, 100)); /* never stored */
    CHECK(!holds(&r, 9, 5, 100));
    /* Bounds: 0 and oversized packets refused, exactly the maximum accepted. */
    CHECK(!put(&r, 13, 0, 3000));
    CHECK(!put(&r, 14, 0, PL_RTX_MAX_PACKET + 1));
    CHECK(!put(&r, 15, 0, 0));
    CHECK(!pl_rtx_ring_put(&r, 16, 0, 0, NULL, 100));
    CHECK(!holds(&r, 13, 5, 3000));
    CHECK(put(&r, 17, 0, PL_RTX_MAX_PACKET));
    CHECK(holds(&r, 17, 5, PL_RTX_MAX_PACKET));
    /* A duplicate replaces the content in place. */
    CHECK(put(&r, 10, 1, 50));
    CHECK(holds(&r, 10, 5, 50));
    pl_rtx_ring_free(&r);
}

static void wraparound(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    for (uint16_t s = 65530; s != 6; s++)
        CHECK(put(&r, s, 0, 60 + s % 7));
    for (uint16_t s = 65530; s != 6; s++)
        CHECK(holds(&r, s, 1, 60 + s % 7));
    CHECK(!holds(&r, 6, 1, 60 + 6 % 7));
    CHECK(!holds(&r, 65529, 1, 60 + 65529 % 7));
    /* Late packet from before the wrap, still within the window. */
    CHECK(put(&r, 65000, 2, 80));
    CHECK(holds(&r, 65000, 3, 80));
    CHECK(holds(&r, 5, 3, 60 + 5 % 7));
    pl_rtx_ring_free(&r);
}

static void overwrite_and_alias(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 100000), 0);
    CHECK(put(&r, 5, 0, 100));
    /* 1029 shares the slot of 5 but was never stored. */
    CHECK(!holds(&r, 1029, 1, 100));
    CHECK(put(&r, 1029, 10, 100));
    CHECK(holds(&r, 1029, 11, 100));
    CHECK(!holds(&r, 5, 11, 100)); /* overwritten */

    /* 65536 apart: slot 100 keeps seq 100 while the stream goes around without touching it. */
    CHECK(put(&r, 100, 20, 100));
    CHECK(put(&r, 30000, 21, 100));
    CHECK(put(&r, 60000, 22, 100));
    CHECK(put(&r, 90, 23, 100)); /* after the wrap: unwrapped 65536 + 90 */
    CHECK(!holds(&r, 100, 24, 100)); /* now means 65536 + 100, not the stored one */
    CHECK(!pl_rtx_ring_should_resend(&r, 100, 24, 0));
    CHECK(holds(&r, 90, 24, 100));
    pl_rtx_ring_free(&r);
}

static void aging(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    CHECK(put(&r, 1, 1000, 100));
    CHECK(holds(&r, 1, 1000, 100));
    CHECK(holds(&r, 1, 2999, 100));
    CHECK(!holds(&r, 1, 3000, 100));
    CHECK(!pl_rtx_ring_should_resend(&r, 1, 3000, 0));
    CHECK(holds(&r, 1, 500, 100)); /* clock going back: counts as no time */
    pl_rtx_ring_free(&r);
}

static void restart(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    CHECK(put(&r, 5000, 0, 100));
    CHECK(put(&r, 4500, 0, 100)); /* late but within the window: kept alongside */
    CHECK(holds(&r, 4500, 1, 100));
    CHECK(holds(&r, 5000, 1, 100));
    /* 3000 back: the publisher restarted; the ring starts over from there. */
    CHECK(put(&r, 2000, 2, 100));
    CHECK(holds(&r, 2000, 3, 100));
    CHECK(!holds(&r, 5000, 3, 100));
    CHECK(put(&r, 2001, 4, 100));
    CHECK(holds(&r, 2001, 5, 100));
    pl_rtx_ring_free(&r);
}

static void resend_guard(void)
{
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    CHECK(put(&r, 7, 0, 100));
    CHECK(!pl_rtx_ring_should_resend(&r, 8, 100, 50)); /* not stored */
    CHECK(pl_rtx_ring_should_resend(&r, 7, 100, 50));
    CHECK(!pl_rtx_ring_should_resend(&r, 7, 120, 50));
    CHECK(!pl_rtx_ring_should_resend(&r, 7, 149, 50));
    CHECK(pl_rtx_ring_should_resend(&r, 7, 150, 50));
    CHECK(!pl_rtx_ring_should_resend(&r, 7, 151, 50));
    /* A duplicate from the publisher keeps the history; a new packet in the slot does not. */
    CHECK(put(&r, 7, 160, 100));
    CHECK(!pl_rtx_ring_should_resend(&r, 7, 161, 50));
    CHECK(put(&r, 7 + 1024, 170, 100));
    CHECK(pl_rtx_ring_should_resend(&r, 7 + 1024, 171, 50));
    pl_rtx_ring_free(&r);
}

/* RTX of `in` with PT 97, SSRC 0x55667788, seq 0x0102 must equal `want`, and any smaller cap
 * must fail. */
static void check_rtx(const uint8_t *in, size_t in_len, const uint8_t *want, size_t want_len)
{
    uint8_t out[256];
    memset(out, 0xEE, sizeof(out));
    size_t n = pl_rtx_build(out, sizeof(out), in, in_len, 97, 0x55667788, 0x0102);
    CHECK_EQ_INT(n, want_len);
    CHECK(n == want_len && memcmp(out, want, want_len) == 0);
    CHECK_EQ_INT(pl_rtx_build(out, want_len, in, in_len, 97, 0x55667788, 0x0102), want_len);
    CHECK_EQ_INT(pl_rtx_build(out, want_len - 1, in, in_len, 97, 0x55667788, 0x0102), 0);
    CHECK_EQ_INT(pl_rtx_build(out, 0, in, in_len, 97, 0x55667788, 0x0102), 0);
}

static void rtx_plain(void)
{
    const uint8_t in[] = {0x80, 0xE0, 0x12, 0x34, 0x00, 0x01, 0xE2, 0x40, /* M, PT 96 */
                          0x11, 0x22, 0x33, 0x44, 0xAA, 0xBB, 0xCC};
    const uint8_t want[] = {0x80, 0xE1, 0x01, 0x02, 0x00, 0x01, 0xE2, 0x40, /* M kept, PT 97 */
                            0x55, 0x66, 0x77, 0x88, 0x12, 0x34,             /* SSRC, OSN */
                            0xAA, 0xBB, 0xCC};
    check_rtx(in, sizeof(in), want, sizeof(want));
}

static void rtx_extension(void)
{
    const uint8_t in[] = {0x90, 0x60, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44,
                          0xBE, 0xDE, 0x00, 0x02,                         /* one-byte ext */
                          0x10, 0x05, 0x22, 0x01, 0x02, 0x03, 0x00, 0x00, /* ids 1 and 2 */
                          0xDE, 0xAD};
    const uint8_t want[] = {0x90, 0x61, 0x01, 0x02, 0x00, 0x00, 0x00, 0x10, 0x55, 0x66, 0x77,
                            0x88, 0xBE, 0xDE, 0x00, 0x02, 0x10, 0x05, 0x22, 0x01, 0x02, 0x03,
                            0x00, 0x00, 0xFF, 0xFF, 0xDE, 0xAD};
    check_rtx(in, sizeof(in), want, sizeof(want));
}

static void rtx_padding_removed(void)
{
    const uint8_t in[] = {0xA0, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44,
                          0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x04}; /* 4 bytes of padding */
    const uint8_t want[] = {0x80, 0x61, 0x01, 0x02, 0x00, 0x00, 0x00, 0x10, 0x55, 0x66,
                            0x77, 0x88, 0x00, 0x07, 0x01, 0x02, 0x03};
    check_rtx(in, sizeof(in), want, sizeof(want));
}

static void rtx_csrc_extension_padding(void)
{
    const uint8_t in[] = {0xB2, 0xE0, 0xAB, 0xCD, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44,
                          0x0A, 0x0B, 0x0C, 0x0D, 0x01, 0x02, 0x03, 0x04, /* 2 CSRCs */
                          0x10, 0x00, 0x00, 0x01, 0x03, 0x01, 0x7F, 0x00, /* two-byte ext */
                          0x99, 0x02, 0x02};                              /* 2 bytes padding */
    const uint8_t want[] = {0x92, 0xE1, 0x01, 0x02, 0xDE, 0xAD, 0xBE, 0xEF, 0x55, 0x66,
                            0x77, 0x88, 0x0A, 0x0B, 0x0C, 0x0D, 0x01, 0x02, 0x03, 0x04,
                            0x10, 0x00, 0x00, 0x01, 0x03, 0x01, 0x7F, 0x00, 0xAB, 0xCD,
                            0x99};
    check_rtx(in, sizeof(in), want, sizeof(want));
}

static void rtx_padding_only(void)
{
    /* A probe packet that is all padding: RTX carries just the OSN. */
    const uint8_t in[] = {0xA0, 0x60, 0x00, 0x09, 0x00, 0x00, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44,
                          0x00, 0x00, 0x03};
    const uint8_t want[] = {0x80, 0x61, 0x01, 0x02, 0x00, 0x00, 0x00, 0x10,
                            0x55, 0x66, 0x77, 0x88, 0x00, 0x09};
    check_rtx(in, sizeof(in), want, sizeof(want));
}

static void rtx_malformed(void)
{
    uint8_t out[256];
    const uint8_t ok[] = {0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 1, 2, 3, 4, 0xAA};
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), ok, 11, 97, 1, 1), 0); /* short header */
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), NULL, 0, 97, 1, 1), 0);
    CHECK_EQ_INT(pl_rtx_build(NULL, sizeof(out), ok, sizeof(ok), 97, 1, 1), 0);
    uint8_t bad[sizeof(ok)];
    memcpy(bad, ok, sizeof(ok));
    bad[0] = 0x40; /* version 1 */
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), bad, sizeof(bad), 97, 1, 1), 0);
    bad[0] = 0xA0; /* padding count 0xAA > payload */
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), bad, sizeof(bad), 97, 1, 1), 0);
    bad[0] = 0x90; /* extension header missing */
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), bad, sizeof(bad), 97, 1, 1), 0);
    bad[0] = 0x8F; /* 15 CSRCs in 13 bytes */
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), bad, sizeof(bad), 97, 1, 1), 0);
    /* The PT's top bit cannot leak into the marker. */
    CHECK_EQ_INT(pl_rtx_build(out, sizeof(out), ok, sizeof(ok), 0xE1, 1, 1), sizeof(ok) + 2);
    CHECK_EQ_INT(out[1], 0x61);
}

static void ring_to_rtx(void)
{
    /* The intended use: answer a NACK from the ring. */
    struct pl_rtx_ring r;
    CHECK_EQ_INT(pl_rtx_ring_init(&r, 1024, 2000), 0);
    const uint8_t pkt[] = {0x80, 0x60, 0xFF, 0xFF, 0, 0, 0, 9, 1, 2, 3, 4, 0x42};
    CHECK(pl_rtx_ring_put(&r, 0xFFFF, 9, 0, pkt, sizeof(pkt)));
    const uint8_t *p = NULL;
    size_t len = 0;
    uint8_t out[PL_RTX_MAX_PACKET + 2];
    CHECK(pl_rtx_ring_get(&r, 0xFFFF, 10, &p, &len));
    CHECK(pl_rtx_ring_should_resend(&r, 0xFFFF, 10, 20));
    size_t n = pl_rtx_build(out, sizeof(out), p, len, 97, 0xCAFE, 1);
    CHECK_EQ_INT(n, sizeof(pkt) + 2);
    CHECK(n >= 15 && out[12] == 0xFF && out[13] == 0xFF && out[14] == 0x42);
    pl_rtx_ring_free(&r);
}

int main(void)
{
    init_args();
    put_get();
    wraparound();
    overwrite_and_alias();
    aging();
    restart();
    resend_guard();
    rtx_plain();
    rtx_extension();
    rtx_padding_removed();
    rtx_csrc_extension_padding();
    rtx_padding_only();
    rtx_malformed();
    ring_to_rtx();
    return check_result("rtx");
}
