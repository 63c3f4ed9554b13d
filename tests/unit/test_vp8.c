/* VP8 payload descriptor (RFC 7741): parsing, truncation, in-place rewriting, and the
 * picture id / TL0PICIDX rewriter across source switches and wraparound. */
#include <string.h>

#include "check.h"
#include "parley/vp8.h"

/* Key frame as Chrome sends a simulcast layer: X, S, PID 0; I (15-bit picture id 0x1234), L
 * (TL0PICIDX 0x56), T (TID 0, Y); then the VP8 key frame header: frame tag (P = 0, show),
 * start code 9d 01 2a, 640x480. */
static const uint8_t key15[] = {
    0x90, 0xE0, 0x92, 0x34, 0x56, 0x20,
    0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x11, 0x22};

/* Delta frame, 7-bit picture id 0x05, nothing else: X, S, PID 0; I. Frame tag with P = 1. */
static const uint8_t delta7[] = {0x90, 0x80, 0x05, 0x31, 0x0a, 0x00, 0xaa, 0xbb};

/* Middle of a frame: first partition continued (S = 0), 15-bit id, TL0PICIDX, TID 2. The data
 * happens to start with a cleared low bit: must not look like a key frame. */
static const uint8_t cont15[] = {0x80, 0xE0, 0xFF, 0xFF, 0x00, 0x80, 0x00, 0x00, 0x00, 0x9d};

/* Start of partition 2 (S = 1, PID = 2), non-reference (N), K only (KEYIDX 0x13). */
static const uint8_t part2[] = {0xB2, 0x10, 0x13, 0x00, 0x01, 0x02};

/* No extension at all: one-octet descriptor, key frame. */
static const uint8_t bare_key[] = {
    0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};

static void parse_keyframe_15bit(void)
{
    struct pl_vp8_desc d;
    CHECK_EQ_INT(pl_vp8_parse(key15, sizeof(key15), &d), 0);
    CHECK_EQ_INT(d.desc_len, 6);
    CHECK(d.start_of_partition);
    CHECK_EQ_INT(d.partition_id, 0);
    CHECK(d.start_of_frame);
    CHECK(d.keyframe);
    CHECK(!d.non_reference);
    CHECK(d.has_picture_id);
    CHECK(d.picture_id_15bit);
    CHECK_EQ_INT(d.picture_id, 0x1234);
    CHECK(d.has_tl0picidx);
    CHECK_EQ_INT(d.tl0picidx, 0x56);
    CHECK(d.has_tid);
    CHECK_EQ_INT(d.tid, 0);
    CHECK(d.layer_sync);
    CHECK(!d.has_keyidx);
    CHECK_EQ_INT(d.picture_id_off, 2);
    CHECK_EQ_INT(d.tl0picidx_off, 4);
}

static void parse_delta_7bit(void)
{
    struct pl_vp8_desc d;
    CHECK_EQ_INT(pl_vp8_parse(delta7, sizeof(delta7), &d), 0);
    CHECK_EQ_INT(d.desc_len, 3);
    CHECK(d.start_of_frame);
    CHECK(!d.keyframe);
    CHECK(d.has_picture_id);
    CHECK(!d.picture_id_15bit);
    CHECK_EQ_INT(d.picture_id, 5);
    CHECK(!d.has_tl0picidx);
    CHECK(!d.has_tid);
    CHECK(!d.has_keyidx);
}

static void parse_not_frame_start(void)
{
    struct pl_vp8_desc d;
    CHECK_EQ_INT(pl_vp8_parse(cont15, sizeof(cont15), &d), 0);
    CHECK_EQ_INT(d.desc_len, 6);
    CHECK(!d.start_of_partition);
    CHECK(!d.start_of_frame);
    CHECK(!d.keyframe);
    CHECK_EQ_INT(d.picture_id, 0x7FFF);
    CHECK_EQ_INT(d.tl0picidx, 0);
    CHECK(d.has_tid);
    CHECK_EQ_INT(d.tid, 2);
    CHECK(!d.layer_sync);

    CHECK_EQ_INT(pl_vp8_parse(part2, sizeof(part2), &d), 0);
    CHECK_EQ_INT(d.desc_len, 3);
    CHECK(d.start_of_partition);
    CHECK_EQ_INT(d.partition_id, 2);
    CHECK(!d.start_of_frame);
    CHECK(!d.keyframe);
    CHECK(d.non_reference);
    CHECK(!d.has_picture_id);
    CHECK(!d.has_tid);
    CHECK(d.has_keyidx);
    CHECK_EQ_INT(d.keyidx, 0x13);
}

