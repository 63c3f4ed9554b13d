/* Transport-wide CC: header extension helpers, feedback building (byte-exact for a small
 * case), build -> parse round trips, splitting into several packets, and the parser on
 * malformed input. */
#include "check.h"
#include "parley/rtcp.h"
#include "parley/twcc.h"

#include <stdlib.h>
#include <string.h>

/* What the parser reported, indexed by sequence number. */
struct report {
    int calls;
    int times_seen[65536];
    bool received[65536];
    int64_t arrival_us[65536];
    uint16_t order[4096]; /* seqs in callback order */
};

static void on_pkt(uint16_t seq, bool received, int64_t arrival_us, void *ud)
{
    struct report *rep = ud;
    if (rep->calls < 4096)
        rep->order[rep->calls] = seq;
    rep->calls++;
    rep->times_seen[seq]++;
    rep->received[seq] = received;
    rep->arrival_us[seq] = arrival_us;
}

static struct report *report_new(void) { return calloc(1, sizeof(struct report)); }

/* Parses every packet of a compound; returns the number of packets, -1 if one is bad. */
static int parse_all(const uint8_t *buf, size_t len, struct report *rep, size_t max_pkt,
                     uint8_t *first_fb_count)
{
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    int n = 0;
    if (pl_rtcp_validate(buf, len) != 0)
        return -1;
    pl_rtcp_iter_init(&it, buf, len);
    while (pl_rtcp_iter_next(&it, &p)) {
        struct pl_twcc_fb fb;
        if (p.type != PL_RTCP_RTPFB || p.fmt != 15 || p.len > max_pkt)
            return -1;
        if (pl_twcc_parse(p.data, p.len, &fb, on_pkt, rep) < 1)
            return -1;
        if (n == 0 && first_fb_count)
            *first_fb_count = fb.fb_count;
        n++;
    }
    return n;
}

/* Arrival time as the feedback can say it: rounded down to 250 us. */
static int64_t quantized(uint64_t us) { return (int64_t)(us / 250 * 250); }

static struct pl_twcc_recv *recv_new(void)
{
    struct pl_twcc_recv *r = malloc(sizeof(*r));
    pl_twcc_recv_init(r, 0x11223344, 0x55667788);
    return r;
}

static void test_ext(void)
{
    uint8_t b[2];
    uint16_t seq = 0;
    CHECK_EQ_INT(pl_twcc_ext_write(b, 1, 7), 0);
    CHECK_EQ_INT(pl_twcc_ext_write(b, 2, 0xabcd), 2);
    CHECK(b[0] == 0xab && b[1] == 0xcd);
    CHECK_EQ_INT(pl_twcc_ext_read(b, 2, &seq), 0);
    CHECK_EQ_INT(seq, 0xabcd);
    CHECK_EQ_INT(pl_twcc_ext_read(b, 1, &seq), -1);
    CHECK_EQ_INT(pl_twcc_ext_read(b, 3, &seq), -1);
    CHECK_EQ_INT(pl_twcc_ext_read(NULL, 2, &seq), -1);
}

/* Five packets, one lost, one late enough to need a large delta. Worked out by hand:
 *   arrivals 1000000, 1001000, -, 1100000, 1100500 us = ticks 4000, 4004, -, 4400, 4402
 *   reference time floor(4000 / 256) = 15 (960 ms = 3840 ticks)
 *   deltas 160, 4, (lost), 396 (> 255: large), 2
 *   symbols 1 1 0 2 1: mixed with a large one, 5 of them -> one 2-bit vector chunk
 *     1 1 | 01 01 00 10 01 00 00 = 0xd490
 *   20 header + 2 chunk + 5 delta bytes = 27, padded to 28 = 7 words (length 6). */
