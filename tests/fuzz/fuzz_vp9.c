/* libFuzzer target: the VP9 payload descriptor walk (keyframe detection) on arbitrary input.
 * Besides memory errors (ASan), it aborts when a packet without the B bit, or with the P bit,
 * is called a key frame. */
#include "parley/vp9.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1); /* exactly `size` bytes: ASan sees any overread */
    if (!p)
        return 0;
    memcpy(p, data, size);
    bool key = pl_vp9_is_keyframe(p, size);
    if (key && (size < 2 || !(p[0] & 0x08) || (p[0] & 0x40)))
        abort();
    free(p);
    return 0;
}
