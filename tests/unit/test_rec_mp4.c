/* MP4 boxes of the recorder: sample entries (vpcC, avcC, dOps big-endian), the fragmented
 * form parsed back (tracks, names, sample times, sizes, sync flags, data offsets), a
 * truncated tail, and the final head (stts, stss, stsz, co64, elst, roll group). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parley/bytes.h"
#include "parley/mp4.h"

struct mem {
    const uint8_t *p;
    size_t len;
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct mem *m = ctx;
    if (off > m->len || len > m->len - off)
        return -1;
    memcpy(buf, m->p + off, len);
    return 0;
}

/* The first occurrence of a box type inside b (after its size field). */
static const uint8_t *find(const uint8_t *b, size_t len, const char *type)
{
    for (size_t i = 4; i + 4 <= len; i++)
        if (memcmp(b + i, type, 4) == 0)
            return b + i - 4;
    return NULL;
}

static void make_tracks(struct pl_mp4_track *t)
{
    memset(t, 0, 2 * sizeof(*t));
    struct pl_buf e = {0};
    struct pl_mp4_entry_desc d = {.codec = PL_REC_VP8, .width = 320, .height = 240, .bit_depth = 8, .chroma = 1};
    CHECK_EQ_INT(pl_mp4_sample_entry(&e, &d), 0);
    t[0] = (struct pl_mp4_track){.id = 3, .video = true, .timescale = 90000, .fourcc = PL_FOURCC('v', 'p', '0', '8'),
                                 .entry = e.p, .entry_len = e.len, .width = 320, .height = 240};
    strcpy(t[0].name, "alice video");
    struct pl_buf o = {0};
    d = (struct pl_mp4_entry_desc){.codec = PL_REC_OPUS, .channels = 2, .pre_skip = 312};
    CHECK_EQ_INT(pl_mp4_sample_entry(&o, &d), 0);
    t[1] = (struct pl_mp4_track){.id = 4, .video = false, .timescale = 48000, .fourcc = PL_FOURCC('O', 'p', 'u', 's'),
                                 .entry = o.p, .entry_len = o.len, .pre_skip = 312, .roll = -4};
    strcpy(t[1].name, "alice audio");
}

