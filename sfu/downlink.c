#include "parley/downlink.h"

void pl_downlink_on_report(struct pl_downlink_est *e, uint8_t fraction_lost, uint32_t tx_bps,
                           uint64_t now_ms)
{
    double loss = fraction_lost / 256.0;
    uint32_t base = e->bps ? e->bps : tx_bps;
    if (loss > 0.10 && base) {
        if (e->cut_ms && now_ms - e->cut_ms < PL_DOWNLINK_CUT_MS)
            return;
        uint32_t est = (uint32_t)(base * (1.0 - 0.5 * loss));
        e->bps = est < PL_DOWNLINK_MIN_BPS ? PL_DOWNLINK_MIN_BPS : est;
        e->cut_ms = now_ms;
    } else if (loss < 0.02 && e->bps) {
        if (e->changed_ms && now_ms - e->changed_ms < PL_DOWNLINK_GROW_MS)
            return;
        e->bps = (uint32_t)(e->bps * 1.08);
        if (e->bps > 4 * ((uint64_t)tx_bps + 100000))
            e->bps = 0; /* far above what is sent: no longer a limit */
    } else {
        return;
    }
    e->changed_ms = now_ms;
}

int pl_layer_for_budget(const uint32_t *bitrates, int n, int64_t budget)
{
    int best = -1, lowest = -1;
    uint32_t cost = 0; /* the dearest layer being sent so far */
    for (int l = 0; l < n; l++) {
        if (!bitrates[l])
            continue; /* not being sent */
        if (lowest < 0)
            lowest = l;
        if (bitrates[l] > cost)
            cost = bitrates[l];
        if ((int64_t)cost > budget)
            break;
        best = l;
    }
    return best >= 0 ? best : lowest >= 0 ? lowest : 0;
}
