/* Offer/answer decisions for the node: ICE-lite answerer, everything BUNDLEd on one transport,
 * rtcp-mux required. Session-level ICE credentials, fingerprint and setup are inherited here
 * by lines that have none of their own (sdp_parse.c keeps them where they were written). */
#include "parley/sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTP_PROTO "UDP/TLS/RTP/SAVPF"
#define SCTP_PROTO "UDP/DTLS/SCTP"
#define H264_CB_LEVEL31 0x42e01fu /* constrained baseline 3.1: what every browser decodes */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool client_sends(enum pl_direction d)
{
    return d == PL_DIR_SENDONLY || d == PL_DIR_SENDRECV;
}

static enum pl_direction node_dir(enum pl_direction client)
{
    switch (client) {
    case PL_DIR_SENDONLY:
    case PL_DIR_SENDRECV: return PL_DIR_RECVONLY; /* a publish line */
    case PL_DIR_RECVONLY: return PL_DIR_SENDONLY; /* a slot the node sends on */
    default: return PL_DIR_INACTIVE;
    }
}

/* ---- codec choice ---- */

/* Lower is better; negative means unusable. */
typedef int (*rank_fn)(const struct pl_sdp_codec *cd);

static int rank_any(const struct pl_sdp_codec *cd)
{
    (void)cd;
    return 0;
}

static int rank_opus(const struct pl_sdp_codec *cd)
{
    return cd->clock == 48000 && cd->channels == 2 ? 0 : -1;
}

static int rank_h264(const struct pl_sdp_codec *cd)
{
    uint32_t id = cd->profile_level_id;
    if (cd->packetization_mode != 1)
        return -1;
    if (id == H264_CB_LEVEL31)
        return 0;
    if ((id >> 16) == 0x42 && (id & 0x4000)) /* baseline with constraint_set1: constrained */
        return 1;
    return 2;
}

/* VP9 profile 0 only (8-bit 4:2:0): the one every decoder and the recorder handle. */
static int rank_vp9(const struct pl_sdp_codec *cd)
{
    const char *p = strstr(cd->fmtp, "profile-id=");
    return !p || p[11] == '0' ? 0 : -1;
}

static const struct pl_sdp_codec *pick(const struct pl_sdp_media *m, enum pl_codec want,
                                       uint32_t clock, rank_fn rank)
{
    const struct pl_sdp_codec *best = NULL;
    int best_rank = 0;
    for (int i = 0; i < m->n_codecs; i++) {
        const struct pl_sdp_codec *cd = &m->codecs[i];
        if (cd->codec != want || cd->clock != clock)
            continue;
        int r = rank(cd);
        if (r >= 0 && (!best || r < best_rank)) {
            best = cd;
            best_rank = r;
        }
    }
    return best;
}

static int rtx_for(const struct pl_sdp_media *m, const struct pl_sdp_codec *cd)
{
    for (int i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].codec == PL_CODEC_RTX && m->codecs[i].apt == cd->pt &&
            m->codecs[i].clock == cd->clock)
            return m->codecs[i].pt;
    return -1;
}

static void add_codec(struct pl_neg_media *nm, const struct pl_sdp_media *m,
                      const struct pl_sdp_codec *cd, const struct pl_negotiate_opts *o)
{
    if (!cd || nm->n_codecs == PL_NEG_MAX_CODECS)
        return;
    struct pl_neg_codec *nc = &nm->codecs[nm->n_codecs++];
    bool video = m->kind == PL_MEDIA_VIDEO;
    nc->codec = cd->codec;
    nc->pt = cd->pt;
    nc->rtx_pt = video ? rtx_for(m, cd) : -1;
    nc->clock = cd->clock;
    nc->channels = cd->channels;
    /* Feedback is answered only where offered; audio gets transport-cc at most. */
    nc->fb_nack = video && cd->fb_nack;
    nc->fb_pli = video && cd->fb_pli;
    nc->fb_fir = video && cd->fb_fir;
    nc->fb_remb = video && cd->fb_remb && o->remb;
    nc->fb_transport_cc = cd->fb_transport_cc && o->transport_cc;
    switch (cd->codec) {
    case PL_CODEC_OPUS:
        snprintf(nc->fmtp, sizeof nc->fmtp, "minptime=10;useinbandfec=1");
        break;
    case PL_CODEC_H264:
        /* same profile as offered (an H.264 answer must not change it); pm=1 always */
        if (cd->profile_level_id)
            snprintf(nc->fmtp, sizeof nc->fmtp,
                     "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%06x",
                     (unsigned)cd->profile_level_id);
        else
            snprintf(nc->fmtp, sizeof nc->fmtp, "level-asymmetry-allowed=1;packetization-mode=1");
        break;
    case PL_CODEC_VP9:
        if (strstr(cd->fmtp, "profile-id="))
            snprintf(nc->fmtp, sizeof nc->fmtp, "profile-id=0");
        break;
    default:
        break;
    }
}