static void entries(void)
{
    struct pl_buf b = {0};
    struct pl_mp4_entry_desc d = {.codec = PL_REC_OPUS, .channels = 2, .pre_skip = 0x1234};
    CHECK_EQ_INT(pl_mp4_sample_entry(&b, &d), 0);
    const uint8_t *dops = find(b.p, b.len, "dOps");
    CHECK(dops && pl_rd32(dops) == 19);
    CHECK(dops && dops[8] == 0 && dops[9] == 2 && pl_rd16(dops + 10) == 0x1234 && pl_rd32(dops + 12) == 48000);
    CHECK_EQ_INT(pl_rd32(b.p), b.len);
    pl_buf_free(&b);

    const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1e, 0x01};
    const uint8_t pps[] = {0x68, 0xce};
    d = (struct pl_mp4_entry_desc){.codec = PL_REC_H264, .width = 640, .height = 360, .sps = sps,
                                   .sps_len = sizeof(sps), .pps = pps, .pps_len = sizeof(pps)};
    CHECK_EQ_INT(pl_mp4_sample_entry(&b, &d), 0);
    CHECK(memcmp(b.p + 4, "avc1", 4) == 0);
    CHECK_EQ_INT(pl_rd16(b.p + 32), 640);
    CHECK_EQ_INT(pl_rd16(b.p + 34), 360);
    const uint8_t *avcc = find(b.p, b.len, "avcC");
    CHECK(avcc && avcc[8] == 1 && avcc[9] == 0x42 && avcc[11] == 0x1e && avcc[12] == 0xff && avcc[13] == 0xe1);
    CHECK(avcc && pl_rd16(avcc + 14) == sizeof(sps) && memcmp(avcc + 16, sps, sizeof(sps)) == 0);
    CHECK(avcc && avcc[16 + sizeof(sps)] == 1 && pl_rd16(avcc + 17 + sizeof(sps)) == sizeof(pps));
    pl_buf_free(&b);
    /* A High profile SPS (x264, 320x180): avcC ends with chroma format 1, 8-bit depths. */
    const uint8_t high[] = {0x67, 0x64, 0x00, 0x0d, 0xac, 0xb2, 0x02, 0x83, 0x3f, 0x3e, 0x02, 0x20,
                            0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x81, 0xe2, 0x85, 0x49};
    d = (struct pl_mp4_entry_desc){.codec = PL_REC_H264, .width = 320, .height = 180, .sps = high,
                                   .sps_len = sizeof(high), .pps = pps, .pps_len = sizeof(pps)};
    CHECK_EQ_INT(pl_mp4_sample_entry(&b, &d), 0);
    avcc = find(b.p, b.len, "avcC");
    size_t end = avcc ? pl_rd32(avcc) : 0;
    CHECK(avcc && end == 8 + 6 + 2 + sizeof(high) + 1 + 2 + sizeof(pps) + 4);
    CHECK(avcc && avcc[end - 4] == 0xfd && avcc[end - 3] == 0xf8 && avcc[end - 2] == 0xf8 && avcc[end - 1] == 0);
    pl_buf_free(&b);
    d = (struct pl_mp4_entry_desc){.codec = PL_REC_H264};
    CHECK_EQ_INT(pl_mp4_sample_entry(&b, &d), -1); /* no SPS */
    pl_buf_free(&b);

    d = (struct pl_mp4_entry_desc){.codec = PL_REC_VP9, .width = 320, .height = 180, .profile = 1, .bit_depth = 10, .chroma = 3};
    CHECK_EQ_INT(pl_mp4_sample_entry(&b, &d), 0);
    const uint8_t *vpcc = find(b.p, b.len, "vpcC");
    CHECK(vpcc && vpcc[8] == 1 && vpcc[12] == 1 && vpcc[14] == (10 << 4 | 3 << 1));
    pl_buf_free(&b);
}

