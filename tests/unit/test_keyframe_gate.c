/* Keyframe requests to one stream: the first at once, retries spaced, urgent ones coalesced
 * while the keyframe asked for is on its way. */
#include "check.h"
#include "parley/keyframe_gate.h"

static void first_request_at_once(void)
{
    struct pl_keyframe_gate g = {0};
    CHECK(pl_keyframe_gate_ask(&g, 5, false));
    struct pl_keyframe_gate u = {0};
    CHECK(pl_keyframe_gate_ask(&u, 5, true));
}

static void retries_spaced(void)
{
    struct pl_keyframe_gate g = {0};
    CHECK(pl_keyframe_gate_ask(&g, 1000, false));
    CHECK(!pl_keyframe_gate_ask(&g, 1000 + PL_KF_INTERVAL_MS - 1, false));
    pl_keyframe_gate_on_keyframe(&g); /* answered: a retry still waits its interval */
    CHECK(!pl_keyframe_gate_ask(&g, 1000 + PL_KF_INTERVAL_MS - 1, false));
    CHECK(pl_keyframe_gate_ask(&g, 1000 + PL_KF_INTERVAL_MS, false));
}

/* Many slots switching in the same tick, or while the keyframe is on its way: one request. */
static void urgent_requests_coalesce(void)
{
    struct pl_keyframe_gate g = {0};
    int sent = 0;
    for (int i = 0; i < 50; i++)
        sent += pl_keyframe_gate_ask(&g, 2000, true);
    CHECK_EQ_INT(sent, 1);
    CHECK(!pl_keyframe_gate_ask(&g, 2000 + PL_KF_MIN_GAP_MS, true)); /* still unanswered */
    CHECK(!pl_keyframe_gate_ask(&g, 2000 + PL_KF_INTERVAL_MS - 1, true));
    /* Unanswered for a whole interval (the request or the keyframe lost): ask again. */
    CHECK(pl_keyframe_gate_ask(&g, 2000 + PL_KF_INTERVAL_MS, true));
}

/* Once the keyframe came, a slot that missed it is served after the short gap only. */
static void answered_then_urgent_after_min_gap(void)
{
    struct pl_keyframe_gate g = {0};
    CHECK(pl_keyframe_gate_ask(&g, 3000, true));
    pl_keyframe_gate_on_keyframe(&g);
    CHECK(!pl_keyframe_gate_ask(&g, 3000 + PL_KF_MIN_GAP_MS - 1, true));
    CHECK(pl_keyframe_gate_ask(&g, 3000 + PL_KF_MIN_GAP_MS, true));
    /* Over a second of urgent requests every millisecond, keyframes answering each at once:
     * still at most one per PL_KF_MIN_GAP_MS. */
    int sent = 0;
    for (uint64_t t = 4000; t < 5000; t++) {
        if (pl_keyframe_gate_ask(&g, t, true)) {
            sent++;
            pl_keyframe_gate_on_keyframe(&g);
        }
    }
    CHECK(sent <= 1000 / PL_KF_MIN_GAP_MS);
}

static void clock_going_back(void)
{
    struct pl_keyframe_gate g = {0};
    CHECK(pl_keyframe_gate_ask(&g, 10000, false));
    CHECK(!pl_keyframe_gate_ask(&g, 9000, true));
}

int main(void)
{
    first_request_at_once();
    retries_spaced();
    urgent_requests_coalesce();
    answered_then_urgent_after_min_gap();
    clock_going_back();
    return check_result("keyframe_gate");
}
