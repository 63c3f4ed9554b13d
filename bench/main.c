/* parley-bench: the load harness (docs/bench.md). `parley-bench [flags]` runs a scenario
 * against a running parley-node (--url with --token-secret or --dev-token) or one it starts
 * (--spawn-node PATH); `parley-bench limit` measures the floor: srtp_protect + sendmmsg alone.
 * Exit status 0 when every client reached media and the node's figures were read, 1 when not,
 * 2 on bad flags. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parley/bench.h"
#include "parley/client.h"
#include "parley/config.h"
#include "parley/log.h"
#include "parley/time.h"
#include "parley/token.h"

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static double mono_s(void) { return (double)pl_now_us() / 1e6; }

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void node_sample(pid_t pid, const char *metrics_url, struct pl_bench_node_sample *s)
{
    memset(s, 0, sizeof *s);
    s->wall_s = mono_s();
    struct pl_bench_proc p = pl_bench_proc_read(pid);
    s->proc_ok = p.ok;
    s->cpu_us = p.cpu_us;
    s->rss_kb = p.rss_kb;
    s->main_cpu_us = p.main_cpu_us;
    size_t len;
    char *body = metrics_url ? pl_bench_http_get(metrics_url, &len) : NULL;
    if (body)
        s->metrics_ok = pl_bench_metric_sum(body, len, "parley_forwarded_rtp_total", &s->forwarded) == 0;
    free(body);
}

/* The node publishes its worker counters to /metrics once a second (sfu/worker.c tick): wait
 * for the next change so that a window edge falls just after it, not up to a second late. */
static void align_to_node_tick(const char *metrics_url)
{
    struct pl_bench_node_sample s;
    node_sample(0, metrics_url, &s);
    if (!s.metrics_ok)
        return;
    double first = s.forwarded, until = mono_s() + 1.5;
    while (mono_s() < until) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        node_sample(0, metrics_url, &s);
        if (!s.metrics_ok || s.forwarded != first)
            return;
    }
}

/* "ws://host:port/ws" -> "http://host:port". */
static int http_base_of(const char *url, char *out, size_t cap)
{
    const char *p = strncmp(url, "ws://", 5) == 0 ? url + 5 : NULL;
    if (!p)
        return -1;
    size_t hostlen = strcspn(p, "/");
    return snprintf(out, cap, "http://%.*s", (int)hostlen, p) < (int)cap ? 0 : -1;
}

static char *get_token(const struct pl_bench_cfg *cfg, const char *secret, const char *http_base,
                       int meeting, const char *account, bool host)
{
    char mid[96];
    snprintf(mid, sizeof mid, "%s-%d", cfg->meeting_prefix, meeting);
    if (secret) {
        struct pl_token t = {.role = host ? PL_ROLE_HOST : PL_ROLE_PARTICIPANT};
        snprintf(t.meeting_id, sizeof t.meeting_id, "%s", mid);
        snprintf(t.account_id, sizeof t.account_id, "%s", account);
        snprintf(t.tenant_id, sizeof t.tenant_id, "default");
        t.iat = (int64_t)time(NULL);
        t.exp = t.iat + 3600;
        return pl_token_mint((const uint8_t *)secret, strlen(secret), &t);
    }
    char url[512];
    snprintf(url, sizeof url, "%s/dev/token?meeting=%s&account=%s&role=%s", http_base, mid, account,
             host ? "host" : "participant");
    size_t len;
    char *body = pl_bench_http_get(url, &len);
    char *tok = body ? pl_bench_parse_dev_token(body, len) : NULL;
    free(body);
    return tok;
}

static int count_state(const struct pl_bench_counts *c, int n, int state)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += c[i].state == state;
    return k;
}

