/* Reads the recorder's fragmented files back (recovery, finalisation). Disk input is not
 * trusted: every box size, count and sample range is checked against what contains it, and
 * the first bad or truncated box ends the file (a crash leaves at most one such tail). */
#include <stdlib.h>
#include <string.h>

#include "parley/bytes.h"
#include "parley/mp4.h"

#define HEAD_MAX (16u << 20) /* a moov or moof larger than this is not ours */

struct cur {
    const uint8_t *p;
    size_t len;
};

/* Next child box of c: type and body. false at the end or on a malformed header. */
static bool next_box(struct cur *c, uint32_t *type, struct cur *body)
{
    if (c->len < 8)
        return false;
    uint64_t size = pl_rd32(c->p);
    size_t hdr = 8;
    if (size == 1) {
        if (c->len < 16)
            return false;
        size = pl_rd64(c->p + 8);
        hdr = 16;
    } else if (size == 0) {
        size = c->len;
    }
    if (size < hdr || size > c->len)
        return false;
    *type = pl_rd32(c->p + 4);
    body->p = c->p + hdr;
    body->len = (size_t)size - hdr;
    c->p += size;
    c->len -= (size_t)size;
    return true;
}

static bool find_box(struct cur c, uint32_t type, struct cur *body)
{
    uint32_t t;
    while (next_box(&c, &t, body))
        if (t == type)
            return true;
    return false;
}

static struct pl_mp4_track *track_by_id(struct pl_mp4_in *in, uint32_t id)
{
    for (size_t i = 0; i < in->n; i++)
        if (in->t[i].id == id)
            return &in->t[i];
    return NULL;
}

