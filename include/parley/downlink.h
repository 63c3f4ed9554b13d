/* What a subscriber's downlink allows: a loss-based estimate of it (in the spirit of GCC's loss
 * controller) from the fraction lost in its receiver reports, and the simulcast layer that fits
 * a share of it. One thread, no I/O: a zeroed estimate is ready and means no limit seen. */
#ifndef PARLEY_DOWNLINK_H
#define PARLEY_DOWNLINK_H
#include <stdbool.h>
#include <stdint.h>

#define PL_DOWNLINK_MIN_BPS 50000
/* Receivers report several times a second, each report on a few packets: the estimate grows
 * at most once per PL_DOWNLINK_GROW_MS (none of it within that time of a cut), and one loss
 * episode, seen in several reports, cuts it once per PL_DOWNLINK_CUT_MS. */
#define PL_DOWNLINK_GROW_MS 1000
#define PL_DOWNLINK_CUT_MS 500

struct pl_downlink_est {
    uint32_t bps;        /* what the link seems to carry; 0: no limit seen */
    uint64_t changed_ms; /* the last growth or cut (0: none) */
    uint64_t cut_ms;     /* the last cut (0: none) */
};

/* A receiver report: over 10% loss cuts the estimate (from what was sent, tx_bps, the first
 * time) in proportion; under 2% lets it grow 8% until it is far above what is sent and no
 * longer a limit. */
void pl_downlink_on_report(struct pl_downlink_est *e, uint8_t fraction_lost, uint32_t tx_bps,
                           uint64_t now_ms);

/* The layer (index into bitrates, lowest first; 0: not being sent) that fits budget: the
 * highest being sent whose bitrate, and every lower one's, fits (a layer's rate can dip for a
 * second, as when its encoder restarts, without it getting cheaper than the ones below); else
 * the lowest being sent; 0 when none is. */
int pl_layer_for_budget(const uint32_t *bitrates, int n, int64_t budget);

#endif