static void parse_bare_and_tk(void)
{
    struct pl_vp8_desc d;
    CHECK_EQ_INT(pl_vp8_parse(bare_key, sizeof(bare_key), &d), 0);
    CHECK_EQ_INT(d.desc_len, 1);
    CHECK(d.keyframe);
    CHECK(!d.has_picture_id);

    /* T and K in one octet: TID 3, Y, KEYIDX 31; then a delta frame. */
    const uint8_t tk[] = {0x90, 0x30, 0xFF, 0x01, 0x00, 0x00};
    CHECK_EQ_INT(pl_vp8_parse(tk, sizeof(tk), &d), 0);
    CHECK_EQ_INT(d.desc_len, 3);
    CHECK(d.has_tid && d.has_keyidx);
    CHECK_EQ_INT(d.tid, 3);
    CHECK(d.layer_sync);
    CHECK_EQ_INT(d.keyidx, 31);
    CHECK(!d.keyframe);
}

static void keyframe_needs_start_code(void)
{
    uint8_t p[sizeof(key15)];
    memcpy(p, key15, sizeof(p));
    p[10] = 0x02; /* start code 9d 02 2a */
    struct pl_vp8_desc d;
    CHECK_EQ_INT(pl_vp8_parse(p, sizeof(p), &d), 0);
    CHECK(d.start_of_frame);
    CHECK(!d.keyframe);
}

/* Every prefix: descriptor cut short or no data -> error; a frame start needs the 3-octet
 * payload header; a key frame needs its 10-octet header to be reported. */
static void truncated(const uint8_t *p, size_t n, size_t desc_len, bool frame_start, bool key)
{
    struct pl_vp8_desc d;
    CHECK_EQ_INT(pl_vp8_parse(p, 0, &d), -1);
    CHECK_EQ_INT(pl_vp8_parse(NULL, 5, &d), -1);
    for (size_t len = 1; len <= n; len++) {
        int rc = pl_vp8_parse(p, len, &d);
        size_t min = desc_len + (frame_start ? 3 : 1);
        if (len < min) {
            CHECK_EQ_INT(rc, -1);
            continue;
        }
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(d.desc_len, desc_len);
        CHECK_EQ_INT(d.keyframe, key && len >= desc_len + 10);
    }
}

static void truncation(void)
{
    truncated(key15, sizeof(key15), 6, true, true);
    truncated(delta7, sizeof(delta7), 3, true, false);
    truncated(cont15, sizeof(cont15), 6, false, false);
    truncated(part2, sizeof(part2), 3, false, false);
    truncated(bare_key, sizeof(bare_key), 1, true, true);
}

