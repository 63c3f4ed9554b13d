/* moov: the init segment of the fragmented files (empty tables, mvex) and the head of the
 * final moov-first file (full tables, co64, edit lists). One trak writer for both. */
#include <string.h>

#include "parley/mp4.h"

#define MOVIE_TIMESCALE 1000u

static const uint32_t matrix[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

static void ftyp(struct pl_buf *b)
{
    size_t f = pl_box_open(b, "ftyp");
    pl_buf_put(b, "isom", 4);
    pl_buf_u32(b, 0x200);
    pl_buf_put(b, "isomiso2iso6mp41", 16);
    pl_box_close(b, f);
}

static uint64_t to_movie(uint64_t v, uint32_t timescale)
{
    return timescale ? (v * MOVIE_TIMESCALE + timescale / 2) / timescale : 0;
}

static uint64_t media_duration(const struct pl_mp4_track *t)
{
    if (t->n == 0)
        return 0;
    return t->s[t->n - 1].dts + t->s[t->n - 1].dur - t->s[0].dts;
}

/* Presentation length on the movie timeline: late start + media after pre-skip. */
static uint64_t track_movie_duration(const struct pl_mp4_track *t)
{
    if (t->n == 0)
        return 0;
    uint64_t md = media_duration(t);
    uint64_t shown = md > t->pre_skip ? md - t->pre_skip : 0;
    return to_movie(t->s[0].dts, t->timescale) + to_movie(shown, t->timescale);
}

static void mvhd(struct pl_buf *b, uint64_t duration, uint32_t next_id)
{
    size_t m = pl_fullbox_open(b, "mvhd", 1, 0);
    pl_buf_u64(b, 0);
    pl_buf_u64(b, 0);
    pl_buf_u32(b, MOVIE_TIMESCALE);
    pl_buf_u64(b, duration);
    pl_buf_u32(b, 0x00010000); /* rate */
    pl_buf_u16(b, 0x0100);     /* volume */
    pl_buf_zero(b, 10);
    for (int i = 0; i < 9; i++)
        pl_buf_u32(b, matrix[i]);
    pl_buf_zero(b, 24);
    pl_buf_u32(b, next_id);
    pl_box_close(b, m);
}

static void stbl_final(struct pl_buf *b, const struct pl_mp4_track *t)
{
    size_t x;
    /* stts: runs of equal durations */
    x = pl_fullbox_open(b, "stts", 0, 0);
    size_t cnt_at = b->len;
    pl_buf_u32(b, 0);
    uint32_t runs = 0;
    for (size_t i = 0; i < t->n;) {
        size_t j = i;
        while (j < t->n && t->s[j].dur == t->s[i].dur)
            j++;
        pl_buf_u32(b, (uint32_t)(j - i));
        pl_buf_u32(b, t->s[i].dur);
        runs++;
        i = j;
    }
    if (!b->err) {
        uint8_t *p = b->p + cnt_at;
        p[0] = (uint8_t)(runs >> 24), p[1] = (uint8_t)(runs >> 16), p[2] = (uint8_t)(runs >> 8),
        p[3] = (uint8_t)runs;
    }
    pl_box_close(b, x);
    /* stss: only when some sample is not a sync sample */
    size_t nsync = 0;
    for (size_t i = 0; i < t->n; i++)
        nsync += t->s[i].sync;
    if (nsync != t->n) {
        x = pl_fullbox_open(b, "stss", 0, 0);
        pl_buf_u32(b, (uint32_t)nsync);
        for (size_t i = 0; i < t->n; i++)
            if (t->s[i].sync)
                pl_buf_u32(b, (uint32_t)(i + 1));
        pl_box_close(b, x);
    }
    x = pl_fullbox_open(b, "stsz", 0, 0);
    pl_buf_u32(b, 0);
    pl_buf_u32(b, (uint32_t)t->n);
    for (size_t i = 0; i < t->n; i++)
        pl_buf_u32(b, t->s[i].size);
    pl_box_close(b, x);
    /* stsc: one entry per run of chunks with the same sample count */
    x = pl_fullbox_open(b, "stsc", 0, 0);
    cnt_at = b->len;
    pl_buf_u32(b, 0);
    runs = 0;
    for (size_t i = 0; i < t->nc; i++) {
        if (i > 0 && t->c[i].count == t->c[i - 1].count)
            continue;
        pl_buf_u32(b, (uint32_t)(i + 1));
        pl_buf_u32(b, t->c[i].count);
        pl_buf_u32(b, 1);
        runs++;
    }
    if (!b->err) {
        uint8_t *p = b->p + cnt_at;
        p[0] = (uint8_t)(runs >> 24), p[1] = (uint8_t)(runs >> 16), p[2] = (uint8_t)(runs >> 8),
        p[3] = (uint8_t)runs;
    }
    pl_box_close(b, x);
    x = pl_fullbox_open(b, "co64", 0, 0);
    pl_buf_u32(b, (uint32_t)t->nc);
    for (size_t i = 0; i < t->nc; i++)
        pl_buf_u64(b, t->c[i].off);
    pl_box_close(b, x);
}

static void stbl_empty(struct pl_buf *b)
{
    static const char *const boxes[] = {"stts", "stsc", "stco"};
    for (int i = 0; i < 3; i++) {
        size_t x = pl_fullbox_open(b, boxes[i], 0, 0);
        pl_buf_u32(b, 0);
        pl_box_close(b, x);
    }
    size_t x = pl_fullbox_open(b, "stsz", 0, 0);
    pl_buf_u32(b, 0);
    pl_buf_u32(b, 0);
    pl_box_close(b, x);
}

/* Opus roll recovery group (Opus in ISOBMFF 4.3.2): every sample needs roll samples of
 * pre-roll; the description lives in stbl, fragments map their samples to it with sbgp. */
static void sgpd_roll(struct pl_buf *b, int16_t roll)
{
    size_t x = pl_fullbox_open(b, "sgpd", 1, 0);
    pl_buf_put(b, "roll", 4);
    pl_buf_u32(b, 2); /* default_length */
    pl_buf_u32(b, 1);
    pl_buf_u16(b, (uint16_t)roll);
    pl_box_close(b, x);
}

static void sbgp_roll(struct pl_buf *b, uint32_t count)
{
    size_t x = pl_fullbox_open(b, "sbgp", 0, 0);
    pl_buf_put(b, "roll", 4);
    pl_buf_u32(b, 1);
    pl_buf_u32(b, count);
    pl_buf_u32(b, 1); /* the first entry of the stbl's sgpd */
    pl_box_close(b, x);
}

static void elst(struct pl_buf *b, const struct pl_mp4_track *t)
{
    uint64_t start = to_movie(t->s[0].dts, t->timescale);
    uint64_t md = media_duration(t);
    uint64_t shown = md > t->pre_skip ? md - t->pre_skip : 0;
    size_t e = pl_box_open(b, "edts");
    size_t x = pl_fullbox_open(b, "elst", 1, 0);
    pl_buf_u32(b, start ? 2 : 1);
    if (start) { /* empty edit: the track starts late */
        pl_buf_u64(b, start);
        pl_buf_u64(b, UINT64_MAX); /* media_time -1 */
        pl_buf_u32(b, 0x00010000);
    }
    pl_buf_u64(b, to_movie(shown, t->timescale));
    pl_buf_u64(b, t->pre_skip);
    pl_buf_u32(b, 0x00010000);
    pl_box_close(b, x);
    pl_box_close(b, e);
}

static void trak(struct pl_buf *b, const struct pl_mp4_track *t, bool final)
{
    size_t tr = pl_box_open(b, "trak");
    size_t x = pl_fullbox_open(b, "tkhd", 1, t->disabled ? 2 : 3);
    pl_buf_u64(b, 0);
    pl_buf_u64(b, 0);
    pl_buf_u32(b, t->id);
    pl_buf_u32(b, 0);
    pl_buf_u64(b, final ? track_movie_duration(t) : 0);
    pl_buf_zero(b, 8);
    pl_buf_u16(b, 0);                   /* layer */
    pl_buf_u16(b, t->video ? 0 : 1);    /* audio tracks are alternatives: one plays (the mix) */
    pl_buf_u16(b, t->video ? 0 : 0x0100);
    pl_buf_u16(b, 0);
    for (int i = 0; i < 9; i++)
        pl_buf_u32(b, matrix[i]);
    pl_buf_u32(b, (uint32_t)t->width << 16);
    pl_buf_u32(b, (uint32_t)t->height << 16);
    pl_box_close(b, x);
    if (final && t->n)
        elst(b, t);

    size_t md = pl_box_open(b, "mdia");
    x = pl_fullbox_open(b, "mdhd", 1, 0);
    pl_buf_u64(b, 0);
    pl_buf_u64(b, 0);
    pl_buf_u32(b, t->timescale);
    pl_buf_u64(b, final ? media_duration(t) : 0);
    pl_buf_u16(b, 0x55c4); /* "und" */
    pl_buf_u16(b, 0);
    pl_box_close(b, x);
    x = pl_fullbox_open(b, "hdlr", 0, 0);
    pl_buf_u32(b, 0);
    pl_buf_put(b, t->video ? "vide" : "soun", 4);
    pl_buf_zero(b, 12);
    pl_buf_put(b, t->name, strnlen(t->name, sizeof(t->name) - 1));
    pl_buf_u8(b, 0);
    pl_box_close(b, x);

    size_t mi = pl_box_open(b, "minf");
    if (t->video) {
        x = pl_fullbox_open(b, "vmhd", 0, 1);
        pl_buf_zero(b, 8);
    } else {
        x = pl_fullbox_open(b, "smhd", 0, 0);
        pl_buf_zero(b, 4);
    }
    pl_box_close(b, x);
    size_t di = pl_box_open(b, "dinf");
    size_t dr = pl_fullbox_open(b, "dref", 0, 0);
    pl_buf_u32(b, 1);
    x = pl_fullbox_open(b, "url ", 0, 1); /* media in this file */
    pl_box_close(b, x);
    pl_box_close(b, dr);
    pl_box_close(b, di);

    size_t st = pl_box_open(b, "stbl");
    x = pl_fullbox_open(b, "stsd", 0, 0);
    pl_buf_u32(b, 1);
    pl_buf_put(b, t->entry, t->entry_len);
    pl_box_close(b, x);
    if (final)
        stbl_final(b, t);
    else
        stbl_empty(b);
    if (t->roll) {
        sgpd_roll(b, t->roll);
        if (final)
            sbgp_roll(b, (uint32_t)t->n);
    }
    pl_box_close(b, st);
    pl_box_close(b, mi);
    pl_box_close(b, md);
    pl_box_close(b, tr);
}

static uint32_t next_id(const struct pl_mp4_track *t, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].id > m)
            m = t[i].id;
    return m + 1;
}

