/* RTCP validation, iteration, sub-parsers and builders, on packets written out as bytes. */
#include "check.h"
#include "parley/rtcp.h"

#include <stdlib.h>
#include <string.h>

/* Compound packet as a browser sends it: SR with one report block, then SDES with a CNAME. */
static const uint8_t sr_sdes[] = {
    /* SR, RC 1, length 12 words (52 bytes) */
    0x81, 0xc8, 0x00, 0x0c,
    0x11, 0x22, 0x33, 0x44,                         /* sender SSRC */
    0xe8, 0xf1, 0xa2, 0xb3, 0x4c, 0x00, 0x00, 0x00, /* NTP timestamp */
    0x00, 0xab, 0xcd, 0xef,                         /* RTP timestamp */
    0x00, 0x00, 0x00, 0x64,                         /* packet count 100 */
    0x00, 0x01, 0xad, 0xb0,                         /* octet count 110000 */
    0x55, 0x66, 0x77, 0x88,                         /* report block: SSRC */
    0x10, 0x00, 0x00, 0x05,                         /* fraction 16/256, cumulative lost 5 */
    0x00, 0x01, 0x23, 0x45,                         /* extended highest seq */
    0x00, 0x00, 0x00, 0x20,                         /* jitter */
    0xa2, 0xb3, 0x4c, 0x00,                         /* LSR */
    0x00, 0x01, 0x00, 0x00,                         /* DLSR */
    /* SDES, SC 1, length 6 words (28 bytes) */
    0x81, 0xca, 0x00, 0x06,
    0x11, 0x22, 0x33, 0x44,
    0x01, 0x10, 'P', 'u', '1', 's', '3', 'Q', '9', 'g', 'z', 'Z', 'x', '2', 'k', 'T', 'm', 'B',
    0x00, 0x00,                                     /* end of items, pad to a word */
};

/* Generic NACK as a browser sends it: PID 0x0102 with BLP 0x0005 (lost 258, 259, 261). */
static const uint8_t nack_pkt[] = {
    0x81, 0xcd, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0xca, 0xfe, 0xba, 0xbe,
    0x01, 0x02, 0x00, 0x05,
};

/* REMB for 1.5 Mbps (exp 3, mantissa 187500) on two SSRCs. */
static const uint8_t remb_pkt[] = {
    0x8f, 0xce, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    'R', 'E', 'M', 'B', 0x02, 0x0e, 0xdc, 0x6c,
    0x0a, 0x0b, 0x0c, 0x0d, 0x01, 0x02, 0x03, 0x04,
};

struct seq_list {
    uint16_t seqs[64];
    int n;
};

static void collect(uint16_t seq, void *ud)
{
    struct seq_list *l = ud;
    if (l->n < 64)
        l->seqs[l->n] = seq;
    l->n++;
}

/* First packet of buf, or a zeroed packet when there is none. */
static struct pl_rtcp_pkt first_pkt(const uint8_t *buf, size_t len)
{
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    memset(&p, 0, sizeof(p));
    pl_rtcp_iter_init(&it, buf, len);
    if (!pl_rtcp_iter_next(&it, &p))
        memset(&p, 0, sizeof(p));
    return p;
}

