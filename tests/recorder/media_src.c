/* Readers of ffmpeg's outputs: IVF (VP8/VP9), H.264 Annex B (access units split at AUDs,
 * x264 -x264-params aud=1), Ogg Opus (RFC 7845 pages and lacing). Test code: input is ours. */
#include <opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && n > 0 && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)(n > 0 ? n : 0);
    return b;
}

static int add(struct media *m, const uint8_t *d, size_t len, uint64_t pts, bool key)
{
    struct media_frame *f = realloc(m->f, (m->n + 1) * sizeof(*f));
    if (!f)
        return -1;
    m->f = f;
    f = &m->f[m->n++];
    memset(f, 0, sizeof(*f));
    f->data = malloc(len ? len : 1);
    memcpy(f->data, d, len);
    f->len = len;
    f->pts_us = pts;
    f->key = key;
    return 0;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int media_read_ivf(const char *path, struct media *m)
{
    memset(m, 0, sizeof(*m));
    size_t len;
    uint8_t *b = slurp(path, &len);
    if (!b || len < 32 || memcmp(b, "DKIF", 4) != 0) {
        free(b);
        return -1;
    }
    bool vp9 = memcmp(b + 8, "VP90", 4) == 0;
    uint32_t rate = le32(b + 16), scale = le32(b + 20);
    size_t pos = le16(b + 6);
    while (pos + 12 <= len) {
        uint32_t fl = le32(b + pos);
        uint64_t pts = (uint64_t)le32(b + pos + 4) | (uint64_t)le32(b + pos + 8) << 32;
        pos += 12;
        if (fl > len - pos)
            break;
        const uint8_t *d = b + pos;
        bool key = fl > 0 && !(d[0] & 1); /* VP8: P bit */
        if (vp9 && fl > 0) {
            /* marker (2 bits), profile low/high, a reserved bit for profile 3, then
             * show_existing_frame and frame_type (0 = key). */
            unsigned profile = ((d[0] >> 5) & 1) | ((d[0] >> 4) & 1) << 1;
            int at = profile == 3 ? 2 : 3;
            bool show_existing = (d[0] >> at) & 1;
            key = !show_existing && !((d[0] >> (at - 1)) & 1);
        }
        add(m, d, fl, pts * 1000000ull * scale / rate, key);
        pos += fl;
    }
    free(b);
    return m->n ? 0 : -1;
}

int media_read_annexb(const char *path, unsigned fps, struct media *m)
{
    memset(m, 0, sizeof(*m));
    size_t len;
    uint8_t *b = slurp(path, &len);
    if (!b)
        return -1;
    /* Find start codes; an AUD (type 9) begins a new access unit. Frames keep their start
     * codes: the packetizer splits them again. */
    size_t au_start = SIZE_MAX;
    uint64_t idx = 0;
    for (size_t i = 0; i + 4 <= len; i++) {
        bool sc4 = b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 0 && b[i + 3] == 1;
        if (!sc4)
            continue;
        if (i + 4 < len && (b[i + 4] & 0x1f) == 9) {
            if (au_start != SIZE_MAX) {
                add(m, b + au_start, i - au_start, idx * 1000000ull / fps, false);
                idx++;
            }
            au_start = i;
        }
    }
    if (au_start != SIZE_MAX)
        add(m, b + au_start, len - au_start, idx * 1000000ull / fps, false);
    for (size_t k = 0; k < m->n; k++) { /* key = has an IDR */
        struct media_frame *f = &m->f[k];
        for (size_t i = 0; i + 4 < f->len; i++)
            if (f->data[i] == 0 && f->data[i + 1] == 0 && f->data[i + 2] == 1 && (f->data[i + 3] & 0x1f) == 5)
                f->key = true;
    }
    free(b);
    return m->n ? 0 : -1;
}

int media_read_ogg_opus(const char *path, struct media *m)
{
    memset(m, 0, sizeof(*m));
    size_t len;
    uint8_t *b = slurp(path, &len);
    if (!b)
        return -1;
    uint8_t *pkt = malloc(65536);
    size_t plen = 0, pos = 0;
    int index = 0;
    uint64_t samples = 0;
    while (pos + 27 <= len && memcmp(b + pos, "OggS", 4) == 0) {
        unsigned nseg = b[pos + 26];
        if (pos + 27 + nseg > len)
            break;
        const uint8_t *lace = b + pos + 27;
        size_t data = pos + 27 + nseg;
        for (unsigned i = 0; i < nseg; i++) {
            if (data + lace[i] > len || plen + lace[i] > 65536)
                break;
            memcpy(pkt + plen, b + data, lace[i]);
            plen += lace[i];
            data += lace[i];
            if (lace[i] < 255) { /* packet ends */
                if (index == 0 && plen >= 19 && memcmp(pkt, "OpusHead", 8) == 0)
                    m->pre_skip = le16(pkt + 10);
                if (index >= 2) {
                    int s = opus_packet_get_nb_samples(pkt, (opus_int32)plen, 48000);
                    add(m, pkt, plen, samples * 1000000ull / 48000, true);
                    m->f[m->n - 1].samples = s > 0 ? (uint32_t)s : 960;
                    samples += s > 0 ? (uint64_t)s : 960;
                }
                index++;
                plen = 0;
            }
        }
        pos = data;
    }
    free(pkt);
    free(b);
    return m->n ? 0 : -1;
}

void media_free(struct media *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->f[i].data);
    free(m->f);
    memset(m, 0, sizeof(*m));
}