static void test_byte_exact(void)
{
    static const uint8_t want[] = {
        0x8f, 0xcd, 0x00, 0x06, /* V=2, FMT 15, RTPFB, length 6 */
        0x11, 0x22, 0x33, 0x44, /* sender SSRC */
        0x55, 0x66, 0x77, 0x88, /* media SSRC */
        0x00, 0x64, 0x00, 0x05, /* base seq 100, status count 5 */
        0x00, 0x00, 0x0f, 0x00, /* reference time 15, fb pkt count 0 */
        0xd4, 0x90,             /* 2-bit vector: small small lost large small */
        0xa0, 0x04, 0x01, 0x8c, 0x02, /* deltas 160, 4, 396 (2 bytes), 2 */
        0x00,                   /* zero padding */
    };
    struct pl_twcc_recv *r = recv_new();
    pl_twcc_recv_record(r, 100, 1000000);
    pl_twcc_recv_record(r, 101, 1001000);
    pl_twcc_recv_record(r, 103, 1100000);
    pl_twcc_recv_record(r, 104, 1100500);
    CHECK(pl_twcc_recv_pending(r));
    uint8_t out[64];
    size_t n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(n, sizeof(want));
    CHECK(n == sizeof(want) && memcmp(out, want, n) == 0);
    CHECK(!pl_twcc_recv_pending(r));
    CHECK_EQ_INT(pl_twcc_build(r, out, sizeof(out), 0), 0);

    struct pl_twcc_fb fb;
    struct report *rep = report_new();
    CHECK_EQ_INT(pl_twcc_parse(want, sizeof(want), &fb, on_pkt, rep), 5);
    CHECK_EQ_INT(fb.sender_ssrc, 0x11223344);
    CHECK_EQ_INT(fb.media_ssrc, 0x55667788);
    CHECK_EQ_INT(fb.base_seq, 100);
    CHECK_EQ_INT(fb.status_count, 5);
    CHECK_EQ_INT(fb.ref_time, 15);
    CHECK_EQ_INT(fb.fb_count, 0);
    CHECK_EQ_INT(rep->calls, 5);
    CHECK(rep->received[100] && rep->received[101] && !rep->received[102]);
    CHECK(rep->received[103] && rep->received[104]);
    CHECK_EQ_INT(rep->arrival_us[100], 1000000);
    CHECK_EQ_INT(rep->arrival_us[101], 1001000);
    CHECK_EQ_INT(rep->arrival_us[103], 1100000);
    CHECK_EQ_INT(rep->arrival_us[104], 1100500);

    /* The next feedback counts up. */
    pl_twcc_recv_record(r, 105, 1101000);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, NULL, NULL), 1);
    CHECK_EQ_INT(fb.fb_count, 1);
    CHECK_EQ_INT(fb.base_seq, 105);
    free(rep);
    free(r);
}

/* Records n packets seq0.. (skipping where lost(i)), builds, parses, checks every status. */
static void round_trip(uint16_t seq0, int n, bool (*lost)(int i), uint64_t (*at)(int i),
                       size_t max_pkt, int *packets)
{
    struct pl_twcc_recv *r = recv_new();
    struct report *rep = report_new();
    static uint8_t out[64 * 1024];
    for (int i = 0; i < n; i++)
        if (!lost || !lost(i))
            pl_twcc_recv_record(r, (uint16_t)(seq0 + i), at(i));
    size_t len = pl_twcc_build(r, out, sizeof(out), max_pkt);
    CHECK(len > 0);
    CHECK(!pl_twcc_recv_pending(r));
    int np = parse_all(out, len, rep, max_pkt ? max_pkt : PL_TWCC_MAX_PKT, NULL);
    CHECK(np >= 1);
    if (packets)
        *packets = np;
    CHECK_EQ_INT(rep->calls, n);
    for (int i = 0; i < n; i++) {
        uint16_t s = (uint16_t)(seq0 + i);
        CHECK_EQ_INT(rep->times_seen[s], 1);
        if (!lost || !lost(i)) {
            CHECK(rep->received[s]);
            CHECK_EQ_INT(rep->arrival_us[s], quantized(at(i)));
        } else {
            CHECK(!rep->received[s]);
        }
        if (i < 4096)
            CHECK_EQ_INT(rep->order[i], s);
    }
    free(rep);
    free(r);
}

static uint64_t every_ms(int i) { return 5000000 + (uint64_t)i * 1000; }
static uint64_t every_30ms(int i) { return 5000000 + (uint64_t)i * 30000; }
static uint64_t jittery(int i) { return 5000000 + (uint64_t)i * 700 + (uint64_t)(i * 7919 % 13) * 90; }
static uint64_t two_s_steps(int i) { return 5000000 + (uint64_t)i * 2000000; }
static uint64_t ten_s_steps(int i) { return 5000000 + (uint64_t)i * 10000000; }
static bool every_third(int i) { return i % 3 == 1; }
static bool alternate(int i) { return i % 2 == 1; }
static bool sparse(int i) { return i % 97 != 0; }

