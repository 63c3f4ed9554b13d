/* DTLS-SRTP: two pl_dtls endpoints wired back to back in memory, then SRTP sessions keyed from
 * the handshake. Set PL_DTLS_SEED_DIR to a directory to save the first handshake's datagrams
 * (seeds for the fuzz target). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "parley/dtls.h"
#include "parley/srtp.h"

#define MAX_QUEUE 64
#define MAX_DGRAM 2048

/* One side of the wire: its connection and the datagrams it sent that are not delivered yet. */
struct endpoint {
    struct pl_dtls *d;
    uint8_t q[MAX_QUEUE][MAX_DGRAM];
    size_t qlen[MAX_QUEUE];
    int count;
    int sent_total;
    int oversize;        /* datagrams above the 1200-byte DTLS MTU */
    uint8_t got[4096];   /* application data received */
    size_t got_len;
    const char *seed_dir; /* when set, every datagram sent is written there */
};

static void on_send(void *user, const uint8_t *data, size_t len)
{
    struct endpoint *e = user;
    e->sent_total++;
    if (len > 1200)
        e->oversize++;
    if (e->seed_dir) {
        char path[512];
        snprintf(path, sizeof path, "%s/client_%02d", e->seed_dir, e->sent_total);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(data, 1, len, f);
            fclose(f);
        }
    }
    CHECK(e->count < MAX_QUEUE && len <= MAX_DGRAM);
    if (e->count >= MAX_QUEUE || len > MAX_DGRAM)
        return;
    memcpy(e->q[e->count], data, len);
    e->qlen[e->count] = len;
    e->count++;
}

static void on_data(void *user, const uint8_t *data, size_t len)
{
    struct endpoint *e = user;
    if (e->got_len + len <= sizeof e->got) {
        memcpy(e->got + e->got_len, data, len);
        e->got_len += len;
    }
}

/* Feeds everything `from` has queued to `to`, in order. Returns how many were delivered. */
static int deliver(struct endpoint *from, struct endpoint *to)
{
    int n = 0;
    while (from->count > 0) {
        uint8_t buf[MAX_DGRAM];
        size_t len = from->qlen[0];
        memcpy(buf, from->q[0], len);
        from->count--;
        memmove(from->q[0], from->q[1], (size_t)from->count * MAX_DGRAM);
        memmove(&from->qlen[0], &from->qlen[1], (size_t)from->count * sizeof from->qlen[0]);
        pl_dtls_feed(to->d, buf, len);
        n++;
    }
    return n;
}

static void pump(struct endpoint *c, struct endpoint *s)
{
    for (int guard = 0; guard < 100; guard++)
        if (deliver(c, s) + deliver(s, c) == 0)
            return;
    CHECK(0 && "handshake ping-pong did not settle");
}

static void drop(struct endpoint *e)
{
    e->count = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "AB:CD:..." -> 32 bytes. 0 ok. */
static int parse_fp(const char *s, uint8_t out[32])
{
    if (strlen(s) != 95)
        return -1;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 31 && s[i * 3 + 2] != ':'))
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static struct pl_dtls_ctx *client_ctx, *server_ctx;
static uint8_t client_fp[32], server_fp[32];

static void pair_new(struct endpoint *c, struct endpoint *s, struct pl_dtls_ctx *cctx,
                     const uint8_t *fp_of_server, const uint8_t *fp_of_client)
{
    memset(c, 0, sizeof *c);
    memset(s, 0, sizeof *s);
    c->d = pl_dtls_new(cctx, false, fp_of_server, on_send, on_data, c);
    s->d = pl_dtls_new(server_ctx, true, fp_of_client, on_send, on_data, s);
    CHECK(c->d && s->d);
}

static void pair_free(struct endpoint *c, struct endpoint *s)
{
    pl_dtls_free(c->d);
    pl_dtls_free(s->d);
    c->d = s->d = NULL;
}

