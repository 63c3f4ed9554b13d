/* From a client's SDP offer to a peer on the meeting's worker and the node's answer.
 * Lines the client sends on become published tracks; its recvonly lines become slots, each
 * with an SSRC of the node's that stays the same for the slot's life. */
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "parley/hashmap.h"
#include "parley/log.h"
#include "parley/worker.h"
#include "sig_int.h"

#define PL_ANSWER_MAX (256 * 1024)

/* ICE credentials: ice-char is ALPHA / DIGIT / "+" / "/" (RFC 8839). */
static void random_ice_string(char *out, size_t n)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t rnd[64];
    RAND_bytes(rnd, (int)n);
    for (size_t i = 0; i < n; i++)
        out[i] = chars[rnd[i] & 63];
    out[n] = '\0';
}

static uint32_t random_ssrc(void)
{
    uint32_t v = 0;
    while (v == 0)
        RAND_bytes((uint8_t *)&v, sizeof v);
    return v;
}

static void fill_codecs(struct pl_media_codecs *mc, const struct pl_neg_media *nm)
{
    memset(mc->pt_codec, 0, sizeof mc->pt_codec);
    memset(mc->codec_pt, 0xff, sizeof mc->codec_pt);
    memset(mc->rtx_pt_of_codec, 0xff, sizeof mc->rtx_pt_of_codec);
    for (int i = 0; i < nm->n_codecs; i++) {
        const struct pl_neg_codec *c = &nm->codecs[i];
        if (c->pt >= 128 || (unsigned)c->codec >= 16)
            continue;
        mc->pt_codec[c->pt] = (uint8_t)c->codec;
        mc->codec_pt[c->codec] = c->pt;
        if (c->rtx_pt >= 0 && c->rtx_pt < 128) {
            mc->pt_codec[c->rtx_pt] = PL_CODEC_RTX;
            mc->rtx_pt_of_codec[c->codec] = (uint8_t)c->rtx_pt;
        }
    }
}

static int count_slots(const struct pl_negotiated *neg, enum pl_media_kind kind)
{
    int n = 0;
    for (int i = 0; i < neg->n_media; i++)
        n += neg->media[i].accepted && neg->media[i].dir == PL_DIR_SENDONLY &&
             neg->media[i].kind == kind;
    return n;
}

