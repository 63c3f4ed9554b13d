/* What a client receives: DTLS records go to the handshake, SRTP to the sinks, SRTCP to the
 * sender (PLI, FIR, NACK) and to the receiver reports (SR times). Each incoming SSRC gets the
 * RFC 3550 loss and jitter bookkeeping; synthetic payloads give the one-way delay; the first
 * video stream can be written to IVF and the first audio stream to Ogg Opus. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "parley/log.h"
#include "parley/rtcp.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "parley/vp8.h"

#define IVF_MAX_FRAME (1 << 20)
#define PLI_GAP_US 1000000

static struct in_stream *stream_for(struct pl_client *c, const struct pl_rtp *r)
{
    if (c->last_rx < c->n_rx && c->rx[c->last_rx].pub.ssrc == r->ssrc)
        return &c->rx[c->last_rx];
    for (int i = 0; i < c->n_rx; i++)
        if (c->rx[i].pub.ssrc == r->ssrc) {
            c->last_rx = i;
            return &c->rx[i];
        }
    if (c->n_rx == CL_MAX_RX)
        return NULL;
    struct in_stream *s = &c->rx[c->n_rx];
    memset(s, 0, sizeof *s);
    s->pub.ssrc = r->ssrc;
    s->pub.video = r->pt != c->pt_opus;
    for (int i = 0; i < c->n_node_ssrcs; i++)
        if (c->node_ssrcs[i].ssrc == r->ssrc) {
            snprintf(s->pub.mid, sizeof s->pub.mid, "%s", c->node_ssrcs[i].mid);
            s->pub.video = c->node_ssrcs[i].video;
        }
    for (int k = 0; k < c->n_slots; k++)
        if (s->pub.mid[0] && strcmp(c->slots[k].mid, s->pub.mid) == 0)
            snprintf(s->pub.account_id, sizeof s->pub.account_id, "%s", c->slots[k].account_id);
    s->clock = s->pub.video ? 90000 : 48000;
    s->base_seq = s->max_seq = r->seq;
    if (s->pub.video && !c->o.count_only)
        s->nack = calloc(1, sizeof *s->nack); /* without it the stream is just not NACKed */
    c->last_rx = c->n_rx++;
    return s;
}

/* RFC 3550 A.1 (sequence, simplified: no probation) and A.8 (jitter). */
static void account(struct in_stream *s, const struct pl_rtp *r, uint64_t now_us, bool first)
{
    s->pub.packets++;
    s->pub.bytes += r->payload_len;
    if (!first) {
        uint16_t delta = (uint16_t)(r->seq - s->max_seq);
        if (delta != 0 && delta < 0x8000) {
            if (r->seq < s->max_seq)
                s->cycles += 65536;
            s->max_seq = r->seq;
        }
    }
    uint64_t expected = s->cycles + s->max_seq - s->base_seq + 1;
    s->pub.lost = expected > s->pub.packets ? expected - s->pub.packets : 0;
    int64_t arrival = (int64_t)(now_us * s->clock / 1000000u);
    int64_t transit = (int32_t)((uint32_t)arrival - r->ts);
    if (s->have_transit) {
        double d = fabs((double)(transit - s->last_transit));
        s->jitter += (d - s->jitter) / 16.0;
    }
    s->last_transit = transit;
    s->have_transit = true;
    s->pub.jitter_ms = s->jitter * 1000.0 / s->clock;
}

static void on_ivf_frame(void *user, const uint8_t *frame, size_t len, uint32_t ts, bool key)
{
    struct pl_client *c = user;
    int w, h;
    if (key && pl_vp8_key_size(frame, len, &w, &h))
        pl_ivf_set_size(&c->ivf, w, h);
    if (pl_ivf_write(&c->ivf, frame, len, ts) == 0)
        c->st.ivf_frames++;
}

