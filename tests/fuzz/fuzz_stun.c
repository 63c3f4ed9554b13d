/* libFuzzer target for sfu/stun.c: parse arbitrary datagrams, run both checks, and for every
 * accepted message build replies from what was parsed and parse those back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char key[] = "VOkJxbRl1RmTxUk/WvJxBt"; /* the RFC 5769 password */

/* Our own output must always parse and verify. */
static void check_reply(const uint8_t *buf, size_t n, bool with_key)
{
    struct pl_stun_msg r;
    if (n == 0 || pl_stun_parse(buf, n, &r) != 0 || !pl_stun_check_fingerprint(buf, n, &r) ||
        (with_key && !pl_stun_check_integrity(buf, n, &r, key, sizeof key - 1)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size copy so any read past the datagram is caught by ASan. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);

    bool looks = pl_stun_is_stun(buf, size);
    struct pl_stun_msg m;
    int rc = pl_stun_parse(buf, size, &m);
    if (rc == 0) {
        if (!looks)
            abort(); /* everything parse accepts passes the quick test */
        (void)pl_stun_check_integrity(buf, size, &m, key, sizeof key - 1);
        (void)pl_stun_check_fingerprint(buf, size, &m);
        if (m.username && m.username_len > 512)
            abort();

        uint8_t out[1500];
        if (m.has_xor_mapped)
            check_reply(out,
                        pl_stun_build_binding_success(out, sizeof out, m.txid,
                                                      (const struct sockaddr *)&m.xor_mapped,
                                                      key, sizeof key - 1),
                        true);
        if (m.error_code)
            check_reply(out,
                        pl_stun_build_binding_error(out, sizeof out, m.txid, m.error_code, NULL,
                                                    NULL, 0),
                        false);
        if (m.username) {
            char name[513];
            memcpy(name, m.username, m.username_len);
            name[m.username_len] = '\0';
            check_reply(out,
                        pl_stun_build_binding_request(out, sizeof out, m.txid, name, m.priority,
                                                      m.tiebreaker, m.use_candidate, key,
                                                      sizeof key - 1),
                        true);
        }
    }
    free(buf);
    return 0;
}
