/* One movie fragment: moof (mfhd, then per track traf: tfhd with default-base-is-moof, tfdt,
 * trun with data offset, duration, size and flags per sample, sbgp for Opus) + mdat. */
#include <stdlib.h>

#include "parley/bytes.h"
#include "parley/mp4.h"

#define TRUN_DATA_OFFSET 0x000001
#define TRUN_DURATION 0x000100
#define TRUN_SIZE 0x000200
#define TRUN_FLAGS 0x000400
#define TFHD_BASE_IS_MOOF 0x020000

/* sample_depends_on = 2 (independent) / 1 (depends) + sample_is_non_sync_sample */
#define FLAGS_SYNC 0x02000000u
#define FLAGS_DELTA 0x01010000u

int pl_mp4_write_fragment(struct pl_buf *b, uint32_t seq, const struct pl_mp4_frag_track *ft,
                          size_t n)
{
    size_t start = b->len;
    size_t *offset_at = calloc(n ? n : 1, sizeof(*offset_at));
    if (!offset_at)
        return -1;
    size_t moof = pl_box_open(b, "moof");
    size_t x = pl_fullbox_open(b, "mfhd", 0, 0);
    pl_buf_u32(b, seq);
    pl_box_close(b, x);
    for (size_t k = 0; k < n; k++) {
        const struct pl_mp4_frag_track *f = &ft[k];
        size_t traf = pl_box_open(b, "traf");
        x = pl_fullbox_open(b, "tfhd", 0, TFHD_BASE_IS_MOOF);
        pl_buf_u32(b, f->t->id);
        pl_box_close(b, x);
        x = pl_fullbox_open(b, "tfdt", 1, 0);
        pl_buf_u64(b, f->n ? f->s[0].dts : 0);
        pl_box_close(b, x);
        x = pl_fullbox_open(b, "trun", 0, TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS);
        pl_buf_u32(b, (uint32_t)f->n);
        offset_at[k] = b->len;
        pl_buf_u32(b, 0);
        for (size_t i = 0; i < f->n; i++) {
            pl_buf_u32(b, f->s[i].dur);
            pl_buf_u32(b, f->s[i].size);
            pl_buf_u32(b, f->s[i].sync ? FLAGS_SYNC : FLAGS_DELTA);
        }
        pl_box_close(b, x);
        if (f->t->roll) {
            x = pl_fullbox_open(b, "sbgp", 0, 0);
            pl_buf_put(b, "roll", 4);
            pl_buf_u32(b, 1);
            pl_buf_u32(b, (uint32_t)f->n);
            pl_buf_u32(b, 1);
            pl_box_close(b, x);
        }
        pl_box_close(b, traf);
    }
    pl_box_close(b, moof);
    size_t mdat = pl_box_open(b, "mdat");
    for (size_t k = 0; k < n; k++) {
        if (!b->err)
            pl_wr32(b->p + offset_at[k], (uint32_t)(b->len - start));
        for (size_t i = 0; i < ft[k].n; i++)
            pl_buf_put(b, ft[k].data + ft[k].s[i].off, ft[k].s[i].size);
    }
    pl_box_close(b, mdat);
    free(offset_at);
    return b->err ? -1 : 0;
}