static void sink_video(struct pl_client *c, struct in_stream *s, const struct pl_rtp *r,
                       uint64_t now_us)
{
    if (r->marker)
        s->pub.frames++;
    struct pl_vp8_desc d;
    if (pl_vp8_parse(r->payload, r->payload_len, &d) == 0 && d.keyframe)
        s->pub.keyframes++;
    if (!c->ivf.f)
        return;
    if (!c->ivf_ssrc) {
        c->ivf_ssrc = r->ssrc; /* the first video stream that arrives */
        c->ivf_need_key_since_us = now_us;
    }
    if (r->ssrc != c->ivf_ssrc)
        return;
    pl_vp8_asm_push(&c->vasm, r->seq, r->ts, r->marker, r->payload, r->payload_len, on_ivf_frame, c);
    if (!c->vasm.need_key)
        c->ivf_need_key_since_us = 0;
    else if (!c->ivf_need_key_since_us)
        c->ivf_need_key_since_us = now_us;
}

static void sink_audio(struct pl_client *c, const struct pl_rtp *r)
{
    if (!c->ogg.f)
        return;
    if (!c->ogg_ssrc)
        c->ogg_ssrc = r->ssrc;
    if (r->ssrc == c->ogg_ssrc && r->payload_len > 0 &&
        pl_ogg_opus_write(&c->ogg, r->payload, r->payload_len, 960) == 0)
        c->st.ogg_packets++;
}

/* The primary SSRC whose resends travel on `ssrc` (a=ssrc-group:FID of the answer), or 0. */
static uint32_t rtx_primary(const struct pl_client *c, uint32_t ssrc)
{
    for (int i = 0; i < c->n_node_ssrcs; i++)
        if (c->node_ssrcs[i].rtx_ssrc == ssrc && ssrc)
            return c->node_ssrcs[i].ssrc;
    return 0;
}

static void on_rtp(struct pl_client *c, uint8_t *buf, size_t len)
{
    if (c->o.count_only) {
        /* SRTP leaves the RTP header in clear: sequence, timestamp and SSRC are enough to
         * count. The payload length then includes the authentication tag. */
        struct pl_rtp r;
        if (pl_rtp_parse(buf, len, &r) != 0)
            return;
        if (rtx_primary(c, r.ssrc)) {
            c->st.rx_rtx++; /* a resend: not a stream of its own */
            return;
        }
        int before = c->n_rx;
        struct in_stream *s = stream_for(c, &r);
        if (!s)
            return;
        account(s, &r, pl_now_us(), c->n_rx != before);
        if (s->pub.video && r.marker)
            s->pub.frames++;
        c->st.rx_packets++;
        c->st.rx_bytes += r.payload_len;
        if (s->pub.video)
            c->st.rx_video_packets++;
        else
            c->st.rx_audio_packets++;
        return;
    }
    if (pl_srtp_unprotect_rtp(&c->srtp, buf, &len) != 0) {
        c->st.rx_unprotect_errors++;
        return;
    }
    struct pl_rtp r;
    if (pl_rtp_parse(buf, len, &r) != 0)
        return;
    if (r.payload_len == 0)
        return; /* padding only */
    uint32_t primary = rtx_primary(c, r.ssrc);
    if (primary) {
        /* RFC 4588: the original sequence number, then the original payload. */
        if (r.payload_len < 2)
            return;
        c->st.rx_rtx++;
        r.ssrc = primary;
        r.seq = (uint16_t)(r.payload[0] << 8 | r.payload[1]);
        r.payload += 2;
        r.payload_len -= 2;
        r.pt = c->pt_vp8;
        for (int i = 0; i < c->n_rx; i++)
            if (c->rx[i].pub.ssrc == primary && c->rx[i].nack)
                pl_nack_gen_on_recovered(c->rx[i].nack, r.seq);
    }
    uint64_t now = pl_now_us();
    int before = c->n_rx;
    struct in_stream *s = stream_for(c, &r);
    if (!s)
        return;
    account(s, &r, now, c->n_rx != before);
    c->st.rx_packets++;
    c->st.rx_bytes += r.payload_len;
    uint64_t sent_us;
    uint32_t frame;
    if (pl_stamp_read(r.payload, r.payload_len, &sent_us, &frame)) {
        uint64_t wall = pl_realtime_us();
        c->st.delay_hist[pl_client_delay_bucket(wall > sent_us ? wall - sent_us : 0)]++;
        c->st.delay_count++;
    }
    if (s->nack && pl_nack_gen_on_packet(s->nack, r.seq, now / 1000))
        s->want_key = true;
    if (s->pub.video) {
        c->st.rx_video_packets++;
        sink_video(c, s, &r, now);
    } else {
        c->st.rx_audio_packets++;
        sink_audio(c, &r);
    }
}