static int parse_trak(struct pl_mp4_in *in, struct cur trak)
{
    struct cur tkhd, mdia, mdhd, hdlr, minf, stbl, stsd, b;
    if (!find_box(trak, PL_FOURCC('t', 'k', 'h', 'd'), &tkhd) || tkhd.len < 4)
        return -1;
    uint8_t v = tkhd.p[0];
    size_t id_at = v == 1 ? 20 : 12, wh_at = v == 1 ? 88 : 76;
    if (tkhd.len < wh_at + 8)
        return -1;
    uint32_t id = pl_rd32(tkhd.p + id_at);
    if (id == 0)
        return -1;
    if (!find_box(trak, PL_FOURCC('m', 'd', 'i', 'a'), &mdia) ||
        !find_box(mdia, PL_FOURCC('m', 'd', 'h', 'd'), &mdhd) ||
        !find_box(mdia, PL_FOURCC('h', 'd', 'l', 'r'), &hdlr) ||
        !find_box(mdia, PL_FOURCC('m', 'i', 'n', 'f'), &minf) ||
        !find_box(minf, PL_FOURCC('s', 't', 'b', 'l'), &stbl) ||
        !find_box(stbl, PL_FOURCC('s', 't', 's', 'd'), &stsd))
        return -1;
    if (mdhd.len < 4 || hdlr.len < 24 || stsd.len < 16)
        return -1;
    uint32_t ts = mdhd.p[0] == 1 ? (mdhd.len >= 24 ? pl_rd32(mdhd.p + 20) : 0)
                                 : (mdhd.len >= 16 ? pl_rd32(mdhd.p + 12) : 0);
    uint32_t handler = pl_rd32(hdlr.p + 8);
    if (ts == 0 || (handler != PL_FOURCC('v', 'i', 'd', 'e') && handler != PL_FOURCC('s', 'o', 'u', 'n')))
        return -1;
    /* stsd: full box header, entry_count, then the first entry. */
    struct cur entries = {stsd.p + 8, stsd.len - 8};
    struct cur entry_body;
    uint32_t fourcc;
    const uint8_t *entry_at = entries.p;
    if (pl_rd32(stsd.p + 4) < 1 || !next_box(&entries, &fourcc, &entry_body))
        return -1;
    size_t entry_len = (size_t)(entry_body.p + entry_body.len - entry_at);
    bool video = handler == PL_FOURCC('v', 'i', 'd', 'e');
    if (video && fourcc != PL_FOURCC('v', 'p', '0', '8') && fourcc != PL_FOURCC('v', 'p', '0', '9') &&
        fourcc != PL_FOURCC('a', 'v', 'c', '1'))
        return -1;
    if (!video && fourcc != PL_FOURCC('O', 'p', 'u', 's'))
        return -1;
    if (entry_len < 8 + (video ? 78u : 28u) || pl_rd32(entry_at) != entry_len)
        return -1;

    struct pl_mp4_track *t = track_by_id(in, id);
    if (t) { /* known from an earlier file: the first sample entry stays, sizes grow */
        if (t->video != video || t->timescale != ts || t->fourcc != fourcc)
            return -1;
        if (video) {
            uint16_t w = pl_rd16(entry_at + 32), h = pl_rd16(entry_at + 34);
            if (w > t->width)
                t->width = w;
            if (h > t->height)
                t->height = h;
        }
        return 0;
    }
    struct pl_mp4_track *nt = realloc(in->t, (in->n + 1) * sizeof(*nt));
    if (!nt)
        return -2;
    in->t = nt;
    t = &in->t[in->n];
    memset(t, 0, sizeof(*t));
    t->entry = malloc(entry_len);
    if (!t->entry)
        return -2;
    in->n++;
    memcpy(t->entry, entry_at, entry_len);
    t->entry_len = entry_len;
    t->id = id;
    t->video = video;
    t->timescale = ts;
    t->fourcc = fourcc;
    size_t nl = hdlr.len - 24;
    if (nl >= sizeof(t->name))
        nl = sizeof(t->name) - 1;
    memcpy(t->name, hdlr.p + 24, nl);
    t->name[nl] = 0;
    if (video) {
        t->width = pl_rd16(entry_at + 32);
        t->height = pl_rd16(entry_at + 34);
    } else {
        struct cur dops, rest = {entry_at + 36, entry_len - 36};
        if (find_box(rest, PL_FOURCC('d', 'O', 'p', 's'), &dops) && dops.len >= 4)
            t->pre_skip = pl_rd16(dops.p + 2);
        if (find_box(stbl, PL_FOURCC('s', 'g', 'p', 'd'), &b) && b.len >= 18 &&
            pl_rd32(b.p + 4) == PL_FOURCC('r', 'o', 'l', 'l') && b.p[0] == 1 &&
            pl_rd32(b.p + 8) == 2 && pl_rd32(b.p + 12) >= 1)
            t->roll = (int16_t)pl_rd16(b.p + 16);
    }
    return 0;
}

static int parse_moov(struct pl_mp4_in *in, struct cur moov)
{
    uint32_t type;
    struct cur body;
    int traks = 0;
    while (next_box(&moov, &type, &body)) {
        if (type != PL_FOURCC('t', 'r', 'a', 'k'))
            continue;
        int rc = parse_trak(in, body);
        if (rc == -2)
            return -1;
        if (rc == 0)
            traks++;
    }
    return traks > 0 ? 0 : -1;
}

struct pending {
    struct pl_mp4_track *t;
    struct pl_mp4_sample s;
};

/* Parses a moof whose bytes start at file offset moof_off; the samples must lie in
 * [data_lo, data_hi) (the following mdat's payload). Appends to *p. */
