/* RTP (RFC 3550) and RTCP demultiplexing (RFC 5761, RFC 7983), header extensions (RFC 8285,
 * one- and two-byte forms). Parsing never reads outside the given buffer. */
#ifndef PARLEY_RTP_H
#define PARLEY_RTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pl_pkt_class { PL_PKT_UNKNOWN = 0, PL_PKT_STUN, PL_PKT_DTLS, PL_PKT_RTP, PL_PKT_RTCP };

/* RFC 7983 first-byte demux, then RTP vs RTCP by payload type (RFC 5761: 192..223 is RTCP). */
enum pl_pkt_class pl_classify(const uint8_t *buf, size_t len);

struct pl_rtp {
    uint8_t marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t csrc_count;
    size_t header_len;          /* fixed header + CSRCs + extension block */
    uint16_t ext_profile;       /* 0xBEDE one-byte, 0x1000..0x100F two-byte, 0 if no extension */
    const uint8_t *ext;         /* extension data (after the 4-byte extension header) */
    size_t ext_len;
    const uint8_t *payload;
    size_t payload_len;         /* without padding */
    uint8_t padding_len;
};

/* 0 on success, negative when malformed (version != 2, lengths out of range). */
int pl_rtp_parse(const uint8_t *buf, size_t len, struct pl_rtp *out);

/* Finds header extension element `id` (1..14 for one-byte, 1..255 for two-byte).
 * Returns true and sets *val and *val_len when found. */
bool pl_rtp_ext_find(const struct pl_rtp *r, uint8_t id, const uint8_t **val, size_t *val_len);

/* Iterates over extension elements: *pos starts at 0. Returns false at the end or on a
 * malformed element. */
bool pl_rtp_ext_next(const struct pl_rtp *r, size_t *pos, uint8_t *id, const uint8_t **val,
                     size_t *val_len);

/* Writes a 12-byte RTP header (no CSRC, no extension). Returns 12 or 0 if cap < 12. */
size_t pl_rtp_write_header(uint8_t *out, size_t cap, bool marker, uint8_t pt, uint16_t seq,
                           uint32_t ts, uint32_t ssrc);

/* Sequence-number arithmetic with wraparound (RFC 1982 style). */
static inline bool pl_seq_newer(uint16_t a, uint16_t b) { return (int16_t)(uint16_t)(a - b) > 0; }
static inline bool pl_ts_newer(uint32_t a, uint32_t b) { return (int32_t)(uint32_t)(a - b) > 0; }

#endif
