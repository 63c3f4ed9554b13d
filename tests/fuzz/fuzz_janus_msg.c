/* libFuzzer target: pl_janus_msg_parse (what parley-client reads from Janus) on arbitrary
 * text, and, when a message carries an SDP offer, the client's answer to it (pl_sdp_parse +
 * pl_recv_answer_write). Crash- and leak-free; what the parser returns keeps the promises of
 * janus_msg.h: NUL-terminated fields, an SDP of sdp_len bytes only with a jsep type, an error
 * text on failure. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/client_media.h"
#include "parley/janus_msg.h"
#include "parley/sdp.h"

#define REQUIRE(c)                                                                            \
    do {                                                                                      \
        if (!(c))                                                                             \
            __builtin_trap();                                                                 \
    } while (0)

static void check_str(const char *s, size_t cap) { REQUIRE(memchr(s, '\0', cap) != NULL); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly `size` bytes so that ASan catches any overread. */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct pl_janus_msg m;
    char err[160];
    err[0] = 0;
    if (pl_janus_msg_parse(p, size, &m, err, sizeof err) != 0) {
        REQUIRE(err[0] != 0);
        REQUIRE(m.sdp == NULL);
        free(p);
        return 0;
    }
    REQUIRE(m.type >= PL_JANUS_SUCCESS && m.type <= PL_JANUS_OTHER);
    check_str(m.transaction, sizeof m.transaction);
    check_str(m.error, sizeof m.error);
    check_str(m.videoroom, sizeof m.videoroom);
    check_str(m.reason, sizeof m.reason);
    check_str(m.jsep_type, sizeof m.jsep_type);
    REQUIRE((m.sdp != NULL) == (m.jsep_type[0] != 0));
    if (m.sdp) {
        REQUIRE(strlen(m.sdp) == m.sdp_len);
        struct pl_sdp o;
        if (pl_sdp_parse(m.sdp, m.sdp_len, &o, err, sizeof err) == 0) {
            const char *cands[] = {"candidate:1 1 UDP 2015363327 127.0.0.2 50000 typ host"};
            struct pl_recv_answer_params ap = {
                .ice_ufrag = "abcd", .ice_pwd = "0123456789abcdef012345", .fingerprint = "AA:BB",
                .session_id = 1, .candidates = cands, .n_candidates = 1,
            };
            char *buf = malloc(64 * 1024);
            if (buf) {
                int len = pl_recv_answer_write(&o, &ap, buf, 64 * 1024);
                REQUIRE(len < 64 * 1024);
                REQUIRE(len < 0 || strlen(buf) == (size_t)len);
                free(buf);
            }
            pl_sdp_free(&o);
        }
    }
    pl_janus_msg_free(&m);
    free(p);
    return 0;
}
