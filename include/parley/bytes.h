/* Big-endian (network order) reads and writes of fixed-size integers, for the wire formats. */
#ifndef PARLEY_BYTES_H
#define PARLEY_BYTES_H
#include <stdint.h>

static inline uint16_t pl_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t pl_rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t pl_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t pl_rd64(const uint8_t *p) { return (uint64_t)pl_rd32(p) << 32 | pl_rd32(p + 4); }

static inline void pl_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void pl_wr32(uint8_t *p, uint32_t v)
{
    pl_wr16(p, (uint16_t)(v >> 16));
    pl_wr16(p + 2, (uint16_t)v);
}
static inline void pl_wr64(uint8_t *p, uint64_t v)
{
    pl_wr32(p, (uint32_t)(v >> 32));
    pl_wr32(p + 4, (uint32_t)v);
}

#endif
