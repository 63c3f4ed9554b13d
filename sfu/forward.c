/* The media path: SRTP in, RTP fan-out to every slot bound to the track with SSRC, sequence
 * number and timestamp rewritten into the slot's own continuous stream, SRTP out, queued for
 * the batch's sendmmsg. RTCP from subscribers turns into keyframe requests upstream. */
#include <string.h>

#include "parley/log.h"
#include "parley/rtcp.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "worker_int.h"

static struct pl_track *track_by_mid(struct pl_peer *p, const struct pl_rtp *r)
{
    uint8_t id = p->ext_id[PL_EXT_MID];
    const uint8_t *val;
    size_t vlen;
    if (!id || !pl_rtp_ext_find(r, id, &val, &vlen))
        return NULL;
    for (int i = 0; i < p->n_tracks; i++) {
        const char *mid = p->tracks[i].spec.mid;
        if (strlen(mid) == vlen && memcmp(mid, val, vlen) == 0)
            return &p->tracks[i];
    }
    return NULL;
}

static struct pl_track *find_track(struct pl_peer *p, const struct pl_rtp *r, bool *is_rtx)
{
    *is_rtx = false;
    for (int i = 0; i < p->n_tracks; i++) {
        struct pl_track *t = &p->tracks[i];
        if (t->spec.ssrc == r->ssrc)
            return t;
        if (t->spec.rtx_ssrc && t->spec.rtx_ssrc == r->ssrc) {
            *is_rtx = true;
            return t;
        }
    }
    /* No SSRC in the SDP (or a new one): the MID extension names the m-line. */
    struct pl_track *t = track_by_mid(p, r);
    if (t && t->spec.ssrc == 0) {
        uint8_t c = t->spec.codecs.pt_codec[r->pt];
        if (c == PL_CODEC_RTX) {
            t->spec.rtx_ssrc = r->ssrc;
            *is_rtx = true;
        } else {
            t->spec.ssrc = r->ssrc;
            PL_INFO("forward", "peer %u: mid %s is ssrc %u", p->id, t->spec.mid, r->ssrc);
        }
        return t;
    }
    return NULL;
}

static void send_to_slot(struct pl_worker *w, struct pl_slot *s, const struct pl_rtp *r,
                         enum pl_codec codec, uint32_t clock, uint64_t now_ms)
{
    struct pl_peer *sub = s->owner;
    if (!sub->srtp_ready || !sub->has_addr)
        return;
    uint8_t pt = s->spec.codecs.codec_pt[codec];
    if (pt == 0xff)
        return; /* the subscriber did not negotiate this codec on that slot */
    size_t len = 12 + r->payload_len;
    if (len + PL_SRTP_MAX_TRAILER > PL_PKT_BUF)
        return;
    uint8_t *buf = pl_out_buf(w);
    if (!buf) {
        w->stats.send_errors++;
        return;
    }
    uint16_t seq;
    uint32_t ts;
    pl_rewrite(&s->rw, r->seq, r->ts, clock, now_ms, &seq, &ts);
    pl_rtp_write_header(buf, PL_PKT_BUF, r->marker, pt, seq, ts, s->spec.out_ssrc);
    memcpy(buf + 12, r->payload, r->payload_len);
    if (pl_srtp_protect_rtp(&sub->srtp, buf, &len, PL_PKT_BUF) != 0) {
        w->stats.srtp_errors++;
        pl_out_release(w, buf);
        return;
    }
    s->packets++;
    s->bytes += len;
    w->stats.forwarded_rtp++;
    pl_out_queue(w, sub, buf, len);
}

/* RFC 6464: the low 7 bits are the level in -dBov (127 = silence). */
static void note_audio_level(struct pl_peer *p, struct pl_track *t, const struct pl_rtp *r)
{
    const uint8_t *val;
    size_t vlen;
    uint8_t id = p->ext_id[PL_EXT_AUDIO_LEVEL];
    if (id && pl_rtp_ext_find(r, id, &val, &vlen) && vlen >= 1) {
        t->level_sum += val[0] & 0x7f;
        t->level_count++;
    }
}

void pl_forward_rtp(struct pl_peer *p, uint8_t *data, size_t len)
{
    struct pl_worker *w = p->w;
    if (pl_srtp_unprotect_rtp(&p->srtp, data, &len) != 0) {
        w->stats.srtp_errors++;
        return;
    }
    struct pl_rtp r;
    if (pl_rtp_parse(data, len, &r) != 0) {
        w->stats.rx_dropped++;
        return;
    }
    bool is_rtx;
    struct pl_track *t = find_track(p, &r, &is_rtx);
    /* RTX is not forwarded yet (retransmission comes with NACK handling); padding-only
     * packets are bandwidth probes meant for the node, not for subscribers. */
    if (!t || is_rtx || r.payload_len == 0) {
        if (!t)
            w->stats.rx_dropped++;
        return;
    }
    enum pl_codec codec = t->spec.codecs.pt_codec[r.pt];
    if (codec == 0 || codec == PL_CODEC_RTX)
        return;
    if (t->spec.kind == PL_MEDIA_AUDIO)
        note_audio_level(p, t, &r);
    uint32_t clock = t->spec.kind == PL_MEDIA_AUDIO ? 48000 : 90000;
    uint64_t now = pl_now_ms();
    for (int i = 0; i < t->n_consumers; i++)
        send_to_slot(w, t->consumers[i], &r, codec, clock, now);
}

void pl_request_keyframe(struct pl_track *t, bool force)
{
    struct pl_peer *p = t->owner;
    uint64_t now = pl_now_ms();
    if (t->spec.kind != PL_MEDIA_VIDEO || !t->spec.ssrc || !p->srtp_ready || !p->has_addr)
        return;
    if (!force && now - t->last_pli_ms < PL_PLI_INTERVAL_MS)
        return;
    t->last_pli_ms = now;
    uint8_t *buf = pl_out_buf(p->w);
    if (!buf)
        return;
    size_t len = pl_rtcp_build_pli(buf, PL_PKT_BUF, p->rtcp_ssrc, t->spec.ssrc);
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

static void keyframe_for(struct pl_peer *p, uint32_t media_ssrc)
{
    struct pl_slot *s = slot_by_ssrc(p, media_ssrc);
    if (s && s->source)
        pl_request_keyframe(s->source, false);
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
        if (pkt.type == PL_RTCP_PSFB && pkt.fmt == 1) {
            keyframe_for(p, pkt.media_ssrc);
        } else if (pkt.type == PL_RTCP_PSFB && pkt.fmt == 4) {
            struct pl_rtcp_fir_entry fir[8];
            int n = pl_rtcp_parse_fir(&pkt, fir, 8);
            for (int i = 0; i < n; i++)
                keyframe_for(p, fir[i].ssrc);
        }
        /* SR/RR, NACK and congestion feedback are consumed here and not forwarded yet. */
    }
}
