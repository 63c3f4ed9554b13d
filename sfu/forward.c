/* The media path: SRTP in, RTP fan-out to every slot bound to the track with SSRC, sequence
 * number and timestamp rewritten into the slot's own continuous stream, SRTP out, queued for
 * the batch's sendmmsg. Publishers' RTX is unwrapped here; RTCP is in rtcp_feedback.c. */
#include <string.h>

#include "parley/log.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "parley/h264.h"
#include "parley/twcc.h"
#include "parley/vp8.h"
#include "parley/vp9.h"
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

/* The value of header extension `ext` as a string it equals, or false. */
static bool ext_equals(const struct pl_peer *p, const struct pl_rtp *r, enum pl_ext ext,
                       const char *want)
{
    const uint8_t *val;
    size_t vlen;
    uint8_t id = p->ext_id[ext];
    return id && pl_rtp_ext_find(r, id, &val, &vlen) && strlen(want) == vlen &&
           memcmp(want, val, vlen) == 0;
}

/* Learns an SSRC not seen yet: the MID extension names the track, RID (or repaired-RID for
 * RTX) the simulcast layer; without rids the track has one layer. */
static struct pl_track *learn_ssrc(struct pl_peer *p, const struct pl_rtp *r, int *layer,
                                   bool *is_rtx)
{
    struct pl_track *t = track_by_mid(p, r);
    if (!t)
        return NULL;
    *is_rtx = t->spec.codecs.pt_codec[r->pt] == PL_CODEC_RTX;
    int l = t->spec.n_rids ? -1 : 0;
    for (int i = 0; i < t->spec.n_rids && l < 0; i++)
        if (ext_equals(p, r, *is_rtx ? PL_EXT_REPAIRED_RID : PL_EXT_RID, t->spec.rids[i]))
            l = i;
    if (l < 0 || l >= t->n_layers)
        return NULL;
    struct pl_layer *ly = &t->layers[l];
    if (*is_rtx ? ly->rtx_ssrc != 0 : ly->ssrc != 0)
        return NULL; /* that layer has its SSRC already: not this one */
    if (*is_rtx)
        ly->rtx_ssrc = r->ssrc;
    else
        ly->ssrc = r->ssrc;
    PL_INFO("forward", "peer %u: mid %s layer %d%s is ssrc %u", p->id, t->spec.mid, l,
            *is_rtx ? " (rtx)" : "", r->ssrc);
    *layer = l;
    return t;
}

static struct pl_track *find_track(struct pl_peer *p, const struct pl_rtp *r, int *layer,
                                   bool *is_rtx)
{
    *is_rtx = false;
    for (int i = 0; i < p->n_tracks; i++) {
        struct pl_track *t = &p->tracks[i];
        for (int l = 0; l < t->n_layers; l++) {
            if (t->layers[l].ssrc == r->ssrc || (t->layers[l].rtx_ssrc == r->ssrc && r->ssrc)) {
                *is_rtx = t->layers[l].ssrc != r->ssrc;
                *layer = l;
                return t;
            }
        }
    }
    return learn_ssrc(p, r, layer, is_rtx);
}

int pl_choose_layer(const struct pl_track *t, int64_t bitrate)
{
    uint32_t rates[PL_MAX_LAYERS];
    for (int l = 0; l < t->n_layers; l++)
        rates[l] = t->layers[l].bitrate ? t->layers[l].bitrate_peak : 0;
    return pl_layer_for_budget(rates, t->n_layers, bitrate);
}

/* What slot s may use: what its subscriber asked for, capped by the slot's share of the
 * subscriber's estimated downlink (shared in proportion to what each video slot asked for). */
static int64_t slot_budget(const struct pl_slot *s)
{
    const struct pl_peer *sub = s->owner;
    if (!sub->downlink.bps)
        return s->bitrate;
    int64_t asked = 0;
    for (int i = 0; i < sub->n_slots; i++)
        if (sub->slots[i].source && sub->slots[i].spec.kind == PL_MEDIA_VIDEO)
            asked += sub->slots[i].bitrate;
    int64_t share = asked > 0 ? (int64_t)sub->downlink.bps * s->bitrate / asked : 0;
    return share < s->bitrate ? share : s->bitrate;
}

