/* SDP: real offers captured from Chromium and Firefox (tests/data, see its README) are parsed,
 * negotiated and answered; the answers are checked line by line and parsed back. Malformed
 * and hostile inputs must fail cleanly. The values checked are those of the captured files:
 * re-capturing them means updating the constants here. */
#include "check.h"
#include "parley/sdp.h"

#include <stdlib.h>
#include <string.h>

#define ANSWER_CAP (512 * 1024)
static char answer[ANSWER_CAP];

static const char *const FP =
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

static const struct pl_answer_params params = {
    .ice_ufrag = "nodeufrg",
    .ice_pwd = "nodepassword0123456789ab",
    .fingerprint =
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
    .candidate_ip = "192.0.2.7",
    .candidate_port = 40001,
    .cname = "parley",
    .session_id = 42,
};

static const struct pl_negotiate_opts all_opts = {
    .transport_cc = true, .remb = false, .simulcast = true,
    .data_channel = true, .h264 = true, .vp9 = true,
};

/* ---- helpers ---- */

static char *read_file(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", PL_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    char *buf = malloc(PL_SDP_MAX_SDP_LEN + 1);
    *len = fread(buf, 1, PL_SDP_MAX_SDP_LEN, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* The idx-th m-section of an SDP (from its m= line to the next), or the session part for
 * idx -1; a static buffer. */
static const char *section(const char *sdp, int idx)
{
    static char out[64 * 1024];
    const char *p = sdp;
    for (int i = -1; i < idx && p; i++) {
        p = strstr(p + (i >= 0), "\r\nm=");
        p = p ? p + 2 : NULL;
    }
    if (!p) {
        out[0] = '\0';
        return out;
    }
    const char *end = strstr(p + 1, "\r\nm=");
    size_t n = end ? (size_t)(end - p) + 2 : strlen(p);
    if (n >= sizeof out)
        n = sizeof out - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* true when text holds exactly this line (CRLF-terminated) */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && strncmp(p + n, "\r\n", 2) == 0)
            return true;
    return false;
}

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (const char *p = text; *p;) {
        if (strncmp(p, prefix, len) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (!nl)
            break;
        p = nl + 1;
    }
    return n;
}

static const struct pl_sdp_codec *codec(const struct pl_sdp_media *m, int pt)
{
    for (int i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

static int ext_id(const struct pl_sdp_media *m, int id)
{
    for (int i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].id == id)
            return m->extmaps[i].ext;
    return -2;
}

/* Node-side send streams for slot lines, as the node would fill them. */
static void fill_slots(struct pl_negotiated *neg)
{
    for (int i = 0; i < neg->n_media; i++) {
        struct pl_neg_media *m = &neg->media[i];
        if (!m->accepted || m->dir != PL_DIR_SENDONLY)
            continue;
        m->send_ssrc = 1000u + (uint32_t)i;
        m->send_rtx_ssrc = m->kind == PL_MEDIA_VIDEO ? 2000u + (uint32_t)i : 0;
        snprintf(m->send_msid, sizeof m->send_msid, "slot%d trk%d", i, i);
    }
}

/* Every line ends in CRLF and has the <letter>= form. */
static bool well_formed(const char *sdp, int len)
{
    if (len <= 0 || (size_t)len != strlen(sdp) || len < 2 || strcmp(sdp + len - 2, "\r\n"))
        return false;
    for (const char *p = sdp; *p;) {
        const char *nl = strchr(p, '\n');
        if (!nl || nl == p || nl[-1] != '\r' || p[1] != '=' || p[0] < 'a' || p[0] > 'z')
            return false;
        p = nl + 1;
    }
    return true;
}

static int parse_str(const char *s, struct pl_sdp *sdp, char *err, size_t errlen)
{
    return pl_sdp_parse(s, strlen(s), sdp, err, errlen);
}

/* ---- Chromium: publish audio+video, 8 video + 8 audio slots ---- */

static void test_chromium_parse(const struct pl_sdp *s)
{
    CHECK_EQ_INT(s->n_media, 18);
    CHECK_EQ_INT(s->n_bundle, 18);
    CHECK(strcmp(s->bundle_mids[0], "0") == 0 && strcmp(s->bundle_mids[17], "17") == 0);
    CHECK(!s->ice_lite);
    CHECK_EQ_INT(s->fingerprint_len, 0); /* Chromium writes it per line */
    const struct pl_sdp_media *a = &s->media[0], *v = &s->media[1];
    CHECK_EQ_INT(a->kind, PL_MEDIA_AUDIO);
    CHECK(strcmp(a->mid, "0") == 0);
    CHECK_EQ_INT(a->dir, PL_DIR_SENDONLY);
    CHECK_EQ_INT(a->port, 9);
    CHECK(strcmp(a->proto, "UDP/TLS/RTP/SAVPF") == 0);
    CHECK(strcmp(a->fmt_list, "111 63 9 0 8 13 110 126") == 0);
    CHECK(strcmp(a->ice_ufrag, "sEhE") == 0);
    CHECK(strcmp(a->ice_pwd, "UvPn+3HcxSgu/W+Yz9gtBZz7") == 0);
    CHECK(strcmp(a->fingerprint_alg, "sha-256") == 0);
    CHECK_EQ_INT(a->fingerprint_len, 32);
    CHECK_EQ_INT(a->fingerprint[0], 0x95);
    CHECK_EQ_INT(a->fingerprint[31], 0x01);
    CHECK_EQ_INT(a->setup, PL_SETUP_ACTPASS);
    CHECK(a->rtcp_mux && a->rtcp_rsize && !a->bundle_only);
    CHECK_EQ_INT(a->n_codecs, 8);
    const struct pl_sdp_codec *opus = codec(a, 111);
    CHECK(opus && opus->codec == PL_CODEC_OPUS && opus->clock == 48000 && opus->channels == 2);
    CHECK(opus && strcmp(opus->fmtp, "minptime=10;useinbandfec=1") == 0);
    CHECK(opus && opus->fb_transport_cc && !opus->fb_nack && opus->packetization_mode == -1);
    CHECK(codec(a, 0) && codec(a, 0)->channels == 0 && strcmp(codec(a, 0)->name, "PCMU") == 0);
    CHECK(codec(a, 110) && codec(a, 110)->codec == PL_CODEC_TELEPHONE_EVENT);
    CHECK(codec(a, 63) && codec(a, 63)->codec == PL_CODEC_RED && codec(a, 63)->apt == -1);
    CHECK_EQ_INT(ext_id(a, 1), PL_EXT_AUDIO_LEVEL);
    CHECK_EQ_INT(ext_id(a, 2), PL_EXT_ABS_SEND_TIME);
    CHECK_EQ_INT(ext_id(a, 3), PL_EXT_TRANSPORT_CC);
    CHECK_EQ_INT(ext_id(a, 4), PL_EXT_MID);
    CHECK_EQ_INT(a->n_ssrcs, 1);
    CHECK_EQ_INT(a->ssrcs[0].ssrc, 3672089554u);
    CHECK_EQ_INT(a->ssrcs[0].rtx_ssrc, 0);
    CHECK(strcmp(a->cname, "i3hT7B1BbTQibrmC") == 0);
    CHECK(strcmp(a->msid, "46e47040-47c4-43d6-a8fb-90d9860a6e2a "
                          "5a21a840-6885-49c9-9d5b-09fcc3c9ad3f") == 0);

    CHECK_EQ_INT(v->kind, PL_MEDIA_VIDEO);
    CHECK_EQ_INT(v->dir, PL_DIR_SENDONLY);
    CHECK_EQ_INT(v->n_codecs, 23);
    const struct pl_sdp_codec *vp8 = codec(v, 96), *rtx = codec(v, 97);
    CHECK(vp8 && vp8->codec == PL_CODEC_VP8 && vp8->clock == 90000);
    CHECK(vp8 && vp8->fb_nack && vp8->fb_pli && vp8->fb_fir && vp8->fb_remb &&
          vp8->fb_transport_cc);
    CHECK(rtx && rtx->codec == PL_CODEC_RTX && rtx->apt == 96);
    const struct pl_sdp_codec *h1 = codec(v, 102), *h2 = codec(v, 104), *h3 = codec(v, 108);
    CHECK(h1 && h1->codec == PL_CODEC_H264 && h1->packetization_mode == 1 &&
          h1->profile_level_id == 0x42001f);
    CHECK(h2 && h2->packetization_mode == 0);
    CHECK(h3 && h3->packetization_mode == 1 && h3->profile_level_id == 0x42e01f);
    CHECK(codec(v, 98) && codec(v, 98)->codec == PL_CODEC_VP9 &&
          strcmp(codec(v, 98)->fmtp, "profile-id=0") == 0);
    CHECK(codec(v, 45) && codec(v, 45)->codec == PL_CODEC_AV1);
    CHECK(codec(v, 120) && codec(v, 120)->codec == PL_CODEC_ULPFEC);
    CHECK_EQ_INT(ext_id(v, 14), -1); /* toffset: not one the node uses */
    CHECK_EQ_INT(ext_id(v, 4), PL_EXT_MID);
    CHECK_EQ_INT(ext_id(v, 10), PL_EXT_RID);
    CHECK_EQ_INT(ext_id(v, 11), PL_EXT_REPAIRED_RID);
    CHECK_EQ_INT(v->n_extmaps, 11);
    CHECK_EQ_INT(v->n_ssrcs, 1); /* the FID member is folded into its primary */
    CHECK_EQ_INT(v->ssrcs[0].ssrc, 996656866u);
    CHECK_EQ_INT(v->ssrcs[0].rtx_ssrc, 3297924033u);
    CHECK_EQ_INT(v->n_rids, 0);
    CHECK(!v->simulcast);

    const struct pl_sdp_media *slot = &s->media[2], *aslot = &s->media[3];
    CHECK_EQ_INT(slot->kind, PL_MEDIA_VIDEO);
    CHECK(strcmp(slot->mid, "2") == 0);
    CHECK_EQ_INT(slot->dir, PL_DIR_RECVONLY);
    CHECK_EQ_INT(slot->n_codecs, 34);
    CHECK_EQ_INT(slot->n_ssrcs, 0);
    CHECK_EQ_INT(aslot->kind, PL_MEDIA_AUDIO);
    CHECK_EQ_INT(aslot->dir, PL_DIR_RECVONLY);
    CHECK(strcmp(s->media[17].mid, "17") == 0);
}

static void test_chromium_negotiate(const struct pl_sdp *s, struct pl_negotiated *neg)
{
    char err[256];
    int rc = pl_sdp_negotiate(s, &all_opts, neg, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        return;
    CHECK_EQ_INT(neg->n_media, 18);
    CHECK(strcmp(neg->remote_ufrag, "sEhE") == 0);
    CHECK(strcmp(neg->remote_pwd, "UvPn+3HcxSgu/W+Yz9gtBZz7") == 0);
    CHECK_EQ_INT(neg->remote_fingerprint[0], 0x95);
    CHECK_EQ_INT(neg->remote_fingerprint[1], 0x1b);
    CHECK_EQ_INT(neg->local_setup, PL_SETUP_PASSIVE);
    for (int i = 0; i < 18; i++)
        CHECK(neg->media[i].accepted);
    const struct pl_neg_media *a = &neg->media[0], *v = &neg->media[1];
    CHECK_EQ_INT(a->dir, PL_DIR_RECVONLY);
    CHECK_EQ_INT(a->n_codecs, 1);
    CHECK_EQ_INT(a->codecs[0].codec, PL_CODEC_OPUS);
    CHECK_EQ_INT(a->codecs[0].pt, 111);
    CHECK_EQ_INT(a->codecs[0].rtx_pt, -1);
    CHECK(strcmp(a->codecs[0].fmtp, "minptime=10;useinbandfec=1") == 0);
    CHECK(a->codecs[0].fb_transport_cc && !a->codecs[0].fb_nack);
    CHECK_EQ_INT(a->ext_id[PL_EXT_AUDIO_LEVEL], 1);
    CHECK_EQ_INT(a->ext_id[PL_EXT_ABS_SEND_TIME], 2);
    CHECK_EQ_INT(a->ext_id[PL_EXT_TRANSPORT_CC], 3);
    CHECK_EQ_INT(a->ext_id[PL_EXT_MID], 4);
    CHECK_EQ_INT(a->n_recv_ssrcs, 1);
    CHECK_EQ_INT(a->recv_ssrcs[0].ssrc, 3672089554u);

    CHECK_EQ_INT(v->dir, PL_DIR_RECVONLY);
    CHECK_EQ_INT(v->n_codecs, 3);
    CHECK(v->codecs[0].codec == PL_CODEC_VP8 && v->codecs[0].pt == 96 && v->codecs[0].rtx_pt == 97);
    CHECK(v->codecs[1].codec == PL_CODEC_H264 && v->codecs[1].pt == 108 &&
          v->codecs[1].rtx_pt == 109); /* 42e01f preferred over the 42001f offered first */
    CHECK(strcmp(v->codecs[1].fmtp,
                 "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f") == 0);
    CHECK(v->codecs[2].codec == PL_CODEC_VP9 && v->codecs[2].pt == 98 && v->codecs[2].rtx_pt == 99);
    CHECK(v->codecs[0].fb_nack && v->codecs[0].fb_pli && v->codecs[0].fb_fir);
    CHECK(v->codecs[0].fb_transport_cc && !v->codecs[0].fb_remb);
    CHECK_EQ_INT(v->ext_id[PL_EXT_MID], 4);
    CHECK_EQ_INT(v->ext_id[PL_EXT_RID], 10);
    CHECK_EQ_INT(v->ext_id[PL_EXT_REPAIRED_RID], 11);
    CHECK_EQ_INT(v->ext_id[PL_EXT_AUDIO_LEVEL], 0);
    CHECK_EQ_INT(v->n_recv_ssrcs, 1);
    CHECK_EQ_INT(v->recv_ssrcs[0].rtx_ssrc, 3297924033u);
    CHECK_EQ_INT(v->n_recv_rids, 0);

    const struct pl_neg_media *slot = &neg->media[2];
    CHECK_EQ_INT(slot->dir, PL_DIR_SENDONLY);
    CHECK_EQ_INT(slot->n_recv_ssrcs, 0);
    CHECK_EQ_INT(slot->ext_id[PL_EXT_RID], 0); /* the node sends no rid on slots */
    CHECK_EQ_INT(slot->ext_id[PL_EXT_MID], 4);
    CHECK(slot->codecs[0].codec == PL_CODEC_VP8);
    CHECK_EQ_INT(neg->media[3].dir, PL_DIR_SENDONLY);
    CHECK_EQ_INT(neg->media[3].codecs[0].pt, 111);
}

static void test_chromium_answer(const struct pl_sdp *s, struct pl_negotiated *neg)
{
    fill_slots(neg);
    int len = pl_sdp_write_answer(s, neg, &params, answer, sizeof answer);
    CHECK(len > 0);
    if (len <= 0)
        return;
    CHECK(well_formed(answer, len));
    CHECK(strncmp(answer, "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 40) == 0);
    const char *sess = section(answer, -1);
    CHECK(has_line(sess, "a=group:BUNDLE 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"));
    CHECK(has_line(sess, "a=ice-lite"));
    CHECK_EQ_INT(count_lines(answer, "m="), 18);
    CHECK_EQ_INT(count_lines(answer, "a=candidate:"), 18);
    CHECK_EQ_INT(count_lines(answer, "a=end-of-candidates"), 18);

    const char *a = section(answer, 0);
    CHECK(has_line(a, "m=audio 9 UDP/TLS/RTP/SAVPF 111"));
    CHECK(has_line(a, "c=IN IP4 0.0.0.0"));
    CHECK(has_line(a, "a=mid:0"));
    CHECK(has_line(a, "a=ice-ufrag:nodeufrg"));
    CHECK(has_line(a, "a=ice-pwd:nodepassword0123456789ab"));
    char fpl[200];
    snprintf(fpl, sizeof fpl, "a=fingerprint:sha-256 %s", FP);
    CHECK(has_line(a, fpl));
    CHECK(has_line(a, "a=setup:passive"));
    CHECK(has_line(a, "a=recvonly"));
    CHECK(has_line(a, "a=rtcp-mux"));
    CHECK(has_line(a, "a=rtcp-rsize"));
    CHECK(has_line(a, "a=rtpmap:111 opus/48000/2"));
    CHECK(has_line(a, "a=fmtp:111 minptime=10;useinbandfec=1"));
    CHECK(has_line(a, "a=rtcp-fb:111 transport-cc"));
    CHECK(has_line(a, "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
    CHECK(has_line(a, "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid"));
    CHECK(has_line(a, "a=candidate:1 1 udp 2130706431 192.0.2.7 40001 typ host"));
    CHECK(has_line(a, "a=end-of-candidates"));
    CHECK_EQ_INT(count_lines(a, "a=ssrc"), 0); /* a publish line: the node sends nothing */
    CHECK_EQ_INT(count_lines(a, "a=msid"), 0);

    const char *v = section(answer, 1);
    CHECK(has_line(v, "m=video 9 UDP/TLS/RTP/SAVPF 96 97 108 109 98 99"));
    CHECK(has_line(v, "a=recvonly"));
    CHECK(has_line(v, "a=rtpmap:96 VP8/90000"));
    CHECK(has_line(v, "a=rtpmap:97 rtx/90000"));
    CHECK(has_line(v, "a=fmtp:97 apt=96"));
    CHECK(has_line(v, "a=rtcp-fb:96 nack"));
    CHECK(has_line(v, "a=rtcp-fb:96 nack pli"));
    CHECK(has_line(v, "a=rtcp-fb:96 ccm fir"));
    CHECK(has_line(v, "a=rtcp-fb:96 transport-cc"));
    CHECK(!has_line(v, "a=rtcp-fb:96 goog-remb")); /* opts.remb is off */
    CHECK(has_line(v, "a=rtpmap:108 H264/90000"));
    CHECK(has_line(v, "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;"
                      "profile-level-id=42e01f"));
    CHECK(has_line(v, "a=rtpmap:98 VP9/90000"));
    CHECK(has_line(v, "a=fmtp:99 apt=98"));
    CHECK(has_line(v, "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-"
                      "extensions-01"));
    CHECK(has_line(v, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"));
    CHECK(!has_line(v, "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset"));
    CHECK_EQ_INT(count_lines(v, "a=rid:"), 0);

    const char *slot = section(answer, 2);
    CHECK(has_line(slot, "m=video 9 UDP/TLS/RTP/SAVPF 96 97 108 109 98 99"));
    CHECK(has_line(slot, "a=mid:2"));
    CHECK(has_line(slot, "a=sendonly"));
    CHECK(has_line(slot, "a=msid:slot2 trk2"));
    CHECK(has_line(slot, "a=ssrc-group:FID 1002 2002"));
    CHECK(has_line(slot, "a=ssrc:1002 cname:parley"));
    CHECK(has_line(slot, "a=ssrc:1002 msid:slot2 trk2"));
    CHECK(has_line(slot, "a=ssrc:2002 cname:parley"));
    CHECK(!has_line(slot, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"));
    CHECK(has_line(slot, "a=candidate:1 1 udp 2130706431 192.0.2.7 40001 typ host"));
    const char *aslot = section(answer, 3);
    CHECK(has_line(aslot, "m=audio 9 UDP/TLS/RTP/SAVPF 111"));
    CHECK(has_line(aslot, "a=sendonly"));
    CHECK(has_line(aslot, "a=ssrc:1003 cname:parley"));
    CHECK(has_line(aslot, "a=msid:slot3 trk3"));
    CHECK_EQ_INT(count_lines(aslot, "a=ssrc-group"), 0);

    /* The answer parses back with the node's own parser. */
    struct pl_sdp back;
    char err[256];
    CHECK_EQ_INT(pl_sdp_parse(answer, (size_t)len, &back, err, sizeof err), 0);
    if (back.media) {
        CHECK_EQ_INT(back.n_media, 18);
        CHECK(back.ice_lite);
        CHECK_EQ_INT(back.n_bundle, 18);
        CHECK_EQ_INT(back.media[0].dir, PL_DIR_RECVONLY);
        CHECK_EQ_INT(back.media[2].dir, PL_DIR_SENDONLY);
        CHECK_EQ_INT(back.media[2].n_ssrcs, 1);
        CHECK_EQ_INT(back.media[2].ssrcs[0].ssrc, 1002);
        CHECK_EQ_INT(back.media[2].ssrcs[0].rtx_ssrc, 2002);
        CHECK(strcmp(back.media[2].msid, "slot2 trk2") == 0);
        CHECK_EQ_INT(back.media[1].fingerprint_len, 32);
        CHECK_EQ_INT(back.media[1].setup, PL_SETUP_PASSIVE);
        CHECK_EQ_INT(back.media[1].n_codecs, 6);
        pl_sdp_free(&back);
    }

    /* Too small a buffer: -1, never an overflow; exactly enough (with the NUL): fine. */
    CHECK_EQ_INT(pl_sdp_write_answer(s, neg, &params, answer, 100), -1);
    CHECK_EQ_INT(pl_sdp_write_answer(s, neg, &params, answer, (size_t)len), -1);
    CHECK_EQ_INT(pl_sdp_write_answer(s, neg, &params, answer, (size_t)len + 1), len);
}

/* Everything optional off: VP8 only, no transport-cc, no rid. */
static void test_chromium_minimal_opts(const struct pl_sdp *s)
{
    struct pl_negotiate_opts none = {0};
    struct pl_negotiated neg;
    char err[256];
    CHECK_EQ_INT(pl_sdp_negotiate(s, &none, &neg, err, sizeof err), 0);
    if (!neg.media)
        return;
    const struct pl_neg_media *v = &neg.media[1];
    CHECK_EQ_INT(v->n_codecs, 1);
    CHECK_EQ_INT(v->codecs[0].codec, PL_CODEC_VP8);
    CHECK(!v->codecs[0].fb_transport_cc && !v->codecs[0].fb_remb && v->codecs[0].fb_nack);
    CHECK_EQ_INT(v->ext_id[PL_EXT_TRANSPORT_CC], 0);
    CHECK_EQ_INT(v->ext_id[PL_EXT_RID], 0);
    CHECK_EQ_INT(v->ext_id[PL_EXT_MID], 4);
    CHECK_EQ_INT(v->ext_id[PL_EXT_ABS_SEND_TIME], 2);
    int len = pl_sdp_write_answer(s, &neg, &params, answer, sizeof answer);
    CHECK(len > 0 && well_formed(answer, len));
    CHECK(has_line(section(answer, 1), "m=video 9 UDP/TLS/RTP/SAVPF 96 97"));
    CHECK(!strstr(answer, "transport-cc"));
    pl_negotiated_free(&neg);

    /* NULL opts means all off */
    CHECK_EQ_INT(pl_sdp_negotiate(s, NULL, &neg, err, sizeof err), 0);
    CHECK(neg.media && neg.media[1].n_codecs == 1);
    pl_negotiated_free(&neg);

    struct pl_negotiate_opts remb = {.remb = true, .h264 = true};
    CHECK_EQ_INT(pl_sdp_negotiate(s, &remb, &neg, err, sizeof err), 0);
    CHECK(neg.media && neg.media[1].codecs[0].fb_remb && neg.media[1].n_codecs == 2);
    pl_negotiated_free(&neg);
}

static void test_chromium(void)
{
    size_t len;
    char *text = read_file("chromium_offer.sdp", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    struct pl_sdp s;
    char err[256];
    int rc = pl_sdp_parse(text, len, &s, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        struct pl_negotiated neg;
        test_chromium_parse(&s);
        test_chromium_negotiate(&s, &neg);
        if (neg.media)
            test_chromium_answer(&s, &neg);
        pl_negotiated_free(&neg);
        test_chromium_minimal_opts(&s);
        pl_sdp_free(&s);
    } else {
        fprintf(stderr, "parse: %s\n", err);
    }
    free(text);
}

/* ---- Chromium: simulcast q/h/f and a data channel ---- */

static void test_chromium_simulcast(void)
{
    size_t len;
    char *text = read_file("chromium_offer_simulcast.sdp", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    struct pl_sdp s;
    char err[256];
    CHECK_EQ_INT(pl_sdp_parse(text, len, &s, err, sizeof err), 0);
    if (!s.media) {
        free(text);
        return;
    }
    CHECK_EQ_INT(s.n_media, 19);
    CHECK_EQ_INT(s.n_bundle, 19);
    const struct pl_sdp_media *v = &s.media[1], *dc = &s.media[18];
    CHECK(v->simulcast);
    CHECK_EQ_INT(v->n_rids, 3);
    CHECK(strcmp(v->rids[0].id, "q") == 0 && strcmp(v->rids[1].id, "h") == 0 &&
          strcmp(v->rids[2].id, "f") == 0);
    CHECK(v->rids[0].send && v->rids[2].send);
    CHECK_EQ_INT(v->n_ssrcs, 0); /* Chromium announces no SSRCs with rids */
    CHECK(strcmp(v->ice_ufrag, "pQEx") == 0);
    CHECK_EQ_INT(v->fingerprint[0], 0xcf);
    CHECK_EQ_INT(dc->kind, PL_MEDIA_APPLICATION);
    CHECK(strcmp(dc->proto, "UDP/DTLS/SCTP") == 0);
    CHECK(strcmp(dc->fmt_list, "webrtc-datachannel") == 0);
    CHECK(strcmp(dc->mid, "18") == 0);
    CHECK_EQ_INT(dc->n_codecs, 0);
    CHECK_EQ_INT(dc->sctp_port, 5000);
    CHECK_EQ_INT(dc->max_message_size, 262144);

    struct pl_negotiated neg;
    CHECK_EQ_INT(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err), 0);
    if (neg.media) {
        const struct pl_neg_media *nv = &neg.media[1], *nd = &neg.media[18];
        CHECK_EQ_INT(nv->n_recv_rids, 3);
        CHECK(strcmp(nv->recv_rids[1].id, "h") == 0);
        CHECK_EQ_INT(nv->ext_id[PL_EXT_RID], 10);
        CHECK_EQ_INT(nv->ext_id[PL_EXT_REPAIRED_RID], 11);
        CHECK(nd->accepted);
        CHECK_EQ_INT(nd->kind, PL_MEDIA_APPLICATION);
        CHECK_EQ_INT(nd->sctp_port, 5000);
        CHECK_EQ_INT(nd->max_message_size, 262144);
        fill_slots(&neg);
        int alen = pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer);
        CHECK(alen > 0 && well_formed(answer, alen));
        CHECK(has_line(section(answer, -1),
                       "a=group:BUNDLE 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"));
        const char *av = section(answer, 1);
        CHECK(has_line(av, "a=rid:q recv"));
        CHECK(has_line(av, "a=rid:h recv"));
        CHECK(has_line(av, "a=rid:f recv"));
        CHECK(has_line(av, "a=simulcast:recv q;h;f"));
        CHECK(has_line(av, "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"));
        const char *ad = section(answer, 18);
        CHECK(has_line(ad, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"));
        CHECK(has_line(ad, "a=mid:18"));
        CHECK(has_line(ad, "a=sctp-port:5000"));
        CHECK(has_line(ad, "a=max-message-size:262144"));
        CHECK(has_line(ad, "a=setup:passive"));
        CHECK(has_line(ad, "a=candidate:1 1 udp 2130706431 192.0.2.7 40001 typ host"));
        CHECK_EQ_INT(count_lines(ad, "a=rtpmap"), 0);
        struct pl_sdp back;
        CHECK_EQ_INT(pl_sdp_parse(answer, (size_t)alen, &back, err, sizeof err), 0);
        if (back.media) {
            CHECK_EQ_INT(back.media[1].n_rids, 3);
            CHECK(!back.media[1].rids[0].send);
            CHECK(back.media[1].simulcast);
            CHECK_EQ_INT(back.media[18].sctp_port, 5000);
            pl_sdp_free(&back);
        }
    }
    pl_negotiated_free(&neg);

    /* Without simulcast and data channels: one layer, and the m=application line refused. */
    struct pl_negotiate_opts plain = {.transport_cc = true};
    CHECK_EQ_INT(pl_sdp_negotiate(&s, &plain, &neg, err, sizeof err), 0);
    if (neg.media) {
        CHECK_EQ_INT(neg.media[1].n_recv_rids, 0);
        CHECK_EQ_INT(neg.media[1].ext_id[PL_EXT_RID], 0);
        CHECK(!neg.media[18].accepted);
        int alen = pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer);
        CHECK(alen > 0 && well_formed(answer, alen));
        CHECK(has_line(section(answer, -1),
                       "a=group:BUNDLE 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"));
        const char *ad = section(answer, 18);
        CHECK(has_line(ad, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel"));
        CHECK(has_line(ad, "a=mid:18"));
        CHECK(has_line(ad, "a=inactive"));
        CHECK(!has_line(ad, "a=sctp-port:5000"));
        CHECK_EQ_INT(count_lines(ad, "a=candidate"), 0);
        CHECK_EQ_INT(count_lines(answer, "a=rid:"), 0);
    }
    pl_negotiated_free(&neg);
    pl_sdp_free(&s);
    free(text);
}

/* ---- Firefox: session-level fingerprint, bundle-only port-0 lines, rtpmap after fmtp ---- */

static void test_firefox(void)
{
    size_t len;
    char *text = read_file("firefox_offer.sdp", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    struct pl_sdp s;
    char err[256];
    CHECK_EQ_INT(pl_sdp_parse(text, len, &s, err, sizeof err), 0);
    if (!s.media) {
        fprintf(stderr, "parse: %s\n", err);
        free(text);
        return;
    }
    CHECK_EQ_INT(s.n_media, 18);
    CHECK_EQ_INT(s.n_bundle, 18);
    CHECK(strcmp(s.fingerprint_alg, "sha-256") == 0);
    CHECK_EQ_INT(s.fingerprint_len, 32);
    CHECK_EQ_INT(s.fingerprint[0], 0xb0);
    CHECK_EQ_INT(s.fingerprint[31], 0x03);
    CHECK_EQ_INT(s.ice_ufrag[0], '\0');
    const struct pl_sdp_media *a = &s.media[0], *v = &s.media[1], *slot = &s.media[2];
    CHECK_EQ_INT(a->fingerprint_len, 0);
    CHECK(strcmp(a->ice_ufrag, "360691b8") == 0);
    CHECK(strcmp(a->ice_pwd, "482ca880e069cd7c20a68f8f60626372") == 0);
    CHECK_EQ_INT(a->dir, PL_DIR_SENDONLY); /* media level wins over the session a=sendrecv */
    CHECK_EQ_INT(a->setup, PL_SETUP_ACTPASS);
    CHECK(a->rtcp_mux && !a->rtcp_rsize);
    const struct pl_sdp_codec *opus = codec(a, 109);
    CHECK(opus && opus->codec == PL_CODEC_OPUS && opus->clock == 48000 && opus->channels == 2);
    CHECK(opus && strcmp(opus->fmtp, "maxplaybackrate=48000;stereo=1;useinbandfec=1") == 0);
    CHECK(codec(a, 9) && codec(a, 9)->channels == 1);
    CHECK_EQ_INT(ext_id(a, 1), PL_EXT_AUDIO_LEVEL);
    CHECK_EQ_INT(ext_id(a, 2), -1); /* "2/recvonly" csrc-audio-level */
    CHECK_EQ_INT(ext_id(a, 3), PL_EXT_MID);
    CHECK_EQ_INT(ext_id(a, 7), PL_EXT_TRANSPORT_CC);
    CHECK_EQ_INT(a->n_ssrcs, 1);
    CHECK_EQ_INT(a->ssrcs[0].ssrc, 3117962587u);
    CHECK(strcmp(a->cname, "{3f562124-5dac-4e73-b4de-eeed6a29a1dd}") == 0);
    CHECK(strcmp(a->msid, "{63657d96-b4a5-4e89-8f60-ae1ad58c3232} "
                          "{ff98b794-ce81-44fd-a14a-8543c1a52229}") == 0);
    /* Firefox writes rtcp-fb and fmtp before rtpmap */
    const struct pl_sdp_codec *vp8 = codec(v, 120), *rtx = codec(v, 124);
    CHECK(vp8 && vp8->codec == PL_CODEC_VP8 && vp8->fb_nack && vp8->fb_pli && vp8->fb_remb);
    CHECK(vp8 && strcmp(vp8->fmtp, "max-fs=12288;max-fr=60") == 0);
    CHECK(rtx && rtx->codec == PL_CODEC_RTX && rtx->apt == 120);
    CHECK_EQ_INT(v->n_ssrcs, 1); /* a=ssrc-group:FID after the a=ssrc lines */
    CHECK_EQ_INT(v->ssrcs[0].ssrc, 1440418213u);
    CHECK_EQ_INT(v->ssrcs[0].rtx_ssrc, 641707773u);
    CHECK_EQ_INT(slot->port, 0);
    CHECK(slot->bundle_only);
    CHECK_EQ_INT(slot->dir, PL_DIR_RECVONLY);
    CHECK_EQ_INT(slot->n_ssrcs, 1);

    struct pl_negotiated neg;
    CHECK_EQ_INT(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err), 0);
    if (neg.media) {
        for (int i = 0; i < 18; i++)
            CHECK(neg.media[i].accepted); /* bundle-only port-0 lines included */
        CHECK(strcmp(neg.remote_ufrag, "360691b8") == 0);
        CHECK_EQ_INT(neg.remote_fingerprint[0], 0xb0);
        CHECK_EQ_INT(neg.local_setup, PL_SETUP_PASSIVE);
        const struct pl_neg_media *nv = &neg.media[1];
        CHECK_EQ_INT(nv->n_codecs, 2); /* no H.264 in this Firefox: VP8, VP9 */
        CHECK(nv->codecs[0].pt == 120 && nv->codecs[0].rtx_pt == 124);
        CHECK(nv->codecs[1].codec == PL_CODEC_VP9 && nv->codecs[1].pt == 121 &&
              nv->codecs[1].rtx_pt == 125);
        CHECK_EQ_INT(nv->ext_id[PL_EXT_ABS_SEND_TIME], 4);
        CHECK_EQ_INT(nv->recv_ssrcs[0].rtx_ssrc, 641707773u);
        CHECK_EQ_INT(neg.media[2].n_recv_ssrcs, 0);
        CHECK_EQ_INT(neg.media[0].ext_id[PL_EXT_TRANSPORT_CC], 7);
        fill_slots(&neg);
        int alen = pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer);
        CHECK(alen > 0 && well_formed(answer, alen));
        const char *aa = section(answer, 0);
        CHECK(has_line(aa, "m=audio 9 UDP/TLS/RTP/SAVPF 109"));
        CHECK(has_line(aa, "a=rtpmap:109 opus/48000/2"));
        CHECK(has_line(aa, "a=fmtp:109 minptime=10;useinbandfec=1"));
        CHECK(!has_line(aa, "a=rtcp-rsize"));
        const char *as = section(answer, 2);
        CHECK(has_line(as, "m=video 9 UDP/TLS/RTP/SAVPF 120 124 121 125"));
        CHECK(has_line(as, "a=sendonly"));
        CHECK(has_line(as, "a=rtcp-rsize"));
        CHECK(has_line(as, "a=ssrc-group:FID 1002 2002"));
        CHECK(has_line(as, "a=fmtp:124 apt=120"));
        CHECK(!strstr(as, "bundle-only"));
        CHECK_EQ_INT(count_lines(answer, "a=candidate:"), 18);
    }
    pl_negotiated_free(&neg);
    pl_sdp_free(&s);
    free(text);
}

/* ---- Firefox: simulcast q/h/f (rids and SSRCs both announced) and a data channel ---- */

static void test_firefox_simulcast(void)
{
    size_t len;
    char *text = read_file("firefox_offer_simulcast.sdp", &len);
    CHECK(text != NULL);
    if (!text)
        return;
    struct pl_sdp s;
    char err[256];
    CHECK_EQ_INT(pl_sdp_parse(text, len, &s, err, sizeof err), 0);
    if (!s.media) {
        fprintf(stderr, "parse: %s\n", err);
        free(text);
        return;
    }
    CHECK_EQ_INT(s.n_media, 19);
    CHECK_EQ_INT(s.n_bundle, 19);
    CHECK_EQ_INT(s.fingerprint[0], 0x3d);
    CHECK_EQ_INT(s.fingerprint[31], 0x69);
    const struct pl_sdp_media *v = &s.media[1], *dc = &s.media[18];
    CHECK(strcmp(v->ice_ufrag, "f5aa21d9") == 0);
    CHECK_EQ_INT(v->dir, PL_DIR_SENDONLY);
    /* The encodings' order, lowest resolution first as the page listed them: the node takes
     * the rids in this order as its layers 0, 1, 2. */
    CHECK(v->simulcast);
    CHECK_EQ_INT(v->n_rids, 3);
    CHECK(strcmp(v->rids[0].id, "q") == 0 && strcmp(v->rids[1].id, "h") == 0 &&
          strcmp(v->rids[2].id, "f") == 0);
    CHECK(v->rids[0].send && v->rids[1].send && v->rids[2].send);
    /* Unlike Chromium, Firefox also announces an SSRC (+ RTX in a FID group) per encoding, in
     * no stated relation to the rids: the node learns layers from the RID extension only. */
    CHECK_EQ_INT(v->n_ssrcs, 3);
    CHECK_EQ_INT(v->ssrcs[0].ssrc, 1037756166u);
    CHECK_EQ_INT(v->ssrcs[0].rtx_ssrc, 2374092032u);
    CHECK_EQ_INT(v->ssrcs[2].ssrc, 1930193371u);
    CHECK_EQ_INT(v->ssrcs[2].rtx_ssrc, 3830036564u);
    CHECK_EQ_INT(ext_id(v, 9), PL_EXT_RID); /* "9/sendonly" */
    CHECK_EQ_INT(ext_id(v, 10), PL_EXT_REPAIRED_RID);
    CHECK_EQ_INT(ext_id(v, 8), -1); /* AV1 dependency descriptor: not one the node reads */
    CHECK_EQ_INT(dc->kind, PL_MEDIA_APPLICATION);
    CHECK(strcmp(dc->mid, "18") == 0);
    CHECK_EQ_INT(dc->sctp_port, 5000);
    CHECK_EQ_INT(dc->max_message_size, 1073741823);

    struct pl_negotiated neg;
    CHECK_EQ_INT(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err), 0);
    if (neg.media) {
        const struct pl_neg_media *nv = &neg.media[1], *nd = &neg.media[18];
        CHECK(nv->accepted);
        CHECK_EQ_INT(nv->dir, PL_DIR_RECVONLY);
        CHECK_EQ_INT(nv->n_recv_rids, 3);
        CHECK(strcmp(nv->recv_rids[0].id, "q") == 0 && strcmp(nv->recv_rids[1].id, "h") == 0 &&
              strcmp(nv->recv_rids[2].id, "f") == 0);
        CHECK_EQ_INT(nv->ext_id[PL_EXT_RID], 9);
        CHECK_EQ_INT(nv->ext_id[PL_EXT_REPAIRED_RID], 10);
        CHECK_EQ_INT(nv->ext_id[PL_EXT_TRANSPORT_CC], 7);
        CHECK(nv->codecs[0].codec == PL_CODEC_VP8 && nv->codecs[0].pt == 120 &&
              nv->codecs[0].rtx_pt == 124);
        CHECK(nd->accepted);
        CHECK_EQ_INT(nd->max_message_size, 1073741823);
        for (int i = 2; i < 18; i++)
            CHECK(neg.media[i].accepted && neg.media[i].n_recv_rids == 0);
        fill_slots(&neg);
        int alen = pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer);
        CHECK(alen > 0 && well_formed(answer, alen));
        CHECK(has_line(section(answer, -1),
                       "a=group:BUNDLE 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"));
        const char *av = section(answer, 1);
        CHECK(has_line(av, "a=recvonly"));
        CHECK(has_line(av, "a=rid:q recv"));
        CHECK(has_line(av, "a=rid:h recv"));
        CHECK(has_line(av, "a=rid:f recv"));
        CHECK(has_line(av, "a=simulcast:recv q;h;f"));
        CHECK(has_line(av, "a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"));
        CHECK(has_line(av, "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"));
        CHECK_EQ_INT(count_lines(av, "a=ssrc"), 0); /* the node sends nothing on that line */
        const char *ad = section(answer, 18);
        CHECK(has_line(ad, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"));
        CHECK(has_line(ad, "a=sctp-port:5000"));
        CHECK(has_line(ad, "a=max-message-size:262144")); /* the node's own limit, not Firefox's 1 GiB */
        struct pl_sdp back;
        CHECK_EQ_INT(pl_sdp_parse(answer, (size_t)alen, &back, err, sizeof err), 0);
        if (back.media) {
            CHECK_EQ_INT(back.media[1].n_rids, 3);
            CHECK(!back.media[1].rids[1].send);
            CHECK(strcmp(back.media[1].rids[2].id, "f") == 0);
            CHECK(back.media[1].simulcast);
            pl_sdp_free(&back);
        }
    }
    pl_negotiated_free(&neg);
    pl_sdp_free(&s);
    free(text);
}

/* ---- hand-written offers: inheritance, preferences, rejections ---- */

#define FP_LINE "a=fingerprint:sha-256 " \
    "95:1B:38:E9:B2:D2:79:CB:B5:DB:8C:A1:27:B9:53:5F:AB:1C:BE:55:3D:04:47:EF:1D:BB:9B:C3:ED:2D:52:01\n"

/* Session-level everything, LF line ends, no BUNDLE group: one line is accepted. */
static void test_session_level(void)
{
    const char *offer =
        "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n"
        "a=ice-ufrag:sess\na=ice-pwd:sessionpassword0123456\n" FP_LINE
        "a=setup:passive\na=recvonly\n"
        "a=extmap:5 urn:ietf:params:rtp-hdrext:sdes:mid\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 109 0\nc=IN IP4 0.0.0.0\na=mid:a\na=rtcp-mux\n"
        "a=rtpmap:109 OPUS/48000/2\na=rtcp-fb:* nack\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 109\na=mid:b\na=rtcp-mux\na=sendrecv\n"
        "a=rtpmap:109 opus/48000/2\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 103 104\na=mid:c\na=rtcp-mux\n";
    struct pl_sdp s;
    char err[256];
    CHECK_EQ_INT(parse_str(offer, &s, err, sizeof err), 0);
    if (!s.media)
        return;
    CHECK_EQ_INT(s.n_media, 3);
    CHECK_EQ_INT(s.n_bundle, 0);
    CHECK_EQ_INT(s.setup, PL_SETUP_PASSIVE);
    CHECK_EQ_INT(s.media[0].dir, PL_DIR_RECVONLY); /* inherited */
    CHECK_EQ_INT(s.media[1].dir, PL_DIR_SENDRECV); /* its own */
    CHECK_EQ_INT(s.media[0].n_extmaps, 1);         /* session-level extmap inherited */
    CHECK_EQ_INT(s.media[0].extmaps[0].ext, PL_EXT_MID);
    CHECK(s.media[0].codecs[0].fb_nack && s.media[0].codecs[1].fb_nack); /* '*' */
    CHECK(s.media[0].codecs[0].codec == PL_CODEC_OPUS);
    CHECK_EQ_INT(s.media[0].codecs[1].pt, 0);
    CHECK_EQ_INT(s.media[0].ice_ufrag[0], '\0');
    struct pl_negotiated neg;
    CHECK_EQ_INT(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err), 0);
    if (neg.media) {
        CHECK(neg.media[0].accepted && !neg.media[1].accepted && !neg.media[2].accepted);
        CHECK_EQ_INT(neg.media[0].dir, PL_DIR_SENDONLY);
        CHECK_EQ_INT(neg.media[0].ext_id[PL_EXT_MID], 5);
        CHECK(strcmp(neg.remote_ufrag, "sess") == 0);
        CHECK_EQ_INT(neg.local_setup, PL_SETUP_ACTIVE);
        int len = pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer);
        CHECK(len > 0 && well_formed(answer, len));
        CHECK(!strstr(answer, "a=group:BUNDLE"));
        CHECK(has_line(section(answer, 0), "a=setup:active"));
        CHECK(has_line(section(answer, 1), "m=audio 0 UDP/TLS/RTP/SAVPF 109"));
        CHECK(has_line(section(answer, 2), "m=video 0 UDP/TLS/RTP/SAVPF 100 101 102 103 104"));
        CHECK(has_line(section(answer, 2), "a=mid:c"));
        CHECK(has_line(section(answer, 2), "a=inactive"));
    }
    pl_negotiated_free(&neg);
    pl_sdp_free(&s);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
#define MEDIA_TRANSPORT "a=ice-ufrag:abcd\r\na=ice-pwd:passwordpasswordpassword\r\n" \
    "a=fingerprint:sha-256 95:1B:38:E9:B2:D2:79:CB:B5:DB:8C:A1:27:B9:53:5F:AB:1C:BE:55:3D:04:" \
    "47:EF:1D:BB:9B:C3:ED:2D:52:01\r\na=setup:active\r\na=rtcp-mux\r\n"

static void test_preferences(void)
{
    /* H.264: 42e01f wins over an earlier 42001f and a later 640c1f; pm=0 never. */
    const char *offer =
        HEAD "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 103 110\r\n" MEDIA_TRANSPORT "a=mid:0\r\n"
        "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=0;profile-level-id=42e01f\r\n"
        "a=rtpmap:101 H264/90000\r\na=fmtp:101 packetization-mode=1;profile-level-id=42001f\r\n"
        "a=rtpmap:102 H264/90000\r\na=fmtp:102 profile-level-id=42e01f;packetization-mode=1\r\n"
        "a=rtpmap:103 H264/90000\r\na=fmtp:103 packetization-mode=1;profile-level-id=640c1f\r\n"
        "a=rtpmap:110 rtx/90000\r\na=fmtp:110 apt=102\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 100 101\r\n" MEDIA_TRANSPORT "a=mid:1\r\na=sendonly\r\n"
        "a=rtpmap:100 H264/90000\r\na=fmtp:100 packetization-mode=1;profile-level-id=640c1f\r\n"
        "a=rtpmap:101 H264/90000\r\na=fmtp:101 packetization-mode=1;profile-level-id=42e00a\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0 8\r\n" MEDIA_TRANSPORT "a=mid:2\r\n"
        "a=rtpmap:0 PCMU/8000\r\n";
    struct pl_sdp s;
    char err[256];
    CHECK_EQ_INT(parse_str(offer, &s, err, sizeof err), 0);
    if (!s.media)
        return;
    CHECK_EQ_INT(s.media[0].codecs[0].packetization_mode, 0);
    struct pl_negotiated neg;
    CHECK_EQ_INT(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err), 0);
    if (neg.media) {
        CHECK_EQ_INT(neg.media[0].n_codecs, 1);
        CHECK_EQ_INT(neg.media[0].codecs[0].pt, 102);
        CHECK_EQ_INT(neg.media[0].codecs[0].rtx_pt, 110);
        CHECK_EQ_INT(neg.media[0].dir, PL_DIR_RECVONLY); /* sendrecv publish line */
        CHECK_EQ_INT(neg.media[1].codecs[0].pt, 101); /* constrained baseline before high */
        CHECK(!neg.media[2].accepted);                /* no Opus */
        CHECK_EQ_INT(neg.local_setup, PL_SETUP_PASSIVE);
        int len = pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer);
        CHECK(len > 0 && has_line(answer, "a=group:BUNDLE 0 1"));
        CHECK(has_line(section(answer, 2), "m=audio 0 UDP/TLS/RTP/SAVPF 0 8"));
    }
    pl_negotiated_free(&neg);

    /* Without opts.h264 nothing in line 0 or 1 is acceptable: negotiation fails. */
    struct pl_negotiate_opts vp8only = {.vp9 = true};
    CHECK(pl_sdp_negotiate(&s, &vp8only, &neg, err, sizeof err) < 0);
    CHECK(strstr(err, "no m-line") != NULL);
    CHECK(neg.media == NULL);
    pl_sdp_free(&s);
}

/* Offers that parse but cannot be negotiated. */
static void test_negotiate_errors(void)
{
    size_t len;
    char *text = read_file("chromium_offer.sdp", &len);
    if (!text)
        return;
    struct pl_sdp s;
    struct pl_negotiated neg;
    char err[256];
    /* drop every a=fingerprint line */
    char *nofp = malloc(len + 1);
    size_t n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "a=fingerprint:", 14) != 0) {
            memcpy(nofp + n, p, l);
            n += l;
        }
        p += l;
    }
    CHECK_EQ_INT(pl_sdp_parse(nofp, n, &s, err, sizeof err), 0);
    CHECK(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) < 0);
    CHECK(strcmp(err, "offer has no sha-256 fingerprint") == 0);
    CHECK(neg.media == NULL);
    pl_sdp_free(&s);
    free(nofp);
    free(text);

    const char *sha1 =
        HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:passwordpasswordpassword\r\n"
        "a=fingerprint:sha-1 95:1B:38:E9:B2:D2:79:CB:B5:DB:8C:A1:27:B9:53:5F:AB:1C:BE:55\r\n"
        "a=rtpmap:111 opus/48000/2\r\n";
    CHECK_EQ_INT(parse_str(sha1, &s, err, sizeof err), 0);
    CHECK(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) < 0);
    CHECK(strcmp(err, "offer has no sha-256 fingerprint") == 0);
    pl_sdp_free(&s);

    const char *noice = HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtcp-mux\r\n" FP_LINE
                             "a=rtpmap:111 opus/48000/2\r\n";
    CHECK_EQ_INT(parse_str(noice, &s, err, sizeof err), 0);
    CHECK(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) < 0);
    CHECK(strstr(err, "ICE credentials") != NULL);
    pl_sdp_free(&s);

    const char *nomux = HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
                             "a=ice-ufrag:abcd\r\na=ice-pwd:passwordpasswordpassword\r\n" FP_LINE
                             "a=rtpmap:111 opus/48000/2\r\n";
    CHECK_EQ_INT(parse_str(nomux, &s, err, sizeof err), 0);
    CHECK(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) < 0);
    CHECK(strstr(err, "rtcp-mux") != NULL);
    pl_sdp_free(&s);

    /* a line not in the BUNDLE group, or already rejected by the offerer (port 0) */
    const char *outside = HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:9\r\n" MEDIA_TRANSPORT
                               "a=rtpmap:111 opus/48000/2\r\n"
                               "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" MEDIA_TRANSPORT
                               "a=rtpmap:111 opus/48000/2\r\n";
    CHECK_EQ_INT(parse_str(outside, &s, err, sizeof err), 0);
    CHECK(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) < 0);
    pl_sdp_free(&s);

    const char *dup = HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" MEDIA_TRANSPORT
                           "a=rtpmap:111 opus/48000/2\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" MEDIA_TRANSPORT
                           "a=rtpmap:111 opus/48000/2\r\n";
    CHECK_EQ_INT(parse_str(dup, &s, err, sizeof err), 0);
    CHECK(pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) < 0);
    CHECK(strcmp(err, "offer has duplicate a=mid:0") == 0);
    pl_sdp_free(&s);

    CHECK(pl_sdp_negotiate(NULL, &all_opts, &neg, err, sizeof err) < 0);
}

/* ---- malformed and hostile input ---- */

static void expect_parse_error(const char *text, const char *why)
{
    struct pl_sdp s;
    char err[256] = "";
    int rc = parse_str(text, &s, err, sizeof err);
    if (rc == 0) {
        fprintf(stderr, "parsed but should not: %s\n", why);
        pl_sdp_free(&s);
    }
    CHECK(rc < 0);
    CHECK(err[0] != '\0');
    CHECK(s.media == NULL);
}

static void test_malformed(void)
{
    struct pl_sdp s;
    char err[256];
    CHECK(pl_sdp_parse("", 0, &s, err, sizeof err) < 0);
    CHECK(pl_sdp_parse(NULL, 10, &s, err, sizeof err) < 0);
    expect_parse_error("garbage", "garbage");
    expect_parse_error("\x01\x02\x03\xff\xfe", "binary");
    expect_parse_error("v=0\r\ns=-\r\n", "no m-line");
    expect_parse_error("s=-\r\nv=0\r\nm=audio 9 RTP/AVP 0\r\n", "v= not first");
    expect_parse_error("v=1\r\nm=audio 9 RTP/AVP 0\r\n", "v=1");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\nthis is not sdp\r\n", "bad line");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\nA=x\r\n", "upper-case type");
    expect_parse_error("v=0\r\nm=audio\r\n", "m= without port");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP\r\n", "m= without formats");
    expect_parse_error("v=0\r\nm=audio 99999999999999999999999 RTP/AVP 0\r\n", "huge port");
    expect_parse_error("v=0\r\nm=audio 65536 RTP/AVP 0\r\n", "port > 65535");
    expect_parse_error("v=0\r\nm=audio -1 RTP/AVP 0\r\n", "negative port");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 128\r\n", "pt > 127");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP x\r\n", "pt not a number");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/99999999999\r\n", "clock");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/256\r\n", "channels");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:300 PCMU/8000\r\n", "rtpmap pt");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0\r\n", "empty rtpmap");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=fmtp:abc x=1\r\n", "fmtp pt");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtcp-fb:-1 nack\r\n", "rtcp-fb pt");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x\r\n", "extmap id 0");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=extmap:256 urn:x\r\n", "extmap 256");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=extmap:1\r\n", "extmap no uri");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=ssrc:4294967296 cname:x\r\n", "ssrc");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=ssrc-group:FID 1 x\r\n", "fid");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=sctp-port:70000\r\n", "sctp-port");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=max-message-size:4294967296\r\n",
                       "max-message-size");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=setup:sideways\r\n", "setup");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256 AB:C\r\n", "fp odd");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256 AB::CD\r\n", "fp ::");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256 ZZ:00\r\n", "fp hex");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256\r\n", "fp empty");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rid:q sideways\r\n", "rid dir");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rid:q;h send\r\n", "rid chars");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:a b\r\n", "mid with space");
    expect_parse_error("v=0\r\na=group:BUNDLE a,b\r\nm=audio 9 RTP/AVP 0\r\n", "bundle sep");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:\r\n", "empty mid");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0123456789012345678901234567890123\r\n",
                       "long mid");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:\r\n", "empty ufrag");
    expect_parse_error("v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\rx\r\n", "bare CR");
    /* an embedded NUL */
    static const char nul[] = "v=0\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\0x\r\n";
    CHECK(pl_sdp_parse(nul, sizeof nul - 1, &s, err, sizeof err) < 0);
    /* a fingerprint longer than 64 bytes */
    char longfp[512] = "v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256 00";
    for (int i = 0; i < 64; i++)
        strcat(longfp, ":00");
    strcat(longfp, "\r\n");
    expect_parse_error(longfp, "fingerprint > 64 bytes");
    /* a NULL err buffer is fine */
    CHECK(pl_sdp_parse("x", 1, &s, NULL, 0) < 0);
}