static int parse_moof(struct pl_mp4_in *in, struct cur moof, uint64_t moof_off, uint64_t data_lo,
                      uint64_t data_hi, uint16_t file, struct pending **p, size_t *np, size_t *cap)
{
    uint32_t type;
    struct cur traf;
    while (next_box(&moof, &type, &traf)) {
        if (type != PL_FOURCC('t', 'r', 'a', 'f'))
            continue;
        struct cur tfhd, tfdt, trun;
        if (!find_box(traf, PL_FOURCC('t', 'f', 'h', 'd'), &tfhd) || tfhd.len < 8)
            return -1;
        uint32_t tf = pl_rd32(tfhd.p) & 0xffffff;
        struct pl_mp4_track *t = track_by_id(in, pl_rd32(tfhd.p + 4));
        if (!t)
            return -1;
        size_t pos = 8;
        uint64_t base = moof_off;
        uint32_t def_dur = 0, def_size = 0, def_flags = 0;
        if (tf & 0x1) {
            if (tfhd.len < pos + 8)
                return -1;
            base = pl_rd64(tfhd.p + pos);
            pos += 8;
        }
        if (tf & 0x2)
            pos += 4;
        if (tf & 0x8) {
            if (tfhd.len < pos + 4)
                return -1;
            def_dur = pl_rd32(tfhd.p + pos);
            pos += 4;
        }
        if (tf & 0x10) {
            if (tfhd.len < pos + 4)
                return -1;
            def_size = pl_rd32(tfhd.p + pos);
            pos += 4;
        }
        if (tf & 0x20) {
            if (tfhd.len < pos + 4)
                return -1;
            def_flags = pl_rd32(tfhd.p + pos);
            pos += 4;
        }
        if (tfhd.len < pos)
            return -1;
        uint64_t dts;
        if (find_box(traf, PL_FOURCC('t', 'f', 'd', 't'), &tfdt) && tfdt.len >= 8) {
            if (tfdt.p[0] == 1) {
                if (tfdt.len < 12)
                    return -1;
                dts = pl_rd64(tfdt.p + 4);
            } else {
                dts = pl_rd32(tfdt.p + 4);
            }
        } else {
            dts = t->n ? t->s[t->n - 1].dts + t->s[t->n - 1].dur : 0;
        }
        if (dts > (1ull << 56))
            return -1;
        if (!find_box(traf, PL_FOURCC('t', 'r', 'u', 'n'), &trun) || trun.len < 8)
            return -1;
        uint32_t rf = pl_rd32(trun.p) & 0xffffff;
        uint32_t count = pl_rd32(trun.p + 4);
        pos = 8;
        int64_t data_off = 0;
        uint32_t first_flags = 0;
        bool has_first = false;
        if (rf & 0x1) {
            if (trun.len < pos + 4)
                return -1;
            data_off = (int32_t)pl_rd32(trun.p + pos);
            pos += 4;
        }
        if (rf & 0x4) {
            if (trun.len < pos + 4)
                return -1;
            first_flags = pl_rd32(trun.p + pos);
            has_first = true;
            pos += 4;
        }
        size_t per = 4u * (((rf >> 8) & 1) + ((rf >> 9) & 1) + ((rf >> 10) & 1) + ((rf >> 11) & 1));
        if (per ? count > (trun.len - pos) / per : count > 1000000)
            return -1;
        uint64_t off = base + (uint64_t)data_off;
        if (data_off < 0 && (uint64_t)-data_off > base)
            return -1;
        for (uint32_t i = 0; i < count; i++) {
            uint32_t dur = def_dur, size = def_size, flags = def_flags;
            if (rf & 0x100) {
                dur = pl_rd32(trun.p + pos);
                pos += 4;
            }
            if (rf & 0x200) {
                size = pl_rd32(trun.p + pos);
                pos += 4;
            }
            if (rf & 0x400) {
                flags = pl_rd32(trun.p + pos);
                pos += 4;
            }
            if (rf & 0x800)
                pos += 4;
            if (i == 0 && has_first)
                flags = first_flags;
            if (size == 0 || off < data_lo || off > data_hi || size > data_hi - off)
                return -1;
            if (*np == *cap) {
                size_t nc = *cap ? *cap * 2 : 256;
                struct pending *q = realloc(*p, nc * sizeof(*q));
                if (!q)
                    return -2;
                *p = q;
                *cap = nc;
            }
            (*p)[(*np)++] = (struct pending){t, {.dts = dts, .off = off, .size = size, .dur = dur,
                                                 .file = file, .sync = !(flags & 0x00010000)}};
            dts += dur;
            off += size;
        }
    }
    return 0;
}

