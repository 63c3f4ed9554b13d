/* parley-control: the control plane. Applies the migrations, opens the PostgreSQL pool and
 * serves the HTTP JSON API on 127.0.0.1 until SIGINT/SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "parley/config.h"
#include "parley/log.h"

static void on_signal(uv_signal_t *s, int signum)
{
    struct ctl *c = s->data;
    PL_INFO("control", "signal %d: stopping", signum);
    ctl_http_close(c);
    uv_stop(c->loop);
}

static int parse_flags(struct ctl *c, int argc, char **argv)
{
    struct pl_ctl_config *cfg = &c->cfg;
    const char *log_level = "info";
    cfg->db_url = "";
    cfg->listen_ip = "127.0.0.1";
    cfg->port = 8088;
    cfg->token_secret = "";
    cfg->node_key = "";
    cfg->recordings_root = "recordings";
    cfg->url_secret = "";
    cfg->public_url = "";
    cfg->db_pool = 4;
    cfg->node_timeout_s = 10;
    cfg->auth_ttl_s = 86400;
    cfg->join_ttl_s = 3600;
    cfg->download_ttl_s = 900;
    cfg->max_body = 65536;
    cfg->scrypt_n = 16384;
    cfg->recording_stale_s = 600;
    cfg->node_lost_s = 120;
    cfg->meeting_retention_s = 3600;
    cfg->smtp_url = "";
    cfg->mail_from = "parley@localhost";
    cfg->outbox_interval_ms = 500;
    cfg->outbox_backoff_ms = 1000;
    cfg->outbox_max_attempts = 12;
    cfg->idle_timeout_s = 30;
    cfg->rate_ip = 200;
    cfg->rate_key = 100;
    cfg->web_root = PL_DEFAULT_WEB_ROOT;
    const struct pl_opt opts[] = {
        {"database-url", "PARLEY_DATABASE_URL", PL_OPT_STR, &cfg->db_url,
         "libpq connection string or postgresql:// URL (required)"},
        {"listen-ip", "PARLEY_CONTROL_LISTEN_IP", PL_OPT_STR, &cfg->listen_ip, "HTTP address"},
        {"port", "PARLEY_CONTROL_PORT", PL_OPT_INT, &cfg->port, "HTTP port"},
        {"token-secret", "PARLEY_TOKEN_SECRET", PL_OPT_STR, &cfg->token_secret,
         "HS256 key of join tokens (the nodes' --token-secret; required)"},
        {"node-key", "PARLEY_NODE_KEY", PL_OPT_STR, &cfg->node_key,
         "key nodes present as Authorization: Bearer (their --control-key; required)"},
        {"recordings-root", "PARLEY_RECORDINGS_ROOT", PL_OPT_STR, &cfg->recordings_root,
         "folder of <tenant>/<conference>/<session>/<recording>.mp4"},
        {"url-secret", "PARLEY_URL_SECRET", PL_OPT_STR, &cfg->url_secret,
         "HMAC key of signed download URLs (required)"},
        {"public-url", "PARLEY_PUBLIC_URL", PL_OPT_STR, &cfg->public_url,
         "base of download links (default http://<listen-ip>:<port>)"},
        {"db-pool", "PARLEY_DB_POOL", PL_OPT_INT, &cfg->db_pool, "PostgreSQL connections"},
        {"node-timeout", "PARLEY_NODE_TIMEOUT", PL_OPT_INT, &cfg->node_timeout_s,
         "seconds without heartbeat after which a node gets no meetings"},
        {"auth-ttl", "PARLEY_AUTH_TTL", PL_OPT_INT, &cfg->auth_ttl_s, "login token lifetime, s"},
        {"join-ttl", "PARLEY_JOIN_TTL", PL_OPT_INT, &cfg->join_ttl_s, "join token lifetime, s"},
        {"download-ttl", "PARLEY_DOWNLOAD_TTL", PL_OPT_INT, &cfg->download_ttl_s,
         "signed download URL lifetime, s"},
        {"max-body", "PARLEY_MAX_BODY", PL_OPT_INT, &cfg->max_body, "largest request body, bytes"},
        {"scrypt-n", "PARLEY_SCRYPT_N", PL_OPT_INT, &cfg->scrypt_n,
         "scrypt cost N of new password hashes (power of two)"},
        {"recording-stale", "PARLEY_RECORDING_STALE", PL_OPT_INT, &cfg->recording_stale_s,
         "seconds without progress after which a recording is aborted"},
        {"node-lost", "PARLEY_NODE_LOST", PL_OPT_INT, &cfg->node_lost_s,
         "seconds without heartbeat after which a node's live meetings are ended"},
        {"meeting-retention", "PARLEY_MEETING_RETENTION", PL_OPT_INT, &cfg->meeting_retention_s,
         "seconds an ended meeting is kept once no recording of it is pending (then deleted)"},
        {"smtp-url", "PARLEY_SMTP_URL", PL_OPT_STR, &cfg->smtp_url,
         "smtp://host:port of the mail relay for recording e-mails (none: no e-mail)"},
        {"mail-from", "PARLEY_MAIL_FROM", PL_OPT_STR, &cfg->mail_from, "sender address"},
        {"outbox-interval-ms", "PARLEY_OUTBOX_INTERVAL_MS", PL_OPT_INT,
         &cfg->outbox_interval_ms, "how often the outbox is polled (0: this instance delivers nothing)"},
        {"outbox-backoff-ms", "PARLEY_OUTBOX_BACKOFF_MS", PL_OPT_INT, &cfg->outbox_backoff_ms,
         "first retry delay of a failed delivery (doubles each attempt, jittered)"},
        {"outbox-max-attempts", "PARLEY_OUTBOX_MAX_ATTEMPTS", PL_OPT_INT,
         &cfg->outbox_max_attempts, "attempts before a delivery is given up"},
        {"idle-timeout", "PARLEY_IDLE_TIMEOUT", PL_OPT_INT, &cfg->idle_timeout_s,
         "seconds after which a connection without a request in progress is closed"},
        {"rate-ip", "PARLEY_RATE_IP", PL_OPT_INT, &cfg->rate_ip,
         "requests per second per client address, burst twice that (0: no limit)"},
        {"rate-key", "PARLEY_RATE_KEY", PL_OPT_INT, &cfg->rate_key,
         "requests per second per token or API key, burst twice that (0: no limit)"},
        {"web-root", "PARLEY_WEB_ROOT", PL_OPT_STR, &cfg->web_root,
         "folder of the meeting web app served at / (\"\": none)"},
        {"log-level", "PARLEY_LOG_LEVEL", PL_OPT_STR, &log_level, "debug, info, warn, error"},
    };
    size_t n = sizeof opts / sizeof opts[0];
    int rest = 0;
    bool help = false;
    char err[256];
    if (pl_config_parse(opts, n, argc, argv, 1, &rest, &help, err, sizeof err) != 0) {
        fprintf(stderr, "parley-control: %s\n", err);
        return -1;
    }
    if (help) {
        pl_config_usage(opts, n, "parley-control", "the Parley control plane");
        return 1;
    }
    int lvl = pl_log_level_parse(log_level);
    if (lvl < 0) {
        fprintf(stderr, "parley-control: unknown log level %s\n", log_level);
        return -1;
    }
    pl_log_set_level((enum pl_log_level)lvl);
    const char *missing = !*cfg->db_url         ? "--database-url"
                          : !*cfg->token_secret ? "--token-secret"
                          : !*cfg->node_key     ? "--node-key"
                          : !*cfg->url_secret   ? "--url-secret"
                                                : NULL;
    if (missing) {
        fprintf(stderr, "parley-control: %s is required\n", missing);
        return -1;
    }
    if (cfg->port < 0 || cfg->port > 65535 || cfg->db_pool < 1 || cfg->db_pool > 64 ||
        cfg->node_timeout_s < 1 || cfg->auth_ttl_s < 1 || cfg->join_ttl_s < 1 ||
        cfg->download_ttl_s < 1 || cfg->recording_stale_s < 1 || cfg->node_lost_s < 1 ||
        cfg->meeting_retention_s < 0 ||
        (cfg->outbox_interval_ms < 10 && cfg->outbox_interval_ms != 0) || cfg->outbox_backoff_ms < 1 ||
        cfg->outbox_max_attempts < 1 || cfg->rate_ip < 0 || cfg->idle_timeout_s < 1 || cfg->rate_key < 0 || cfg->max_body < 1024 || cfg->scrypt_n < 2 ||
        (cfg->scrypt_n & (cfg->scrypt_n - 1))) {
        fprintf(stderr, "parley-control: a numeric flag is out of range\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ctl c;
    memset(&c, 0, sizeof c);
    int rc = parse_flags(&c, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    signal(SIGPIPE, SIG_IGN);

    char err[512], public_url[300];
    if (pl_db_migrate(c.cfg.db_url, err, sizeof err) != 0) {
        PL_ERROR("control", "migrations: %s", err);
        return 1;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    c.loop = &loop;
    c.db = pl_db_open(&loop, c.cfg.db_url, c.cfg.db_pool, err, sizeof err);
    if (!c.db) {
        PL_ERROR("control", "database: %s", err);
        uv_loop_close(&loop);
        return 1;
    }
    uv_signal_t sigint, sigterm;
    uv_signal_init(&loop, &sigint);
    uv_signal_init(&loop, &sigterm);
    sigint.data = sigterm.data = &c;
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);

    if (ctl_http_listen(&c) != 0) {
        rc = 1;
    } else {
        /* The port actually bound (--port 0 picks one): tests read this line. */
        struct sockaddr_in a;
        int len = sizeof a;
        uv_tcp_getsockname(&c.server, (struct sockaddr *)&a, &len);
        if (!*c.cfg.public_url) {
            snprintf(public_url, sizeof public_url, "http://%s:%d", c.cfg.listen_ip,
                     ntohs(a.sin_port));
            c.cfg.public_url = public_url;
        }
        printf("parley-control listening on %s:%d\n", c.cfg.listen_ip, ntohs(a.sin_port));
        PL_INFO("control", "listening on http://%s:%d", c.cfg.listen_ip, ntohs(a.sin_port));
        fflush(stdout);
        ctl_housekeeping_start(&c);
        ctl_outbox_start(&c);
        uv_run(&loop, UV_RUN_DEFAULT);
        ctl_housekeeping_stop(&c);
        ctl_outbox_stop(&c);
    }
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sigterm, NULL);
    if (rc == 0) {
        /* Requests and deliveries in flight finish (bounded by their timeouts) and record
         * their results while the pool is still open. */
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    /* Shutdown: fail queued statements (their handlers reply to closed connections), close
     * everything, let the close callbacks run. */
    pl_db_close(c.db);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    ctl_outbox_cleanup();
    return rc;
}
