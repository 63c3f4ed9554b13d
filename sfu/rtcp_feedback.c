/* RTCP on the media path: feedback the node sends publishers (transport-cc, NACK, PLI) and
 * what subscribers send the node (NACKs answered from the retransmission ring, PLI/FIR turned
 * into keyframe requests upstream). */
#include <string.h>

#include "parley/log.h"
#include "parley/rtcp.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "parley/twcc.h"
#include "worker_int.h"

/* Transport-cc feedback to a publisher: without it browsers never raise their send rate. */
void pl_send_feedback(struct pl_peer *p)
{
    for (int n = 0; n < 4 && p->twcc && pl_twcc_recv_pending(p->twcc); n++) {
        uint8_t *buf = pl_out_buf(p->w);
        if (!buf)
            return;
        size_t len = pl_twcc_build(p->twcc, buf, 1200, 1200);
        if (!len || pl_srtp_protect_rtcp(&p->srtp, buf, &len, PL_PKT_BUF) != 0) {
            pl_out_release(p->w, buf);
            return;
        }
        p->w->stats.twcc_feedback++;
        pl_out_queue(p->w, p, buf, len);
    }
}

/* NACKs to a publisher for what its video tracks lost on the way in. */
void pl_send_nacks(struct pl_peer *p, uint64_t now_ms)
{
    for (int i = 0; i < p->n_tracks * PL_MAX_LAYERS; i++) {
        struct pl_track *t = &p->tracks[i / PL_MAX_LAYERS];
        struct pl_layer *ly = &t->layers[i % PL_MAX_LAYERS];
        uint16_t seqs[64];
        int n = ly->nack && ly->ssrc ? pl_nack_gen_due(ly->nack, now_ms, PL_NACK_MS, seqs, 64) : 0;
        if (n <= 0)
            continue;
        uint8_t *buf = pl_out_buf(p->w);
        if (!buf)
            return;
        size_t len = pl_rtcp_build_nack(buf, 1200, p->rtcp_ssrc, ly->ssrc, seqs, (size_t)n);
        if (!len || pl_srtp_protect_rtcp(&p->srtp, buf, &len, PL_PKT_BUF) != 0) {
            pl_out_release(p->w, buf);
            continue;
        }
        p->w->stats.nacks_sent += (uint64_t)n;
        ly->nacks_sent += (uint64_t)n;
        pl_out_queue(p->w, p, buf, len);
    }
}

void pl_request_keyframe(struct pl_track *t, int layer, bool urgent)
{
    struct pl_peer *p = t->owner;
    uint64_t now = pl_now_ms();
    if (layer < 0 || layer >= t->n_layers)
        layer = 0;
    struct pl_layer *ly = &t->layers[layer];
    if (t->spec.kind != PL_MEDIA_VIDEO || !ly->ssrc || !p->srtp_ready || !p->has_addr)
        return;
    if (!pl_keyframe_gate_ask(&ly->kf, now, urgent))
        return;
    p->w->stats.keyframe_requests++;
    ly->keyframe_requests++;
    uint8_t *buf = pl_out_buf(p->w);
    if (!buf)
        return;
    /* PLI unless the publisher negotiated only FIR (RFC 5104: a new sequence number per
     * request, the same one for repeats of it, which a throttled request never is). */
    size_t len = t->spec.fb_fir && !t->spec.fb_pli
                     ? pl_rtcp_build_fir(buf, PL_PKT_BUF, p->rtcp_ssrc, ly->ssrc, ly->fir_seq++)
                     : pl_rtcp_build_pli(buf, PL_PKT_BUF, p->rtcp_ssrc, ly->ssrc);
    if (!len || pl_srtp_protect_rtcp(&p->srtp, buf, &len, PL_PKT_BUF) != 0) {
        pl_out_release(p->w, buf);
        return;
    }
    pl_out_queue(p->w, p, buf, len);
}

static struct pl_slot *slot_by_ssrc(struct pl_peer *p, uint32_t ssrc)
{
    for (int i = 0; i < p->n_slots; i++)
        if (p->slots[i].spec.out_ssrc == ssrc)
            return &p->slots[i];
    return NULL;
}

struct nack_ctx {
    struct pl_slot *slot;
    uint64_t now_ms;
};