/* Full handshake without loss. Returns true when both sides are connected. */
static bool handshake(struct endpoint *c, struct endpoint *s)
{
    CHECK_EQ_INT(pl_dtls_start(s->d), 0);
    CHECK_EQ_INT(s->count, 0); /* the server waits for the ClientHello */
    CHECK_EQ_INT(pl_dtls_start(c->d), 0);
    CHECK(c->count > 0);
    CHECK(pl_dtls_timeout_ms(c->d) > 0);
    pump(c, s);
    CHECK_EQ_INT(pl_dtls_state(c->d), PL_DTLS_CONNECTED);
    CHECK_EQ_INT(pl_dtls_state(s->d), PL_DTLS_CONNECTED);
    return pl_dtls_state(c->d) == PL_DTLS_CONNECTED && pl_dtls_state(s->d) == PL_DTLS_CONNECTED;
}

static void check_keys(struct endpoint *c, struct endpoint *s, enum pl_srtp_profile want,
                       struct pl_srtp_keys *ck, struct pl_srtp_keys *sk)
{
    CHECK_EQ_INT(pl_dtls_srtp_keys(c->d, ck), 0);
    CHECK_EQ_INT(pl_dtls_srtp_keys(s->d, sk), 0);
    CHECK_EQ_INT(ck->profile, want);
    CHECK_EQ_INT(sk->profile, want);
    size_t len = want == PL_SRTP_AEAD_AES_128_GCM ? 28 : 30;
    CHECK_EQ_INT(ck->key_len, len);
    CHECK_EQ_INT(sk->key_len, len);
    CHECK(memcmp(ck->local_key, sk->remote_key, len) == 0);
    CHECK(memcmp(ck->remote_key, sk->local_key, len) == 0);
    CHECK(memcmp(ck->local_key, ck->remote_key, len) != 0);
}

/* ---- SRTP ------------------------------------------------------------------------------------ */

/* libsrtp reads packets as 32-bit words: keep the buffers aligned. */
struct pkt {
    _Alignas(8) uint8_t b[1500];
    size_t len;
};

static void make_rtp(struct pkt *p, uint16_t seq)
{
    memset(p, 0, sizeof *p);
    p->b[0] = 0x80;
    p->b[1] = 96;
    p->b[2] = (uint8_t)(seq >> 8);
    p->b[3] = (uint8_t)seq;
    p->b[4] = 0x12; /* timestamp */
    p->b[8] = 0xCA; /* ssrc */
    p->b[9] = 0xFE;
    p->b[10] = 0xBA;
    p->b[11] = 0xBE;
    for (int i = 12; i < 1012; i++)
        p->b[i] = (uint8_t)(i * 7 + seq);
    p->len = 1012;
}

static void make_rtcp(struct pkt *p)
{
    /* Receiver report with one report block: 8 + 24 bytes, length field 7 words. */
    memset(p, 0, sizeof *p);
    p->b[0] = 0x81;
    p->b[1] = 201;
    p->b[3] = 7;
    p->b[4] = 0x11;
    p->b[8] = 0xCA;
    p->b[9] = 0xFE;
    for (int i = 12; i < 32; i++)
        p->b[i] = (uint8_t)i;
    p->len = 32;
}

