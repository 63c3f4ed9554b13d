/* libFuzzer target: RTP demux, parse and header-extension iteration on arbitrary input.
 * Besides memory errors (ASan), it aborts when the parser's results are inconsistent. */
#include "parley/rtp.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touch every byte of a range so that ASan checks the range really lies in the input. */
static volatile uint8_t sink;
static void touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)pl_classify(data, size);

    struct pl_rtp r;
    if (pl_rtp_parse(data, size, &r) != 0)
        return 0;
    if (r.header_len + r.payload_len + r.padding_len != size || r.payload != data + r.header_len)
        abort();
    touch(r.payload, r.payload_len);
    if (r.ext) {
        if (r.ext < data || r.ext + r.ext_len > data + r.header_len)
            abort();
        touch(r.ext, r.ext_len);
    }

    size_t pos = 0, last = 0;
    uint8_t id;
    const uint8_t *v;
    size_t vl;
    while (pl_rtp_ext_next(&r, &pos, &id, &v, &vl)) {
        if (id == 0 || pos <= last || pos > r.ext_len || v < r.ext || v + vl > r.ext + r.ext_len)
            abort();
        if (r.ext_profile == 0xBEDE && (id == 15 || vl < 1 || vl > 16))
            abort();
        touch(v, vl);
        last = pos;
    }
    for (int i = 0; i < 256; i++) {
        if (pl_rtp_ext_find(&r, (uint8_t)i, &v, &vl)) {
            if (v < r.ext || v + vl > r.ext + r.ext_len)
                abort();
            touch(v, vl);
        }
    }

    /* Rewriting the header (as fan-out does) must parse back to the same fields. */
    uint8_t hdr[12];
    struct pl_rtp w;
    if (pl_rtp_write_header(hdr, sizeof(hdr), r.marker, r.pt, r.seq, r.ts, r.ssrc) != 12 ||
        pl_rtp_parse(hdr, sizeof(hdr), &w) != 0 || w.marker != r.marker || w.pt != r.pt ||
        w.seq != r.seq || w.ts != r.ts || w.ssrc != r.ssrc)
        abort();
    return 0;
}
