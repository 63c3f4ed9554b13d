/* H.264 RTP payloads (RFC 6184): NAL unit types carried and key frame detection for single
 * NAL unit packets, STAP-A and FU-A, well-formed, malformed and truncated. */
#include <string.h>

#include "check.h"
#include "parley/h264.h"

/* Single NAL unit packets as a baseline encoder writes them. */
static const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40, 0x50, 0x1e, 0xd0};
static const uint8_t pps[] = {0x68, 0xce, 0x3c, 0x80};
/* IDR slice, first_mb_in_slice = 0 (ue(v) "1"). */
static const uint8_t idr[] = {0x65, 0x88, 0x84, 0x00, 0x33, 0xff, 0xfe};
/* Second slice of the same IDR picture: first_mb_in_slice = 1 (ue(v) "010"). */
static const uint8_t idr_slice2[] = {0x65, 0x41, 0x9a, 0x22, 0x10};
static const uint8_t non_idr[] = {0x41, 0x9a, 0x02, 0x04, 0x5f};
static const uint8_t sei[] = {0x06, 0x05, 0x01, 0x00, 0x80};

/* STAP-A (NRI 3) with SPS, PPS and the IDR slice: what Chrome sends for a key frame. */
static const uint8_t stap_key[] = {
    0x78,
    0x00, 0x0a, 0x67, 0x42, 0xc0, 0x1f, 0x8c, 0x8d, 0x40, 0x50, 0x1e, 0xd0,
    0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,
    0x00, 0x07, 0x65, 0x88, 0x84, 0x00, 0x33, 0xff, 0xfe};
/* Where each unit of stap_key ends: the prefixes that are themselves well formed. */
static const size_t stap_key_bounds[] = {13, 19, 28};

/* STAP-A with an SEI and a non-IDR slice. */
static const uint8_t stap_delta[] = {
    0x78, 0x00, 0x05, 0x06, 0x05, 0x01, 0x00, 0x80, 0x00, 0x05, 0x41, 0x9a, 0x02, 0x04, 0x5f};

/* FU-A (indicator NRI 3, type 28), FU header |S|E|R|type|. */
static const uint8_t fu_idr_start[] = {0x7c, 0x85, 0x88, 0x84, 0x00, 0x33};
static const uint8_t fu_idr_mid[] = {0x7c, 0x05, 0x12, 0x34, 0x56};
static const uint8_t fu_idr_end[] = {0x7c, 0x45, 0x9a, 0xbc};
static const uint8_t fu_idr_start_slice2[] = {0x7c, 0x85, 0x41, 0x9a};
static const uint8_t fu_p_start[] = {0x5c, 0x81, 0x9a, 0x02, 0x04};
static const uint8_t fu_p_mid[] = {0x5c, 0x01, 0x88, 0x02};
static const uint8_t fu_p_end[] = {0x5c, 0x41, 0x88};

static void single_nal(void)
{
    uint8_t t[4];
    CHECK(pl_h264_is_keyframe(sps, sizeof(sps)));
    CHECK(!pl_h264_is_keyframe(pps, sizeof(pps)));
    CHECK(pl_h264_is_keyframe(idr, sizeof(idr)));
    CHECK(!pl_h264_is_keyframe(idr_slice2, sizeof(idr_slice2)));
    CHECK(!pl_h264_is_keyframe(non_idr, sizeof(non_idr)));
    CHECK(!pl_h264_is_keyframe(sei, sizeof(sei)));
    CHECK_EQ_INT(pl_h264_nal_types(sps, sizeof(sps), t, 4), 1);
    CHECK_EQ_INT(t[0], 7);
    CHECK_EQ_INT(pl_h264_nal_types(idr, sizeof(idr), t, 4), 1);
    CHECK_EQ_INT(t[0], 5);
    CHECK_EQ_INT(pl_h264_nal_types(non_idr, sizeof(non_idr), t, 4), 1);
    CHECK_EQ_INT(t[0], 1);
    /* Just a NAL header: listed, but no key frame. */
    CHECK(!pl_h264_is_keyframe(idr, 1));
    CHECK(!pl_h264_is_keyframe(sps, 1));
    CHECK_EQ_INT(pl_h264_nal_types(idr, 1, t, 4), 1);
}

