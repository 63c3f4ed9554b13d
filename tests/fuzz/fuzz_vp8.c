/* libFuzzer target: VP8 payload descriptor parsing and in-place rewriting on arbitrary input.
 * Besides memory errors (ASan), it aborts when results are inconsistent: the descriptor must
 * lie in the input, and a rewritten packet must parse back to the values written with
 * everything else unchanged. */
#include "parley/vp8.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first 3 bytes choose the values written; the rest is the payload. */
    if (size < 3)
        return 0;
    uint16_t new_pid = (uint16_t)((data[0] << 8 | data[1]) & 0x7FFF);
    uint8_t new_tl0 = data[2];
    data += 3;
    size -= 3;

    /* A heap copy of exactly `size` bytes so that ASan catches any overread. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);

    struct pl_vp8_desc d;
    if (pl_vp8_parse(p, size, &d) != 0)
        goto out;
    if (d.desc_len < 1 || d.desc_len > 6 || d.desc_len >= size || d.partition_id > 7 ||
        d.tid > 3 || d.keyidx > 31 || (d.keyframe && !d.start_of_frame) ||
        d.start_of_frame != (d.start_of_partition && d.partition_id == 0) ||
        (!d.picture_id_15bit && d.picture_id > 127) || d.picture_id > 0x7FFF)
        abort();
    if (d.has_picture_id && d.picture_id_off + (d.picture_id_15bit ? 2u : 1u) > d.desc_len)
        abort();
    if (d.has_tl0picidx && d.tl0picidx_off >= d.desc_len)
        abort();

    if (pl_vp8_rewrite(p, size, &d, new_pid, new_tl0) != 0)
        abort();
    struct pl_vp8_desc e;
    if (pl_vp8_parse(p, size, &e) != 0)
        abort();
    uint16_t want_pid = d.picture_id_15bit ? new_pid : (new_pid & 0x7F);
    if (e.desc_len != d.desc_len || e.keyframe != d.keyframe ||
        e.start_of_frame != d.start_of_frame || e.has_picture_id != d.has_picture_id ||
        e.picture_id_15bit != d.picture_id_15bit || e.has_tl0picidx != d.has_tl0picidx ||
        e.has_tid != d.has_tid || e.tid != d.tid || e.keyidx != d.keyidx ||
        (e.has_picture_id && e.picture_id != want_pid) ||
        (e.has_tl0picidx && e.tl0picidx != new_tl0))
        abort();
    /* Only the picture id and TL0PICIDX octets may differ from the input. */
    for (size_t i = 0; i < size; i++) {
        bool field = (d.has_picture_id && i >= d.picture_id_off &&
                      i < d.picture_id_off + (d.picture_id_15bit ? 2u : 1u)) ||
                     (d.has_tl0picidx && i == d.tl0picidx_off);
        if (!field && p[i] != data[i])
            abort();
    }

    /* The rewriter: any sequence of inputs keeps 15-bit output, and a switch continues at +1. */
    struct pl_vp8_rewriter rw = {0};
    uint16_t op, last = 0;
    uint8_t ot;
    for (size_t i = 0; i + 2 < size; i += 3) {
        bool sw = (data[i] & 0x80) != 0;
        if (sw)
            pl_vp8_rewriter_switch(&rw);
        bool started = rw.started;
        unsigned bits = (data[i] & 0x40) ? 7 : 15;
        pl_vp8_rewrite_map_bits(&rw, (uint16_t)(data[i] << 8 | data[i + 1]), bits, data[i + 2],
                                &op, &ot);
        if (op > 0x7FFF || (sw && started && op != ((last + 1) & 0x7FFF)))
            abort();
        last = rw.last_out_pid;
    }
out:
    free(p);
    return 0;
}