static void test_sr_sdes(void)
{
    CHECK_EQ_INT(pl_rtcp_validate(sr_sdes, sizeof(sr_sdes)), 0);
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    pl_rtcp_iter_init(&it, sr_sdes, sizeof(sr_sdes));

    CHECK(pl_rtcp_iter_next(&it, &p));
    CHECK_EQ_INT(p.type, PL_RTCP_SR);
    CHECK_EQ_INT(p.fmt, 1);
    CHECK_EQ_INT(p.len, 52);
    CHECK(p.data == sr_sdes);
    CHECK_EQ_INT(p.sender_ssrc, 0x11223344);
    CHECK_EQ_INT(p.media_ssrc, 0);
    struct pl_rtcp_sr sr;
    CHECK_EQ_INT(pl_rtcp_parse_sr(&p, &sr), 0);
    CHECK_EQ_INT(sr.ssrc, 0x11223344);
    CHECK(sr.ntp == 0xe8f1a2b34c000000ull);
    CHECK_EQ_INT(sr.rtp_ts, 0x00abcdef);
    CHECK_EQ_INT(sr.packet_count, 100);
    CHECK_EQ_INT(sr.octet_count, 110000);
    struct pl_rtcp_report_block rb[4];
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, rb, 4), 1);
    CHECK_EQ_INT(rb[0].ssrc, 0x55667788);
    CHECK_EQ_INT(rb[0].fraction_lost, 16);
    CHECK_EQ_INT(rb[0].cumulative_lost, 5);
    CHECK_EQ_INT(rb[0].highest_seq, 0x12345);
    CHECK_EQ_INT(rb[0].jitter, 32);
    CHECK_EQ_INT(rb[0].lsr, 0xa2b34c00);
    CHECK_EQ_INT(rb[0].dlsr, 0x10000);
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, rb, 0), 0);
    /* Not feedback packets. */
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, NULL, NULL), -1);
    CHECK_EQ_INT(pl_rtcp_parse_fir(&p, NULL, 0), -1);
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, NULL, NULL, 0, NULL), -1);

    CHECK(pl_rtcp_iter_next(&it, &p));
    CHECK_EQ_INT(p.type, PL_RTCP_SDES);
    CHECK_EQ_INT(p.fmt, 1);
    CHECK_EQ_INT(p.len, 28);
    CHECK(p.data == sr_sdes + 52);
    CHECK_EQ_INT(p.sender_ssrc, 0x11223344);
    CHECK_EQ_INT(pl_rtcp_parse_sr(&p, &sr), -1);
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, rb, 4), -1);

    CHECK(!pl_rtcp_iter_next(&it, &p));
    CHECK(!pl_rtcp_iter_next(&it, &p));
}

/* Every prefix, each in its own heap copy so AddressSanitizer catches an over-read: only the
 * prefixes ending on a packet boundary validate, and iteration yields the whole packets. */
static void test_truncation(void)
{
    for (size_t l = 0; l <= sizeof(sr_sdes); l++) {
        uint8_t *c = malloc(l ? l : 1);
        memcpy(c, sr_sdes, l);
        int rc = pl_rtcp_validate(c, l);
        CHECK_EQ_INT(rc == 0, l == 52 || l == 80);
        struct pl_rtcp_iter it;
        struct pl_rtcp_pkt p;
        int n = 0;
        pl_rtcp_iter_init(&it, c, l);
        while (pl_rtcp_iter_next(&it, &p)) {
            struct pl_rtcp_sr sr;
            struct pl_rtcp_report_block rb[2];
            CHECK(p.data >= c && p.data + p.len <= c + l);
            (void)pl_rtcp_parse_sr(&p, &sr);
            (void)pl_rtcp_parse_report_blocks(&p, rb, 2);
            n++;
        }
        CHECK_EQ_INT(n, l >= 80 ? 2 : l >= 52 ? 1 : 0);
        free(c);
    }
}

static void test_validate_rejects(void)
{
    uint8_t b[sizeof(sr_sdes) + 8];
    memcpy(b, sr_sdes, sizeof(sr_sdes));
    CHECK(pl_rtcp_validate(NULL, 0) < 0);
    CHECK(pl_rtcp_validate(b, 0) < 0);
    /* Version 1 in the second packet. */
    b[52] = 0x41;
    CHECK(pl_rtcp_validate(b, sizeof(sr_sdes)) < 0);
    b[52] = 0x81;
    /* Length field one word too long / too short. */
    b[55] = 7;
    CHECK(pl_rtcp_validate(b, sizeof(sr_sdes)) < 0);
    b[55] = 5;
    CHECK(pl_rtcp_validate(b, sizeof(sr_sdes)) < 0);
    b[55] = 6;
    CHECK_EQ_INT(pl_rtcp_validate(b, sizeof(sr_sdes)), 0);
    /* Trailing bytes that are not a packet. */
    memset(b + sizeof(sr_sdes), 0, 8);
    CHECK(pl_rtcp_validate(b, sizeof(sr_sdes) + 4) < 0);
    CHECK(pl_rtcp_validate(b, sizeof(sr_sdes) + 2) < 0);
    /* An empty RR (length 1) appended is fine. */
    b[80] = 0x80; b[81] = 0xc9; b[82] = 0x00; b[83] = 0x01;
    CHECK_EQ_INT(pl_rtcp_validate(b, sizeof(sr_sdes) + 8), 0);
    /* The iterator stops at the malformed packet and stays stopped. */
    b[52] = 0x01;
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    pl_rtcp_iter_init(&it, b, sizeof(b));
    CHECK(pl_rtcp_iter_next(&it, &p));
    CHECK(!pl_rtcp_iter_next(&it, &p));
    CHECK(!pl_rtcp_iter_next(&it, &p));
    pl_rtcp_iter_init(&it, NULL, 10);
    CHECK(!pl_rtcp_iter_next(&it, &p));
}

