/* RTP parsing, demultiplexing and header extensions, on packets written out as bytes. */
#include "check.h"
#include "parley/rtp.h"

#include <stdlib.h>
#include <string.h>

/* Chromium-style VP8 packet: marker, PT 96, one-byte extensions abs-send-time (id 2, 3 bytes),
 * transport-cc (id 3, 2 bytes), mid (id 4, "0"), padded to a word; then a VP8 payload
 * descriptor (X, S, PID 0; I with a 15-bit picture id) and a few bytes of frame data. */
static const uint8_t vp8_pkt[] = {
    0x90, 0xe0, 0x12, 0x34,             /* V2 X, M PT 96, seq 0x1234 */
    0x5a, 0x6b, 0x7c, 0x8d,             /* ts */
    0xde, 0xad, 0xbe, 0xef,             /* ssrc */
    0xbe, 0xde, 0x00, 0x03,             /* one-byte extensions, 3 words */
    0x22, 0x4f, 0x12, 0x9a,             /* id 2 len 3: abs-send-time */
    0x31, 0x00, 0x2a,                   /* id 3 len 2: transport-wide seq 42 */
    0x40, '0',                          /* id 4 len 1: mid "0" */
    0x00, 0x00, 0x00,                   /* padding */
    0x90, 0x80, 0x81, 0x23,             /* VP8 descriptor: X S, I, picture id 0x0123 */
    0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, /* start of a VP8 key frame */
};

/* Two-byte extensions (profile 0x1000, appbits 0): id 5 with length 0, padding, id 200 with
 * 3 bytes, id 17 with 1 byte, trailing padding. */
static const uint8_t twobyte_pkt[] = {
    0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x03, 0xe8, 0x01, 0x02, 0x03, 0x04,
    0x10, 0x00, 0x00, 0x03,
    0x05, 0x00,                         /* id 5, empty */
    0x00,                               /* padding */
    0xc8, 0x03, 0xaa, 0xbb, 0xcc,       /* id 200, 3 bytes */
    0x11, 0x01, 0x7f,                   /* id 17, 1 byte */
    0x00,                               /* padding */
    0xfe, 0xed,                         /* payload */
};

/* Opus packet with two CSRCs and 3 bytes of RTP padding (P bit, count in the last byte). */
static const uint8_t csrc_pad_pkt[] = {
    0xa2, 0x6f, 0xff, 0xff, 0x00, 0x00, 0xbb, 0x80, 0x11, 0x22, 0x33, 0x44,
    0xaa, 0xaa, 0xaa, 0xaa,             /* CSRC 1 */
    0xbb, 0xbb, 0xbb, 0xbb,             /* CSRC 2 */
    0xfc, 0xff, 0xfe,                   /* Opus payload */
    0x00, 0x00, 0x03,                   /* padding, count 3 */
};

/* Parses a heap copy of exactly len bytes so that AddressSanitizer sees any over-read. */
static int parse_copy(const uint8_t *src, size_t len, struct pl_rtp *r, uint8_t **copy)
{
    *copy = malloc(len ? len : 1);
    memcpy(*copy, src, len);
    return pl_rtp_parse(*copy, len, r);
}

