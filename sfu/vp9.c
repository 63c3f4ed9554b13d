#include "parley/vp9.h"

/* First byte: I P L F B E V Z. I: picture id follows (1 or 2 bytes, M bit); L: layer indices
 * follow (TID U SID D, then TL0PICIDX unless flexible mode F). */
bool pl_vp9_is_keyframe(const uint8_t *p, size_t len)
{
    if (len < 1)
        return false;
    uint8_t b0 = p[0];
    bool has_pid = b0 & 0x80, inter = b0 & 0x40, has_layers = b0 & 0x20, flexible = b0 & 0x10;
    bool begins = b0 & 0x08;
    if (!begins || inter)
        return false;
    size_t off = 1;
    if (has_pid) {
        if (off >= len)
            return false;
        off += (p[off] & 0x80) ? 2 : 1;
    }
    if (has_layers) {
        if (off >= len)
            return false;
        uint8_t sid = (p[off] >> 1) & 0x07;
        off += flexible ? 1 : 2;
        if (sid != 0)
            return false;
    }
    return off < len; /* some payload after the descriptor */
}
