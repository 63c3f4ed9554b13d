/* Join tokens (common/token.c): round trips, a known answer computed with the openssl CLI, the
 * RFC 7515 A.1 example, and every way a token can be wrong. Tokens the minter would never make
 * are built here with OpenSSL's own base64 and HMAC, independent of the code under test. */
#include <limits.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parley/token.h"

#define SECRET ((const uint8_t *)"parley-test-secret")
#define SECRET_LEN 18
#define NOW INT64_C(1700000000)

/* Known answer: header.payload below, signature from
 *   printf %s "$H.$P" | openssl dgst -sha256 -hmac parley-test-secret -binary | basenc --base64url
 * with the padding removed. The payload is the claims in the minter's fixed order. */
static const char kat_claims[] = "{\"meeting_id\":\"m-123\",\"account_id\":\"alice\",\"tenant_id\":"
                                 "\"acme\",\"role\":\"host\",\"iat\":1700000000,\"exp\":1700003600}";
static const char kat_token[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJtZWV0aW5nX2lkIjoibS0xMjMiLCJhY2NvdW50X2lkIjoiYWxpY2UiLCJ0ZW5hbnRfaWQiOiJhY21lIiwicm9sZSI6"
    "Imhvc3QiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMH0."
    "DWwuv-6iT-FqCeyjyRpuCec0U45cCOxKR7zh1DxQgDo";

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- helpers ---- */

/* base64url without padding, via OpenSSL's standard base64. out needs 4 * (n + 2) / 3 + 1. */
static void b64url(const void *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    for (int i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
        else if (out[i] == '=')
            out[i] = '\0';
    }
    out[len] = '\0';
}

static char tokbuf[16384];

/* hdr.pay.signature from already-encoded parts, signed with SECRET. */
static const char *sign_parts(const char *hdr, const char *pay)
{
    snprintf(tokbuf, sizeof tokbuf, "%s.%s", hdr, pay);
    size_t n = strlen(tokbuf), mac_len = 0;
    uint8_t mac[32];
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, SECRET_LEN,
                   (const unsigned char *)tokbuf, n, mac, sizeof mac, &mac_len) ||
        mac_len != 32)
        abort();
    tokbuf[n++] = '.';
    b64url(mac, sizeof mac, tokbuf + n);
    return tokbuf;
}

static const char *sign_json(const char *hdr_json, const char *pay_json)
{
    static char h[8192], p[8192];
    b64url(hdr_json, strlen(hdr_json), h);
    b64url(pay_json, strlen(pay_json), p);
    return sign_parts(h, p);
}

static const char *std_header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static struct pl_token last;
static char last_err[128];

/* Verifies the first n bytes of tok from an exact-size copy without a NUL, so ASan catches any
 * read past the token. */
static int verify_n(const uint8_t *secret, size_t secret_len, const char *tok, size_t n,
                    int64_t now)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, tok, n);
    memset(&last, 0x5a, sizeof last); /* failure must clear it */
    strcpy(last_err, "unset");
    int rc = pl_token_verify(secret, secret_len, copy, n, now, &last, last_err, sizeof last_err);
    free(copy);
    if (rc != PL_TOKEN_OK)
        CHECK(last.meeting_id[0] == '\0' && last.exp == 0);
    else
        CHECK(last_err[0] == '\0');
    CHECK(strcmp(last_err, "unset") != 0);
    return rc;
}

static int verify(const char *tok)
{
    return verify_n(SECRET, SECRET_LEN, tok, strlen(tok), NOW);
}

static int verify_claims(const char *claims)
{
    return verify(sign_json(std_header, claims));
}

static struct pl_token make(const char *meeting, const char *account, const char *tenant,
                            enum pl_role role, int64_t iat, int64_t exp)
{
    struct pl_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.meeting_id, sizeof t.meeting_id, "%s", meeting);
    snprintf(t.account_id, sizeof t.account_id, "%s", account);
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", tenant);
    t.role = role;
    t.iat = iat;
    t.exp = exp;
    return t;
}