static void fragments(void)
{
    struct pl_mp4_track t[2];
    make_tracks(t);
    struct pl_buf f = {0};
    CHECK_EQ_INT(pl_mp4_write_init(&f, t, 2), 0);
    uint8_t vdata[300], adata[100];
    for (size_t i = 0; i < sizeof(vdata); i++)
        vdata[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(adata); i++)
        adata[i] = (uint8_t)(200 + i);
    /* fragment 1: 3 video samples (key, delta, delta), 2 audio; fragment 2: 1 + 1 */
    struct pl_mp4_sample vs[4] = {{.dts = 90000, .off = 0, .size = 100, .dur = 3000, .sync = true},
                                  {.dts = 93000, .off = 100, .size = 50, .dur = 3000},
                                  {.dts = 96000, .off = 150, .size = 50, .dur = 3003},
                                  {.dts = 99003, .off = 200, .size = 100, .dur = 3000}};
    struct pl_mp4_sample as[3] = {{.dts = 0, .off = 0, .size = 40, .dur = 960, .sync = true},
                                  {.dts = 960, .off = 40, .size = 30, .dur = 960, .sync = true},
                                  {.dts = 48000, .off = 70, .size = 30, .dur = 960, .sync = true}};
    struct pl_mp4_frag_track ft[2] = {{&t[0], vs, 3, vdata}, {&t[1], as, 2, adata}};
    CHECK_EQ_INT(pl_mp4_write_fragment(&f, 1, ft, 2), 0);
    size_t frag1_end = f.len;
    ft[0] = (struct pl_mp4_frag_track){&t[0], vs + 3, 1, vdata};
    ft[1] = (struct pl_mp4_frag_track){&t[1], as + 2, 1, adata};
    CHECK_EQ_INT(pl_mp4_write_fragment(&f, 2, ft, 2), 0);
    CHECK(!f.err);

    struct pl_mp4_in in = {0};
    struct mem m = {f.p, f.len};
    CHECK_EQ_INT(pl_mp4_read_file(&in, 0, f.len, mem_read, &m), 0);
    CHECK_EQ_INT(in.n, 2);
    CHECK_EQ_INT(in.fragments, 2);
    CHECK(!in.truncated);
    if (in.n == 2) {
        struct pl_mp4_track *v = &in.t[0], *a = &in.t[1];
        CHECK_EQ_INT(v->id, 3);
        CHECK(v->video && v->timescale == 90000 && v->width == 320 && v->height == 240);
        CHECK(strcmp(v->name, "alice video") == 0);
        CHECK_EQ_INT(v->fourcc, PL_FOURCC('v', 'p', '0', '8'));
        CHECK_EQ_INT(v->n, 4);
        CHECK_EQ_INT(a->n, 3);
        CHECK_EQ_INT(a->pre_skip, 312);
        CHECK_EQ_INT(a->roll, -4);
        CHECK(strcmp(a->name, "alice audio") == 0);
        for (size_t i = 0; i < 4 && v->n == 4; i++) {
            CHECK_EQ_INT(v->s[i].dts, vs[i].dts);
            CHECK_EQ_INT(v->s[i].size, vs[i].size);
            CHECK_EQ_INT(v->s[i].dur, vs[i].dur);
            CHECK_EQ_INT(v->s[i].sync, vs[i].sync);
            CHECK(memcmp(f.p + v->s[i].off, vdata + vs[i].off, vs[i].size) == 0);
        }
        for (size_t i = 0; i < 3 && a->n == 3; i++) {
            CHECK_EQ_INT(a->s[i].dts, as[i].dts);
            CHECK(memcmp(f.p + a->s[i].off, adata + as[i].off, as[i].size) == 0);
        }
    }
    pl_mp4_in_free(&in);

    /* A crash in the middle of the second fragment: the first is all there is. */
    memset(&in, 0, sizeof(in));
    m.len = frag1_end + 30;
    CHECK_EQ_INT(pl_mp4_read_file(&in, 0, m.len, mem_read, &m), 0);
    CHECK_EQ_INT(in.fragments, 1);
    CHECK(in.truncated);
    CHECK(in.n == 2 && in.t[0].n == 3 && in.t[1].n == 2);
    pl_mp4_in_free(&in);
    /* Cut inside the moov: not a segment. */
    memset(&in, 0, sizeof(in));
    m.len = 100;
    CHECK_EQ_INT(pl_mp4_read_file(&in, 0, m.len, mem_read, &m), -1);
    pl_mp4_in_free(&in);
    /* A sample size that points past its mdat ends the file there. */
    uint8_t *bad = malloc(f.len);
    memcpy(bad, f.p, f.len);
    const uint8_t *trun = find(bad + frag1_end, f.len - frag1_end, "trun");
    if (trun)
        pl_wr32(bad + (trun - bad) + 20 + 4, 1000000);
    memset(&in, 0, sizeof(in));
    m = (struct mem){bad, f.len};
    CHECK_EQ_INT(pl_mp4_read_file(&in, 0, f.len, mem_read, &m), 0);
    CHECK_EQ_INT(in.fragments, 1);
    pl_mp4_in_free(&in);
    free(bad);
    pl_buf_free(&f);
    for (int i = 0; i < 2; i++)
        pl_mp4_track_free(&t[i]);
}

