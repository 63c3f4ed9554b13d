/* parley-node: the main thread (signaling, web page) and the media workers. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "parley/config.h"
#include "parley/datachannel.h"
#include "parley/dtls.h"
#include "parley/log.h"
#include "parley/node.h"
#include "parley/srtp.h"
#include "parley/token.h"
#include "parley/worker.h"

#include <openssl/rand.h>
#include <time.h>

#ifndef PL_DEFAULT_WEB_ROOT
#define PL_DEFAULT_WEB_ROOT "web"
#endif

static struct pl_node node;
static uv_signal_t sig_term, sig_int;
static uv_timer_t dc_tick;

static void on_worker_event(struct pl_mailbox *mb, struct pl_msg *msg, void *user)
{
    (void)mb;
    (void)user;
    if (node.sig)
        pl_signaling_on_worker_event(node.sig, (struct pl_worker_event *)msg);
    free(msg);
}

/* usrsctp's timers (data channel retransmissions), for every worker's associations. */
static void on_dc_tick(uv_timer_t *t)
{
    (void)t;
    pl_dc_tick_now();
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* SIGTERM/SIGINT: participants leave, libwebsockets starts closing, workers close their peers
 * and stop; once our handles are closed the loop runs dry and main finishes the teardown. */
static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    static bool stopping;
    if (stopping)
        return;
    stopping = true;
    PL_INFO("node", "%s: closing peers and exiting", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    if (node.sig)
        pl_signaling_stop(node.sig);
    for (int i = 0; i < node.n_workers; i++)
        pl_worker_stop(node.workers[i]);
    node.n_workers = 0;
    pl_mailbox_close(&node.events);
    uv_close((uv_handle_t *)&sig_term, NULL);
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&dc_tick, NULL);
}