static int same(const struct pl_token *a, const struct pl_token *b)
{
    return strcmp(a->meeting_id, b->meeting_id) == 0 &&
           strcmp(a->account_id, b->account_id) == 0 &&
           strcmp(a->tenant_id, b->tenant_id) == 0 && a->role == b->role &&
           a->exp == b->exp && a->iat == b->iat;
}

/* ---- tests ---- */

static void test_roles(void)
{
    CHECK(strcmp(pl_role_name(PL_ROLE_PARTICIPANT), "participant") == 0);
    CHECK(strcmp(pl_role_name(PL_ROLE_HOST), "host") == 0);
    CHECK(strcmp(pl_role_name(PL_ROLE_RECORDER), "recorder") == 0);
    CHECK(strcmp(pl_role_name((enum pl_role)7), "unknown") == 0);
    CHECK_EQ_INT(pl_role_parse("participant"), PL_ROLE_PARTICIPANT);
    CHECK_EQ_INT(pl_role_parse("host"), PL_ROLE_HOST);
    CHECK_EQ_INT(pl_role_parse("recorder"), PL_ROLE_RECORDER);
    CHECK_EQ_INT(pl_role_parse("Host"), -1);
    CHECK_EQ_INT(pl_role_parse("host "), -1);
    CHECK_EQ_INT(pl_role_parse(""), -1);
    CHECK_EQ_INT(pl_role_parse("unknown"), -1);
    CHECK_EQ_INT(pl_role_parse(NULL), -1);
}

static void test_round_trip(void)
{
    const enum pl_role roles[] = {PL_ROLE_PARTICIPANT, PL_ROLE_HOST, PL_ROLE_RECORDER};
    for (size_t i = 0; i < 3; i++) {
        struct pl_token t = make("meeting-42", "acct/7", "tenant \"x\" é", roles[i], NOW - 10,
                                 NOW + 3600);
        char *tok = pl_token_mint(SECRET, SECRET_LEN, &t);
        CHECK(tok != NULL);
        if (!tok)
            continue;
        CHECK(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0);
        CHECK(strspn(tok, b64_alphabet) == 36);
        CHECK_EQ_INT(verify(tok), PL_TOKEN_OK);
        CHECK(same(&last, &t));
        char *again = pl_token_mint(SECRET, SECRET_LEN, &t);
        CHECK(again && strcmp(tok, again) == 0); /* deterministic */
        free(again);
        free(tok);
    }
}

static void test_known_answer(void)
{
    /* Our encoding of the claims is the bytes the openssl CLI signed. */
    char p[512];
    b64url(kat_claims, strlen(kat_claims), p);
    CHECK(strstr(kat_token, p) != NULL);

    CHECK_EQ_INT(verify(kat_token), PL_TOKEN_OK);
    struct pl_token want = make("m-123", "alice", "acme", PL_ROLE_HOST, 1700000000, 1700003600);
    CHECK(same(&last, &want));

    char *tok = pl_token_mint(SECRET, SECRET_LEN, &want);
    CHECK(tok && strcmp(tok, kat_token) == 0);
    free(tok);

    /* RFC 7515 appendix A.1: a different header (typ first, CRLF and spaces inside) and key.
     * Its claims are not ours, so it must fail on the claims, i.e. after the signature matched;
     * with any other key it fails on the signature. */
    static const char rfc_token[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    static const uint8_t rfc_key[] = {
        3,   35,  53,  75,  43,  15,  165, 188, 131, 126, 6,   101, 119, 123, 166, 143,
        90,  179, 40,  230, 240, 84,  201, 40,  169, 15,  132, 178, 210, 80,  46,  191,
        211, 251, 90,  146, 210, 6,   71,  239, 150, 138, 180, 195, 119, 98,  61,  34,
        61,  46,  33,  114, 5,   46,  79,  8,   192, 205, 154, 245, 103, 208, 128, 163};
    CHECK_EQ_INT(verify_n(rfc_key, sizeof rfc_key, rfc_token, strlen(rfc_token), NOW),
                 PL_TOKEN_MALFORMED);
    CHECK(strcmp(last_err, "token meeting_id is missing or invalid") == 0);
    CHECK_EQ_INT(verify_n(rfc_key, sizeof rfc_key - 1, rfc_token, strlen(rfc_token), NOW),
                 PL_TOKEN_BAD_SIGNATURE);
}

static void test_wrong_secret(void)
{
    CHECK_EQ_INT(verify_n((const uint8_t *)"parley-test-secreT", 18, kat_token,
                          strlen(kat_token), NOW),
                 PL_TOKEN_BAD_SIGNATURE);
    CHECK(strcmp(last_err, "token signature does not match") == 0);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN - 1, kat_token, strlen(kat_token), NOW),
                 PL_TOKEN_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_n(SECRET, 0, kat_token, strlen(kat_token), NOW),
                 PL_TOKEN_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_n(NULL, 0, kat_token, strlen(kat_token), NOW), PL_TOKEN_BAD_SIGNATURE);
    /* The signature is checked before the claims: expired or broken claims under a wrong
     * secret are a signature failure. */
    const char *tok = sign_json(std_header, "{\"meeting_id\":5}");
    CHECK_EQ_INT(verify_n((const uint8_t *)"other", 5, tok, strlen(tok), NOW),
                 PL_TOKEN_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_n((const uint8_t *)"other", 5, kat_token, strlen(kat_token), NOW + 1000000),
                 PL_TOKEN_BAD_SIGNATURE);
}