static void test_padding(void)
{
    /* RR, no blocks, with 4 bytes of padding (P bit, count in the last byte). */
    uint8_t rr[] = {0xa0, 0xc9, 0x00, 0x02, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x04};
    struct pl_rtcp_report_block rb[1];
    CHECK_EQ_INT(pl_rtcp_validate(rr, sizeof(rr)), 0);
    struct pl_rtcp_pkt p = first_pkt(rr, sizeof(rr));
    CHECK_EQ_INT(p.len, 12);
    CHECK_EQ_INT(p.sender_ssrc, 0x01020304);
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, rb, 1), 0);
    rr[11] = 0;
    CHECK(pl_rtcp_validate(rr, sizeof(rr)) < 0);
    rr[11] = 9;
    CHECK(pl_rtcp_validate(rr, sizeof(rr)) < 0);
    /* Padding may cover everything after the header, but then the RR lacks its SSRC. */
    rr[11] = 8;
    CHECK_EQ_INT(pl_rtcp_validate(rr, sizeof(rr)), 0);
    p = first_pkt(rr, sizeof(rr));
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, rb, 1), -1);

    /* Padding hiding a NACK item: the padded-away bytes are not parsed as an item. */
    uint8_t nack[20];
    memcpy(nack, nack_pkt, sizeof(nack_pkt));
    nack[0] |= 0x20;
    nack[3] = 4;
    memset(nack + 16, 0, 4);
    nack[19] = 4;
    CHECK_EQ_INT(pl_rtcp_validate(nack, sizeof(nack)), 0);
    p = first_pkt(nack, sizeof(nack));
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, NULL, NULL), 3);
}

static void test_report_blocks(void)
{
    struct pl_rtcp_report_block in[3] = {
        {0xaaaaaaaa, 255, -2, 0x0002ffff, 1000, 0x12345678, 65536},
        {0xbbbbbbbb, 0, 10000000, 7, 0, 0, 0},  /* clamps to 0x7fffff */
        {0xcccccccc, 1, -9000000, 8, 1, 2, 3},  /* clamps to -0x800000 */
    };
    uint8_t b[8 + 3 * 24];
    for (size_t cap = 0; cap < sizeof(b); cap++)
        CHECK_EQ_INT(pl_rtcp_build_rr(b, cap, 1, in, 3), 0);
    CHECK_EQ_INT(pl_rtcp_build_rr(b, sizeof(b), 0x99, in, 3), sizeof(b));
    CHECK_EQ_INT(pl_rtcp_validate(b, sizeof(b)), 0);
    struct pl_rtcp_pkt p = first_pkt(b, sizeof(b));
    CHECK_EQ_INT(p.type, PL_RTCP_RR);
    CHECK_EQ_INT(p.fmt, 3);
    CHECK_EQ_INT(p.sender_ssrc, 0x99);
    struct pl_rtcp_report_block out[3];
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, out, 3), 3);
    CHECK_EQ_INT(out[0].ssrc, 0xaaaaaaaa);
    CHECK_EQ_INT(out[0].fraction_lost, 255);
    CHECK_EQ_INT(out[0].cumulative_lost, -2);
    CHECK_EQ_INT(b[8 + 5], 0xff);
    CHECK_EQ_INT(b[8 + 7], 0xfe);
    CHECK_EQ_INT(out[0].highest_seq, 0x0002ffff);
    CHECK_EQ_INT(out[0].jitter, 1000);
    CHECK_EQ_INT(out[0].lsr, 0x12345678);
    CHECK_EQ_INT(out[0].dlsr, 65536);
    CHECK_EQ_INT(out[1].cumulative_lost, 0x7fffff);
    CHECK_EQ_INT(out[2].cumulative_lost, -0x800000);
    CHECK_EQ_INT(out[2].dlsr, 3);
    /* max limits the output. */
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, out, 1), 1);
    /* A count claiming more blocks than the length holds. */
    b[0] = 0x84;
    CHECK_EQ_INT(pl_rtcp_validate(b, sizeof(b)), 0);
    p = first_pkt(b, sizeof(b));
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, out, 3), -1);

    /* Empty RR keeping a sender's RTCP alive. */
    CHECK_EQ_INT(pl_rtcp_build_rr(b, sizeof(b), 0x42, NULL, 0), 8);
    CHECK_EQ_INT(b[0], 0x80);
    CHECK_EQ_INT(b[1], 201);
    CHECK_EQ_INT(b[3], 1);
    CHECK_EQ_INT(pl_rtcp_validate(b, 8), 0);
    p = first_pkt(b, 8);
    CHECK_EQ_INT(p.sender_ssrc, 0x42);
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, out, 3), 0);
    CHECK_EQ_INT(pl_rtcp_build_rr(b, sizeof(b), 0x42, in, 32), 0);
}

