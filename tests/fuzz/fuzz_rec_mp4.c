/* libFuzzer target: the recorder's reader of its fragmented files (what crash recovery parses
 * from disk). Aborts when a sample it accepts lies outside the file, or a track has no
 * sample entry or timescale. */
#include <stdlib.h>
#include <string.h>

#include "parley/mp4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
    const uint8_t *p;
    size_t len;
};

static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    const struct mem *m = ctx;
    if (off > m->len || len > m->len - off)
        return -1;
    memcpy(buf, m->p + off, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    struct mem m = {p, size};
    struct pl_mp4_in in = {0};
    /* Twice, as two segment files of one recording: tracks merge by id. */
    for (uint16_t file = 0; file < 2; file++) {
        if (pl_mp4_read_file(&in, file, size, mem_read, &m) != 0)
            break;
    }
    for (size_t i = 0; i < in.n; i++) {
        const struct pl_mp4_track *t = &in.t[i];
        if (!t->entry || t->entry_len < 8 || !t->timescale)
            abort();
        for (size_t k = 0; k < t->n; k++)
            if (t->s[k].off > size || t->s[k].size > size - t->s[k].off || t->s[k].file > 1)
                abort();
    }
    pl_mp4_in_free(&in);
    free(p);
    return 0;
}