static void test_every_bit_and_length(void)
{
    size_t n = strlen(kat_token);
    char *tok = malloc(n + 2);
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            memcpy(tok, kat_token, n + 1);
            tok[i] = (char)(tok[i] ^ (1 << bit));
            int rc = verify_n(SECRET, SECRET_LEN, tok, n, NOW);
            if (rc == PL_TOKEN_OK)
                fprintf(stderr, "flip of bit %d at %zu accepted\n", bit, i);
            CHECK(rc != PL_TOKEN_OK);
        }
    for (size_t len = 0; len < n; len++)
        CHECK(verify_n(SECRET, SECRET_LEN, kat_token, len, NOW) != PL_TOKEN_OK);
    /* One character more, wherever it goes. */
    for (size_t i = 0; i <= n; i++) {
        memcpy(tok, kat_token, i);
        tok[i] = 'A';
        memcpy(tok + i + 1, kat_token + i, n - i + 1);
        CHECK(verify_n(SECRET, SECRET_LEN, tok, n + 1, NOW) != PL_TOKEN_OK);
    }
    free(tok);
}

static void test_alg(void)
{
    const char *claims = kat_claims;
    char h[128], p[512], unsigned_tok[1024];
    b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", 26, h);
    b64url(claims, strlen(claims), p);
    snprintf(unsigned_tok, sizeof unsigned_tok, "%s.%s.", h, p);
    CHECK_EQ_INT(verify(unsigned_tok), PL_TOKEN_BAD_ALG);
    CHECK(strcmp(last_err, "token algorithm is not HS256") == 0);

    static const char *const bad[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
        "{\"alg\":\"hs256\"}", "{\"alg\":\"HS256 \"}", "{\"alg\":\"RS256\"}", "{\"alg\":256}",
        "{\"alg\":null}", "{\"alg\":[\"HS256\"]}", "{\"typ\":\"JWT\"}", "{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(verify(sign_json(bad[i], claims)), PL_TOKEN_BAD_ALG);

    static const char *const malformed[] = {
        "[\"HS256\"]", "\"HS256\"", "not json", "", "{\"alg\":\"HS256\",\"alg\":\"none\"}",
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"alg\":\"HS256\\u0000\"}",
        "{\"alg\":\"HS256\"} {}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        CHECK_EQ_INT(verify(sign_json(malformed[i], claims)), PL_TOKEN_MALFORMED);
        CHECK(strcmp(last_err, "token is malformed") == 0);
    }

    /* Any object with alg HS256 will do. */
    CHECK_EQ_INT(verify(sign_json("{\"alg\":\"HS256\"}", claims)), PL_TOKEN_OK);
    CHECK_EQ_INT(verify(sign_json("{ \"typ\" : \"jwt\", \"kid\":\"k1\", \"alg\":\"HS256\" }", claims)),
                 PL_TOKEN_OK);
}

static void test_claims(void)
{
    CHECK_EQ_INT(verify_claims(kat_claims), PL_TOKEN_OK);
    /* Unknown claims and any order are fine. */
    CHECK_EQ_INT(verify_claims("{\"exp\":1700003600,\"iss\":\"cp\",\"role\":\"recorder\",\"iat\":0,"
                               "\"tenant_id\":\"t\",\"account_id\":\"a\",\"meeting_id\":\"m\","
                               "\"nbf\":{\"x\":[1,2]}}"),
                 PL_TOKEN_OK);
    CHECK_EQ_INT(last.role, PL_ROLE_RECORDER);
    CHECK(strcmp(last.meeting_id, "m") == 0 && last.iat == 0);

    static const struct {
        const char *claims, *err;
    } bad[] = {
        {"{\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\",\"iat\":1,\"exp\":2000000000}",
         "token meeting_id is missing or invalid"},
        {"{\"meeting_id\":7,\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\",\"iat\":1,"
         "\"exp\":2000000000}",
         "token meeting_id is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":null,\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":2000000000}",
         "token account_id is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"role\":\"host\",\"iat\":1,"
         "\"exp\":2000000000}",
         "token tenant_id is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"\",\"role\":\"host\","
         "\"iat\":1,\"exp\":2000000000}",
         "token tenant_id is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":[\"t\"],\"role\":\"host\","
         "\"iat\":1,\"exp\":2000000000}",
         "token tenant_id is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"iat\":1,"
         "\"exp\":2000000000}",
         "token role is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":1,\"iat\":1,"
         "\"exp\":2000000000}",
         "token role is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"admin\","
         "\"iat\":1,\"exp\":2000000000}",
         "token role is unknown"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"Host\","
         "\"iat\":1,\"exp\":2000000000}",
         "token role is unknown"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1}",
         "token exp is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":\"2000000000\"}",
         "token exp is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":2000000000.0}",
         "token exp is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":2e9}",
         "token exp is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":true}",
         "token exp is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"exp\":2000000000}",
         "token iat is missing or invalid"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":\"1\",\"exp\":2000000000}",
         "token iat is missing or invalid"},
        /* Not parseable as one JSON object. */
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":99999999999999999999}",
         "token is malformed"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"participant\","
         "\"role\":\"host\",\"iat\":1,\"exp\":2000000000}",
         "token is malformed"},
        {"{\"meeting_id\":\"m\\u0000x\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":2000000000}",
         "token is malformed"},
        {"{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
         "\"iat\":1,\"exp\":2000000000} x",
         "token is malformed"},
        {"[{\"meeting_id\":\"m\"}]", "token is malformed"},
        {"null", "token is malformed"},
        {"", "token is malformed"},
        {"{", "token is malformed"},
        {"\xff\xfe", "token is malformed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = verify_claims(bad[i].claims);
        CHECK_EQ_INT(rc, PL_TOKEN_MALFORMED);
        if (strcmp(last_err, bad[i].err) != 0)
            fprintf(stderr, "claims %zu: err \"%s\", want \"%s\"\n", i, last_err, bad[i].err);
        CHECK(strcmp(last_err, bad[i].err) == 0);
    }
}

