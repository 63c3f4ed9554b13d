/* Data channels over usrsctp in its thread-less mode (usrsctp_init_nothreads: timers are
 * driven by pl_dc_tick), one AF_CONN socket per association whose "address" is the pl_dc.
 * One recursive lock around every entry into usrsctp (callbacks run under it and may call
 * back in), so associations can live on several threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "parley/datachannel.h"
#include "parley/log.h"
#include "parley/time.h"

#define SCTP_PORT 5000
#define MAX_STREAMS 1024
#define MAX_MESSAGE (256 * 1024) /* a=max-message-size we would announce */

struct pl_dc {
    struct socket *sock;
    struct pl_dc_callbacks cb;
    bool connected;
    uint16_t next_sid;
    uint8_t *partial;           /* a message delivered in pieces (no MSG_EOR yet) */
    size_t partial_len;
    bool partial_too_big;
};

static int users; /* associations alive: usrsctp is set up for the first, torn down after the last */
static pthread_mutex_t lock;
static pthread_once_t lock_once = PTHREAD_ONCE_INIT;

static void lock_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&lock, &a);
    pthread_mutexattr_destroy(&a);
}

static void take(void)
{
    pthread_once(&lock_once, lock_init);
    pthread_mutex_lock(&lock);
}

static void give(void)
{
    pthread_mutex_unlock(&lock);
}

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    struct pl_dc *dc = addr;
    if (dc->cb.send)
        dc->cb.send(dc->cb.user, buf, len);
    return 0;
}

static void on_dcep(struct pl_dc *dc, uint16_t sid, const uint8_t *data, size_t len)
{
    struct pl_dcep m;
    if (pl_dcep_parse(data, len, &m) != 0) {
        PL_WARN("datachannel", "malformed DCEP message on stream %u dropped", sid);
        return;
    }
    if (m.type == PL_DCEP_OPEN) {
        uint8_t ack = PL_DCEP_ACK;
        struct sctp_sndinfo si = {.snd_sid = sid, .snd_ppid = htonl(PL_DCEP_PPID)};
        usrsctp_sendv(dc->sock, &ack, 1, NULL, 0, &si, sizeof si, SCTP_SENDV_SNDINFO, 0);
        if (dc->cb.on_open)
            dc->cb.on_open(dc->cb.user, sid, m.label);
    } else if (dc->cb.on_open) {
        dc->cb.on_open(dc->cb.user, sid, ""); /* our OPEN was acknowledged */
    }
}

static void deliver(struct pl_dc *dc, struct sctp_rcvinfo rcv, const uint8_t *data, size_t len);

static int on_receive(struct socket *sock, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
    (void)sock;
    (void)addr;
    struct pl_dc *dc = ulp_info;
    if (!data)
        return 1;
    if (flags & MSG_NOTIFICATION) {
        const union sctp_notification *n = data;
        if (len >= sizeof n->sn_assoc_change && n->sn_header.sn_type == SCTP_ASSOC_CHANGE &&
            n->sn_assoc_change.sac_state == SCTP_COMM_UP && !dc->connected) {
            dc->connected = true;
            if (dc->cb.on_connected)
                dc->cb.on_connected(dc->cb.user);
        }
    } else if (!(flags & MSG_EOR) || dc->partial_len) {
        /* Pieces of one message: gather them, deliver at the end (dropped when too big). */
        if (dc->partial_len + len > MAX_MESSAGE) {
            dc->partial_too_big = true;
        } else if (!dc->partial_too_big) {
            uint8_t *p = realloc(dc->partial, dc->partial_len + len);
            if (p) {
                memcpy(p + dc->partial_len, data, len);
                dc->partial = p;
                dc->partial_len += len;
            } else {
                dc->partial_too_big = true;
            }
        }
        free(data);
        if (flags & MSG_EOR) {
            if (dc->partial_too_big)
                PL_WARN("datachannel", "message over %d bytes dropped", MAX_MESSAGE);
            else
                deliver(dc, rcv, dc->partial, dc->partial_len);
            free(dc->partial);
            dc->partial = NULL;
            dc->partial_len = 0;
            dc->partial_too_big = false;
        }
        return 1;
    } else {
        deliver(dc, rcv, data, len);
    }
    free(data); /* usrsctp's callback API hands the buffer over */
    return 1;
}

static void deliver(struct pl_dc *dc, struct sctp_rcvinfo rcv, const uint8_t *data, size_t len)
{
    uint32_t ppid = ntohl(rcv.rcv_ppid);
    if (ppid == PL_DCEP_PPID)
        on_dcep(dc, rcv.rcv_sid, data, len);
    else if (dc->cb.on_message && (ppid == PL_DC_PPID_STRING || ppid == PL_DC_PPID_BINARY))
        dc->cb.on_message(dc->cb.user, rcv.rcv_sid, ppid == PL_DC_PPID_BINARY, data, len);
    else if (dc->cb.on_message && (ppid == PL_DC_PPID_STRING_EMPTY || ppid == PL_DC_PPID_BINARY_EMPTY))
        dc->cb.on_message(dc->cb.user, rcv.rcv_sid, ppid == PL_DC_PPID_BINARY_EMPTY, NULL, 0);
}

static struct sockaddr_conn conn_addr(struct pl_dc *dc)
{
    struct sockaddr_conn a;
    memset(&a, 0, sizeof a);
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(SCTP_PORT);
    a.sconn_addr = dc;
#ifdef HAVE_SCONN_LEN
    a.sconn_len = sizeof a;
#endif
    return a;
}

