/* A subscriber's downlink: the loss-based estimate (cuts, growth, their pacing, the end of the
 * limit) and the simulcast layer that fits a budget. */
#include "check.h"
#include "parley/downlink.h"

static void layer_fits_budget(void)
{
    const uint32_t r[3] = {150000, 500000, 1500000};
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 5000000), 2);
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 1500000), 2);
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 1499999), 1);
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 200000), 0);
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 10000), 0); /* nothing fits: the lowest */
    CHECK_EQ_INT(pl_layer_for_budget(r, 1, 5000000), 0);
}

static void layers_not_sent_skipped(void)
{
    const uint32_t top_off[3] = {150000, 500000, 0};
    CHECK_EQ_INT(pl_layer_for_budget(top_off, 3, 5000000), 1);
    const uint32_t low_off[3] = {0, 500000, 1500000};
    CHECK_EQ_INT(pl_layer_for_budget(low_off, 3, 10000), 1); /* the lowest being sent */
    CHECK_EQ_INT(pl_layer_for_budget(low_off, 3, 600000), 1);
    const uint32_t none[3] = {0, 0, 0};
    CHECK_EQ_INT(pl_layer_for_budget(none, 3, 5000000), 0);
}

/* A higher layer whose rate dipped for a second is not cheaper than the lower ones. */
static void dipping_layer_not_chosen_over_budget(void)
{
    const uint32_t r[3] = {150000, 40000, 30000};
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 78000), 0);
    CHECK_EQ_INT(pl_layer_for_budget(r, 3, 150000), 2);
    const uint32_t mid_dip[3] = {150000, 600000, 30000};
    CHECK_EQ_INT(pl_layer_for_budget(mid_dip, 3, 200000), 0);
}

static void loss_cuts_from_what_is_sent(void)
{
    struct pl_downlink_est e = {0};
    pl_downlink_on_report(&e, 0, 800000, 1000);
    CHECK_EQ_INT(e.bps, 0); /* no loss, no limit */
    pl_downlink_on_report(&e, 20, 800000, 1000); /* 7.8%: between the thresholds */
    CHECK_EQ_INT(e.bps, 0);
    pl_downlink_on_report(&e, 64, 800000, 2000); /* 25% */
    CHECK_EQ_INT(e.bps, 700000);
    /* The same episode in the next reports: no further cut within PL_DOWNLINK_CUT_MS. */
    pl_downlink_on_report(&e, 64, 800000, 2000 + PL_DOWNLINK_CUT_MS - 1);
    CHECK_EQ_INT(e.bps, 700000);
    pl_downlink_on_report(&e, 128, 800000, 2000 + PL_DOWNLINK_CUT_MS); /* 50%, from the estimate */
    CHECK_EQ_INT(e.bps, 525000);
    for (int i = 0; i < 20; i++)
        pl_downlink_on_report(&e, 255, 800000, 10000 + i * (uint64_t)PL_DOWNLINK_CUT_MS);
    CHECK_EQ_INT(e.bps, PL_DOWNLINK_MIN_BPS);
}

/* Growth is 8% per PL_DOWNLINK_GROW_MS however many reports come, none right after a cut. */
static void growth_paced(void)
{
    struct pl_downlink_est e = {0};
    pl_downlink_on_report(&e, 128, 400000, 1000);
    CHECK_EQ_INT(e.bps, 300000);
    for (uint64_t t = 1000; t < 1000 + PL_DOWNLINK_GROW_MS; t += 100)
        pl_downlink_on_report(&e, 0, 300000, t);
    CHECK_EQ_INT(e.bps, 300000);
    pl_downlink_on_report(&e, 0, 300000, 1000 + PL_DOWNLINK_GROW_MS);
    CHECK_EQ_INT(e.bps, 324000);
    pl_downlink_on_report(&e, 0, 300000, 1000 + PL_DOWNLINK_GROW_MS + 200);
    CHECK_EQ_INT(e.bps, 324000);
    pl_downlink_on_report(&e, 3, 300000, 1000 + 2 * PL_DOWNLINK_GROW_MS); /* 1.2%: still grows */
    CHECK_EQ_INT(e.bps, 349920);
}

/* Far above what is sent (4x, plus 100 kbit/s), the estimate stops being a limit. */
static void limit_ends(void)
{
    struct pl_downlink_est e = {0};
    pl_downlink_on_report(&e, 255, 80000, 1000);
    CHECK_EQ_INT(e.bps, PL_DOWNLINK_MIN_BPS); /* not below the floor */
    uint64_t t = 1000;
    int steps = 0;
    while (e.bps && steps < 100) {
        t += PL_DOWNLINK_GROW_MS;
        pl_downlink_on_report(&e, 0, 80000, t);
        steps++;
    }
    CHECK_EQ_INT(e.bps, 0);
    CHECK_EQ_INT(steps, 35); /* 50k * 1.08^n > 4 * 180k */
}

int main(void)
{
    layer_fits_budget();
    layers_not_sent_skipped();
    dipping_layer_not_chosen_over_budget();
    loss_cuts_from_what_is_sent();
    growth_paced();
    limit_ends();
    return check_result("downlink_est");
}