static void test_id_lengths(void)
{
    char id[PL_TOKEN_ID_MAX + 2], claims[1024];
    /* Limits count bytes: 128 ASCII, or 64 two-byte characters. */
    memset(id, 'x', sizeof id);
    id[PL_TOKEN_ID_MAX] = '\0';
    for (int field = 0; field < 3; field++) {
        for (int extra = 0; extra <= 1; extra++) {
            id[PL_TOKEN_ID_MAX] = extra ? 'x' : '\0';
            id[PL_TOKEN_ID_MAX + 1] = '\0';
            snprintf(claims, sizeof claims,
                     "{\"meeting_id\":\"%s\",\"account_id\":\"%s\",\"tenant_id\":\"%s\","
                     "\"role\":\"host\",\"iat\":1,\"exp\":2000000000}",
                     field == 0 ? id : "m", field == 1 ? id : "a", field == 2 ? id : "t");
            CHECK_EQ_INT(verify_claims(claims), extra ? PL_TOKEN_MALFORMED : PL_TOKEN_OK);
        }
    }
    char utf8[200] = "";
    for (int i = 0; i < 64; i++)
        strcat(utf8, "\xc3\xa9");
    snprintf(claims, sizeof claims,
             "{\"meeting_id\":\"%s\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
             "\"iat\":1,\"exp\":2000000000}",
             utf8);
    CHECK_EQ_INT(verify_claims(claims), PL_TOKEN_OK);
    CHECK(strcmp(last.meeting_id, utf8) == 0);
    strcat(utf8, "\xc3\xa9");
    snprintf(claims, sizeof claims,
             "{\"meeting_id\":\"%s\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
             "\"iat\":1,\"exp\":2000000000}",
             utf8);
    CHECK_EQ_INT(verify_claims(claims), PL_TOKEN_MALFORMED);
}

