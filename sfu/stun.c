/* STUN (RFC 8489) for ICE: strict parsing of untrusted datagrams, short-term credential
 * MESSAGE-INTEGRITY (HMAC-SHA1), FINGERPRINT (CRC-32 ^ 0x5354554e), binding message builders. */
#include "parley/bytes.h"
#include "parley/stun.h"

#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_FINGERPRINT 0x8028
#define ATTR_ICE_CONTROLLED 0x8029
#define ATTR_ICE_CONTROLLING 0x802A

#define FINGERPRINT_XOR 0x5354554eu
#define HMAC_LEN 20
#define MI_ATTR_LEN (4 + HMAC_LEN)
#define FP_ATTR_LEN 8
#define USERNAME_MAX 512   /* RFC 8489 14.3: less than 513 bytes */
#define REASON_MAX 763     /* RFC 8489 14.8: at most 763 bytes */
#define BODY_MAX 0xFFFFu

/* Parse errors (all negative). */
enum { E_HEADER = -1, E_FRAMING = -2, E_ATTR = -3, E_NOT_LAST = -4 };

/* ---- CRC-32 and HMAC-SHA1, set up once per process ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static uint32_t crc_table[256];
static EVP_MAC *hmac_alg; /* fetched once; kept for the life of the process */

static void stun_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1; /* reflected IEEE 802.3 */
        crc_table[i] = c;
    }
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    pthread_once(&init_once, stun_init);
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* HMAC-SHA1 over hdr (20 bytes, length field already adjusted) followed by rest. */
static bool hmac_sha1(const char *key, size_t key_len, const uint8_t *hdr, const uint8_t *rest,
                      size_t rest_len, uint8_t out[HMAC_LEN])
{
    static char digest[] = "SHA1";
    static const unsigned char empty_key[1];
    pthread_once(&init_once, stun_init);
    if (!hmac_alg)
        return false;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
    if (!ctx)
        return false;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    const unsigned char *k = key_len ? (const unsigned char *)key : empty_key;
    size_t out_len = 0;
    bool ok = EVP_MAC_init(ctx, k, key_len, params) == 1 &&
              EVP_MAC_update(ctx, hdr, PL_STUN_HEADER_LEN) == 1 &&
              (rest_len == 0 || EVP_MAC_update(ctx, rest, rest_len) == 1) &&
              EVP_MAC_final(ctx, out, &out_len, HMAC_LEN) == 1 && out_len == HMAC_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

/* ---- parsing ---- */

bool pl_stun_is_stun(const uint8_t *buf, size_t len)
{
    return buf && len >= PL_STUN_HEADER_LEN && buf[0] <= 3 && (pl_rd16(buf + 2) & 3) == 0 &&
           pl_rd32(buf + 4) == PL_STUN_MAGIC;
}

static int decode_xor_address(struct pl_stun_msg *m, const uint8_t *v, size_t len)
{
    if (len < 4)
        return E_ATTR;
    uint16_t port = pl_rd16(v + 2) ^ (uint16_t)(PL_STUN_MAGIC >> 16);
    if (v[1] == 0x01) {
        if (len != 8)
            return E_ATTR;
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
        sin.sin_addr.s_addr = htonl(pl_rd32(v + 4) ^ PL_STUN_MAGIC);
        memcpy(&m->xor_mapped, &sin, sizeof sin);
    } else if (v[1] == 0x02) {
        if (len != 20)
            return E_ATTR;
        struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
        uint8_t mask[16];
        pl_wr32(mask, PL_STUN_MAGIC);
        memcpy(mask + 4, m->txid, 12);
        for (int i = 0; i < 16; i++)
            sin6.sin6_addr.s6_addr[i] = v[4 + i] ^ mask[i];
        memcpy(&m->xor_mapped, &sin6, sizeof sin6);
    } else {
        return E_ATTR;
    }
    m->has_xor_mapped = true;
    return 0;
}

/* One attribute before MESSAGE-INTEGRITY. Only the first of each kind counts (RFC 8489 14). */
static int parse_attr(struct pl_stun_msg *m, uint16_t type, const uint8_t *v, size_t len)
{
    switch (type) {
    case ATTR_USERNAME:
        if (len > USERNAME_MAX)
            return E_ATTR;
        if (!m->username) {
            m->username = v;
            m->username_len = len;
        }
        return 0;
    case ATTR_PRIORITY:
        if (len != 4)
            return E_ATTR;
        if (!m->has_priority) {
            m->has_priority = true;
            m->priority = pl_rd32(v);
        }
        return 0;
    case ATTR_USE_CANDIDATE:
        if (len != 0)
            return E_ATTR;
        m->use_candidate = true;
        return 0;
    case ATTR_ICE_CONTROLLING:
    case ATTR_ICE_CONTROLLED:
        if (len != 8)
            return E_ATTR;
        if (!m->ice_controlling && !m->ice_controlled)
            m->tiebreaker = pl_rd64(v);
        if (type == ATTR_ICE_CONTROLLING)
            m->ice_controlling = true;
        else
            m->ice_controlled = true;
        return 0;
    case ATTR_ERROR_CODE: {
        if (len < 4)
            return E_ATTR;
        unsigned cls = v[2] & 0x07, number = v[3];
        if (cls < 3 || cls > 6 || number > 99)
            return E_ATTR;
        if (m->error_code == 0)
            m->error_code = (uint16_t)(cls * 100 + number);
        return 0;
    }
    case ATTR_XOR_MAPPED_ADDRESS:
        return m->has_xor_mapped ? 0 : decode_xor_address(m, v, len);
    case ATTR_MESSAGE_INTEGRITY:
        if (len != HMAC_LEN)
            return E_ATTR;
        return 0; /* offset recorded by the caller */
    default:
        return 0; /* unknown or unused: ignored */
    }
}

int pl_stun_parse(const uint8_t *buf, size_t len, struct pl_stun_msg *out)
{
    if (!out)
        return E_HEADER;
    memset(out, 0, sizeof *out);
    if (!buf || len < PL_STUN_HEADER_LEN || buf[0] > 3)
        return E_HEADER;
    uint16_t body = pl_rd16(buf + 2);
    if ((body & 3) != 0 || (size_t)body + PL_STUN_HEADER_LEN != len ||
        pl_rd32(buf + 4) != PL_STUN_MAGIC)
        return E_HEADER;
    out->type = pl_rd16(buf);
    out->length = body;
    memcpy(out->txid, buf + 8, 12);

    size_t pos = PL_STUN_HEADER_LEN;
    while (pos < len) {
        if (out->fingerprint_offset)
            return E_NOT_LAST;
        if (len - pos < 4) /* unreachable: both are multiples of 4, kept for safety */
            return E_FRAMING;
        uint16_t type = pl_rd16(buf + pos);
        size_t alen = pl_rd16(buf + pos + 2);
        size_t padded = (alen + 3) & ~(size_t)3;
        if (padded > len - pos - 4)
            return E_FRAMING;
        const uint8_t *v = buf + pos + 4;
        if (type == ATTR_FINGERPRINT) {
            if (alen != 4)
                return E_ATTR;
            out->fingerprint_offset = pos;
        } else if (!out->integrity_offset) { /* attributes after it are ignored */
            int rc = parse_attr(out, type, v, alen);
            if (rc != 0)
                return rc;
            if (type == ATTR_MESSAGE_INTEGRITY)
                out->integrity_offset = pos;
        }
        pos += 4 + padded;
    }
    return 0;
}

bool pl_stun_check_fingerprint(const uint8_t *buf, size_t len, const struct pl_stun_msg *m)
{
    if (!buf || !m)
        return false;
    size_t off = m->fingerprint_offset;
    /* Re-checked here so a mismatched (buf, m) pair can never read out of bounds. */
    if (off < PL_STUN_HEADER_LEN || len < FP_ATTR_LEN || off != len - FP_ATTR_LEN ||
        pl_rd16(buf + off) != ATTR_FINGERPRINT || pl_rd16(buf + off + 2) != 4)
        return false;
    return (crc32(buf, off) ^ FINGERPRINT_XOR) == pl_rd32(buf + off + 4);
}

bool pl_stun_check_integrity(const uint8_t *buf, size_t len, const struct pl_stun_msg *m,
                             const char *key, size_t key_len)
{
    if (!buf || !m || (!key && key_len))
        return false;
    size_t off = m->integrity_offset;
    if (off < PL_STUN_HEADER_LEN || off > len || len - off < MI_ATTR_LEN ||
        off + MI_ATTR_LEN - PL_STUN_HEADER_LEN > BODY_MAX ||
        pl_rd16(buf + off) != ATTR_MESSAGE_INTEGRITY || pl_rd16(buf + off + 2) != HMAC_LEN)
        return false;
    /* The HMAC covers everything before the attribute, with the header length set as if
     * MESSAGE-INTEGRITY were the last attribute (so a FINGERPRINT after it is excluded). */
    uint8_t hdr[PL_STUN_HEADER_LEN];
    memcpy(hdr, buf, sizeof hdr);
    pl_wr16(hdr + 2, (uint16_t)(off + MI_ATTR_LEN - PL_STUN_HEADER_LEN));
    uint8_t mac[HMAC_LEN];
    if (!hmac_sha1(key, key_len, hdr, buf + PL_STUN_HEADER_LEN, off - PL_STUN_HEADER_LEN, mac))
        return false;
    return CRYPTO_memcmp(mac, buf + off + 4, HMAC_LEN) == 0;
}

/* ---- building ---- */

struct writer {
    uint8_t *out;
    size_t cap;
    size_t pos;
    bool ok;
};

static void w_header(struct writer *w, uint16_t type, const uint8_t txid[12])
{
    if (!w->out || !txid || w->cap < PL_STUN_HEADER_LEN) {
        w->ok = false;
        return;
    }
    pl_wr16(w->out, type);
    pl_wr16(w->out + 2, 0);
    pl_wr32(w->out + 4, PL_STUN_MAGIC);
    memcpy(w->out + 8, txid, 12);
    w->pos = PL_STUN_HEADER_LEN;
    w->ok = true;
}

/* Appends an attribute header and returns its zeroed, padded value area (NULL when full). */
static uint8_t *w_attr(struct writer *w, uint16_t type, size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    if (!w->ok || len > BODY_MAX || w->cap - w->pos < 4 + padded ||
        w->pos + 4 + padded - PL_STUN_HEADER_LEN > BODY_MAX) {
        w->ok = false;
        return NULL;
    }
    uint8_t *p = w->out + w->pos;
    pl_wr16(p, type);
    pl_wr16(p + 2, (uint16_t)len);
    memset(p + 4, 0, padded);
    w->pos += 4 + padded;
    pl_wr16(w->out + 2, (uint16_t)(w->pos - PL_STUN_HEADER_LEN));
    return p + 4;
}

static void w_bytes(struct writer *w, uint16_t type, const void *data, size_t len)
{
    uint8_t *v = w_attr(w, type, len);
    if (v && len)
        memcpy(v, data, len);
}

/* MESSAGE-INTEGRITY when key is given; the header length already counts the attribute. */
static void w_integrity(struct writer *w, const char *key, size_t key_len)
{
    if (!key)
        return;
    uint8_t *v = w_attr(w, ATTR_MESSAGE_INTEGRITY, HMAC_LEN);
    if (v && !hmac_sha1(key, key_len, w->out, w->out + PL_STUN_HEADER_LEN,
                        w->pos - MI_ATTR_LEN - PL_STUN_HEADER_LEN, v))
        w->ok = false;
}

static size_t w_finish(struct writer *w)
{
    uint8_t *v = w_attr(w, ATTR_FINGERPRINT, 4);
    if (!v)
        return 0;
    pl_wr32(v, crc32(w->out, w->pos - FP_ATTR_LEN) ^ FINGERPRINT_XOR);
    return w->pos;
}

static bool w_xor_address(struct writer *w, const uint8_t txid[12], const struct sockaddr *sa)
{
    if (!sa || !w->ok)
        return false;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        uint8_t *v = w_attr(w, ATTR_XOR_MAPPED_ADDRESS, 8);
        if (!v)
            return false;
        v[1] = 0x01;
        pl_wr16(v + 2, ntohs(sin.sin_port) ^ (uint16_t)(PL_STUN_MAGIC >> 16));
        pl_wr32(v + 4, ntohl(sin.sin_addr.s_addr) ^ PL_STUN_MAGIC);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        uint8_t *v = w_attr(w, ATTR_XOR_MAPPED_ADDRESS, 20);
        if (!v)
            return false;
        v[1] = 0x02;
        pl_wr16(v + 2, ntohs(sin6.sin6_port) ^ (uint16_t)(PL_STUN_MAGIC >> 16));
        uint8_t mask[16];
        pl_wr32(mask, PL_STUN_MAGIC);
        memcpy(mask + 4, txid, 12);
        for (int i = 0; i < 16; i++)
            v[4 + i] = sin6.sin6_addr.s6_addr[i] ^ mask[i];
        return true;
    }
    return false;
}

