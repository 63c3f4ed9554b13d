/* Recorder depacketizers: VP8, VP9 (flexible and non-flexible, spatial layers), H.264 (single
 * NAL, STAP-A, FU-A, SPS size), Opus; every one also with a missing or broken packet. */
#include <string.h>

#include "check.h"
#include "parley/bytes.h"
#include "parley/depkt.h"

/* A real SPS/PPS from x264 (High profile, 320x180: 192 coded lines cropped to 180). */
static const uint8_t sps[] = {0x67, 0x64, 0x00, 0x0d, 0xac, 0xb2, 0x02, 0x83, 0x3f, 0x3e, 0x02, 0x20,
                              0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x81, 0xe2, 0x85, 0x49};
static const uint8_t pps[] = {0x68, 0xeb, 0xc3, 0xcb, 0x22, 0xc0};

/* The start of a real libvpx VP9 key frame (profile 1, RGB, 320x180). */
static const uint8_t vp9_key[] = {0xa2, 0x49, 0x83, 0x42, 0xe0, 0x13, 0xf0, 0x0b, 0x36, 0x10,
                                  0x38, 0x24, 0x1c, 0x18, 0x4a, 0x00};

static void vp8(void)
{
    struct pl_depkt_frame f = {0};
    /* Key frame 640x480 in two packets: descriptor with 15-bit picture id. */
    uint8_t p1[] = {0x90, 0x80, 0x81, 0x02, 0x30, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0xaa};
    uint8_t p2[] = {0x80, 0x80, 0x81, 0x02, 0xbb, 0xcc};
    struct pl_depkt_pkt pk[2] = {{p1, sizeof(p1)}, {p2, sizeof(p2)}};
    CHECK_EQ_INT(pl_depkt_vp8(pk, 2, &f), 0);
    CHECK(f.keyframe);
    CHECK_EQ_INT(f.width, 640);
    CHECK_EQ_INT(f.height, 480);
    CHECK_EQ_INT(f.len, 11 + 2);
    CHECK(f.data[0] == 0x30 && f.data[11] == 0xbb && f.data[12] == 0xcc);
    CHECK(pl_depkt_starts_frame(PL_REC_VP8, p1, sizeof(p1)));
    CHECK(pl_depkt_starts_keyframe(PL_REC_VP8, p1, sizeof(p1)));
    CHECK(!pl_depkt_starts_frame(PL_REC_VP8, p2, sizeof(p2)));
    /* Without its first packet: not a frame. */
    CHECK_EQ_INT(pl_depkt_vp8(&pk[1], 1, &f), -1);
    /* Two frame starts in one frame. */
    struct pl_depkt_pkt twice[2] = {{p1, sizeof(p1)}, {p1, sizeof(p1)}};
    CHECK_EQ_INT(pl_depkt_vp8(twice, 2, &f), -1);
    /* A key frame whose start code is wrong. */
    uint8_t bad[sizeof(p1)];
    memcpy(bad, p1, sizeof(p1));
    bad[7] = 0x9c;
    struct pl_depkt_pkt b1 = {bad, sizeof(bad)};
    CHECK_EQ_INT(pl_depkt_vp8(&b1, 1, &f), -1);
    /* A delta frame whose first partition is longer than the frame (truncated). */
    uint8_t d1[] = {0x10, 0x81, 0x0c, 0x00, 0x11, 0x22}; /* size 100 */
    struct pl_depkt_pkt dp = {d1, sizeof(d1)};
    CHECK_EQ_INT(pl_depkt_vp8(&dp, 1, &f), -1);
    d1[1] = 0x41; /* size 2 */
    d1[2] = 0x00;
    CHECK_EQ_INT(pl_depkt_vp8(&dp, 1, &f), 0);
    CHECK(!f.keyframe);
    pl_depkt_frame_free(&f);
}