static void choose_codecs(struct pl_neg_media *nm, const struct pl_sdp_media *m,
                          const struct pl_negotiate_opts *o)
{
    if (m->kind == PL_MEDIA_AUDIO) {
        add_codec(nm, m, pick(m, PL_CODEC_OPUS, 48000, rank_opus), o);
        return;
    }
    add_codec(nm, m, pick(m, PL_CODEC_VP8, 90000, rank_any), o);
    if (o->h264)
        add_codec(nm, m, pick(m, PL_CODEC_H264, 90000, rank_h264), o);
    if (o->vp9)
        add_codec(nm, m, pick(m, PL_CODEC_VP9, 90000, rank_vp9), o);
}

/* ---- per line ---- */

static void choose_extensions(struct pl_neg_media *nm, const struct pl_sdp_media *m,
                              const struct pl_negotiate_opts *o)
{
    for (int i = 0; i < m->n_extmaps; i++) {
        int e = m->extmaps[i].ext;
        if (e < 0 || nm->ext_id[e])
            continue;
        if (e == PL_EXT_TRANSPORT_CC && !o->transport_cc)
            continue;
        /* rid/repaired-rid matter only on lines the client sends simulcast on */
        if ((e == PL_EXT_RID || e == PL_EXT_REPAIRED_RID) &&
            !(o->simulcast && client_sends(m->dir)))
            continue;
        nm->ext_id[e] = m->extmaps[i].id;
    }
}

static bool in_bundle(const struct pl_sdp *offer, const char *mid)
{
    for (int i = 0; i < offer->n_bundle; i++)
        if (strcmp(offer->bundle_mids[i], mid) == 0)
            return true;
    return false;
}

/* Decides one line; returns -1 (with err) only for what fails the whole offer. */
static int decide(const struct pl_sdp *offer, const struct pl_sdp_media *m,
                  const struct pl_negotiate_opts *o, bool have_one, struct pl_neg_media *nm,
                  char *err, size_t errlen)
{
    nm->kind = m->kind;
    memcpy(nm->mid, m->mid, sizeof nm->mid);
    nm->dir = PL_DIR_INACTIVE;
    /* Port 0 without bundle-only: the offerer itself rejected or stopped the line. */
    if ((m->port == 0 && !m->bundle_only) || !m->mid[0])
        return 0;
    /* One transport: with a BUNDLE group only its members, without one only one line. */
    if (offer->n_bundle ? !in_bundle(offer, m->mid) : have_one)
        return 0;
    if (m->kind == PL_MEDIA_APPLICATION) {
        if (!o->data_channel || strcmp(m->proto, SCTP_PROTO) != 0 ||
            strcmp(m->fmt_list, "webrtc-datachannel") != 0)
            return 0;
        nm->accepted = true;
        nm->dir = PL_DIR_SENDRECV;
        nm->sctp_port = m->sctp_port ? m->sctp_port : 5000;                       /* RFC 8841 */
        nm->max_message_size = m->max_message_size ? m->max_message_size : 65536; /* default */
        return 0;
    }
    if ((m->kind != PL_MEDIA_AUDIO && m->kind != PL_MEDIA_VIDEO) ||
        strcmp(m->proto, RTP_PROTO) != 0)
        return 0;
    choose_codecs(nm, m, o);
    if (nm->n_codecs == 0)
        return 0;
    if (!m->rtcp_mux)
        return fail(err, errlen, "offer m-line mid %s has no a=rtcp-mux (required)", m->mid);
    nm->accepted = true;
    nm->dir = node_dir(m->dir);
    choose_extensions(nm, m, o);
    if (!client_sends(m->dir))
        return 0; /* a recvonly line's a=ssrc is only its RTCP sender: not a stream */
    nm->n_recv_ssrcs = m->n_ssrcs;
    memcpy(nm->recv_ssrcs, m->ssrcs, sizeof nm->recv_ssrcs);
    if (o->simulcast && (m->simulcast || m->n_rids) && nm->ext_id[PL_EXT_RID])
        for (int i = 0; i < m->n_rids; i++)
            if (m->rids[i].send)
                nm->recv_rids[nm->n_recv_rids++] = m->rids[i];
    return 0;
}

