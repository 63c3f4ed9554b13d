/* libFuzzer target: parley-client's VP8 frame assembly (RTP payloads from the network) and
 * the payload stamp reader. The input is a sequence of records: sequence number delta (1
 * byte), marker and timestamp step (1 byte), length (1 byte), payload. Frames handed out must
 * lie within the assembler's buffer; nothing may read outside the input. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/client_media.h"

#define REQUIRE(c)                                                                            \
    do {                                                                                      \
        if (!(c))                                                                             \
            __builtin_trap();                                                                 \
    } while (0)

#define CAP 4096

static void on_frame(void *user, const uint8_t *frame, size_t len, uint32_t ts, bool key)
{
    (void)ts;
    size_t *total = user;
    REQUIRE(len <= CAP);
    REQUIRE(!key || (len >= 1 && (frame[0] & 1) == 0));
    int w, h;
    (void)pl_vp8_key_size(frame, len, &w, &h);
    *total += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl_vp8_assembler a;
    if (pl_vp8_asm_init(&a, CAP) != 0)
        return 0;
    uint16_t seq = 1000;
    uint32_t ts = 0;
    size_t total = 0, pos = 0;
    while (pos + 3 <= size) {
        seq = (uint16_t)(seq + (int8_t)data[pos]);
        bool marker = data[pos + 1] & 1;
        ts += (uint32_t)(data[pos + 1] >> 1) * 100;
        size_t len = data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        /* A heap copy of exactly len bytes so that ASan sees any overread. */
        uint8_t *p = malloc(len ? len : 1);
        if (!p)
            break;
        memcpy(p, data + pos, len);
        uint64_t t;
        uint32_t f;
        (void)pl_stamp_read(p, len, &t, &f);
        int rc = pl_vp8_asm_push(&a, seq, ts, marker, p, len, on_frame, &total);
        REQUIRE(rc >= -1 && rc <= 1);
        free(p);
        pos += len;
    }
    REQUIRE(a.len <= a.cap);
    pl_vp8_asm_free(&a);
    return 0;
}