static void test_mint_rejects(void)
{
    struct pl_token ok = make("m", "a", "t", PL_ROLE_HOST, NOW, NOW + 60);
    char *tok = pl_token_mint(SECRET, SECRET_LEN, &ok);
    CHECK(tok != NULL);
    free(tok);
    CHECK(pl_token_mint(SECRET, 0, &ok) == NULL);
    CHECK(pl_token_mint(NULL, 0, &ok) == NULL);
    CHECK(pl_token_mint(SECRET, SECRET_LEN, NULL) == NULL);

    struct pl_token t = ok;
    t.meeting_id[0] = '\0';
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);
    t = ok;
    t.account_id[0] = '\0';
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);
    t = ok;
    t.tenant_id[0] = '\0';
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);
    t = ok;
    memset(t.tenant_id, 'x', sizeof t.tenant_id); /* 129 bytes, no NUL */
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);
    t = ok;
    t.role = (enum pl_role)3;
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);
    t = ok;
    t.role = (enum pl_role)-1;
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);
    t = ok;
    strcpy(t.account_id, "bad \xff utf-8");
    CHECK(pl_token_mint(SECRET, SECRET_LEN, &t) == NULL);

    /* The largest token the minter can make still fits PL_TOKEN_MAX_LEN: 128-byte ids that
     * JSON escapes six times over, and the widest integers. */
    memset(t.meeting_id, '\x01', PL_TOKEN_ID_MAX);
    t.meeting_id[PL_TOKEN_ID_MAX] = '\0';
    memcpy(t.account_id, t.meeting_id, sizeof t.meeting_id);
    memcpy(t.tenant_id, t.meeting_id, sizeof t.meeting_id);
    t.role = PL_ROLE_RECORDER;
    t.iat = INT64_MIN;
    t.exp = INT64_MAX;
    tok = pl_token_mint(SECRET, SECRET_LEN, &t);
    CHECK(tok != NULL);
    if (tok) {
        CHECK(strlen(tok) <= PL_TOKEN_MAX_LEN);
        CHECK_EQ_INT(verify(tok), PL_TOKEN_OK);
        CHECK(same(&last, &t));
        free(tok);
    }
}

