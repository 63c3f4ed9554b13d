/* Data channels between two endpoints over a real DTLS pair (no network: datagrams are queued
 * in memory): SCTP association over DTLS application data, DCEP open + ack both ways, string,
 * binary and empty messages, and teardown without leaks. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parley/datachannel.h"
#include "parley/dtls.h"

#define QMAX 256

struct endpoint {
    const char *name;
    struct pl_dtls *dtls;
    struct pl_dc *dc;
    struct endpoint *peer;
    uint8_t q[QMAX][1500];      /* datagrams on their way to the peer */
    size_t qlen[QMAX];
    int qn;
    bool connected;
    int opened;
    char open_label[64];
    uint16_t open_sid;
    int messages;
    char last[256];
    size_t last_len, last_full_len;
    bool last_binary;
    uint16_t last_sid;
};

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    struct endpoint *e = user;
    if (e->qn < QMAX && len <= sizeof e->q[0]) {
        memcpy(e->q[e->qn], data, len);
        e->qlen[e->qn++] = len;
    }
}

static void dtls_data(void *user, const uint8_t *data, size_t len)
{
    struct endpoint *e = user;
    if (e->dc)
        pl_dc_input(e->dc, data, len);
}

static void sctp_send(void *user, const uint8_t *data, size_t len)
{
    struct endpoint *e = user;
    pl_dtls_write(e->dtls, data, len);
}

static void on_connected(void *user) { ((struct endpoint *)user)->connected = true; }

static void on_open(void *user, uint16_t sid, const char *label)
{
    struct endpoint *e = user;
    e->opened++;
    e->open_sid = sid;
    snprintf(e->open_label, sizeof e->open_label, "%s", label);
}

static void on_message(void *user, uint16_t sid, bool binary, const uint8_t *data, size_t len)
{
    struct endpoint *e = user;
    e->messages++;
    e->last_sid = sid;
    e->last_binary = binary;
    e->last_full_len = len;
    e->last_len = len < sizeof e->last ? len : sizeof e->last - 1;
    if (len)
        memcpy(e->last, data, e->last_len);
    e->last[e->last_len] = 0;
}

/* Delivers queued datagrams both ways and runs SCTP timers, n rounds. */
static void pump(struct endpoint *a, struct endpoint *b, int rounds)
{
    static uint8_t buf[1500];
    for (int r = 0; r < rounds; r++) {
        struct endpoint *eps[2] = {a, b};
        for (int k = 0; k < 2; k++) {
            struct endpoint *from = eps[k];
            int n = from->qn;
            for (int i = 0; i < n; i++) {
                memcpy(buf, from->q[i], from->qlen[i]);
                pl_dtls_feed(from->peer->dtls, buf, from->qlen[i]);
            }
            memmove(from->q, from->q[n], (size_t)(from->qn - n) * sizeof from->q[0]);
            memmove(from->qlen, from->qlen + n, (size_t)(from->qn - n) * sizeof from->qlen[0]);
            from->qn -= n;
        }
        pl_dc_tick(10);
    }
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void parse_fp(const char *s, uint8_t out[32])
{
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(hexval(s[3 * i]) << 4 | hexval(s[3 * i + 1]));
}

int main(void)
{
    char cfp[96], sfp[96];
    uint8_t cfpb[32], sfpb[32];
    struct pl_dtls_ctx *cctx = pl_dtls_ctx_new(cfp), *sctx = pl_dtls_ctx_new(sfp);
    CHECK(cctx && sctx);
    if (!cctx || !sctx)
        return 1;
    parse_fp(cfp, cfpb);
    parse_fp(sfp, sfpb);
    static struct endpoint c = {.name = "client"}, s = {.name = "server"};
    c.peer = &s;
    s.peer = &c;
    c.dtls = pl_dtls_new(cctx, false, sfpb, dtls_send, dtls_data, &c);
    s.dtls = pl_dtls_new(sctx, true, cfpb, dtls_send, dtls_data, &s);
    CHECK_EQ_INT(pl_dtls_start(c.dtls), 0);
    pump(&c, &s, 10);
    CHECK_EQ_INT(pl_dtls_state(c.dtls), PL_DTLS_CONNECTED);
    CHECK_EQ_INT(pl_dtls_state(s.dtls), PL_DTLS_CONNECTED);

    struct pl_dc_callbacks ccb = {sctp_send, on_connected, on_open, on_message, &c};
    struct pl_dc_callbacks scb = {sctp_send, on_connected, on_open, on_message, &s};
    c.dc = pl_dc_new(true, &ccb);
    s.dc = pl_dc_new(false, &scb);
    CHECK(c.dc && s.dc);
    CHECK_EQ_INT(pl_dc_open(c.dc, "early"), -1); /* not connected yet */
    for (int i = 0; i < 100 && !(c.connected && s.connected); i++)
        pump(&c, &s, 1);
    CHECK(c.connected && s.connected);
    CHECK(pl_dc_connected(c.dc) && pl_dc_connected(s.dc));

    /* The DTLS client opens "chat" on an even stream; the server learns the label, the client
     * gets the ack. */
    int sid = pl_dc_open(c.dc, "chat");
    CHECK_EQ_INT(sid, 0);
    pump(&c, &s, 5);
    CHECK_EQ_INT(s.opened, 1);
    CHECK(strcmp(s.open_label, "chat") == 0 && s.open_sid == 0);
    CHECK_EQ_INT(c.opened, 1);

    CHECK_EQ_INT(pl_dc_send(c.dc, 0, false, (const uint8_t *)"hello", 5), 0);
    pump(&c, &s, 5);
    CHECK_EQ_INT(s.messages, 1);
    CHECK(strcmp(s.last, "hello") == 0 && !s.last_binary && s.last_sid == 0);

    /* The server answers on the same channel, binary; then an empty string message. */
    uint8_t bin[3] = {0, 1, 2};
    CHECK_EQ_INT(pl_dc_send(s.dc, 0, true, bin, 3), 0);
    CHECK_EQ_INT(pl_dc_send(s.dc, 0, false, NULL, 0), 0);
    pump(&c, &s, 5);
    CHECK_EQ_INT(c.messages, 2);
    CHECK(c.last_len == 0 && !c.last_binary);

    /* The server opens its own channel: an odd stream id. */
    CHECK_EQ_INT(pl_dc_open(s.dc, "events"), 1);
    pump(&c, &s, 5);
    CHECK(c.opened == 2 && strcmp(c.open_label, "events") == 0 && c.open_sid == 1);

    /* A big message (several SCTP packets, several DTLS records). */
    static uint8_t big[20000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    CHECK_EQ_INT(pl_dc_send(c.dc, 0, true, big, sizeof big), 0);
    int before = s.messages;
    for (int i = 0; i < 50 && s.messages == before; i++)
        pump(&c, &s, 1);
    pump(&c, &s, 5);
    CHECK_EQ_INT(s.messages, before + 1); /* one message, not pieces */
    CHECK_EQ_INT(s.last_full_len, sizeof big);
    CHECK(s.last_binary && s.last[0] == 0 && (uint8_t)s.last[200] == 200);

    pl_dc_free(c.dc);
    pl_dc_free(s.dc);
    pl_dtls_free(c.dtls);
    pl_dtls_free(s.dtls);
    pl_dtls_ctx_free(cctx);
    pl_dtls_ctx_free(sctx);
    return check_result("datachannel");
}
