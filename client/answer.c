/* The node's answer: its ICE credentials and candidates, its DTLS fingerprint and role, the
 * payload types and header extension ids it kept, and the SSRCs of its slots (what we will
 * receive and on which mid). */
#include <string.h>

#include "client_int.h"
#include "parley/log.h"
#include "parley/sdp.h"

static uint8_t ext_id(const struct pl_sdp_media *m, enum pl_ext e)
{
    for (int i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].ext == (int)e)
            return m->extmaps[i].id;
    return 0;
}

void cl_learn_payload_types(struct pl_client *c, const struct pl_sdp_media *m)
{
    for (int k = 0; k < m->n_codecs; k++) {
        const struct pl_sdp_codec *cd = &m->codecs[k];
        if (cd->codec == PL_CODEC_OPUS && !c->pt_opus)
            c->pt_opus = cd->pt;
        if (cd->codec == PL_CODEC_VP8 && !c->pt_vp8)
            c->pt_vp8 = cd->pt;
    }
    for (int k = 0; k < m->n_codecs; k++)
        if (m->codecs[k].codec == PL_CODEC_RTX && c->pt_vp8 && m->codecs[k].apt == c->pt_vp8) {
            c->pt_rtx = m->codecs[k].pt;
            c->has_rtx = true;
        }
}

int cl_answer_apply(struct pl_client *c, const char *text, size_t len)
{
    if (c->have_answer) {
        PL_WARN("client", "%s: second ANSWER ignored", c->o.account_id);
        return 0;
    }
    struct pl_sdp a;
    char err[160];
    if (pl_sdp_parse(text, len, &a, err, sizeof err) != 0) {
        cl_fail(c, "the answer does not parse: %s", err);
        return -1;
    }
    int rc = -1;
    const struct pl_sdp_media *m0 = a.n_media ? &a.media[0] : NULL;
    const char *ufrag = m0 && m0->ice_ufrag[0] ? m0->ice_ufrag : a.ice_ufrag;
    const char *pwd = m0 && m0->ice_pwd[0] ? m0->ice_pwd : a.ice_pwd;
    const uint8_t *fp = m0 && m0->fingerprint_len ? m0->fingerprint : a.fingerprint;
    size_t fp_len = m0 && m0->fingerprint_len ? m0->fingerprint_len : a.fingerprint_len;
    enum pl_setup setup = m0 && m0->setup ? m0->setup : a.setup;
    if (!m0 || !ufrag[0] || !pwd[0] || fp_len != 32) {
        cl_fail(c, "the answer lacks ICE credentials or a sha-256 fingerprint");
        goto out;
    }
    if (setup != PL_SETUP_PASSIVE) {
        cl_fail(c, "the answer must be a=setup:passive (this client is the DTLS client)");
        goto out;
    }
    c->n_node_ssrcs = 0;
    for (int i = 0; i < a.n_media; i++) {
        const struct pl_sdp_media *m = &a.media[i];
        if (m->port == 0)
            continue; /* rejected line */
        if (m->kind == PL_MEDIA_APPLICATION && c->o.data_channel)
            c->dc_wanted = true;
        cl_learn_payload_types(c, m);
        if (strcmp(m->mid, c->video_mid) == 0) {
            c->ext_mid = ext_id(m, PL_EXT_MID);
            c->ext_rid = ext_id(m, PL_EXT_RID);
            c->ext_rrid = ext_id(m, PL_EXT_REPAIRED_RID);
        } else if (!c->ext_mid) {
            c->ext_mid = ext_id(m, PL_EXT_MID);
        }
        for (int k = 0; k < m->n_ssrcs && c->n_node_ssrcs < CL_MAX_RX; k++) {
            if (m->dir != PL_DIR_SENDONLY && m->dir != PL_DIR_SENDRECV)
                continue;
            c->node_ssrcs[c->n_node_ssrcs].ssrc = m->ssrcs[k].ssrc;
            c->node_ssrcs[c->n_node_ssrcs].rtx_ssrc = m->ssrcs[k].rtx_ssrc;
            c->node_ssrcs[c->n_node_ssrcs].video = m->kind == PL_MEDIA_VIDEO;
            snprintf(c->node_ssrcs[c->n_node_ssrcs].mid, sizeof c->node_ssrcs[0].mid, "%s", m->mid);
            c->n_node_ssrcs++;
        }
    }
    if (c->o.publish != PL_PUBLISH_NONE && !c->pt_vp8) {
        cl_fail(c, "the answer has no VP8");
        goto out;
    }
    if (c->o.publish != PL_PUBLISH_NONE && c->n_layers > 1 && (!c->ext_mid || !c->ext_rid)) {
        cl_fail(c, "the answer did not keep the mid and rid header extensions (simulcast)");
        goto out;
    }
    if (!c->pt_opus)
        c->pt_opus = PL_OFFER_PT_OPUS;
    memcpy(c->remote_fp, fp, 32);
    c->have_answer = true;
    if (cl_ice_set_remote(c, text, ufrag, pwd) != 0) {
        cl_fail(c, "the answer's ICE candidates could not be used");
        goto out;
    }
    PL_INFO("client", "%s: answer applied: %d receive streams announced, VP8 pt %u, RTX %s",
            c->o.account_id, c->n_node_ssrcs, c->pt_vp8, c->has_rtx ? "yes" : "no");
    rc = 0;
out:
    pl_sdp_free(&a);
    return rc;
}