static void check_srtp(struct pl_srtp *tx, struct pl_srtp *rx, size_t rtp_tag, size_t rtcp_tag)
{
    struct pkt orig, p, copy;

    /* RTP round trip. */
    make_rtp(&orig, 1000);
    p = orig;
    CHECK_EQ_INT(pl_srtp_protect_rtp(tx, p.b, &p.len, sizeof p.b), 0);
    CHECK_EQ_INT(p.len, orig.len + rtp_tag);
    CHECK(memcmp(p.b + 12, orig.b + 12, 100) != 0); /* payload encrypted */
    copy = p;
    CHECK_EQ_INT(pl_srtp_unprotect_rtp(rx, p.b, &p.len), 0);
    CHECK_EQ_INT(p.len, orig.len);
    CHECK(memcmp(p.b, orig.b, orig.len) == 0);
    /* Replay of the same packet. */
    CHECK(pl_srtp_unprotect_rtp(rx, copy.b, &copy.len) < 0);

    /* The node may send a packet again (NACK answer): allowed on the sending side. */
    p = orig;
    CHECK_EQ_INT(pl_srtp_protect_rtp(tx, p.b, &p.len, sizeof p.b), 0);
    CHECK(memcmp(p.b, copy.b, p.len) == 0);

    /* Tampered payload and tampered tag. */
    make_rtp(&orig, 1001);
    p = orig;
    CHECK_EQ_INT(pl_srtp_protect_rtp(tx, p.b, &p.len, sizeof p.b), 0);
    copy = p;
    p.b[40] ^= 1;
    CHECK(pl_srtp_unprotect_rtp(rx, p.b, &p.len) < 0);
    p = copy;
    p.b[p.len - 1] ^= 0x80;
    CHECK(pl_srtp_unprotect_rtp(rx, p.b, &p.len) < 0);
    /* The genuine packet still passes after the forgeries were refused. */
    p = copy;
    CHECK_EQ_INT(pl_srtp_unprotect_rtp(rx, p.b, &p.len), 0);
    CHECK(memcmp(p.b, orig.b, orig.len) == 0);

    /* Capacity: no room for the trailer is refused before libsrtp writes anything. */
    make_rtp(&orig, 1002);
    p = orig;
    CHECK(pl_srtp_protect_rtp(tx, p.b, &p.len, p.len + PL_SRTP_MAX_TRAILER - 1) < 0);
    CHECK_EQ_INT(p.len, orig.len);
    CHECK(pl_srtp_protect_rtp(tx, p.b, &p.len, p.len - 1) < 0);
    CHECK_EQ_INT(pl_srtp_protect_rtp(tx, p.b, &p.len, orig.len + PL_SRTP_MAX_TRAILER), 0);
    CHECK_EQ_INT(pl_srtp_unprotect_rtp(rx, p.b, &p.len), 0);
    /* Too short to be RTP. */
    p.len = 5;
    CHECK(pl_srtp_protect_rtp(tx, p.b, &p.len, sizeof p.b) < 0);
    CHECK(pl_srtp_unprotect_rtp(rx, p.b, &p.len) < 0);

    /* RTCP round trip, tamper, replay, capacity. */
    make_rtcp(&orig);
    p = orig;
    CHECK_EQ_INT(pl_srtp_protect_rtcp(tx, p.b, &p.len, sizeof p.b), 0);
    CHECK_EQ_INT(p.len, orig.len + rtcp_tag);
    copy = p;
    CHECK_EQ_INT(pl_srtp_unprotect_rtcp(rx, p.b, &p.len), 0);
    CHECK_EQ_INT(p.len, orig.len);
    CHECK(memcmp(p.b, orig.b, orig.len) == 0);
    p = copy;
    CHECK(pl_srtp_unprotect_rtcp(rx, p.b, &p.len) < 0); /* replay */
    p = orig;
    CHECK_EQ_INT(pl_srtp_protect_rtcp(tx, p.b, &p.len, sizeof p.b), 0);
    p.b[20] ^= 4;
    CHECK(pl_srtp_unprotect_rtcp(rx, p.b, &p.len) < 0); /* tampered */
    p = orig;
    CHECK(pl_srtp_protect_rtcp(tx, p.b, &p.len, p.len + PL_SRTP_MAX_TRAILER - 1) < 0);
}

