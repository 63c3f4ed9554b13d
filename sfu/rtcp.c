/* RTCP (RFC 3550) compound packets, feedback (RFC 4585, RFC 5104) and REMB
 * (draft-alvestrand-rmcat-remb). Input is untrusted: every read is bounded by the packet
 * length, and lengths that don't add up are rejected. */
#include "parley/bytes.h"
#include "parley/rtcp.h"

#include <string.h>

/* Writes a common header for a packet of `total` bytes (a multiple of 4). */
static void wr_header(uint8_t *p, uint8_t fmt, uint8_t type, size_t total)
{
    p[0] = (uint8_t)(0x80 | (fmt & 0x1f));
    p[1] = type;
    pl_wr16(p + 2, (uint16_t)(total / 4 - 1));
}

/* Length of the packet at buf (at most len bytes available), or 0 when its header is
 * malformed: version != 2, length past the end, or a bad padding count. */
static size_t pkt_len(const uint8_t *buf, size_t len)
{
    if (len < 4 || buf[0] >> 6 != 2)
        return 0;
    size_t n = ((size_t)pl_rd16(buf + 2) + 1) * 4;
    if (n > len)
        return 0;
    if (buf[0] & 0x20) {
        uint8_t pad = buf[n - 1];
        if (pad == 0 || pad > n - 4)
            return 0;
    }
    return n;
}

/* End of a packet's content (its length without padding), or 0 when malformed. */
static size_t content_len(const struct pl_rtcp_pkt *p)
{
    if (!p || !p->data || p->len < 4)
        return 0;
    size_t n = p->len;
    if (p->data[0] & 0x20) {
        uint8_t pad = p->data[n - 1];
        if (pad == 0 || pad > n - 4)
            return 0;
        n -= pad;
    }
    return n;
}

int pl_rtcp_validate(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return -1;
    size_t pos = 0;
    while (pos < len) {
        size_t n = pkt_len(buf + pos, len - pos);
        if (n == 0)
            return -1;
        pos += n;
    }
    return 0;
}

void pl_rtcp_iter_init(struct pl_rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->pos = 0;
}

bool pl_rtcp_iter_next(struct pl_rtcp_iter *it, struct pl_rtcp_pkt *out)
{
    if (it->pos >= it->len)
        return false;
    const uint8_t *p = it->buf + it->pos;
    size_t n = pkt_len(p, it->len - it->pos);
    if (n == 0) {
        it->pos = it->len; /* stop: nothing after a malformed header can be trusted */
        return false;
    }
    it->pos += n;
    memset(out, 0, sizeof(*out));
    out->type = p[1];
    out->fmt = p[0] & 0x1f;
    out->data = p;
    out->len = n;
    if (n >= 8)
        out->sender_ssrc = pl_rd32(p + 4);
    if ((out->type == PL_RTCP_RTPFB || out->type == PL_RTCP_PSFB) && n >= 12)
        out->media_ssrc = pl_rd32(p + 8);
    return true;
}

int pl_rtcp_parse_sr(const struct pl_rtcp_pkt *p, struct pl_rtcp_sr *out)
{
    size_t n = content_len(p);
    if (n < 28 || p->type != PL_RTCP_SR || n - 28 < 24 * (size_t)p->fmt)
        return -1;
    const uint8_t *d = p->data;
    out->ssrc = pl_rd32(d + 4);
    out->ntp = (uint64_t)pl_rd32(d + 8) << 32 | pl_rd32(d + 12);
    out->rtp_ts = pl_rd32(d + 16);
    out->packet_count = pl_rd32(d + 20);
    out->octet_count = pl_rd32(d + 24);
    return 0;
}

int pl_rtcp_parse_report_blocks(const struct pl_rtcp_pkt *p, struct pl_rtcp_report_block *out,
                                int max)
{
    size_t n = content_len(p);
    size_t off;
    if (n == 0)
        return -1;
    if (p->type == PL_RTCP_SR)
        off = 28;
    else if (p->type == PL_RTCP_RR)
        off = 8;
    else
        return -1;
    size_t count = p->fmt;
    if (n < off || n - off < 24 * count)
        return -1; /* the count says more blocks than the packet holds */
    int w = 0;
    for (size_t i = 0; i < count && w < max; i++, w++) {
        const uint8_t *b = p->data + off + 24 * i;
        struct pl_rtcp_report_block *rb = &out[w];
        rb->ssrc = pl_rd32(b);
        rb->fraction_lost = b[4];
        /* 24-bit two's complement: flip the sign bit, then subtract its weight. */
        uint32_t lost = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
        rb->cumulative_lost = (int32_t)(lost ^ 0x800000) - 0x800000;
        rb->highest_seq = pl_rd32(b + 8);
        rb->jitter = pl_rd32(b + 12);
        rb->lsr = pl_rd32(b + 16);
        rb->dlsr = pl_rd32(b + 20);
    }
    return w;
}

