/* Sequence number / timestamp rewriting of a slot across source switches and wraparound. */
#include "check.h"
#include "parley/rewrite.h"

static void first_packets_pass_through(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    pl_rewrite(&rw, 1000, 90000, 90000, 0, &s, &t);
    CHECK_EQ_INT(s, 1000);
    CHECK_EQ_INT(t, 90000);
    pl_rewrite(&rw, 1001, 93000, 90000, 33, &s, &t);
    CHECK_EQ_INT(s, 1001);
    CHECK_EQ_INT(t, 93000);
}

static void switch_continues_after_last(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    pl_rewrite(&rw, 500, 1000, 90000, 1000, &s, &t);
    pl_rewrite(&rw, 501, 4000, 90000, 1033, &s, &t);
    pl_rewrite_switch(&rw);
    /* The new source is somewhere else entirely; 100 ms later. */
    pl_rewrite(&rw, 40000, 123456789, 90000, 1133, &s, &t);
    CHECK_EQ_INT(s, 502);
    CHECK_EQ_INT(t, 4000 + 9000);
    pl_rewrite(&rw, 40001, 123456789 + 3000, 90000, 1166, &s, &t);
    CHECK_EQ_INT(s, 503);
    CHECK_EQ_INT(t, 4000 + 9000 + 3000);
}

static void switch_at_same_instant_still_advances(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    pl_rewrite(&rw, 7, 70, 48000, 50, &s, &t);
    pl_rewrite_switch(&rw);
    pl_rewrite(&rw, 9000, 5, 48000, 50, &s, &t);
    CHECK_EQ_INT(s, 8);
    CHECK_EQ_INT(t, 71);
}

static void wraparound(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    /* Source wraps both counters. */
    pl_rewrite(&rw, 65534, 0xFFFFF000u, 90000, 0, &s, &t);
    pl_rewrite(&rw, 65535, 0xFFFFFB00u, 90000, 10, &s, &t);
    pl_rewrite(&rw, 0, 0x00000600u, 90000, 20, &s, &t);
    CHECK_EQ_INT(s, 0);
    CHECK_EQ_INT(t, 0x600);
    CHECK_EQ_INT(rw.last_seq, 0);
    /* Switch to a source whose numbers make the output wrap. */
    pl_rewrite_switch(&rw);
    pl_rewrite(&rw, 30000, 0x80000000u, 90000, 30, &s, &t);
    CHECK_EQ_INT(s, 1);
    CHECK_EQ_INT(t, 0x600 + 900);
    struct pl_rewriter w2 = {.started = true, .last_seq = 65535, .last_ts = 0xFFFFFFF0u, .last_ms = 0};
    pl_rewrite_switch(&w2);
    pl_rewrite(&w2, 123, 456, 90000, 1, &s, &t);
    CHECK_EQ_INT(s, 0); /* 65535 + 1 wraps to 0 */
    CHECK_EQ_INT(t, (uint32_t)(0xFFFFFFF0u + 90));
}

static void reordered_packet_keeps_high_water(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    pl_rewrite(&rw, 10, 100, 90000, 0, &s, &t);
    pl_rewrite(&rw, 12, 300, 90000, 2, &s, &t);
    pl_rewrite(&rw, 11, 200, 90000, 3, &s, &t); /* late */
    CHECK_EQ_INT(s, 11);
    CHECK_EQ_INT(rw.last_seq, 12);
    CHECK_EQ_INT(rw.last_ts, 300);
}

/* After a switch, a packet of the new source older than the one switched on (a late one, or
 * the publisher's retransmission of one) would map onto a number the old source already
 * used, with other content: it is dropped, and resends of such numbers refused. */
static void packets_from_before_the_switch_dropped(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    for (uint16_t i = 0; i < 10; i++)
        CHECK(pl_rewrite(&rw, (uint16_t)(100 + i), 1000 + i * 3000u, 90000, i * 33u, &s, &t));
    CHECK_EQ_INT(rw.last_seq, 109);
    pl_rewrite_switch(&rw);
    CHECK(pl_rewrite(&rw, 5000, 777, 90000, 400, &s, &t)); /* the keyframe */
    CHECK_EQ_INT(s, 110);
    CHECK(!pl_rewrite(&rw, 4999, 700, 90000, 401, &s, &t)); /* would be 109 again */
    CHECK(!pl_rewrite(&rw, 4990, 600, 90000, 402, &s, &t));
    CHECK_EQ_INT(rw.last_seq, 110);
    CHECK(pl_rewrite(&rw, 5002, 777, 90000, 403, &s, &t));
    CHECK_EQ_INT(s, 112);
    CHECK(pl_rewrite(&rw, 5001, 777, 90000, 404, &s, &t)); /* late, but after the switch */
    CHECK_EQ_INT(s, 111);
    CHECK(pl_rewrite(&rw, 5000, 777, 90000, 405, &s, &t)); /* the keyframe's own repeat */
    CHECK_EQ_INT(rw.last_seq, 112);
    CHECK(pl_rewrite_predates_source(&rw, 109));
    CHECK(pl_rewrite_predates_source(&rw, 100));
    CHECK(!pl_rewrite_predates_source(&rw, 110));
    CHECK(!pl_rewrite_predates_source(&rw, 112));
}

