/* SRTP/SRTCP (RFC 3711, RFC 7714) with libsrtp2: one inbound and one outbound session per peer.
 * Protection happens in place; buffers need PL_SRTP_MAX_TRAILER spare bytes. */
#ifndef PARLEY_SRTP_H
#define PARLEY_SRTP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "parley/dtls.h"

#define PL_SRTP_MAX_TRAILER 148 /* libsrtp2's SRTP_MAX_TRAILER_LEN + SRTCP index */

struct pl_srtp {
    void *in;   /* srtp_t for what the peer sends */
    void *out;  /* srtp_t for what the node sends */
    enum pl_srtp_profile profile;
};

int pl_srtp_global_init(void);     /* once per process, before any thread uses SRTP */
void pl_srtp_global_shutdown(void);

/* 0 ok, -1 on failure. */
int pl_srtp_init(struct pl_srtp *s, const struct pl_srtp_keys *keys);
void pl_srtp_free(struct pl_srtp *s);

/* In place. *len is updated. 0 ok, negative on failure (auth failure, replay, bad length). */
int pl_srtp_protect_rtp(struct pl_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int pl_srtp_unprotect_rtp(struct pl_srtp *s, uint8_t *buf, size_t *len);
int pl_srtp_protect_rtcp(struct pl_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int pl_srtp_unprotect_rtcp(struct pl_srtp *s, uint8_t *buf, size_t *len);

#endif