static void test_limits(void)
{
    struct pl_sdp s;
    char err[256];
    size_t cap = PL_SDP_MAX_SDP_LEN + 64;
    char *big = malloc(cap);
    /* PL_SDP_MAX_MEDIA m-lines pass; one more fails */
    size_t n = (size_t)snprintf(big, cap, "v=0\r\n");
    for (int i = 0; i < PL_SDP_MAX_MEDIA; i++)
        n += (size_t)snprintf(big + n, cap - n, "m=audio 9 RTP/AVP 0\r\na=mid:%d\r\n", i);
    CHECK_EQ_INT(pl_sdp_parse(big, n, &s, err, sizeof err), 0);
    CHECK_EQ_INT(s.n_media, PL_SDP_MAX_MEDIA);
    pl_sdp_free(&s);
    n += (size_t)snprintf(big + n, cap - n, "m=audio 9 RTP/AVP 0\r\n");
    CHECK(pl_sdp_parse(big, n, &s, err, sizeof err) < 0);

    /* longer than PL_SDP_MAX_SDP_LEN */
    n = (size_t)snprintf(big, cap, "v=0\r\nm=audio 9 RTP/AVP 0\r\n");
    while (n < PL_SDP_MAX_SDP_LEN + 10)
        n += (size_t)snprintf(big + n, cap - n, "a=x-padding\r\n");
    CHECK(pl_sdp_parse(big, n, &s, err, sizeof err) < 0);
    CHECK(pl_sdp_parse(big, PL_SDP_MAX_SDP_LEN, &s, err, sizeof err) == 0);
    pl_sdp_free(&s);

    /* excess codecs, extmaps, ssrcs, rids, bundle members: ignored, never overflowing */
    n = (size_t)snprintf(big, cap, "v=0\r\na=group:BUNDLE");
    for (int i = 0; i < PL_SDP_MAX_MEDIA; i++)
        n += (size_t)snprintf(big + n, cap - n, " m%d", i);
    n += (size_t)snprintf(big + n, cap - n, "\r\nm=video 9 UDP/TLS/RTP/SAVPF");
    for (int pt = 0; pt < 128; pt++)
        n += (size_t)snprintf(big + n, cap - n, " %d", pt);
    n += (size_t)snprintf(big + n, cap - n, "\r\na=rtpmap:127 VP8/90000\r\na=rtpmap:3 VP8/90000\r\n");
    for (int i = 1; i <= 40; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=extmap:%d urn:x-%d\r\n", i, i);
    for (int i = 1; i <= 40; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=ssrc:%d cname:c\r\na=ssrc-group:FID %d %d\r\n",
                              i, i, 1000 + i);
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(big + n, cap - n, "a=rid:r%d send\r\n", i);
    CHECK_EQ_INT(pl_sdp_parse(big, n, &s, err, sizeof err), 0);
    if (s.media) {
        const struct pl_sdp_media *m = &s.media[0];
        CHECK_EQ_INT(s.n_bundle, PL_SDP_MAX_MEDIA);
        CHECK_EQ_INT(m->n_codecs, PL_SDP_MAX_CODECS);
        CHECK_EQ_INT(m->codecs[3].codec, PL_CODEC_VP8);
        CHECK(strlen(m->fmt_list) < sizeof m->fmt_list);
        CHECK(strncmp(m->fmt_list, "0 1 2 3", 7) == 0);
        CHECK_EQ_INT(m->n_extmaps, PL_SDP_MAX_EXTMAPS);
        CHECK_EQ_INT(m->n_ssrcs, PL_SDP_MAX_SSRCS);
        CHECK_EQ_INT(m->ssrcs[0].rtx_ssrc, 1001);
        CHECK_EQ_INT(m->n_rids, PL_SDP_MAX_RIDS);
        pl_sdp_free(&s);
    }
    /* one bundle member too many */
    n = (size_t)snprintf(big, cap, "v=0\r\na=group:BUNDLE");
    for (int i = 0; i <= PL_SDP_MAX_MEDIA; i++)
        n += (size_t)snprintf(big + n, cap - n, " m%d", i);
    n += (size_t)snprintf(big + n, cap - n, "\r\nm=audio 9 RTP/AVP 0\r\n");
    CHECK(pl_sdp_parse(big, n, &s, err, sizeof err) < 0);
    free(big);
}

/* Every 11th prefix of a real offer, and a CR-less copy: no crash, no leak; whatever
 * parses also negotiates and answers within bounds. */
static void test_truncated(void)
{
    size_t len;
    char *text = read_file("chromium_offer_simulcast.sdp", &len);
    if (!text)
        return;
    int parsed = 0;
    for (size_t cut = 0; cut <= len; cut += 11) {
        struct pl_sdp s;
        char err[256];
        if (pl_sdp_parse(text, cut, &s, err, sizeof err) < 0)
            continue;
        parsed++;
        struct pl_negotiated neg;
        if (pl_sdp_negotiate(&s, &all_opts, &neg, err, sizeof err) == 0) {
            fill_slots(&neg);
            CHECK(pl_sdp_write_answer(&s, &neg, &params, answer, sizeof answer) > 0);
            pl_negotiated_free(&neg);
        }
        pl_sdp_free(&s);
    }
    CHECK(parsed > 0);
    /* a fingerprint cut in the middle of a byte is malformed */
    const char *fp = strstr(text, "a=fingerprint:sha-256 CF:F8:9");
    if (fp) {
        struct pl_sdp s;
        char err[256];
        CHECK(pl_sdp_parse(text, (size_t)(fp - text) + 29, &s, err, sizeof err) < 0);
        CHECK(strstr(err, "fingerprint") != NULL);
    }
    /* LF-only line ends */
    char *lf = malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '\r')
            lf[n++] = text[i];
    struct pl_sdp s;
    char err[256];
    CHECK_EQ_INT(pl_sdp_parse(lf, n, &s, err, sizeof err), 0);
    CHECK_EQ_INT(s.n_media, 19);
    CHECK(s.media && s.media[1].n_rids == 3);
    pl_sdp_free(&s);
    free(lf);
    free(text);
}

static void test_names(void)
{
    CHECK(strcmp(pl_codec_name(PL_CODEC_OPUS), "opus") == 0);
    CHECK(strcmp(pl_codec_name(PL_CODEC_H264), "H264") == 0);
    CHECK(strcmp(pl_codec_name(PL_CODEC_RTX), "rtx") == 0);
    CHECK(strcmp(pl_codec_name((enum pl_codec)99), "") == 0);
    CHECK(strcmp(pl_ext_uri(PL_EXT_MID), "urn:ietf:params:rtp-hdrext:sdes:mid") == 0);
    CHECK(strcmp(pl_ext_uri(PL_EXT_COUNT), "") == 0);
}

int main(void)
{
    test_names();
    test_chromium();
    test_chromium_simulcast();
    test_firefox();
    test_firefox_simulcast();
    test_session_level();
    test_preferences();
    test_negotiate_errors();
    test_malformed();
    test_limits();
    test_truncated();
    return check_result("sdp");
}
