/* Shared by the depacketizers (recorder/ only). */
#ifndef PARLEY_RECORDER_DEPKT_INT_H
#define PARLEY_RECORDER_DEPKT_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/depkt.h"

void depkt_frame_reset(struct pl_depkt_frame *f);
int depkt_append(struct pl_depkt_frame *f, const uint8_t *p, size_t n);

bool depkt_vp8_starts(const uint8_t *p, size_t len, bool key);
bool depkt_vp9_starts(const uint8_t *p, size_t len, bool key);
bool depkt_h264_starts(const uint8_t *p, size_t len, bool key);

#endif
