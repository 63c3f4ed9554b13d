/* parley-client: joins a meeting, publishes and subscribes for --duration seconds, leaves, and
 * prints what it sent and received (docs/client.md). Exit status 0 when it reached media and
 * left cleanly, 1 when it failed, 2 on bad flags. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <glib-unix.h>

#include "parley/client.h"
#include "parley/config.h"
#include "parley/log.h"
#include "parley/token.h"

#define MAX_CLIENTS 500

/* --clients N: N clients on one loop in this process. The first joins at once; the others when
 * it has joined (a host must have started the meeting before anyone can JOIN). */
struct run {
    struct pl_client_loop *loop;
    struct pl_client *clients[MAX_CLIENTS];
    bool reached_media[MAX_CLIENTS];
    int n, wanted, done;
    bool leaving, started_rest, end;
    struct pl_client_opts opts;
    const char *account, *secret;
    char *tokens[MAX_CLIENTS];
    char accounts[MAX_CLIENTS][PL_TOKEN_ID_MAX + 1];
};

static int start_client(struct run *r, int i);

static gboolean quit_now(gpointer data)
{
    struct run *r = data;
    pl_client_loop_quit(r->loop);
    return G_SOURCE_REMOVE;
}

/* Duration over or a signal: LEAVE, then give the node a moment to close the socket. */
static gboolean leave(gpointer data)
{
    struct run *r = data;
    if (r->leaving)
        return G_SOURCE_REMOVE;
    r->leaving = true;
    int asked = 0;
    if (r->end && r->opts.role == PL_CLIENT_HOST && pl_client_end(r->clients[0]) == 0)
        asked = 1; /* the node relays END to everyone and closes every socket */
    for (int i = 0; i < r->n && !asked; i++)
        if (pl_client_leave(r->clients[i]) == 0)
            asked++;
    if (!asked) {
        pl_client_loop_quit(r->loop);
        return G_SOURCE_REMOVE;
    }
    GSource *t = g_timeout_source_new(2000);
    g_source_set_callback(t, quit_now, r, NULL);
    g_source_attach(t, pl_client_loop_context(r->loop));
    g_source_unref(t);
    return G_SOURCE_REMOVE;
}

static void on_event(struct pl_client *c, enum pl_client_event ev, void *user)
{
    struct run *r = user;
    if (ev != PL_CLIENT_EV_STATE)
        return;
    int i = 0;
    while (i < r->n && r->clients[i] != c)
        i++;
    if (i == r->n)
        return; /* still inside pl_client_new */
    enum pl_client_state s = pl_client_state(c);
    if (s == PL_CLIENT_MEDIA)
        r->reached_media[i] = true;
    if (s == PL_CLIENT_JOINED && i == 0 && !r->started_rest) {
        r->started_rest = true;
        for (int k = 1; k < r->wanted; k++)
            if (start_client(r, k) != 0)
                break;
    }
    if (s == PL_CLIENT_FAILED || s == PL_CLIENT_CLOSED) {
        /* One failure ends the run (a harness wants to know); closing ends when all closed. */
        if (s == PL_CLIENT_FAILED || ++r->done == r->wanted)
            pl_client_loop_quit(r->loop);
    }
}

static int start_client(struct run *r, int i)
{
    struct pl_client_opts o = r->opts;
    if (r->wanted > 1)
        snprintf(r->accounts[i], sizeof r->accounts[i], "%s-%d", r->account, i);
    else
        snprintf(r->accounts[i], sizeof r->accounts[i], "%s", r->account);
    o.account_id = r->accounts[i];
    if (i > 0 && o.role == PL_CLIENT_HOST)
        o.role = PL_CLIENT_PARTICIPANT;
    if (r->secret) {
        struct pl_token t = {.role = o.role == PL_CLIENT_HOST ? PL_ROLE_HOST
                                   : o.role == PL_CLIENT_RECORDER ? PL_ROLE_RECORDER : PL_ROLE_PARTICIPANT};
        snprintf(t.meeting_id, sizeof t.meeting_id, "%s", o.meeting_id);
        snprintf(t.account_id, sizeof t.account_id, "%s", o.account_id);
        snprintf(t.tenant_id, sizeof t.tenant_id, "default");
        t.iat = (int64_t)time(NULL);
        t.exp = t.iat + 3600;
        r->tokens[i] = pl_token_mint((const uint8_t *)r->secret, strlen(r->secret), &t);
        if (!r->tokens[i]) {
            fprintf(stderr, "parley-client: could not mint a token for %s\n", o.account_id);
            return -1;
        }
        o.token = r->tokens[i];
    }
    if (i > 0)
        o.ivf_path = o.ogg_path = NULL; /* files come from the first client only */
    r->clients[i] = pl_client_new(r->loop, &o, on_event, r);
    if (!r->clients[i])
        return -1;
    r->n = i + 1;
    return 0;
}

