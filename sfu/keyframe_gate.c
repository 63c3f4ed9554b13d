#include "parley/keyframe_gate.h"

bool pl_keyframe_gate_ask(struct pl_keyframe_gate *g, uint64_t now_ms, bool urgent)
{
    if (g->asked) {
        uint64_t since = now_ms > g->asked_ms ? now_ms - g->asked_ms : 0;
        uint64_t gap = urgent && !g->pending ? PL_KF_MIN_GAP_MS : PL_KF_INTERVAL_MS;
        if (since < gap)
            return false;
    }
    g->asked = true;
    g->pending = true;
    g->asked_ms = now_ms;
    return true;
}