static void test_expiry(void)
{
    struct pl_token t = make("m", "a", "t", PL_ROLE_PARTICIPANT, NOW - 100, NOW);
    char *tok = pl_token_mint(SECRET, SECRET_LEN, &t);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, tok, strlen(tok), NOW), PL_TOKEN_EXPIRED);
    CHECK(strcmp(last_err, "token expired") == 0);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, tok, strlen(tok), NOW + 1), PL_TOKEN_EXPIRED);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, tok, strlen(tok), INT64_MAX), PL_TOKEN_EXPIRED);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, tok, strlen(tok), NOW - 1), PL_TOKEN_OK);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, tok, strlen(tok), INT64_MIN), PL_TOKEN_OK);
    free(tok);
    t.exp = -1;
    tok = pl_token_mint(SECRET, SECRET_LEN, &t);
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, tok, strlen(tok), 0), PL_TOKEN_EXPIRED);
    free(tok);
}

/* Replaces the character at position i of s by the next one in the base64url alphabet. */
static void bump(char *s, size_t i)
{
    s[i] = b64_alphabet[(strchr(b64_alphabet, s[i]) - b64_alphabet + 1) % 64];
}

static void test_base64(void)
{
    char h[64], p[512], buf[1024];
    b64url(std_header, strlen(std_header), h);
    b64url(kat_claims, strlen(kat_claims), p);
    size_t pn = strlen(p);

    /* Padding, on a correctly signed text, is still refused. */
    snprintf(buf, sizeof buf, "%s==", p);
    CHECK_EQ_INT(verify(sign_parts(h, buf)), PL_TOKEN_MALFORMED);
    snprintf(buf, sizeof buf, "%s=", h);
    CHECK_EQ_INT(verify(sign_parts(buf, p)), PL_TOKEN_MALFORMED);
    snprintf(buf, sizeof buf, "%s=", kat_token);
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);

    /* Characters of standard base64, whitespace, NUL, anywhere in a part: refused when the
     * text is correctly signed, and refused as malformed (decoding comes before the signature
     * check) when it is not. */
    static const char bad_chars[] = {'+', '/', '=', ' ', '\n', '\0', '\x80', '%'};
    size_t n = strlen(kat_token);
    for (size_t i = 0; i < sizeof bad_chars; i++) {
        if (bad_chars[i] != '\0') {
            strcpy(buf, p);
            buf[10] = bad_chars[i];
            CHECK_EQ_INT(verify(sign_parts(h, buf)), PL_TOKEN_MALFORMED);
        }
        const size_t where[] = {3, 40, n - 5};
        for (size_t w = 0; w < 3; w++) {
            memcpy(buf, kat_token, n + 1);
            buf[where[w]] = bad_chars[i];
            CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, buf, n, NOW), PL_TOKEN_MALFORMED);
        }
    }
    snprintf(buf, sizeof buf, "%s\n", kat_token);
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);
    snprintf(buf, sizeof buf, " %s", kat_token);
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);

    /* A length that leaves 6 lone bits. */
    strcpy(buf, p);
    buf[pn / 4 * 4 - 3] = '\0';
    CHECK_EQ_INT(verify(sign_parts(h, buf)), PL_TOKEN_MALFORMED);
    snprintf(buf, sizeof buf, "%s.%s.%s", h, p, "AAAAA");
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);

    /* Non-canonical: the unused low bits of the last character set. It decodes to the same
     * bytes, so without the check the payload would parse and the signature would even
     * verify. Claims of 107 and 109 bytes (jansson allows trailing spaces) leave 2 and 4
     * unused bits; the 32-byte signature leaves 2. */
    static const char *const tails[] = {"", "  "};
    for (size_t i = 0; i < 2; i++) {
        char claims[256];
        snprintf(claims, sizeof claims, "%s%s", kat_claims, tails[i]);
        b64url(claims, strlen(claims), p);
        pn = strlen(p);
        CHECK_EQ_INT(pn % 4, i == 0 ? 3 : 2);
        CHECK_EQ_INT(verify(sign_parts(h, p)), PL_TOKEN_OK);
        strcpy(buf, p);
        bump(buf, pn - 1);
        CHECK_EQ_INT(verify(sign_parts(h, buf)), PL_TOKEN_MALFORMED);
    }
    memcpy(buf, kat_token, n + 1);
    bump(buf, n - 1);
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);
    CHECK(strcmp(last_err, "token is malformed") == 0);
}

