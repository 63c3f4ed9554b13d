/* Unit tests for sfu/stun.c: RFC 5769 vectors, builder round trips, malformed input. */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "parley/stun.h"

static const char rfc_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t rfc_txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                     0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* RFC 5769 2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME "evtj:h6vY",
 * MESSAGE-INTEGRITY, FINGERPRINT). USERNAME and SOFTWARE padding is 0x20, not zero. */
static const uint8_t rfc_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
    0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74,
    0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e,
    0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20,
    0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e,
    0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5,
    0x7a, 0x3b, 0xcf};

/* RFC 5769 2.2: sample IPv4 response, mapped address 192.0.2.1:32853. */
static const uint8_t rfc_response_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
    0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
    0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01,
    0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99,
    0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b,
    0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

/* RFC 5769 2.3: sample IPv6 response, mapped address [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc_response_v6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
    0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74,
    0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02,
    0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5,
    0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6,
    0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

static bool integrity_ok(const uint8_t *buf, size_t len, const char *key)
{
    struct pl_stun_msg m;
    return pl_stun_parse(buf, len, &m) == 0 &&
           pl_stun_check_integrity(buf, len, &m, key, strlen(key));
}

static bool fingerprint_ok(const uint8_t *buf, size_t len)
{
    struct pl_stun_msg m;
    return pl_stun_parse(buf, len, &m) == 0 && pl_stun_check_fingerprint(buf, len, &m);
}

/* Flipping any byte before FINGERPRINT's value breaks the fingerprint (or the framing);
 * any byte before the end of MESSAGE-INTEGRITY breaks the integrity check. */
static void check_every_flip(const uint8_t *msg, size_t len)
{
    struct pl_stun_msg m;
    CHECK_EQ_INT(pl_stun_parse(msg, len, &m), 0);
    size_t mi_end = m.integrity_offset + 24;
    uint8_t *copy = malloc(len);
    int fp_missed = 0, mi_missed = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, msg, len);
            copy[i] ^= (uint8_t)(1u << bit);
            fp_missed += fingerprint_ok(copy, len);
            if (i < mi_end)
                mi_missed += integrity_ok(copy, len, rfc_password);
        }
    }
    CHECK_EQ_INT(fp_missed, 0);
    CHECK_EQ_INT(mi_missed, 0);
    free(copy);
}

static void test_rfc5769_request(void)
{
    const uint8_t *b = rfc_request;
    size_t len = sizeof rfc_request;
    struct pl_stun_msg m;
    CHECK(pl_stun_is_stun(b, len));
    CHECK_EQ_INT(pl_stun_parse(b, len, &m), 0);
    CHECK_EQ_INT(m.type, PL_STUN_BINDING_REQUEST);
    CHECK_EQ_INT(m.length, 0x58);
    CHECK(memcmp(m.txid, rfc_txid, 12) == 0);
    CHECK(m.username_len == 9 && m.username && memcmp(m.username, "evtj:h6vY", 9) == 0);
    CHECK(m.has_priority && m.priority == 0x6e0001ff);
    CHECK(m.ice_controlled && !m.ice_controlling);
    CHECK(m.tiebreaker == 0x932ff9b151263b36ull);
    CHECK(!m.use_candidate && !m.has_xor_mapped && m.error_code == 0);
    CHECK_EQ_INT(m.integrity_offset, 76);
    CHECK_EQ_INT(m.fingerprint_offset, 100);
    CHECK(pl_stun_check_integrity(b, len, &m, rfc_password, strlen(rfc_password)));
    CHECK(pl_stun_check_fingerprint(b, len, &m));
    CHECK(!pl_stun_check_integrity(b, len, &m, "VOkJxbRl1RmTxUk/WvJxBu", 22));
    CHECK(!pl_stun_check_integrity(b, len, &m, rfc_password, strlen(rfc_password) - 1));
    check_every_flip(b, len);
}

