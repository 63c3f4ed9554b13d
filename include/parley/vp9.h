/* VP9 RTP payload descriptor (RFC 9628): whether a packet starts a key frame, where a
 * subscriber can start decoding. Parsing never reads outside the given buffer. */
#ifndef PARLEY_VP9_H
#define PARLEY_VP9_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when the packet begins a frame (B bit) that is not inter-picture predicted (P bit
 * clear) in its lowest spatial layer (no layer indices, or spatial id 0). False for anything
 * shorter than the descriptor says. */
bool pl_vp9_is_keyframe(const uint8_t *payload, size_t len);

#endif