static void test_round_trips(void)
{
    int np;
    round_trip(1000, 100, NULL, every_ms, 0, &np); /* in order */
    CHECK_EQ_INT(np, 1);
    round_trip(1000, 300, every_third, jittery, 0, &np); /* losses */
    CHECK_EQ_INT(np, 1);
    round_trip(65530, 12, NULL, every_ms, 0, NULL);       /* wraps at 65535 */
    round_trip(65000, 999, alternate, every_ms, 0, NULL);
    round_trip(7, 20, NULL, every_30ms, 0, NULL);         /* 30 ms: still small deltas */
    round_trip(7, 21, every_third, two_s_steps, 0, NULL); /* 2 s: large deltas */
    round_trip(7, 5, NULL, ten_s_steps, 0, &np);          /* 10 s: past a 2-byte delta */
    CHECK_EQ_INT(np, 5);
    round_trip(400, 971, sparse, every_ms, 0, NULL);     /* mostly lost: long lost runs */
}

/* Out-of-order arrivals: negative deltas, and a packet reported lost that turns up later. */
static void test_reordering(void)
{
    struct pl_twcc_recv *r = recv_new();
    struct report *rep = report_new();
    uint8_t out[1200];
    pl_twcc_recv_record(r, 10, 2000000);
    pl_twcc_recv_record(r, 12, 2001000);
    pl_twcc_recv_record(r, 11, 2002000); /* after 12: 12's delta from 11 is negative */
    pl_twcc_recv_record(r, 11, 2500000); /* duplicate: the first arrival stands */
    pl_twcc_recv_record(r, 14, 2003000);
    size_t n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, NULL, on_pkt, rep), 5);
    CHECK(rep->received[10] && rep->received[11] && rep->received[12]);
    CHECK(!rep->received[13] && rep->received[14]);
    CHECK_EQ_INT(rep->arrival_us[11], 2002000);
    CHECK_EQ_INT(rep->arrival_us[12], 2001000);
    CHECK_EQ_INT(rep->arrival_us[14], 2003000);

    /* 13 arrives after the feedback that said it was lost: the next one starts from it. */
    memset(rep, 0, sizeof(*rep));
    pl_twcc_recv_record(r, 13, 2004000);
    pl_twcc_recv_record(r, 15, 2005000);
    struct pl_twcc_fb fb;
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, on_pkt, rep), 3);
    CHECK_EQ_INT(fb.base_seq, 13);
    CHECK(rep->received[13] && rep->received[14] && rep->received[15]);
    CHECK_EQ_INT(rep->arrival_us[13], 2004000);
    CHECK_EQ_INT(rep->arrival_us[14], 2003000);

    /* Before the base at the start, across the wrap. */
    pl_twcc_recv_init(r, 1, 2);
    memset(rep, 0, sizeof(*rep));
    pl_twcc_recv_record(r, 1, 3000000);
    pl_twcc_recv_record(r, 65535, 3000500);
    pl_twcc_recv_record(r, 0, 3000250);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, on_pkt, rep), 3);
    CHECK_EQ_INT(fb.base_seq, 65535);
    CHECK_EQ_INT(rep->arrival_us[65535], 3000500);
    CHECK_EQ_INT(rep->arrival_us[0], 3000250);
    CHECK_EQ_INT(rep->arrival_us[1], 3000000);
    free(rep);
    free(r);
}

/* Chunk choice: a long received run is one run-length chunk; mixed lost/small statuses are
 * 1-bit vectors; mixed with large deltas are 2-bit vectors. */
static void test_chunks(void)
{
    struct pl_twcc_recv *r = recv_new();
    uint8_t out[1200];
    for (int i = 0; i < 500; i++)
        pl_twcc_recv_record(r, (uint16_t)i, 1000000 + (uint64_t)i * 500);
    size_t n = pl_twcc_build(r, out, sizeof(out), 0);
    /* 20 header + 1 run chunk (S=1, length 500) + 500 one-byte deltas, padded. */
    CHECK_EQ_INT(n, 524);
    CHECK(out[20] == 0x21 && out[21] == 0xf4);

    /* 14 statuses alternating received / lost: one 1-bit vector 1 0 1 0 ... */
    pl_twcc_recv_init(r, 1, 2);
    for (int i = 0; i < 14; i += 2)
        pl_twcc_recv_record(r, (uint16_t)(100 + i), 1000000 + (uint64_t)i * 1000);
    pl_twcc_recv_record(r, 113, 1013000);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(n, 32); /* 20 + 2 + 8 deltas = 30 -> 32 */
    CHECK_EQ_INT(out[14] << 8 | out[15], 14);
    CHECK_EQ_INT(out[20] << 8 | out[21], 0x8000 | 0x2aab); /* 10101010101011 */

    /* Small, large, lost, small: a 2-bit vector. */
    pl_twcc_recv_init(r, 1, 2);
    pl_twcc_recv_record(r, 0, 1000000);
    pl_twcc_recv_record(r, 1, 1200000);
    pl_twcc_recv_record(r, 3, 1200250);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(out[20] << 8 | out[21], 0xc000 | 1 << 12 | 2 << 10 | 0 << 8 | 1 << 6);
    free(r);
}