static void test_rfc5769_response_v4(void)
{
    const uint8_t *b = rfc_response_v4;
    size_t len = sizeof rfc_response_v4;
    struct pl_stun_msg m;
    CHECK_EQ_INT(pl_stun_parse(b, len, &m), 0);
    CHECK_EQ_INT(m.type, PL_STUN_BINDING_SUCCESS);
    CHECK(m.has_xor_mapped);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&m.xor_mapped;
    CHECK_EQ_INT(sin->sin_family, AF_INET);
    CHECK_EQ_INT(ntohs(sin->sin_port), 32853);
    CHECK_EQ_INT(ntohl(sin->sin_addr.s_addr), 0xC0000201); /* 192.0.2.1 */
    CHECK(pl_stun_check_integrity(b, len, &m, rfc_password, strlen(rfc_password)));
    CHECK(pl_stun_check_fingerprint(b, len, &m));
    check_every_flip(b, len);
}

static void test_rfc5769_response_v6(void)
{
    const uint8_t *b = rfc_response_v6;
    size_t len = sizeof rfc_response_v6;
    struct pl_stun_msg m;
    CHECK_EQ_INT(pl_stun_parse(b, len, &m), 0);
    CHECK(m.has_xor_mapped);
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&m.xor_mapped;
    struct in6_addr want;
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &want);
    CHECK_EQ_INT(sin6->sin6_family, AF_INET6);
    CHECK_EQ_INT(ntohs(sin6->sin6_port), 32853);
    CHECK(memcmp(&sin6->sin6_addr, &want, 16) == 0);
    CHECK(pl_stun_check_integrity(b, len, &m, rfc_password, strlen(rfc_password)));
    CHECK(pl_stun_check_fingerprint(b, len, &m));
    check_every_flip(b, len);
}

/* ---- builders through the parser ---- */

static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* Every cap below the needed size must fail without writing past cap (ASan sees overruns). */
typedef size_t (*build_fn)(uint8_t *out, size_t cap);

static void check_caps(build_fn build, size_t need)
{
    int wrong = 0;
    for (size_t cap = 0; cap < need; cap++) {
        uint8_t *out = cap ? malloc(cap) : NULL;
        wrong += build(out, cap) != 0;
        free(out);
    }
    uint8_t *out = malloc(need);
    wrong += build(out, need) != need;
    free(out);
    CHECK_EQ_INT(wrong, 0);
}

static size_t build_success_v4(uint8_t *out, size_t cap)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(50000)};
    sin.sin_addr.s_addr = htonl(0x7F000001);
    return pl_stun_build_binding_success(out, cap, txid, (struct sockaddr *)&sin, "pw", 2);
}