static void nack_cb(uint16_t seq, void *ud)
{
    struct { struct pl_client *c; uint32_t ssrc; } *n = ud;
    cl_on_nack(n->c, n->ssrc, seq);
}

static void on_rtcp(struct pl_client *c, uint8_t *buf, size_t len)
{
    if (pl_srtp_unprotect_rtcp(&c->srtp, buf, &len) != 0) {
        c->st.rx_unprotect_errors++;
        return;
    }
    if (pl_rtcp_validate(buf, len) != 0)
        return;
    c->st.rx_rtcp++;
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    pl_rtcp_iter_init(&it, buf, len);
    while (pl_rtcp_iter_next(&it, &p)) {
        if (p.type == PL_RTCP_PSFB && p.fmt == 1) {
            cl_on_pli(c, p.media_ssrc);
        } else if (p.type == PL_RTCP_PSFB && p.fmt == 4) {
            struct pl_rtcp_fir_entry fe[8];
            int n = pl_rtcp_parse_fir(&p, fe, 8);
            for (int i = 0; i < n; i++)
                cl_on_pli(c, fe[i].ssrc);
        } else if (p.type == PL_RTCP_RTPFB && p.fmt == 1) {
            struct { struct pl_client *c; uint32_t ssrc; } n = {c, p.media_ssrc};
            pl_rtcp_parse_nack(&p, nack_cb, &n);
        } else if (p.type == PL_RTCP_SR) {
            struct pl_rtcp_sr sr;
            if (pl_rtcp_parse_sr(&p, &sr) == 0)
                for (int i = 0; i < c->n_rx; i++)
                    if (c->rx[i].pub.ssrc == sr.ssrc) {
                        c->rx[i].lsr = (uint32_t)(sr.ntp >> 16);
                        c->rx[i].lsr_at_us = pl_now_us();
                    }
        }
    }
}

void cl_on_datagram(struct pl_client *c, const uint8_t *data, size_t len)
{
    switch (pl_classify(data, len)) {
    case PL_PKT_DTLS:
        cl_dtls_feed(c, data, len);
        break;
    case PL_PKT_RTP:
        if (c->srtp_ready)
            on_rtp(c, c->pkt, len);
        break;
    case PL_PKT_RTCP:
        if (c->srtp_ready)
            on_rtcp(c, c->pkt, len);
        break;
    default:
        break;
    }
}

/* Once a second: a receiver report with a block per received stream (at most 31), and a PLI
 * for the stream written to IVF while it waits for a key frame. */
