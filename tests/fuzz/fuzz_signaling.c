/* libFuzzer target: pl_packet_parse on arbitrary text. Crash- and leak-free, and what it returns
 * holds the promises of packet.h: bounded, NUL-terminated strings, lists within PL_MAX_LIST,
 * counts that match, and error messages that are printable UTF-8 (they go into ERROR). */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parley/packet.h"
#include "parley/token.h"

#define REQUIRE(c)                                                                            \
    do {                                                                                      \
        if (!(c))                                                                             \
            __builtin_trap();                                                                 \
    } while (0)

/* A NUL-terminated id of 0..PL_ID_MAX bytes (empty only when empty_ok). */
static void check_id(const char *s, bool empty_ok)
{
    const char *nul = memchr(s, '\0', PL_ID_MAX + 1);
    REQUIRE(nul != NULL);
    REQUIRE(empty_ok || nul != s);
}

static void check_list(const struct pl_sub_entry *list, int n, bool bitrate_required)
{
    REQUIRE(n >= 0 && n <= PL_MAX_LIST);
    for (int i = 0; i < n; i++) {
        check_id(list[i].account_id, false);
        REQUIRE(list[i].bitrate >= (bitrate_required ? 0 : -1));
        REQUIRE(list[i].bitrate <= PL_MAX_BITRATE);
        for (int j = 0; j < i; j++)
            REQUIRE(strcmp(list[i].account_id, list[j].account_id) != 0);
    }
}

static void check_packet(const struct pl_packet *p)
{
    REQUIRE(p->type >= PL_SIG_INIT && p->type <= PL_SIG_OFFER);
    REQUIRE(strcmp(pl_sig_type_name(p->type), "UNKNOWN") != 0);
    check_id(p->meeting_id, false);
    check_id(p->account_id, p->type != PL_SIG_JOIN && p->type != PL_SIG_LEAVE);
    check_id(p->host, p->type != PL_SIG_INIT);
    if (p->token) {
        REQUIRE(p->type == PL_SIG_INIT || p->type == PL_SIG_JOIN || p->type == PL_SIG_RECORD_JOIN);
        size_t len = strlen(p->token);
        REQUIRE(len >= 1 && len <= PL_TOKEN_MAX_LEN);
    }
    REQUIRE((p->sdp != NULL) == (p->type == PL_SIG_OFFER));
    if (p->sdp)
        REQUIRE(p->sdp_len > 0 && p->sdp[p->sdp_len] == '\0');
    check_list(p->subscribe, p->n_subscribe, true);
    check_list(p->unsubscribe, p->n_unsubscribe, false);
    switch (p->type) {
    case PL_SIG_SUBSCRIBE:
        REQUIRE(p->n_subscribe > 0 && p->n_unsubscribe == 0);
        REQUIRE(p->num_actions == p->n_subscribe);
        break;
    case PL_SIG_UNSUBSCRIBE:
        REQUIRE(p->n_unsubscribe > 0 && p->n_subscribe == 0);
        break;
    case PL_SIG_UNSUB_SUB:
        REQUIRE(p->n_subscribe + p->n_unsubscribe > 0);
        REQUIRE(p->num_actions == p->n_subscribe + p->n_unsubscribe);
        break;
    default:
        REQUIRE(p->n_subscribe == 0 && p->n_unsubscribe == 0);
    }
}

/* Non-empty, valid UTF-8 (json_string checks it), no C0 control characters or DEL. */
static void check_error(const char *err, size_t errlen)
{
    const char *nul = memchr(err, '\0', errlen);
    REQUIRE(nul != NULL);
    REQUIRE(errlen == 1 || nul != err);
    for (const char *c = err; c < nul; c++)
        REQUIRE((unsigned char)*c >= 0x20 && *c != 0x7F);
    json_t *j = json_string(err);
    REQUIRE(j != NULL);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pl_packet p;
    char err[256], mid[PL_ID_MAX + 1];
    memset(mid, 'x', sizeof mid);
    if (pl_packet_parse((const char *)data, size, &p, mid, err, sizeof err) == 0) {
        check_packet(&p);
        REQUIRE(strcmp(mid, p.meeting_id) == 0);
        pl_packet_free(&p);
        pl_packet_free(&p);
        REQUIRE(p.token == NULL && p.sdp == NULL);
        return 0;
    }
    REQUIRE(p.token == NULL && p.sdp == NULL);
    check_id(mid, true);
    check_error(err, sizeof err);
    /* Again with a short buffer: truncation keeps the message printable. */
    char small[1 + 37];
    size_t small_len = 1 + size % 37;
    REQUIRE(pl_packet_parse((const char *)data, size, &p, NULL, small, small_len) == -1);
    check_error(small, small_len);
    return 0;
}