int pl_mp4_write_init(struct pl_buf *b, const struct pl_mp4_track *t, size_t n)
{
    ftyp(b);
    size_t mv = pl_box_open(b, "moov");
    mvhd(b, 0, next_id(t, n));
    for (size_t i = 0; i < n; i++)
        trak(b, &t[i], false);
    size_t mx = pl_box_open(b, "mvex");
    for (size_t i = 0; i < n; i++) {
        size_t x = pl_fullbox_open(b, "trex", 0, 0);
        pl_buf_u32(b, t[i].id);
        pl_buf_u32(b, 1);
        pl_buf_zero(b, 12);
        pl_box_close(b, x);
    }
    pl_box_close(b, mx);
    pl_box_close(b, mv);
    return b->err ? -1 : 0;
}

int pl_mp4_write_final_head(struct pl_buf *b, const struct pl_mp4_track *t, size_t n)
{
    ftyp(b);
    size_t mv = pl_box_open(b, "moov");
    uint64_t dur = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = track_movie_duration(&t[i]);
        if (d > dur)
            dur = d;
    }
    mvhd(b, dur, next_id(t, n));
    for (size_t i = 0; i < n; i++)
        trak(b, &t[i], true);
    pl_box_close(b, mv);
    return b->err ? -1 : 0;
}
