/* RTCP (RFC 3550) compound packets and feedback (RFC 4585 NACK/PLI, RFC 5104 FIR,
 * REMB, transport-cc): validation, iteration, parsing and building. */
#ifndef PARLEY_RTCP_H
#define PARLEY_RTCP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_RTCP_SR 200
#define PL_RTCP_RR 201
#define PL_RTCP_SDES 202
#define PL_RTCP_BYE 203
#define PL_RTCP_APP 204
#define PL_RTCP_RTPFB 205 /* fmt 1 NACK, 15 transport-cc */
#define PL_RTCP_PSFB 206  /* fmt 1 PLI, 4 FIR, 15 AFB (REMB) */

/* One packet of a compound RTCP packet. */
struct pl_rtcp_pkt {
    uint8_t type;          /* packet type (200..206, others passed through) */
    uint8_t fmt;           /* count / feedback message type (5 low bits of first byte) */
    const uint8_t *data;   /* whole packet, starting with its 4-byte header */
    size_t len;            /* whole packet length in bytes */
    uint32_t sender_ssrc;  /* 0 if the packet is shorter than 8 bytes */
    uint32_t media_ssrc;   /* for RTPFB/PSFB: media source SSRC; else 0 */
};

struct pl_rtcp_iter {
    const uint8_t *buf;
    size_t len;
    size_t pos;
};

/* Validates a compound packet (every header version 2, lengths add up exactly).
 * 0 when valid, negative otherwise. */
int pl_rtcp_validate(const uint8_t *buf, size_t len);
void pl_rtcp_iter_init(struct pl_rtcp_iter *it, const uint8_t *buf, size_t len);
/* Next packet; returns false at the end or at a malformed packet. */
bool pl_rtcp_iter_next(struct pl_rtcp_iter *it, struct pl_rtcp_pkt *out);

struct pl_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp;        /* NTP timestamp, 32.32 */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
};
int pl_rtcp_parse_sr(const struct pl_rtcp_pkt *p, struct pl_rtcp_sr *out);

struct pl_rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost;
    uint32_t highest_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
};
/* Report blocks of an SR or RR: returns the number written to out (at most max), or -1. */
int pl_rtcp_parse_report_blocks(const struct pl_rtcp_pkt *p, struct pl_rtcp_report_block *out,
                                int max);

/* Generic NACK: calls cb for every lost sequence number (PID + BLP bits). Returns count or -1. */
int pl_rtcp_parse_nack(const struct pl_rtcp_pkt *p, void (*cb)(uint16_t seq, void *ud), void *ud);

/* FIR entries (RFC 5104 4.3.1): returns the number of entries written (ssrc, seq nr), or -1. */
struct pl_rtcp_fir_entry { uint32_t ssrc; uint8_t seq_nr; };
int pl_rtcp_parse_fir(const struct pl_rtcp_pkt *p, struct pl_rtcp_fir_entry *out, int max);

/* REMB (draft-alvestrand-rmcat-remb): bitrate in bps and up to max SSRCs. -1 if not REMB. */
int pl_rtcp_parse_remb(const struct pl_rtcp_pkt *p, uint64_t *bitrate_bps, uint32_t *ssrcs,
                       int max, int *n_ssrcs);

/* Builders: return bytes written, or 0 when cap is too small. */
size_t pl_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
size_t pl_rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                         uint8_t seq_nr);
size_t pl_rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                          const uint16_t *seqs, size_t n_seqs);
size_t pl_rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                          const uint32_t *ssrcs, size_t n_ssrcs);
/* Receiver report with no report blocks (keeps a sender's RTCP alive). */
size_t pl_rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc,
                        const struct pl_rtcp_report_block *blocks, size_t n_blocks);
/* Sender report for an outgoing stream. */
size_t pl_rtcp_build_sr(uint8_t *out, size_t cap, const struct pl_rtcp_sr *sr);

#endif
