/* H.264 depacketizer (RFC 6184, packetization modes 0 and 1: single NAL unit, STAP-A,
 * FU-A). Output: the access unit as 4-byte length-prefixed NAL units (the avc1 sample
 * format), parameter sets kept in band too (they carry resolution changes), the last SPS and
 * PPS copied out for avcC. */
#include <string.h>

#include "depkt_int.h"
#include "parley/bytes.h"
#include "parley/h264.h"

bool depkt_h264_starts(const uint8_t *p, size_t len, bool key)
{
    if (key)
        return pl_h264_is_keyframe(p, len);
    if (!p || len < 2)
        return false;
    uint8_t t = p[0] & 0x1f;
    if (t >= 1 && t <= 23)
        return true;
    if (t == PL_H264_STAP_A)
        return true;
    if (t == PL_H264_FU_A)
        return (p[1] & 0x80) != 0;
    return false;
}

static int add_nal(struct pl_depkt_frame *f, const uint8_t *nal, size_t len)
{
    if (len < 1 || (nal[0] & 0x80)) /* forbidden_zero_bit */
        return -1;
    uint8_t t = nal[0] & 0x1f;
    if (t == 0 || t >= 24)
        return -1;
    if (t == PL_H264_NAL_IDR)
        f->keyframe = true;
    if (t == PL_H264_NAL_SPS && len <= sizeof(f->sps)) {
        memcpy(f->sps, nal, len);
        f->sps_len = len;
    }
    if (t == PL_H264_NAL_PPS && len <= sizeof(f->pps)) {
        memcpy(f->pps, nal, len);
        f->pps_len = len;
    }
    uint8_t pre[4];
    pl_wr32(pre, (uint32_t)len);
    if (depkt_append(f, pre, 4) != 0 || depkt_append(f, nal, len) != 0)
        return -1;
    return 0;
}

int pl_depkt_h264(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f)
{
    depkt_frame_reset(f);
    if (n == 0)
        return -1;
    size_t fu_start = 0; /* where the open FU-A's length prefix is */
    bool fu_open = false;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d = p[i].payload;
        size_t len = p[i].len;
        if (!d || len < 1 || (d[0] & 0x80))
            return -1;
        uint8_t t = d[0] & 0x1f;
        if (t == PL_H264_FU_A) {
            if (len < 3)
                return -1;
            bool s = d[1] & 0x80, e = d[1] & 0x40;
            uint8_t nt = d[1] & 0x1f;
            if (s == fu_open || (s && e) || nt == 0 || nt >= 24)
                return -1;
            if (s) {
                uint8_t hdr = (uint8_t)((d[0] & 0xe0) | nt);
                uint8_t pre[4] = {0};
                fu_start = f->len;
                if (depkt_append(f, pre, 4) != 0 || depkt_append(f, &hdr, 1) != 0)
                    return -1;
                fu_open = true;
            }
            if (depkt_append(f, d + 2, len - 2) != 0)
                return -1;
            if (e) {
                /* The reassembled unit goes through the same checks as a whole one. */
                size_t nal_len = f->len - fu_start - 4;
                uint8_t *nal = f->data + fu_start + 4;
                pl_wr32(f->data + fu_start, (uint32_t)nal_len);
                if (nt == PL_H264_NAL_IDR)
                    f->keyframe = true;
                if (nt == PL_H264_NAL_SPS && nal_len <= sizeof(f->sps)) {
                    memcpy(f->sps, nal, nal_len);
                    f->sps_len = nal_len;
                }
                if (nt == PL_H264_NAL_PPS && nal_len <= sizeof(f->pps)) {
                    memcpy(f->pps, nal, nal_len);
                    f->pps_len = nal_len;
                }
                fu_open = false;
            }
            continue;
        }
        if (fu_open)
            return -1;
        if (t == PL_H264_STAP_A) {
            size_t pos = 1;
            if (pos >= len)
                return -1;
            while (pos < len) {
                if (pos + 2 > len)
                    return -1;
                size_t nl = pl_rd16(d + pos);
                pos += 2;
                if (nl == 0 || nl > len - pos)
                    return -1;
                if (add_nal(f, d + pos, nl) != 0)
                    return -1;
                pos += nl;
            }
            continue;
        }
        if (t >= 1 && t <= 23) {
            if (add_nal(f, d, len) != 0)
                return -1;
            continue;
        }
        return -1; /* STAP-B, MTAP, FU-B: interleaved mode, not negotiated */
    }
    if (fu_open || f->len == 0)
        return -1;
    if (f->keyframe) {
        /* A key frame must bring its parameter sets (WebRTC senders put them before every
         * IDR), else the sample entry could not be written. */
        if (!f->sps_len || !f->pps_len)
            return -1;
        if (pl_h264_sps_size(f->sps, f->sps_len, &f->width, &f->height) != 0)
            return -1;
    }
    return 0;
}