static void rewrite_round_trip(void)
{
    uint8_t p[sizeof(key15)];
    memcpy(p, key15, sizeof(p));
    struct pl_vp8_desc d, e;
    CHECK_EQ_INT(pl_vp8_parse(p, sizeof(p), &d), 0);
    CHECK_EQ_INT(pl_vp8_rewrite(p, sizeof(p), &d, 0x7ABC, 0xEF), 0);
    CHECK_EQ_INT(pl_vp8_parse(p, sizeof(p), &e), 0);
    CHECK_EQ_INT(e.picture_id, 0x7ABC);
    CHECK(e.picture_id_15bit);
    CHECK_EQ_INT(e.tl0picidx, 0xEF);
    CHECK_EQ_INT(e.desc_len, d.desc_len);
    CHECK(e.keyframe && e.has_tid && e.layer_sync && e.tid == 0);
    CHECK(memcmp(p + d.desc_len, key15 + d.desc_len, sizeof(p) - d.desc_len) == 0);
    CHECK(p[0] == key15[0] && p[1] == key15[1] && p[5] == key15[5]);

    /* 7-bit field: only the low 7 bits are written, M stays clear. */
    uint8_t q[sizeof(delta7)];
    memcpy(q, delta7, sizeof(q));
    CHECK_EQ_INT(pl_vp8_parse(q, sizeof(q), &d), 0);
    CHECK_EQ_INT(pl_vp8_rewrite(q, sizeof(q), &d, 0x12B4, 0x99), 0);
    CHECK_EQ_INT(q[2], 0x34);
    CHECK_EQ_INT(pl_vp8_parse(q, sizeof(q), &e), 0);
    CHECK(!e.picture_id_15bit);
    CHECK_EQ_INT(e.picture_id, 0x34);
    CHECK(!e.has_tl0picidx); /* absent: not added */
    CHECK(memcmp(q + 3, delta7 + 3, sizeof(q) - 3) == 0);

    /* Nothing to rewrite: untouched. */
    uint8_t r[sizeof(part2)];
    memcpy(r, part2, sizeof(r));
    CHECK_EQ_INT(pl_vp8_parse(r, sizeof(r), &d), 0);
    CHECK_EQ_INT(pl_vp8_rewrite(r, sizeof(r), &d, 1, 2), 0);
    CHECK(memcmp(r, part2, sizeof(r)) == 0);

    /* A descriptor that does not fit the buffer is refused. */
    memcpy(p, key15, sizeof(p));
    CHECK_EQ_INT(pl_vp8_parse(p, sizeof(p), &d), 0);
    CHECK_EQ_INT(pl_vp8_rewrite(p, 3, &d, 1, 2), -1);
    CHECK_EQ_INT(pl_vp8_rewrite(p, 4, &d, 1, 2), -1);
    CHECK(memcmp(p, key15, sizeof(p)) == 0); /* nothing half-written */
    CHECK_EQ_INT(pl_vp8_rewrite(NULL, 4, &d, 1, 2), -1);
}

static void rewriter_pass_through_and_switch(void)
{
    struct pl_vp8_rewriter rw = {0};
    uint16_t pid;
    uint8_t tl0;
    pl_vp8_rewrite_map(&rw, 1000, 50, &pid, &tl0);
    CHECK_EQ_INT(pid, 1000);
    CHECK_EQ_INT(tl0, 50);
    pl_vp8_rewrite_map(&rw, 1000, 50, &pid, &tl0); /* same picture, next packet */
    CHECK_EQ_INT(pid, 1000);
    pl_vp8_rewrite_map(&rw, 1001, 50, &pid, &tl0); /* TL1 picture */
    CHECK_EQ_INT(pid, 1001);
    CHECK_EQ_INT(tl0, 50);
    pl_vp8_rewrite_map(&rw, 1002, 51, &pid, &tl0);
    CHECK_EQ_INT(pid, 1002);
    CHECK_EQ_INT(tl0, 51);

    /* Switch to another layer whose counters are elsewhere: continue at +1. */
    pl_vp8_rewriter_switch(&rw);
    pl_vp8_rewrite_map(&rw, 20000, 200, &pid, &tl0);
    CHECK_EQ_INT(pid, 1003);
    CHECK_EQ_INT(tl0, 52);
    pl_vp8_rewrite_map(&rw, 20000, 200, &pid, &tl0);
    CHECK_EQ_INT(pid, 1003);
    CHECK_EQ_INT(tl0, 52);
    pl_vp8_rewrite_map(&rw, 20001, 200, &pid, &tl0);
    CHECK_EQ_INT(pid, 1004);
    CHECK_EQ_INT(tl0, 52);
    pl_vp8_rewrite_map(&rw, 20003, 201, &pid, &tl0); /* a lost picture stays a gap */
    CHECK_EQ_INT(pid, 1006);
    CHECK_EQ_INT(tl0, 53);
    pl_vp8_rewrite_map(&rw, 20002, 200, &pid, &tl0); /* late: maps back, no high-water move */
    CHECK_EQ_INT(pid, 1005);
    CHECK_EQ_INT(tl0, 52);
    CHECK_EQ_INT(rw.last_out_pid, 1006);
    CHECK_EQ_INT(rw.last_out_tl0, 53);

    /* And back to the first source (a slot change): still +1 from what was sent. */
    pl_vp8_rewriter_switch(&rw);
    pl_vp8_rewrite_map(&rw, 1010, 55, &pid, &tl0);
    CHECK_EQ_INT(pid, 1007);
    CHECK_EQ_INT(tl0, 54);
}