static void test_sr_build(void)
{
    struct pl_rtcp_sr in = {0x0badf00d, 0xe8f1a2b3c4d5e6f7ull, 0x12345678, 1234, 987654};
    struct pl_rtcp_sr out;
    uint8_t b[28];
    for (size_t cap = 0; cap < sizeof(b); cap++)
        CHECK_EQ_INT(pl_rtcp_build_sr(b, cap, &in), 0);
    CHECK_EQ_INT(pl_rtcp_build_sr(b, sizeof(b), &in), 28);
    CHECK_EQ_INT(b[0], 0x80);
    CHECK_EQ_INT(b[1], 200);
    CHECK_EQ_INT(b[3], 6);
    CHECK_EQ_INT(pl_rtcp_validate(b, sizeof(b)), 0);
    struct pl_rtcp_pkt p = first_pkt(b, sizeof(b));
    CHECK_EQ_INT(p.type, PL_RTCP_SR);
    CHECK_EQ_INT(p.sender_ssrc, 0x0badf00d);
    CHECK_EQ_INT(pl_rtcp_parse_sr(&p, &out), 0);
    CHECK_EQ_INT(out.ssrc, in.ssrc);
    CHECK(out.ntp == in.ntp);
    CHECK_EQ_INT(out.rtp_ts, in.rtp_ts);
    CHECK_EQ_INT(out.packet_count, in.packet_count);
    CHECK_EQ_INT(out.octet_count, in.octet_count);
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, NULL, 0), 0);
    /* An SR whose count claims a block it doesn't have. */
    b[0] = 0x81;
    p = first_pkt(b, sizeof(b));
    CHECK_EQ_INT(pl_rtcp_parse_sr(&p, &out), -1);
    CHECK_EQ_INT(pl_rtcp_parse_report_blocks(&p, NULL, 0), -1);
}