static void final_head(void)
{
    struct pl_mp4_track t[2];
    make_tracks(t);
    /* video starts 1 s late: 3 samples, one chunk; audio 5 samples in two chunks */
    struct pl_mp4_sample vs[3] = {{.dts = 90000, .size = 10, .dur = 3000, .sync = true},
                                  {.dts = 93000, .size = 11, .dur = 3000},
                                  {.dts = 96000, .size = 12, .dur = 3000}};
    struct pl_mp4_sample as[5];
    for (int i = 0; i < 5; i++)
        as[i] = (struct pl_mp4_sample){.dts = 960u * i, .size = 5, .dur = 960, .sync = true};
    struct pl_mp4_chunk vc[1] = {{0, 3, 5000}}, ac[2] = {{0, 3, 6000}, {3, 2, 0x100000000ull}};
    t[0].s = vs, t[0].n = 3, t[0].c = vc, t[0].nc = 1;
    t[1].s = as, t[1].n = 5, t[1].c = ac, t[1].nc = 2;
    struct pl_buf b = {0};
    CHECK_EQ_INT(pl_mp4_write_final_head(&b, t, 2), 0);
    CHECK(memcmp(b.p + 4, "ftyp", 4) == 0);
    const uint8_t *moov = find(b.p, b.len, "moov");
    CHECK(moov && (size_t)(moov - b.p) + pl_rd32(moov) == b.len);
    const uint8_t *vtrak = find(b.p, b.len, "trak");
    const uint8_t *atrak = vtrak ? find(vtrak + 8, b.len - (size_t)(vtrak + 8 - b.p), "trak") : NULL;
    CHECK(vtrak && atrak);
    if (vtrak && atrak) {
        size_t vlen = pl_rd32(vtrak), alen = pl_rd32(atrak);
        const uint8_t *e = find(vtrak, vlen, "elst");
        /* video: empty edit of 1000 ms, then 100 ms of media from 0 */
        CHECK(e && pl_rd32(e + 12) == 2 && pl_rd64(e + 16) == 1000 && pl_rd64(e + 24) == UINT64_MAX);
        CHECK(e && pl_rd64(e + 36) == 100 && pl_rd64(e + 44) == 0);
        const uint8_t *stss = find(vtrak, vlen, "stss");
        CHECK(stss && pl_rd32(stss + 12) == 1 && pl_rd32(stss + 16) == 1);
        const uint8_t *stsz = find(vtrak, vlen, "stsz");
        CHECK(stsz && pl_rd32(stsz + 16) == 3 && pl_rd32(stsz + 20) == 10 && pl_rd32(stsz + 28) == 12);
        const uint8_t *stts = find(vtrak, vlen, "stts");
        CHECK(stts && pl_rd32(stts + 12) == 1 && pl_rd32(stts + 16) == 3 && pl_rd32(stts + 20) == 3000);
        const uint8_t *co = find(vtrak, vlen, "co64");
        CHECK(co && pl_rd32(co + 12) == 1 && pl_rd64(co + 16) == 5000);
        /* audio: no empty edit, media from pre-skip 312 */
        e = find(atrak, alen, "elst");
        CHECK(e && pl_rd32(e + 12) == 1 && pl_rd64(e + 24) == 312);
        CHECK(find(atrak, alen, "stss") == NULL);
        const uint8_t *stsc = find(atrak, alen, "stsc");
        CHECK(stsc && pl_rd32(stsc + 12) == 2 && pl_rd32(stsc + 20) == 3 && pl_rd32(stsc + 28) == 2);
        co = find(atrak, alen, "co64");
        CHECK(co && pl_rd32(co + 12) == 2 && pl_rd64(co + 24) == 0x100000000ull);
        const uint8_t *sgpd = find(atrak, alen, "sgpd");
        CHECK(sgpd && memcmp(sgpd + 12, "roll", 4) == 0 && (int16_t)pl_rd16(sgpd + 24) == -4);
        const uint8_t *sbgp = find(atrak, alen, "sbgp");
        CHECK(sbgp && pl_rd32(sbgp + 16) == 1 && pl_rd32(sbgp + 20) == 5 && pl_rd32(sbgp + 24) == 1);
        const uint8_t *hdlr = find(atrak, alen, "hdlr");
        CHECK(hdlr && memcmp(hdlr + 16, "soun", 4) == 0 && strcmp((const char *)hdlr + 32, "alice audio") == 0);
    }
    pl_buf_free(&b);
    for (int i = 0; i < 2; i++) {
        t[i].s = NULL;
        t[i].c = NULL;
        pl_mp4_track_free(&t[i]);
    }
}

int main(void)
{
    entries();
    fragments();
    final_head();
    return check_result("rec_mp4");
}
