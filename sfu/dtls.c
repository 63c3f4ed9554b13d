/* DTLS-SRTP with OpenSSL 3 (RFC 5764, RFC 8827).
 *
 * The caller owns the UDP socket. Incoming datagrams go through a memory BIO, one at a time;
 * outgoing records go through a small custom BIO whose every write becomes exactly one datagram
 * handed to the send callback, so datagram boundaries are never merged or split by a buffer.
 *
 * Peers use self-signed certificates: the verify callback accepts any certificate and the real
 * authentication is the comparison of the peer certificate's sha-256 digest with the
 * fingerprint signalled in SDP, done once the handshake has finished. */
#include "parley/dtls.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DTLS_MTU 1200
#define DEFAULT_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
/* ECDSA suites first (our own certificate is ECDSA); RSA suites for peers with RSA
 * certificates when we are the client. AEAD suites only, plus a CBC fallback. */
#define CIPHER_LIST                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                        \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"                          \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"                            \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA"
#define CERT_LIFETIME_DAYS 30
#define MAX_RECORD 16384 /* largest plaintext an SSL_read can return */

struct pl_dtls_ctx {
    SSL_CTX *ssl_ctx;
    X509 *cert;
    EVP_PKEY *key;
    char profiles[128]; /* use_srtp list, kept so clones negotiate the same way */
};

struct pl_dtls {
    SSL *ssl;
    enum pl_dtls_state state;
    bool is_server;
    bool have_keys;
    uint8_t remote_fp[32];
    struct pl_srtp_keys keys;
    pl_dtls_send_fn send;
    pl_dtls_data_fn on_data;
    void *user;
    char error[160];
};

/* ---- the datagram write BIO ---------------------------------------------------------------- */

static BIO_METHOD *dgram_method;
static pthread_once_t dgram_method_once = PTHREAD_ONCE_INIT;

static int dgram_write(BIO *b, const char *data, int len)
{
    struct pl_dtls *d = BIO_get_data(b);
    if (len < 0)
        return -1;
    if (d && d->send && len > 0)
        d->send(d->user, (const uint8_t *)data, (size_t)len);
    return len; /* UDP is fire and forget: a write never blocks and never fails */
}

static long dgram_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
        return DTLS_MTU;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
    default:
        return 0;
    }
}

static int dgram_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int dgram_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

/* One method for the whole process: BIOs may outlive the context that made them (SSL_new keeps
 * a reference on the SSL_CTX), so the method must not belong to a context. Never freed. */
static void dgram_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_get_new_index(), "parley dgram");
    if (!m)
        return;
    if (!BIO_meth_set_write(m, dgram_write) || !BIO_meth_set_ctrl(m, dgram_ctrl) ||
        !BIO_meth_set_create(m, dgram_create) || !BIO_meth_set_destroy(m, dgram_destroy)) {
        BIO_meth_free(m);
        return;
    }
    dgram_method = m;
}

/* ---- context -------------------------------------------------------------------------------- */

static void format_fingerprint(const uint8_t md[32], char out[96])
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = 0; i < 32; i++) {
        out[i * 3] = hex[md[i] >> 4];
        out[i * 3 + 1] = hex[md[i] & 15];
        out[i * 3 + 2] = i == 31 ? '\0' : ':';
    }
}

static X509 *make_certificate(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    uint64_t serial = 0;
    bool ok = x && name && X509_set_version(x, X509_VERSION_3) &&
              RAND_bytes((unsigned char *)&serial, sizeof serial) == 1;
    /* Positive and non-zero, as RFC 5280 asks. */
    serial = (serial >> 1) | 1;
    ok = ok && ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) &&
         X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) &&
         X509_gmtime_adj(X509_getm_notAfter(x), (CERT_LIFETIME_DAYS - 1) * 24L * 3600) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"parley",
                                    -1, -1, 0) &&
         X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
         X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* The certificate is authenticated by its fingerprint after the handshake, not by a chain. */
static int accept_any_cert(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    (void)store;
    return 1;
}