/* Output split over several packets when one cannot hold everything. */
static void test_split(void)
{
    int np = 0;
    round_trip(60000, 999, alternate, jittery, 64, &np);
    CHECK(np > 1);

    struct pl_twcc_recv *r = recv_new();
    struct report *rep = report_new();
    uint8_t out[4096];
    for (int i = 0; i < 900; i++)
        if (i % 5 != 2)
            pl_twcc_recv_record(r, (uint16_t)i, 1000000 + (uint64_t)i * 1000);
    /* max_pkt 100: several packets in one call, each within the limit. */
    size_t n = pl_twcc_build(r, out, sizeof(out), 100);
    uint8_t fbc = 99;
    np = parse_all(out, n, rep, 100, &fbc);
    CHECK(np > 5);
    CHECK_EQ_INT(fbc, 0);
    CHECK_EQ_INT(rep->calls, 900);
    CHECK(!pl_twcc_recv_pending(r));

    /* A small cap: what does not fit stays pending for the next call. */
    pl_twcc_recv_init(r, 1, 2);
    memset(rep, 0, sizeof(*rep));
    for (int i = 0; i < 900; i++)
        pl_twcc_recv_record(r, (uint16_t)i, 1000000 + (uint64_t)i * 1000);
    CHECK_EQ_INT(pl_twcc_build(r, out, PL_TWCC_MIN_PKT - 1, 0), 0);
    CHECK_EQ_INT(pl_twcc_build(r, out, sizeof(out), PL_TWCC_MIN_PKT - 1), 0);
    CHECK(pl_twcc_recv_pending(r));
    int calls = 0, total = 0;
    while ((n = pl_twcc_build(r, out, 200, 0)) > 0) {
        CHECK(n <= 200);
        int k = parse_all(out, n, rep, 200, &fbc);
        CHECK(k >= 1);
        CHECK_EQ_INT(fbc, total);
        total += k;
        calls++;
    }
    CHECK(calls > 3);
    CHECK_EQ_INT(rep->calls, 900);
    for (int i = 0; i < 900; i++)
        CHECK_EQ_INT(rep->times_seen[i], 1);

    /* The smallest packet size still makes progress, one status at a time at worst. */
    pl_twcc_recv_init(r, 1, 2);
    memset(rep, 0, sizeof(*rep));
    for (int i = 0; i < 40; i++)
        if (i % 4 != 0)
            pl_twcc_recv_record(r, (uint16_t)i, 1000000 + (uint64_t)i * 90000);
    n = pl_twcc_build(r, out, sizeof(out), PL_TWCC_MIN_PKT);
    CHECK(parse_all(out, n, rep, PL_TWCC_MIN_PKT, NULL) > 10);
    CHECK_EQ_INT(rep->calls, 39); /* seq 0 was never received: the window starts at 1 */
    free(rep);
    free(r);
}