static void test_classify(void)
{
    uint8_t b[12] = {0};
    CHECK_EQ_INT(pl_classify(NULL, 0), PL_PKT_UNKNOWN);
    CHECK_EQ_INT(pl_classify(b, 0), PL_PKT_UNKNOWN);
    for (int first = 0; first < 256; first++) {
        b[0] = (uint8_t)first;
        b[1] = 96;
        enum pl_pkt_class c = pl_classify(b, sizeof(b));
        if (first <= 3)
            CHECK_EQ_INT(c, PL_PKT_STUN);
        else if (first >= 20 && first <= 63)
            CHECK_EQ_INT(c, PL_PKT_DTLS);
        else if (first >= 128 && first <= 191)
            CHECK_EQ_INT(c, PL_PKT_RTP);
        else
            CHECK_EQ_INT(c, PL_PKT_UNKNOWN);
    }
    /* STUN binding request, DTLS ClientHello record, RTCP SR / RR / PSFB / RTPFB. */
    const uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    const uint8_t dtls[13] = {0x16, 0xfe, 0xfd};
    CHECK_EQ_INT(pl_classify(stun, sizeof(stun)), PL_PKT_STUN);
    CHECK_EQ_INT(pl_classify(dtls, sizeof(dtls)), PL_PKT_DTLS);
    b[0] = 0x80;
    for (int pt = 0; pt < 256; pt++) {
        b[1] = (uint8_t)pt;
        bool rtcp = pt >= 192 && pt <= 223;
        CHECK_EQ_INT(pl_classify(b, sizeof(b)), rtcp ? PL_PKT_RTCP : PL_PKT_RTP);
    }
    /* Marker bit set on PT 96 (0xe0 = 224) is RTP; PT 72 with marker (200) would be RTCP. */
    b[1] = 0xe0;
    CHECK_EQ_INT(pl_classify(b, 12), PL_PKT_RTP);
    CHECK_EQ_INT(pl_classify(vp8_pkt, sizeof(vp8_pkt)), PL_PKT_RTP);
    /* Length limits: RTP needs 12 bytes, RTCP 8. */
    b[1] = 96;
    CHECK_EQ_INT(pl_classify(b, 11), PL_PKT_UNKNOWN);
    CHECK_EQ_INT(pl_classify(b, 1), PL_PKT_UNKNOWN);
    b[1] = 201;
    CHECK_EQ_INT(pl_classify(b, 8), PL_PKT_RTCP);
    CHECK_EQ_INT(pl_classify(b, 7), PL_PKT_UNKNOWN);
}

static void test_vp8_one_byte(void)
{
    struct pl_rtp r;
    CHECK_EQ_INT(pl_rtp_parse(vp8_pkt, sizeof(vp8_pkt), &r), 0);
    CHECK_EQ_INT(r.marker, 1);
    CHECK_EQ_INT(r.pt, 96);
    CHECK_EQ_INT(r.seq, 0x1234);
    CHECK_EQ_INT(r.ts, 0x5a6b7c8d);
    CHECK_EQ_INT(r.ssrc, 0xdeadbeef);
    CHECK_EQ_INT(r.csrc_count, 0);
    CHECK_EQ_INT(r.ext_profile, 0xbede);
    CHECK_EQ_INT(r.ext_len, 12);
    CHECK(r.ext == vp8_pkt + 16);
    CHECK_EQ_INT(r.header_len, 28);
    CHECK(r.payload == vp8_pkt + 28);
    CHECK_EQ_INT(r.payload_len, 10);
    CHECK_EQ_INT(r.padding_len, 0);
    CHECK_EQ_INT(r.payload[0], 0x90);

    const uint8_t *v;
    size_t vl;
    CHECK(pl_rtp_ext_find(&r, 2, &v, &vl));
    CHECK_EQ_INT(vl, 3);
    CHECK_EQ_INT((v[0] << 16) | (v[1] << 8) | v[2], 0x4f129a);
    CHECK(pl_rtp_ext_find(&r, 3, &v, &vl));
    CHECK_EQ_INT(vl, 2);
    CHECK_EQ_INT((v[0] << 8) | v[1], 42);
    CHECK(pl_rtp_ext_find(&r, 4, &v, &vl));
    CHECK_EQ_INT(vl, 1);
    CHECK_EQ_INT(v[0], '0');
    CHECK(!pl_rtp_ext_find(&r, 1, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 0, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 15, &v, &vl));

    /* Iteration visits 2, 3, 4 in order and skips the padding. */
    size_t pos = 0;
    uint8_t id;
    const uint8_t want[] = {2, 3, 4};
    int n = 0;
    while (pl_rtp_ext_next(&r, &pos, &id, &v, &vl)) {
        if (n < 3)
            CHECK_EQ_INT(id, want[n]);
        n++;
    }
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(pos, 12);
}