static void print_stats(struct pl_client *c, bool json)
{
    if (json) {
        char *text = pl_client_stats_json(c);
        if (text)
            printf("%s\n", text);
        free(text);
        return;
    }
    const struct pl_client_stats *s = pl_client_stats(c);
    printf("%s: state %s%s%s; joined in %llu ms, media in %llu ms\n", pl_client_account(c),
           pl_client_state_name(pl_client_state(c)),
           pl_client_error(c)[0] ? ": " : "", pl_client_error(c),
           (unsigned long long)s->join_ms, (unsigned long long)s->connect_ms);
    printf("sent: %llu video packets (%llu frames, %llu key), %llu audio packets; "
           "%llu PLI, %llu NACK received, %llu resent\n",
           (unsigned long long)s->tx_video_packets, (unsigned long long)s->tx_frames,
           (unsigned long long)s->tx_keyframes, (unsigned long long)s->tx_audio_packets,
           (unsigned long long)s->plis_received, (unsigned long long)s->nacks_received,
           (unsigned long long)s->retransmitted);
    printf("received: %llu packets (%llu video, %llu audio), %llu bytes; %llu NACKed, %llu PLI sent\n",
           (unsigned long long)s->rx_packets, (unsigned long long)s->rx_video_packets,
           (unsigned long long)s->rx_audio_packets, (unsigned long long)s->rx_bytes,
           (unsigned long long)s->nacks_sent, (unsigned long long)s->plis_sent);
    int n;
    const struct pl_client_rx *rx = pl_client_rx_streams(c, &n);
    for (int i = 0; i < n; i++)
        printf("  mid %s (%s, %s): %llu packets, %llu lost, jitter %.1f ms, %llu frames\n",
               rx[i].mid[0] ? rx[i].mid : "?", rx[i].video ? "video" : "audio",
               rx[i].account_id[0] ? rx[i].account_id : "?", (unsigned long long)rx[i].packets,
               (unsigned long long)rx[i].lost, rx[i].jitter_ms, (unsigned long long)rx[i].frames);
    if (s->delay_count)
        printf("one-way delay (synthetic payloads): p50 %.2f ms, p99 %.2f ms over %llu packets\n",
               pl_client_delay_percentile(s, 50), pl_client_delay_percentile(s, 99),
               (unsigned long long)s->delay_count);
    if (s->ivf_frames)
        printf("IVF: %llu frames written\n", (unsigned long long)s->ivf_frames);
    if (s->ogg_packets)
        printf("Ogg: %llu packets written\n", (unsigned long long)s->ogg_packets);
}