static void progress(double t, const char *phase, const struct pl_bench_counts *now,
                     const struct pl_bench_counts *prev, int n, const struct pl_bench_node_sample *ns,
                     const struct pl_bench_node_sample *ps)
{
    uint64_t rx = 0, lost = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        rx += now[i].rx_packets - prev[i].rx_packets;
        lost += now[i].rx_lost >= prev[i].rx_lost ? now[i].rx_lost - prev[i].rx_lost : 0;
        bytes += now[i].rx_bytes - prev[i].rx_bytes;
    }
    double dt = ns->wall_s - ps->wall_s;
    if (dt <= 0)
        dt = 1;
    fprintf(stderr, "[%5.1fs %-7s] %d joined, %d media, %d failed of %d | rx %.0f pkt/s %.2f Mbit/s "
            "loss %.2f%%", t, phase, n - count_state(now, n, PL_CLIENT_CONNECTING) - count_state(now, n, PL_CLIENT_FAILED),
            count_state(now, n, PL_CLIENT_MEDIA), count_state(now, n, PL_CLIENT_FAILED), n,
            (double)rx / dt, (double)bytes * 8 / dt / 1e6, rx + lost ? 100.0 * (double)lost / (double)(rx + lost) : 0);
    if (ns->proc_ok && ps->proc_ok)
        fprintf(stderr, " | node %.0f%% CPU, %.0f MB", 100.0 * (double)(ns->cpu_us - ps->cpu_us) / 1e6 / dt,
                (double)ns->rss_kb / 1024);
    if (ns->metrics_ok && ps->metrics_ok)
        fprintf(stderr, ", fwd %.0f/s", (ns->forwarded - ps->forwarded) / dt);
    fprintf(stderr, "\n");
}

static void sleep_until(double t)
{
    double now = mono_s();
    if (t <= now)
        return;
    struct timespec ts = {(time_t)(t - now), (long)((t - now - (double)(time_t)(t - now)) * 1e9)};
    nanosleep(&ts, NULL);
}

static int run_limit(double seconds, int size, int batch, int sessions, bool json)
{
    struct pl_bench_limit l;
    if (pl_bench_limit_run(seconds, (size_t)size, batch, sessions, &l) != 0) {
        fprintf(stderr, "parley-bench limit: failed\n");
        return 1;
    }
    if (json)
        printf("{\"limit\":{\"packets\":%llu,\"packet_size\":%zu,\"batch\":%d,\"sessions\":%d,"
               "\"protect_ns\":%.1f,\"send_ns\":%.1f,\"both_ns\":%.1f}}\n", (unsigned long long)l.packets,
               l.packet_size, l.batch, l.sessions, l.protect_ns, l.send_ns, l.both_ns);
    else
        printf("limit (%zu-byte RTP, AEAD_AES_128_GCM over %d session(s), sendmmsg batches of %d to "
               "127.0.0.1, CPU time):\n"
               "  srtp_protect alone        %8.1f ns/packet\n"
               "  sendmmsg alone            %8.1f ns/packet\n"
               "  protect + sendmmsg        %8.1f ns/packet = %.2f us, %.0f packets per CPU-second\n",
               l.packet_size, l.sessions, l.batch, l.protect_ns, l.send_ns, l.both_ns, l.both_ns / 1000,
               1e9 / l.both_ns);
    return 0;
}

