/* `parley-bench limit`: what one forwarded packet costs at the least on this machine — an
 * srtp_protect (AEAD_AES_128_GCM, libsrtp2 through sfu/srtp.c as the node uses it) and its
 * share of a sendmmsg to a 127.0.0.1 UDP sink — measured in thread CPU time. With N sessions
 * the packets go round-robin over N keys, as a fan-out to N subscribers does. The sink is never
 * read: once its buffer is full the kernel drops at the socket, after loopback delivery, which
 * runs in the sender's context as it does for the node. */
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parley/bench.h"
#include "parley/srtp.h"

#define MAX_BATCH 64

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bufs {
    uint8_t (*pkt)[1500 + PL_SRTP_MAX_TRAILER];
    size_t len[MAX_BATCH];
    struct iovec iov[MAX_BATCH];
    struct mmsghdr msg[MAX_BATCH];
};

static void rtp_packet(uint8_t *p, size_t size, uint16_t seq, uint32_t ts)
{
    memset(p, 0xab, size);
    p[0] = 0x80;
    p[1] = 96;
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24);
    p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8);
    p[7] = (uint8_t)ts;
    p[8] = 0x11;
    p[9] = 0x22;
    p[10] = 0x33;
    p[11] = 0x44;
}

/* One phase: for about `seconds`, batches of `batch` packets, protected and/or sent. Returns
 * CPU ns per packet, or -1. */
static double phase(struct pl_srtp *srtp, int n_sessions, int fd, struct bufs *b, size_t size, int batch,
                    double seconds, bool protect, bool send, uint16_t *seq, uint64_t *count)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t c0 = thread_cpu_ns(), packets = 0;
    for (;;) {
        for (int i = 0; i < batch && protect; i++) {
            /* A fresh header each time, as forwarding writes one; the payload is reused. */
            rtp_packet(b->pkt[i], 12, *seq, (uint32_t)*seq * 3000u);
            (*seq)++;
            size_t len = size;
            /* Round-robin over the sessions, as a fan-out goes over subscribers (each its key). */
            if (pl_srtp_protect_rtp(&srtp[(packets + (uint64_t)i) % (uint64_t)n_sessions], b->pkt[i],
                                    &len, sizeof b->pkt[i]) != 0)
                return -1;
            b->len[i] = len;
            b->iov[i].iov_len = len;
        }
        if (send) {
            int sent = 0;
            while (sent < batch) {
                int r = sendmmsg(fd, b->msg + sent, (unsigned)(batch - sent), 0);
                if (r <= 0)
                    return -1;
                sent += r;
            }
        }
        packets += (uint64_t)batch;
        if ((packets & 4095) < (uint64_t)batch) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
                break;
        }
    }
    *count += packets;
    return (double)(thread_cpu_ns() - c0) / (double)packets;
}

int pl_bench_limit_run(double seconds, size_t packet_size, int batch, int sessions,
                       struct pl_bench_limit *out)
{
    memset(out, 0, sizeof *out);
    if (packet_size < 12 || packet_size > 1500 || batch < 1 || batch > MAX_BATCH || sessions < 1 ||
        sessions > 100000)
        return -1;
    /* A second srtp_init fails (the client loops may have made the first): the session
     * below says whether libsrtp2 is usable. */
    pl_srtp_global_init();
    struct pl_srtp *srtp = calloc((size_t)sessions, sizeof *srtp);
    if (!srtp)
        return -1;
    for (int k = 0; k < sessions; k++) {
        struct pl_srtp_keys keys = {.profile = PL_SRTP_AEAD_AES_128_GCM, .key_len = 28};
        RAND_bytes(keys.local_key, sizeof keys.local_key);
        RAND_bytes(keys.remote_key, sizeof keys.remote_key);
        if (pl_srtp_init(&srtp[k], &keys) != 0) {
            fprintf(stderr, "parley-bench limit: no SRTP session\n");
            for (int i = 0; i < k; i++)
                pl_srtp_free(&srtp[i]);
            free(srtp);
            return -1;
        }
    }
    int sink = socket(AF_INET, SOCK_DGRAM, 0), fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    struct bufs *b = calloc(1, sizeof *b);
    int rc = -1;
    if (sink < 0 || fd < 0 || !b || bind(sink, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(sink, (struct sockaddr *)&a, &al) != 0)
        goto out;
    b->pkt = calloc(MAX_BATCH, sizeof *b->pkt);
    if (!b->pkt)
        goto out;
    for (int i = 0; i < batch; i++) {
        rtp_packet(b->pkt[i], packet_size, 0, 0);
        b->iov[i].iov_base = b->pkt[i];
        b->iov[i].iov_len = packet_size + 16; /* GCM tag: sizes as protected */
        b->msg[i].msg_hdr.msg_name = &a;
        b->msg[i].msg_hdr.msg_namelen = sizeof a;
        b->msg[i].msg_hdr.msg_iov = &b->iov[i];
        b->msg[i].msg_hdr.msg_iovlen = 1;
    }
    uint16_t seq = 1;
    double third = seconds / 3;
    out->protect_ns = phase(srtp, sessions, fd, b, packet_size, batch, third, true, false, &seq, &out->packets);
    out->send_ns = phase(srtp, sessions, fd, b, packet_size, batch, third, false, true, &seq, &out->packets);
    out->both_ns = phase(srtp, sessions, fd, b, packet_size, batch, third, true, true, &seq, &out->packets);
    out->packet_size = packet_size;
    out->batch = batch;
    out->sessions = sessions;
    rc = out->protect_ns < 0 || out->send_ns < 0 || out->both_ns < 0 ? -1 : 0;
out:
    if (b)
        free(b->pkt);
    free(b);
    if (sink >= 0)
        close(sink);
    if (fd >= 0)
        close(fd);
    for (int k = 0; k < sessions; k++)
        pl_srtp_free(&srtp[k]);
    free(srtp);
    return rc;
}
