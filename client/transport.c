/* The transport of one client: a libnice agent (full ICE, controlling, one stream with one
 * component since everything is bundled and rtcp-muxed) on the loop's GMainContext, then DTLS
 * as the client over it (the node answers a=setup:passive), then SRTP keys from the DTLS-SRTP
 * exporter. Datagrams arrive in on_recv; STUN never reaches it (libnice keeps it). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client_int.h"
#include "parley/log.h"
#include "parley/time.h"

#define OFFER_CAP (256 * 1024)

/* The "candidate:..." lines of the gathered local candidates (owned[i] to g_free). */
int cl_local_candidates(struct pl_client *c, const char **lines, char **owned, int max)
{
    GSList *cands = nice_agent_get_local_candidates(c->agent, c->stream_id, 1);
    int n = 0;
    for (GSList *i = cands; i && n < max; i = i->next) {
        owned[n] = nice_agent_generate_local_candidate_sdp(c->agent, i->data);
        lines[n] = owned[n] && strncmp(owned[n], "a=", 2) == 0 ? owned[n] + 2 : owned[n];
        if (lines[n])
            n++;
    }
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    return n;
}

static void send_offer(struct pl_client *c)
{
    if (c->offer_sent || !c->gathered || !c->joined)
        return;
    gchar *ufrag = NULL, *pwd = NULL;
    nice_agent_get_local_credentials(c->agent, c->stream_id, &ufrag, &pwd);
    const char *lines[16];
    gchar *owned[16];
    int n = cl_local_candidates(c, lines, owned, 16);
    bool janus = c->o.target == PL_TARGET_JANUS;

    char cname[17], stream_id[17];
    snprintf(cname, sizeof cname, "%08x%08x", g_random_int(), g_random_int());
    snprintf(stream_id, sizeof stream_id, "%08x%08x", g_random_int(), g_random_int());
    bool video = c->o.publish != PL_PUBLISH_NONE;
    struct pl_offer_params p = {
        .ice_ufrag = ufrag, .ice_pwd = pwd, .fingerprint = c->loop->fingerprint,
        .cname = cname, .stream_id = stream_id,
        .session_id = (uint64_t)g_random_int() << 32 | g_random_int(),
        .send_audio = c->o.audio, .audio_ssrc = c->audio.ssrc,
        .send_video = video, .n_layers = video ? c->n_layers : 0,
        .video_ssrc = c->video[0].ssrc, .video_rtx_ssrc = c->video[0].rtx_ssrc,
        .recv_video = janus ? 0 : c->o.video_slots, .recv_audio = janus ? 0 : c->o.audio_slots,
        .candidates = lines, .n_candidates = n, .data_channel = c->o.data_channel && !janus,
        /* Janus answers an actpass offer as the DTLS client; this client is the DTLS client,
         * so it offers active to Janus (the node answers passive to actpass). */
        .setup_active = janus,
    };
    char *sdp = malloc(OFFER_CAP);
    int len = sdp ? pl_offer_write(&p, sdp, OFFER_CAP) : -1;
    g_free(ufrag);
    g_free(pwd);
    for (int i = 0; i < n; i++)
        g_free(owned[i]);
    if (len < 0) {
        free(sdp);
        cl_fail(c, "could not write the offer");
        return;
    }
    int mid = 0;
    if (c->o.audio)
        snprintf(c->audio_mid, sizeof c->audio_mid, "%d", mid++);
    if (video)
        snprintf(c->video_mid, sizeof c->video_mid, "%d", mid++);
    if (janus)
        cl_janus_send_offer(c, sdp);
    else
        cl_sig_send_offer(c, sdp);
    free(sdp);
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
    (void)agent;
    (void)stream_id;
    struct pl_client *c = data;
    c->gathered = true;
    if (c->o.target == PL_TARGET_JANUS && c->o.publish == PL_PUBLISH_NONE)
        cl_janus_on_gathered(c); /* a subscriber answers Janus' offer */
    else
        send_offer(c);
}

