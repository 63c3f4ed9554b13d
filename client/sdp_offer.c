/* The client's SDP offer, shaped like a browser's (Chromium's unified plan): BUNDLE over every
 * line, rtcp-mux, one ICE ufrag/pwd and DTLS fingerprint, Opus and VP8 with RTX, simulcast by
 * rid (layers) or a plain SSRC + FID group (one layer), then the receive slots. */
#include "parley/client_media.h"
#include "sdp_text.h"

#include <stdio.h>

const char *pl_offer_rid(int layer)
{
    static const char *const rids[PL_OFFER_MAX_LAYERS] = {"q", "h", "f"};
    return layer >= 0 && layer < PL_OFFER_MAX_LAYERS ? rids[layer] : "";
}

/* What every m-line carries: transport (BUNDLE makes them all share one), mid, direction. */
static void common_lines(struct sdp_text *o, const struct pl_offer_params *p, int mid, const char *dir,
                         bool first)
{
    sdp_put(o, "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
    if (first)
        for (int i = 0; i < p->n_candidates; i++)
            sdp_put(o, "a=%s\r\n", p->candidates[i]);
    if (first && p->n_candidates)
        sdp_put(o, "a=end-of-candidates\r\n");
    sdp_put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ice_ufrag, p->ice_pwd);
    sdp_put(o, "a=fingerprint:sha-256 %s\r\n", p->fingerprint);
    sdp_put(o, "a=setup:%s\r\na=mid:%d\r\n", p->setup_active ? "active" : "actpass", mid);
    sdp_put(o, "a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:mid\r\n", PL_OFFER_EXT_MID);
    sdp_put(o, "a=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", dir);
}

static void audio_codecs(struct sdp_text *o)
{
    sdp_put(o, "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n",
        PL_OFFER_PT_OPUS, PL_OFFER_PT_OPUS);
}

static void video_codecs(struct sdp_text *o)
{
    int v = PL_OFFER_PT_VP8, r = PL_OFFER_PT_RTX;
    sdp_put(o, "a=rtpmap:%d VP8/90000\r\n", v);
    sdp_put(o, "a=rtcp-fb:%d ccm fir\r\na=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n", v, v, v);
    sdp_put(o, "a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n", r, r, v);
}

int pl_offer_write(const struct pl_offer_params *p, char *buf, size_t cap)
{
    if (!p->ice_ufrag || !p->ice_pwd || !p->fingerprint || !p->cname || !p->stream_id ||
        p->n_layers < 0 || p->n_layers > PL_OFFER_MAX_LAYERS || p->recv_video < 0 ||
        p->recv_audio < 0 || p->recv_video + p->recv_audio > 110 || p->n_candidates < 0 || !cap)
        return -1;
    struct sdp_text o = {buf, cap, 0, false};
    int n_lines = (p->send_audio ? 1 : 0) + (p->send_video ? 1 : 0) + p->recv_video + p->recv_audio +
                  (p->data_channel ? 1 : 0);
    if (n_lines == 0)
        return -1;
    sdp_put(&o, "v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE",
        (unsigned long long)(p->session_id & 0x7FFFFFFFFFFFFFFFull));
    for (int i = 0; i < n_lines; i++)
        sdp_put(&o, " %d", i);
    sdp_put(&o, "\r\na=msid-semantic: WMS %s\r\n", p->stream_id);

    int mid = 0;
    if (p->send_audio) {
        sdp_put(&o, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", PL_OFFER_PT_OPUS);
        common_lines(&o, p, mid, "sendonly", mid == 0);
        sdp_put(&o, "a=msid:%s %s-audio\r\n", p->stream_id, p->stream_id);
        audio_codecs(&o);
        sdp_put(&o, "a=ssrc:%u cname:%s\r\n", p->audio_ssrc, p->cname);
        sdp_put(&o, "a=ssrc:%u msid:%s %s-audio\r\n", p->audio_ssrc, p->stream_id, p->stream_id);
        mid++;
    }
    if (p->send_video) {
        sdp_put(&o, "m=video 9 UDP/TLS/RTP/SAVPF %d %d\r\n", PL_OFFER_PT_VP8, PL_OFFER_PT_RTX);
        common_lines(&o, p, mid, "sendonly", mid == 0);
        sdp_put(&o, "a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n", PL_OFFER_EXT_RID);
        sdp_put(&o, "a=extmap:%d urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n",
            PL_OFFER_EXT_RRID);
        sdp_put(&o, "a=msid:%s %s-video\r\n", p->stream_id, p->stream_id);
        video_codecs(&o);
        if (p->n_layers > 1) {
            for (int l = 0; l < p->n_layers; l++)
                sdp_put(&o, "a=rid:%s send\r\n", pl_offer_rid(l));
            sdp_put(&o, "a=simulcast:send ");
            for (int l = 0; l < p->n_layers; l++)
                sdp_put(&o, "%s%s", l ? ";" : "", pl_offer_rid(l));
            sdp_put(&o, "\r\n");
        } else {
            sdp_put(&o, "a=ssrc-group:FID %u %u\r\n", p->video_ssrc, p->video_rtx_ssrc);
            uint32_t ss[2] = {p->video_ssrc, p->video_rtx_ssrc};
            for (int i = 0; i < 2; i++) {
                sdp_put(&o, "a=ssrc:%u cname:%s\r\n", ss[i], p->cname);
                sdp_put(&o, "a=ssrc:%u msid:%s %s-video\r\n", ss[i], p->stream_id, p->stream_id);
            }
        }
        mid++;
    }
    for (int i = 0; i < p->recv_video; i++, mid++) {
        sdp_put(&o, "m=video 9 UDP/TLS/RTP/SAVPF %d %d\r\n", PL_OFFER_PT_VP8, PL_OFFER_PT_RTX);
        common_lines(&o, p, mid, "recvonly", mid == 0);
        video_codecs(&o);
    }
    for (int i = 0; i < p->recv_audio; i++, mid++) {
        sdp_put(&o, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", PL_OFFER_PT_OPUS);
        common_lines(&o, p, mid, "recvonly", mid == 0);
        audio_codecs(&o);
    }
    if (p->data_channel) {
        sdp_put(&o, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n");
        if (mid == 0)
            for (int i = 0; i < p->n_candidates; i++)
                sdp_put(&o, "a=%s\r\n", p->candidates[i]);
        sdp_put(&o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ice_ufrag, p->ice_pwd);
        sdp_put(&o, "a=fingerprint:sha-256 %s\r\n", p->fingerprint);
        sdp_put(&o, "a=setup:%s\r\na=mid:%d\r\n", p->setup_active ? "active" : "actpass", mid);
        sdp_put(&o, "a=sctp-port:5000\r\na=max-message-size:262144\r\n");
    }
    return o.overflow ? -1 : (int)o.len;
}
