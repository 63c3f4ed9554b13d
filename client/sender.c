/* What a client sends: video frames (synthetic simulcast layers, or the libvpx test pattern)
 * cut into RTP packets of at most CL_MAX_PAYLOAD bytes, Opus (or Opus-sized) audio every 20 ms,
 * with the mid / rid header extensions the node uses to find simulcast layers. Video packets
 * are kept in a ring per layer and resent (as RTX when negotiated) on NACK; PLI and FIR make
 * the next frame of that layer a key frame. Nothing is allocated per packet. */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "parley/bytes.h"
#include "parley/log.h"
#include "parley/rtp.h"
#include "parley/time.h"

#define KEY_INTERVAL_US 3000000 /* a key frame every 3 s, like a browser's periodic refresh */
#define MIN_KEY_GAP_US 300000   /* PLIs closer together than this share one key frame */
#define AUDIO_FRAME_US 20000
#define SYNTH_AUDIO_BYTES 80    /* about a 32 kbit/s Opus frame */

static uint32_t rand32(void) { return g_random_int(); }

static void stream_init(struct out_stream *s, int layer)
{
    memset(s, 0, sizeof *s);
    s->ssrc = rand32() | 1;
    s->rtx_ssrc = rand32() | 1;
    s->seq = (uint16_t)rand32();
    s->rtx_seq = (uint16_t)rand32();
    s->ts_offset = rand32();
    s->layer = layer;
    s->picture_id = (uint16_t)(rand32() & 0x7FFF);
    s->force_key = true;
}

int cl_sender_init(struct pl_client *c)
{
    stream_init(&c->audio, -1);
    c->rtcp_ssrc = rand32() | 1;
    bool synth = c->o.publish == PL_PUBLISH_SYNTHETIC;
    c->n_layers = synth && c->o.simulcast ? PL_OFFER_MAX_LAYERS : 1;
    for (int l = 0; l < c->n_layers; l++) {
        struct out_stream *s = &c->video[l];
        stream_init(s, l);
        int div = 1 << (c->n_layers - 1 - l); /* 1/4, 1/2, 1 of the top layer's size */
        s->width = c->o.width / div;
        s->height = c->o.height / div;
        /* Bitrates roughly as browsers split them: 10%, 30%, 100% of the top. */
        s->bitrate = l == c->n_layers - 1 ? c->o.send_bitrate
                   : (int)((double)c->o.send_bitrate * (l == 0 ? 0.1 : 0.3));
        if (c->o.publish != PL_PUBLISH_NONE) {
            s->ring = calloc(CL_RING, sizeof *s->ring);
            if (!s->ring)
                return -1;
        }
    }
    if (c->o.publish != PL_PUBLISH_NONE) {
        c->frame_cap = 1 << 20;
        c->frame_buf = malloc(c->frame_cap);
        if (!c->frame_buf)
            return -1;
    }
    if (c->o.publish == PL_PUBLISH_VP8) {
        c->vp8 = pl_vp8_source_new(c->o.width, c->o.height, c->o.fps, c->o.send_bitrate);
        if (!c->vp8)
            return -1;
    }
    if (c->o.publish == PL_PUBLISH_VP8 && c->o.audio) {
        c->opus = pl_opus_source_new(440);
        if (!c->opus)
            return -1;
    }
    return 0;
}

void cl_sender_free(struct pl_client *c)
{
    for (int l = 0; l < PL_OFFER_MAX_LAYERS; l++) {
        free(c->video[l].ring);
        c->video[l].ring = NULL;
    }
    free(c->frame_buf);
    c->frame_buf = NULL;
    pl_vp8_source_free(c->vp8);
    c->vp8 = NULL;
    pl_opus_source_free(c->opus);
    c->opus = NULL;
}