int main(int argc, char **argv)
{
    struct pl_bench_cfg cfg = {
        .meeting_prefix = "bench", .meetings = 1, .publishers = 1, .subscribers = 3,
        .pubs_subscribe = true, .layer = 1, .send_bitrate = 1200000, .fps = 30, .ramp = 20,
        .duration = 10, .warmup = 2, .threads = 1, .full_per_meeting = 1,
    };
    const char *secret = NULL, *spawn = NULL, *metrics_url = NULL, *layer = "middle";
    const char *log_level = "warn", *node_log = "/tmp/parley-bench-node.log";
    const char *target = "parley", *janus_bin = "/usr/bin/janus", *janus_ip = "127.0.0.2";
    const char *janus_log = "/tmp/parley-bench-janus.log";
    int node_pid = 0, node_workers = 1, settle = 30, limit_seconds = 0, packet_size = 1000;
    int batch = 32, max_participants = 0, limit_sessions = 1;
    int ramp = 20, janus_loops = 0;
    bool dev_token = false, json = false, no_pub_sub = false;
    const struct pl_opt opts[] = {
        {"target", "PARLEY_BENCH_TARGET", PL_OPT_STR, &target, "parley (a parley-node) or janus (Janus VideoRoom, started by the harness; run inside bench/janus_netns.sh)"},
        {"janus-bin", "PARLEY_JANUS_BIN", PL_OPT_STR, &janus_bin, "--target janus: the janus binary"},
        {"janus-ip", "PARLEY_JANUS_IP", PL_OPT_STR, &janus_ip, "--target janus: Janus' address (WebSocket and ICE) and the clients' (a non-loopback interface's)"},
        {"janus-log", "PARLEY_JANUS_LOG", PL_OPT_STR, &janus_log, "--target janus: Janus' log file"},
        {"janus-incremental", "PARLEY_JANUS_INCREMENTAL", PL_OPT_BOOL, &cfg.janus_incremental, "--target janus: subscribe to each publisher as it gets media (renegotiations) instead of to all at once"},
        {"janus-event-loops", "PARLEY_JANUS_EVENT_LOOPS", PL_OPT_INT, &janus_loops, "--target janus: Janus' event_loops (0: its default, a thread per handle)"},
        {"url", "PARLEY_URL", PL_OPT_STR, &cfg.url, "the node's signaling WebSocket (without --spawn-node)"},
        {"token-secret", "PARLEY_TOKEN_SECRET", PL_OPT_STR, &secret, "mint join tokens with the node's --token-secret"},
        {"dev-token", "PARLEY_DEV_TOKEN", PL_OPT_BOOL, &dev_token, "get join tokens from the node's /dev/token instead"},
        {"spawn-node", "PARLEY_SPAWN_NODE", PL_OPT_STR, &spawn, "start this parley-node binary on free 127.0.0.1 ports"},
        {"node-workers", "PARLEY_NODE_WORKERS", PL_OPT_INT, &node_workers, "--workers of the spawned node"},
        {"node-log", "PARLEY_NODE_LOG", PL_OPT_STR, &node_log, "the spawned node's log file"},
        {"max-participants", "PARLEY_MAX_PARTICIPANTS", PL_OPT_INT, &max_participants, "--max-participants of the spawned node (default: enough)"},
        {"node-pid", "PARLEY_NODE_PID", PL_OPT_INT, &node_pid, "pid of a running node (for its CPU and RSS)"},
        {"metrics-url", "PARLEY_METRICS_URL", PL_OPT_STR, &metrics_url, "the node's /metrics (default: from --url)"},
        {"meetings", "PARLEY_BENCH_MEETINGS", PL_OPT_INT, &cfg.meetings, "meetings"},
        {"publishers", "PARLEY_BENCH_PUBLISHERS", PL_OPT_INT, &cfg.publishers, "publishers per meeting (synthetic simulcast)"},
        {"subscribers", "PARLEY_BENCH_SUBSCRIBERS", PL_OPT_INT, &cfg.subscribers, "subscribers per meeting (publish nothing)"},
        {"no-publisher-subscribe", "PARLEY_BENCH_NO_PUBLISHER_SUBSCRIBE", PL_OPT_BOOL, &no_pub_sub, "publishers do not subscribe to each other"},
        {"layer", "PARLEY_BENCH_LAYER", PL_OPT_STR, &layer, "layer subscribers ask for: low, middle or top"},
        {"bitrate", "PARLEY_BITRATE", PL_OPT_INT, &cfg.sub_bitrate, "bitrate asked in SUBSCRIBE (default: from --layer)"},
        {"send-bitrate", "PARLEY_SEND_BITRATE", PL_OPT_INT, &cfg.send_bitrate, "publishers' top layer (bps; layers 10/30/100%)"},
        {"fps", "PARLEY_FPS", PL_OPT_INT, &cfg.fps, "publishers' frames per second"},
        {"audio", "PARLEY_AUDIO", PL_OPT_BOOL, &cfg.audio, "publishers send audio too (50 packets/s)"},
        {"ramp", "PARLEY_BENCH_RAMP", PL_OPT_INT, &ramp, "joins per second"},
        {"duration", "PARLEY_DURATION", PL_OPT_INT, &cfg.duration, "seconds of the measurement window"},
        {"warmup", "PARLEY_BENCH_WARMUP", PL_OPT_INT, &cfg.warmup, "seconds from everyone-has-media to the window"},
        {"settle-timeout", "PARLEY_BENCH_SETTLE_TIMEOUT", PL_OPT_INT, &settle, "seconds after the last join to wait for media"},
        {"threads", "PARLEY_BENCH_THREADS", PL_OPT_INT, &cfg.threads, "client loops (one thread each)"},
        {"full-subscribers", "PARLEY_BENCH_FULL_SUBSCRIBERS", PL_OPT_INT, &cfg.full_per_meeting, "subscribers per meeting that decrypt and measure delay (others count only)"},
        {"meeting-prefix", "PARLEY_BENCH_MEETING_PREFIX", PL_OPT_STR, &cfg.meeting_prefix, "meeting ids PREFIX-0.."},
        {"local-ip", "PARLEY_LOCAL_IP", PL_OPT_STR, &cfg.local_ip, "clients' ICE host candidate address"},
        {"limit-seconds", "PARLEY_BENCH_LIMIT_SECONDS", PL_OPT_INT, &limit_seconds, "limit mode length (also run after a scenario when > 0)"},
        {"packet-size", "PARLEY_BENCH_PACKET_SIZE", PL_OPT_INT, &packet_size, "limit mode: RTP packet size"},
        {"batch", "PARLEY_BENCH_BATCH", PL_OPT_INT, &batch, "limit mode: packets per sendmmsg"},
        {"sessions", "PARLEY_BENCH_SESSIONS", PL_OPT_INT, &limit_sessions, "limit mode: SRTP sessions (keys) packets go round-robin over"},
        {"json", "PARLEY_BENCH_JSON", PL_OPT_BOOL, &json, "print the results as one JSON object"},
        {"log-level", "PARLEY_LOG_LEVEL", PL_OPT_STR, &log_level, "clients' log level"},
    };
    const struct pl_opt *o2 = opts;
    size_t n_opts = sizeof opts / sizeof opts[0];
    bool limit_mode = argc > 1 && strcmp(argv[1], "limit") == 0;
    char err[256];
    int rest;
    bool help = false;
    if (pl_config_parse(o2, n_opts, argc, argv, limit_mode ? 2 : 1, &rest, &help, err, sizeof err) != 0) {
        fprintf(stderr, "parley-bench: %s\n", err);
        return 2;
    }
    if (help) {
        pl_config_usage(o2, n_opts, "parley-bench [limit]",
                        "load harness for parley-node; `limit`: srtp_protect + sendmmsg alone");
        return 0;
    }
    if (rest != argc) {
        fprintf(stderr, "parley-bench: unexpected argument %s\n", argv[rest]);
        return 2;
    }
    if (limit_mode)
        return run_limit(limit_seconds > 0 ? limit_seconds : 6, packet_size, batch, limit_sessions, json);

    cfg.ramp = ramp;
    cfg.pubs_subscribe = !no_pub_sub;
    cfg.layer = strcmp(layer, "low") == 0 ? 0 : strcmp(layer, "middle") == 0 ? 1
              : strcmp(layer, "top") == 0 ? 2 : -1;
    int lvl = pl_log_level_parse(log_level);
    bool janus = strcmp(target, "janus") == 0;
    if (!janus && strcmp(target, "parley") != 0) {
        fprintf(stderr, "parley-bench: --target must be parley or janus\n");
        return 2;
    }
    cfg.target = janus ? PL_TARGET_JANUS : PL_TARGET_PARLEY;
    if (janus && !cfg.local_ip)
        cfg.local_ip = janus_ip;
    if (cfg.layer < 0 || lvl < 0 || cfg.meetings < 1 || cfg.publishers < 1 || cfg.publishers > 50 ||
        cfg.subscribers < 0 || cfg.ramp < 1 || cfg.duration < 1 || cfg.warmup < 0 || cfg.threads < 1 ||
        cfg.threads > 64 || cfg.full_per_meeting < 0 || cfg.send_bitrate < 10000 || cfg.fps < 1 ||
        node_workers < 1 || (!janus && !spawn && (!cfg.url || !(secret || dev_token)))) {
        fprintf(stderr, "parley-bench: need --spawn-node PATH, or --url with --token-secret or "
                "--dev-token; 1..50 publishers, --layer low|middle|top; see --help\n");
        return 2;
    }
    if (!cfg.sub_bitrate)
        cfg.sub_bitrate = pl_bench_layer_bitrate(cfg.layer, cfg.send_bitrate);
    pl_log_set_level((enum pl_log_level)lvl);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    struct pl_bench_node node = {0};
    char http_base[128] = "";
    int n = pl_bench_plan_size(&cfg);
    if (janus) {
        if (pl_bench_janus_spawn(&node, janus_bin, janus_ip, janus_loops, janus_log) != 0)
            return 1;
        cfg.url = node.url;
        metrics_url = NULL; /* Janus has no /metrics: forwarded = received + lost (report.c) */
        node_log = janus_log;
        fprintf(stderr, "parley-bench: Janus pid %d at %s (log %s, config %s)\n", (int)node.pid,
                node.url, janus_log, node.conf_dir);
    } else if (spawn) {
        int mx = max_participants > 0 ? max_participants : cfg.publishers + cfg.subscribers + 1;
        if (pl_bench_node_spawn(&node, spawn, node_workers, mx, node_log) != 0)
            return 1;
        cfg.url = node.url;
        secret = node.secret;
        metrics_url = node.metrics_url;
        snprintf(http_base, sizeof http_base, "%s", node.http_base);
        fprintf(stderr, "parley-bench: node pid %d at %s (log %s)\n", (int)node.pid, node.url, node_log);
    } else {
        node.pid = node_pid;
        if (http_base_of(cfg.url, http_base, sizeof http_base) != 0) {
            fprintf(stderr, "parley-bench: --url must be ws://host:port/path\n");
            return 2;
        }
        static char murl[160];
        if (!metrics_url) {
            snprintf(murl, sizeof murl, "%s/metrics", http_base);
            metrics_url = murl;
        }
    }

    int status = 1;
    char **tokens = calloc((size_t)n, sizeof *tokens);
    struct pl_bench_counts *snap[4];
    for (int i = 0; i < 4; i++)
        snap[i] = calloc((size_t)n, sizeof *snap[i]);
    struct pl_bench_fleet *fleet = NULL;
    if (!tokens || !snap[0] || !snap[1] || !snap[2] || !snap[3])
        goto out;
    for (int i = 0; i < n && !janus; i++) { /* Janus' rooms need no token */
        int m;
        bool pub, host;
        char account[64];
        pl_bench_plan(&cfg, i, &m, &pub, &host, account, sizeof account);
        tokens[i] = get_token(&cfg, secret, http_base, m, account, host);
        if (!tokens[i]) {
            fprintf(stderr, "parley-bench: no join token for %s (%s)\n", account,
                    secret ? "minting failed" : "GET /dev/token failed: is --dev-token-endpoint on?");
            goto out;
        }
    }
    fleet = pl_bench_fleet_new(&cfg, tokens);
    if (!fleet || pl_bench_fleet_start(fleet) != 0) {
        fprintf(stderr, "parley-bench: could not start the client loops\n");
        goto out;
    }
    fprintf(stderr, "parley-bench: %d clients on %d thread(s), %d meeting(s)\n", n, cfg.threads, cfg.meetings);

    /* snap[0]/[1]: previous/current progress; snap[2]: window start; snap[3]: window end. */
    struct pl_bench_node_sample prev_ns, cur_ns, win_a, win_b;
    node_sample(node.pid, metrics_url, &prev_ns);
    double t0 = mono_s(), next = t0 + 1, phase_end = 0, cpu_a = 0, cpu_b = 0;
    double all_started_at = 0;
    enum { RAMP, WARMUP, WINDOW, DONE } phase = RAMP;
    static const char *names[] = {"ramp", "warmup", "window", "done"};
    while (phase != DONE) {
        sleep_until(next);
        next += 1;
        pl_bench_fleet_snapshot(fleet, snap[1]);
        /* /metrics costs the node's main thread (a series per stream): inside the window it
         * is read at the edges only, so the figures measure forwarding, not the harness. */
        node_sample(node.pid, phase == WINDOW ? NULL : metrics_url, &cur_ns);
        double now = mono_s();
        progress(now - t0, names[phase], snap[1], snap[0], n, &cur_ns, &prev_ns);
        if (node.spawned && waitpid(node.pid, NULL, WNOHANG) == node.pid) {
            fprintf(stderr, "parley-bench: the node exited during the run; see %s\n", node_log);
            node.pid = 0;
            node.spawned = false;
            goto out;
        }
        if (interrupted && phase != WINDOW) {
            fprintf(stderr, "parley-bench: interrupted before the window\n");
            goto out;
        }
        if (phase == RAMP) {
            bool started = pl_bench_fleet_all_started(fleet);
            if (started && !all_started_at)
                all_started_at = now;
            int settled = count_state(snap[1], n, PL_CLIENT_MEDIA) + count_state(snap[1], n, PL_CLIENT_FAILED) +
                          count_state(snap[1], n, PL_CLIENT_CLOSED);
            /* A host that never joins holds its meeting's clients back: give up on the ramp
             * some time after it should have ended. */
            bool overdue = now - t0 > (double)n / cfg.ramp + 2.0 * settle;
            if ((started && (settled == n || now - all_started_at > settle)) || overdue) {
                if (overdue && settled < n)
                    fprintf(stderr, "parley-bench: %d clients still without media; measuring anyway\n",
                            n - settled);
                phase = WARMUP;
                phase_end = now + cfg.warmup;
            }
        }
        if (phase == WARMUP && now >= phase_end) {
            align_to_node_tick(metrics_url);
            pl_bench_fleet_snapshot(fleet, snap[2]);
            node_sample(node.pid, metrics_url, &win_a);
            cpu_a = self_cpu_s();
            phase = WINDOW;
            phase_end = win_a.wall_s + cfg.duration;
        } else if (phase == WINDOW && (now >= phase_end - 0.6 || interrupted)) {
            align_to_node_tick(metrics_url);
            pl_bench_fleet_snapshot(fleet, snap[3]);
            node_sample(node.pid, metrics_url, &win_b);
            cpu_b = self_cpu_s();
            phase = DONE;
        }
        struct pl_bench_counts *tmp = snap[0];
        snap[0] = snap[1];
        snap[1] = tmp;
        prev_ns = cur_ns;
    }
    struct pl_bench_result r;
    double p50, p99;
    uint64_t dcount;
    struct pl_bench_counts *fin = snap[0];
    pl_bench_fleet_stop(fleet, fin, &p50, &p99, &dcount);
    pl_bench_result_compute(&cfg, snap[2], snap[3], fin, n, &win_a, &win_b, &r);
    r.delay_p50 = p50;
    r.delay_p99 = p99;
    r.delay_count = dcount;
    r.bench_cpu_pct = r.window_s > 0 ? 100 * (cpu_b - cpu_a) / r.window_s : 0;
    pl_bench_node_stop(&node);
    struct pl_bench_limit lim, *limp = NULL;
    if (limit_seconds > 0) {
        if (pl_bench_limit_run(limit_seconds, (size_t)packet_size, batch, limit_sessions, &lim) == 0)
            limp = &lim;
        else
            fprintf(stderr, "parley-bench: the limit run failed\n");
    }
    if (json) {
        pl_bench_print_json(&cfg, &r, limp);
    } else {
        pl_bench_print_table(&cfg, &r);
        if (limp && r.us_per_forwarded > 0)
            printf("%-34s %.2f us/packet; the node costs %.2fx the floor\n", "limit floor (protect+sendmmsg)",
                   limp->both_ns / 1000, r.us_per_forwarded * 1000 / limp->both_ns);
    }
    status = r.media == n && r.failed == 0 && (!node.pid || r.node_metrics || (janus && r.node_proc)) ? 0 : 1;
out:
    pl_bench_fleet_free(fleet);
    pl_bench_node_stop(&node);
    for (int i = 0; tokens && i < n; i++)
        free(tokens[i]);
    free(tokens);
    for (int i = 0; i < 4; i++)
        free(snap[i]);
    return status;
}