static void test_one_byte_edge_cases(void)
{
    uint8_t p[40];
    struct pl_rtp r;
    const uint8_t *v;
    size_t vl;
    uint8_t id;
    size_t pos;
    memcpy(p, vp8_pkt, 16);

    /* id 15 stops parsing: the element after it is never seen. */
    const uint8_t stop[] = {0x10, 0xaa, 0xf0, 0x00, 0x20, 0xbb, 0x00, 0x00};
    p[15] = 2;
    memcpy(p + 16, stop, sizeof(stop));
    CHECK_EQ_INT(pl_rtp_parse(p, 16 + sizeof(stop), &r), 0);
    CHECK(pl_rtp_ext_find(&r, 1, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 2, &v, &vl));
    pos = 0;
    CHECK(pl_rtp_ext_next(&r, &pos, &id, &v, &vl));
    CHECK(!pl_rtp_ext_next(&r, &pos, &id, &v, &vl));
    CHECK(!pl_rtp_ext_next(&r, &pos, &id, &v, &vl));

    /* Id 0 with a non-zero length nibble isn't padding: malformed, iteration stops. */
    const uint8_t id0[] = {0x10, 0xaa, 0x01, 0x00, 0x20, 0xbb, 0x00, 0x00};
    memcpy(p + 16, id0, sizeof(id0));
    CHECK_EQ_INT(pl_rtp_parse(p, 16 + sizeof(id0), &r), 0);
    CHECK(pl_rtp_ext_find(&r, 1, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 2, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 0, &v, &vl));

    /* Element longer than the block: malformed, iteration stops. 16-byte element (len 15). */
    const uint8_t longel[] = {0x10, 0xaa, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00};
    memcpy(p + 16, longel, sizeof(longel));
    CHECK_EQ_INT(pl_rtp_parse(p, 16 + sizeof(longel), &r), 0);
    CHECK(pl_rtp_ext_find(&r, 1, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 2, &v, &vl));

    /* Maximum element length (16 bytes) that exactly fills the block. */
    p[15] = 5;
    p[16] = 0x00; p[17] = 0x00; p[18] = 0x00; /* leading padding */
    p[19] = 0x7f;
    for (int i = 0; i < 16; i++)
        p[20 + i] = (uint8_t)i;
    CHECK_EQ_INT(pl_rtp_parse(p, 36, &r), 0);
    CHECK(pl_rtp_ext_find(&r, 7, &v, &vl));
    CHECK_EQ_INT(vl, 16);
    CHECK_EQ_INT(v[15], 15);
    CHECK(v + vl == p + 36);

    /* Empty extension block and all-padding block. */
    p[15] = 0;
    CHECK_EQ_INT(pl_rtp_parse(p, 16, &r), 0);
    CHECK_EQ_INT(r.ext_len, 0);
    CHECK_EQ_INT(r.payload_len, 0);
    CHECK(!pl_rtp_ext_find(&r, 1, &v, &vl));
    p[15] = 1;
    memset(p + 16, 0, 4);
    CHECK_EQ_INT(pl_rtp_parse(p, 20, &r), 0);
    pos = 0;
    CHECK(!pl_rtp_ext_next(&r, &pos, &id, &v, &vl));

    /* Unknown profile: the block is skipped, no elements. */
    p[12] = 0x12;
    p[13] = 0x34;
    p[15] = 1;
    p[16] = 0x10;
    CHECK_EQ_INT(pl_rtp_parse(p, 20, &r), 0);
    CHECK_EQ_INT(r.ext_profile, 0x1234);
    CHECK_EQ_INT(r.header_len, 20);
    CHECK(!pl_rtp_ext_find(&r, 1, &v, &vl));

    /* No extension at all. */
    struct pl_rtp r2;
    const uint8_t plain[] = {0x80, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xab};
    CHECK_EQ_INT(pl_rtp_parse(plain, sizeof(plain), &r2), 0);
    CHECK_EQ_INT(r2.ext_profile, 0);
    CHECK(r2.ext == NULL);
    CHECK_EQ_INT(r2.payload_len, 1);
    CHECK(!pl_rtp_ext_find(&r2, 1, &v, &vl));
    pos = 0;
    CHECK(!pl_rtp_ext_next(&r2, &pos, &id, &v, &vl));
}

