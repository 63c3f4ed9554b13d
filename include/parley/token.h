/* Join tokens: JWTs signed with HMAC-SHA256 (RFC 7519, alg HS256) carrying the meeting, the
 * account, the tenant, the role and the expiry. The control plane (or `parley-node token`)
 * mints them with the shared secret; the node verifies them without a database. */
#ifndef PARLEY_TOKEN_H
#define PARLEY_TOKEN_H
#include <stddef.h>
#include <stdint.h>

#define PL_TOKEN_ID_MAX 128     /* longest meeting / account / tenant id */
#define PL_TOKEN_MAX_LEN 4096   /* longest token accepted */

enum pl_role { PL_ROLE_PARTICIPANT = 0, PL_ROLE_HOST, PL_ROLE_RECORDER };

struct pl_token {
    char meeting_id[PL_TOKEN_ID_MAX + 1];
    char account_id[PL_TOKEN_ID_MAX + 1];
    char tenant_id[PL_TOKEN_ID_MAX + 1];
    enum pl_role role;
    int64_t exp;  /* expiry, Unix seconds */
    int64_t iat;  /* issued at, Unix seconds */
};

const char *pl_role_name(enum pl_role role); /* "participant", "host", "recorder" */
int pl_role_parse(const char *name);        /* the enum value, or -1 */

/* Header {"alg":"HS256","typ":"JWT"}; claims {"meeting_id","account_id","tenant_id","role",
 * "exp","iat"}. Returns a malloc'd NUL-terminated token, or NULL (empty ids, ids too long,
 * empty secret). */
char *pl_token_mint(const uint8_t *secret, size_t secret_len, const struct pl_token *t);

enum pl_token_result {
    PL_TOKEN_OK = 0,
    PL_TOKEN_MALFORMED = -1,   /* not three base64url parts, bad JSON, missing/mistyped claim */
    PL_TOKEN_BAD_ALG = -2,     /* header alg is not HS256 (never accepts "none") */
    PL_TOKEN_BAD_SIGNATURE = -3,
    PL_TOKEN_EXPIRED = -4,     /* exp <= now */
};

/* Verifies signature (constant-time compare), then claims; `now` in Unix seconds. On failure
 * err says why in words a client can be shown. */
enum pl_token_result pl_token_verify(const uint8_t *secret, size_t secret_len, const char *token,
                                     size_t len, int64_t now, struct pl_token *out, char *err,
                                     size_t errlen);

#endif
