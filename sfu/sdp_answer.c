/* Writes the node's JSEP answer: ICE-lite, one BUNDLE transport, the same host candidate on
 * every accepted line, m-lines in offer order, rejected lines with port 0. CRLF line ends. */
#include "parley/sdp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct buf {
    char *p;
    size_t cap, len;
    bool full;
};

static void vput(struct buf *b, const char *fmt, va_list ap)
{
    if (b->full)
        return;
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        b->full = true; /* remembered: never writes past cap */
    else
        b->len += (size_t)n;
}

/* Appends text to the current line. */
__attribute__((format(printf, 2, 3))) static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(b, fmt, ap);
    va_end(ap);
}

/* Appends a whole line and its CRLF. */
__attribute__((format(printf, 2, 3))) static void line(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(b, fmt, ap);
    va_end(ap);
    put(b, "\r\n");
}

static void eol(struct buf *b)
{
    put(b, "\r\n");
}

static const char *dir_name(enum pl_direction d)
{
    switch (d) {
    case PL_DIR_SENDRECV: return "sendrecv";
    case PL_DIR_SENDONLY: return "sendonly";
    case PL_DIR_RECVONLY: return "recvonly";
    default: return "inactive";
    }
}

static void transport_lines(struct buf *b, const struct pl_negotiated *neg,
                            const struct pl_answer_params *p, const char *mid)
{
    line(b, "c=IN IP4 0.0.0.0");
    line(b, "a=ice-ufrag:%s", p->ice_ufrag);
    line(b, "a=ice-pwd:%s", p->ice_pwd);
    line(b, "a=fingerprint:sha-256 %s", p->fingerprint);
    line(b, "a=setup:%s", neg->local_setup == PL_SETUP_ACTIVE ? "active" : "passive");
    line(b, "a=mid:%s", mid);
}

static void candidate_lines(struct buf *b, const struct pl_answer_params *p)
{
    line(b, "a=candidate:1 1 udp 2130706431 %s %u typ host", p->candidate_ip,
         (unsigned)p->candidate_port);
    line(b, "a=end-of-candidates");
}

static void codec_lines(struct buf *b, const struct pl_neg_codec *c)
{
    if (c->channels)
        line(b, "a=rtpmap:%u %s/%" PRIu32 "/%u", c->pt, pl_codec_name(c->codec), c->clock,
             c->channels);
    else
        line(b, "a=rtpmap:%u %s/%" PRIu32, c->pt, pl_codec_name(c->codec), c->clock);
    if (c->fb_remb)
        line(b, "a=rtcp-fb:%u goog-remb", c->pt);
    if (c->fb_transport_cc)
        line(b, "a=rtcp-fb:%u transport-cc", c->pt);
    if (c->fb_fir)
        line(b, "a=rtcp-fb:%u ccm fir", c->pt);
    if (c->fb_nack)
        line(b, "a=rtcp-fb:%u nack", c->pt);
    if (c->fb_pli)
        line(b, "a=rtcp-fb:%u nack pli", c->pt);
    if (c->fmtp[0])
        line(b, "a=fmtp:%u %s", c->pt, c->fmtp);
    if (c->rtx_pt >= 0) {
        line(b, "a=rtpmap:%d rtx/%" PRIu32, c->rtx_pt, c->clock);
        line(b, "a=fmtp:%d apt=%u", c->rtx_pt, c->pt);
    }
}

/* The node's outgoing stream on a slot line: a=msid, SSRC (and RTX SSRC) with cname. */
static void send_stream_lines(struct buf *b, const struct pl_neg_media *nm,
                              const struct pl_answer_params *p)
{
    if (nm->send_msid[0])
        line(b, "a=msid:%s", nm->send_msid);
    if (!nm->send_ssrc)
        return;
    uint32_t ssrcs[2] = {nm->send_ssrc, nm->send_rtx_ssrc};
    int n = nm->send_rtx_ssrc ? 2 : 1;
    if (n == 2)
        line(b, "a=ssrc-group:FID %" PRIu32 " %" PRIu32, ssrcs[0], ssrcs[1]);
    for (int i = 0; i < n; i++) {
        line(b, "a=ssrc:%" PRIu32 " cname:%s", ssrcs[i], p->cname);
        if (nm->send_msid[0])
            line(b, "a=ssrc:%" PRIu32 " msid:%s", ssrcs[i], nm->send_msid);
    }
}