static void test_two_byte(void)
{
    struct pl_rtp r;
    const uint8_t *v;
    size_t vl;
    CHECK_EQ_INT(pl_rtp_parse(twobyte_pkt, sizeof(twobyte_pkt), &r), 0);
    CHECK_EQ_INT(r.marker, 0);
    CHECK_EQ_INT(r.pt, 111);
    CHECK_EQ_INT(r.ext_profile, 0x1000);
    CHECK_EQ_INT(r.ext_len, 12);
    CHECK_EQ_INT(r.header_len, 28);
    CHECK_EQ_INT(r.payload_len, 2);
    CHECK_EQ_INT(r.payload[0], 0xfe);
    CHECK(pl_rtp_ext_find(&r, 5, &v, &vl));
    CHECK_EQ_INT(vl, 0);
    CHECK(pl_rtp_ext_find(&r, 200, &v, &vl));
    CHECK_EQ_INT(vl, 3);
    CHECK_EQ_INT(v[0], 0xaa);
    CHECK_EQ_INT(v[2], 0xcc);
    CHECK(pl_rtp_ext_find(&r, 17, &v, &vl));
    CHECK_EQ_INT(vl, 1);
    CHECK_EQ_INT(v[0], 0x7f);
    CHECK(!pl_rtp_ext_find(&r, 6, &v, &vl));

    size_t pos = 0;
    uint8_t id;
    const uint8_t want[] = {5, 200, 17};
    int n = 0;
    while (pl_rtp_ext_next(&r, &pos, &id, &v, &vl)) {
        if (n < 3)
            CHECK_EQ_INT(id, want[n]);
        n++;
    }
    CHECK_EQ_INT(n, 3);

    /* appbits in the profile's low nibble are still the two-byte form. */
    uint8_t p[sizeof(twobyte_pkt)];
    memcpy(p, twobyte_pkt, sizeof(p));
    p[13] = 0x0f;
    CHECK_EQ_INT(pl_rtp_parse(p, sizeof(p), &r), 0);
    CHECK(pl_rtp_ext_find(&r, 200, &v, &vl));

    /* Element length past the block end: malformed. */
    p[20] = 0x09;
    CHECK_EQ_INT(pl_rtp_parse(p, sizeof(p), &r), 0);
    CHECK(pl_rtp_ext_find(&r, 5, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 200, &v, &vl));
    CHECK(!pl_rtp_ext_find(&r, 17, &v, &vl));

    /* An id in the last byte of the block with no room for its length byte. */
    const uint8_t lastid[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                              0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07};
    CHECK_EQ_INT(pl_rtp_parse(lastid, sizeof(lastid), &r), 0);
    CHECK(!pl_rtp_ext_find(&r, 7, &v, &vl));
}