static void test_build_success(void)
{
    uint8_t buf[256];
    struct pl_stun_msg m;

    size_t n = build_success_v4(buf, sizeof buf);
    CHECK_EQ_INT(n, 20 + 12 + 24 + 8);
    CHECK(pl_stun_is_stun(buf, n));
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK_EQ_INT(m.type, PL_STUN_BINDING_SUCCESS);
    CHECK(memcmp(m.txid, txid, 12) == 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&m.xor_mapped;
    CHECK(m.has_xor_mapped && sin->sin_family == AF_INET);
    CHECK_EQ_INT(ntohs(sin->sin_port), 50000);
    CHECK_EQ_INT(ntohl(sin->sin_addr.s_addr), 0x7F000001);
    CHECK(pl_stun_check_integrity(buf, n, &m, "pw", 2));
    CHECK(!pl_stun_check_integrity(buf, n, &m, "pX", 2));
    CHECK(pl_stun_check_fingerprint(buf, n, &m));
    check_caps(build_success_v4, n);

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    inet_pton(AF_INET6, "2001:db8::dead:beef", &sin6.sin6_addr);
    n = pl_stun_build_binding_success(buf, sizeof buf, txid, (struct sockaddr *)&sin6, "key", 3);
    CHECK_EQ_INT(n, 20 + 24 + 24 + 8);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    const struct sockaddr_in6 *got6 = (const struct sockaddr_in6 *)&m.xor_mapped;
    CHECK(m.has_xor_mapped && got6->sin6_family == AF_INET6);
    CHECK_EQ_INT(ntohs(got6->sin6_port), 443);
    CHECK(memcmp(&got6->sin6_addr, &sin6.sin6_addr, 16) == 0);
    CHECK(pl_stun_check_integrity(buf, n, &m, "key", 3));
    CHECK(pl_stun_check_fingerprint(buf, n, &m));

    /* Same address and transaction as RFC 5769 2.2: identical XOR-MAPPED-ADDRESS bytes. */
    struct sockaddr_in rfc = {.sin_family = AF_INET, .sin_port = htons(32853)};
    rfc.sin_addr.s_addr = htonl(0xC0000201);
    n = pl_stun_build_binding_success(buf, sizeof buf, rfc_txid, (struct sockaddr *)&rfc,
                                      rfc_password, strlen(rfc_password));
    CHECK(n >= 32 && memcmp(buf + 20, rfc_response_v4 + 36, 12) == 0);

    /* unsupported family, missing address, no key (then no MESSAGE-INTEGRITY) */
    struct sockaddr un = {.sa_family = AF_UNIX};
    CHECK_EQ_INT(pl_stun_build_binding_success(buf, sizeof buf, txid, &un, "k", 1), 0);
    CHECK_EQ_INT(pl_stun_build_binding_success(buf, sizeof buf, txid, NULL, "k", 1), 0);
    n = pl_stun_build_binding_success(buf, sizeof buf, txid, (struct sockaddr *)&rfc, NULL, 0);
    CHECK_EQ_INT(n, 20 + 12 + 8);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK(m.integrity_offset == 0 && pl_stun_check_fingerprint(buf, n, &m));
    CHECK(!pl_stun_check_integrity(buf, n, &m, "k", 1));
}

static size_t build_error_487(uint8_t *out, size_t cap)
{
    return pl_stun_build_binding_error(out, cap, txid, 487, NULL, "secret", 6);
}

static void test_build_error(void)
{
    uint8_t buf[1024];
    struct pl_stun_msg m;

    size_t n = build_error_487(buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK_EQ_INT(m.type, PL_STUN_BINDING_ERROR);
    CHECK_EQ_INT(m.error_code, 487);
    CHECK(memmem(buf, n, "Role Conflict", 13) != NULL);
    CHECK(pl_stun_check_integrity(buf, n, &m, "secret", 6));
    CHECK(pl_stun_check_fingerprint(buf, n, &m));
    check_caps(build_error_487, n);

    n = pl_stun_build_binding_error(buf, sizeof buf, txid, 400, "Bad", NULL, 0);
    CHECK_EQ_INT(n, 20 + 4 + 8 + 8); /* reason "Bad" padded to 4 */
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK_EQ_INT(m.error_code, 400);
    CHECK(m.integrity_offset == 0);
    CHECK(pl_stun_check_fingerprint(buf, n, &m));

    n = pl_stun_build_binding_error(buf, sizeof buf, txid, 401, "", "k", 1);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK_EQ_INT(m.error_code, 401);

    char longreason[800];
    memset(longreason, 'r', sizeof longreason - 1);
    longreason[sizeof longreason - 1] = '\0';
    CHECK_EQ_INT(pl_stun_build_binding_error(buf, sizeof buf, txid, 400, longreason, NULL, 0), 0);
    CHECK_EQ_INT(pl_stun_build_binding_error(buf, sizeof buf, txid, 299, NULL, NULL, 0), 0);
    CHECK_EQ_INT(pl_stun_build_binding_error(buf, sizeof buf, txid, 700, NULL, NULL, 0), 0);
}

static size_t build_request_full(uint8_t *out, size_t cap)
{
    return pl_stun_build_binding_request(out, cap, txid, "remote:local", 0x6e7f1eff,
                                         0x0102030405060708ull, true, "icepassword", 11);
}

static void test_build_request(void)
{
    uint8_t buf[1024];
    struct pl_stun_msg m;

    size_t n = build_request_full(buf, sizeof buf);
    CHECK_EQ_INT(n, 20 + 16 + 8 + 12 + 4 + 24 + 8);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK_EQ_INT(m.type, PL_STUN_BINDING_REQUEST);
    CHECK(m.username_len == 12 && memcmp(m.username, "remote:local", 12) == 0);
    CHECK(m.has_priority && m.priority == 0x6e7f1eff);
    CHECK(m.ice_controlling && !m.ice_controlled);
    CHECK(m.tiebreaker == 0x0102030405060708ull);
    CHECK(m.use_candidate);
    CHECK(pl_stun_check_integrity(buf, n, &m, "icepassword", 11));
    CHECK(pl_stun_check_fingerprint(buf, n, &m));
    check_caps(build_request_full, n);

    /* MESSAGE-INTEGRITY without FINGERPRINT: drop the last 8 bytes and fix the length.
     * Integrity still holds because its length adjustment never counted FINGERPRINT. */
    uint8_t cut[1024];
    memcpy(cut, buf, n - 8);
    cut[3] = (uint8_t)(cut[3] - 8);
    CHECK_EQ_INT(pl_stun_parse(cut, n - 8, &m), 0);
    CHECK(m.fingerprint_offset == 0 && !pl_stun_check_fingerprint(cut, n - 8, &m));
    CHECK(pl_stun_check_integrity(cut, n - 8, &m, "icepassword", 11));

    n = pl_stun_build_binding_request(buf, sizeof buf, txid, "a:b", 1, 2, false, "k", 1);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK(!m.use_candidate && m.username_len == 3);
    CHECK(pl_stun_check_integrity(buf, n, &m, "k", 1));

    /* empty key is still a key */
    n = pl_stun_build_binding_request(buf, sizeof buf, txid, "a:b", 1, 2, false, "", 0);
    CHECK(n > 0);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK(pl_stun_check_integrity(buf, n, &m, "", 0));
    CHECK(!pl_stun_check_integrity(buf, n, &m, "k", 1));

    char longname[600];
    memset(longname, 'u', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ_INT(pl_stun_build_binding_request(buf, sizeof buf, txid, longname, 1, 2, false,
                                               "k", 1), 0);
    CHECK_EQ_INT(pl_stun_build_binding_request(buf, sizeof buf, NULL, "a:b", 1, 2, false,
                                               "k", 1), 0);
}

/* ---- malformed input ---- */

/* Header + body built by hand: attrs is the body, len its length. */
static size_t make_msg(uint8_t *out, const uint8_t *attrs, size_t len)
{
    out[0] = 0x00;
    out[1] = 0x01;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    out[4] = 0x21;
    out[5] = 0x12;
    out[6] = 0xa4;
    out[7] = 0x42;
    memcpy(out + 8, txid, 12);
    if (len)
        memcpy(out + 20, attrs, len);
    return 20 + len;
}

static int parse_body(const uint8_t *attrs, size_t len, struct pl_stun_msg *m)
{
    uint8_t buf[1024];
    size_t n = make_msg(buf, attrs, len);
    /* exact-size heap copy so ASan catches any read past the end */
    uint8_t *heap = malloc(n);
    memcpy(heap, buf, n);
    int rc = pl_stun_parse(heap, n, m);
    free(heap);
    return rc;
}

static void test_malformed(void)
{
    struct pl_stun_msg m;
    uint8_t buf[256];

    /* every truncation of a valid message fails, reading only what it was given */
    int accepted = 0;
    for (size_t len = 0; len < sizeof rfc_request; len++) {
        uint8_t *p = len ? malloc(len) : NULL;
        if (p)
            memcpy(p, rfc_request, len);
        accepted += pl_stun_parse(p, len, &m) == 0;
        free(p);
    }
    CHECK_EQ_INT(accepted, 0);
    CHECK(pl_stun_parse(NULL, 20, &m) < 0);

    /* trailing bytes beyond the header length */
    memcpy(buf, rfc_request, sizeof rfc_request);
    memset(buf + sizeof rfc_request, 0, 4);
    CHECK(pl_stun_parse(buf, sizeof rfc_request + 4, &m) < 0);

    /* header: top bits, cookie, length not a multiple of 4 */
    size_t n = make_msg(buf, NULL, 0);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    buf[0] = 0x40;
    CHECK(pl_stun_parse(buf, n, &m) < 0);
    CHECK(!pl_stun_is_stun(buf, n));
    buf[0] = 0x00;
    buf[4] = 0x22;
    CHECK(pl_stun_parse(buf, n, &m) < 0);
    CHECK(!pl_stun_is_stun(buf, n));
    static const uint8_t two[] = {0x00, 0x25, 0x00, 0x00, 0xff, 0xff};
    n = make_msg(buf, two, 6);
    CHECK(pl_stun_parse(buf, n, &m) < 0);
    CHECK(!pl_stun_is_stun(buf, n));
    CHECK(!pl_stun_is_stun(buf, 19));

    /* attribute length past the body, and padding past the body */
    static const uint8_t over[] = {0x00, 0x06, 0x00, 0x09, 'a', 'b', 'c', 'd'};
    CHECK(parse_body(over, sizeof over, &m) < 0);
    static const uint8_t pad[] = {0x00, 0x06, 0x00, 0x05, 'a', 'b', 'c', 'd'};
    CHECK(parse_body(pad, sizeof pad, &m) < 0);
    static const uint8_t padok[] = {0x00, 0x06, 0x00, 0x03, 'a', 'b', 'c', 0x00};
    CHECK_EQ_INT(parse_body(padok, sizeof padok, &m), 0);
    static const uint8_t huge[] = {0x00, 0x06, 0xff, 0xfc, 'a', 'b', 'c', 'd'};
    CHECK(parse_body(huge, sizeof huge, &m) < 0);

    /* known attributes with wrong sizes or values */
    static const uint8_t prio3[] = {0x00, 0x24, 0x00, 0x03, 1, 2, 3, 0};
    CHECK(parse_body(prio3, sizeof prio3, &m) < 0);
    static const uint8_t usecand[] = {0x00, 0x25, 0x00, 0x01, 1, 0, 0, 0};
    CHECK(parse_body(usecand, sizeof usecand, &m) < 0);
    static const uint8_t ctl4[] = {0x80, 0x2a, 0x00, 0x04, 1, 2, 3, 4};
    CHECK(parse_body(ctl4, sizeof ctl4, &m) < 0);
    static const uint8_t mi4[] = {0x00, 0x08, 0x00, 0x04, 1, 2, 3, 4};
    CHECK(parse_body(mi4, sizeof mi4, &m) < 0);
    static const uint8_t fp8[] = {0x80, 0x28, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(parse_body(fp8, sizeof fp8, &m) < 0);
    static const uint8_t xfam[] = {0x00, 0x20, 0x00, 0x08, 0, 3, 0, 0, 1, 2, 3, 4};
    CHECK(parse_body(xfam, sizeof xfam, &m) < 0);
    static const uint8_t xv4len[] = {0x00, 0x20, 0x00, 0x14, 0, 1, 0, 0, 1, 2, 3, 4,
                                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(parse_body(xv4len, sizeof xv4len, &m) < 0);
    static const uint8_t xv6len[] = {0x00, 0x20, 0x00, 0x08, 0, 2, 0, 0, 1, 2, 3, 4};
    CHECK(parse_body(xv6len, sizeof xv6len, &m) < 0);
    static const uint8_t xshort[] = {0x00, 0x20, 0x00, 0x02, 0, 1, 0, 0};
    CHECK(parse_body(xshort, sizeof xshort, &m) < 0);
    static const uint8_t err299[] = {0x00, 0x09, 0x00, 0x04, 0, 0, 2, 99};
    CHECK(parse_body(err299, sizeof err299, &m) < 0);
    static const uint8_t err4100[] = {0x00, 0x09, 0x00, 0x04, 0, 0, 4, 100};
    CHECK(parse_body(err4100, sizeof err4100, &m) < 0);
    static const uint8_t err3[] = {0x00, 0x09, 0x00, 0x03, 0, 0, 4, 0};
    CHECK(parse_body(err3, sizeof err3, &m) < 0);
    uint8_t longuser[4 + 516] = {0x00, 0x06, 0x02, 0x01}; /* 513 bytes */
    CHECK(parse_body(longuser, sizeof longuser, &m) < 0);
    longuser[2] = 0x02, longuser[3] = 0x00; /* 512 bytes: allowed */
    CHECK_EQ_INT(parse_body(longuser, 4 + 512, &m), 0);

    /* unknown attributes are skipped; only the first of a kind counts */
    static const uint8_t unknown[] = {0x7f, 0xff, 0x00, 0x02, 9, 9, 0, 0,
                                      0x00, 0x24, 0x00, 0x04, 0, 0, 0, 7,
                                      0x00, 0x24, 0x00, 0x04, 0, 0, 0, 8};
    CHECK_EQ_INT(parse_body(unknown, sizeof unknown, &m), 0);
    CHECK(m.has_priority && m.priority == 7);

    /* FINGERPRINT must be last */
    static const uint8_t fpnotlast[] = {0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4,
                                        0x00, 0x25, 0x00, 0x00};
    CHECK(parse_body(fpnotlast, sizeof fpnotlast, &m) < 0);
    static const uint8_t twofp[] = {0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4,
                                    0x80, 0x28, 0x00, 0x04, 1, 2, 3, 4};
    CHECK(parse_body(twofp, sizeof twofp, &m) < 0);

    /* attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored */
    uint8_t after[4 + 20 + 8 + 4 + 12];
    memset(after, 0, sizeof after);
    after[1] = 0x08, after[3] = 20;                              /* MESSAGE-INTEGRITY */
    after[24 + 1] = 0x24, after[24 + 3] = 4, after[24 + 7] = 5;  /* PRIORITY 5 */
    after[32 + 1] = 0x25;                                        /* USE-CANDIDATE */
    after[36 + 1] = 0x06, after[36 + 3] = 8;                     /* USERNAME */
    memcpy(after + 40, "late:one", 8);
    CHECK_EQ_INT(parse_body(after, sizeof after, &m), 0);
    CHECK_EQ_INT(m.integrity_offset, 20);
    CHECK(!m.has_priority && !m.use_candidate && m.username == NULL);
    /* ... but their framing is still checked */
    after[36 + 3] = 13;
    CHECK(parse_body(after, sizeof after, &m) < 0);

    /* check functions refuse a message without the attribute, or a mismatched buffer */
    n = make_msg(buf, NULL, 0);
    CHECK_EQ_INT(pl_stun_parse(buf, n, &m), 0);
    CHECK(!pl_stun_check_fingerprint(buf, n, &m));
    CHECK(!pl_stun_check_integrity(buf, n, &m, "k", 1));
    CHECK_EQ_INT(pl_stun_parse(rfc_request, sizeof rfc_request, &m), 0);
    CHECK(!pl_stun_check_fingerprint(rfc_request, 40, &m));
    CHECK(!pl_stun_check_integrity(rfc_request, 40, &m, rfc_password, strlen(rfc_password)));
    CHECK(!pl_stun_check_integrity(rfc_request, sizeof rfc_request, &m, NULL, 3));
}

static void test_is_stun(void)
{
    CHECK(pl_stun_is_stun(rfc_request, sizeof rfc_request));
    CHECK(!pl_stun_is_stun(NULL, 0));
    static const uint8_t rtp[20] = {0x80, 0x60, 0x00, 0x01, 0x21, 0x12, 0xa4, 0x42};
    CHECK(!pl_stun_is_stun(rtp, sizeof rtp));
    static const uint8_t dtls[20] = {0x16, 0xfe, 0xfd};
    CHECK(!pl_stun_is_stun(dtls, sizeof dtls));
}

int main(void)
{
    test_rfc5769_request();
    test_rfc5769_response_v4();
    test_rfc5769_response_v6();
    test_build_success();
    test_build_error();
    test_build_request();
    test_malformed();
    test_is_stun();
    return check_result("stun");
}