static struct pl_dc *pl_dc_new_locked(bool dtls_client, const struct pl_dc_callbacks *cb)
{
    struct pl_dc *dc = calloc(1, sizeof *dc);
    if (!dc)
        return NULL;
    dc->cb = *cb;
    dc->next_sid = dtls_client ? 0 : 1;
    if (users++ == 0) {
        usrsctp_init_nothreads(0, conn_output, NULL);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
    }
    usrsctp_register_address(dc);
    dc->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, on_receive, NULL, 0, dc);
    if (!dc->sock)
        goto fail;
    usrsctp_set_non_blocking(dc->sock, 1);
    struct linger lg = {1, 0}; /* close = ABORT: the DTLS connection goes away with it anyway */
    int one = 1;
    struct sctp_initmsg init = {.sinit_num_ostreams = MAX_STREAMS, .sinit_max_instreams = MAX_STREAMS};
    struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_on = 1, .se_type = SCTP_ASSOC_CHANGE};
    if (usrsctp_setsockopt(dc->sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0 ||
        usrsctp_setsockopt(dc->sock, IPPROTO_SCTP, SCTP_NODELAY, &one, sizeof one) < 0 ||
        usrsctp_setsockopt(dc->sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init) < 0 ||
        usrsctp_setsockopt(dc->sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev) < 0)
        goto fail;
    struct sockaddr_conn a = conn_addr(dc);
    if (usrsctp_bind(dc->sock, (struct sockaddr *)&a, sizeof a) < 0)
        goto fail;
    if (usrsctp_connect(dc->sock, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
        goto fail;
    return dc;
fail:
    PL_ERROR("datachannel", "SCTP socket setup failed: %s", strerror(errno));
    pl_dc_free(dc);
    return NULL;
}

static void pl_dc_free_locked(struct pl_dc *dc)
{
    if (!dc)
        return;
    dc->cb.send = NULL; /* no ABORT into a DTLS connection that may be gone */
    if (dc->sock)
        usrsctp_close(dc->sock);
    usrsctp_deregister_address(dc);
    free(dc->partial);
    free(dc);
    if (--users == 0)
        while (usrsctp_finish() != 0)
            usrsctp_handle_timers(10); /* lets closing sockets go */
}

static void pl_dc_input_locked(struct pl_dc *dc, const uint8_t *data, size_t len)
{
    usrsctp_conninput(dc, data, len, 0);
}

bool pl_dc_connected(const struct pl_dc *dc) { return dc->connected; }

static int send_ppid(struct pl_dc *dc, uint16_t sid, uint32_t ppid, const void *data, size_t len)
{
    struct sctp_sndinfo si = {.snd_sid = sid, .snd_ppid = htonl(ppid)};
    return usrsctp_sendv(dc->sock, data, len, NULL, 0, &si, sizeof si, SCTP_SENDV_SNDINFO, 0) < 0 ? -1 : 0;
}

static int pl_dc_open_locked(struct pl_dc *dc, const char *label)
{
    uint8_t msg[12 + 256];
    size_t n = strlen(label) <= 255 ? pl_dcep_write_open(msg, sizeof msg, label, "") : 0;
    if (!dc->connected || !n || dc->next_sid >= MAX_STREAMS)
        return -1;
    uint16_t sid = dc->next_sid;
    if (send_ppid(dc, sid, PL_DCEP_PPID, msg, n) != 0)
        return -1;
    dc->next_sid += 2;
    return sid;
}

static int pl_dc_send_locked(struct pl_dc *dc, uint16_t sid, bool binary, const uint8_t *data, size_t len)
{
    if (!dc->connected)
        return -1;
    if (len == 0) { /* RFC 8831 6.6: empty messages travel as one zero byte with their own PPID */
        uint8_t zero = 0;
        return send_ppid(dc, sid, binary ? PL_DC_PPID_BINARY_EMPTY : PL_DC_PPID_STRING_EMPTY, &zero, 1);
    }
    return send_ppid(dc, sid, binary ? PL_DC_PPID_BINARY : PL_DC_PPID_STRING, data, len);
}

void pl_dc_tick_now(void)
{
    static uint64_t last_ms;
    uint64_t now = pl_now_ms();
    if (!last_ms)
        last_ms = now;
    if (now > last_ms) {
        pl_dc_tick((uint32_t)(now - last_ms));
        last_ms = now;
    }
}

static void pl_dc_tick_locked(uint32_t elapsed_ms)
{
    if (users)
        usrsctp_handle_timers(elapsed_ms);
}

struct pl_dc *pl_dc_new(bool dtls_client, const struct pl_dc_callbacks *cb)
{
    take();
    struct pl_dc * r = pl_dc_new_locked(dtls_client, cb);
    give();
    return r;
}

void pl_dc_free(struct pl_dc *dc)
{
    take();
    pl_dc_free_locked(dc);
    give();
}

void pl_dc_input(struct pl_dc *dc, const uint8_t *data, size_t len)
{
    take();
    pl_dc_input_locked(dc, data, len);
    give();
}

int pl_dc_open(struct pl_dc *dc, const char *label)
{
    take();
    int r = pl_dc_open_locked(dc, label);
    give();
    return r;
}

int pl_dc_send(struct pl_dc *dc, uint16_t sid, bool binary, const uint8_t *data, size_t len)
{
    take();
    int r = pl_dc_send_locked(dc, sid, binary, data, len);
    give();
    return r;
}

void pl_dc_tick(uint32_t elapsed_ms)
{
    take();
    pl_dc_tick_locked(elapsed_ms);
    give();
}