static void test_csrc_padding(void)
{
    struct pl_rtp r;
    CHECK_EQ_INT(pl_rtp_parse(csrc_pad_pkt, sizeof(csrc_pad_pkt), &r), 0);
    CHECK_EQ_INT(r.csrc_count, 2);
    CHECK_EQ_INT(r.seq, 0xffff);
    CHECK_EQ_INT(r.ts, 48000);
    CHECK_EQ_INT(r.ssrc, 0x11223344);
    CHECK_EQ_INT(r.header_len, 20);
    CHECK(r.ext == NULL);
    CHECK_EQ_INT(r.padding_len, 3);
    CHECK_EQ_INT(r.payload_len, 3);
    CHECK_EQ_INT(r.payload[0], 0xfc);

    uint8_t p[sizeof(csrc_pad_pkt)];
    memcpy(p, csrc_pad_pkt, sizeof(p));
    /* Padding count 0 is invalid; count covering the whole payload is fine; more is not. */
    p[sizeof(p) - 1] = 0;
    CHECK(pl_rtp_parse(p, sizeof(p), &r) < 0);
    p[sizeof(p) - 1] = 6;
    CHECK_EQ_INT(pl_rtp_parse(p, sizeof(p), &r), 0);
    CHECK_EQ_INT(r.payload_len, 0);
    CHECK_EQ_INT(r.padding_len, 6);
    p[sizeof(p) - 1] = 7;
    CHECK(pl_rtp_parse(p, sizeof(p), &r) < 0);
    p[sizeof(p) - 1] = 255;
    CHECK(pl_rtp_parse(p, sizeof(p), &r) < 0);
    /* P bit with no byte left after the header. */
    CHECK(pl_rtp_parse(p, 20, &r) < 0);

    /* Padding-only packet (as sent for bandwidth probing): header + 255 bytes of padding. */
    uint8_t probe[12 + 255] = {0xa0, 0x60, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7};
    probe[sizeof(probe) - 1] = 255;
    CHECK_EQ_INT(pl_rtp_parse(probe, sizeof(probe), &r), 0);
    CHECK_EQ_INT(r.payload_len, 0);
    CHECK_EQ_INT(r.padding_len, 255);

    /* 15 CSRCs need 72 bytes. */
    uint8_t many[72 + 1] = {0x8f, 0x60};
    CHECK(pl_rtp_parse(many, 71, &r) < 0);
    CHECK_EQ_INT(pl_rtp_parse(many, 72, &r), 0);
    CHECK_EQ_INT(r.csrc_count, 15);
    CHECK_EQ_INT(r.payload_len, 0);
    CHECK_EQ_INT(pl_rtp_parse(many, 73, &r), 0);
    CHECK_EQ_INT(r.payload_len, 1);
}

static void test_bad_version(void)
{
    struct pl_rtp r;
    uint8_t p[sizeof(vp8_pkt)];
    memcpy(p, vp8_pkt, sizeof(p));
    for (int v = 0; v < 4; v++) {
        p[0] = (uint8_t)((v << 6) | (vp8_pkt[0] & 0x3f));
        if (v == 2)
            CHECK_EQ_INT(pl_rtp_parse(p, sizeof(p), &r), 0);
        else
            CHECK(pl_rtp_parse(p, sizeof(p), &r) < 0);
    }
    CHECK(pl_rtp_parse(NULL, 0, &r) < 0);
    /* Extension length in words running past the end. */
    memcpy(p, vp8_pkt, sizeof(p));
    p[15] = 0x40;
    CHECK(pl_rtp_parse(p, sizeof(p), &r) < 0);
    p[14] = 0xff;
    p[15] = 0xff;
    CHECK(pl_rtp_parse(p, sizeof(p), &r) < 0);
}

/* Every prefix shorter than the header fails; longer prefixes succeed with a shorter payload.
 * Each prefix is a separate heap copy so an over-read can't hide in the rest of the array. */
static void test_truncation(const uint8_t *pkt, size_t len, size_t header_len)
{
    for (size_t l = 0; l <= len; l++) {
        struct pl_rtp r;
        uint8_t *c;
        int rc = parse_copy(pkt, l, &r, &c);
        if (l < header_len) {
            CHECK(rc < 0);
        } else {
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(r.header_len, header_len);
            CHECK_EQ_INT(r.payload_len, l - header_len);
            /* Extensions of every complete prefix iterate without crossing the buffer. */
            size_t pos = 0;
            uint8_t id;
            const uint8_t *v;
            size_t vl;
            while (pl_rtp_ext_next(&r, &pos, &id, &v, &vl))
                CHECK(v >= c && v + vl <= c + l);
        }
        (void)pl_classify(c, l);
        free(c);
    }
}