/* 12-byte header plus a one-byte-form extension block with mid and (r)rid. */
static size_t write_header(struct pl_client *c, const struct out_stream *s, uint8_t *b, bool marker,
                           uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc, bool rtx)
{
    size_t n = pl_rtp_write_header(b, CL_PKT_CAP, marker, pt, seq, ts, ssrc);
    const char *mid = s->layer < 0 ? c->audio_mid : c->video_mid;
    const char *rid = s->layer >= 0 && c->n_layers > 1 ? pl_offer_rid(s->layer) : NULL;
    uint8_t rid_ext = rtx ? c->ext_rrid : c->ext_rid;
    size_t start = n + 4, p = start;
    if (c->ext_mid && mid[0]) {
        size_t l = strlen(mid);
        b[p++] = (uint8_t)(c->ext_mid << 4 | (l - 1));
        memcpy(b + p, mid, l);
        p += l;
    }
    if (rid && rid_ext) {
        size_t l = strlen(rid);
        b[p++] = (uint8_t)(rid_ext << 4 | (l - 1));
        memcpy(b + p, rid, l);
        p += l;
    }
    if (p == start)
        return n;
    while ((p - start) % 4)
        b[p++] = 0;
    b[0] |= 0x10; /* X */
    pl_wr16(b + n, 0xBEDE);
    pl_wr16(b + n + 2, (uint16_t)((p - start) / 4));
    return p;
}

static void protect_and_send(struct pl_client *c, size_t len)
{
    if (pl_srtp_protect_rtp(&c->srtp, c->tx, &len, sizeof c->tx) == 0)
        cl_send_raw(c, c->tx, len);
}

void cl_send_rtp(struct pl_client *c, struct out_stream *s, bool marker, uint32_t ts,
                 const uint8_t *payload, size_t len)
{
    if (!c->srtp_ready || len > CL_MAX_PAYLOAD)
        return;
    uint8_t pt = s->layer < 0 ? c->pt_opus : c->pt_vp8;
    uint16_t seq = s->seq++;
    size_t h = write_header(c, s, c->tx, marker, pt, seq, ts, s->ssrc, false);
    memcpy(c->tx + h, payload, len);
    if (s->ring) {
        struct ring_entry *e = &s->ring[seq % CL_RING];
        e->seq = seq;
        e->ts = ts;
        e->marker = marker;
        e->len = (uint16_t)len;
        memcpy(e->payload, payload, len);
    }
    if (s->layer < 0) {
        c->st.tx_audio_packets++;
        c->st.tx_audio_bytes += len;
    } else {
        c->st.tx_video_packets++;
        c->st.tx_video_bytes += len;
        if (s->layer < 3)
            c->st.tx_layer_packets[s->layer]++;
    }
    protect_and_send(c, h + len);
}

struct emit_ctx {
    struct pl_client *c;
    struct out_stream *s;
    uint32_t ts;
};

static void emit(void *user, const uint8_t *payload, size_t len, bool marker)
{
    struct emit_ctx *e = user;
    cl_send_rtp(e->c, e->s, marker, e->ts, payload, len);
}

static void send_frame(struct pl_client *c, struct out_stream *s, const uint8_t *frame, size_t len,
                       bool key, uint64_t now_us)
{
    struct emit_ctx e = {c, s, s->ts_offset + (uint32_t)(s->frame_no * (90000u / (unsigned)c->o.fps))};
    uint8_t buf[CL_MAX_PAYLOAD];
    pl_vp8_packetize(frame, len, s->picture_id, s->tl0picidx, CL_MAX_PAYLOAD, buf, emit, &e);
    s->picture_id = (uint16_t)((s->picture_id + 1) & 0x7FFF);
    s->tl0picidx++;
    s->frame_no++;
    c->st.tx_frames++;
    if (key) {
        c->st.tx_keyframes++;
        s->last_key_us = now_us;
        s->force_key = false;
    }
}

static bool key_due(const struct out_stream *s, uint64_t now_us)
{
    return s->force_key || now_us - s->last_key_us >= KEY_INTERVAL_US;
}

static void send_video(struct pl_client *c, uint64_t now_us)
{
    if (c->o.publish == PL_PUBLISH_VP8) {
        struct out_stream *s = &c->video[0];
        bool key = false;
        int n = pl_vp8_source_next(c->vp8, key_due(s, now_us), c->frame_buf, c->frame_cap, &key);
        if (n > 0)
            send_frame(c, s, c->frame_buf, (size_t)n, key, now_us);
        else
            s->frame_no++; /* dropped by the rate control: time still moves */
        return;
    }
    uint64_t wall = pl_realtime_us();
    for (int l = 0; l < c->n_layers; l++) {
        struct out_stream *s = &c->video[l];
        bool key = key_due(s, now_us);
        double avg = (double)s->bitrate / 8.0 / c->o.fps;
        /* Delta frames vary by +-25%; key frames are about 5 times an average frame. */
        double size = key ? avg * 5 : avg * (0.75 + 0.5 * g_random_double());
        size_t len = (size_t)size;
        size_t min = 10 + PL_STAMP_LEN + 8;
        if (len < min)
            len = min;
        if (len > c->frame_cap)
            len = c->frame_cap;
        pl_vp8_synth_frame(c->frame_buf, len, key, s->width, s->height, wall, s->frame_no);
        send_frame(c, s, c->frame_buf, len, key, now_us);
    }
}

