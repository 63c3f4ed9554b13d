/* libFuzzer target: pl_node_msg_parse (what parley-client reads from the node) on arbitrary
 * text. Crash- and leak-free, and what it returns keeps the promises of client_media.h:
 * NUL-terminated ids within their fields, counts within the limits, an error text on failure. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parley/client_media.h"

#define REQUIRE(c)                                                                            \
    do {                                                                                      \
        if (!(c))                                                                             \
            __builtin_trap();                                                                 \
    } while (0)

static void check_str(const char *s, size_t cap, bool empty_ok)
{
    const char *nul = memchr(s, '\0', cap);
    REQUIRE(nul != NULL);
    REQUIRE(empty_ok || nul != s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl_node_msg m;
    char err[160];
    err[0] = 0;
    if (pl_node_msg_parse((const char *)data, size, &m, err, sizeof err) != 0) {
        check_str(err, sizeof err, false);
        return 0;
    }
    REQUIRE(m.type >= PL_NODE_MEETING_USERS && m.type <= PL_NODE_ACTIVE_SPEAKER);
    check_str(m.meeting_id, sizeof m.meeting_id, false);
    check_str(m.account_id, sizeof m.account_id, true);
    check_str(m.msg, sizeof m.msg, true);
    REQUIRE(m.n_users >= 0 && m.n_users <= PL_NODE_MSG_MAX_USERS);
    for (int i = 0; i < m.n_users; i++)
        check_str(m.users[i], sizeof m.users[i], false);
    REQUIRE(m.n_slots >= 0 && m.n_slots <= PL_NODE_MSG_MAX_SLOTS);
    for (int i = 0; i < m.n_slots; i++) {
        check_str(m.slots[i].mid, sizeof m.slots[i].mid, false);
        check_str(m.slots[i].account_id, sizeof m.slots[i].account_id, false);
    }
    if (m.type == PL_NODE_ANSWER)
        REQUIRE(m.sdp && strlen(m.sdp) <= m.sdp_len);
    pl_node_msg_free(&m);
    return 0;
}