int main(int argc, char **argv)
{
    struct pl_client_opts o;
    pl_client_opts_default(&o);
    const char *url = NULL, *meeting = NULL, *token = NULL, *account = NULL;
    const char *role = "participant", *publish = "synthetic", *subscribe = "all";
    const char *log_level = "info";
    const char *secret = NULL;
    int duration = 10, bitrate = o.sub_bitrate, send_bitrate = o.send_bitrate, n_clients = 1;
    bool audio = false, no_simulcast = false, stats_json = false, end_meeting = false;
    char default_account[32];
    snprintf(default_account, sizeof default_account, "client-%d", (int)getpid());
    const struct pl_opt opts[] = {
        {"url", "PARLEY_URL", PL_OPT_STR, &url, "signaling WebSocket, ws://host:port/ws"},
        {"meeting", "PARLEY_MEETING", PL_OPT_STR, &meeting, "meeting id"},
        {"token", "PARLEY_TOKEN", PL_OPT_STR, &token, "join token"},
        {"token-secret", "PARLEY_TOKEN_SECRET", PL_OPT_STR, &secret, "mint each client's token with the node's secret instead (tests, load)"},
        {"clients", "PARLEY_CLIENTS", PL_OPT_INT, &n_clients, "clients in this process, accounts ACCOUNT-0..N-1 (the first one has --role)"},
        {"account", "PARLEY_ACCOUNT", PL_OPT_STR, &account, "account id (the token's; default client-PID)"},
        {"role", "PARLEY_ROLE", PL_OPT_STR, &role, "participant (JOIN), host (INIT) or recorder (RECORD_JOIN)"},
        {"publish", "PARLEY_PUBLISH", PL_OPT_STR, &publish, "vp8 (libvpx test pattern), synthetic (3 simulcast layers) or none"},
        {"audio", "PARLEY_AUDIO", PL_OPT_BOOL, &audio, "publish audio (an Opus tone with vp8, Opus-sized packets otherwise)"},
        {"no-simulcast", "PARLEY_NO_SIMULCAST", PL_OPT_BOOL, &no_simulcast, "synthetic video in one layer"},
        {"subscribe", "PARLEY_SUBSCRIBE", PL_OPT_STR, &subscribe, "video feeds to subscribe to: all or N"},
        {"bitrate", "PARLEY_BITRATE", PL_OPT_INT, &bitrate, "bitrate asked for each subscribed feed (bps)"},
        {"send-bitrate", "PARLEY_SEND_BITRATE", PL_OPT_INT, &send_bitrate, "video bitrate of the top layer (bps)"},
        {"width", "PARLEY_WIDTH", PL_OPT_INT, &o.width, "video width (top layer)"},
        {"height", "PARLEY_HEIGHT", PL_OPT_INT, &o.height, "video height (top layer)"},
        {"fps", "PARLEY_FPS", PL_OPT_INT, &o.fps, "video frames per second"},
        {"video-slots", "PARLEY_VIDEO_SLOTS", PL_OPT_INT, &o.video_slots, "recvonly video lines in the offer"},
        {"audio-slots", "PARLEY_AUDIO_SLOTS", PL_OPT_INT, &o.audio_slots, "recvonly audio lines in the offer"},
        {"end", "PARLEY_END", PL_OPT_BOOL, &end_meeting, "host: end the meeting (END) instead of leaving"},
        {"duration", "PARLEY_DURATION", PL_OPT_INT, &duration, "seconds to stay (0: until SIGINT/SIGTERM)"},
        {"write-ivf", "PARLEY_WRITE_IVF", PL_OPT_STR, &o.ivf_path, "write the first received video to this IVF file"},
        {"write-ogg", "PARLEY_WRITE_OGG", PL_OPT_STR, &o.ogg_path, "write the first received audio to this Ogg Opus file"},
        {"data-channel", "PARLEY_DATA_CHANNEL", PL_OPT_BOOL, &o.data_channel, "offer a data channel line (used when the node accepts it)"},
        {"count-only", "PARLEY_COUNT_ONLY", PL_OPT_BOOL, &o.count_only, "count received RTP without decrypting it"},
        {"local-ip", "PARLEY_LOCAL_IP", PL_OPT_STR, &o.local_ip, "address of the ICE host candidate"},
        {"stats-json", "PARLEY_STATS_JSON", PL_OPT_BOOL, &stats_json, "print the figures as one JSON object"},
        {"log-level", "PARLEY_LOG_LEVEL", PL_OPT_STR, &log_level, "debug, info, warn, error, off"},
    };
    size_t n = sizeof opts / sizeof opts[0];
    char err[256];
    int rest;
    bool help = false;
    if (pl_config_parse(opts, n, argc, argv, 1, &rest, &help, err, sizeof err) != 0) {
        fprintf(stderr, "parley-client: %s\n", err);
        return 2;
    }
    if (help) {
        pl_config_usage(opts, n, "parley-client", "joins a Parley meeting as a native WebRTC client");
        return 0;
    }
    int lvl = pl_log_level_parse(log_level);
    if (lvl < 0 || !url || !meeting || !(token || secret) || rest != argc || duration < 0 ||
        bitrate < 0 || n_clients < 1 || n_clients > MAX_CLIENTS || (n_clients > 1 && !secret)) {
        fprintf(stderr, "parley-client: need --url, --meeting and --token or --token-secret "
                "(--token-secret for --clients > 1, at most %d); see --help\n", MAX_CLIENTS);
        return 2;
    }
    pl_log_set_level((enum pl_log_level)lvl);
    o.url = url;
    o.meeting_id = meeting;
    o.token = token ? token : "";
    o.account_id = account ? account : default_account;
    o.audio = audio;
    o.simulcast = !no_simulcast;
    o.sub_bitrate = bitrate;
    o.send_bitrate = send_bitrate;
    if (strcmp(role, "host") == 0)
        o.role = PL_CLIENT_HOST;
    else if (strcmp(role, "recorder") == 0)
        o.role = PL_CLIENT_RECORDER;
    else if (strcmp(role, "participant") != 0) {
        fprintf(stderr, "parley-client: --role must be participant, host or recorder\n");
        return 2;
    }
    if (strcmp(publish, "vp8") == 0)
        o.publish = PL_PUBLISH_VP8;
    else if (strcmp(publish, "synthetic") == 0)
        o.publish = PL_PUBLISH_SYNTHETIC;
    else if (strcmp(publish, "none") == 0)
        o.publish = PL_PUBLISH_NONE;
    else {
        fprintf(stderr, "parley-client: --publish must be vp8, synthetic or none\n");
        return 2;
    }
    if (strcmp(subscribe, "all") == 0) {
        o.subscribe = -1;
    } else {
        char *end;
        long v = strtol(subscribe, &end, 10);
        if (*end || v < 0 || v > 49) {
            fprintf(stderr, "parley-client: --subscribe must be all or 0..49\n");
            return 2;
        }
        o.subscribe = (int)v;
    }
    signal(SIGPIPE, SIG_IGN);

    static struct run r;
    r.opts = o;
    r.account = o.account_id;
    r.secret = secret;
    r.wanted = n_clients;
    r.end = end_meeting;
    r.loop = pl_client_loop_new(NULL);
    if (!r.loop)
        return 1;
    if (start_client(&r, 0) != 0) {
        free(r.tokens[0]);
        pl_client_loop_free(r.loop);
        return 2;
    }
    GMainContext *ctx = pl_client_loop_context(r.loop);
    GSource *sources[3];
    int n_sources = 0;
    if (duration > 0)
        sources[n_sources++] = g_timeout_source_new_seconds((guint)duration);
    sources[n_sources++] = g_unix_signal_source_new(SIGINT);
    sources[n_sources++] = g_unix_signal_source_new(SIGTERM);
    for (int i = 0; i < n_sources; i++) {
        g_source_set_callback(sources[i], leave, &r, NULL);
        g_source_attach(sources[i], ctx);
    }
    if (pl_client_state(r.clients[0]) != PL_CLIENT_FAILED)
        pl_client_loop_run(r.loop);
    for (int i = 0; i < n_sources; i++) {
        g_source_destroy(sources[i]);
        g_source_unref(sources[i]);
    }
    bool ok = r.n == r.wanted;
    for (int i = 0; i < r.n; i++) {
        ok = ok && r.reached_media[i] && pl_client_state(r.clients[i]) != PL_CLIENT_FAILED;
        print_stats(r.clients[i], stats_json);
        pl_client_free(r.clients[i]);
        free(r.tokens[i]);
    }
    pl_client_loop_free(r.loop);
    return ok ? 0 : 1;
}
