/* DCEP (RFC 8832): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK. */
#include "parley/datachannel.h"

#include <string.h>

#include "parley/bytes.h"

static void copy_cut(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(dst, src, k);
    dst[k] = 0;
}

int pl_dcep_parse(const uint8_t *d, size_t len, struct pl_dcep *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1)
        return -1;
    out->type = d[0];
    if (d[0] == PL_DCEP_ACK)
        return len == 1 ? 0 : -1;
    if (d[0] != PL_DCEP_OPEN || len < 12)
        return -1;
    out->channel_type = d[1];
    out->priority = pl_rd16(d + 2);
    out->reliability = pl_rd32(d + 4);
    out->label_len = pl_rd16(d + 8);
    out->protocol_len = pl_rd16(d + 10);
    if (out->label_len + out->protocol_len != len - 12)
        return -1;
    copy_cut(out->label, sizeof out->label, d + 12, out->label_len);
    copy_cut(out->protocol, sizeof out->protocol, d + 12 + out->label_len, out->protocol_len);
    return 0;
}

size_t pl_dcep_write_open(uint8_t *out, size_t cap, const char *label, const char *protocol)
{
    size_t l = strlen(label), p = strlen(protocol);
    if (l > 0xFFFF || p > 0xFFFF || cap < 12 + l + p)
        return 0;
    out[0] = PL_DCEP_OPEN;
    out[1] = 0x00; /* DATA_CHANNEL_RELIABLE, ordered */
    pl_wr16(out + 2, 256);
    pl_wr32(out + 4, 0);
    pl_wr16(out + 8, (uint16_t)l);
    pl_wr16(out + 10, (uint16_t)p);
    memcpy(out + 12, label, l);
    memcpy(out + 12 + l, protocol, p);
    return 12 + l + p;
}