static SSL_CTX *make_ssl_ctx(X509 *cert, EVP_PKEY *key, const char *profiles)
{
    SSL_CTX *c = SSL_CTX_new(DTLS_method());
    if (!c)
        return NULL;
    SSL_CTX_set_options(c, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(c, 0);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_cert);
    /* SSL_CTX_set_tlsext_use_srtp returns 0 on success, unlike everything around it. The server
     * picks the first profile of its own list that the client offers, so order = preference. */
    bool ok = SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION) &&
              SSL_CTX_set_cipher_list(c, CIPHER_LIST) &&
              SSL_CTX_set_tlsext_use_srtp(c, profiles) == 0 &&
              SSL_CTX_use_certificate(c, cert) && SSL_CTX_use_PrivateKey(c, key) &&
              SSL_CTX_check_private_key(c);
    if (!ok) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

static struct pl_dtls_ctx *ctx_make(X509 *cert, EVP_PKEY *key, const char *profiles)
{
    struct pl_dtls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx || strlen(profiles) >= sizeof ctx->profiles)
        goto fail;
    ctx->ssl_ctx = make_ssl_ctx(cert, key, profiles);
    if (!ctx->ssl_ctx)
        goto fail;
    ctx->cert = cert;
    ctx->key = key;
    strcpy(ctx->profiles, profiles);
    return ctx;
fail:
    free(ctx);
    X509_free(cert);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return NULL;
}

struct pl_dtls_ctx *pl_dtls_ctx_new_with_profiles(char fingerprint_out[96], const char *profiles)
{
    uint8_t md[32];
    unsigned int md_len = 0;
    if (!profiles || !*profiles)
        return NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? make_certificate(key) : NULL;
    if (!cert || !X509_digest(cert, EVP_sha256(), md, &md_len) || md_len != 32) {
        X509_free(cert);
        EVP_PKEY_free(key);
        ERR_clear_error();
        return NULL;
    }
    struct pl_dtls_ctx *ctx = ctx_make(cert, key, profiles);
    if (ctx && fingerprint_out)
        format_fingerprint(md, fingerprint_out);
    return ctx;
}

struct pl_dtls_ctx *pl_dtls_ctx_new(char fingerprint_out[96])
{
    return pl_dtls_ctx_new_with_profiles(fingerprint_out, DEFAULT_SRTP_PROFILES);
}

struct pl_dtls_ctx *pl_dtls_ctx_clone(const struct pl_dtls_ctx *src)
{
    if (!src)
        return NULL;
    if (!X509_up_ref(src->cert))
        return NULL;
    if (!EVP_PKEY_up_ref(src->key)) {
        X509_free(src->cert);
        return NULL;
    }
    return ctx_make(src->cert, src->key, src->profiles);
}

void pl_dtls_ctx_free(struct pl_dtls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    X509_free(ctx->cert);
    EVP_PKEY_free(ctx->key);
    free(ctx);
}

/* ---- connection ----------------------------------------------------------------------------- */

/* Records why the connection failed (with OpenSSL's reason when there is one), empties the
 * thread's OpenSSL error queue so it cannot leak into another connection, and fails. */
static enum pl_dtls_state fail(struct pl_dtls *d, const char *why)
{
    unsigned long e = ERR_peek_last_error();
    char reason[96] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof reason);
    snprintf(d->error, sizeof d->error, "%s%s%s", why, e ? ": " : "", reason);
    ERR_clear_error();
    d->state = PL_DTLS_FAILED;
    return d->state;
}

struct pl_dtls *pl_dtls_new(struct pl_dtls_ctx *ctx, bool is_server, const uint8_t remote_fp[32],
                            pl_dtls_send_fn send, pl_dtls_data_fn on_data, void *user)
{
    if (!ctx || !remote_fp)
        return NULL;
    pthread_once(&dgram_method_once, dgram_method_init);
    if (!dgram_method)
        return NULL;
    struct pl_dtls *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->is_server = is_server;
    memcpy(d->remote_fp, remote_fp, 32);
    d->send = send;
    d->on_data = on_data;
    d->user = user;
    d->state = PL_DTLS_HANDSHAKING;

    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(dgram_method);
    d->ssl = SSL_new(ctx->ssl_ctx);
    if (!rbio || !wbio || !d->ssl) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(d->ssl);
        free(d);
        ERR_clear_error();
        return NULL;
    }
    /* An empty memory BIO means "no datagram yet", not end of file. */
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_data(wbio, d);
    SSL_set_bio(d->ssl, rbio, wbio); /* the SSL owns both BIOs from here */
    SSL_set_mtu(d->ssl, DTLS_MTU);
    if (is_server)
        SSL_set_accept_state(d->ssl);
    else
        SSL_set_connect_state(d->ssl);
    return d;
}

