#include "parley/rx_stats.h"

#include <string.h>

static void restart(struct pl_rx_stats *s, uint16_t seq)
{
    s->started = true;
    s->max_seq = seq;
    s->cycles = 0;
    s->base_seq = seq;
    s->bad_seq = (uint32_t)seq + 65537; /* matches no 16-bit value */
    s->received = 0;
    s->expected_prior = 0;
    s->received_prior = 0;
    s->jitter_started = false;
}

/* RFC 3550 A.8, on in-order packets that start a new frame only: the packets of one video
 * frame share a timestamp but leave the sender over several milliseconds, which is pacing,
 * not network jitter (libwebrtc measures the same way). */
static void update_jitter(struct pl_rx_stats *s, uint32_t ts, uint32_t clock, uint64_t now_us)
{
    int64_t arrival = (int64_t)(now_us * clock / 1000000);
    int64_t transit = arrival - (int64_t)ts;
    if (s->jitter_started && ts == s->last_ts)
        return;
    if (s->jitter_started && (int32_t)(ts - s->last_ts) > 0) {
        /* The timestamp may have wrapped since the last packet: compare modulo 2^32. */
        int64_t d = (int32_t)(uint32_t)(transit - s->last_transit);
        if (d < 0)
            d = -d;
        s->jitter_q4 += (uint32_t)(d - ((s->jitter_q4 + 8) >> 4));
    }
    s->jitter_started = true;
    s->last_ts = ts;
    s->last_transit = transit;
}

void pl_rx_stats_on_packet(struct pl_rx_stats *s, uint16_t seq, uint32_t ts, uint32_t clock,
                           uint64_t now_us)
{
    if (!s->started) {
        restart(s, seq);
        s->received = 1;
        update_jitter(s, ts, clock, now_us);
        return;
    }
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    if (udelta < PL_RX_MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += 65536;
        s->max_seq = seq;
        if (udelta > 0)
            update_jitter(s, ts, clock, now_us);
    } else if (udelta <= 65536 - PL_RX_MAX_MISORDER) {
        /* A big jump: the sender restarted, or this is junk. Two in a row make it real. */
        if (seq != s->bad_seq) {
            s->bad_seq = (uint16_t)(seq + 1);
            return;
        }
        restart(s, seq);
    }
    /* else: a duplicate or a reordered packet, counted as received */
    s->received++;
}

void pl_rx_stats_on_sr(struct pl_rx_stats *s, uint64_t ntp, uint32_t rtp_ts, uint64_t now_us)
{
    s->has_sr = true;
    s->sr_ntp = ntp;
    s->sr_rtp = rtp_ts;
    s->sr_at_us = now_us;
}

void pl_rx_stats_report(struct pl_rx_stats *s, uint32_t ssrc, uint64_t now_us,
                        struct pl_rtcp_report_block *out)
{
    memset(out, 0, sizeof *out);
    out->ssrc = ssrc;
    if (!s->started)
        return;
    uint32_t ext_max = s->cycles + s->max_seq;
    uint64_t expected = (uint64_t)(ext_max - s->base_seq) + 1;
    int64_t lost = (int64_t)expected - (int64_t)s->received;
    /* 24-bit signed field */
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    int64_t expected_interval = (int64_t)(expected - s->expected_prior);
    int64_t received_interval = (int64_t)(s->received - s->received_prior);
    int64_t lost_interval = expected_interval - received_interval;
    s->expected_prior = expected;
    s->received_prior = s->received;
    out->fraction_lost =
        expected_interval > 0 && lost_interval > 0 ? (uint8_t)((lost_interval << 8) / expected_interval) : 0;
    out->cumulative_lost = (int32_t)lost;
    out->highest_seq = ext_max;
    out->jitter = s->jitter_q4 >> 4;
    if (s->has_sr) {
        out->lsr = (uint32_t)(s->sr_ntp >> 16);
        out->dlsr = (uint32_t)((now_us - s->sr_at_us) * 65536 / 1000000);
    }
}

bool pl_rx_stats_clock_at(const struct pl_rx_stats *s, uint32_t clock, uint64_t now_us,
                          uint32_t *rtp_ts, uint64_t *ntp)
{
    if (!s->has_sr)
        return false;
    uint64_t elapsed = now_us - s->sr_at_us;
    *rtp_ts = s->sr_rtp + (uint32_t)(elapsed * clock / 1000000);
    *ntp = s->sr_ntp + ((elapsed / 1000000) << 32) + ((elapsed % 1000000) << 32) / 1000000;
    return true;
}