static void rewriter_wraparound(void)
{
    struct pl_vp8_rewriter rw = {0};
    uint16_t pid;
    uint8_t tl0;
    /* The source wraps: 32766, 32767, 0 and 254, 255, 0. */
    pl_vp8_rewrite_map(&rw, 32766, 254, &pid, &tl0);
    pl_vp8_rewrite_map(&rw, 32767, 255, &pid, &tl0);
    CHECK_EQ_INT(pid, 32767);
    CHECK_EQ_INT(tl0, 255);
    pl_vp8_rewrite_map(&rw, 0, 0, &pid, &tl0);
    CHECK_EQ_INT(pid, 0);
    CHECK_EQ_INT(tl0, 0);
    CHECK_EQ_INT(rw.last_out_pid, 0);
    pl_vp8_rewrite_map(&rw, 32767, 255, &pid, &tl0); /* late, across the wrap */
    CHECK_EQ_INT(pid, 32767);
    CHECK_EQ_INT(tl0, 255);
    CHECK_EQ_INT(rw.last_out_pid, 0);

    /* A switch makes the output wrap. */
    struct pl_vp8_rewriter w2 = {0};
    pl_vp8_rewrite_map(&w2, 32767, 255, &pid, &tl0);
    pl_vp8_rewriter_switch(&w2);
    pl_vp8_rewrite_map(&w2, 100, 7, &pid, &tl0);
    CHECK_EQ_INT(pid, 0);
    CHECK_EQ_INT(tl0, 0);
    pl_vp8_rewrite_map(&w2, 101, 8, &pid, &tl0);
    CHECK_EQ_INT(pid, 1);
    CHECK_EQ_INT(tl0, 1);

    /* The new source is just below its own wrap. */
    pl_vp8_rewriter_switch(&w2);
    pl_vp8_rewrite_map(&w2, 32767, 9, &pid, &tl0);
    CHECK_EQ_INT(pid, 2);
    pl_vp8_rewrite_map(&w2, 0, 10, &pid, &tl0);
    CHECK_EQ_INT(pid, 3);
    CHECK_EQ_INT(tl0, 3);
}

static void rewriter_7bit_source(void)
{
    struct pl_vp8_rewriter rw = {0};
    uint16_t pid;
    uint8_t tl0;
    pl_vp8_rewrite_map(&rw, 5000, 1, &pid, &tl0);
    pl_vp8_rewriter_switch(&rw);
    /* A 7-bit source wrapping 126, 127, 0, 1 counts forward in the 15-bit output. */
    pl_vp8_rewrite_map_bits(&rw, 126, 7, 1, &pid, &tl0);
    CHECK_EQ_INT(pid, 5001);
    pl_vp8_rewrite_map_bits(&rw, 127, 7, 2, &pid, &tl0);
    CHECK_EQ_INT(pid, 5002);
    pl_vp8_rewrite_map_bits(&rw, 0, 7, 3, &pid, &tl0);
    CHECK_EQ_INT(pid, 5003);
    pl_vp8_rewrite_map_bits(&rw, 1, 7, 4, &pid, &tl0);
    CHECK_EQ_INT(pid, 5004);
    pl_vp8_rewrite_map_bits(&rw, 127, 7, 2, &pid, &tl0); /* late */
    CHECK_EQ_INT(pid, 5002);
    CHECK_EQ_INT(rw.last_out_pid, 5004);
    /* Then a 15-bit source again. */
    pl_vp8_rewriter_switch(&rw);
    pl_vp8_rewrite_map(&rw, 9, 0, &pid, &tl0);
    CHECK_EQ_INT(pid, 5005);
}

int main(void)
{
    parse_keyframe_15bit();
    parse_delta_7bit();
    parse_not_frame_start();
    parse_bare_and_tk();
    keyframe_needs_start_code();
    truncation();
    rewrite_round_trip();
    rewriter_pass_through_and_switch();
    rewriter_wraparound();
    rewriter_7bit_source();
    return check_result("vp8");
}