static void test_nack(void)
{
    struct seq_list l = {{0}, 0};
    struct pl_rtcp_pkt p = first_pkt(nack_pkt, sizeof(nack_pkt));
    CHECK_EQ_INT(p.type, PL_RTCP_RTPFB);
    CHECK_EQ_INT(p.fmt, 1);
    CHECK_EQ_INT(p.sender_ssrc, 1);
    CHECK_EQ_INT(p.media_ssrc, 0xcafebabe);
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), 3);
    CHECK_EQ_INT(l.n, 3);
    CHECK_EQ_INT(l.seqs[0], 258);
    CHECK_EQ_INT(l.seqs[1], 259);
    CHECK_EQ_INT(l.seqs[2], 261);

    /* Build {100,101,116,117,500}: items (100, bits 0 and 15), (117, 0), (500, 0). */
    const uint16_t seqs[] = {100, 101, 116, 117, 500};
    uint8_t b[64];
    for (size_t cap = 0; cap < 24; cap++)
        CHECK_EQ_INT(pl_rtcp_build_nack(b, cap, 7, 8, seqs, 5), 0);
    CHECK_EQ_INT(pl_rtcp_build_nack(b, sizeof(b), 7, 8, seqs, 5), 24);
    const uint8_t want[] = {0x81, 0xcd, 0x00, 0x05, 0, 0, 0, 7, 0, 0, 0, 8,
                            0x00, 0x64, 0x80, 0x01, 0x00, 0x75, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x00};
    CHECK(memcmp(b, want, sizeof(want)) == 0);
    CHECK_EQ_INT(pl_rtcp_validate(b, 24), 0);
    p = first_pkt(b, 24);
    CHECK_EQ_INT(p.sender_ssrc, 7);
    CHECK_EQ_INT(p.media_ssrc, 8);
    l.n = 0;
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), 5);
    CHECK_EQ_INT(l.n, 5);
    for (int i = 0; i < 5 && i < l.n; i++)
        CHECK_EQ_INT(l.seqs[i], seqs[i]);
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, NULL, NULL), 5);

    /* Across the wrap: one item, PID 65534, BLP bits for 65535, 0 and 2. */
    const uint16_t wrap[] = {65534, 65535, 0, 2};
    CHECK_EQ_INT(pl_rtcp_build_nack(b, sizeof(b), 7, 8, wrap, 4), 16);
    CHECK_EQ_INT(b[12], 0xff);
    CHECK_EQ_INT(b[13], 0xfe);
    CHECK_EQ_INT(b[14], 0x00);
    CHECK_EQ_INT(b[15], 0x0b);
    p = first_pkt(b, 16);
    l.n = 0;
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(l.seqs[i], wrap[i]);

    /* Out of order and duplicates: every seq still reported. */
    const uint16_t odd[] = {300, 290, 290, 301};
    size_t n = pl_rtcp_build_nack(b, sizeof(b), 7, 8, odd, 4);
    CHECK_EQ_INT(n, 20);
    p = first_pkt(b, n);
    l.n = 0;
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), 3);
    CHECK_EQ_INT(l.seqs[0], 300);
    CHECK_EQ_INT(l.seqs[1], 290);
    CHECK_EQ_INT(l.seqs[2], 301);

    CHECK_EQ_INT(pl_rtcp_build_nack(b, sizeof(b), 7, 8, seqs, 0), 0);
    CHECK_EQ_INT(pl_rtcp_build_nack(b, sizeof(b), 7, 8, NULL, 3), 0);

    /* Malformed: no items, a partial item, wrong fmt. */
    uint8_t bad[20];
    memcpy(bad, nack_pkt, sizeof(nack_pkt));
    bad[3] = 2;
    p = first_pkt(bad, 12);
    CHECK_EQ_INT(p.len, 12);
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), -1);
    p.len = 14; /* hand-made packet not a multiple of 4 */
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), -1);
    bad[3] = 3;
    bad[0] = 0x8f;
    p = first_pkt(bad, 16);
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, collect, &l), -1);
}

