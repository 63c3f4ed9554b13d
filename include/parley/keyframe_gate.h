/* When to ask a publisher's stream for a keyframe (PLI/FIR). Retries (a slot still waiting for
 * a keyframe, losses past repair) go at most every PL_KF_INTERVAL_MS. Urgent requests (a slot
 * bound or retargeted, its subscriber just connected) go at once unless the keyframe already
 * asked for will serve them too: within PL_KF_MIN_GAP_MS of the last request, or while that
 * request is unanswered and younger than PL_KF_INTERVAL_MS. So N subscribers switching in one
 * tick cost one request, and the first request after a quiet spell is never delayed.
 * One thread, no I/O: a zeroed struct is ready. */
#ifndef PARLEY_KEYFRAME_GATE_H
#define PARLEY_KEYFRAME_GATE_H
#include <stdbool.h>
#include <stdint.h>

#define PL_KF_INTERVAL_MS 300
#define PL_KF_MIN_GAP_MS 100

struct pl_keyframe_gate {
    bool asked;        /* a request was made */
    bool pending;      /* and no keyframe has come since */
    uint64_t asked_ms; /* when the last one was made */
};

/* Should a request go now? True: it is counted as made. */
bool pl_keyframe_gate_ask(struct pl_keyframe_gate *g, uint64_t now_ms, bool urgent);

/* A keyframe of the stream arrived: the last request is answered. */
static inline void pl_keyframe_gate_on_keyframe(struct pl_keyframe_gate *g) { g->pending = false; }

#endif