char *pl_offer_accept(struct pl_signaling *s, struct pl_participant *p, const char *sdp,
                      size_t len, char *err, size_t errlen)
{
    struct pl_node *node = s->node;
    struct pl_sdp offer;
    if (pl_sdp_parse(sdp, len, &offer, err, errlen) != 0)
        return NULL;
    /* transport-cc: the node answers publishers' packets with feedback (sfu/twcc.c); REMB
     * (sfu/rtcp_reports.c) goes to publishers that did not negotiate transport-cc, and is the
     * only congestion feedback offered with --congestion-feedback remb. */
    struct pl_negotiate_opts opts = {
        .data_channel = true,
        .h264 = true,
        .vp9 = true,
        .transport_cc = strcmp(node->cfg.congestion_feedback, "remb") != 0,
        .remb = true,
        .simulcast = true,
    };
    struct pl_negotiated neg;
    if (pl_sdp_negotiate(&offer, &opts, &neg, err, errlen) != 0) {
        pl_sdp_free(&offer);
        return NULL;
    }
    char *answer = NULL;
    struct pl_peer_spec *spec = NULL;
    int n_slots = count_slots(&neg, PL_MEDIA_VIDEO) + count_slots(&neg, PL_MEDIA_AUDIO);
    /* 49 video feeds for a participant, 50 for the recorder (and --max-slots below that). */
    int max_slots = p->role == PL_ROLE_RECORDER ? PL_MAX_RECORDER_SUBS : PL_MAX_VIDEO_SUBS;
    if (node->cfg.max_slots < max_slots)
        max_slots = node->cfg.max_slots;
    if (count_slots(&neg, PL_MEDIA_VIDEO) > max_slots ||
        count_slots(&neg, PL_MEDIA_AUDIO) > max_slots) {
        snprintf(err, errlen, "too many receive slots: at most %d video and %d audio", max_slots,
                 max_slots);
        goto out;
    }
    spec = calloc(1, sizeof *spec + (size_t)n_slots * sizeof spec->slots[0]);
    struct pl_slot_state *slots = calloc((size_t)(n_slots ? n_slots : 1), sizeof *slots);
    if (!spec || !slots) {
        free(slots);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    spec->hdr.type = PL_CMD_PEER_ADD;
    spec->peer_id = ++node->next_peer_id;
    random_ice_string(spec->local_ufrag, PL_ICE_UFRAG_LEN);
    random_ice_string(spec->local_pwd, PL_ICE_PWD_LEN);
    snprintf(spec->remote_ufrag, sizeof spec->remote_ufrag, "%s", neg.remote_ufrag);
    memcpy(spec->remote_fp, neg.remote_fingerprint, sizeof spec->remote_fp);
    spec->dtls_server = neg.local_setup == PL_SETUP_PASSIVE;
    spec->meeting_key = pl_hash_bytes(p->meeting->id, strlen(p->meeting->id));
    snprintf(spec->account_id, sizeof spec->account_id, "%s", p->account_id);
    for (int i = 0; i < neg.n_media; i++)
        spec->data_channel |= neg.media[i].accepted && neg.media[i].kind == PL_MEDIA_APPLICATION;

    for (int i = 0; i < neg.n_media; i++) {
        struct pl_neg_media *nm = &neg.media[i];
        if (!nm->accepted || nm->kind > PL_MEDIA_VIDEO)
            continue;
        for (int e = 0; e < PL_EXT_COUNT; e++)
            if (!spec->ext_id[e])
                spec->ext_id[e] = nm->ext_id[e];
        if (nm->dir == PL_DIR_RECVONLY && p->role == PL_ROLE_RECORDER) {
            snprintf(err, errlen, "the recorder publishes nothing: its offer must be recvonly");
            free(slots);
            goto out;
        }
        if (nm->dir == PL_DIR_RECVONLY && spec->n_publish < PL_MAX_PUBLISH_TRACKS) {
            struct pl_publish_spec *t = &spec->publish[spec->n_publish++];
            t->kind = nm->kind;
            snprintf(t->mid, sizeof t->mid, "%s", nm->mid);
            if (nm->n_recv_ssrcs > 0) {
                t->ssrc = nm->recv_ssrcs[0].ssrc;
                t->rtx_ssrc = nm->recv_ssrcs[0].rtx_ssrc;
            }
            fill_codecs(&t->codecs, nm);
            for (int c = 0; c < nm->n_codecs; c++) {
                t->fb_pli |= nm->codecs[c].fb_pli;
                t->fb_fir |= nm->codecs[c].fb_fir;
                t->fb_remb |= nm->codecs[c].fb_remb;
            }
            /* Simulcast layers, lowest quality first as browsers list their encodings. */
            for (int r = 0; r < nm->n_recv_rids && t->n_rids < PL_MAX_LAYERS; r++)
                snprintf(t->rids[t->n_rids++], sizeof t->rids[0], "%s", nm->recv_rids[r].id);
            p->publishes[nm->kind] = true;
        } else if (nm->dir == PL_DIR_SENDONLY) {
            struct pl_slot_spec *sl = &spec->slots[spec->n_slots];
            struct pl_slot_state *st = &slots[spec->n_slots];
            spec->n_slots++;
            sl->kind = nm->kind;
            snprintf(sl->mid, sizeof sl->mid, "%s", nm->mid);
            sl->out_ssrc = random_ssrc();
            fill_codecs(&sl->codecs, nm);
            nm->send_ssrc = sl->out_ssrc;
            /* Video resends go as RTX wherever the subscriber negotiated it for the codecs. */
            for (int c = 0; c < nm->n_codecs && nm->kind == PL_MEDIA_VIDEO && !sl->out_rtx_ssrc; c++)
                if (nm->codecs[c].rtx_pt >= 0)
                    sl->out_rtx_ssrc = random_ssrc();
            nm->send_rtx_ssrc = sl->out_rtx_ssrc;
            snprintf(nm->send_msid, sizeof nm->send_msid, "slot-%s slot-%s-track", nm->mid, nm->mid);
            snprintf(st->mid, sizeof st->mid, "%s", nm->mid);
            st->kind = nm->kind;
        }
    }

    char ip[64];
    snprintf(ip, sizeof ip, "%s",
             node->cfg.announce_ip && *node->cfg.announce_ip ? node->cfg.announce_ip
                                                              : node->cfg.media_ip);
    uint64_t session_id = ((uint64_t)random_ssrc() << 20) ^ random_ssrc();
    struct pl_answer_params ap = {
        .ice_ufrag = spec->local_ufrag,
        .ice_pwd = spec->local_pwd,
        .fingerprint = node->fingerprint,
        .candidate_ip = ip,
        .candidate_port = (uint16_t)(node->cfg.media_port + p->meeting->worker),
        .cname = "parley",
        .session_id = session_id & 0x7fffffffffffffffull,
    };
    answer = malloc(PL_ANSWER_MAX);
    if (!answer || pl_sdp_write_answer(&offer, &neg, &ap, answer, PL_ANSWER_MAX) < 0) {
        free(answer);
        answer = NULL;
        free(slots);
        snprintf(err, errlen, "could not write the answer");
        goto out;
    }
    p->slots = slots;
    p->n_slots = spec->n_slots;
    p->peer_id = spec->peer_id;
    pl_map_put(&s->peers, p->peer_id, p);
    PL_INFO("meeting", "%s in meeting %s: offer accepted (peer %u, %d tracks, %d slots)",
            p->account_id, p->meeting->id, spec->peer_id, spec->n_publish, spec->n_slots);
    if (pl_worker_post(node->workers[p->meeting->worker], &spec->hdr) != 0)
        free(spec);
    spec = NULL;
out:
    free(spec);
    pl_negotiated_free(&neg);
    pl_sdp_free(&offer);
    return answer;
}