static void stap_a(void)
{
    uint8_t t[4];
    CHECK(pl_h264_is_keyframe(stap_key, sizeof(stap_key)));
    CHECK_EQ_INT(pl_h264_nal_types(stap_key, sizeof(stap_key), t, 4), 3);
    CHECK_EQ_INT(t[0], 7);
    CHECK_EQ_INT(t[1], 8);
    CHECK_EQ_INT(t[2], 5);
    /* Fewer slots than units: the count is still the total. */
    memset(t, 0xEE, sizeof(t));
    CHECK_EQ_INT(pl_h264_nal_types(stap_key, sizeof(stap_key), t, 2), 3);
    CHECK_EQ_INT(t[1], 8);
    CHECK_EQ_INT(t[2], 0xEE);
    CHECK_EQ_INT(pl_h264_nal_types(stap_key, sizeof(stap_key), NULL, 0), 3);

    CHECK(!pl_h264_is_keyframe(stap_delta, sizeof(stap_delta)));
    CHECK_EQ_INT(pl_h264_nal_types(stap_delta, sizeof(stap_delta), t, 4), 2);
    CHECK_EQ_INT(t[0], 6);
    CHECK_EQ_INT(t[1], 1);

    /* SPS + PPS alone (IDR in the next packet) already starts the key frame. */
    CHECK(pl_h264_is_keyframe(stap_key, 19));
}

static void stap_a_bad_size(void)
{
    uint8_t p[sizeof(stap_key)];
    /* First size one too large (runs over the end when it is the last unit). */
    memcpy(p, stap_key, sizeof(p));
    p[20] = 0x08;
    CHECK(!pl_h264_is_keyframe(p, sizeof(p)));
    CHECK_EQ_INT(pl_h264_nal_types(p, sizeof(p), NULL, 0), -1);
    /* A size far beyond the packet, on the SPS (the key unit comes first: still refused). */
    memcpy(p, stap_key, sizeof(p));
    p[1] = 0xff;
    CHECK(!pl_h264_is_keyframe(p, sizeof(p)));
    CHECK_EQ_INT(pl_h264_nal_types(p, sizeof(p), NULL, 0), -1);
    /* A size too small: the rest is misread as a size and runs over. */
    memcpy(p, stap_key, sizeof(p));
    p[2] = 0x09;
    CHECK(!pl_h264_is_keyframe(p, sizeof(p)));
    CHECK_EQ_INT(pl_h264_nal_types(p, sizeof(p), NULL, 0), -1);
    /* A zero size. */
    const uint8_t zero[] = {0x78, 0x00, 0x00, 0x00, 0x01, 0x67};
    CHECK_EQ_INT(pl_h264_nal_types(zero, sizeof(zero), NULL, 0), -1);
    CHECK(!pl_h264_is_keyframe(zero, sizeof(zero)));
    /* Empty aggregate, and one trailing octet after the last unit. */
    CHECK_EQ_INT(pl_h264_nal_types(stap_key, 1, NULL, 0), -1);
    const uint8_t trailing[] = {0x78, 0x00, 0x02, 0x67, 0x42, 0x00};
    CHECK_EQ_INT(pl_h264_nal_types(trailing, sizeof(trailing), NULL, 0), -1);
    CHECK(!pl_h264_is_keyframe(trailing, sizeof(trailing)));
}

