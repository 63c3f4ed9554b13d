/* The client's answer to an offer it only receives from (Janus' subscriber offer, one line per
 * feed stream): Opus audio and VP8 video (+ RTX) are accepted recvonly with the offer's own
 * payload types, everything else is rejected; one transport (BUNDLE), the client as the DTLS
 * client (a=setup:active), only the mid header extension (no transport-cc: the client sends
 * no such feedback). */
#include "parley/client_media.h"
#include "parley/sdp.h"
#include "sdp_text.h"

#include <stdio.h>
#include <string.h>

/* The codec of a line the client takes, and its RTX (NULL when none). */
static const struct pl_sdp_codec *pick(const struct pl_sdp_media *m, const struct pl_sdp_codec **rtx)
{
    *rtx = NULL;
    if (m->port == 0 || !m->mid[0] || (m->dir != PL_DIR_SENDONLY && m->dir != PL_DIR_SENDRECV &&
                                       m->dir != PL_DIR_INACTIVE))
        return NULL;
    enum pl_codec want = m->kind == PL_MEDIA_AUDIO ? PL_CODEC_OPUS
                       : m->kind == PL_MEDIA_VIDEO ? PL_CODEC_VP8 : PL_CODEC_OTHER;
    if (want == PL_CODEC_OTHER)
        return NULL;
    const struct pl_sdp_codec *c = NULL;
    for (int i = 0; i < m->n_codecs && !c; i++)
        if (m->codecs[i].codec == want)
            c = &m->codecs[i];
    for (int i = 0; c && want == PL_CODEC_VP8 && i < m->n_codecs; i++)
        if (m->codecs[i].codec == PL_CODEC_RTX && m->codecs[i].apt == c->pt)
            *rtx = &m->codecs[i];
    return c;
}

static int mid_ext(const struct pl_sdp_media *m)
{
    for (int i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].ext == PL_EXT_MID)
            return m->extmaps[i].id;
    return 0;
}

int pl_recv_answer_write(const struct pl_sdp *offer, const struct pl_recv_answer_params *p,
                         char *buf, size_t cap)
{
    if (!offer || !p->ice_ufrag || !p->ice_pwd || !p->fingerprint || p->n_candidates < 0 || !cap)
        return -1;
    struct sdp_text o = {buf, cap, 0, false};
    int accepted = 0;
    const struct pl_sdp_codec *rtx;
    for (int i = 0; i < offer->n_media; i++)
        accepted += pick(&offer->media[i], &rtx) != NULL;
    if (!accepted)
        return -1;
    sdp_put(&o, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE",
        (unsigned long long)(p->session_id & 0x7FFFFFFFFFFFFFFFull));
    for (int i = 0; i < offer->n_media; i++)
        if (pick(&offer->media[i], &rtx))
            sdp_put(&o, " %s", offer->media[i].mid);
    sdp_put(&o, "\r\na=msid-semantic: WMS\r\n");
    bool first = true;
    for (int i = 0; i < offer->n_media; i++) {
        const struct pl_sdp_media *m = &offer->media[i];
        const struct pl_sdp_codec *c = pick(m, &rtx);
        if (!c) {
            sdp_put(&o, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->kind_name[0] ? m->kind_name : "video",
                m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF", m->fmt_list[0] ? m->fmt_list : "0");
            if (m->mid[0])
                sdp_put(&o, "a=mid:%s\r\n", m->mid);
            continue;
        }
        sdp_put(&o, "m=%s 9 UDP/TLS/RTP/SAVPF %u", m->kind == PL_MEDIA_AUDIO ? "audio" : "video", c->pt);
        if (rtx)
            sdp_put(&o, " %u", rtx->pt);
        sdp_put(&o, "\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
        if (first) {
            for (int k = 0; k < p->n_candidates; k++)
                sdp_put(&o, "a=%s\r\n", p->candidates[k]);
            if (p->n_candidates)
                sdp_put(&o, "a=end-of-candidates\r\n");
            first = false;
        }
        sdp_put(&o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ice_ufrag, p->ice_pwd);
        sdp_put(&o, "a=fingerprint:sha-256 %s\r\na=setup:active\r\na=mid:%s\r\n", p->fingerprint, m->mid);
        int ext = mid_ext(m);
        if (ext)
            sdp_put(&o, "a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:mid\r\n", ext);
        sdp_put(&o, "a=%s\r\na=rtcp-mux\r\n", m->dir == PL_DIR_INACTIVE ? "inactive" : "recvonly");
        if (m->rtcp_rsize)
            sdp_put(&o, "a=rtcp-rsize\r\n");
        if (m->kind == PL_MEDIA_AUDIO) {
            sdp_put(&o, "a=rtpmap:%u opus/48000/2\r\na=fmtp:%u minptime=10;useinbandfec=1\r\n", c->pt, c->pt);
        } else {
            sdp_put(&o, "a=rtpmap:%u VP8/90000\r\n", c->pt);
            sdp_put(&o, "a=rtcp-fb:%u ccm fir\r\na=rtcp-fb:%u nack\r\na=rtcp-fb:%u nack pli\r\n", c->pt,
                c->pt, c->pt);
            if (rtx)
                sdp_put(&o, "a=rtpmap:%u rtx/90000\r\na=fmtp:%u apt=%u\r\n", rtx->pt, rtx->pt, c->pt);
        }
    }
    return o.overflow ? -1 : (int)o.len;
}