static void srtp_both_ways(const struct pl_srtp_keys *ck, const struct pl_srtp_keys *sk,
                           size_t rtp_tag)
{
    struct pl_srtp cs, ss;
    CHECK_EQ_INT(pl_srtp_init(&cs, ck), 0);
    CHECK_EQ_INT(pl_srtp_init(&ss, sk), 0);
    CHECK_EQ_INT(cs.profile, ck->profile);
    /* SRTCP adds its 4-byte E+index word before the tag. */
    check_srtp(&cs, &ss, rtp_tag, rtp_tag + 4);
    check_srtp(&ss, &cs, rtp_tag, rtp_tag + 4);

    /* A session keyed with the wrong key refuses everything. */
    struct pl_srtp_keys bad = *sk;
    bad.remote_key[0] ^= 1;
    struct pl_srtp wrong;
    CHECK_EQ_INT(pl_srtp_init(&wrong, &bad), 0);
    struct pkt p;
    make_rtp(&p, 7);
    CHECK_EQ_INT(pl_srtp_protect_rtp(&cs, p.b, &p.len, sizeof p.b), 0);
    CHECK(pl_srtp_unprotect_rtp(&wrong, p.b, &p.len) < 0);
    pl_srtp_free(&wrong);

    pl_srtp_free(&cs);
    pl_srtp_free(&ss);
    pl_srtp_free(&ss); /* idempotent */
}

static void test_srtp_init_errors(void)
{
    struct pl_srtp s;
    struct pl_srtp_keys k;
    memset(&k, 0, sizeof k);
    CHECK(pl_srtp_init(&s, &k) < 0); /* PL_SRTP_NONE */
    k.profile = PL_SRTP_AEAD_AES_128_GCM;
    k.key_len = 30; /* wrong for GCM */
    CHECK(pl_srtp_init(&s, &k) < 0);
    k.profile = PL_SRTP_AES128_CM_SHA1_80;
    k.key_len = 28;
    CHECK(pl_srtp_init(&s, &k) < 0);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_gcm_handshake_and_srtp(void)
{
    static struct endpoint c, s;
    struct pl_srtp_keys ck, sk;
    pair_new(&c, &s, client_ctx, server_fp, client_fp);
    c.seed_dir = getenv("PL_DTLS_SEED_DIR");
    if (handshake(&c, &s)) {
        check_keys(&c, &s, PL_SRTP_AEAD_AES_128_GCM, &ck, &sk);
        srtp_both_ways(&ck, &sk, 16);
    }
    CHECK_EQ_INT(c.oversize + s.oversize, 0);
    CHECK_EQ_INT(pl_dtls_timeout_ms(c.d), -1);
    CHECK_EQ_INT(pl_dtls_timeout_ms(s.d), -1);
    CHECK_EQ_INT(pl_dtls_on_timeout(c.d), PL_DTLS_CONNECTED);
    CHECK(strcmp(pl_dtls_last_error(c.d), "") == 0);

    /* Application data both ways (SCTP later). */
    const uint8_t msg[] = "sctp packet goes here";
    CHECK_EQ_INT(pl_dtls_write(c.d, msg, sizeof msg), 0);
    CHECK_EQ_INT(deliver(&c, &s), 1);
    CHECK_EQ_INT(s.got_len, sizeof msg);
    CHECK(memcmp(s.got, msg, sizeof msg) == 0);
    uint8_t big[1100];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    CHECK_EQ_INT(pl_dtls_write(s.d, big, sizeof big), 0);
    CHECK_EQ_INT(pl_dtls_write(s.d, msg, sizeof msg), 0);
    CHECK_EQ_INT(deliver(&s, &c), 2);
    CHECK_EQ_INT(c.got_len, sizeof big + sizeof msg);
    CHECK(memcmp(c.got, big, sizeof big) == 0);

    /* Garbage with valid record framing on an established connection: dropped, still up. */
    uint8_t junk[64] = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 51};
    CHECK_EQ_INT(pl_dtls_feed(s.d, junk, sizeof junk), PL_DTLS_CONNECTED);
    junk[0] = 22;
    CHECK_EQ_INT(pl_dtls_feed(s.d, junk, sizeof junk), PL_DTLS_CONNECTED);
    CHECK_EQ_INT(pl_dtls_feed(s.d, junk, 7), PL_DTLS_CONNECTED);

    /* close_notify ends the connection on both sides. */
    pl_dtls_close(c.d);
    CHECK_EQ_INT(pl_dtls_state(c.d), PL_DTLS_CLOSED);
    CHECK_EQ_INT(pl_dtls_write(c.d, msg, sizeof msg), -1);
    deliver(&c, &s);
    CHECK_EQ_INT(pl_dtls_state(s.d), PL_DTLS_CLOSED);
    CHECK(pl_dtls_srtp_keys(s.d, &sk) < 0);
    pair_free(&c, &s);
}