size_t pl_stun_build_binding_success(uint8_t *out, size_t cap, const uint8_t txid[12],
                                     const struct sockaddr *mapped, const char *key,
                                     size_t key_len)
{
    struct writer w = {.out = out, .cap = cap};
    w_header(&w, PL_STUN_BINDING_SUCCESS, txid);
    if (!w_xor_address(&w, txid, mapped))
        return 0;
    w_integrity(&w, key, key_len);
    return w_finish(&w);
}

static const char *default_reason(uint16_t code)
{
    switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 420: return "Unknown Attribute";
    case 438: return "Stale Nonce";
    case 487: return "Role Conflict";
    case 500: return "Server Error";
    default: return "";
    }
}

size_t pl_stun_build_binding_error(uint8_t *out, size_t cap, const uint8_t txid[12],
                                   uint16_t code, const char *reason, const char *key,
                                   size_t key_len)
{
    if (code < 300 || code > 699)
        return 0;
    if (!reason)
        reason = default_reason(code);
    size_t rlen = strlen(reason);
    if (rlen > REASON_MAX)
        return 0;
    struct writer w = {.out = out, .cap = cap};
    w_header(&w, PL_STUN_BINDING_ERROR, txid);
    uint8_t *v = w_attr(&w, ATTR_ERROR_CODE, 4 + rlen);
    if (!v)
        return 0;
    v[2] = (uint8_t)(code / 100);
    v[3] = (uint8_t)(code % 100);
    memcpy(v + 4, reason, rlen);
    w_integrity(&w, key, key_len);
    return w_finish(&w);
}

size_t pl_stun_build_binding_request(uint8_t *out, size_t cap, const uint8_t txid[12],
                                     const char *username, uint32_t priority,
                                     uint64_t tiebreaker, bool use_candidate, const char *key,
                                     size_t key_len)
{
    struct writer w = {.out = out, .cap = cap};
    w_header(&w, PL_STUN_BINDING_REQUEST, txid);
    if (username) {
        size_t ulen = strlen(username);
        if (ulen > USERNAME_MAX)
            return 0;
        w_bytes(&w, ATTR_USERNAME, username, ulen);
    }
    uint8_t *v = w_attr(&w, ATTR_PRIORITY, 4);
    if (v)
        pl_wr32(v, priority);
    v = w_attr(&w, ATTR_ICE_CONTROLLING, 8);
    if (v)
        pl_wr64(v, tiebreaker);
    if (use_candidate)
        w_attr(&w, ATTR_USE_CANDIDATE, 0);
    w_integrity(&w, key, key_len);
    return w_finish(&w);
}