static void simulcast_lines(struct buf *b, const struct pl_neg_media *nm)
{
    if (nm->n_recv_rids == 0)
        return;
    for (int i = 0; i < nm->n_recv_rids; i++)
        line(b, "a=rid:%s recv", nm->recv_rids[i].id);
    put(b, "a=simulcast:recv");
    for (int i = 0; i < nm->n_recv_rids; i++)
        put(b, "%c%s", i ? ';' : ' ', nm->recv_rids[i].id);
    eol(b);
}

static void rtp_media(struct buf *b, const struct pl_sdp_media *m, const struct pl_neg_media *nm,
                      const struct pl_negotiated *neg, const struct pl_answer_params *p)
{
    put(b, "m=%s 9 UDP/TLS/RTP/SAVPF", m->kind_name);
    for (int i = 0; i < nm->n_codecs; i++) {
        put(b, " %u", nm->codecs[i].pt);
        if (nm->codecs[i].rtx_pt >= 0)
            put(b, " %d", nm->codecs[i].rtx_pt);
    }
    eol(b);
    transport_lines(b, neg, p, nm->mid);
    /* the offer's extmaps, in its order, that were negotiated (same ids) */
    for (int i = 0; i < m->n_extmaps; i++) {
        int e = m->extmaps[i].ext;
        if (e >= 0 && nm->ext_id[e] == m->extmaps[i].id)
            line(b, "a=extmap:%u %s", m->extmaps[i].id, pl_ext_uri((enum pl_ext)e));
    }
    line(b, "a=%s", dir_name(nm->dir));
    line(b, "a=rtcp-mux");
    if (m->rtcp_rsize)
        line(b, "a=rtcp-rsize");
    for (int i = 0; i < nm->n_codecs; i++)
        codec_lines(b, &nm->codecs[i]);
    if (nm->dir == PL_DIR_SENDONLY)
        send_stream_lines(b, nm, p);
    simulcast_lines(b, nm);
    candidate_lines(b, p);
}

static void data_media(struct buf *b, const struct pl_sdp_media *m, const struct pl_neg_media *nm,
                       const struct pl_negotiated *neg, const struct pl_answer_params *p)
{
    line(b, "m=%s 9 UDP/DTLS/SCTP webrtc-datachannel", m->kind_name);
    transport_lines(b, neg, p, nm->mid);
    line(b, "a=sctp-port:5000");
    line(b, "a=max-message-size:262144");
    candidate_lines(b, p);
}

static void rejected_media(struct buf *b, const struct pl_sdp_media *m)
{
    line(b, "m=%s 0 %s %s", m->kind_name, m->proto, m->fmt_list);
    line(b, "c=IN IP4 0.0.0.0");
    if (m->mid[0])
        line(b, "a=mid:%s", m->mid);
    line(b, "a=inactive");
}

int pl_sdp_write_answer(const struct pl_sdp *offer, const struct pl_negotiated *neg,
                        const struct pl_answer_params *p, char *out, size_t cap)
{
    if (!offer || !neg || !p || !out || cap == 0 || offer->n_media != neg->n_media ||
        !p->ice_ufrag || !p->ice_pwd || !p->fingerprint || !p->candidate_ip || !p->cname)
        return -1;
    struct buf b = {out, cap, 0, false};
    out[0] = '\0';
    line(&b, "v=0");
    line(&b, "o=- %" PRIu64 " 2 IN IP4 127.0.0.1", p->session_id);
    line(&b, "s=-");
    line(&b, "t=0 0");
    /* Answer with a BUNDLE group only when the offer had one (RFC 8843). */
    if (offer->n_bundle) {
        put(&b, "a=group:BUNDLE");
        for (int i = 0; i < neg->n_media; i++)
            if (neg->media[i].accepted)
                put(&b, " %s", neg->media[i].mid);
        eol(&b);
    }
    line(&b, "a=ice-lite");
    line(&b, "a=msid-semantic: WMS *");
    for (int i = 0; i < neg->n_media; i++) {
        const struct pl_sdp_media *m = &offer->media[i];
        const struct pl_neg_media *nm = &neg->media[i];
        if (!nm->accepted)
            rejected_media(&b, m);
        else if (nm->kind == PL_MEDIA_APPLICATION)
            data_media(&b, m, nm, neg, p);
        else
            rtp_media(&b, m, nm, neg, p);
    }
    return b.full ? -1 : (int)b.len;
}