void pl_dtls_free(struct pl_dtls *d)
{
    if (!d)
        return;
    SSL_free(d->ssl);
    OPENSSL_cleanse(&d->keys, sizeof d->keys);
    free(d);
}

const char *pl_dtls_last_error(const struct pl_dtls *d)
{
    return d ? d->error : "";
}

/* Exports the SRTP master keys and salts. RFC 5764 4.2: the exporter output is
 * client_key | server_key | client_salt | server_salt. */
static int export_keys(struct pl_dtls *d)
{
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    size_t salt_len;
    if (!p)
        return -1;
    if (p->id == SRTP_AEAD_AES_128_GCM) {
        d->keys.profile = PL_SRTP_AEAD_AES_128_GCM;
        salt_len = 12;
    } else if (p->id == SRTP_AES128_CM_SHA1_80) {
        d->keys.profile = PL_SRTP_AES128_CM_SHA1_80;
        salt_len = 14;
    } else {
        return -1;
    }
    const size_t key_len = 16;
    uint8_t m[2 * (16 + 14)];
    const char label[] = "EXTRACTOR-dtls_srtp";
    if (SSL_export_keying_material(d->ssl, m, 2 * (key_len + salt_len), label,
                                   sizeof label - 1, NULL, 0, 0) != 1)
        return -1;
    const uint8_t *client_key = m, *server_key = m + key_len;
    const uint8_t *client_salt = m + 2 * key_len, *server_salt = client_salt + salt_len;
    uint8_t *local = d->keys.local_key, *remote = d->keys.remote_key;
    memcpy(local, d->is_server ? server_key : client_key, key_len);
    memcpy(local + key_len, d->is_server ? server_salt : client_salt, salt_len);
    memcpy(remote, d->is_server ? client_key : server_key, key_len);
    memcpy(remote + key_len, d->is_server ? client_salt : server_salt, salt_len);
    d->keys.key_len = key_len + salt_len;
    OPENSSL_cleanse(m, sizeof m);
    d->have_keys = true;
    return 0;
}

/* The handshake just finished: authenticate the peer by fingerprint, then take the keys. */
static enum pl_dtls_state on_handshake_done(struct pl_dtls *d)
{
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    uint8_t md[32];
    unsigned int md_len = 0;
    if (!peer || !X509_digest(peer, EVP_sha256(), md, &md_len) || md_len != 32)
        return fail(d, "no peer certificate");
    if (CRYPTO_memcmp(md, d->remote_fp, 32) != 0) {
        /* Tell the peer right away rather than letting it send media nobody will accept. */
        SSL_shutdown(d->ssl);
        return fail(d, "peer certificate does not match the SDP fingerprint");
    }
    if (export_keys(d) != 0)
        return fail(d, "no SRTP profile negotiated");
    d->state = PL_DTLS_CONNECTED;
    return d->state;
}