void cl_receiver_rtcp_report(struct pl_client *c, uint64_t now_us)
{
    if (!c->srtp_ready)
        return;
    struct pl_rtcp_report_block blocks[31];
    size_t n = 0;
    for (int i = 0; i < c->n_rx && n < 31; i++) {
        struct in_stream *s = &c->rx[i];
        uint32_t expected = s->cycles + s->max_seq - s->base_seq + 1;
        uint32_t received = (uint32_t)s->pub.packets;
        uint32_t exp_int = expected - s->expected_prior;
        uint32_t rec_int = received - s->received_prior;
        s->expected_prior = expected;
        s->received_prior = received;
        int32_t lost_int = (int32_t)(exp_int - rec_int);
        struct pl_rtcp_report_block *b = &blocks[n++];
        memset(b, 0, sizeof *b);
        b->ssrc = s->pub.ssrc;
        b->fraction_lost = exp_int && lost_int > 0 ? (uint8_t)(((uint32_t)lost_int << 8) / exp_int) : 0;
        b->cumulative_lost = (int32_t)(s->pub.lost > 0x7FFFFF ? 0x7FFFFF : s->pub.lost);
        b->highest_seq = s->cycles + s->max_seq;
        b->jitter = (uint32_t)s->jitter;
        b->lsr = s->lsr;
        b->dlsr = s->lsr ? (uint32_t)((now_us - s->lsr_at_us) * 65536 / 1000000) : 0;
    }
    uint32_t me = c->o.publish != PL_PUBLISH_NONE ? c->video[0].ssrc
                : c->o.audio ? c->audio.ssrc : c->rtcp_ssrc;
    uint8_t buf[1024 + PL_SRTP_MAX_TRAILER];
    size_t len = pl_rtcp_build_rr(buf, 1024, me, blocks, n);
    if (c->ivf_ssrc && c->ivf_need_key_since_us && now_us - c->last_pli_us >= PLI_GAP_US && len) {
        len += pl_rtcp_build_pli(buf + len, 1024 - len, me, c->ivf_ssrc);
        c->last_pli_us = now_us;
        c->st.plis_sent++;
    }
    if (len)
        cl_send_rtcp(c, buf, len, sizeof buf);
}

int cl_receiver_init(struct pl_client *c)
{
    if (c->o.ivf_path) {
        if (pl_vp8_asm_init(&c->vasm, IVF_MAX_FRAME) != 0)
            return -1;
        if (pl_ivf_open(&c->ivf, c->o.ivf_path, 0, 0) != 0) {
            cl_fail(c, "cannot create %s", c->o.ivf_path);
            return -1;
        }
    }
    if (c->o.ogg_path && pl_ogg_opus_open(&c->ogg, c->o.ogg_path, 2, g_random_int()) != 0) {
        cl_fail(c, "cannot create %s", c->o.ogg_path);
        return -1;
    }
    return 0;
}

/* Every tick: NACKs for what is missing on video streams, a PLI where losses were given up. */
void cl_receiver_nack_tick(struct pl_client *c, uint64_t now_us)
{
    if (!c->srtp_ready || c->o.count_only)
        return;
    uint32_t me = c->o.publish != PL_PUBLISH_NONE ? c->video[0].ssrc
                : c->o.audio ? c->audio.ssrc : c->rtcp_ssrc;
    for (int i = 0; i < c->n_rx; i++) {
        struct in_stream *s = &c->rx[i];
        if (!s->nack)
            continue;
        uint16_t seqs[64];
        int n = pl_nack_gen_due(s->nack, now_us / 1000, 0, seqs, 64);
        if (n <= 0 && !s->want_key)
            continue;
        uint8_t buf[512 + PL_SRTP_MAX_TRAILER];
        size_t len = pl_rtcp_build_rr(buf, 512, me, NULL, 0);
        if (n > 0) {
            size_t k = pl_rtcp_build_nack(buf + len, 512 - len, me, s->pub.ssrc, seqs, (size_t)n);
            if (k)
                c->st.nacks_sent += (uint64_t)n;
            len += k;
        }
        if (s->want_key) {
            len += pl_rtcp_build_pli(buf + len, 512 - len, me, s->pub.ssrc);
            s->want_key = false;
            c->st.plis_sent++;
        }
        cl_send_rtcp(c, buf, len, sizeof buf);
    }
}

void cl_receiver_free(struct pl_client *c)
{
    for (int i = 0; i < c->n_rx; i++)
        free(c->rx[i].nack);
    if (c->ivf.f && pl_ivf_close(&c->ivf) != 0)
        PL_WARN("client", "writing %s failed", c->o.ivf_path);
    pl_vp8_asm_free(&c->vasm);
    if (c->ogg.f && pl_ogg_opus_close(&c->ogg) != 0)
        PL_WARN("client", "writing %s failed", c->o.ogg_path);
    pl_ogg_opus_close(&c->ogg);
}
