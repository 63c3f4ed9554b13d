/* Opus depacketizer (RFC 7587): one packet is one Opus packet, the sample as is. Its TOC
 * must be valid (libopus says how many samples it holds). */
#include <opus.h>

#include "depkt_int.h"

int pl_depkt_opus(const struct pl_depkt_pkt *p, size_t n, struct pl_depkt_frame *f)
{
    depkt_frame_reset(f);
    if (n != 1 || p[0].len == 0 || p[0].len > 1275 * 3)
        return -1;
    int s = opus_packet_get_nb_samples(p[0].payload, (opus_int32)p[0].len, 48000);
    if (s <= 0 || s > 5760)
        return -1;
    f->samples = (unsigned)s;
    f->keyframe = true;
    return depkt_append(f, p[0].payload, p[0].len);
}
