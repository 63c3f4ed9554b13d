/* H.264 RTP payload (RFC 6184, packetization modes 0 and 1): which NAL units a packet carries,
 * and whether it starts a key frame (where a subscriber can switch layers). Parsing never
 * reads outside the given buffer. */
#ifndef PARLEY_H264_H
#define PARLEY_H264_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    PL_H264_NAL_SLICE = 1,
    PL_H264_NAL_IDR = 5,
    PL_H264_NAL_SEI = 6,
    PL_H264_NAL_SPS = 7,
    PL_H264_NAL_PPS = 8,
    PL_H264_NAL_AUD = 9,
    PL_H264_STAP_A = 24,
    PL_H264_FU_A = 28,
};

/* True when the packet starts a key frame: it carries an SPS, or the first slice of an IDR
 * picture (first_mb_in_slice == 0), whole (single NAL unit, or inside a STAP-A) or as the
 * first fragment of an FU-A. False for anything malformed or unsupported (STAP-B, MTAP, FU-B:
 * interleaved mode only). */
bool pl_h264_is_keyframe(const uint8_t *payload, size_t len);

/* Lists the NAL unit types the packet carries (for an FU-A, the fragmented unit's type, in
 * every fragment). Writes up to `max` types and returns how many there are (which may be
 * more than max), or -1 when malformed or unsupported. */
int pl_h264_nal_types(const uint8_t *payload, size_t len, uint8_t *types, int max);

#endif