static void test_pli_fir(void)
{
    uint8_t b[32];
    for (size_t cap = 0; cap < 12; cap++)
        CHECK_EQ_INT(pl_rtcp_build_pli(b, cap, 1, 2), 0);
    CHECK_EQ_INT(pl_rtcp_build_pli(b, sizeof(b), 0x11111111, 0x22222222), 12);
    const uint8_t pli[] = {0x81, 0xce, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22};
    CHECK(memcmp(b, pli, sizeof(pli)) == 0);
    CHECK_EQ_INT(pl_rtcp_validate(b, 12), 0);
    struct pl_rtcp_pkt p = first_pkt(b, 12);
    CHECK_EQ_INT(p.type, PL_RTCP_PSFB);
    CHECK_EQ_INT(p.fmt, 1);
    CHECK_EQ_INT(p.sender_ssrc, 0x11111111);
    CHECK_EQ_INT(p.media_ssrc, 0x22222222);
    CHECK_EQ_INT(pl_rtcp_parse_nack(&p, NULL, NULL), -1);
    CHECK_EQ_INT(pl_rtcp_parse_fir(&p, NULL, 0), -1);
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, NULL, NULL, 0, NULL), -1);

    for (size_t cap = 0; cap < 20; cap++)
        CHECK_EQ_INT(pl_rtcp_build_fir(b, cap, 1, 2, 3), 0);
    CHECK_EQ_INT(pl_rtcp_build_fir(b, sizeof(b), 0x11111111, 0x22222222, 9), 20);
    CHECK_EQ_INT(pl_rtcp_validate(b, 20), 0);
    p = first_pkt(b, 20);
    CHECK_EQ_INT(p.type, PL_RTCP_PSFB);
    CHECK_EQ_INT(p.fmt, 4);
    CHECK_EQ_INT(p.sender_ssrc, 0x11111111);
    CHECK_EQ_INT(p.media_ssrc, 0);
    struct pl_rtcp_fir_entry fe[2];
    CHECK_EQ_INT(pl_rtcp_parse_fir(&p, fe, 2), 1);
    CHECK_EQ_INT(fe[0].ssrc, 0x22222222);
    CHECK_EQ_INT(fe[0].seq_nr, 9);
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, NULL, NULL, 0, NULL), -1);

    /* Two FIR entries; max 1 returns only the first. */
    const uint8_t fir2[] = {0x84, 0xce, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0,
                            0, 0, 0, 0xa, 5, 0, 0, 0, 0, 0, 0, 0xb, 6, 0, 0, 0};
    p = first_pkt(fir2, sizeof(fir2));
    CHECK_EQ_INT(pl_rtcp_parse_fir(&p, fe, 2), 2);
    CHECK_EQ_INT(fe[1].ssrc, 0xb);
    CHECK_EQ_INT(fe[1].seq_nr, 6);
    CHECK_EQ_INT(pl_rtcp_parse_fir(&p, fe, 1), 1);
    CHECK_EQ_INT(fe[0].ssrc, 0xa);
    /* Entry cut short (length covers 4 of its 8 bytes). */
    uint8_t fir_bad[24];
    memcpy(fir_bad, fir2, sizeof(fir_bad));
    fir_bad[3] = 5;
    p = first_pkt(fir_bad, sizeof(fir_bad));
    CHECK_EQ_INT(p.len, 24);
    CHECK_EQ_INT(pl_rtcp_parse_fir(&p, fe, 2), -1);
}

