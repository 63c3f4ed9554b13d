/* Recorder internals, part 2: ISO BMFF (MP4) writing and reading.
 *  - a growable byte buffer with box nesting;
 *  - sample entries: vp08/vp09 + vpcC (VP Codec ISO Media File Format Binding), avc1 + avcC
 *    (ISO/IEC 14496-15), Opus + dOps (Encapsulation of Opus in ISOBMFF: big-endian fields, the
 *    'roll' sample group with a negative roll distance, pre-skip in the edit list);
 *  - the fragmented form written while recording (init moov with mvex, then moof+mdat);
 *  - the final moov-first form (full sample tables, co64 offsets, edit lists);
 *  - a reader of the fragmented form (what recovery and finalisation parse back from disk:
 *    it checks every size and offset and stops at a truncated tail). */
#ifndef PARLEY_MP4_H
#define PARLEY_MP4_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/recorder.h"

struct pl_buf {
    uint8_t *p;
    size_t len, cap;
    bool err; /* an allocation failed: the content is incomplete */
};

void pl_buf_free(struct pl_buf *b);
void pl_buf_put(struct pl_buf *b, const void *d, size_t n);
void pl_buf_zero(struct pl_buf *b, size_t n);
void pl_buf_u8(struct pl_buf *b, uint8_t v);
void pl_buf_u16(struct pl_buf *b, uint16_t v);
void pl_buf_u32(struct pl_buf *b, uint32_t v);
void pl_buf_u64(struct pl_buf *b, uint64_t v);
/* Opens a box (size patched by pl_box_close); returns where it starts. */
size_t pl_box_open(struct pl_buf *b, const char *type);
size_t pl_fullbox_open(struct pl_buf *b, const char *type, uint8_t version, uint32_t flags);
void pl_box_close(struct pl_buf *b, size_t at);

#define PL_FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

struct pl_mp4_entry_desc {
    enum pl_rec_codec codec;
    uint16_t width, height;
    uint8_t profile, bit_depth, chroma; /* vpcC */
    const uint8_t *sps, *pps;           /* avcC (NAL units with their header byte) */
    size_t sps_len, pps_len;
    uint8_t channels;                   /* dOps */
    uint16_t pre_skip;
};
/* Appends the sample entry box (vp08, vp09, avc1 or Opus with its configuration box). */
int pl_mp4_sample_entry(struct pl_buf *b, const struct pl_mp4_entry_desc *d);

struct pl_mp4_sample {
    uint64_t dts;  /* on the track's timescale, recording timeline */
    uint64_t off;  /* where its bytes are (in a file, or in a buffer) */
    uint32_t size;
    uint32_t dur;
    uint16_t file;
    bool sync;
};

struct pl_mp4_chunk {
    uint32_t first, count; /* samples */
    uint64_t off;          /* file offset in the final file */
};

struct pl_mp4_track {
    uint32_t id;
    bool video;
    uint32_t timescale;
    uint32_t fourcc;        /* of the sample entry */
    char name[128];         /* hdlr name */
    uint8_t *entry;         /* the sample entry box, owned */
    size_t entry_len;
    uint16_t width, height;
    uint16_t pre_skip;      /* Opus */
    int16_t roll;           /* Opus roll distance (< 0), 0 for none */
    bool disabled;          /* final file: tkhd without track_enabled */
    struct pl_mp4_sample *s;
    size_t n, cap;
    struct pl_mp4_chunk *c; /* final file only */
    size_t nc;
};

void pl_mp4_track_free(struct pl_mp4_track *t);
int pl_mp4_track_add_sample(struct pl_mp4_track *t, const struct pl_mp4_sample *s);

/* ftyp + moov with empty sample tables and mvex/trex: the head of a fragmented file. */
int pl_mp4_write_init(struct pl_buf *b, const struct pl_mp4_track *t, size_t n);

/* One fragment: moof (one traf per track with samples; tfdt = first sample's dts, trun with
 * size, duration, flags; sbgp roll for Opus) + mdat. Sample i of ft[k] has its bytes at
 * ft[k].data + ft[k].s[i].off. */
struct pl_mp4_frag_track {
    const struct pl_mp4_track *t;
    const struct pl_mp4_sample *s;
    size_t n;
    const uint8_t *data;
};
int pl_mp4_write_fragment(struct pl_buf *b, uint32_t seq, const struct pl_mp4_frag_track *ft,
                          size_t n);

/* ftyp + moov of the final file: full tables, chunk offsets from t[i].c (co64), edit lists
 * (empty edit for a late start, media edit starting at pre_skip). */
int pl_mp4_write_final_head(struct pl_buf *b, const struct pl_mp4_track *t, size_t n);

/* Reading fragmented files back. read(ctx, off, buf, len) returns 0 when it read all of it. */
typedef int (*pl_mp4_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

struct pl_mp4_in {
    struct pl_mp4_track *t;
    size_t n;
    uint32_t fragments;   /* whole fragments read */
    bool truncated;       /* a file ended inside a box (crash tail), the rest was ignored */
};

/* Parses one fragmented file (number `file` of a recording, `size` bytes): tracks of its moov
 * are merged into `in` by track id (the first sample entry stays), samples of its fragments
 * are appended with file offsets. Returns 0, or -1 when the file does not start with a valid
 * ftyp + moov (nothing added) or memory ran out. A bad or truncated fragment ends the file. */
int pl_mp4_read_file(struct pl_mp4_in *in, uint16_t file, uint64_t size, pl_mp4_read_fn rd,
                     void *ctx);
void pl_mp4_in_free(struct pl_mp4_in *in);

#endif