/* Resends one packet a subscriber lost, from the track's ring, in the slot's numbering. */
static void resend(uint16_t out_seq, void *ud)
{
    struct nack_ctx *n = ud;
    struct pl_slot *s = n->slot;
    struct pl_peer *sub = s->owner;
    struct pl_worker *w = sub->w;
    w->stats.nacks_received++;
    s->nacks++;
    struct pl_track *t = s->source;
    const uint8_t *pkt;
    size_t plen;
    struct pl_rtp r;
    /* Nothing to resend from before the slot's current source began. */
    if (!t || s->layer < 0 || !t->layers[s->layer].ring || s->rw.resync || !sub->has_addr ||
        pl_rewrite_predates_source(&s->rw, out_seq))
        return;
    uint16_t in_seq = (uint16_t)(out_seq - s->rw.seq_offset);
    if (!pl_rtx_ring_get(t->layers[s->layer].ring, in_seq, n->now_ms, &pkt, &plen) ||
        pl_rtp_parse(pkt, plen, &r) != 0)
        return;
    enum pl_codec codec = t->spec.codecs.pt_codec[r.pt];
    uint8_t pt = codec ? s->spec.codecs.codec_pt[codec] : 0xff;
    uint8_t rtx_pt = codec ? s->spec.codecs.rtx_pt_of_codec[codec] : 0xff;
    bool as_rtx = s->spec.out_rtx_ssrc && rtx_pt != 0xff;
    size_t hdr = as_rtx ? 14 : 12;
    size_t len = hdr + r.payload_len;
    if (pt == 0xff || len + PL_SRTP_MAX_TRAILER > PL_PKT_BUF)
        return;
    uint8_t *buf = pl_out_buf(w);
    if (!buf)
        return;
    uint32_t ts = r.ts + s->rw.ts_offset;
    if (as_rtx) {
        /* RFC 4588: the RTX stream's own sequence number, the original one first in the
         * payload; the receiver's jitter buffer and loss stats stay clean. */
        pl_rtp_write_header(buf, PL_PKT_BUF, r.marker, rtx_pt, s->rtx_seq++, ts,
                            s->spec.out_rtx_ssrc);
        buf[12] = (uint8_t)(out_seq >> 8);
        buf[13] = (uint8_t)out_seq;
    } else {
        /* The same packet as first sent: same sequence number and timestamp (SRTP allows the
         * repeat because the bytes are identical). */
        pl_rtp_write_header(buf, PL_PKT_BUF, r.marker, pt, out_seq, ts, s->spec.out_ssrc);
    }
    memcpy(buf + hdr, r.payload, r.payload_len);
    if (codec == PL_CODEC_VP8)
        pl_slot_rewrite_vp8(s, buf + hdr, r.payload_len);
    if (pl_srtp_protect_rtp(&sub->srtp, buf, &len, PL_PKT_BUF) != 0) {
        pl_out_release(w, buf);
        return;
    }
    w->stats.retransmissions++;
    s->retransmissions++;
    pl_out_queue(w, sub, buf, len);
}

static void keyframe_for(struct pl_peer *p, uint32_t media_ssrc)
{
    struct pl_slot *s = slot_by_ssrc(p, media_ssrc);
    if (s)
        s->keyframe_requests++;
    if (s && s->source)
        pl_request_keyframe(s->source, s->layer >= 0 ? s->layer : s->target, false);
}

void pl_forward_rtcp(struct pl_peer *p, uint8_t *data, size_t len)
{
    struct pl_worker *w = p->w;
    if (pl_srtp_unprotect_rtcp(&p->srtp, data, &len) != 0) {
        w->stats.srtp_errors++;
        return;
    }
    if (pl_rtcp_validate(data, len) != 0) {
        w->stats.rx_dropped++;
        return;
    }
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt pkt;
    pl_rtcp_iter_init(&it, data, len);
    while (pl_rtcp_iter_next(&it, &pkt)) {
        if (pkt.type == PL_RTCP_SR) {
            struct pl_rtcp_sr sr;
            if (pl_rtcp_parse_sr(&pkt, &sr) == 0)
                pl_on_sender_report(p, &sr, pl_now_us());
        }
        if (pkt.type == PL_RTCP_RR || pkt.type == PL_RTCP_SR) {
            /* The worst loss the subscriber reports on the node's video streams. */
            struct pl_rtcp_report_block rb[8];
            int n = pl_rtcp_parse_report_blocks(&pkt, rb, 8), worst = -1;
            for (int i = 0; i < n; i++) {
                struct pl_slot *s = slot_by_ssrc(p, rb[i].ssrc);
                if (s && s->spec.kind == PL_MEDIA_VIDEO && rb[i].fraction_lost > worst)
                    worst = rb[i].fraction_lost;
            }
            if (worst >= 0)
                pl_downlink_on_loss(p, (uint8_t)worst);
        } else if (pkt.type == PL_RTCP_RTPFB && pkt.fmt == 1) {
            struct nack_ctx n = {slot_by_ssrc(p, pkt.media_ssrc), pl_now_ms()};
            if (n.slot)
                pl_rtcp_parse_nack(&pkt, resend, &n);
        } else if (pkt.type == PL_RTCP_PSFB && pkt.fmt == 1) {
            keyframe_for(p, pkt.media_ssrc);
        } else if (pkt.type == PL_RTCP_PSFB && pkt.fmt == 4) {
            struct pl_rtcp_fir_entry fir[8];
            int n = pl_rtcp_parse_fir(&pkt, fir, 8);
            for (int i = 0; i < n; i++)
                keyframe_for(p, fir[i].ssrc);
        }
        /* Subscribers' transport-cc feedback and REMB are not used yet: forwarded packets
         * carry no transport-wide sequence number (see docs/media-path.md). */
    }
}
