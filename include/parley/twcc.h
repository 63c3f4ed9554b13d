/* Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01):
 * the RTP header extension value, a recorder of arrivals that builds RTCP transport-cc
 * feedback (RTPFB, FMT 15) for a publisher, and a strict parser of such feedback from a
 * subscriber. No I/O, no globals, no allocation: the caller owns every struct and buffer. */
#ifndef PARLEY_TWCC_H
#define PARLEY_TWCC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_TWCC_EXT_URI \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define PL_TWCC_FMT 15

/* Arrivals kept per recorder: anything older than this many sequence numbers behind the
 * newest is forgotten, and a forward jump of at least this many starts over. */
#define PL_TWCC_HISTORY 1024
/* Default and largest feedback packet size in bytes (fits an SRTCP datagram on any path). */
#define PL_TWCC_MAX_PKT 1200
/* Smallest packet size the builder works with: header, one chunk, one delta, padded. */
#define PL_TWCC_MIN_PKT 24
/* The 24-bit reference time (units of 64 ms) wraps after this many microseconds. */
#define PL_TWCC_REF_WRAP_US ((int64_t)64000 << 24)

/* Header extension value: the 16-bit transport-wide sequence number, big-endian. */
/* Writes the 2-byte value into out. Returns 2, or 0 when cap < 2. */
size_t pl_twcc_ext_write(uint8_t *out, size_t cap, uint16_t seq);
/* Reads the value found by pl_rtp_ext_find. Returns 0, or -1 unless len is exactly 2. */
int pl_twcc_ext_read(const uint8_t *val, size_t len, uint16_t *seq);

/* One slot of the arrival history; private to twcc.c. */
struct pl_twcc_slot {
    int64_t seq;          /* unwrapped sequence number held here, -1 when empty */
    uint64_t arrival_us;
};

/* Receiver side: records arrivals of one publisher's transport (all its SSRCs share the
 * transport-wide sequence). Embed or allocate it (about 16 KiB); no free needed. */
struct pl_twcc_recv {
    uint32_t sender_ssrc; /* ours, written as "SSRC of packet sender" */
    uint32_t media_ssrc;  /* one of the publisher's SSRCs (browsers ignore it) */
    bool started;         /* a packet was recorded since init / reset */
    int64_t next_seq;     /* first unwrapped seq the next feedback reports */
    int64_t end_seq;      /* highest unwrapped seq received + 1 */
    uint32_t stale_run;   /* consecutive packets too far behind the history (see record) */
    uint8_t fb_count;     /* feedback packet count of the next packet built */
    struct pl_twcc_slot slots[PL_TWCC_HISTORY];
};

void pl_twcc_recv_init(struct pl_twcc_recv *r, uint32_t sender_ssrc, uint32_t media_ssrc);
/* Records the arrival of transport-wide sequence number seq at arrival_us (any monotonic
 * microsecond clock, e.g. pl_now_us()). Duplicates keep their first arrival. A packet older
 * than what was already reported, but still in the history, is reported again in the next
 * feedback (with the packets after it), so the sender learns it was not lost after all. */
void pl_twcc_recv_record(struct pl_twcc_recv *r, uint16_t seq, uint64_t arrival_us);
/* True when something was recorded that no feedback has reported yet. */
bool pl_twcc_recv_pending(const struct pl_twcc_recv *r);
/* Builds feedback for everything received since the last build (packets in between that
 * never arrived are reported as not received): one or more transport-cc packets back to
 * back in out, each at most max_pkt bytes (0 means PL_TWCC_MAX_PKT; larger values are
 * clamped to it). Returns the bytes written, 0 when nothing is pending or when not even one
 * packet fits (cap or max_pkt below PL_TWCC_MIN_PKT). What does not fit in cap stays
 * pending for the next call. The output is a valid compound for pl_rtcp_iter. */
size_t pl_twcc_build(struct pl_twcc_recv *r, uint8_t *out, size_t cap, size_t max_pkt);

/* Parser side. Header fields of one feedback packet. */
struct pl_twcc_fb {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    uint16_t base_seq;
    uint16_t status_count;
    uint32_t ref_time; /* 24-bit reference time, units of 64 ms, as sent (it wraps) */
    uint8_t fb_count;
};

/* Called once per reported packet in sequence order. arrival_us is meaningful only when
 * received: ref_time * 64000 plus the receive deltas so far (it can go down: reordering).
 * Only differences matter; across packets, unwrap ref_time modulo PL_TWCC_REF_WRAP_US. */
typedef void (*pl_twcc_pkt_cb)(uint16_t seq, bool received, int64_t arrival_us, void *ud);

/* Parses one RTCP transport-cc packet of exactly len bytes (e.g. a struct pl_rtcp_pkt's
 * data and len from pl_rtcp_iter). The whole packet is checked before the first callback:
 * a malformed one gets no callback at all. Returns status_count (>= 1) or -1 when the packet
 * is not a well-formed transport-cc feedback. fb and cb may be NULL. */
int pl_twcc_parse(const uint8_t *pkt, size_t len, struct pl_twcc_fb *fb, pl_twcc_pkt_cb cb,
                  void *ud);

#endif
