/* Regular RTCP reports (RFC 3550 section 6.4), once a second per peer:
 *  - a Receiver Report with a block for every stream the peer publishes (loss, jitter,
 *    LSR/DLSR: the browser derives its round-trip time from them);
 *  - a Sender Report for every slot stream the node sends it. Its NTP/RTP pair comes from the
 *    source's own Sender Reports, so the subscriber syncs a publisher's audio and video as
 *    the publisher's clock says, whatever layer or slot they travel on;
 *  - REMB (draft-alvestrand-rmcat-remb) to publishers without transport-cc.
 * Reports go in compound packets of at most 1200 bytes, each starting with an SR or RR. */
#include <string.h>
#include <time.h>

#include "parley/log.h"
#include "parley/rtcp.h"
#include "parley/time.h"
#include "worker_int.h"

#define PL_REPORT_MTU 1200
#define PL_REMB_START 300000u       /* bits/s before anything is known */
#define PL_REMB_MIN 50000u
#define PL_REMB_MAX 20000000u

/* Wall clock as an NTP timestamp (32.32). */
static uint64_t ntp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec + 2208988800ull) << 32 |
           (uint64_t)(((uint64_t)ts.tv_nsec << 32) / 1000000000ull);
}

void pl_on_sender_report(struct pl_peer *p, const struct pl_rtcp_sr *sr, uint64_t now_us)
{
    for (int i = 0; i < p->n_tracks; i++)
        for (int l = 0; l < p->tracks[i].n_layers; l++)
            if (p->tracks[i].layers[l].ssrc == sr->ssrc) {
                pl_rx_stats_on_sr(&p->tracks[i].layers[l].rx, sr->ntp, sr->rtp_ts, now_us);
                return;
            }
}

/* Sends a compound packet buf[0..len) (or just returns the buffer when it is empty). */
static void send_compound(struct pl_peer *p, uint8_t *buf, size_t len)
{
    if (len && pl_srtp_protect_rtcp(&p->srtp, buf, &len, PL_PKT_BUF) == 0) {
        p->w->stats.rtcp_reports++;
        pl_out_queue(p->w, p, buf, len);
        return;
    }
    if (len)
        p->w->stats.srtp_errors++;
    pl_out_release(p->w, buf);
}

bool pl_slot_source_clock(const struct pl_slot *s, uint64_t now_us, uint64_t *ntp, uint32_t *rtp_ts)
{
    const struct pl_track *t = s->source;
    uint32_t src_ts;
    if (!t || s->layer < 0 || s->rw.resync || !s->rw.started ||
        !pl_rx_stats_clock_at(&t->layers[s->layer].rx, pl_track_clock(t), now_us, &src_ts, ntp))
        return false;
    *rtp_ts = src_ts + s->rw.ts_offset;
    return true;
}

/* The slot's SR: timestamps on the source's clock when it sent SRs, else on the node's. */
static void slot_sr(const struct pl_slot *s, uint64_t now_us, struct pl_rtcp_sr *sr)
{
    sr->ssrc = s->spec.out_ssrc;
    sr->packet_count = (uint32_t)s->packets;
    sr->octet_count = (uint32_t)s->octets;
    if (pl_slot_source_clock(s, now_us, &sr->ntp, &sr->rtp_ts))
        return;
    uint32_t clock = s->spec.kind == PL_MEDIA_AUDIO ? 48000 : 90000;
    uint64_t since_ms = pl_now_ms() - s->rw.last_ms;
    sr->ntp = ntp_now();
    sr->rtp_ts = s->rw.last_ts + (uint32_t)(since_ms * clock / 1000);
}

/* REMB: a loss-based estimate of the publisher's uplink (the receive-side half of GCC's
 * idea): over 10% loss cuts it in proportion, under 2% lets it reach 1.5x what arrives (so the
 * encoder may step up a layer), growing at least 8% a second. */
static void update_remb(struct pl_peer *p, uint64_t expected, uint64_t lost)
{
    uint64_t incoming = 0;
    for (int i = 0; i < p->n_tracks; i++)
        for (int l = 0; l < p->tracks[i].n_layers; l++)
            incoming += p->tracks[i].layers[l].bitrate;
    double loss = expected ? (double)lost / (double)expected : 0;
    uint64_t est = p->remb_est ? p->remb_est : PL_REMB_START;
    if (loss > 0.10) {
        est = (uint64_t)((double)(incoming < est ? incoming : est) * (1.0 - 0.5 * loss));
    } else if (loss < 0.02) {
        uint64_t up = est + est / 12;
        est = incoming + incoming / 2 > up ? incoming + incoming / 2 : up;
    }
    p->remb_est = (uint32_t)(est < PL_REMB_MIN ? PL_REMB_MIN : est > PL_REMB_MAX ? PL_REMB_MAX : est);
}

void pl_send_reports(struct pl_peer *p, uint64_t now_us)
{
    uint8_t *buf = pl_out_buf(p->w);
    if (!buf)
        return;
    /* Receiver report: one block per published stream that has sent something (31 at most,
     * the field's limit; a peer publishes at most 4 tracks x 3 layers). */
    struct pl_rtcp_report_block rb[31];
    size_t n = 0;
    uint32_t media_ssrcs[PL_MAX_PUBLISH_TRACKS * PL_MAX_LAYERS];
    int n_media = 0;
    uint64_t expected = 0, lost = 0;
    for (int i = 0; i < p->n_tracks; i++)
        for (int l = 0; l < p->tracks[i].n_layers && n < 31; l++) {
            struct pl_layer *ly = &p->tracks[i].layers[l];
            if (!ly->ssrc || !ly->rx.started)
                continue;
            uint64_t exp_before = ly->rx.expected_prior, rcv_before = ly->rx.received_prior;
            pl_rx_stats_report(&ly->rx, ly->ssrc, now_us, &rb[n++]);
            uint64_t e = ly->rx.expected_prior - exp_before, r = ly->rx.received_prior - rcv_before;
            expected += e;
            lost += e > r ? e - r : 0;
            if (p->tracks[i].spec.kind == PL_MEDIA_VIDEO)
                media_ssrcs[n_media++] = ly->ssrc;
        }
    size_t len = pl_rtcp_build_rr(buf, PL_REPORT_MTU, p->rtcp_ssrc, rb, n);
    if (p->remb && n_media) {
        update_remb(p, expected, lost);
        size_t r = pl_rtcp_build_remb(buf + len, PL_REPORT_MTU - len, p->rtcp_ssrc,
                                      p->remb_est, media_ssrcs, (size_t)n_media);
        p->w->stats.remb_sent += r > 0;
        len += r;
    }
    /* Sender reports, one per slot that has sent something. */
    for (int i = 0; i < p->n_slots && buf; i++) {
        const struct pl_slot *s = &p->slots[i];
        if (!s->rw.started)
            continue;
        struct pl_rtcp_sr sr;
        slot_sr(s, now_us, &sr);
        size_t w = pl_rtcp_build_sr(buf + len, PL_REPORT_MTU - len, &sr);
        if (!w) {
            send_compound(p, buf, len);
            buf = pl_out_buf(p->w);
            len = 0;
            if (buf)
                w = pl_rtcp_build_sr(buf, PL_REPORT_MTU, &sr);
        }
        len += w;
    }
    if (buf)
        send_compound(p, buf, len);
}