/* Drives the handshake, then reads application data until OpenSSL wants another datagram. */
static enum pl_dtls_state progress(struct pl_dtls *d)
{
    if (d->state == PL_DTLS_HANDSHAKING) {
        ERR_clear_error();
        int r = SSL_do_handshake(d->ssl);
        if (r != 1) {
            int err = SSL_get_error(d->ssl, r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                return d->state;
            return fail(d, "handshake failed");
        }
        if (on_handshake_done(d) != PL_DTLS_CONNECTED)
            return d->state;
    }
    while (d->state == PL_DTLS_CONNECTED) {
        uint8_t buf[MAX_RECORD];
        ERR_clear_error();
        int r = SSL_read(d->ssl, buf, sizeof buf);
        if (r > 0) {
            if (d->on_data)
                d->on_data(d->user, buf, (size_t)r);
            continue;
        }
        int err = SSL_get_error(d->ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            break;
        if (err == SSL_ERROR_ZERO_RETURN) { /* close_notify from the peer */
            d->state = PL_DTLS_CLOSED;
            break;
        }
        return fail(d, "read failed");
    }
    return d->state;
}

int pl_dtls_start(struct pl_dtls *d)
{
    if (!d || d->state != PL_DTLS_HANDSHAKING)
        return -1;
    if (d->is_server)
        return 0;
    return progress(d) == PL_DTLS_FAILED ? -1 : 0;
}

enum pl_dtls_state pl_dtls_feed(struct pl_dtls *d, const uint8_t *data, size_t len)
{
    if (d->state == PL_DTLS_FAILED || d->state == PL_DTLS_CLOSED)
        return d->state;
    /* Not DTLS framing: ignore it, as a UDP endpoint ignores noise. */
    if (!pl_dtls_records_valid(data, len))
        return d->state;
    BIO *rbio = SSL_get_rbio(d->ssl);
    if (BIO_write(rbio, data, (int)len) != (int)len) {
        ERR_clear_error();
        return d->state;
    }
    progress(d);
    /* OpenSSL reads a whole datagram at once; anything left over (a datagram larger than its
     * read buffer) must not be glued in front of the next one. */
    (void)BIO_reset(rbio);
    return d->state;
}

enum pl_dtls_state pl_dtls_state(const struct pl_dtls *d)
{
    return d->state;
}

int64_t pl_dtls_timeout_ms(struct pl_dtls *d)
{
    struct timeval tv;
    if (d->state != PL_DTLS_HANDSHAKING || DTLSv1_get_timeout(d->ssl, &tv) <= 0)
        return -1;
    return (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

enum pl_dtls_state pl_dtls_on_timeout(struct pl_dtls *d)
{
    if (d->state != PL_DTLS_HANDSHAKING)
        return d->state;
    ERR_clear_error();
    /* 0: timer not expired yet (nothing to do); > 0: flight retransmitted; < 0: gave up. */
    if (DTLSv1_handle_timeout(d->ssl) < 0)
        return fail(d, "handshake timed out");
    return d->state;
}

int pl_dtls_srtp_keys(struct pl_dtls *d, struct pl_srtp_keys *out)
{
    if (!d || !out || d->state != PL_DTLS_CONNECTED || !d->have_keys)
        return -1;
    *out = d->keys;
    return 0;
}

int pl_dtls_write(struct pl_dtls *d, const uint8_t *data, size_t len)
{
    if (!d || d->state != PL_DTLS_CONNECTED || len == 0 || len > MAX_RECORD)
        return -1;
    ERR_clear_error();
    int r = SSL_write(d->ssl, data, (int)len);
    if (r != (int)len) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

void pl_dtls_close(struct pl_dtls *d)
{
    if (!d || d->state == PL_DTLS_CLOSED || d->state == PL_DTLS_FAILED)
        return;
    /* close_notify only makes sense on an established connection. */
    if (d->state == PL_DTLS_CONNECTED) {
        ERR_clear_error();
        SSL_shutdown(d->ssl);
        ERR_clear_error();
    }
    d->state = PL_DTLS_CLOSED;
}

/* ---- record framing ------------------------------------------------------------------------- */

bool pl_dtls_records_valid(const uint8_t *data, size_t len)
{
    enum { HEADER = 13 }; /* type 1, version 2, epoch 2, sequence 6, length 2 */
    if (!data || len == 0)
        return false;
    size_t off = 0;
    while (off < len) {
        if (len - off < HEADER)
            return false;
        const uint8_t *h = data + off;
        /* RFC 7983 range; DTLS versions all have 0xFE as major byte (1.0 = FEFF, 1.2 = FEFD). */
        if (h[0] < 20 || h[0] > 63 || h[1] != 0xFE)
            return false;
        size_t rec_len = (size_t)h[11] << 8 | h[12];
        if (rec_len > len - off - HEADER)
            return false;
        off += HEADER + rec_len;
    }
    return true;
}