/* The transport's ICE credentials, fingerprint and DTLS role, from the first accepted line
 * (the BUNDLE tag) or the session level. */
static int transport(const struct pl_sdp *offer, const struct pl_sdp_media *m,
                     struct pl_negotiated *out, char *err, size_t errlen)
{
    const char *ufrag = m->ice_ufrag[0] ? m->ice_ufrag : offer->ice_ufrag;
    const char *pwd = m->ice_pwd[0] ? m->ice_pwd : offer->ice_pwd;
    if (!ufrag[0] || !pwd[0])
        return fail(err, errlen, "offer has no ICE credentials (a=ice-ufrag / a=ice-pwd)");
    snprintf(out->remote_ufrag, sizeof out->remote_ufrag, "%s", ufrag);
    snprintf(out->remote_pwd, sizeof out->remote_pwd, "%s", pwd);
    bool media_fp = m->fingerprint_len != 0;
    const char *alg = media_fp ? m->fingerprint_alg : offer->fingerprint_alg;
    size_t len = media_fp ? m->fingerprint_len : offer->fingerprint_len;
    if (strcmp(alg, "sha-256") != 0 || len != sizeof out->remote_fingerprint)
        return fail(err, errlen, "offer has no sha-256 fingerprint");
    memcpy(out->remote_fingerprint, media_fp ? m->fingerprint : offer->fingerprint, len);
    enum pl_setup setup = m->setup != PL_SETUP_NONE ? m->setup : offer->setup;
    /* The client picks its role first: node is DTLS server unless the client is passive. */
    out->local_setup = setup == PL_SETUP_PASSIVE ? PL_SETUP_ACTIVE : PL_SETUP_PASSIVE;
    return 0;
}

int pl_sdp_negotiate(const struct pl_sdp *offer, const struct pl_negotiate_opts *opts,
                     struct pl_negotiated *out, char *err, size_t errlen)
{
    static const struct pl_negotiate_opts none;
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!offer || offer->n_media <= 0 || !offer->media)
        return fail(err, errlen, "offer has no m-lines");
    if (!opts)
        opts = &none;
    out->media = calloc((size_t)offer->n_media, sizeof *out->media);
    if (!out->media)
        return fail(err, errlen, "out of memory");
    out->n_media = offer->n_media;
    /* mids name lines on the shared transport (the MID header extension): they must differ */
    for (int i = 0; i < offer->n_media; i++)
        for (int j = 0; j < i; j++)
            if (offer->media[i].mid[0] && strcmp(offer->media[i].mid, offer->media[j].mid) == 0) {
                pl_negotiated_free(out);
                return fail(err, errlen, "offer has duplicate a=mid:%s", offer->media[i].mid);
            }
    int first = -1;
    for (int i = 0; i < offer->n_media; i++) {
        if (decide(offer, &offer->media[i], opts, first >= 0, &out->media[i], err, errlen) < 0) {
            pl_negotiated_free(out);
            return -1;
        }
        if (out->media[i].accepted && first < 0)
            first = i;
    }
    int rc = first < 0 ? fail(err, errlen, "offer has no m-line the node can accept")
                       : transport(offer, &offer->media[first], out, err, errlen);
    if (rc < 0)
        pl_negotiated_free(out);
    return rc;
}

void pl_negotiated_free(struct pl_negotiated *neg)
{
    if (!neg)
        return;
    free(neg->media);
    neg->media = NULL;
    neg->n_media = 0;
}
