/* DTLS for DTLS-SRTP (RFC 5764) with OpenSSL: a self-signed ECDSA P-256 certificate made at
 * start, a context per process, and one connection per peer over memory BIOs. The caller owns
 * the transport: datagrams in with pl_dtls_feed, datagrams out through the send callback, and
 * the retransmission timer through pl_dtls_timeout_ms / pl_dtls_on_timeout. */
#ifndef PARLEY_DTLS_H
#define PARLEY_DTLS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pl_dtls_ctx;   /* certificate + SSL_CTX, shared by the connections of one thread */
struct pl_dtls;       /* one connection */

/* Makes the certificate and context. fingerprint_out receives "AB:CD:..." (sha-256, 95 chars
 * + NUL). NULL on failure. A context may be used from one thread at a time; create one per
 * thread sharing the same certificate with pl_dtls_ctx_clone. */
struct pl_dtls_ctx *pl_dtls_ctx_new(char fingerprint_out[96]);
struct pl_dtls_ctx *pl_dtls_ctx_clone(const struct pl_dtls_ctx *src); /* same certificate */
void pl_dtls_ctx_free(struct pl_dtls_ctx *ctx);
/* As pl_dtls_ctx_new, with an explicit OpenSSL use_srtp profile list in order of preference,
 * e.g. "SRTP_AES128_CM_SHA1_80" (tests, peers that must not get GCM). pl_dtls_ctx_new uses
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80". Clones keep the list. */
struct pl_dtls_ctx *pl_dtls_ctx_new_with_profiles(char fingerprint_out[96], const char *profiles);

enum pl_srtp_profile {
    PL_SRTP_NONE = 0,
    PL_SRTP_AES128_CM_SHA1_80, /* key 16, salt 14 */
    PL_SRTP_AEAD_AES_128_GCM   /* key 16, salt 12 */
};

struct pl_srtp_keys {
    enum pl_srtp_profile profile;
    uint8_t local_key[16 + 14];  /* key then salt: what this side protects with */
    uint8_t remote_key[16 + 14]; /* what this side unprotects with */
    size_t key_len;              /* key + salt length of the profile */
};

enum pl_dtls_state { PL_DTLS_HANDSHAKING = 0, PL_DTLS_CONNECTED, PL_DTLS_FAILED, PL_DTLS_CLOSED };

typedef void (*pl_dtls_send_fn)(void *user, const uint8_t *data, size_t len);
/* Application data (SCTP for data channels) received after the handshake. */
typedef void (*pl_dtls_data_fn)(void *user, const uint8_t *data, size_t len);

/* remote_fp: the sha-256 fingerprint from the peer's SDP (32 bytes); the handshake fails
 * when the peer's certificate does not match. is_server: DTLS role (passive = server). */
struct pl_dtls *pl_dtls_new(struct pl_dtls_ctx *ctx, bool is_server, const uint8_t remote_fp[32],
                            pl_dtls_send_fn send, pl_dtls_data_fn on_data, void *user);
void pl_dtls_free(struct pl_dtls *d);

/* Client: sends the ClientHello. Server: nothing to do (waits for it). */
int pl_dtls_start(struct pl_dtls *d);
/* Feeds one received datagram. Returns the state after processing. */
enum pl_dtls_state pl_dtls_feed(struct pl_dtls *d, const uint8_t *data, size_t len);
enum pl_dtls_state pl_dtls_state(const struct pl_dtls *d);
/* Milliseconds until the retransmission timer fires; -1 when no timer is needed. */
int64_t pl_dtls_timeout_ms(struct pl_dtls *d);
/* Call when that time has passed: retransmits if needed. Returns the state. */
enum pl_dtls_state pl_dtls_on_timeout(struct pl_dtls *d);
/* After PL_DTLS_CONNECTED: the negotiated SRTP profile and keys. 0 ok, -1 otherwise. */
int pl_dtls_srtp_keys(struct pl_dtls *d, struct pl_srtp_keys *out);
/* Sends application data (SCTP) once connected. 0 ok, -1 otherwise. */
int pl_dtls_write(struct pl_dtls *d, const uint8_t *data, size_t len);
/* Sends close_notify. */
void pl_dtls_close(struct pl_dtls *d);
/* Why the connection reached PL_DTLS_FAILED (for logs); "" otherwise. Valid until freed. */
const char *pl_dtls_last_error(const struct pl_dtls *d);

/* True for a datagram that looks like a DTLS record (RFC 7983: first byte 20..63) with a
 * valid record header chain. Used by the fuzz target of DTLS record framing. */
bool pl_dtls_records_valid(const uint8_t *data, size_t len);

#endif
