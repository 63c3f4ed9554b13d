/* libFuzzer target for common/token.c. Each input is tried three ways: as a whole token; as the
 * claims of a correctly signed token (random bytes never get past the signature, so this is how
 * the claim parser is reached); and as the header of a correctly signed token with good claims.
 * Whatever is accepted must be well formed and must re-mint to a token that verifies the same. */
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET ((const uint8_t *)"fuzz-secret")
#define SECRET_LEN 11
#define NOW INT64_C(1700000000)

static const char good_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static const char good_claims[] = "{\"meeting_id\":\"m\",\"account_id\":\"a\",\"tenant_id\":\"t\","
                                  "\"role\":\"host\",\"iat\":1700000000,\"exp\":1700003600}";

/* base64url without padding via OpenSSL; out needs 4 * (n + 2) / 3 + 1 bytes. */
static size_t b64url(const void *in, size_t n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return (size_t)len;
}

/* Verifies from an exact-size copy (no NUL), so any read past the token is caught. */
static int verify(const char *tok, size_t n, struct pl_token *out)
{
    char *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    if (n)
        memcpy(copy, tok, n);
    char err[64];
    int rc = pl_token_verify(SECRET, SECRET_LEN, copy, n, NOW, out, err, sizeof err);
    free(copy);
    if (rc != PL_TOKEN_OK && (rc < PL_TOKEN_EXPIRED || rc > PL_TOKEN_MALFORMED || !err[0]))
        abort(); /* unknown result, or a failure without a reason */
    return rc;
}

static void check_accepted(const struct pl_token *t)
{
    size_t m = strnlen(t->meeting_id, sizeof t->meeting_id);
    size_t a = strnlen(t->account_id, sizeof t->account_id);
    size_t n = strnlen(t->tenant_id, sizeof t->tenant_id);
    if (m < 1 || m > PL_TOKEN_ID_MAX || a < 1 || a > PL_TOKEN_ID_MAX || n < 1 ||
        n > PL_TOKEN_ID_MAX || pl_role_parse(pl_role_name(t->role)) != (int)t->role ||
        t->exp <= NOW)
        abort();
    char *again = pl_token_mint(SECRET, SECRET_LEN, t);
    if (!again)
        abort();
    struct pl_token t2;
    if (verify(again, strlen(again), &t2) != PL_TOKEN_OK ||
        strcmp(t->meeting_id, t2.meeting_id) != 0 || strcmp(t->account_id, t2.account_id) != 0 ||
        strcmp(t->tenant_id, t2.tenant_id) != 0 || t->role != t2.role || t->exp != t2.exp ||
        t->iat != t2.iat)
        abort();
    free(again);
}

/* header_json.claims_json, both encoded, then signed with SECRET. Returns the verify result. */
static int signed_token(const void *header, size_t hn, const void *claims, size_t cn)
{
    char *tok = malloc(4 * (hn + 2) / 3 + 4 * (cn + 2) / 3 + 64);
    if (!tok)
        abort();
    size_t n = b64url(header, hn, tok);
    tok[n++] = '.';
    n += b64url(claims, cn, tok + n);
    uint8_t mac[32];
    size_t mac_len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, SECRET, SECRET_LEN,
                   (const unsigned char *)tok, n, mac, sizeof mac, &mac_len))
        abort();
    tok[n++] = '.';
    n += b64url(mac, mac_len, tok + n);
    struct pl_token t;
    int rc = verify(tok, n, &t);
    if (rc == PL_TOKEN_OK)
        check_accepted(&t);
    free(tok);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl_token t;
    if (verify((const char *)data, size, &t) == PL_TOKEN_OK)
        check_accepted(&t);

    /* Anything longer cannot fit in PL_TOKEN_MAX_LEN once encoded. */
    if (size > PL_TOKEN_MAX_LEN / 4 * 3)
        return 0;
    /* Correctly signed, so never a signature failure; with our header, never a bad alg. */
    int rc = signed_token(good_header, sizeof good_header - 1, data, size);
    if (rc == PL_TOKEN_BAD_SIGNATURE || rc == PL_TOKEN_BAD_ALG)
        abort();
    if (signed_token(data, size, good_claims, sizeof good_claims - 1) == PL_TOKEN_BAD_SIGNATURE)
        abort();
    return 0;
}
