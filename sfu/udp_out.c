/* The send queue of a worker: datagrams are queued while a receive batch is processed and
 * leave with one sendmmsg per batch. Buffers come from the worker's pool: no malloc per packet. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "parley/log.h"
#include "parley/time.h"
#include "worker_int.h"

uint8_t *pl_out_buf(struct pl_worker *w)
{
    return pl_pool_get(&w->bufs);
}

void pl_out_release(struct pl_worker *w, uint8_t *buf)
{
    pl_pool_put(&w->bufs, buf);
}

void pl_out_queue_to(struct pl_worker *w, uint8_t *buf, size_t len, const struct sockaddr *to,
                     socklen_t to_len)
{
    if (w->n_out == PL_OUT_QUEUE_MAX)
        pl_out_flush(w);
    struct pl_out_pkt *o = &w->out[w->n_out++];
    o->buf = buf;
    o->len = len;
    memcpy(&o->addr, to, to_len);
    o->addr_len = to_len;
}

/* Test aid (--test-downlink-kbps): a token bucket per peer, as a thin link would be. */
static bool over_test_downlink(struct pl_worker *w, struct pl_peer *p, size_t len)
{
    double rate = (double)w->cfg.test_downlink_kbps * 1000.0; /* bits per second */
    uint64_t now = pl_now_ms();
    double burst = rate / 10; /* 100 ms worth */
    p->bucket_bits += (double)(now - p->bucket_ms) * rate / 1000.0;
    if (p->bucket_bits > burst || p->bucket_ms == 0)
        p->bucket_bits = burst;
    p->bucket_ms = now;
    if (p->bucket_bits < (double)len * 8)
        return true;
    p->bucket_bits -= (double)len * 8;
    return false;
}

void pl_out_queue(struct pl_worker *w, struct pl_peer *p, uint8_t *buf, size_t len)
{
    if (!p->has_addr || (w->cfg.test_downlink_kbps && over_test_downlink(w, p, len))) {
        if (p->has_addr)
            w->stats.test_dropped++;
        pl_out_release(w, buf);
        return;
    }
    p->tx_bytes += len;
    pl_out_queue_to(w, buf, len, (const struct sockaddr *)&p->addr, p->addr_len);
}

void pl_out_flush(struct pl_worker *w)
{
    if (w->n_out == 0)
        return;
    if (w->cfg.drop_rate > 0) {
        /* Test aid: lose outgoing datagrams too, as a lossy downlink would. */
        int kept = 0;
        for (int i = 0; i < w->n_out; i++) {
            if (pl_test_drop(w)) {
                pl_out_release(w, w->out[i].buf);
                w->stats.test_dropped++;
            } else {
                w->out[kept++] = w->out[i];
            }
        }
        w->n_out = kept;
    }
    struct mmsghdr msgs[PL_OUT_QUEUE_MAX];
    struct iovec iov[PL_OUT_QUEUE_MAX];
    int n = w->n_out;
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = w->out[i].buf;
        iov[i].iov_len = w->out[i].len;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_name = &w->out[i].addr;
        msgs[i].msg_hdr.msg_namelen = w->out[i].addr_len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = 0;
    while (sent < n) {
        int r = sendmmsg(w->fd, msgs + sent, (unsigned)(n - sent), 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            /* EAGAIN (socket buffer full) or an unreachable peer: this datagram is lost,
             * as it would be on the network; the rest still goes. */
            w->stats.send_errors++;
            sent++;
            continue;
        }
        for (int i = sent; i < sent + r; i++) {
            w->stats.tx_packets++;
            w->stats.tx_bytes += w->out[i].len;
        }
        sent += r;
    }
    for (int i = 0; i < n; i++)
        pl_out_release(w, w->out[i].buf);
    w->n_out = 0;
}
