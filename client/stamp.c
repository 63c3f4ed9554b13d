/* The send stamp at the end of synthetic payloads: one-way delay without RTCP mapping. */
#include "parley/client_media.h"

#include <string.h>
#include <time.h>

#include "parley/bytes.h"

static const uint8_t magic[4] = {'P', 'L', 'S', 'T'};

uint64_t pl_realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void pl_stamp_write(uint8_t *out, uint64_t send_us, uint32_t frame)
{
    memcpy(out, magic, 4);
    pl_wr64(out + 4, send_us);
    pl_wr32(out + 12, frame);
}

bool pl_stamp_read(const uint8_t *payload, size_t len, uint64_t *send_us, uint32_t *frame)
{
    if (len < PL_STAMP_LEN)
        return false;
    const uint8_t *s = payload + len - PL_STAMP_LEN;
    if (memcmp(s, magic, 4) != 0)
        return false;
    *send_us = pl_rd64(s + 4);
    *frame = pl_rd32(s + 12);
    return true;
}