static void test_shapes(void)
{
    CHECK_EQ_INT(verify(""), PL_TOKEN_MALFORMED);
    CHECK(strcmp(last_err, "token is missing") == 0);
    CHECK_EQ_INT(pl_token_verify(SECRET, SECRET_LEN, NULL, 0, NOW, NULL, NULL, 0),
                 PL_TOKEN_MALFORMED);
    CHECK_EQ_INT(pl_token_verify(SECRET, SECRET_LEN, NULL, 5, NOW, NULL, NULL, 0),
                 PL_TOKEN_MALFORMED);
    static const char *const shapes[] = {".", "..", "...", "a.b", "eyJ9.eyJ9", "a.b.c.d",
                                         "abc", "...."};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        CHECK_EQ_INT(verify(shapes[i]), PL_TOKEN_MALFORMED);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s.", kat_token);
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);
    snprintf(buf, sizeof buf, ".%s", kat_token);
    CHECK_EQ_INT(verify(buf), PL_TOKEN_MALFORMED);
}

static void test_sizes(void)
{
    /* The limit is on the whole token: find claims that make it exactly 4096, then 4097. */
    char claims[8192], pad[4096];
    int found = 0;
    for (size_t k = 2900; k < 3100 && found != 3; k++) {
        memset(pad, 'p', k);
        pad[k] = '\0';
        snprintf(claims, sizeof claims,
                 "{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\",\"role\":\"host\","
                 "\"iat\":1,\"exp\":2000000000,\"pad\":\"%s\"}",
                 pad);
        const char *tok = sign_json(std_header, claims);
        size_t n = strlen(tok);
        if (n == PL_TOKEN_MAX_LEN) {
            CHECK_EQ_INT(verify(tok), PL_TOKEN_OK);
            found |= 1;
        } else if (n == PL_TOKEN_MAX_LEN + 1) {
            CHECK_EQ_INT(verify(tok), PL_TOKEN_MALFORMED);
            CHECK(strcmp(last_err, "token is too long") == 0);
            found |= 2;
        }
    }
    CHECK_EQ_INT(found, 3);

    size_t huge = 1 << 20;
    char *big = malloc(huge);
    memset(big, 'A', huge);
    big[100] = '.';
    big[200] = '.';
    CHECK_EQ_INT(verify_n(SECRET, SECRET_LEN, big, huge, NOW), PL_TOKEN_MALFORMED);
    CHECK(strcmp(last_err, "token is too long") == 0);
    /* The length is checked before anything is read. */
    CHECK_EQ_INT(pl_token_verify(SECRET, SECRET_LEN, "x", SIZE_MAX, NOW, NULL, NULL, 0),
                 PL_TOKEN_MALFORMED);
    free(big);
}

static void test_outputs_optional(void)
{
    CHECK_EQ_INT(pl_token_verify(SECRET, SECRET_LEN, kat_token, strlen(kat_token), NOW, NULL,
                                 NULL, 0),
                 PL_TOKEN_OK);
    char err[5] = "xxxx";
    CHECK_EQ_INT(pl_token_verify(SECRET, 3, kat_token, strlen(kat_token), NOW, NULL, err,
                                 sizeof err),
                 PL_TOKEN_BAD_SIGNATURE);
    CHECK(strcmp(err, "toke") == 0); /* truncated, terminated */
    err[0] = 'x';
    CHECK_EQ_INT(pl_token_verify(SECRET, 3, kat_token, strlen(kat_token), NOW, NULL, err, 0),
                 PL_TOKEN_BAD_SIGNATURE);
    CHECK(err[0] == 'x'); /* errlen 0: untouched */
}

int main(void)
{
    test_roles();
    test_round_trip();
    test_known_answer();
    test_wrong_secret();
    test_every_bit_and_length();
    test_alg();
    test_claims();
    test_id_lengths();
    test_mint_rejects();
    test_expiry();
    test_base64();
    test_shapes();
    test_sizes();
    test_outputs_optional();
    return check_result("token");
}