/* Exp-Golomb reader over an RBSP (emulation prevention bytes removed). */
struct rbsp {
    uint8_t b[256];
    size_t len, pos;
    bool over;
};

static unsigned u1(struct rbsp *r)
{
    if (r->pos >= r->len * 8) {
        r->over = true;
        return 0;
    }
    unsigned v = (r->b[r->pos / 8] >> (7 - r->pos % 8)) & 1;
    r->pos++;
    return v;
}

static uint32_t un(struct rbsp *r, int n)
{
    uint32_t v = 0;
    while (n--)
        v = v << 1 | u1(r);
    return v;
}

static uint32_t ue(struct rbsp *r)
{
    int lz = 0;
    while (!u1(r)) {
        if (r->over || ++lz > 31) {
            r->over = true;
            return 0;
        }
    }
    return (uint32_t)((1ull << lz) - 1 + un(r, lz));
}

static int32_t se(struct rbsp *r)
{
    uint32_t v = ue(r);
    return (v & 1) ? (int32_t)((v + 1) / 2) : -(int32_t)(v / 2);
}

int pl_h264_sps_size(const uint8_t *sps, size_t len, uint16_t *width, uint16_t *height)
{
    struct pl_h264_sps info;
    if (pl_h264_sps_parse(sps, len, &info) != 0)
        return -1;
    *width = info.width;
    *height = info.height;
    return 0;
}

int pl_h264_sps_parse(const uint8_t *sps, size_t len, struct pl_h264_sps *out)
{
    struct rbsp r = {.len = 0};
    if (!sps || len < 4 || (sps[0] & 0x1f) != PL_H264_NAL_SPS)
        return -1;
    int zeros = 0;
    for (size_t i = 1; i < len && r.len < sizeof(r.b); i++) {
        if (zeros >= 2 && sps[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = sps[i] == 0 ? zeros + 1 : 0;
        r.b[r.len++] = sps[i];
    }
    unsigned profile = un(&r, 8);
    un(&r, 16); /* constraint flags, level */
    ue(&r);     /* seq_parameter_set_id */
    unsigned chroma = 1, depth_l = 8, depth_c = 8;
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
        profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
        profile == 139 || profile == 134 || profile == 135) {
        chroma = ue(&r);
        if (chroma > 3)
            return -1;
        if (chroma == 3)
            u1(&r);
        uint32_t dl = ue(&r), dc = ue(&r);
        if (dl > 6 || dc > 6)
            return -1;
        depth_l = 8 + dl;
        depth_c = 8 + dc;
        u1(&r);
        if (u1(&r)) {
            for (int i = 0; i < (chroma != 3 ? 8 : 12) && !r.over; i++) {
                if (!u1(&r))
                    continue;
                int size = i < 6 ? 16 : 64, last = 8, next = 8;
                for (int j = 0; j < size && !r.over; j++) {
                    if (next != 0)
                        next = (last + se(&r) + 256) % 256;
                    last = next == 0 ? last : next;
                }
            }
        }
    }
    ue(&r); /* log2_max_frame_num_minus4 */
    uint32_t poc = ue(&r);
    if (poc == 0) {
        ue(&r);
    } else if (poc == 1) {
        u1(&r);
        se(&r);
        se(&r);
        uint32_t cycle = ue(&r);
        if (cycle > 255)
            return -1;
        for (uint32_t i = 0; i < cycle; i++)
            se(&r);
    } else if (poc != 2) {
        return -1;
    }
    ue(&r); /* max_num_ref_frames */
    u1(&r);
    uint32_t wmbs = ue(&r) + 1, hmaps = ue(&r) + 1;
    unsigned frame_mbs_only = u1(&r);
    if (!frame_mbs_only)
        u1(&r);
    u1(&r);
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (u1(&r)) {
        cl = ue(&r);
        cr = ue(&r);
        ct = ue(&r);
        cb = ue(&r);
    }
    if (r.over || wmbs > 1024 || hmaps > 1024)
        return -1;
    unsigned cx = (chroma == 1 || chroma == 2) ? 2 : 1;
    unsigned cy = (chroma == 1 ? 2 : 1) * (2 - frame_mbs_only);
    uint64_t w = (uint64_t)wmbs * 16, h = (uint64_t)hmaps * 16 * (2 - frame_mbs_only);
    uint64_t dx = (uint64_t)cx * (cl + cr), dy = (uint64_t)cy * (ct + cb);
    if (dx >= w || dy >= h)
        return -1;
    out->profile = (uint8_t)profile;
    out->chroma_format = (uint8_t)chroma;
    out->bit_depth_luma = (uint8_t)depth_l;
    out->bit_depth_chroma = (uint8_t)depth_c;
    out->width = (uint16_t)(w - dx);
    out->height = (uint16_t)(h - dy);
    return 0;
}