static int parse_config(int argc, char **argv)
{
    static const char *log_level = "info";
    node.cfg = (struct pl_node_config){
        .listen_ip = "127.0.0.1",
        .http_port = 8080,
        .media_ip = "127.0.0.1",
        .announce_ip = "",
        .media_port = 40000,
        .workers = 0,
        .web_root = PL_DEFAULT_WEB_ROOT,
        .log_level = log_level,
        .consent_timeout_ms = 30000,
        .max_message_bytes = 512 * 1024,
        .max_slots = 50,
        .drop_rate = "0",
        .congestion_feedback = "twcc",
        .token_secret = "",
        .control_url = "",
        .control_key = "",
        .node_name = "",
        .public_url = "",
        .max_participants = 50,
        .recordings_root = "recordings",
    };
    const struct pl_opt opts[] = {
        {"listen-ip", "PARLEY_LISTEN_IP", PL_OPT_STR, &node.cfg.listen_ip, "HTTP/WebSocket address"},
        {"http-port", "PARLEY_HTTP_PORT", PL_OPT_INT, &node.cfg.http_port, "HTTP/WebSocket port"},
        {"media-ip", "PARLEY_MEDIA_IP", PL_OPT_STR, &node.cfg.media_ip, "UDP media address"},
        {"announce-ip", "PARLEY_ANNOUNCE_IP", PL_OPT_STR, &node.cfg.announce_ip,
         "address given to clients in ICE candidates (default: media-ip)"},
        {"media-port", "PARLEY_MEDIA_PORT", PL_OPT_INT, &node.cfg.media_port,
         "first UDP port; worker i uses media-port + i"},
        {"workers", "PARLEY_WORKERS", PL_OPT_INT, &node.cfg.workers, "media workers (0: one per core)"},
        {"web-root", "PARLEY_WEB_ROOT", PL_OPT_STR, &node.cfg.web_root, "folder served at /"},
        {"log-level", "PARLEY_LOG_LEVEL", PL_OPT_STR, &node.cfg.log_level, "debug, info, warn, error"},
        {"consent-timeout-ms", "PARLEY_CONSENT_TIMEOUT_MS", PL_OPT_INT,
         &node.cfg.consent_timeout_ms, "a peer with no valid STUN for this long is dropped"},
        {"max-message-bytes", "PARLEY_MAX_MESSAGE_BYTES", PL_OPT_INT,
         &node.cfg.max_message_bytes, "largest signaling message accepted"},
        {"max-slots", "PARLEY_MAX_SLOTS", PL_OPT_INT, &node.cfg.max_slots,
         "video (and audio) receive slots per participant"},
        {"congestion-feedback", "PARLEY_CONGESTION_FEEDBACK", PL_OPT_STR,
         &node.cfg.congestion_feedback,
         "twcc: transport-cc feedback (REMB to clients without it); remb: offer REMB only"},
        {"drop-rate", "PARLEY_DROP_RATE", PL_OPT_STR, &node.cfg.drop_rate,
         "test aid: fraction of datagrams dropped at random, inbound and outbound"},
        {"token-secret", "PARLEY_TOKEN_SECRET", PL_OPT_STR, &node.cfg.token_secret,
         "HS256 key of join tokens (default: random, so only this process can mint them)"},
        {"dev-token-endpoint", "PARLEY_DEV_TOKEN_ENDPOINT", PL_OPT_BOOL,
         &node.cfg.dev_token_endpoint, "serve GET /dev/token (development only: anyone gets a token)"},
        {"control-url", "PARLEY_CONTROL_URL", PL_OPT_STR, &node.cfg.control_url,
         "control plane base URL for callbacks such as POST /meetings/{id}/end"},
        {"control-key", "PARLEY_CONTROL_KEY", PL_OPT_STR, &node.cfg.control_key,
         "bearer key sent with control plane callbacks"},
        {"node-name", "PARLEY_NODE_NAME", PL_OPT_STR, &node.cfg.node_name,
         "name the node registers under with the control plane (default node-<ip>-<port>)"},
        {"public-url", "PARLEY_PUBLIC_URL", PL_OPT_STR, &node.cfg.public_url,
         "WebSocket URL clients reach the node at, told to the control plane (default ws://listen-ip:http-port/)"},
        {"max-participants", "PARLEY_MAX_PARTICIPANTS", PL_OPT_INT, &node.cfg.max_participants,
         "participants per meeting (the recorder not counted)"},
        {"recordings-root", "PARLEY_RECORDINGS_ROOT", PL_OPT_STR, &node.cfg.recordings_root,
         "folder of recordings; interrupted ones found there are finished at start"},
        {"test-downlink-kbps", "PARLEY_TEST_DOWNLINK_KBPS", PL_OPT_INT, &node.cfg.test_downlink_kbps,
         "test aid: cap what each peer is sent, as a thin downlink would (0: off)"},
    };
    const size_t n = sizeof opts / sizeof opts[0];
    char err[256];
    bool help = false;
    int rest;
    if (pl_config_parse(opts, n, argc, argv, 1, &rest, &help, err, sizeof err) != 0) {
        fprintf(stderr, "parley-node: %s\n", err);
        return -1;
    }
    if (help) {
        pl_config_usage(opts, n, "parley-node", "Parley router node");
        exit(0);
    }
    if (rest < argc) {
        fprintf(stderr, "parley-node: unexpected argument '%s'\n", argv[rest]);
        return -1;
    }
    int level = pl_log_level_parse(node.cfg.log_level);
    if (level < 0) {
        fprintf(stderr, "parley-node: unknown log level '%s'\n", node.cfg.log_level);
        return -1;
    }
    pl_log_set_level((enum pl_log_level)level);
    if (node.cfg.http_port <= 0 || node.cfg.http_port > 65535 || node.cfg.media_port <= 0 ||
        node.cfg.media_port > 65535 || node.cfg.workers < 0 || node.cfg.workers > 256 ||
        node.cfg.max_slots < 0 || node.cfg.max_slots > 50 || node.cfg.max_message_bytes < 1024 ||
        node.cfg.max_participants < 1) {
        fprintf(stderr, "parley-node: a port, --workers, --max-slots (0..50), "
                        "--max-participants or --max-message-bytes is out of range\n");
        return -1;
    }
    if (node.cfg.workers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        node.cfg.workers = cores > 0 ? (int)cores : 1;
    }
    if (!*node.cfg.token_secret) {
        static char secret[65];
        uint8_t rnd[32];
        RAND_bytes(rnd, sizeof rnd);
        for (int i = 0; i < 32; i++)
            snprintf(secret + 2 * i, 3, "%02x", rnd[i]);
        node.cfg.token_secret = secret;
        PL_WARN("node", "no --token-secret: using a random one, so only this node's "
                        "/dev/token (if enabled) can mint tokens it accepts");
    }
    if (node.cfg.media_port + node.cfg.workers - 1 > 65535) {
        fprintf(stderr, "parley-node: media ports run past 65535\n");
        return -1;
    }
    return 0;
}