int pl_rtcp_parse_nack(const struct pl_rtcp_pkt *p, void (*cb)(uint16_t seq, void *ud), void *ud)
{
    size_t n = content_len(p);
    /* Common feedback header (12 bytes) then one or more 4-byte PID+BLP items. */
    if (n < 16 || p->type != PL_RTCP_RTPFB || p->fmt != 1 || (n - 12) % 4 != 0)
        return -1;
    int count = 0;
    for (size_t off = 12; off < n; off += 4) {
        uint16_t pid = pl_rd16(p->data + off);
        uint16_t blp = pl_rd16(p->data + off + 2);
        if (cb)
            cb(pid, ud);
        count++;
        for (int i = 0; i < 16; i++) {
            if (blp & (1u << i)) {
                if (cb)
                    cb((uint16_t)(pid + i + 1), ud);
                count++;
            }
        }
    }
    return count;
}

int pl_rtcp_parse_fir(const struct pl_rtcp_pkt *p, struct pl_rtcp_fir_entry *out, int max)
{
    size_t n = content_len(p);
    /* Common feedback header then one or more 8-byte entries: SSRC, seq nr, 3 reserved. */
    if (n < 20 || p->type != PL_RTCP_PSFB || p->fmt != 4 || (n - 12) % 8 != 0)
        return -1;
    int w = 0;
    for (size_t off = 12; off < n && w < max; off += 8, w++) {
        out[w].ssrc = pl_rd32(p->data + off);
        out[w].seq_nr = p->data[off + 4];
    }
    return w;
}

int pl_rtcp_parse_remb(const struct pl_rtcp_pkt *p, uint64_t *bitrate_bps, uint32_t *ssrcs,
                       int max, int *n_ssrcs)
{
    size_t n = content_len(p);
    if (n < 20 || p->type != PL_RTCP_PSFB || p->fmt != 15)
        return -1;
    const uint8_t *d = p->data;
    if (memcmp(d + 12, "REMB", 4) != 0)
        return -1;
    size_t num = d[16];
    if (n != 20 + 4 * num)
        return -1;
    unsigned exp = d[17] >> 2;
    uint64_t mantissa = (uint64_t)(d[17] & 3) << 16 | (uint64_t)d[18] << 8 | d[19];
    uint64_t bps = mantissa << exp;
    if (bps >> exp != mantissa)
        return -1; /* doesn't fit in 64 bits */
    if (bitrate_bps)
        *bitrate_bps = bps;
    int w = 0;
    for (size_t i = 0; i < num && w < max; i++, w++)
        ssrcs[w] = pl_rd32(d + 20 + 4 * i);
    if (n_ssrcs)
        *n_ssrcs = w;
    return 0;
}

size_t pl_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (!out || cap < 12)
        return 0;
    wr_header(out, 1, PL_RTCP_PSFB, 12);
    pl_wr32(out + 4, sender_ssrc);
    pl_wr32(out + 8, media_ssrc);
    return 12;
}

size_t pl_rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                         uint8_t seq_nr)
{
    if (!out || cap < 20)
        return 0;
    wr_header(out, 4, PL_RTCP_PSFB, 20);
    pl_wr32(out + 4, sender_ssrc);
    pl_wr32(out + 8, 0); /* RFC 5104 4.3.1.2: the media source SSRC field is unused, set to 0 */
    pl_wr32(out + 12, media_ssrc);
    out[16] = seq_nr;
    out[17] = out[18] = out[19] = 0;
    return 20;
}

