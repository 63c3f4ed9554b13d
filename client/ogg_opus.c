/* Ogg Opus (RFC 7845) writer: an OpusHead page, an OpusTags page, then one page per Opus
 * packet. The last packet is held back so that its page carries the end-of-stream flag. */
#include "parley/client_media.h"

#include <stdlib.h>
#include <string.h>

#define PENDING_MAX 4096 /* an Opus packet is at most 1275 bytes per frame, 3 frames */

struct pending_pkt {
    uint8_t data[PENDING_MAX];
    size_t len;
    uint32_t samples;
};

static uint32_t crc_table[256];

static void crc_init(void)
{
    if (crc_table[1])
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i << 24;
        for (int k = 0; k < 8; k++)
            r = r & 0x80000000u ? r << 1 ^ 0x04C11DB7u : r << 1;
        crc_table[i] = r;
    }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        crc = crc << 8 ^ crc_table[(crc >> 24 ^ p[i]) & 0xFF];
    return crc;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int write_page(struct pl_ogg_opus *w, const uint8_t *data, size_t len, uint8_t flags)
{
    uint8_t h[27 + 255];
    size_t segs = len / 255 + 1; /* a final lacing value < 255 ends the packet */
    if (segs > 255)
        return -1;
    memcpy(h, "OggS", 4);
    h[4] = 0;
    h[5] = flags;
    le32(h + 6, (uint32_t)w->granule);
    le32(h + 10, (uint32_t)(w->granule >> 32));
    le32(h + 14, w->serial);
    le32(h + 18, w->page_seq++);
    le32(h + 22, 0);
    h[26] = (uint8_t)segs;
    for (size_t i = 0; i < segs; i++)
        h[27 + i] = (uint8_t)(i + 1 < segs ? 255 : len % 255);
    size_t hlen = 27 + segs;
    uint32_t crc = crc_update(crc_update(0, h, hlen), data, len);
    le32(h + 22, crc);
    if (fwrite(h, 1, hlen, w->f) != hlen || fwrite(data, 1, len, w->f) != len)
        return -1;
    return 0;
}

int pl_ogg_opus_open(struct pl_ogg_opus *w, const char *path, int channels, uint32_t serial)
{
    crc_init();
    memset(w, 0, sizeof *w);
    w->serial = serial;
    w->pending = calloc(1, sizeof(struct pending_pkt));
    if (!w->pending)
        return -1;
    w->f = fopen(path, "wb");
    if (!w->f) {
        free(w->pending);
        w->pending = NULL;
        return -1;
    }
    uint8_t head[19] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, (uint8_t)channels,
                        0x38, 0x01 /* pre-skip 312 */, 0x80, 0xBB, 0, 0 /* 48000 Hz */,
                        0, 0 /* gain */, 0 /* mapping family */};
    static const char vendor[] = "parley-client";
    uint8_t tags[8 + 4 + sizeof vendor - 1 + 4];
    memcpy(tags, "OpusTags", 8);
    le32(tags + 8, sizeof vendor - 1);
    memcpy(tags + 12, vendor, sizeof vendor - 1);
    le32(tags + 12 + sizeof vendor - 1, 0);
    if (write_page(w, head, sizeof head, 0x02) != 0 || write_page(w, tags, sizeof tags, 0) != 0) {
        pl_ogg_opus_close(w);
        return -1;
    }
    return 0;
}

static int flush_pending(struct pl_ogg_opus *w, bool eos)
{
    struct pending_pkt *p = w->pending;
    if (!p->len)
        return 0;
    w->granule += p->samples;
    int rc = write_page(w, p->data, p->len, eos ? 0x04 : 0);
    p->len = 0;
    if (rc == 0)
        w->packets++;
    return rc;
}

int pl_ogg_opus_write(struct pl_ogg_opus *w, const uint8_t *pkt, size_t len, uint32_t samples)
{
    if (!w->f || len == 0 || len > PENDING_MAX)
        return -1;
    if (flush_pending(w, false) != 0)
        return -1;
    struct pending_pkt *p = w->pending;
    memcpy(p->data, pkt, len);
    p->len = len;
    p->samples = samples;
    return 0;
}

int pl_ogg_opus_close(struct pl_ogg_opus *w)
{
    int rc = 0;
    if (w->f) {
        if (w->pending && flush_pending(w, true) != 0)
            rc = -1;
        if (fclose(w->f) != 0)
            rc = -1;
        w->f = NULL;
    }
    free(w->pending);
    w->pending = NULL;
    return rc;
}