static void test_remb(void)
{
    uint64_t bps = 0;
    uint32_t ssrcs[4];
    int n = -1;
    struct pl_rtcp_pkt p = first_pkt(remb_pkt, sizeof(remb_pkt));
    CHECK_EQ_INT(p.type, PL_RTCP_PSFB);
    CHECK_EQ_INT(p.fmt, 15);
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), 0);
    CHECK_EQ_INT(bps, 1500000);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(ssrcs[0], 0x0a0b0c0d);
    CHECK_EQ_INT(ssrcs[1], 0x01020304);
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 1, &n), 0);
    CHECK_EQ_INT(n, 1);

    /* 1.5 Mbps built gives exactly the bytes above and round-trips exactly. */
    uint8_t b[64];
    const uint32_t two[] = {0x0a0b0c0d, 0x01020304};
    for (size_t cap = 0; cap < sizeof(remb_pkt); cap++)
        CHECK_EQ_INT(pl_rtcp_build_remb(b, cap, 1, 1500000, two, 2), 0);
    CHECK_EQ_INT(pl_rtcp_build_remb(b, sizeof(b), 1, 1500000, two, 2), sizeof(remb_pkt));
    CHECK(memcmp(b, remb_pkt, sizeof(remb_pkt)) == 0);
    CHECK_EQ_INT(pl_rtcp_validate(b, sizeof(remb_pkt)), 0);

    /* Other bitrates: mantissa truncation loses less than 2^-17 of the value. */
    const uint64_t rates[] = {0, 1, 262143, 262144, 30000, 2500000, 123456789, 1ull << 40,
                              UINT64_MAX};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        size_t len = pl_rtcp_build_remb(b, sizeof(b), 5, rates[i], NULL, 0);
        CHECK_EQ_INT(len, 20);
        p = first_pkt(b, len);
        CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, NULL, 0, &n), 0);
        CHECK_EQ_INT(n, 0);
        CHECK(bps <= rates[i]);
        CHECK(rates[i] - bps <= rates[i] >> 17);
        if (rates[i] < (1u << 18))
            CHECK(bps == rates[i]);
    }

    /* Malformed: exponent overflowing 64 bits, wrong identifier, SSRC count not matching the
     * length, too many SSRCs to build. */
    uint8_t m[sizeof(remb_pkt)];
    memcpy(m, remb_pkt, sizeof(m));
    m[17] = 0xff; /* exp 63, mantissa >= 2^16 */
    p = first_pkt(m, sizeof(m));
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), -1);
    m[17] = 0xb8; /* exp 46, mantissa 0x0dc6c < 2^18: fits */
    p = first_pkt(m, sizeof(m));
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), 0);
    CHECK(bps == 0xdc6cull << 46);
    memcpy(m, remb_pkt, sizeof(m));
    m[13] = 'X';
    p = first_pkt(m, sizeof(m));
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), -1);
    memcpy(m, remb_pkt, sizeof(m));
    m[16] = 3;
    p = first_pkt(m, sizeof(m));
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), -1);
    m[16] = 1;
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), -1);
    uint32_t many[256] = {0};
    uint8_t big[20 + 4 * 256];
    CHECK_EQ_INT(pl_rtcp_build_remb(big, sizeof(big), 1, 1000, many, 256), 0);
    CHECK_EQ_INT(pl_rtcp_build_remb(big, sizeof(big), 1, 1000, many, 255), 20 + 4 * 255);
    p = first_pkt(big, 20 + 4 * 255);
    CHECK_EQ_INT(pl_rtcp_parse_remb(&p, &bps, ssrcs, 4, &n), 0);
    CHECK_EQ_INT(n, 4);
}

/* Feedback built by us concatenated into one compound packet (reduced-size style). */
static void test_compound_built(void)
{
    uint8_t b[128];
    size_t off = 0;
    const uint16_t seqs[] = {1, 3};
    const uint32_t ssrc = 0x5555;
    off += pl_rtcp_build_rr(b + off, sizeof(b) - off, 9, NULL, 0);
    off += pl_rtcp_build_pli(b + off, sizeof(b) - off, 9, 10);
    off += pl_rtcp_build_nack(b + off, sizeof(b) - off, 9, 10, seqs, 2);
    off += pl_rtcp_build_remb(b + off, sizeof(b) - off, 9, 800000, &ssrc, 1);
    off += pl_rtcp_build_fir(b + off, sizeof(b) - off, 9, 10, 1);
    CHECK_EQ_INT(off, 8 + 12 + 16 + 24 + 20);
    CHECK_EQ_INT(pl_rtcp_validate(b, off), 0);
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    const uint8_t types[] = {PL_RTCP_RR, PL_RTCP_PSFB, PL_RTCP_RTPFB, PL_RTCP_PSFB, PL_RTCP_PSFB};
    const uint8_t fmts[] = {0, 1, 1, 15, 4};
    int n = 0;
    pl_rtcp_iter_init(&it, b, off);
    while (pl_rtcp_iter_next(&it, &p)) {
        if (n < 5) {
            CHECK_EQ_INT(p.type, types[n]);
            CHECK_EQ_INT(p.fmt, fmts[n]);
            CHECK_EQ_INT(p.sender_ssrc, 9);
        }
        n++;
    }
    CHECK_EQ_INT(n, 5);
}

int main(void)
{
    test_sr_sdes();
    test_truncation();
    test_validate_rejects();
    test_padding();
    test_report_blocks();
    test_sr_build();
    test_nack();
    test_pli_fir();
    test_remb();
    test_compound_built();
    return check_result("rtcp");
}
