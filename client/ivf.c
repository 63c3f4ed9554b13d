/* IVF (the libvpx container): a 32-byte file header, then per frame a 12-byte header (size,
 * 64-bit timestamp) and the frame. Timebase 1/90000 so RTP timestamps go in as they are. */
#include "parley/client_media.h"

#include <string.h>

static void le16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v) { le16(p, v); le16(p + 2, v >> 16); }

static int write_header(struct pl_ivf *w, int width, int height)
{
    uint8_t h[32] = {'D', 'K', 'I', 'F'};
    le16(h + 4, 0);   /* version */
    le16(h + 6, 32);  /* header size */
    memcpy(h + 8, "VP80", 4);
    le16(h + 12, (uint32_t)width);
    le16(h + 14, (uint32_t)height);
    le32(h + 16, 90000); /* timebase denominator (rate) */
    le32(h + 20, 1);     /* numerator (scale) */
    le32(h + 24, w->frames);
    return fwrite(h, 1, sizeof h, w->f) == sizeof h ? 0 : -1;
}

int pl_ivf_open(struct pl_ivf *w, const char *path, int width, int height)
{
    memset(w, 0, sizeof *w);
    w->f = fopen(path, "w+b"); /* read back by pl_ivf_set_size */
    if (!w->f)
        return -1;
    if (write_header(w, width, height) != 0) {
        fclose(w->f);
        w->f = NULL;
        return -1;
    }
    return 0;
}

void pl_ivf_set_size(struct pl_ivf *w, int width, int height)
{
    if (!w->f)
        return;
    long pos = ftell(w->f);
    uint8_t cur[4];
    if (pos < 0 || fseek(w->f, 12, SEEK_SET) != 0)
        return;
    if (fread(cur, 1, 4, w->f) == 4 && cur[0] == 0 && cur[1] == 0 && cur[2] == 0 && cur[3] == 0) {
        uint8_t wh[4];
        le16(wh, (uint32_t)width);
        le16(wh + 2, (uint32_t)height);
        if (fseek(w->f, 12, SEEK_SET) == 0)
            (void)fwrite(wh, 1, 4, w->f);
    }
    (void)fseek(w->f, pos, SEEK_SET);
}

int pl_ivf_write(struct pl_ivf *w, const uint8_t *frame, size_t len, uint32_t rtp_ts)
{
    if (!w->f || len > 0xFFFFFFFFu)
        return -1;
    if (!w->have_ts) {
        w->first_ts = rtp_ts;
        w->have_ts = true;
    }
    /* Timestamps relative to the first frame, unwrapped (32-bit RTP time wraps in 13 h). */
    uint64_t pts = (uint32_t)(rtp_ts - (uint32_t)w->first_ts);
    uint8_t h[12];
    le32(h, (uint32_t)len);
    le32(h + 4, (uint32_t)pts);
    le32(h + 8, (uint32_t)(pts >> 32));
    if (fwrite(h, 1, sizeof h, w->f) != sizeof h || fwrite(frame, 1, len, w->f) != len)
        return -1;
    w->frames++;
    return 0;
}

int pl_ivf_close(struct pl_ivf *w)
{
    if (!w->f)
        return 0;
    int rc = 0;
    uint8_t n[4];
    le32(n, w->frames);
    if (fseek(w->f, 24, SEEK_SET) != 0 || fwrite(n, 1, 4, w->f) != 4)
        rc = -1;
    if (fclose(w->f) != 0)
        rc = -1;
    w->f = NULL;
    return rc;
}