void pl_downlink_on_loss(struct pl_peer *p, uint8_t fraction_lost)
{
    pl_downlink_on_report(&p->downlink, fraction_lost, p->tx_bitrate, pl_now_ms());
}

int pl_slot_choose_layer(const struct pl_slot *s)
{
    return pl_choose_layer(s->source, slot_budget(s));
}

void pl_slot_retarget(struct pl_slot *s)
{
    if (!s->source || s->source->n_layers < 2)
        return;
    int target = pl_slot_choose_layer(s);
    if (target != s->target) {
        s->target = target;
        if (target != s->layer)
            pl_request_keyframe(s->source, target, true);
    }
}

/* Does this packet start a keyframe (where a subscriber can start decoding a new source)?
 * vp8: the packet's parsed VP8 descriptor, NULL when it is not (valid) VP8. */
static bool starts_keyframe(enum pl_codec codec, const struct pl_rtp *r,
                            const struct pl_vp8_desc *vp8)
{
    if (codec == PL_CODEC_VP8)
        return vp8 && vp8->keyframe;
    if (codec == PL_CODEC_H264)
        return pl_h264_is_keyframe(r->payload, r->payload_len);
    if (codec == PL_CODEC_VP9)
        return pl_vp9_is_keyframe(r->payload, r->payload_len);
    return true; /* other codecs: no way to tell, start at once */
}

/* Rewrites the picture id / TL0PICIDX of a copy of a VP8 payload (same layout as the one `d`
 * was parsed from) into the slot's continuous numbering. */
static void rewrite_vp8(struct pl_slot *s, uint8_t *payload, size_t len,
                        const struct pl_vp8_desc *d)
{
    if (!d->has_picture_id)
        return;
    uint16_t pid;
    uint8_t tl0;
    pl_vp8_rewrite_map_bits(&s->vp8, d->picture_id, d->picture_id_15bit ? 15 : 7,
                            d->has_tl0picidx ? d->tl0picidx : 0, &pid, &tl0);
    pl_vp8_rewrite(payload, len, d, pid, tl0);
}

void pl_slot_rewrite_vp8(struct pl_slot *s, uint8_t *payload, size_t len)
{
    struct pl_vp8_desc d;
    if (pl_vp8_parse(payload, len, &d) == 0)
        rewrite_vp8(s, payload, len, &d);
}

static void send_to_slot(struct pl_worker *w, struct pl_slot *s, const struct pl_rtp *r,
                         enum pl_codec codec, const struct pl_vp8_desc *vp8, uint32_t clock,
                         uint64_t now_ms)
{
    struct pl_peer *sub = s->owner;
    if ((!sub->srtp_ready || !sub->has_addr) && !sub->rec)
        return;
    uint8_t pt = s->spec.codecs.codec_pt[codec];
    if (pt == 0xff)
        return; /* the subscriber did not negotiate this codec on that slot */
    size_t len = 12 + r->payload_len;
    if (len + PL_SRTP_MAX_TRAILER > PL_PKT_BUF)
        return;
    uint16_t seq;
    uint32_t ts;
    /* A packet of the new source older than the keyframe the slot switched on (late, or a
     * publisher's retransmission) would get a number the previous source already used. */
    if (!pl_rewrite(&s->rw, r->seq, r->ts, clock, now_ms, &seq, &ts))
        return;
    uint8_t *buf = pl_out_buf(w);
    if (!buf) {
        w->stats.send_errors++;
        return;
    }
    pl_rtp_write_header(buf, PL_PKT_BUF, r->marker, pt, seq, ts, s->spec.out_ssrc);
    memcpy(buf + 12, r->payload, r->payload_len);
    if (vp8)
        rewrite_vp8(s, buf + 12, r->payload_len, vp8);
    if (sub->rec) {
        /* The node's recorder: the same stream a subscriber would get, into the recording. */
        pl_rec_sink_packet(s, buf, len, codec, pl_now_us());
        pl_out_release(w, buf);
        s->packets++;
        s->bytes += len;
        s->bytes_tick += len;
        s->octets += r->payload_len;
        return;
    }
    if (pl_srtp_protect_rtp(&sub->srtp, buf, &len, PL_PKT_BUF) != 0) {
        w->stats.srtp_errors++;
        pl_out_release(w, buf);
        return;
    }
    s->packets++;
    s->bytes += len;
    s->bytes_tick += len;
    s->octets += r->payload_len;
    w->stats.forwarded_rtp++;
    pl_out_queue(w, sub, buf, len);
}