/* Prefixes of a padded packet: wherever the parse succeeds, the parts add up to the length. */
static void test_truncation_padded(void)
{
    for (size_t l = 0; l <= sizeof(csrc_pad_pkt); l++) {
        struct pl_rtp r;
        uint8_t *c;
        int rc = parse_copy(csrc_pad_pkt, l, &r, &c);
        if (l < 21)
            CHECK(rc < 0);
        if (rc == 0)
            CHECK_EQ_INT(r.header_len + r.payload_len + r.padding_len, l);
        free(c);
    }
    struct pl_rtp r;
    CHECK_EQ_INT(pl_rtp_parse(csrc_pad_pkt, sizeof(csrc_pad_pkt) - 1, &r) < 0, 1); /* pad 0 */
}

static void test_write_header(void)
{
    uint8_t b[12];
    struct pl_rtp r;
    CHECK_EQ_INT(pl_rtp_write_header(b, 11, true, 96, 1, 2, 3), 0);
    CHECK_EQ_INT(pl_rtp_write_header(b, sizeof(b), true, 96, 0xfffe, 0x89abcdef, 0x01020304), 12);
    CHECK_EQ_INT(b[0], 0x80);
    CHECK_EQ_INT(b[1], 0xe0);
    CHECK_EQ_INT(pl_classify(b, 12), PL_PKT_RTP);
    CHECK_EQ_INT(pl_rtp_parse(b, 12, &r), 0);
    CHECK_EQ_INT(r.marker, 1);
    CHECK_EQ_INT(r.pt, 96);
    CHECK_EQ_INT(r.seq, 0xfffe);
    CHECK_EQ_INT(r.ts, 0x89abcdef);
    CHECK_EQ_INT(r.ssrc, 0x01020304);
    CHECK_EQ_INT(r.header_len, 12);
    CHECK_EQ_INT(r.payload_len, 0);
    /* PT is masked to 7 bits; no marker. */
    CHECK_EQ_INT(pl_rtp_write_header(b, sizeof(b), false, 0xff, 7, 8, 9), 12);
    CHECK_EQ_INT(pl_rtp_parse(b, 12, &r), 0);
    CHECK_EQ_INT(r.marker, 0);
    CHECK_EQ_INT(r.pt, 127);
}

static void test_seq_newer(void)
{
    CHECK(pl_seq_newer(1, 0));
    CHECK(!pl_seq_newer(0, 1));
    CHECK(!pl_seq_newer(5, 5));
    CHECK(pl_seq_newer(0, 65535));
    CHECK(pl_seq_newer(10, 65530));
    CHECK(!pl_seq_newer(65530, 10));
    CHECK(pl_seq_newer(32767, 0));
    CHECK(!pl_seq_newer(32768, 0)); /* exactly half way round: not newer either way */
    CHECK(!pl_seq_newer(0, 32768));
    CHECK(pl_ts_newer(0, 0xffffffff));
    CHECK(pl_ts_newer(100, 0xfffff000));
    CHECK(!pl_ts_newer(0xfffff000, 100));
    CHECK(!pl_ts_newer(7, 7));
}

int main(void)
{
    test_classify();
    test_vp8_one_byte();
    test_one_byte_edge_cases();
    test_two_byte();
    test_csrc_padding();
    test_bad_version();
    test_truncation(vp8_pkt, sizeof(vp8_pkt), 28);
    test_truncation(twobyte_pkt, sizeof(twobyte_pkt), 28);
    test_truncation_padded();
    test_write_header();
    test_seq_newer();
    return check_result("rtp");
}
