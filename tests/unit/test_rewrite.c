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

int main(void)
{
    first_packets_pass_through();
    switch_continues_after_last();
    switch_at_same_instant_still_advances();
    wraparound();
    reordered_packet_keeps_high_water();
    return check_result("rewrite");
}