/* `parley-node token ...`: mints a join token for development and tests. */
static int token_command(int argc, char **argv)
{
    const char *secret = "", *meeting = "", *account = "", *tenant = "default", *role = "participant";
    int ttl = 3600;
    const struct pl_opt opts[] = {
        {"secret", "PARLEY_TOKEN_SECRET", PL_OPT_STR, &secret, "HS256 key (the node's --token-secret)"},
        {"meeting", NULL, PL_OPT_STR, &meeting, "meeting id"},
        {"account", NULL, PL_OPT_STR, &account, "account id"},
        {"tenant", NULL, PL_OPT_STR, &tenant, "tenant id"},
        {"role", NULL, PL_OPT_STR, &role, "host, participant or recorder"},
        {"ttl", NULL, PL_OPT_INT, &ttl, "seconds until it expires (may be negative, for tests)"},
    };
    const size_t n = sizeof opts / sizeof opts[0];
    char err[256];
    bool help = false;
    int rest;
    if (pl_config_parse(opts, n, argc, argv, 2, &rest, &help, err, sizeof err) != 0) {
        fprintf(stderr, "parley-node token: %s\n", err);
        return 2;
    }
    if (help) {
        pl_config_usage(opts, n, "parley-node token", "Mint a join token");
        return 0;
    }
    int r = pl_role_parse(role);
    if (!*secret || !*meeting || !*account || r < 0 || rest < argc) {
        fprintf(stderr, "parley-node token: needs --secret, --meeting, --account and a --role of "
                        "host, participant or recorder\n");
        return 2;
    }
    struct pl_token t = {.role = (enum pl_role)r};
    snprintf(t.meeting_id, sizeof t.meeting_id, "%s", meeting);
    snprintf(t.account_id, sizeof t.account_id, "%s", account);
    snprintf(t.tenant_id, sizeof t.tenant_id, "%s", tenant);
    t.iat = (int64_t)time(NULL);
    t.exp = t.iat + ttl;
    char *tok = pl_token_mint((const uint8_t *)secret, strlen(secret), &t);
    if (!tok) {
        fprintf(stderr, "parley-node token: cannot mint (ids of 1 to 128 characters?)\n");
        return 1;
    }
    printf("%s\n", tok);
    free(tok);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_command(argc, argv);
    if (parse_config(argc, argv) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    node.loop = uv_default_loop();
    if (pl_srtp_global_init() != 0) {
        PL_ERROR("node", "libsrtp2 initialisation failed");
        return 1;
    }
    node.dtls = pl_dtls_ctx_new(node.fingerprint);
    if (!node.dtls) {
        PL_ERROR("node", "cannot create the DTLS certificate");
        goto out_srtp;
    }
    PL_INFO("node", "DTLS certificate sha-256 %s", node.fingerprint);
    if (pl_mailbox_init(&node.events, node.loop, on_worker_event, NULL) != 0)
        goto out_dtls;
    node.workers = calloc((size_t)node.cfg.workers, sizeof *node.workers);
    if (!node.workers)
        goto out_dtls;
    double drop = atof(node.cfg.drop_rate);
    for (int i = 0; i < node.cfg.workers; i++) {
        struct pl_worker_config wc = {
            .index = i,
            .bind_ip = node.cfg.media_ip,
            .port = (uint16_t)(node.cfg.media_port + i),
            .dtls_template = node.dtls,
            .events = &node.events,
            .consent_timeout_ms = node.cfg.consent_timeout_ms,
            .drop_rate = drop,
            .test_downlink_kbps = node.cfg.test_downlink_kbps,
        };
        node.workers[i] = pl_worker_start(&wc);
        if (!node.workers[i])
            goto out_workers;
        node.n_workers++;
    }
    node.sig = pl_signaling_start(&node);
    if (!node.sig)
        goto out_workers;
    uv_timer_init(node.loop, &dc_tick);
    uv_timer_start(&dc_tick, on_dc_tick, 10, 10);
    uv_signal_init(node.loop, &sig_term);
    uv_signal_init(node.loop, &sig_int);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    PL_INFO("node", "ready: http://%s:%d/ with %d media workers on udp %s:%d-%d",
            node.cfg.listen_ip, node.cfg.http_port, node.n_workers, node.cfg.media_ip,
            node.cfg.media_port, node.cfg.media_port + node.n_workers - 1);
    uv_run(node.loop, UV_RUN_DEFAULT);
    rc = 0;
    pl_signaling_free(node.sig);
    node.sig = NULL;
out_workers:
    for (int i = 0; i < node.n_workers; i++)
        pl_worker_stop(node.workers[i]);
    free(node.workers);
    if (rc != 0) {
        pl_mailbox_close(&node.events);
        uv_walk(node.loop, close_walk, NULL);
        uv_run(node.loop, UV_RUN_DEFAULT);
    }
out_dtls:
    pl_dtls_ctx_free(node.dtls);
out_srtp:
    pl_srtp_global_shutdown();
    if (uv_loop_close(node.loop) != 0)
        PL_WARN("node", "main loop still had handles at exit");
    PL_INFO("node", "exit %d", rc);
    return rc;
}
