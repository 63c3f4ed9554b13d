/* RTP parsing (RFC 3550), demultiplexing (RFC 7983, RFC 5761) and header extensions
 * (RFC 8285). Every read is bounded by the length the caller gave. */
#include "parley/bytes.h"
#include "parley/rtp.h"

#include <string.h>

enum pl_pkt_class pl_classify(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return PL_PKT_UNKNOWN;
    uint8_t b = buf[0];
    if (b <= 3)
        return PL_PKT_STUN;
    if (b >= 20 && b <= 63)
        return PL_PKT_DTLS;
    if (b >= 128 && b <= 191) {
        /* The second byte is marker + PT; RTCP packet types 192..223 sit where RTP payload
         * types 64..95 with the marker bit would, which is why those PTs are never used. */
        if (len >= 2 && buf[1] >= 192 && buf[1] <= 223)
            return len >= 8 ? PL_PKT_RTCP : PL_PKT_UNKNOWN;
        return len >= 12 ? PL_PKT_RTP : PL_PKT_UNKNOWN;
    }
    return PL_PKT_UNKNOWN;
}

int pl_rtp_parse(const uint8_t *buf, size_t len, struct pl_rtp *out)
{
    memset(out, 0, sizeof(*out));
    if (!buf || len < 12)
        return -1;
    if (buf[0] >> 6 != 2)
        return -2;
    bool has_pad = buf[0] & 0x20;
    bool has_ext = buf[0] & 0x10;
    out->csrc_count = buf[0] & 0x0f;
    out->marker = buf[1] >> 7;
    out->pt = buf[1] & 0x7f;
    out->seq = pl_rd16(buf + 2);
    out->ts = pl_rd32(buf + 4);
    out->ssrc = pl_rd32(buf + 8);

    size_t off = 12 + 4 * (size_t)out->csrc_count;
    if (off > len)
        return -3;
    if (has_ext) {
        if (len - off < 4)
            return -4;
        out->ext_profile = pl_rd16(buf + off);
        out->ext_len = 4 * (size_t)pl_rd16(buf + off + 2);
        off += 4;
        if (len - off < out->ext_len)
            return -5;
        out->ext = buf + off;
        off += out->ext_len;
    }
    out->header_len = off;

    size_t pad = 0;
    if (has_pad) {
        /* The last byte counts the padding, itself included, so it can't be 0. */
        if (len == off)
            return -6;
        pad = buf[len - 1];
        if (pad == 0 || pad > len - off)
            return -6;
    }
    out->padding_len = (uint8_t)pad;
    out->payload = buf + off;
    out->payload_len = len - off - pad;
    return 0;
}

bool pl_rtp_ext_next(const struct pl_rtp *r, size_t *pos, uint8_t *id, const uint8_t **val,
                     size_t *val_len)
{
    if (!r->ext)
        return false;
    const uint8_t *e = r->ext;
    size_t n = r->ext_len;

    if (r->ext_profile == 0xBEDE) {
        while (*pos < n) {
            uint8_t b = e[*pos];
            if (b == 0) { /* padding byte */
                (*pos)++;
                continue;
            }
            uint8_t eid = b >> 4;
            size_t l = (size_t)(b & 0x0f) + 1;
            /* id 15 is reserved: stop processing the whole block (RFC 8285 4.2). Id 0 with
             * a non-zero length nibble is not padding (padding bytes are 0): malformed. */
            if (eid == 15 || eid == 0 || l > n - *pos - 1) {
                *pos = n;
                return false;
            }
            *id = eid;
            *val = e + *pos + 1;
            *val_len = l;
            *pos += 1 + l;
            return true;
        }
        return false;
    }

    if ((r->ext_profile & 0xfff0) == 0x1000) {
        while (*pos < n) {
            uint8_t eid = e[*pos];
            if (eid == 0) { /* padding byte */
                (*pos)++;
                continue;
            }
            if (n - *pos < 2) {
                *pos = n;
                return false;
            }
            size_t l = e[*pos + 1];
            if (l > n - *pos - 2) {
                *pos = n;
                return false;
            }
            *id = eid;
            *val = e + *pos + 2;
            *val_len = l;
            *pos += 2 + l;
            return true;
        }
        return false;
    }
    return false; /* unknown extension profile */
}

bool pl_rtp_ext_find(const struct pl_rtp *r, uint8_t id, const uint8_t **val, size_t *val_len)
{
    if (id == 0)
        return false;
    size_t pos = 0;
    uint8_t eid;
    const uint8_t *v;
    size_t vl;
    while (pl_rtp_ext_next(r, &pos, &eid, &v, &vl)) {
        if (eid == id) {
            *val = v;
            *val_len = vl;
            return true;
        }
    }
    return false;
}

size_t pl_rtp_write_header(uint8_t *out, size_t cap, bool marker, uint8_t pt, uint16_t seq,
                           uint32_t ts, uint32_t ssrc)
{
    if (!out || cap < 12)
        return 0;
    out[0] = 0x80;
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    out[2] = (uint8_t)(seq >> 8);
    out[3] = (uint8_t)seq;
    out[4] = (uint8_t)(ts >> 24);
    out[5] = (uint8_t)(ts >> 16);
    out[6] = (uint8_t)(ts >> 8);
    out[7] = (uint8_t)ts;
    out[8] = (uint8_t)(ssrc >> 24);
    out[9] = (uint8_t)(ssrc >> 16);
    out[10] = (uint8_t)(ssrc >> 8);
    out[11] = (uint8_t)ssrc;
    return 12;
}