static void vp9(void)
{
    struct pl_depkt_frame f = {0};
    /* Non-flexible: I (15-bit), L (TID/SID + TL0PICIDX), B, E, V (SS with one 320x180 layer). */
    uint8_t p[64];
    size_t n = 0;
    p[n++] = 0x80 | 0x20 | 0x08 | 0x04 | 0x02;
    p[n++] = 0x80;
    p[n++] = 0x01;
    p[n++] = 0x00; /* TID 0, SID 0 */
    p[n++] = 0x05; /* TL0PICIDX */
    p[n++] = 0x10; /* N_S = 0, Y */
    p[n++] = 0x01, p[n++] = 0x40, p[n++] = 0x00, p[n++] = 0xb4;
    memcpy(p + n, vp9_key, sizeof(vp9_key));
    n += sizeof(vp9_key);
    struct pl_depkt_pkt pk = {p, n};
    CHECK(pl_depkt_starts_keyframe(PL_REC_VP9, p, n));
    CHECK_EQ_INT(pl_depkt_vp9(&pk, 1, &f), 0);
    CHECK(f.keyframe);
    CHECK_EQ_INT(f.width, 320);
    CHECK_EQ_INT(f.height, 180);
    CHECK_EQ_INT(f.profile, 1);
    CHECK_EQ_INT(f.chroma, 3);
    CHECK_EQ_INT(f.len, sizeof(vp9_key));

    /* Flexible mode delta frame in two packets: P with two P_DIFFs, then the rest. */
    uint8_t a[] = {0x40 | 0x10 | 0x08 | 0x80, 0x05, 0x03, 0x04, 0x86, 0x00, 0x11};
    uint8_t b[] = {0x40 | 0x10 | 0x04 | 0x80, 0x05, 0x03, 0x04, 0x22, 0x33};
    struct pl_depkt_pkt two[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
    CHECK(pl_depkt_starts_frame(PL_REC_VP9, a, sizeof(a)));
    CHECK(!pl_depkt_starts_keyframe(PL_REC_VP9, a, sizeof(a)));
    CHECK_EQ_INT(pl_depkt_vp9(two, 2, &f), 0);
    CHECK(!f.keyframe);
    CHECK_EQ_INT(f.len, 5);
    /* Missing the end (E) packet. */
    CHECK_EQ_INT(pl_depkt_vp9(two, 1, &f), -1);
    /* Missing the beginning. */
    CHECK_EQ_INT(pl_depkt_vp9(&two[1], 1, &f), -1);
    /* Four P_DIFFs is one too many. */
    uint8_t c[] = {0x40 | 0x10 | 0x08 | 0x04, 0x03, 0x03, 0x03, 0x02, 0x00};
    struct pl_depkt_pkt cp = {c, sizeof(c)};
    CHECK_EQ_INT(pl_depkt_vp9(&cp, 1, &f), -1);

    /* Two spatial layers in one picture become a superframe with an index. */
    uint8_t l0[] = {0x20 | 0x08 | 0x04, 0x00, 0x01, 0x86, 0x00};          /* SID 0, delta */
    uint8_t l1[] = {0x20 | 0x08 | 0x04, 0x02, 0x01, 0x86, 0x01, 0x02};    /* SID 1 */
    struct pl_depkt_pkt sl[2] = {{l0, sizeof(l0)}, {l1, sizeof(l1)}};
    l0[0] |= 0x40;
    l1[0] |= 0x40;
    CHECK_EQ_INT(pl_depkt_vp9(sl, 2, &f), 0);
    CHECK_EQ_INT(f.len, 2 + 3 + 2 + 8);
    uint8_t marker = 0xc0 | (3 << 3) | 1;
    CHECK(f.data[5] == marker && f.data[f.len - 1] == marker);
    CHECK_EQ_INT(f.data[6], 2);
    CHECK_EQ_INT(f.data[10], 3);
    pl_depkt_frame_free(&f);
}

static void h264(void)
{
    struct pl_depkt_frame f = {0};
    /* STAP-A with SPS and PPS, then an IDR slice in three FU-A fragments. */
    uint8_t stap[64];
    size_t n = 0;
    stap[n++] = 0x78;
    pl_wr16(stap + n, sizeof(sps));
    n += 2;
    memcpy(stap + n, sps, sizeof(sps));
    n += sizeof(sps);
    pl_wr16(stap + n, sizeof(pps));
    n += 2;
    memcpy(stap + n, pps, sizeof(pps));
    n += sizeof(pps);
    uint8_t fu1[] = {0x7c, 0x85, 0x88, 0x84};
    uint8_t fu2[] = {0x7c, 0x05, 0x01, 0x02};
    uint8_t fu3[] = {0x7c, 0x45, 0x03};
    struct pl_depkt_pkt pk[4] = {{stap, n}, {fu1, sizeof(fu1)}, {fu2, sizeof(fu2)}, {fu3, sizeof(fu3)}};
    CHECK(pl_depkt_starts_keyframe(PL_REC_H264, stap, n));
    CHECK_EQ_INT(pl_depkt_h264(pk, 4, &f), 0);
    CHECK(f.keyframe);
    CHECK_EQ_INT(f.width, 320);
    CHECK_EQ_INT(f.height, 180);
    CHECK_EQ_INT(f.sps_len, sizeof(sps));
    CHECK_EQ_INT(f.pps_len, sizeof(pps));
    /* Length-prefixed: SPS, PPS, then the IDR unit rebuilt: header 0x65 + 5 bytes. */
    CHECK_EQ_INT(f.len, 4 + sizeof(sps) + 4 + sizeof(pps) + 4 + 6);
    size_t idr = 4 + sizeof(sps) + 4 + sizeof(pps);
    CHECK_EQ_INT(pl_rd32(f.data), sizeof(sps));
    CHECK_EQ_INT(pl_rd32(f.data + idr), 6);
    CHECK_EQ_INT(f.data[idr + 4], 0x65);
    CHECK_EQ_INT(f.data[idr + 9], 0x03);
    /* Middle fragment lost: the FU-A never ends properly. */
    struct pl_depkt_pkt lost[3] = {{stap, n}, {fu1, sizeof(fu1)}, {fu3, sizeof(fu3)}};
    CHECK_EQ_INT(pl_depkt_h264(lost, 3, &f), 0); /* sequence numbers tell, not the FU: see assembler */
    struct pl_depkt_pkt noend[2] = {{stap, n}, {fu1, sizeof(fu1)}};
    CHECK_EQ_INT(pl_depkt_h264(noend, 2, &f), -1);
    struct pl_depkt_pkt nostart[2] = {{fu2, sizeof(fu2)}, {fu3, sizeof(fu3)}};
    CHECK_EQ_INT(pl_depkt_h264(nostart, 2, &f), -1);
    /* IDR without parameter sets cannot start a track. */
    uint8_t idr_nal[] = {0x65, 0x88, 0x80};
    struct pl_depkt_pkt single = {idr_nal, sizeof(idr_nal)};
    CHECK_EQ_INT(pl_depkt_h264(&single, 1, &f), -1);
    /* A single non-IDR slice is fine. */
    uint8_t p_nal[] = {0x41, 0x9a, 0x00};
    single = (struct pl_depkt_pkt){p_nal, sizeof(p_nal)};
    CHECK_EQ_INT(pl_depkt_h264(&single, 1, &f), 0);
    CHECK(!f.keyframe);
    CHECK_EQ_INT(f.len, 7);
    /* STAP-A whose inner size runs past the packet. */
    uint8_t bad[] = {0x78, 0x00, 0x09, 0x67, 0x42};
    single = (struct pl_depkt_pkt){bad, sizeof(bad)};
    CHECK_EQ_INT(pl_depkt_h264(&single, 1, &f), -1);
    /* MTAP (interleaved mode) is refused. */
    uint8_t mtap[] = {0x1a, 0x00, 0x00};
    single = (struct pl_depkt_pkt){mtap, sizeof(mtap)};
    CHECK_EQ_INT(pl_depkt_h264(&single, 1, &f), -1);
    uint16_t w, h;
    CHECK_EQ_INT(pl_h264_sps_size(sps, 5, &w, &h), -1);
    struct pl_h264_sps info;
    CHECK_EQ_INT(pl_h264_sps_parse(sps, sizeof(sps), &info), 0);
    CHECK_EQ_INT(info.profile, 100);
    CHECK_EQ_INT(info.chroma_format, 1);
    CHECK_EQ_INT(info.bit_depth_luma, 8);
    CHECK_EQ_INT(info.bit_depth_chroma, 8);
    pl_depkt_frame_free(&f);
}

static void opus(void)
{
    struct pl_depkt_frame f = {0};
    uint8_t toc20[] = {0x78, 0x01, 0x02}; /* config 15 (CELT? no: hybrid FB 20 ms), code 0 */
    struct pl_depkt_pkt p = {toc20, sizeof(toc20)};
    CHECK_EQ_INT(pl_depkt_opus(&p, 1, &f), 0);
    CHECK_EQ_INT(f.samples, 960);
    CHECK_EQ_INT(f.len, 3);
    uint8_t code3_bad[] = {0x7b}; /* code 3 without its frame count byte */
    p = (struct pl_depkt_pkt){code3_bad, 1};
    CHECK_EQ_INT(pl_depkt_opus(&p, 1, &f), -1);
    p = (struct pl_depkt_pkt){toc20, 0};
    CHECK_EQ_INT(pl_depkt_opus(&p, 1, &f), -1);
    pl_depkt_frame_free(&f);
}

int main(void)
{
    vp8();
    vp9();
    h264();
    opus();
    return check_result("rec_depkt");
}
