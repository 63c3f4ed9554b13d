/* Receive statistics for receiver reports: loss, extended sequence numbers across wraparound,
 * restarts, jitter, LSR/DLSR and the SR clock mapping. */
#include "check.h"
#include "parley/rx_stats.h"

static void counts_loss_per_interval(void)
{
    struct pl_rx_stats s = {0};
    struct pl_rtcp_report_block rb;
    for (uint16_t q = 0; q < 100; q++)
        if (q % 10 != 3) /* 10 of 100 lost */
            pl_rx_stats_on_packet(&s, (uint16_t)(1000 + q), q * 3000u, 90000, q * 33000ull);
    pl_rx_stats_report(&s, 42, 4000000, &rb);
    CHECK_EQ_INT(rb.ssrc, 42);
    CHECK_EQ_INT(rb.cumulative_lost, 10);
    CHECK_EQ_INT(rb.fraction_lost, 10 * 256 / 100);
    CHECK_EQ_INT(rb.highest_seq, 1099);
    CHECK_EQ_INT(rb.lsr, 0);
    /* Next interval: nothing lost, and a late duplicate makes received exceed expected. */
    for (uint16_t q = 100; q < 150; q++)
        pl_rx_stats_on_packet(&s, (uint16_t)(1000 + q), q * 3000u, 90000, q * 33000ull);
    pl_rx_stats_on_packet(&s, 1149, 149 * 3000u, 90000, 149 * 33000ull);
    pl_rx_stats_report(&s, 42, 6000000, &rb);
    CHECK_EQ_INT(rb.fraction_lost, 0);
    CHECK_EQ_INT(rb.cumulative_lost, 9);
}

static void extends_across_wraparound(void)
{
    struct pl_rx_stats s = {0};
    struct pl_rtcp_report_block rb;
    for (uint32_t q = 65530; q < 65530 + 20; q++)
        pl_rx_stats_on_packet(&s, (uint16_t)q, q * 960, 48000, q * 20000ull);
    pl_rx_stats_report(&s, 1, 0, &rb);
    CHECK_EQ_INT(rb.highest_seq, 65536 + 13);
    CHECK_EQ_INT(rb.cumulative_lost, 0);
    /* A reordered packet from before the wrap does not move the highest. */
    pl_rx_stats_on_packet(&s, 65533, 0, 48000, 0);
    pl_rx_stats_report(&s, 1, 0, &rb);
    CHECK_EQ_INT(rb.highest_seq, 65536 + 13);
}

static void big_jump_needs_two_packets(void)
{
    struct pl_rx_stats s = {0};
    struct pl_rtcp_report_block rb;
    for (uint16_t q = 0; q < 10; q++)
        pl_rx_stats_on_packet(&s, q, q, 90000, q);
    pl_rx_stats_on_packet(&s, 30000, 0, 90000, 11); /* one stray packet: ignored */
    pl_rx_stats_report(&s, 1, 0, &rb);
    CHECK_EQ_INT(rb.highest_seq, 9);
    pl_rx_stats_on_packet(&s, 40000, 0, 90000, 12); /* a restart: two in sequence */
    pl_rx_stats_on_packet(&s, 40001, 0, 90000, 13);
    pl_rx_stats_report(&s, 1, 0, &rb);
    CHECK_EQ_INT(rb.highest_seq, 40001);
    CHECK_EQ_INT(rb.cumulative_lost, 0);
}

static void jitter_from_arrival_spread(void)
{
    struct pl_rx_stats s = {0};
    struct pl_rtcp_report_block rb;
    /* Perfectly paced audio: no jitter. */
    for (uint16_t q = 0; q < 50; q++)
        pl_rx_stats_on_packet(&s, q, q * 960u, 48000, q * 20000ull);
    pl_rx_stats_report(&s, 1, 0, &rb);
    CHECK_EQ_INT(rb.jitter, 0);
    /* Every other packet 10 ms late: jitter converges towards 480 samples. */
    for (uint16_t q = 50; q < 400; q++)
        pl_rx_stats_on_packet(&s, q, q * 960u, 48000, q * 20000ull + (q % 2 ? 10000 : 0));
    pl_rx_stats_report(&s, 1, 0, &rb);
    CHECK(rb.jitter > 400 && rb.jitter < 500);
}

static void sender_report_gives_lsr_dlsr_and_clock(void)
{
    struct pl_rx_stats s = {0};
    struct pl_rtcp_report_block rb;
    uint32_t ts;
    uint64_t ntp;
    CHECK(!pl_rx_stats_clock_at(&s, 90000, 0, &ts, &ntp));
    pl_rx_stats_on_packet(&s, 1, 1, 90000, 0);
    uint64_t sr_ntp = (3900000000ull << 32) | 0x80000000u; /* .5 s */
    pl_rx_stats_on_sr(&s, sr_ntp, 123456, 10000000);
    pl_rx_stats_report(&s, 1, 10000000 + 250000, &rb);
    CHECK_EQ_INT(rb.lsr, (uint32_t)(sr_ntp >> 16));
    CHECK_EQ_INT(rb.dlsr, 65536 / 4);
    CHECK(pl_rx_stats_clock_at(&s, 90000, 10000000 + 2500000, &ts, &ntp));
    CHECK_EQ_INT(ts, 123456 + 225000);
    CHECK_EQ_INT(ntp >> 32, 3900000003ull);
    CHECK_EQ_INT((uint32_t)ntp, 0);
}

int main(void)
{
    counts_loss_per_interval();
    extends_across_wraparound();
    big_jump_needs_two_packets();
    jitter_from_arrival_spread();
    sender_report_gives_lsr_dlsr_and_clock();
    return check_result("rx_stats");
}
