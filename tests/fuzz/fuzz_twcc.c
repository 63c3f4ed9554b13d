/* libFuzzer target: the transport-cc feedback parser on arbitrary input (alone and through the
 * RTCP iterator), and the recorder + builder driven by (seq, time) sequences taken from the
 * input, whose every output must parse back. Aborts when results are inconsistent. */
#include "parley/rtcp.h"
#include "parley/twcc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
    int calls;
    int received;
    bool check_seqs;
};

/* Sequence numbers given to the recorder in this input. */
static uint8_t recorded[65536 / 8];

static void on_pkt(uint16_t seq, bool received, int64_t arrival_us, void *ud)
{
    struct tally *t = ud;
    (void)arrival_us;
    t->calls++;
    if (received) {
        t->received++;
        if (t->check_seqs && !(recorded[seq >> 3] & (1u << (seq & 7))))
            abort(); /* reported received, never recorded */
    }
}

/* Parses one packet; the callback count must be what the parser returns. */
static int parse_one(const uint8_t *p, size_t len, struct tally *t)
{
    struct pl_twcc_fb fb;
    int before = t->calls;
    int rc = pl_twcc_parse(p, len, &fb, on_pkt, t);
    if (rc < -1 || rc > 65535 || rc == 0)
        abort();
    if (rc < 0 ? t->calls != before : t->calls - before != rc || fb.status_count != rc)
        abort();
    return rc;
}

static struct pl_twcc_recv rec;

/* Checks a build's output: a valid compound of transport-cc packets, each within max_pkt,
 * that parse with statuses only for recorded seqs. */
static void check_build(const uint8_t *out, size_t len, size_t cap, size_t max_pkt)
{
    if (len == 0)
        return;
    if (len > cap || pl_rtcp_validate(out, len) != 0)
        abort();
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    struct tally t = {.check_seqs = true};
    pl_rtcp_iter_init(&it, out, len);
    while (pl_rtcp_iter_next(&it, &p)) {
        if (p.len > max_pkt || parse_one(p.data, p.len, &t) < 1)
            abort();
    }
}

/* Input after the first two bytes: records of 4 bytes (seq, time step) with the top bits of
 * the step choosing a build or a jump in time. */
static void drive_recorder(const uint8_t *data, size_t size)
{
    static uint8_t out[8192];
    if (size < 2)
        return;
    size_t max_pkt = (size_t)data[0] * 8;  /* 0 (default), tiny, up to past the limit */
    size_t cap = 16 + (size_t)data[1] * 32; /* from below one packet to several */
    size_t eff_max = max_pkt == 0 || max_pkt > PL_TWCC_MAX_PKT ? PL_TWCC_MAX_PKT : max_pkt;
    data += 2;
    size -= 2;

    memset(recorded, 0, sizeof(recorded));
    pl_twcc_recv_init(&rec, 1, 2);
    uint64_t now = 1000000;
    for (; size >= 4; data += 4, size -= 4) {
        uint16_t seq = (uint16_t)(data[0] << 8 | data[1]);
        uint16_t step = (uint16_t)(data[2] << 8 | data[3]);
        switch (step >> 14) {
        case 0: /* small step forward, in us */
            now += step;
            break;
        case 1: /* big step forward, past a 2-byte delta */
            now += (uint64_t)(step & 0x3fff) << 12;
            break;
        case 2: /* step back: reordering */
            now -= now < (step & 0x3fff) ? now : (step & 0x3fff);
            break;
        case 3: { /* build now, then still record */
            size_t len = pl_twcc_build(&rec, out, cap < sizeof(out) ? cap : sizeof(out), max_pkt);
            check_build(out, len, cap, eff_max);
            break;
        }
        }
        recorded[seq >> 3] |= (uint8_t)(1u << (seq & 7));
        pl_twcc_recv_record(&rec, seq, now);
    }
    /* Drain: with room for at least one packet every call makes progress until done. */
    for (int i = 0; i < 2 * PL_TWCC_HISTORY + 2; i++) {
        size_t len = pl_twcc_build(&rec, out, cap < sizeof(out) ? cap : sizeof(out), max_pkt);
        check_build(out, len, cap, eff_max);
        if (len == 0)
            break;
    }
    if (pl_twcc_recv_pending(&rec) && cap >= PL_TWCC_MIN_PKT && eff_max >= PL_TWCC_MIN_PKT)
        abort();

    /* Extreme clock values must not break anything either. */
    recorded[0] |= 0x0e; /* seqs 1, 2, 3 */
    pl_twcc_recv_record(&rec, 1, UINT64_MAX);
    pl_twcc_recv_record(&rec, 2, 0);
    pl_twcc_recv_record(&rec, 3, UINT64_MAX / 2);
    check_build(out, pl_twcc_build(&rec, out, sizeof(out), 0), sizeof(out), PL_TWCC_MAX_PKT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tally t = {0};
    parse_one(data, size, &t);

    /* Each packet of a compound, as a node receives them. */
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    pl_rtcp_iter_init(&it, data, size);
    while (pl_rtcp_iter_next(&it, &p))
        if (p.type == PL_RTCP_RTPFB && p.fmt == PL_TWCC_FMT)
            parse_one(p.data, p.len, &t);

    drive_recorder(data, size);
    return 0;
}
