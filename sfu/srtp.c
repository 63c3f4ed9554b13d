/* SRTP/SRTCP with libsrtp2: per peer one inbound session (the peer's key, any SSRC it sends)
 * and one outbound session (our key, any SSRC we send). */
#include "parley/srtp.h"

#include <limits.h>
#include <srtp2/srtp.h>
#include <string.h>

#define REPLAY_WINDOW 1024 /* packets; video bursts reorder more than the default 128 */
#define RTP_MIN_HEADER 12
#define RTCP_MIN_HEADER 8

_Static_assert(PL_SRTP_MAX_TRAILER >= SRTP_MAX_TRAILER_LEN + 4,
               "buffers must fit what srtp_protect_rtcp may write");

int pl_srtp_global_init(void)
{
    return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

void pl_srtp_global_shutdown(void)
{
    srtp_shutdown();
}

static int set_crypto(srtp_policy_t *p, enum pl_srtp_profile profile, size_t key_len)
{
    switch (profile) {
    case PL_SRTP_AEAD_AES_128_GCM:
        if (key_len != SRTP_AES_GCM_128_KEY_LEN_WSALT)
            return -1;
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
        return 0;
    case PL_SRTP_AES128_CM_SHA1_80:
        if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
            return -1;
        srtp_crypto_policy_set_rtp_default(&p->rtp);
        srtp_crypto_policy_set_rtcp_default(&p->rtcp);
        return 0;
    case PL_SRTP_NONE:
    default:
        return -1;
    }
}

static srtp_t make_session(const struct pl_srtp_keys *keys, bool inbound)
{
    srtp_policy_t p;
    uint8_t key[SRTP_MAX_KEY_LEN];
    srtp_t session = NULL;
    memset(&p, 0, sizeof p);
    if (set_crypto(&p, keys->profile, keys->key_len) != 0)
        return NULL;
    /* libsrtp wants a writable pointer; give it a copy rather than cast away const. */
    memcpy(key, inbound ? keys->remote_key : keys->local_key, keys->key_len);
    p.key = key;
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    p.window_size = REPLAY_WINDOW;
    /* The node sends the same packet again (NACK answers from the retransmission ring): the
     * same sequence number with the same payload must not be refused as a replay. */
    p.allow_repeat_tx = 1;
    if (srtp_create(&session, &p) != srtp_err_status_ok)
        session = NULL;
    memset(key, 0, sizeof key);
    return session;
}

int pl_srtp_init(struct pl_srtp *s, const struct pl_srtp_keys *keys)
{
    if (!s || !keys)
        return -1;
    memset(s, 0, sizeof *s);
    s->in = make_session(keys, true);
    s->out = make_session(keys, false);
    if (!s->in || !s->out) {
        pl_srtp_free(s);
        return -1;
    }
    s->profile = keys->profile;
    return 0;
}

void pl_srtp_free(struct pl_srtp *s)
{
    if (!s)
        return;
    if (s->in)
        srtp_dealloc(s->in);
    if (s->out)
        srtp_dealloc(s->out);
    s->in = s->out = NULL;
    s->profile = PL_SRTP_NONE;
}

/* libsrtp takes int lengths and writes the trailer past the packet without knowing the
 * buffer's size: check both here. */
static bool fits(size_t len, size_t min, size_t cap)
{
    return len >= min && len <= cap && cap - len >= PL_SRTP_MAX_TRAILER &&
           cap <= (size_t)INT_MAX;
}

int pl_srtp_protect_rtp(struct pl_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s || !s->out || !buf || !len || !fits(*len, RTP_MIN_HEADER, cap))
        return -1;
    int n = (int)*len;
    if (srtp_protect(s->out, buf, &n) != srtp_err_status_ok)
        return -1;
    *len = (size_t)n;
    return 0;
}

int pl_srtp_unprotect_rtp(struct pl_srtp *s, uint8_t *buf, size_t *len)
{
    if (!s || !s->in || !buf || !len || *len < RTP_MIN_HEADER || *len > (size_t)INT_MAX)
        return -1;
    int n = (int)*len;
    if (srtp_unprotect(s->in, buf, &n) != srtp_err_status_ok)
        return -1;
    *len = (size_t)n;
    return 0;
}

int pl_srtp_protect_rtcp(struct pl_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s || !s->out || !buf || !len || !fits(*len, RTCP_MIN_HEADER, cap))
        return -1;
    int n = (int)*len;
    if (srtp_protect_rtcp(s->out, buf, &n) != srtp_err_status_ok)
        return -1;
    *len = (size_t)n;
    return 0;
}

int pl_srtp_unprotect_rtcp(struct pl_srtp *s, uint8_t *buf, size_t *len)
{
    if (!s || !s->in || !buf || !len || *len < RTCP_MIN_HEADER || *len > (size_t)INT_MAX)
        return -1;
    int n = (int)*len;
    if (srtp_unprotect_rtcp(s->in, buf, &n) != srtp_err_status_ok)
        return -1;
    *len = (size_t)n;
    return 0;
}