/* The server picks by its own preference: GCM even when the client lists AES-CM first. */
static void test_server_prefers_gcm(void)
{
    static struct endpoint c, s;
    struct pl_srtp_keys ck, sk;
    char fp[96];
    uint8_t fpb[32];
    struct pl_dtls_ctx *cm_first =
        pl_dtls_ctx_new_with_profiles(fp, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM");
    CHECK(cm_first != NULL);
    if (!cm_first)
        return;
    CHECK_EQ_INT(parse_fp(fp, fpb), 0);
    pair_new(&c, &s, cm_first, server_fp, fpb);
    if (handshake(&c, &s))
        check_keys(&c, &s, PL_SRTP_AEAD_AES_128_GCM, &ck, &sk);
    pair_free(&c, &s);
    pl_dtls_ctx_free(cm_first);
}

static void test_aes_cm(void)
{
    static struct endpoint c, s;
    struct pl_srtp_keys ck, sk;
    char fp[96];
    uint8_t fpb[32];
    struct pl_dtls_ctx *cm_only = pl_dtls_ctx_new_with_profiles(fp, "SRTP_AES128_CM_SHA1_80");
    CHECK(cm_only != NULL);
    if (!cm_only)
        return;
    CHECK_EQ_INT(parse_fp(fp, fpb), 0);
    pair_new(&c, &s, cm_only, server_fp, fpb);
    if (handshake(&c, &s)) {
        check_keys(&c, &s, PL_SRTP_AES128_CM_SHA1_80, &ck, &sk);
        srtp_both_ways(&ck, &sk, 10);
    }
    pair_free(&c, &s);
    pl_dtls_ctx_free(cm_only);

    CHECK(pl_dtls_ctx_new_with_profiles(fp, "") == NULL);
    CHECK(pl_dtls_ctx_new_with_profiles(fp, "SRTP_NOT_A_PROFILE") == NULL);
}

static void test_wrong_fingerprint(void)
{
    static struct endpoint c, s;
    uint8_t wrong[32];
    memcpy(wrong, server_fp, 32);
    wrong[5] ^= 0x40;

    /* The client does not recognise the server. */
    pair_new(&c, &s, client_ctx, wrong, client_fp);
    pl_dtls_start(c.d);
    pump(&c, &s);
    CHECK_EQ_INT(pl_dtls_state(c.d), PL_DTLS_FAILED);
    CHECK_EQ_INT(pl_dtls_state(s.d), PL_DTLS_CLOSED); /* told by close_notify */
    CHECK(strstr(pl_dtls_last_error(c.d), "fingerprint") != NULL);
    struct pl_srtp_keys k;
    CHECK(pl_dtls_srtp_keys(c.d, &k) < 0);
    CHECK_EQ_INT(pl_dtls_timeout_ms(c.d), -1);
    pair_free(&c, &s);

    /* The server does not recognise the client; the client learns it by close_notify. */
    memcpy(wrong, client_fp, 32);
    wrong[31] ^= 1;
    pair_new(&c, &s, client_ctx, server_fp, wrong);
    pl_dtls_start(c.d);
    pump(&c, &s);
    CHECK_EQ_INT(pl_dtls_state(s.d), PL_DTLS_FAILED);
    CHECK_EQ_INT(pl_dtls_state(c.d), PL_DTLS_CLOSED);
    CHECK(pl_dtls_srtp_keys(s.d, &k) < 0);
    pair_free(&c, &s);
}

/* The first flight (ClientHello) is lost: the client's timer retransmits it. Then the server's
 * last flight is lost: the client retransmits its flight and the (connected) server answers
 * with its last flight again. */
static void test_lost_flights(void)
{
    static struct endpoint c, s;
    struct pl_srtp_keys ck, sk;
    pair_new(&c, &s, client_ctx, server_fp, client_fp);
    CHECK_EQ_INT(pl_dtls_start(c.d), 0);
    CHECK(c.count > 0);
    drop(&c);
    int64_t t = pl_dtls_timeout_ms(c.d);
    CHECK(t > 0 && t <= 1000);
    CHECK_EQ_INT(pl_dtls_on_timeout(c.d), PL_DTLS_HANDSHAKING); /* too early: nothing */
    CHECK_EQ_INT(c.count, 0);
    sleep_ms(t + 20);
    CHECK_EQ_INT(pl_dtls_on_timeout(c.d), PL_DTLS_HANDSHAKING);
    CHECK(c.count > 0); /* ClientHello again */
    pump(&c, &s);
    CHECK_EQ_INT(pl_dtls_state(c.d), PL_DTLS_CONNECTED);
    CHECK_EQ_INT(pl_dtls_state(s.d), PL_DTLS_CONNECTED);
    check_keys(&c, &s, PL_SRTP_AEAD_AES_128_GCM, &ck, &sk);
    pair_free(&c, &s);

    pair_new(&c, &s, client_ctx, server_fp, client_fp);
    pl_dtls_start(c.d);
    deliver(&c, &s); /* ClientHello */
    deliver(&s, &c); /* ServerHello ... ServerHelloDone */
    deliver(&c, &s); /* Certificate ... Finished */
    CHECK_EQ_INT(pl_dtls_state(s.d), PL_DTLS_CONNECTED);
    CHECK(s.count > 0);
    drop(&s); /* ChangeCipherSpec + Finished lost */
    CHECK_EQ_INT(pl_dtls_state(c.d), PL_DTLS_HANDSHAKING);
    t = pl_dtls_timeout_ms(c.d);
    CHECK(t > 0);
    sleep_ms(t + 20);
    CHECK_EQ_INT(pl_dtls_on_timeout(c.d), PL_DTLS_HANDSHAKING);
    CHECK(c.count > 0);
    pump(&c, &s);
    CHECK_EQ_INT(pl_dtls_state(c.d), PL_DTLS_CONNECTED);
    CHECK_EQ_INT(pl_dtls_state(s.d), PL_DTLS_CONNECTED);
    check_keys(&c, &s, PL_SRTP_AEAD_AES_128_GCM, &ck, &sk);
    pair_free(&c, &s);
}

static uint32_t rng_state = 0x12345678;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Garbage must never crash: random bytes, and random bodies behind valid record headers. */
static void test_garbage(void)
{
    static struct endpoint c, s;
    uint8_t buf[1500];
    int failed = 0;
    for (int round = 0; round < 400; round++) {
        pair_new(&c, &s, client_ctx, server_fp, client_fp);
        size_t len = rng() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng();
        if (round % 2 && len >= 13) {
            buf[0] = (uint8_t)(20 + rng() % 4);
            buf[1] = 0xFE;
            buf[2] = rng() % 2 ? 0xFD : 0xFF;
            if (round % 4 == 1) { /* epoch 0, plausible handshake header */
                buf[3] = buf[4] = 0;
                buf[0] = 22;
            }
            buf[11] = (uint8_t)((len - 13) >> 8);
            buf[12] = (uint8_t)(len - 13);
        }
        enum pl_dtls_state st = pl_dtls_feed(s.d, buf, len);
        CHECK(st == PL_DTLS_HANDSHAKING || st == PL_DTLS_FAILED);
        failed += st == PL_DTLS_FAILED;
        /* The client too, mid-handshake. */
        pl_dtls_start(c.d);
        pl_dtls_feed(c.d, buf, len);
        pl_dtls_feed(c.d, NULL, 0);
        pair_free(&c, &s);
    }
    fprintf(stderr, "garbage: %d of 400 server connections failed, the rest ignored it\n",
            failed);

    /* A real ClientHello truncated at every length. */
    pair_new(&c, &s, client_ctx, server_fp, client_fp);
    pl_dtls_start(c.d);
    uint8_t hello[MAX_DGRAM];
    size_t hello_len = c.qlen[0];
    memcpy(hello, c.q[0], hello_len);
    pair_free(&c, &s);
    for (size_t cut = 0; cut <= hello_len; cut++) {
        pair_new(&c, &s, client_ctx, server_fp, client_fp);
        uint8_t tmp[MAX_DGRAM];
        memcpy(tmp, hello, cut);
        if (cut >= 13) { /* keep the framing valid so OpenSSL parses the body */
            tmp[11] = (uint8_t)((cut - 13) >> 8);
            tmp[12] = (uint8_t)(cut - 13);
        }
        pl_dtls_feed(s.d, tmp, cut);
        CHECK(pl_dtls_state(s.d) != PL_DTLS_CONNECTED);
        pair_free(&c, &s);
    }
}

static void test_records_valid(void)
{
    uint8_t b[64] = {22, 0xFE, 0xFD};
    CHECK(!pl_dtls_records_valid(b, 0));
    CHECK(!pl_dtls_records_valid(NULL, 13));
    CHECK(pl_dtls_records_valid(b, 13)); /* one empty record */
    CHECK(!pl_dtls_records_valid(b, 12));
    CHECK(!pl_dtls_records_valid(b, 14)); /* trailing byte */
    b[12] = 5;
    CHECK(pl_dtls_records_valid(b, 18));
    CHECK(!pl_dtls_records_valid(b, 17));
    /* Second record right after the first. */
    b[18] = 20;
    b[19] = 0xFE;
    b[20] = 0xFF;
    b[29] = 0; /* its length: 1 */
    b[30] = 1;
    CHECK(pl_dtls_records_valid(b, 32));
    CHECK(!pl_dtls_records_valid(b, 31));
    CHECK(!pl_dtls_records_valid(b, 33));
    b[18] = 19; /* below the DTLS range */
    CHECK(!pl_dtls_records_valid(b, 32));
    b[18] = 64; /* above it */
    CHECK(!pl_dtls_records_valid(b, 32));
    b[18] = 63;
    CHECK(pl_dtls_records_valid(b, 32));
    b[1] = 0x03; /* a TLS version, not DTLS */
    CHECK(!pl_dtls_records_valid(b, 32));
}

static void test_clone(void)
{
    static struct endpoint c, s;
    struct pl_srtp_keys ck, sk;
    /* A clone has the same certificate, so the original fingerprint authenticates it. */
    struct pl_dtls_ctx *clone = pl_dtls_ctx_clone(client_ctx);
    CHECK(clone != NULL);
    if (!clone)
        return;
    pair_new(&c, &s, clone, server_fp, client_fp);
    pl_dtls_ctx_free(clone); /* connections keep what they need */
    if (handshake(&c, &s))
        check_keys(&c, &s, PL_SRTP_AEAD_AES_128_GCM, &ck, &sk);
    pair_free(&c, &s);
}

int main(void)
{
    char cfp[96], sfp[96];
    CHECK_EQ_INT(pl_srtp_global_init(), 0);
    client_ctx = pl_dtls_ctx_new(cfp);
    server_ctx = pl_dtls_ctx_new(sfp);
    CHECK(client_ctx && server_ctx);
    if (!client_ctx || !server_ctx)
        return check_result("dtls_srtp");
    CHECK_EQ_INT(strlen(cfp), 95);
    CHECK_EQ_INT(parse_fp(cfp, client_fp), 0);
    CHECK_EQ_INT(parse_fp(sfp, server_fp), 0);
    CHECK(memcmp(client_fp, server_fp, 32) != 0); /* each context has its own certificate */

    test_records_valid();
    test_srtp_init_errors();
    test_gcm_handshake_and_srtp();
    test_server_prefers_gcm();
    test_aes_cm();
    test_wrong_fingerprint();
    test_clone();
    test_garbage();
    test_lost_flights();

    pl_dtls_ctx_free(client_ctx);
    pl_dtls_ctx_free(server_ctx);
    pl_srtp_global_shutdown();
    return check_result("dtls_srtp");
}