size_t pl_rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                          const uint16_t *seqs, size_t n_seqs)
{
    if (!out || !seqs || n_seqs == 0 || cap < 16)
        return 0;
    pl_wr32(out + 4, sender_ssrc);
    pl_wr32(out + 8, media_ssrc);
    /* Greedy packing, best for ascending input: a seq within 16 after the current PID goes
     * into its BLP, anything else starts a new item. Every seq is reported whatever the order. */
    size_t off = 12;
    uint16_t pid = seqs[0], blp = 0;
    for (size_t i = 1; i <= n_seqs; i++) {
        if (i < n_seqs) {
            uint16_t d = (uint16_t)(seqs[i] - pid);
            if (d == 0)
                continue; /* duplicate */
            if (d <= 16) {
                blp |= (uint16_t)(1u << (d - 1));
                continue;
            }
        }
        /* Packet length is a 16-bit count of words minus one. */
        if (cap - off < 4 || off + 4 > 4 * 65536)
            return 0;
        pl_wr16(out + off, pid);
        pl_wr16(out + off + 2, blp);
        off += 4;
        if (i < n_seqs) {
            pid = seqs[i];
            blp = 0;
        }
    }
    wr_header(out, 1, PL_RTCP_RTPFB, off);
    return off;
}

size_t pl_rtcp_build_remb(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                          const uint32_t *ssrcs, size_t n_ssrcs)
{
    if (!out || n_ssrcs > 255 || (n_ssrcs && !ssrcs))
        return 0;
    size_t total = 20 + 4 * n_ssrcs;
    if (cap < total)
        return 0;
    /* Smallest exponent that fits the mantissa in 18 bits; the low bits are truncated. */
    unsigned exp = 0;
    while ((bitrate_bps >> exp) >= (1u << 18))
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    wr_header(out, 15, PL_RTCP_PSFB, total);
    pl_wr32(out + 4, sender_ssrc);
    pl_wr32(out + 8, 0); /* media source SSRC is unused for REMB */
    memcpy(out + 12, "REMB", 4);
    out[16] = (uint8_t)n_ssrcs;
    out[17] = (uint8_t)(exp << 2 | mantissa >> 16);
    out[18] = (uint8_t)(mantissa >> 8);
    out[19] = (uint8_t)mantissa;
    for (size_t i = 0; i < n_ssrcs; i++)
        pl_wr32(out + 20 + 4 * i, ssrcs[i]);
    return total;
}

size_t pl_rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc,
                        const struct pl_rtcp_report_block *blocks, size_t n_blocks)
{
    if (!out || n_blocks > 31 || (n_blocks && !blocks))
        return 0;
    size_t total = 8 + 24 * n_blocks;
    if (cap < total)
        return 0;
    wr_header(out, (uint8_t)n_blocks, PL_RTCP_RR, total);
    pl_wr32(out + 4, sender_ssrc);
    for (size_t i = 0; i < n_blocks; i++) {
        const struct pl_rtcp_report_block *rb = &blocks[i];
        uint8_t *b = out + 8 + 24 * i;
        /* Cumulative loss is a signed 24-bit field: clamp, don't wrap. */
        int32_t lost = rb->cumulative_lost;
        if (lost > 0x7fffff)
            lost = 0x7fffff;
        if (lost < -0x800000)
            lost = -0x800000;
        uint32_t l24 = (uint32_t)lost & 0xffffff;
        pl_wr32(b, rb->ssrc);
        b[4] = rb->fraction_lost;
        b[5] = (uint8_t)(l24 >> 16);
        b[6] = (uint8_t)(l24 >> 8);
        b[7] = (uint8_t)l24;
        pl_wr32(b + 8, rb->highest_seq);
        pl_wr32(b + 12, rb->jitter);
        pl_wr32(b + 16, rb->lsr);
        pl_wr32(b + 20, rb->dlsr);
    }
    return total;
}

size_t pl_rtcp_build_sr(uint8_t *out, size_t cap, const struct pl_rtcp_sr *sr)
{
    if (!out || !sr || cap < 28)
        return 0;
    wr_header(out, 0, PL_RTCP_SR, 28);
    pl_wr32(out + 4, sr->ssrc);
    pl_wr32(out + 8, (uint32_t)(sr->ntp >> 32));
    pl_wr32(out + 12, (uint32_t)sr->ntp);
    pl_wr32(out + 16, sr->rtp_ts);
    pl_wr32(out + 20, sr->packet_count);
    pl_wr32(out + 24, sr->octet_count);
    return 28;
}
