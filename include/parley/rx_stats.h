/* Receive statistics of one RTP stream a publisher sends the node, for the report blocks of
 * the node's receiver reports (RFC 3550: A.1 sequence tracking, A.3 loss, A.8 jitter, 6.4.1
 * LSR/DLSR), and the stream's last Sender Report, which maps its RTP clock to the sender's
 * wall clock (lip sync, aligning simulcast layers). One thread, no allocation. */
#ifndef PARLEY_RX_STATS_H
#define PARLEY_RX_STATS_H
#include <stdbool.h>
#include <stdint.h>

#include "parley/rtcp.h"

#define PL_RX_MAX_DROPOUT 3000  /* a forward jump larger than this is a restart or garbage */
#define PL_RX_MAX_MISORDER 100  /* a backward step larger than this too */

struct pl_rx_stats {
    bool started;
    uint16_t max_seq;        /* highest sequence number seen */
    uint32_t cycles;         /* wraps of the sequence number, times 65536 */
    uint32_t base_seq;
    uint32_t bad_seq;        /* after a big jump: the next expected one to accept the jump */
    uint64_t received;       /* packets received (not counting duplicates' absence) */
    uint64_t expected_prior, received_prior; /* at the last report */
    bool jitter_started;
    uint32_t last_ts;        /* RTP timestamp of the last in-order packet */
    int64_t last_transit;    /* arrival (in clock units) minus RTP timestamp, of that packet */
    uint32_t jitter_q4;      /* interarrival jitter in clock units, times 16 */
    /* Last Sender Report of this stream. */
    bool has_sr;
    uint64_t sr_ntp;         /* its NTP timestamp, 32.32 */
    uint32_t sr_rtp;         /* its RTP timestamp */
    uint64_t sr_at_us;       /* when it arrived (monotonic) */
};

/* A packet of the stream (not an RTX repair) arrived; clock in Hz, now in monotonic us. */
void pl_rx_stats_on_packet(struct pl_rx_stats *s, uint16_t seq, uint32_t ts, uint32_t clock,
                           uint64_t now_us);
/* The stream's sender sent a Sender Report. */
void pl_rx_stats_on_sr(struct pl_rx_stats *s, uint64_t ntp, uint32_t rtp_ts, uint64_t now_us);
/* Fills a report block and starts the next reporting interval. */
void pl_rx_stats_report(struct pl_rx_stats *s, uint32_t ssrc, uint64_t now_us,
                        struct pl_rtcp_report_block *out);
/* The stream's RTP timestamp at monotonic time now_us, by its last SR (false: no SR yet),
 * and the sender's NTP time for it. */
bool pl_rx_stats_clock_at(const struct pl_rx_stats *s, uint32_t clock, uint64_t now_us,
                          uint32_t *rtp_ts, uint64_t *ntp);

#endif