/* Reads a box header at off: type, header length and total size. */
static int box_at(pl_mp4_read_fn rd, void *ctx, uint64_t off, uint64_t file_size, uint32_t *type,
                  uint64_t *hdr, uint64_t *size)
{
    uint8_t h[16];
    if (file_size - off < 8 || rd(ctx, off, h, 8) != 0)
        return -1;
    *type = pl_rd32(h + 4);
    *size = pl_rd32(h);
    *hdr = 8;
    if (*size == 1) {
        if (file_size - off < 16 || rd(ctx, off + 8, h + 8, 8) != 0)
            return -1;
        *size = pl_rd64(h + 8);
        *hdr = 16;
    } else if (*size == 0) {
        *size = file_size - off;
    }
    if (*size < *hdr || *size > file_size - off)
        return -1;
    return 0;
}

static uint8_t *read_body(pl_mp4_read_fn rd, void *ctx, uint64_t off, uint64_t len)
{
    if (len > HEAD_MAX)
        return NULL;
    uint8_t *b = malloc(len ? (size_t)len : 1);
    if (b && len && rd(ctx, off, b, (size_t)len) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

int pl_mp4_read_file(struct pl_mp4_in *in, uint16_t file, uint64_t size, pl_mp4_read_fn rd,
                     void *ctx)
{
    uint64_t off = 0, hdr, bs;
    uint32_t type;
    if (box_at(rd, ctx, 0, size, &type, &hdr, &bs) != 0 || type != PL_FOURCC('f', 't', 'y', 'p'))
        return -1;
    off = bs;
    if (box_at(rd, ctx, off, size, &type, &hdr, &bs) != 0 || type != PL_FOURCC('m', 'o', 'o', 'v'))
        return -1;
    uint8_t *moov = read_body(rd, ctx, off + hdr, bs - hdr);
    if (!moov)
        return -1;
    int rc = parse_moov(in, (struct cur){moov, (size_t)(bs - hdr)});
    free(moov);
    if (rc != 0)
        return -1;
    off += bs;

    struct pending *p = NULL;
    size_t np = 0, cap = 0;
    while (off < size) {
        if (box_at(rd, ctx, off, size, &type, &hdr, &bs) != 0) {
            in->truncated = true;
            break;
        }
        if (type != PL_FOURCC('m', 'o', 'o', 'f')) {
            off += bs;
            continue;
        }
        uint64_t moof_off = off, moof_hdr = hdr, moof_size = bs;
        uint64_t mhdr, msize;
        if (box_at(rd, ctx, off + moof_size, size, &type, &mhdr, &msize) != 0 ||
            type != PL_FOURCC('m', 'd', 'a', 't')) {
            in->truncated = true;
            break;
        }
        uint8_t *moof = read_body(rd, ctx, moof_off + moof_hdr, moof_size - moof_hdr);
        if (!moof) {
            in->truncated = true;
            break;
        }
        np = 0;
        uint64_t data_lo = moof_off + moof_size + mhdr, data_hi = moof_off + moof_size + msize;
        rc = parse_moof(in, (struct cur){moof, (size_t)(moof_size - moof_hdr)}, moof_off, data_lo,
                        data_hi, file, &p, &np, &cap);
        free(moof);
        if (rc == -2) {
            free(p);
            return -1;
        }
        if (rc != 0) {
            in->truncated = true;
            break;
        }
        for (size_t i = 0; i < np; i++) {
            if (pl_mp4_track_add_sample(p[i].t, &p[i].s) != 0) {
                free(p);
                return -1;
            }
        }
        in->fragments++;
        off = moof_off + moof_size + msize;
    }
    free(p);
    return 0;
}

void pl_mp4_in_free(struct pl_mp4_in *in)
{
    for (size_t i = 0; i < in->n; i++)
        pl_mp4_track_free(&in->t[i]);
    free(in->t);
    memset(in, 0, sizeof(*in));
}
