/* Join tokens: compact JWS (RFC 7515) with alg HS256 carrying JWT claims (RFC 7519).
 *
 * Verification order is the security argument: the header's alg is checked first (so "none"
 * and other algorithms can never be selected by the sender), then the HMAC over the exact bytes
 * received, and only then are the claims parsed, so nothing unsigned is ever trusted. Base64url
 * decoding is strict, which makes every byte string have exactly one accepted encoding: a
 * changed character can never decode to the signed bytes. */
#include "parley/token.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_LEN 32 /* HMAC-SHA256 */
/* Room for any decoded part of an accepted token (3 bytes per 4 characters). */
#define PART_MAX (PL_TOKEN_MAX_LEN / 4 * 3 + 3)

static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char *const role_names[] = {"participant", "host", "recorder"};
#define ROLE_COUNT (sizeof role_names / sizeof role_names[0])

const char *pl_role_name(enum pl_role role)
{
    /* Never NULL, so it is always safe to print. */
    return (unsigned)role < ROLE_COUNT ? role_names[role] : "unknown";
}

int pl_role_parse(const char *name)
{
    for (size_t i = 0; name && i < ROLE_COUNT; i++)
        if (strcmp(name, role_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- base64url without padding (RFC 7515 section 2) ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Writes b64_len(n) characters and a NUL to out; returns b64_len(n). */
static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    size_t rem = n - i;
    if (rem) {
        uint32_t v = (uint32_t)in[i] << 16 | (rem == 2 ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        if (rem == 2)
            out[o++] = b64_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1; /* including '=', '+', '/', whitespace and NUL */
}

/* Strict decode into out (cap bytes). Rejects padding, characters outside the alphabet, a
 * length that leaves a lone 6-bit group, and non-zero unused bits in the last character. */
static bool b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
        return false;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return false; /* non-canonical: another string encodes the same bytes */
    *out_len = o;
    return true;
}

static bool hmac_sha256(const uint8_t *key, size_t key_len, const char *data, size_t n,
                        uint8_t out[SIG_LEN])
{
    size_t out_len = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
                     (const unsigned char *)data, n, out, SIG_LEN, &out_len) != NULL &&
           out_len == SIG_LEN;
}

/* ---- minting ---- */

static bool id_ok(const char *id)
{
    size_t n = strnlen(id, PL_TOKEN_ID_MAX + 1); /* the array may lack its NUL */
    return n >= 1 && n <= PL_TOKEN_ID_MAX;
}

char *pl_token_mint(const uint8_t *secret, size_t secret_len, const struct pl_token *t)
{
    if (!secret || secret_len == 0 || !t || !id_ok(t->meeting_id) || !id_ok(t->account_id) ||
        !id_ok(t->tenant_id) || (unsigned)t->role >= ROLE_COUNT)
        return NULL;

    /* Fixed claim order and compact output, so the same claims always give the same token.
     * json_pack fails on ids that are not UTF-8. */
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "meeting_id", t->meeting_id,
                               "account_id", t->account_id, "tenant_id", t->tenant_id, "role",
                               role_names[t->role], "iat", (json_int_t)t->iat, "exp",
                               (json_int_t)t->exp);
    if (!claims)
        return NULL;
    char payload[PART_MAX];
    size_t payload_len = json_dumpb(claims, payload, sizeof payload, JSON_COMPACT);
    json_decref(claims);
    if (payload_len == 0 || payload_len > sizeof payload)
        return NULL;

    size_t header_len = sizeof header_json - 1;
    size_t total = b64_len(header_len) + 1 + b64_len(payload_len) + 1 + b64_len(SIG_LEN);
    if (total > PL_TOKEN_MAX_LEN)
        return NULL; /* could not be verified; cannot happen with 128-byte ids */
    char *tok = malloc(total + 1);
    if (!tok)
        return NULL;
    size_t n = b64_encode((const uint8_t *)header_json, header_len, tok);
    tok[n++] = '.';
    n += b64_encode((const uint8_t *)payload, payload_len, tok + n);
    uint8_t sig[SIG_LEN];
    if (!hmac_sha256(secret, secret_len, tok, n, sig)) {
        free(tok);
        return NULL;
    }
    tok[n++] = '.';
    b64_encode(sig, SIG_LEN, tok + n);
    return tok;
}

/* ---- verification ---- */

static enum pl_token_result fail(char *err, size_t errlen, enum pl_token_result rc,
                                 const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return rc;
}

/* JSON object from decoded bytes. Duplicate keys are rejected so no two readers of the same
 * token can disagree about its alg or claims; jansson also rejects trailing data and NUL
 * inside strings by default. */
static json_t *parse_object(const uint8_t *buf, size_t n)
{
    json_t *j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static bool get_id(json_t *claims, const char *key, char dst[PL_TOKEN_ID_MAX + 1])
{
    json_t *v = json_object_get(claims, key);
    if (!json_is_string(v))
        return false;
    size_t n = json_string_length(v);
    if (n < 1 || n > PL_TOKEN_ID_MAX)
        return false;
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return true;
}

static bool get_int(json_t *claims, const char *key, int64_t *dst)
{
    json_t *v = json_object_get(claims, key);
    if (!json_is_integer(v)) /* 1.0, "1" and 1e3 are not integers */
        return false;
    *dst = (int64_t)json_integer_value(v);
    return true;
}

enum pl_token_result pl_token_verify(const uint8_t *secret, size_t secret_len, const char *token,
                                     size_t len, int64_t now, struct pl_token *out, char *err,
                                     size_t errlen)
{
    static const char malformed[] = "token is malformed";
    if (out)
        memset(out, 0, sizeof *out); /* only an accepted token fills it */
    if (!token || len == 0)
        return fail(err, errlen, PL_TOKEN_MALFORMED, "token is missing");
    if (len > PL_TOKEN_MAX_LEN)
        return fail(err, errlen, PL_TOKEN_MALFORMED, "token is too long");

    /* Exactly three parts: header.payload.signature. */
    const char *end = token + len;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)))
        return fail(err, errlen, PL_TOKEN_MALFORMED, malformed);

    /* Decode all three first, so bad encoding is reported as such whatever the signature. */
    uint8_t header[PART_MAX], payload[PART_MAX], sig[PART_MAX];
    size_t header_len, payload_len, sig_len;
    if (!b64_decode(token, (size_t)(dot1 - token), header, sizeof header, &header_len) ||
        !b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof payload,
                    &payload_len) ||
        !b64_decode(dot2 + 1, (size_t)(end - dot2 - 1), sig, sizeof sig, &sig_len))
        return fail(err, errlen, PL_TOKEN_MALFORMED, malformed);

    json_t *h = parse_object(header, header_len);
    if (!h)
        return fail(err, errlen, PL_TOKEN_MALFORMED, malformed);
    json_t *alg = json_object_get(h, "alg");
    bool alg_ok = json_is_string(alg) && json_string_length(alg) == 5 &&
                  memcmp(json_string_value(alg), "HS256", 5) == 0;
    /* RFC 7515 4.1.11: extensions listed in "crit" must be understood; we understand none. */
    bool has_crit = json_object_get(h, "crit") != NULL;
    json_decref(h);
    if (!alg_ok)
        return fail(err, errlen, PL_TOKEN_BAD_ALG, "token algorithm is not HS256");
    if (has_crit)
        return fail(err, errlen, PL_TOKEN_MALFORMED, malformed);

    /* The MAC covers the characters as received, not a re-encoding. An empty secret (a node
     * without one configured) verifies nothing. */
    uint8_t mac[SIG_LEN];
    if (!secret || secret_len == 0 || sig_len != SIG_LEN ||
        !hmac_sha256(secret, secret_len, token, (size_t)(dot2 - token), mac) ||
        CRYPTO_memcmp(mac, sig, SIG_LEN) != 0)
        return fail(err, errlen, PL_TOKEN_BAD_SIGNATURE, "token signature does not match");

    /* Signed by the control plane from here on, but still checked: a bug there must not
     * become an overflow here. */
    json_t *claims = parse_object(payload, payload_len);
    if (!claims)
        return fail(err, errlen, PL_TOKEN_MALFORMED, malformed);
    struct pl_token t;
    memset(&t, 0, sizeof t);
    json_t *role = json_object_get(claims, "role");
    int role_value = json_is_string(role) ? pl_role_parse(json_string_value(role)) : -1;
    const char *msg = NULL;
    if (!get_id(claims, "meeting_id", t.meeting_id))
        msg = "token meeting_id is missing or invalid";
    else if (!get_id(claims, "account_id", t.account_id))
        msg = "token account_id is missing or invalid";
    else if (!get_id(claims, "tenant_id", t.tenant_id))
        msg = "token tenant_id is missing or invalid";
    else if (!json_is_string(role))
        msg = "token role is missing or invalid";
    else if (role_value < 0)
        msg = "token role is unknown";
    else if (!get_int(claims, "exp", &t.exp))
        msg = "token exp is missing or invalid";
    else if (!get_int(claims, "iat", &t.iat))
        msg = "token iat is missing or invalid";
    json_decref(claims); /* role and its string die here; role_value is all we keep */
    if (msg)
        return fail(err, errlen, PL_TOKEN_MALFORMED, msg);

    t.role = (enum pl_role)role_value;
    if (t.exp <= now)
        return fail(err, errlen, PL_TOKEN_EXPIRED, "token expired");
    if (out)
        *out = t;
    if (err && errlen)
        err[0] = '\0';
    return PL_TOKEN_OK;
}
