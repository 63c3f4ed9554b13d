/* The receive side of a worker's UDP socket: recvmmsg batches read straight from the socket
 * (uv_poll), each datagram stamped with the kernel's arrival time (SO_TIMESTAMPNS), then
 * demultiplexed (RFC 7983) to ICE, DTLS or SRTP.
 *
 * Why not uv_udp: libuv reads at most 20 datagrams per wakeup into 64 KiB each and gives no
 * arrival time. Transport-cc feedback must carry when a packet reached the machine, not when a
 * busy worker got to it: with the read time, a node starved of CPU looks like a congested path
 * to the browser's delay-based estimate, and the browser holds its top simulcast layer back. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parley/log.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "worker_int.h"

/* How many batches one wakeup reads before timers and commands get their turn. */
#define PL_RX_BATCHES_PER_WAKEUP 8

static void on_datagram(struct pl_worker *w, uint8_t *data, size_t len, const struct sockaddr *from)
{
    w->stats.rx_packets++;
    w->stats.rx_bytes += len;
    if (pl_test_drop(w)) {
        w->stats.rx_dropped++;
        return;
    }
    switch (pl_classify(data, len)) {
    case PL_PKT_STUN:
        w->stats.rx_stun++;
        pl_ice_on_stun(w, data, len, from);
        return;
    case PL_PKT_DTLS: {
        w->stats.rx_dtls++;
        struct pl_peer *p = pl_peer_by_addr(w, from);
        if (p)
            pl_peer_on_dtls(p, data, len);
        else
            w->stats.rx_dropped++;
        return;
    }
    case PL_PKT_RTP: {
        w->stats.rx_rtp++;
        struct pl_peer *p = pl_peer_by_addr(w, from);
        if (p && p->srtp_ready)
            pl_forward_rtp(p, data, len);
        else
            w->stats.rx_dropped++;
        return;
    }
    case PL_PKT_RTCP: {
        w->stats.rx_rtcp++;
        struct pl_peer *p = pl_peer_by_addr(w, from);
        if (p && p->srtp_ready)
            pl_forward_rtcp(p, data, len);
        else
            w->stats.rx_dropped++;
        return;
    }
    default:
        w->stats.rx_dropped++;
        return;
    }
}

static uint64_t timespec_us(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000u + (uint64_t)ts->tv_nsec / 1000u;
}

/* The datagram's arrival on the monotonic clock: the kernel stamps it on the real-time clock,
 * so it is moved by the two clocks' difference now. Never later than now. */
static uint64_t arrival_us(const struct msghdr *mh, uint64_t mono_now, uint64_t real_now)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS ||
            c->cmsg_len < CMSG_LEN(sizeof(struct timespec)))
            continue;
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        uint64_t real = timespec_us(&ts);
        if (real >= real_now)
            return mono_now;
        uint64_t age = real_now - real;
        return age < mono_now ? mono_now - age : mono_now;
    }
    return mono_now;
}

/* One recvmmsg. Returns the number of datagrams read, 0 when the socket is empty. */
static int read_batch(struct pl_worker *w)
{
    struct pl_rx *rx = &w->rx;
    for (int i = 0; i < PL_RX_BATCH; i++) {
        struct msghdr *mh = &rx->msgs[i].msg_hdr;
        rx->iov[i].iov_base = rx->bufs[i];
        rx->iov[i].iov_len = PL_RX_SLOT;
        mh->msg_name = &rx->addrs[i];
        mh->msg_namelen = sizeof rx->addrs[i];
        mh->msg_iov = &rx->iov[i];
        mh->msg_iovlen = 1;
        mh->msg_control = &rx->ctrl[i];
        mh->msg_controllen = sizeof rx->ctrl[i];
        mh->msg_flags = 0;
    }
    int n;
    do
        n = recvmmsg(w->fd, rx->msgs, PL_RX_BATCH, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            PL_WARN("worker", "udp receive error: %s", strerror(errno));
        return 0;
    }
    struct timespec mono, real;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &real);
    uint64_t mono_now = timespec_us(&mono), real_now = timespec_us(&real);
    for (int i = 0; i < n; i++) {
        struct msghdr *mh = &rx->msgs[i].msg_hdr;
        if (mh->msg_flags & MSG_TRUNC) { /* larger than any datagram a peer of ours sends */
            w->stats.rx_packets++;
            w->stats.rx_dropped++;
            continue;
        }
        w->rx_arrival_us = arrival_us(mh, mono_now, real_now);
        on_datagram(w, rx->bufs[i], rx->msgs[i].msg_len, (const struct sockaddr *)&rx->addrs[i]);
    }
    return n;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct pl_worker *w = h->data;
    if (status < 0) {
        PL_WARN("worker", "udp poll error: %s", uv_strerror(status));
        return;
    }
    if (!(events & UV_READABLE))
        return;
    /* Everything a batch produced leaves with one sendmmsg before the next batch is read. */
    for (int i = 0; i < PL_RX_BATCHES_PER_WAKEUP; i++) {
        int n = read_batch(w);
        pl_out_flush(w);
        if (n < PL_RX_BATCH)
            break;
    }
}

int pl_in_open(struct pl_worker *w)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len = sizeof(struct sockaddr_in);
    int family = AF_INET;
    if (uv_ip4_addr(w->bind_ip, w->cfg.port, (struct sockaddr_in *)&ss) != 0) {
        if (uv_ip6_addr(w->bind_ip, w->cfg.port, (struct sockaddr_in6 *)&ss) != 0)
            return UV_EINVAL;
        family = AF_INET6;
        len = sizeof(struct sockaddr_in6);
    }
    w->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (w->fd < 0)
        return uv_translate_sys_error(errno);
    int one = 1;
    if (bind(w->fd, (struct sockaddr *)&ss, len) != 0 ||
        setsockopt(w->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0) {
        int err = uv_translate_sys_error(errno);
        close(w->fd);
        w->fd = -1;
        return err;
    }
    /* Room for bursts (a keyframe from many publishers at once) while the worker is busy. */
    int sz = 4 * 1024 * 1024;
    setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    setsockopt(w->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    int rc = uv_poll_init(&w->loop, &w->rx_poll, w->fd);
    if (rc) {
        close(w->fd);
        w->fd = -1;
        return rc;
    }
    w->rx_poll.data = w;
    return uv_poll_start(&w->rx_poll, UV_READABLE, on_readable);
}

void pl_in_close_fd(struct pl_worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}