static void fu_a(void)
{
    uint8_t t[2];
    CHECK(pl_h264_is_keyframe(fu_idr_start, sizeof(fu_idr_start)));
    CHECK(!pl_h264_is_keyframe(fu_idr_mid, sizeof(fu_idr_mid)));
    CHECK(!pl_h264_is_keyframe(fu_idr_end, sizeof(fu_idr_end)));
    CHECK(!pl_h264_is_keyframe(fu_idr_start_slice2, sizeof(fu_idr_start_slice2)));
    CHECK(!pl_h264_is_keyframe(fu_p_start, sizeof(fu_p_start)));
    CHECK(!pl_h264_is_keyframe(fu_p_mid, sizeof(fu_p_mid)));
    CHECK(!pl_h264_is_keyframe(fu_p_end, sizeof(fu_p_end)));
    CHECK_EQ_INT(pl_h264_nal_types(fu_idr_start, sizeof(fu_idr_start), t, 2), 1);
    CHECK_EQ_INT(t[0], 5);
    CHECK_EQ_INT(pl_h264_nal_types(fu_idr_mid, sizeof(fu_idr_mid), t, 2), 1);
    CHECK_EQ_INT(t[0], 5);
    CHECK_EQ_INT(pl_h264_nal_types(fu_idr_end, sizeof(fu_idr_end), t, 2), 1);
    CHECK_EQ_INT(t[0], 5);
    CHECK_EQ_INT(pl_h264_nal_types(fu_p_start, sizeof(fu_p_start), t, 2), 1);
    CHECK_EQ_INT(t[0], 1);
    /* FU indicator alone: malformed. FU header and nothing else: no key frame. */
    CHECK_EQ_INT(pl_h264_nal_types(fu_idr_start, 1, t, 2), -1);
    CHECK(!pl_h264_is_keyframe(fu_idr_start, 1));
    CHECK_EQ_INT(pl_h264_nal_types(fu_idr_start, 2, t, 2), 1);
    CHECK(!pl_h264_is_keyframe(fu_idr_start, 2));
    CHECK(pl_h264_is_keyframe(fu_idr_start, 3));
}

static void unsupported_and_empty(void)
{
    const uint8_t stap_b[] = {0x79, 0x00, 0x01, 0x00, 0x02, 0x67, 0x42};
    const uint8_t fu_b[] = {0x7d, 0x85, 0x00, 0x01, 0x88};
    const uint8_t mtap16[] = {0x7a, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x67};
    CHECK_EQ_INT(pl_h264_nal_types(stap_b, sizeof(stap_b), NULL, 0), -1);
    CHECK(!pl_h264_is_keyframe(stap_b, sizeof(stap_b)));
    CHECK_EQ_INT(pl_h264_nal_types(fu_b, sizeof(fu_b), NULL, 0), -1);
    CHECK(!pl_h264_is_keyframe(fu_b, sizeof(fu_b)));
    CHECK_EQ_INT(pl_h264_nal_types(mtap16, sizeof(mtap16), NULL, 0), -1);
    CHECK_EQ_INT(pl_h264_nal_types(idr, 0, NULL, 0), -1);
    CHECK_EQ_INT(pl_h264_nal_types(NULL, 5, NULL, 0), -1);
    CHECK(!pl_h264_is_keyframe(idr, 0));
    CHECK(!pl_h264_is_keyframe(NULL, 0));
}

/* Every prefix of every sample: never reads past len (ASan builds), and a STAP-A prefix is
 * well formed exactly when it ends on a unit boundary. */
static void truncated(void)
{
    uint8_t t[4];
    for (size_t len = 0; len <= sizeof(stap_key); len++) {
        int n = pl_h264_nal_types(stap_key, len, t, 4);
        int want = -1;
        for (int i = 0; i < 3; i++)
            if (len == stap_key_bounds[i])
                want = i + 1;
        CHECK_EQ_INT(n, want);
        /* A key frame once the SPS is whole and the packet well formed. */
        CHECK_EQ_INT(pl_h264_is_keyframe(stap_key, len), want > 0);
    }
    for (size_t len = 0; len <= sizeof(stap_delta); len++)
        CHECK(!pl_h264_is_keyframe(stap_delta, len));
    for (size_t len = 0; len <= sizeof(fu_idr_start); len++)
        CHECK_EQ_INT(pl_h264_is_keyframe(fu_idr_start, len), len >= 3);
    for (size_t len = 0; len <= sizeof(idr); len++) {
        CHECK_EQ_INT(pl_h264_is_keyframe(idr, len), len >= 2);
        CHECK_EQ_INT(pl_h264_nal_types(idr, len, t, 4), len >= 1 ? 1 : -1);
    }
    for (size_t len = 0; len <= sizeof(sps); len++)
        CHECK_EQ_INT(pl_h264_is_keyframe(sps, len), len >= 2);
}

int main(void)
{
    single_nal();
    stap_a();
    stap_a_bad_size();
    fu_a();
    unsupported_and_empty();
    truncated();
    return check_result("h264");
}
