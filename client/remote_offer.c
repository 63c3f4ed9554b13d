/* Janus' subscriber offer: the client takes its ICE credentials and candidates and its DTLS
 * fingerprint (the first time; a renegotiation keeps the transport), the payload types and
 * the mid extension id, the SSRCs of every line (to name streams and recognise RTX), and
 * answers with pl_recv_answer_write. */
#include <stdlib.h>
#include <string.h>

#include "client_int.h"
#include "parley/log.h"
#include "parley/sdp.h"

#define ANSWER_CAP (256 * 1024)

static void take_lines(struct pl_client *c, const struct pl_sdp *o)
{
    c->n_node_ssrcs = 0;
    c->j_n_video_mids = 0;
    for (int i = 0; i < o->n_media; i++) {
        const struct pl_sdp_media *m = &o->media[i];
        if (m->port == 0 || (m->dir != PL_DIR_SENDONLY && m->dir != PL_DIR_SENDRECV))
            continue;
        cl_learn_payload_types(c, m);
        for (int k = 0; k < m->n_extmaps && !c->ext_mid; k++)
            if (m->extmaps[k].ext == PL_EXT_MID)
                c->ext_mid = m->extmaps[k].id;
        if (m->kind == PL_MEDIA_VIDEO && c->j_n_video_mids < CL_MAX_RX)
            snprintf(c->j_video_mids[c->j_n_video_mids++], sizeof c->j_video_mids[0], "%s", m->mid);
        for (int k = 0; k < m->n_ssrcs && c->n_node_ssrcs < CL_MAX_RX; k++) {
            c->node_ssrcs[c->n_node_ssrcs].ssrc = m->ssrcs[k].ssrc;
            c->node_ssrcs[c->n_node_ssrcs].rtx_ssrc = m->ssrcs[k].rtx_ssrc;
            c->node_ssrcs[c->n_node_ssrcs].video = m->kind == PL_MEDIA_VIDEO;
            snprintf(c->node_ssrcs[c->n_node_ssrcs].mid, sizeof c->node_ssrcs[0].mid, "%s", m->mid);
            c->n_node_ssrcs++;
        }
    }
}

/* ICE and DTLS from the first offer's first line that has them (bundled: one transport). */
static int take_transport(struct pl_client *c, const struct pl_sdp *o, const char *text)
{
    const struct pl_sdp_media *m0 = NULL;
    for (int i = 0; i < o->n_media && !m0; i++)
        if (o->media[i].port != 0)
            m0 = &o->media[i];
    const char *ufrag = m0 && m0->ice_ufrag[0] ? m0->ice_ufrag : o->ice_ufrag;
    const char *pwd = m0 && m0->ice_pwd[0] ? m0->ice_pwd : o->ice_pwd;
    const uint8_t *fp = m0 && m0->fingerprint_len ? m0->fingerprint : o->fingerprint;
    size_t fp_len = m0 && m0->fingerprint_len ? m0->fingerprint_len : o->fingerprint_len;
    enum pl_setup setup = m0 && m0->setup ? m0->setup : o->setup;
    if (!m0 || !ufrag[0] || !pwd[0] || fp_len != 32) {
        cl_fail(c, "Janus' offer lacks ICE credentials or a sha-256 fingerprint");
        return -1;
    }
    if (setup != PL_SETUP_ACTPASS && setup != PL_SETUP_PASSIVE) {
        cl_fail(c, "Janus' offer must let this client be the DTLS client (a=setup:actpass)");
        return -1;
    }
    memcpy(c->remote_fp, fp, 32);
    c->have_answer = true;
    if (cl_ice_set_remote(c, text, ufrag, pwd) != 0) {
        cl_fail(c, "Janus' ICE candidates could not be used");
        return -1;
    }
    return 0;
}

char *cl_remote_offer_answer(struct pl_client *c, const char *text, size_t len)
{
    struct pl_sdp o;
    char err[160];
    if (pl_sdp_parse(text, len, &o, err, sizeof err) != 0) {
        cl_fail(c, "Janus' offer does not parse: %s", err);
        return NULL;
    }
    char *answer = NULL;
    bool first = !c->have_answer;
    take_lines(c, &o);
    if (first && take_transport(c, &o, text) != 0)
        goto out;
    gchar *ufrag = NULL, *pwd = NULL;
    nice_agent_get_local_credentials(c->agent, c->stream_id, &ufrag, &pwd);
    const char *lines[16];
    gchar *owned[16];
    int n = cl_local_candidates(c, lines, owned, 16);
    struct pl_recv_answer_params p = {
        .ice_ufrag = ufrag, .ice_pwd = pwd, .fingerprint = c->loop->fingerprint,
        .session_id = (uint64_t)g_random_int() << 32 | g_random_int(),
        .candidates = lines, .n_candidates = n,
    };
    answer = malloc(ANSWER_CAP);
    if (answer && pl_recv_answer_write(&o, &p, answer, ANSWER_CAP) < 0) {
        free(answer);
        answer = NULL;
        cl_fail(c, "could not answer Janus' offer (no Opus or VP8 line?)");
    }
    g_free(ufrag);
    g_free(pwd);
    for (int i = 0; i < n; i++)
        g_free(owned[i]);
    if (answer)
        PL_INFO("client", "%s: Janus' offer answered: %d streams announced, VP8 pt %u, RTX %s",
                c->o.account_id, c->n_node_ssrcs, c->pt_vp8, c->has_rtx ? "yes" : "no");
out:
    pl_sdp_free(&o);
    return answer;
}
