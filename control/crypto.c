/* Hashes and secrets: SHA-256 of tokens and API keys (what the database stores), random
 * tokens, scrypt password hashes (memory-hard, OpenSSL's EVP_PBE_scrypt), HMAC for signed
 * download URLs, constant-time comparison. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"

#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 16
#define HASH_LEN 32

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool unhex(const char *in, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = in[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (unsigned char)v;
    }
    return true;
}

void ctl_sha256_hex(const char *in, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(in, len, md, &n, EVP_sha256(), NULL);
    hex(md, 32, out);
}

int ctl_random_token(const char *prefix, char *out, size_t outlen)
{
    unsigned char rnd[32];
    size_t pl = strlen(prefix);
    if (outlen < pl + 65 || RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    memcpy(out, prefix, pl);
    hex(rnd, sizeof rnd, out + pl);
    return 0;
}

static bool scrypt(const char *pw, const unsigned char *salt, uint64_t n, unsigned char *out)
{
    /* maxmem: 128 * N * r plus slack. */
    return EVP_PBE_scrypt(pw, strlen(pw), salt, SALT_LEN, n, SCRYPT_R, SCRYPT_P,
                          128 * n * SCRYPT_R + 1024 * 1024, out, HASH_LEN) == 1;
}

int ctl_password_hash(const char *password, int n_cost, char *out, size_t outlen)
{
    unsigned char salt[SALT_LEN], h[HASH_LEN];
    char salt_hex[2 * SALT_LEN + 1], h_hex[2 * HASH_LEN + 1];
    if (RAND_bytes(salt, sizeof salt) != 1 || !scrypt(password, salt, (uint64_t)n_cost, h))
        return -1;
    hex(salt, SALT_LEN, salt_hex);
    hex(h, HASH_LEN, h_hex);
    int n = snprintf(out, outlen, "scrypt$%d$%d$%d$%s$%s", n_cost, SCRYPT_R, SCRYPT_P, salt_hex,
                     h_hex);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

bool ctl_password_verify(const char *password, const char *stored)
{
    unsigned long n;
    int r, p, used = 0;
    if (sscanf(stored, "scrypt$%lu$%d$%d$%n", &n, &r, &p, &used) != 3 || used == 0 ||
        r != SCRYPT_R || p != SCRYPT_P || n < 2 || n > (1ul << 20) || (n & (n - 1)))
        return false;
    const char *rest = stored + used;
    unsigned char salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
    if (strlen(rest) != 2 * SALT_LEN + 1 + 2 * HASH_LEN || rest[2 * SALT_LEN] != '$' ||
        !unhex(rest, SALT_LEN, salt) || !unhex(rest + 2 * SALT_LEN + 1, HASH_LEN, want))
        return false;
    if (!scrypt(password, salt, n, got))
        return false;
    return CRYPTO_memcmp(got, want, HASH_LEN) == 0;
}

void ctl_hmac_hex(const char *key, const char *msg, char out[65])
{
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), mac, &n);
    hex(mac, 32, out);
}

bool ctl_const_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}
