/* Loss detection towards a publisher: gaps, reordering, wraparound, resets, retry spacing and
 * limits, expiry. */
#include "check.h"
#include "parley/nack_gen.h"

static uint16_t out[512];

static int due(struct pl_nack_gen *g, uint64_t now, uint32_t rtt)
{
    return pl_nack_gen_due(g, now, rtt, out, (int)(sizeof(out) / sizeof(out[0])));
}

static void single_gap(void)
{
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 100, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 101, 0));
    CHECK_EQ_INT(due(&g, 0, 50), 0);
    CHECK(!pl_nack_gen_on_packet(&g, 103, 10));
    CHECK_EQ_INT(due(&g, 10, 50), 1);
    CHECK_EQ_INT(out[0], 102);
    CHECK_EQ_INT(due(&g, 11, 50), 0);  /* asked, not again before an RTT */
    CHECK_EQ_INT(due(&g, 59, 50), 0);
    CHECK_EQ_INT(due(&g, 60, 50), 1);
    CHECK_EQ_INT(out[0], 102);
    CHECK(!pl_nack_gen_on_packet(&g, 102, 70)); /* arrives late */
    CHECK_EQ_INT(g.count, 0);
    CHECK_EQ_INT(due(&g, 200, 50), 0);
    CHECK(!pl_nack_gen_on_packet(&g, 103, 71)); /* duplicate */
    CHECK_EQ_INT(due(&g, 300, 50), 0);
}

static void multiple_gaps(void)
{
    struct pl_nack_gen g = {0}; /* zeroed works as well as init */
    const uint16_t seqs[] = {10, 12, 15, 16, 20};
    for (unsigned i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
        CHECK(!pl_nack_gen_on_packet(&g, seqs[i], 0));
    const uint16_t want[] = {11, 13, 14, 17, 18, 19};
    /* At most max per call; the rest come in the next call, oldest first. */
    CHECK_EQ_INT(pl_nack_gen_due(&g, 0, 30, out, 4), 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(out[i], want[i]);
    CHECK_EQ_INT(pl_nack_gen_due(&g, 1, 30, out, 4), 2);
    CHECK_EQ_INT(out[0], 18);
    CHECK_EQ_INT(out[1], 19);
    CHECK_EQ_INT(pl_nack_gen_due(&g, 30, 30, out, 10), 4); /* first four, one RTT later */
    CHECK_EQ_INT(pl_nack_gen_due(&g, 31, 30, out, 10), 2);
    /* max 0 or no buffer: nothing written, nothing counted as asked. */
    CHECK_EQ_INT(pl_nack_gen_due(&g, 100, 30, out, 0), 0);
    CHECK_EQ_INT(pl_nack_gen_due(&g, 100, 30, NULL, 10), 0);
    CHECK_EQ_INT(pl_nack_gen_due(&g, 100, 30, out, -1), 0);
    CHECK_EQ_INT(due(&g, 100, 30), 6);
    /* Recovered as RTX. */
    CHECK(pl_nack_gen_on_recovered(&g, 14));
    CHECK(!pl_nack_gen_on_recovered(&g, 14));
    CHECK(!pl_nack_gen_on_recovered(&g, 12)); /* was never missing */
    CHECK_EQ_INT(due(&g, 200, 30), 5);
    CHECK_EQ_INT(out[2], 17);
}

static void reordering(void)
{
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 1, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 4, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 3, 1));
    CHECK(!pl_nack_gen_on_packet(&g, 2, 2));
    CHECK(!pl_nack_gen_on_packet(&g, 5, 3));
    CHECK_EQ_INT(due(&g, 5, 20), 0);
    CHECK_EQ_INT(g.highest, 5);
    /* Partly filled: only the hole left is asked for. */
    CHECK(!pl_nack_gen_on_packet(&g, 9, 10));
    CHECK(!pl_nack_gen_on_packet(&g, 7, 11));
    CHECK_EQ_INT(due(&g, 12, 20), 2);
    CHECK_EQ_INT(out[0], 6);
    CHECK_EQ_INT(out[1], 8);
}

static void wraparound_gap(void)
{
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 65533, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 65534, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 2, 1));
    CHECK_EQ_INT(g.highest, 2);
    CHECK_EQ_INT(due(&g, 1, 20), 3);
    CHECK_EQ_INT(out[0], 65535);
    CHECK_EQ_INT(out[1], 0);
    CHECK_EQ_INT(out[2], 1);
    CHECK(!pl_nack_gen_on_packet(&g, 0, 2)); /* late, across the wrap */
    CHECK_EQ_INT(due(&g, 30, 20), 2);
    CHECK_EQ_INT(out[0], 65535);
    CHECK_EQ_INT(out[1], 1);
    CHECK(!pl_nack_gen_on_packet(&g, 65533, 31)); /* late, never missing: ignored */
    CHECK_EQ_INT(g.highest, 2);
}