static void send_audio(struct pl_client *c)
{
    struct out_stream *s = &c->audio;
    uint8_t buf[CL_MAX_PAYLOAD];
    int len;
    if (c->opus) {
        len = pl_opus_source_next(c->opus, buf, sizeof buf);
    } else {
        len = SYNTH_AUDIO_BYTES + (int)(g_random_int() % 20);
        buf[0] = 0x78; /* an Opus TOC byte (SILK wideband 20 ms, one frame) */
        for (int i = 1; i < len - PL_STAMP_LEN; i++)
            buf[i] = (uint8_t)g_random_int();
        pl_stamp_write(buf + len - PL_STAMP_LEN, pl_realtime_us(), s->frame_no);
    }
    uint32_t ts = s->ts_offset + s->frame_no * 960u;
    s->frame_no++;
    if (len > 0)
        cl_send_rtp(c, s, s->frame_no == 1, ts, buf, (size_t)len);
}

void cl_sender_tick(struct pl_client *c, uint64_t now_us)
{
    if (!c->srtp_ready)
        return;
    uint64_t frame_us = 1000000u / (unsigned)c->o.fps;
    if (c->o.publish != PL_PUBLISH_NONE) {
        if (!c->next_video_us || now_us > c->next_video_us + 10 * frame_us)
            c->next_video_us = now_us; /* start, or the loop stalled: do not burst */
        while (now_us >= c->next_video_us) {
            send_video(c, now_us);
            c->next_video_us += frame_us;
        }
    }
    if (c->o.audio && c->o.role != PL_CLIENT_RECORDER) {
        if (!c->next_audio_us || now_us > c->next_audio_us + 10 * AUDIO_FRAME_US)
            c->next_audio_us = now_us;
        while (now_us >= c->next_audio_us) {
            send_audio(c);
            c->next_audio_us += AUDIO_FRAME_US;
        }
    }
}

static struct out_stream *video_by_ssrc(struct pl_client *c, uint32_t ssrc)
{
    if (c->o.publish == PL_PUBLISH_NONE)
        return NULL;
    for (int l = 0; l < c->n_layers; l++)
        if (c->video[l].ssrc == ssrc)
            return &c->video[l];
    return NULL;
}

void cl_on_pli(struct pl_client *c, uint32_t media_ssrc)
{
    struct out_stream *s = video_by_ssrc(c, media_ssrc);
    c->st.plis_received++;
    if (s && pl_now_us() - s->last_key_us >= MIN_KEY_GAP_US)
        s->force_key = true;
}

void cl_on_nack(struct pl_client *c, uint32_t media_ssrc, uint16_t seq)
{
    struct out_stream *s = video_by_ssrc(c, media_ssrc);
    c->st.nacks_received++;
    if (!s || !s->ring || !c->srtp_ready)
        return;
    const struct ring_entry *e = &s->ring[seq % CL_RING];
    if (!e->len || e->seq != seq)
        return; /* too old */
    size_t h;
    if (c->has_rtx && (c->n_layers == 1 || c->ext_rrid)) {
        /* RFC 4588: own SSRC and sequence, payload = original sequence number + payload. */
        h = write_header(c, s, c->tx, e->marker, c->pt_rtx, s->rtx_seq++, e->ts, s->rtx_ssrc, true);
        pl_wr16(c->tx + h, seq);
        h += 2;
    } else {
        h = write_header(c, s, c->tx, e->marker, c->pt_vp8, seq, e->ts, s->ssrc, false);
    }
    memcpy(c->tx + h, e->payload, e->len);
    c->st.retransmitted++;
    protect_and_send(c, h + e->len);
}

/* Protects and sends a compound RTCP packet built in buf (cap bytes of room). */
void cl_send_rtcp(struct pl_client *c, uint8_t *buf, size_t len, size_t cap)
{
    if (c->srtp_ready && pl_srtp_protect_rtcp(&c->srtp, buf, &len, cap) == 0)
        cl_send_raw(c, buf, len);
}