/* A jump of 30000 starts over instead of reporting 30000 lost packets. */
static void test_gaps(void)
{
    struct pl_twcc_recv *r = recv_new();
    struct pl_twcc_fb fb;
    uint8_t out[4096];
    for (int i = 0; i < 10; i++)
        pl_twcc_recv_record(r, (uint16_t)i, 1000000 + (uint64_t)i * 1000);
    for (int i = 0; i < 10; i++)
        pl_twcc_recv_record(r, (uint16_t)(30000 + i), 2000000 + (uint64_t)i * 1000);
    size_t n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, NULL, NULL), 10);
    CHECK_EQ_INT(fb.base_seq, 30000);

    /* After a feedback, the same. */
    pl_twcc_recv_record(r, 60000, 3000000);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, NULL, NULL), 1);
    CHECK_EQ_INT(fb.base_seq, 60000);

    /* A gap inside the history is reported as lost, in one cheap run. */
    pl_twcc_recv_record(r, 60500, 3100000);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, NULL, NULL), 500);
    CHECK_EQ_INT(n, 28); /* lost run + received run, one delta */

    /* A counter that went backwards for good is followed after a few packets. */
    for (int i = 0; i < 40; i++)
        pl_twcc_recv_record(r, (uint16_t)(55500 + i), 4000000 + (uint64_t)i * 1000);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    int count = pl_twcc_parse(out, n, &fb, NULL, NULL);
    CHECK(count > 0 && count < 40);
    CHECK_EQ_INT(fb.base_seq + count, 55540);

    /* Restarting backwards forgets the old arrivals: 1009 is reported with its new time. */
    pl_twcc_recv_init(r, 1, 2);
    for (int i = 0; i < 10; i++)
        pl_twcc_recv_record(r, (uint16_t)(1000 + i), 1000000 + (uint64_t)i * 1000);
    pl_twcc_recv_record(r, 3000, 2000000);
    (void)pl_twcc_build(r, out, sizeof(out), 0);
    for (int i = 0; i < 16; i++)
        pl_twcc_recv_record(r, (uint16_t)(994 + i), 3000000 + (uint64_t)i * 1000);
    pl_twcc_recv_record(r, 1005, 3100000); /* late after the restart */
    pl_twcc_recv_record(r, 1010, 3200000);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    struct report *rep = report_new();
    CHECK_EQ_INT(pl_twcc_parse(out, n, &fb, on_pkt, rep), 6);
    CHECK_EQ_INT(fb.base_seq, 1005);
    CHECK(rep->received[1005] && !rep->received[1006] && !rep->received[1008]);
    CHECK_EQ_INT(rep->arrival_us[1005], 3100000);
    CHECK_EQ_INT(rep->arrival_us[1009], 3015000);
    CHECK_EQ_INT(rep->arrival_us[1010], 3200000);
    memset(rep, 0, sizeof(*rep));

    /* No feedback grows past the history, however long between builds. */
    pl_twcc_recv_init(r, 1, 2);
    for (int i = 0; i < 5000; i++)
        pl_twcc_recv_record(r, (uint16_t)i, 1000000 + (uint64_t)i * 100);
    n = pl_twcc_build(r, out, sizeof(out), 0);
    CHECK_EQ_INT(parse_all(out, n, rep, PL_TWCC_MAX_PKT, NULL), 1);
    CHECK_EQ_INT(rep->calls, PL_TWCC_HISTORY);
    CHECK_EQ_INT(rep->order[0], 5000 - PL_TWCC_HISTORY);
    free(rep);
    free(r);
}

static void count_cb(uint16_t seq, bool received, int64_t arrival_us, void *ud)
{
    (void)seq;
    (void)received;
    (void)arrival_us;
    (*(int *)ud)++;
}

/* The parser's own rules on hand-made packets. */
static void test_parse_rules(void)
{
    /* Two statuses in a run of small, deltas 1 and 2: exactly 24 bytes, no padding. */
    uint8_t ok[] = {0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2,
                    0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x01, 0x07,
                    0x20, 0x02, 0x01, 0x02};
    int calls = 0;
    struct pl_twcc_fb fb;
    CHECK_EQ_INT(pl_twcc_parse(ok, sizeof(ok), &fb, count_cb, &calls), 2);
    CHECK_EQ_INT(calls, 2);
    CHECK_EQ_INT(fb.ref_time, 1);
    CHECK_EQ_INT(fb.fb_count, 7);
    CHECK_EQ_INT(fb.base_seq, 16);

    uint8_t b[sizeof(ok) + 4];
    /* Status count 0. */
    memcpy(b, ok, sizeof(ok));
    b[15] = 0;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), -1);
    /* Reserved symbol 3 in a run. */
    memcpy(b, ok, sizeof(ok));
    b[20] = 0x60;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), -1);
    /* Three statuses: a missing delta; no callback for any of them. */
    memcpy(b, ok, sizeof(ok));
    b[15] = 3;
    b[21] = 3;
    calls = 0;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, count_cb, &calls), -1);
    CHECK_EQ_INT(calls, 0);
    /* A whole spare word after the deltas. */
    memcpy(b, ok, sizeof(ok));
    memset(b + sizeof(ok), 0, 4);
    b[3] = 6;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(b), NULL, NULL, NULL), -1);
    /* The same word as RTCP padding (P bit, count in the last byte) is fine. */
    b[0] |= 0x20;
    b[sizeof(b) - 1] = 4;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(b), NULL, NULL, NULL), 2);
    b[sizeof(b) - 1] = 0;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(b), NULL, NULL, NULL), -1);
    b[sizeof(b) - 1] = 200;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(b), NULL, NULL, NULL), -1);
    /* Wrong type, format, version, length field. */
    memcpy(b, ok, sizeof(ok));
    b[1] = 206;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), -1);
    memcpy(b, ok, sizeof(ok));
    b[0] = 0x81;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), -1);
    memcpy(b, ok, sizeof(ok));
    b[0] = 0x4f;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), -1);
    memcpy(b, ok, sizeof(ok));
    b[3] = 4;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), -1);
    /* A run longer than the status count covers only what is counted. */
    memcpy(b, ok, sizeof(ok));
    b[21] = 0x50;
    CHECK_EQ_INT(pl_twcc_parse(b, sizeof(ok), NULL, NULL, NULL), 2);
    /* A negative 2-byte delta: 2-bit vector (large, lost), delta -4 ticks. */
    uint8_t neg[] = {0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2,
                     0x00, 0x10, 0x00, 0x02, 0x00, 0x00, 0x01, 0x00,
                     0xe0, 0x00, 0xff, 0xfc};
    struct report *rep = report_new();
    CHECK_EQ_INT(pl_twcc_parse(neg, sizeof(neg), NULL, on_pkt, rep), 2);
    CHECK(rep->received[16] && !rep->received[17]);
    CHECK_EQ_INT(rep->arrival_us[16], 64000 - 1000);
    free(rep);
}

