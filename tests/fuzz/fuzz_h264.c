/* libFuzzer target: H.264 RTP payload walking (single NAL, STAP-A, FU-A) on arbitrary input.
 * Besides memory errors (ASan), it aborts when the two entry points disagree. */
#include "parley/h264.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly `size` bytes so that ASan catches any overread. */
    uint8_t *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);

    bool key = pl_h264_is_keyframe(p, size);
    uint8_t types[64];
    int n = pl_h264_nal_types(p, size, types, 64);
    int n0 = pl_h264_nal_types(p, size, NULL, 0);
    uint8_t few[2] = {0xEE, 0xEE};
    int n1 = pl_h264_nal_types(p, size, few, 1);
    if (n != n0 || n != n1 || n < -1 || (n >= 0 && size == 0) || few[1] != 0xEE)
        abort();
    /* Every unit takes at least one octet of the packet. */
    if (n > 0 && (size_t)n > size)
        abort();
    bool has_key_type = false;
    for (int i = 0; i < n && i < 64; i++) {
        if (types[i] > 31)
            abort();
        if (types[i] == 5 || types[i] == 7)
            has_key_type = true;
    }
    if (n > 0 && few[0] != types[0])
        abort();
    if (key && (n < 1 || (n <= 64 && !has_key_type)))
        abort();
    free(p);
    return 0;
}