static void on_state(NiceAgent *agent, guint stream_id, guint component, guint state, gpointer data)
{
    struct pl_client *c = data;
    PL_DEBUG("client", "%s: ICE %s", c->o.account_id, nice_component_state_to_string(state));
    if (state == NICE_COMPONENT_STATE_FAILED && c->state != PL_CLIENT_CLOSED)
        cl_fail(c, "ICE failed");
    /* Many clients share one loop (the load harness): a bigger receive buffer rides out a
     * loop that runs late for a moment instead of dropping media and the node's STUN answers.
     * The kernel caps it at net.core.rmem_max. */
    if (state == NICE_COMPONENT_STATE_READY) {
        GSocket *sock = nice_agent_get_selected_socket(agent, stream_id, component);
        if (sock) {
            int size = 1 << 20;
            setsockopt(g_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
            g_object_unref(sock);
        }
    }
    /* DTLS starts once a pair works (the node is ICE-lite and answers checks at once). */
    if ((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) &&
        c->have_answer && !c->dtls)
        cl_dtls_start(c, c->remote_fp);
}

static void on_recv(NiceAgent *agent, guint stream_id, guint component, guint len, gchar *buf,
                    gpointer data)
{
    (void)agent;
    (void)stream_id;
    (void)component;
    struct pl_client *c = data;
    if (len == 0 || len > sizeof c->pkt - PL_SRTP_MAX_TRAILER)
        return;
    memcpy(c->pkt, buf, len); /* SRTP works in place: our own buffer, not libnice's */
    cl_on_datagram(c, c->pkt, len);
}

int cl_ice_start(struct pl_client *c)
{
    if (c->agent)
        return 0;
    c->agent = nice_agent_new_full(c->loop->ctx, NICE_COMPATIBILITY_RFC5245,
                                   NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    if (!c->agent) {
        cl_fail(c, "nice_agent_new failed");
        return -1;
    }
    g_object_set(c->agent, "controlling-mode", TRUE, "ice-tcp", FALSE, "upnp", FALSE, NULL);
    NiceAddress addr;
    nice_address_init(&addr);
    if (!nice_address_set_from_string(&addr, c->o.local_ip)) {
        cl_fail(c, "bad local address %s", c->o.local_ip);
        return -1;
    }
    nice_agent_add_local_address(c->agent, &addr);
    g_signal_connect(c->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), c);
    g_signal_connect(c->agent, "component-state-changed", G_CALLBACK(on_state), c);
    c->stream_id = nice_agent_add_stream(c->agent, 1);
    if (!c->stream_id || !nice_agent_attach_recv(c->agent, c->stream_id, 1, c->loop->ctx,
                                                 on_recv, c)) {
        cl_fail(c, "nice_agent_add_stream failed");
        return -1;
    }
    if (!nice_agent_gather_candidates(c->agent, c->stream_id)) {
        cl_fail(c, "ICE candidate gathering failed on %s", c->o.local_ip);
        return -1;
    }
    return 0;
}

/* Remote credentials and the a=candidate lines of the answer (any m-line: bundled). */
int cl_ice_set_remote(struct pl_client *c, const char *sdp, const char *ufrag, const char *pwd)
{
    if (!nice_agent_set_remote_credentials(c->agent, c->stream_id, ufrag, pwd))
        return -1;
    GSList *cands = NULL;
    int n = 0;
    for (const char *line = sdp; line && *line;) {
        const char *end = strpbrk(line, "\r\n");
        size_t l = end ? (size_t)(end - line) : strlen(line);
        if (l > 12 && l < 512 && strncmp(line, "a=candidate:", 12) == 0) {
            char buf[512];
            memcpy(buf, line, l);
            buf[l] = 0;
            NiceCandidate *cand = nice_agent_parse_remote_candidate_sdp(c->agent, c->stream_id, buf);
            if (cand && cand->transport == NICE_CANDIDATE_TRANSPORT_UDP) {
                cands = g_slist_append(cands, cand);
                n++;
            } else if (cand) {
                nice_candidate_free(cand);
            }
        }
        if (!end)
            break;
        line = end + strspn(end, "\r\n");
    }
    int added = n ? nice_agent_set_remote_candidates(c->agent, c->stream_id, 1, cands) : 0;
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    if (added <= 0) {
        PL_ERROR("client", "%s: no usable ICE candidate in the answer", c->o.account_id);
        return -1;
    }
    return 0;
}

void cl_send_raw(struct pl_client *c, const uint8_t *buf, size_t len)
{
    if (c->agent)
        nice_agent_send(c->agent, c->stream_id, 1, (guint)len, (const gchar *)buf);
}

static void dtls_send(void *user, const uint8_t *data, size_t len)
{
    cl_send_raw(user, data, len);
}

static void dtls_data(void *user, const uint8_t *data, size_t len)
{
    struct pl_client *c = user;
    if (c->dc)
        pl_dc_input(c->dc, data, len);
}

static void dc_send(void *user, const uint8_t *data, size_t len)
{
    struct pl_client *c = user;
    if (c->dtls)
        pl_dtls_write(c->dtls, data, len);
}

static void dc_connected(void *user) { cl_event(user, PL_CLIENT_EV_DC_READY); }

static void dc_open(void *user, uint16_t sid, const char *label)
{
    struct pl_client *c = user;
    c->st.dc_channels_opened++;
    PL_INFO("client", "%s: data channel %u open%s%s", c->o.account_id, sid, label[0] ? ": " : "", label);
}

static void dc_message(void *user, uint16_t sid, bool binary, const uint8_t *data, size_t len)
{
    (void)sid;
    (void)binary;
    (void)data;
    (void)len;
    ((struct pl_client *)user)->st.dc_messages_received++;
}

int pl_client_dc_open(struct pl_client *c, const char *label)
{
    return c->dc ? pl_dc_open(c->dc, label) : -1;
}

int pl_client_dc_send(struct pl_client *c, int sid, const char *text)
{
    if (!c->dc || sid < 0 || sid > 0xFFFF)
        return -1;
    return pl_dc_send(c->dc, (uint16_t)sid, false, (const uint8_t *)text, strlen(text));
}

static gboolean on_dtls_timer(gpointer data);

/* Rearms the retransmission timer from OpenSSL's deadline, and notices completion. */
static void dtls_progress(struct pl_client *c, enum pl_dtls_state st)
{
    if (c->dtls_timer) {
        g_source_destroy(c->dtls_timer);
        g_source_unref(c->dtls_timer);
        c->dtls_timer = NULL;
    }
    if (st == PL_DTLS_FAILED) {
        cl_fail(c, "DTLS failed: %s", pl_dtls_last_error(c->dtls));
        return;
    }
    if (st == PL_DTLS_CONNECTED && !c->srtp_ready) {
        struct pl_srtp_keys keys;
        if (pl_dtls_srtp_keys(c->dtls, &keys) != 0 || pl_srtp_init(&c->srtp, &keys) != 0) {
            cl_fail(c, "SRTP keys could not be set");
            return;
        }
        c->srtp_ready = true;
        c->st.connect_ms = (pl_now_us() - c->t_start_us) / 1000;
        PL_INFO("client", "%s: media connected in %llu ms (%s)", c->o.account_id,
                (unsigned long long)c->st.connect_ms,
                keys.profile == PL_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80");
        cl_set_state(c, PL_CLIENT_MEDIA);
        if (c->dc_wanted && !c->dc) {
            struct pl_dc_callbacks cb = {dc_send, dc_connected, dc_open, dc_message, c};
            c->dc = pl_dc_new(true, &cb);
        }
        return;
    }
    if (st != PL_DTLS_HANDSHAKING)
        return;
    int64_t ms = pl_dtls_timeout_ms(c->dtls);
    if (ms < 0)
        return;
    c->dtls_timer = g_timeout_source_new((guint)ms);
    g_source_set_callback(c->dtls_timer, on_dtls_timer, c, NULL);
    g_source_attach(c->dtls_timer, c->loop->ctx);
}

static gboolean on_dtls_timer(gpointer data)
{
    struct pl_client *c = data;
    g_source_unref(c->dtls_timer);
    c->dtls_timer = NULL;
    dtls_progress(c, pl_dtls_on_timeout(c->dtls));
    return G_SOURCE_REMOVE;
}

/* The ClientHello goes out at once; the retransmission timer resends lost flights. */
void cl_dtls_start(struct pl_client *c, const uint8_t fp[32])
{
    if (c->dtls)
        return;
    c->dtls = pl_dtls_new(c->loop->dtls, false, fp, dtls_send, dtls_data, c);
    if (!c->dtls || pl_dtls_start(c->dtls) != 0) {
        cl_fail(c, "DTLS could not start");
        return;
    }
    dtls_progress(c, pl_dtls_state(c->dtls));
}

void cl_dtls_feed(struct pl_client *c, const uint8_t *data, size_t len)
{
    if (c->dtls)
        dtls_progress(c, pl_dtls_feed(c->dtls, data, len));
}

void cl_transport_free(struct pl_client *c)
{
    if (c->dtls_timer) {
        g_source_destroy(c->dtls_timer);
        g_source_unref(c->dtls_timer);
        c->dtls_timer = NULL;
    }
    pl_dc_free(c->dc); /* before DTLS: its sends go there */
    c->dc = NULL;
    if (c->dtls) {
        if (pl_dtls_state(c->dtls) == PL_DTLS_CONNECTED)
            pl_dtls_close(c->dtls);
        pl_dtls_free(c->dtls);
        c->dtls = NULL;
    }
    if (c->srtp_ready) {
        pl_srtp_free(&c->srtp);
        c->srtp_ready = false;
    }
    if (c->agent) {
        nice_agent_attach_recv(c->agent, c->stream_id, 1, c->loop->ctx, NULL, NULL);
        g_signal_handlers_disconnect_by_data(c->agent, c);
        nice_agent_remove_stream(c->agent, c->stream_id);
        g_object_unref(c->agent);
        c->agent = NULL;
    }
}