static void big_jumps(void)
{
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 100, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 102, 0)); /* 101 pending */
    /* More than 1000 ahead: reset, losses given up (so ask for a keyframe). */
    CHECK(pl_nack_gen_on_packet(&g, 1103, 1));
    CHECK_EQ_INT(g.count, 0);
    CHECK_EQ_INT(due(&g, 1, 20), 0);
    CHECK(!pl_nack_gen_on_packet(&g, 1104, 2)); /* tracking goes on from there */
    CHECK_EQ_INT(due(&g, 2, 20), 0);
    /* More than 1000 back with nothing pending: a restart, nothing lost. */
    CHECK(!pl_nack_gen_on_packet(&g, 50, 3));
    CHECK_EQ_INT(g.highest, 50);
    CHECK(!pl_nack_gen_on_packet(&g, 52, 4));
    CHECK_EQ_INT(due(&g, 4, 20), 1);
    CHECK_EQ_INT(out[0], 51);
    /* Back again with 51 pending: given up. */
    CHECK(pl_nack_gen_on_packet(&g, 60000, 5));
    CHECK_EQ_INT(g.count, 0);
    /* Exactly 1000 ahead: listed, but only the newest PL_NACK_MAX_MISSING of the 999. */
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 65000, 0));
    CHECK(pl_nack_gen_on_packet(&g, (uint16_t)(65000 + 1000), 1));
    CHECK_EQ_INT(due(&g, 1, 20), PL_NACK_MAX_MISSING);
    CHECK_EQ_INT(out[0], (uint16_t)(65000 + 1000 - PL_NACK_MAX_MISSING));
    CHECK_EQ_INT(out[PL_NACK_MAX_MISSING - 1], (uint16_t)(65000 + 999));
}

static void list_bound(void)
{
    /* Many single losses: the list keeps the newest PL_NACK_MAX_MISSING. */
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 0, 0));
    for (int i = 1; i <= PL_NACK_MAX_MISSING; i++)
        CHECK(!pl_nack_gen_on_packet(&g, (uint16_t)(2 * i), 0));
    CHECK_EQ_INT(g.count, PL_NACK_MAX_MISSING);
    CHECK(pl_nack_gen_on_packet(&g, 2 * PL_NACK_MAX_MISSING + 2, 0));
    CHECK_EQ_INT(g.count, PL_NACK_MAX_MISSING);
    CHECK_EQ_INT(due(&g, 0, 20), PL_NACK_MAX_MISSING);
    CHECK_EQ_INT(out[0], 3); /* 1 was dropped */
    CHECK_EQ_INT(out[PL_NACK_MAX_MISSING - 1], 2 * PL_NACK_MAX_MISSING + 1);
}

static void retry_limit_and_spacing(void)
{
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 1, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 3, 0));
    /* rtt 0: spacing is the 20 ms floor; polled every 10 ms, asked every other poll. */
    int asked = 0, first_gap = 0;
    for (uint64_t t = 0; t < 900; t += 10) {
        int n = due(&g, t, 0);
        if (n && t == 10)
            first_gap = 1;
        asked += n;
    }
    CHECK_EQ_INT(asked, PL_NACK_MAX_TRIES);
    CHECK_EQ_INT(first_gap, 0);
    CHECK_EQ_INT(g.count, 0); /* dropped once exhausted */

    /* rtt 100: asked at 0, 100, 200 ... not in between. */
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 1, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 3, 0));
    CHECK_EQ_INT(due(&g, 0, 100), 1);
    CHECK_EQ_INT(due(&g, 99, 100), 0);
    CHECK_EQ_INT(due(&g, 100, 100), 1);
    CHECK_EQ_INT(due(&g, 150, 100), 0);
    CHECK_EQ_INT(due(&g, 150, 40), 1); /* the RTT estimate dropped */
}

static void expiry(void)
{
    struct pl_nack_gen g;
    pl_nack_gen_init(&g);
    CHECK(!pl_nack_gen_on_packet(&g, 1, 0));
    CHECK(!pl_nack_gen_on_packet(&g, 3, 0));
    CHECK_EQ_INT(due(&g, 0, 400), 1);
    CHECK_EQ_INT(due(&g, 400, 400), 1);
    CHECK_EQ_INT(due(&g, 800, 400), 1);
    CHECK_EQ_INT(g.count, 1);
    CHECK_EQ_INT(due(&g, 999, 0), 1); /* still young enough */
    CHECK_EQ_INT(due(&g, 1000, 0), 0); /* a second old: dropped */
    CHECK_EQ_INT(g.count, 0);
    CHECK(!pl_nack_gen_on_recovered(&g, 2));

    /* Never polled for a second: dropped without being asked. */
    CHECK(!pl_nack_gen_on_packet(&g, 10, 2000));
    CHECK_EQ_INT(g.count, 6);
    CHECK_EQ_INT(due(&g, 3000, 20), 0);
    CHECK_EQ_INT(g.count, 0);
}

int main(void)
{
    single_gap();
    multiple_gaps();
    reordering();
    wraparound_gap();
    big_jumps();
    list_bound();
    retry_limit_and_spacing();
    expiry();
    return check_result("nack_gen");
}
