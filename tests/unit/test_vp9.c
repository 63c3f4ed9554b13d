/* VP9 keyframe detection from the RTP payload descriptor (RFC 9628). */
#include "check.h"
#include "parley/vp9.h"

int main(void)
{
    /* B=1, P=0, no picture id: a key frame starts. */
    const uint8_t key[] = {0x08, 0x82, 0x49, 0x83};
    CHECK(pl_vp9_is_keyframe(key, sizeof key));
    /* The same frame's later packet (B=0), an inter frame (P=1), nothing after the descriptor. */
    const uint8_t mid[] = {0x00, 0x11};
    const uint8_t inter[] = {0x48, 0x11};
    CHECK(!pl_vp9_is_keyframe(mid, sizeof mid));
    CHECK(!pl_vp9_is_keyframe(inter, sizeof inter));
    CHECK(!pl_vp9_is_keyframe(key, 1));
    /* Picture id 15 bits (M=1) then payload; truncated inside the id. */
    const uint8_t pid15[] = {0x88, 0x80, 0x05, 0x82};
    CHECK(pl_vp9_is_keyframe(pid15, sizeof pid15));
    CHECK(!pl_vp9_is_keyframe(pid15, 3));
    /* Layer indices (non-flexible: TID/U/SID/D + TL0PICIDX): spatial layer 0 is a key frame to
     * start on, spatial layer 1 is not. */
    const uint8_t sid0[] = {0xA8, 0x01, 0x00, 0x07, 0x82};
    const uint8_t sid1[] = {0xA8, 0x01, 0x02, 0x07, 0x82};
    CHECK(pl_vp9_is_keyframe(sid0, sizeof sid0));
    CHECK(!pl_vp9_is_keyframe(sid1, sizeof sid1));
    CHECK(!pl_vp9_is_keyframe(sid0, 4));
    CHECK(!pl_vp9_is_keyframe(NULL, 0));
    return check_result("vp9");
}
