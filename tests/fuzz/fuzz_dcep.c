/* libFuzzer target: DCEP messages (RFC 8832) as parley-client's data channels read them. The
 * parse must not read outside the input; what it returns is NUL-terminated and consistent; an
 * OPEN written back from the parsed label and protocol (when they fit) parses to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/client_media.h"

#define REQUIRE(c)                                                                            \
    do {                                                                                      \
        if (!(c))                                                                             \
            __builtin_trap();                                                                 \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p = malloc(size ? size : 1); /* exactly size bytes: ASan sees any overread */
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct pl_dcep m;
    if (pl_dcep_parse(p, size, &m) == 0) {
        REQUIRE(m.type == PL_DCEP_OPEN || m.type == PL_DCEP_ACK);
        REQUIRE(memchr(m.label, 0, sizeof m.label) && memchr(m.protocol, 0, sizeof m.protocol));
        if (m.type == PL_DCEP_OPEN) {
            REQUIRE(12 + m.label_len + m.protocol_len == size);
            uint8_t out[12 + 512];
            size_t n = pl_dcep_write_open(out, sizeof out, m.label, m.protocol);
            struct pl_dcep back;
            REQUIRE(n > 0 && pl_dcep_parse(out, n, &back) == 0);
            REQUIRE(strcmp(back.label, m.label) == 0 && strcmp(back.protocol, m.protocol) == 0);
        }
    }
    free(p);
    return 0;
}