/* Every truncation and every one-byte change of real packets, plus random bytes: no
 * crash (ASan), and the callback count always matches the result. */
static void test_parse_garbage(void)
{
    struct pl_twcc_recv *r = recv_new();
    uint8_t pkt[1200];
    for (int i = 0; i < 61; i++)
        if (i % 7 != 3)
            pl_twcc_recv_record(r, (uint16_t)(65500 + i),
                                1000000 + (uint64_t)i * (i % 5 == 0 ? 80000 : 700));
    size_t len = pl_twcc_build(r, pkt, sizeof(pkt), 0);
    CHECK(len > 40);
    int calls = 0;
    CHECK_EQ_INT(pl_twcc_parse(pkt, len, NULL, count_cb, &calls), 61);

    uint8_t *copy = malloc(len); /* exact size: ASan catches any read past it */
    int bad = 0;
    for (size_t l = 0; l <= len; l++) {
        uint8_t *t = malloc(l ? l : 1);
        memcpy(t, pkt, l);
        calls = 0;
        int rc = pl_twcc_parse(t, l, NULL, count_cb, &calls);
        if (rc != (l == len ? 61 : -1) || calls != (rc < 0 ? 0 : rc))
            bad++;
        /* The same length with the header's length field made to match. */
        if (l >= 4 && l % 4 == 0) {
            t[2] = (uint8_t)((l / 4 - 1) >> 8);
            t[3] = (uint8_t)(l / 4 - 1);
            calls = 0;
            rc = pl_twcc_parse(t, l, NULL, count_cb, &calls);
            if (calls != (rc < 0 ? 0 : rc) || (l < len && rc >= 0))
                bad++;
        }
        free(t);
    }
    CHECK_EQ_INT(bad, 0);

    bad = 0;
    for (size_t i = 0; i < len; i++) {
        for (int v = 0; v < 256; v += 15) {
            memcpy(copy, pkt, len);
            copy[i] ^= (uint8_t)(v | 1);
            calls = 0;
            int rc = pl_twcc_parse(copy, len, NULL, count_cb, &calls);
            if (calls != (rc < 0 ? 0 : rc))
                bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);

    srand(12345);
    bad = 0;
    for (int k = 0; k < 20000; k++) {
        size_t l = (size_t)(rand() % 80);
        uint8_t *t = malloc(l ? l : 1);
        for (size_t i = 0; i < l; i++)
            t[i] = (uint8_t)rand();
        if (l >= 20 && k % 2 == 0) { /* a plausible header so the chunks get parsed */
            t[0] = 0x8f;
            t[1] = 0xcd;
            t[2] = 0;
            t[3] = (uint8_t)(l / 4 - 1);
            l -= l % 4;
        }
        calls = 0;
        int rc = pl_twcc_parse(t, l, NULL, count_cb, &calls);
        if (calls != (rc < 0 ? 0 : rc) || rc > 65535)
            bad++;
        free(t);
    }
    CHECK_EQ_INT(bad, 0);
    free(copy);
    free(r);
}

int main(void)
{
    test_ext();
    test_byte_exact();
    test_round_trips();
    test_reordering();
    test_chunks();
    test_split();
    test_gaps();
    test_parse_rules();
    test_parse_garbage();
    return check_result("twcc");
}