/* The same across wraparound, and a source lasting longer than half the sequence space still
 * takes its own late packets. */
static void switch_point_across_wraparound(void)
{
    struct pl_rewriter rw = {.started = true, .last_seq = 65533, .last_ts = 5, .last_ms = 0};
    uint16_t s;
    uint32_t t;
    pl_rewrite_switch(&rw);
    CHECK(pl_rewrite(&rw, 20, 9000, 90000, 10, &s, &t));
    CHECK_EQ_INT(s, 65534);
    CHECK(pl_rewrite(&rw, 23, 9000, 90000, 11, &s, &t));
    CHECK_EQ_INT(s, 1);
    CHECK(!pl_rewrite(&rw, 19, 8000, 90000, 12, &s, &t)); /* 65533 */
    CHECK(pl_rewrite(&rw, 21, 9000, 90000, 13, &s, &t));
    CHECK_EQ_INT(s, 65535);
    CHECK(pl_rewrite_predates_source(&rw, 65533));
    CHECK(!pl_rewrite_predates_source(&rw, 0));
    uint16_t in = 23;
    for (int i = 0; i < 70000; i++)
        CHECK(pl_rewrite(&rw, ++in, 9000, 90000, 14, &s, &t));
    CHECK(pl_rewrite(&rw, (uint16_t)(in - 5), 9000, 90000, 15, &s, &t));
    CHECK(!pl_rewrite_predates_source(&rw, (uint16_t)(rw.last_seq - 100)));
}

/* Two simulcast layers whose clocks differ by a known amount (from their SRs): the switch
 * uses that offset, so frames keep their true capture times, not the arrival gap. */
static void aligned_switch_uses_sender_report_offset(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    pl_rewrite(&rw, 100, 1000000, 90000, 5000, &s, &t);
    /* Layer B's timestamp for the same instant is 7,000,000 higher; its next frame (3000 later
     * on the shared clock) arrived 80 ms after the last packet, delayed by the network. */
    pl_rewrite_switch_aligned(&rw, 0u - 7000000u);
    pl_rewrite(&rw, 9000, 8003000, 90000, 5080, &s, &t);
    CHECK_EQ_INT(s, 101);
    CHECK_EQ_INT(t, 1003000);
    /* A plain switch afterwards forgets the hint. */
    pl_rewrite_switch(&rw);
    pl_rewrite(&rw, 20000, 42, 90000, 5113, &s, &t);
    CHECK_EQ_INT(t, 1003000 + 33 * 90);
}

/* A hint that would send timestamps backwards, or leap far ahead, is ignored. */
static void aligned_switch_rejects_bad_offsets(void)
{
    struct pl_rewriter rw = {0};
    uint16_t s;
    uint32_t t;
    pl_rewrite(&rw, 100, 1000000, 90000, 5000, &s, &t);
    pl_rewrite_switch_aligned(&rw, (uint32_t)-100);
    pl_rewrite(&rw, 5, 1000000, 90000, 5100, &s, &t); /* would be 999900: backwards */
    CHECK_EQ_INT(t, 1000000 + 9000);
    pl_rewrite_switch_aligned(&rw, 90000 * 10);
    pl_rewrite(&rw, 6, 1009000 + 3000, 90000, 5133, &s, &t); /* 10 s ahead: ignored */
    CHECK_EQ_INT(t, 1009000 + 33 * 90);
    /* Across timestamp wraparound the comparison still holds. */
    pl_rewrite_switch_aligned(&rw, 1011970u - 0xFFFFFF00u + 900);
    pl_rewrite(&rw, 7, 0xFFFFFF00u, 90000, 5143, &s, &t);
    CHECK_EQ_INT(t, 1011970 + 900);
}

int main(void)
{
    aligned_switch_uses_sender_report_offset();
    aligned_switch_rejects_bad_offsets();
    first_packets_pass_through();
    switch_continues_after_last();
    switch_at_same_instant_still_advances();
    wraparound();
    reordered_packet_keeps_high_water();
    packets_from_before_the_switch_dropped();
    switch_point_across_wraparound();
    return check_result("rewrite");
}