/* Transport-wide sequence numbers of everything the publisher sends, for its feedback. */
static void note_transport_seq(struct pl_peer *p, const struct pl_rtp *r)
{
    const uint8_t *val;
    size_t vlen;
    uint16_t seq;
    uint8_t id = p->ext_id[PL_EXT_TRANSPORT_CC];
    if (p->twcc && id && pl_rtp_ext_find(r, id, &val, &vlen) && pl_twcc_ext_read(val, vlen, &seq) == 0)
        pl_twcc_recv_record(p->twcc, seq, p->w->rx_arrival_us);
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

/* Moves slot s to another layer of its source. Layers are separate RTP streams with clocks of
 * their own; when both have sent a Sender Report, the new layer's timestamps are put on the
 * slot's timeline by what the sender's wall clock says, so frames keep their capture times
 * (and lip sync with audio) across the switch. Otherwise the rewriter goes by arrival time. */
static void switch_layer(struct pl_slot *s, int layer)
{
    const struct pl_track *t = s->source;
    const struct pl_rx_stats *from = s->layer >= 0 ? &t->layers[s->layer].rx : NULL;
    const struct pl_rx_stats *to = &t->layers[layer].rx;
    s->layer = layer;
    if (!from || !from->has_sr || !to->has_sr || !s->rw.started) {
        pl_rewrite_switch(&s->rw);
        return;
    }
    /* The same instant T on the sender's clock: from(T) - to(T) = (rtp_from - rtp_to) -
     * (ntp_from - ntp_to) * clock. */
    double dts_f = (double)(int64_t)(from->sr_ntp - to->sr_ntp) / 4294967296.0 * pl_track_clock(t);
    uint32_t dts = (uint32_t)(int64_t)(dts_f + (dts_f < 0 ? -0.5 : 0.5));
    pl_rewrite_switch_aligned(&s->rw, s->rw.ts_offset + (from->sr_rtp - to->sr_rtp) - dts);
}

/* Should slot s get this packet of layer `layer`? A slot moves to its target layer (or starts
 * a new source) only at a keyframe of it: delta frames of another stream cannot be decoded. */
static bool slot_takes(struct pl_worker *w, struct pl_slot *s, int layer, bool keyframe)
{
    if (s->layer == layer)
        return true;
    if (s->target != layer)
        return false;
    if (!keyframe) {
        pl_request_keyframe(s->source, layer, false);
        return false;
    }
    if (s->layer >= 0) {
        w->stats.layer_switches++;
        s->layer_switches++;
    }
    switch_layer(s, layer);
    pl_vp8_rewriter_switch(&s->vp8);
    return true;
}

/* A packet of track t, layer `layer` (original numbering): keep it for resends, fan it out. */
static void deliver(struct pl_peer *p, struct pl_track *t, int layer, const uint8_t *pkt,
                    size_t len, const struct pl_rtp *r)
{
    struct pl_worker *w = p->w;
    enum pl_codec codec = t->spec.codecs.pt_codec[r->pt];
    if (codec == 0 || codec == PL_CODEC_RTX)
        return;
    uint64_t now = pl_now_ms();
    struct pl_layer *ly = &t->layers[layer];
    ly->bytes += len;
    ly->bytes_total += len;
    ly->packets_total++;
    if (t->spec.kind == PL_MEDIA_AUDIO) {
        note_audio_level(p, t, r);
    } else {
        w->stats.rx_layer_packets[layer]++;
        if (ly->ring)
            pl_rtx_ring_put(ly->ring, r->seq, r->ts, now, pkt, len);
    }
    uint32_t clock = pl_track_clock(t);
    /* The VP8 descriptor is parsed once here, not once per subscriber. */
    struct pl_vp8_desc desc;
    const struct pl_vp8_desc *vp8 =
        codec == PL_CODEC_VP8 && pl_vp8_parse(r->payload, r->payload_len, &desc) == 0 ? &desc : NULL;
    bool keyframe = t->spec.kind == PL_MEDIA_VIDEO && starts_keyframe(codec, r, vp8);
    if (keyframe)
        pl_keyframe_gate_on_keyframe(&ly->kf);
    for (int i = 0; i < t->n_consumers; i++)
        if (slot_takes(w, t->consumers[i], layer, keyframe))
            send_to_slot(w, t->consumers[i], r, codec, vp8, clock, now);
}

/* RFC 4588: an RTX packet carries the original sequence number in its first two payload
 * bytes; rebuild the original packet and deliver it like any other. A resend of a packet the
 * node already holds is a bandwidth probe, not a repair: libwebrtc pads with RTX copies of
 * recent packets (Firefox sends most of its probing so, on its lowest layer: ~1 Mbit/s of a
 * 150 kbit/s layer), and forwarding those would bury a subscriber that asked for little. */
static void unwrap_rtx(struct pl_peer *p, struct pl_track *t, int layer, const struct pl_rtp *r)
{
    if (r->payload_len < 2)
        return; /* padding-only: a bandwidth probe */
    p->w->stats.rtx_received++;
    t->layers[layer].rtx_received++;
    int codec = -1;
    for (int c = 0; c < 16 && codec < 0; c++)
        if (t->spec.codecs.rtx_pt_of_codec[c] == r->pt)
            codec = c;
    struct pl_layer *ly = &t->layers[layer];
    if (codec < 0 || !ly->ssrc || r->payload_len - 2 + 12 > PL_PKT_BUF)
        return;
    uint16_t osn = (uint16_t)(r->payload[0] << 8 | r->payload[1]);
    bool missing = ly->nack && pl_nack_gen_on_recovered(ly->nack, osn);
    const uint8_t *held;
    size_t held_len;
    if (!missing && ly->ring && pl_rtx_ring_get(ly->ring, osn, pl_now_ms(), &held, &held_len))
        return;
    uint8_t pkt[PL_PKT_BUF];
    size_t len = pl_rtp_write_header(pkt, sizeof pkt, r->marker, t->spec.codecs.codec_pt[codec], osn,
                                     r->ts, ly->ssrc);
    memcpy(pkt + len, r->payload + 2, r->payload_len - 2);
    len += r->payload_len - 2;
    struct pl_rtp orig;
    if (pl_rtp_parse(pkt, len, &orig) == 0)
        deliver(p, t, layer, pkt, len, &orig);
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
    note_transport_seq(p, &r);
    bool is_rtx;
    int layer = 0;
    struct pl_track *t = find_track(p, &r, &layer, &is_rtx);
    if (!t) {
        w->stats.rx_dropped++;
        return;
    }
    if (is_rtx) {
        unwrap_rtx(p, t, layer, &r);
        return;
    }
    pl_rx_stats_on_packet(&t->layers[layer].rx, r.seq, r.ts, pl_track_clock(t), p->w->rx_arrival_us);
    /* Losses on the way in are NACKed upstream; past repair, a keyframe is asked for. */
    struct pl_nack_gen *nack = t->layers[layer].nack;
    if (nack && pl_nack_gen_on_packet(nack, r.seq, pl_now_ms()))
        pl_request_keyframe(t, layer, false);
    /* Padding-only packets are bandwidth probes meant for the node, not for subscribers. */
    if (r.payload_len == 0)
        return;
    deliver(p, t, layer, data, len, &r);
}

