/* parley-bench: the load harness (docs/bench.md). Many parley clients (include/parley/client.h)
 * on a few threads join real meetings on a parley-node, publish synthetic simulcast, subscribe
 * and count; the harness samples the node's /metrics and /proc figures and reports join times,
 * delivered packets, loss, delay and the node's CPU per forwarded packet. */
#ifndef PARLEY_BENCH_H
#define PARLEY_BENCH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- scenario (bench/main.c fills it from flags) ------------------------------------------ */

struct pl_bench_cfg {
    const char *url;            /* signaling WebSocket */
    const char *meeting_prefix; /* meetings are PREFIX-0 .. PREFIX-(M-1) */
    int meetings;
    int publishers;             /* per meeting: publish synthetic simulcast (+ audio) */
    int subscribers;            /* per meeting: publish nothing, subscribe to every publisher */
    bool pubs_subscribe;        /* publishers subscribe to the meeting's other publishers */
    int layer;                  /* 0 low, 1 middle, 2 top: what subscribers ask for */
    int sub_bitrate;            /* bitrate asked for in SUBSCRIBE (derived from layer if 0) */
    int send_bitrate;           /* top layer of each publisher (bps) */
    int fps;
    bool audio;
    double ramp;                /* joins per second */
    int duration;               /* seconds of the measurement window */
    int warmup;                 /* seconds between "everyone has media" and the window */
    int threads;                /* client loops, one thread each */
    int full_per_meeting;       /* subscribers per meeting that decrypt (delay); the rest count only */
    const char *local_ip;
    int target;                 /* enum pl_client_target: parley-node or Janus VideoRoom */
    bool janus_incremental;     /* Janus: subscribe to each publisher as it gets media (Janus
                                   renegotiates each time) instead of to all at once */
};

/* The bitrate a subscriber asks for to get `layer` of a publisher whose top layer is
 * send_bitrate (layers are 10%, 30%, 100% of it: client/sender.c). */
int pl_bench_layer_bitrate(int layer, int send_bitrate);

/* ---- one client's counters at a snapshot --------------------------------------------------- */

struct pl_bench_counts {
    int state;                  /* enum pl_client_state */
    bool publisher, full;       /* full: decrypts (delay measured) */
    int meeting;
    uint64_t join_ms, connect_ms;
    uint64_t tx_layer[3], tx_audio;
    uint64_t rx_packets, rx_video, rx_audio, rx_bytes, rx_lost;
    int subs;                   /* publishers this client subscribed to */
};

/* ---- the clients (bench/fleet.c) ------------------------------------------------------------ */

struct pl_bench_fleet;
/* tokens[i] is client i's join token (see pl_bench_fleet_plan for the order and accounts). */
struct pl_bench_fleet *pl_bench_fleet_new(const struct pl_bench_cfg *cfg, char **tokens);
/* The client order: for i in 0..n-1, its meeting, account and role (host or participant). The
 * hosts of every meeting come first, then publishers, then subscribers, round-robin over
 * meetings. */
int pl_bench_plan_size(const struct pl_bench_cfg *cfg);
void pl_bench_plan(const struct pl_bench_cfg *cfg, int i, int *meeting, bool *publisher,
                   bool *host, char *account, size_t cap);
int pl_bench_fleet_start(struct pl_bench_fleet *f); /* threads start ramping; 0 ok */
/* Copies every client's counters (each thread copies its own on its loop; waits). */
void pl_bench_fleet_snapshot(struct pl_bench_fleet *f, struct pl_bench_counts *out);
int pl_bench_fleet_size(const struct pl_bench_fleet *f);
bool pl_bench_fleet_all_started(struct pl_bench_fleet *f);
/* Every client LEAVEs, the loops stop, the threads end; final counters into out. Delay
 * histograms of the full subscribers are merged into *delay_p50/p99 (ms, -1 if none) and
 * *delay_count. */
void pl_bench_fleet_stop(struct pl_bench_fleet *f, struct pl_bench_counts *out, double *delay_p50,
                         double *delay_p99, uint64_t *delay_count);
void pl_bench_fleet_free(struct pl_bench_fleet *f);

/* ---- the node (bench/node_proc.c, bench/node_http.c, bench/metrics_text.c) ----------------- */

struct pl_bench_node {
    pid_t pid;                  /* spawned or given; 0 when unknown */
    bool spawned;
    char url[128], metrics_url[160], http_base[128];
    char secret[65];
    char log_path[256];
    char conf_dir[128];         /* Janus: the configuration folder written for it ("" for none) */
};

/* Starts parley-node at path on free 127.0.0.1 ports with a random token secret, its output
 * to log_path; waits for /healthz (10 s). 0 ok. */
int pl_bench_node_spawn(struct pl_bench_node *n, const char *path, int workers,
                        int max_participants, const char *log_path);
void pl_bench_node_stop(struct pl_bench_node *n); /* SIGTERM, then SIGKILL after 5 s */

/* Janus (bench/janus_proc.c): writes a configuration folder (ICE-lite, ice_enforce_list = ip,
 * debug level 3, no NAT mapping, event handlers and every plugin and transport but VideoRoom
 * and WebSockets disabled; WebSockets on ip at a free port), starts `bin` with it, its output
 * to log_path, and waits until the WebSocket port accepts (10 s). ip must be an address of a
 * non-loopback interface (Janus gathers no candidate on loopback): bench/janus_netns.sh makes
 * one in a network namespace. event_loops > 0 sets Janus' event_loops (handles share that
 * many loop threads; 0 keeps Janus' default: a thread and loop per handle). 0 ok; stop with
 * pl_bench_node_stop (removes the folder). */
int pl_bench_janus_spawn(struct pl_bench_node *n, const char *bin, const char *ip,
                         int event_loops, const char *log_path);
/* The text of janus.jcfg for that ip and configuration folder, with `disable` the plugins
 * (or transports) to skip: into out (cap bytes). Returns the length or -1. */
/* Removes the configuration folder (pl_bench_node_stop calls it). */
void pl_bench_janus_cleanup(struct pl_bench_node *n);
int pl_bench_janus_config(char *out, size_t cap, const char *conf_dir, const char *ip,
                          int event_loops, const char *disable_plugins,
                          const char *disable_transports);

struct pl_bench_proc {
    bool ok;
    uint64_t cpu_us;            /* utime + stime, all threads */
    uint64_t main_cpu_us;       /* of the main thread (signaling, /metrics): the rest is the
                                   media workers (and libuv's pool) */
    uint64_t rss_kb;
};
/* Reads /proc/<pid>/stat and /proc/<pid>/status. */
struct pl_bench_proc pl_bench_proc_read(pid_t pid);
/* Parses the utime + stime of a /proc/<pid>/stat text (in clock ticks). 0 ok, -1 malformed. */
int pl_bench_parse_stat(const char *text, size_t len, uint64_t *ticks);
/* Parses VmRSS (kB) from a /proc/<pid>/status text. 0 ok, -1 not found. */
int pl_bench_parse_status_rss(const char *text, size_t len, uint64_t *kb);

/* GET url into a malloc'd NUL-terminated body (libcurl, 127.0.0.1 only in practice). NULL on
 * failure or a non-2xx answer. */
char *pl_bench_http_get(const char *url, size_t *len);
/* Sums every series of metric `name` (with or without labels) in Prometheus text. 0 ok (*sum
 * set), -1 when the metric is absent. Bad lines are skipped. */
int pl_bench_metric_sum(const char *text, size_t len, const char *name, double *sum);
/* The token of a /dev/token answer {"token":"..."}: malloc'd, or NULL when malformed. */
char *pl_bench_parse_dev_token(const char *text, size_t len);

/* ---- the limit mode (bench/limit.c) --------------------------------------------------------- */

struct pl_bench_limit {
    uint64_t packets;
    size_t packet_size;
    int batch;
    int sessions;               /* SRTP sessions (keys) the packets go round-robin over */
    double protect_ns, send_ns, both_ns; /* CPU ns per packet: protect alone, send alone, both */
};
/* srtp_protect (AEAD_AES_128_GCM, libsrtp2) of packet_size-byte RTP packets round-robin over
 * `sessions` keys, and sendmmsg of them in batches to a 127.0.0.1 UDP sink: about seconds/3
 * each for protect alone, send alone, both. 0 ok. */
int pl_bench_limit_run(double seconds, size_t packet_size, int batch, int sessions,
                       struct pl_bench_limit *out);

/* ---- results (bench/report.c) ---------------------------------------------------------------- */

/* The node at one instant. */
struct pl_bench_node_sample {
    bool proc_ok, metrics_ok;
    uint64_t cpu_us, main_cpu_us, rss_kb;
    double forwarded;           /* parley_forwarded_rtp_total */
    double wall_s;              /* monotonic seconds */
};

struct pl_bench_result {
    int clients, joined, media, failed;
    double join_p50, join_p99, connect_p50, connect_p99; /* ms; -1 when none */
    double window_s;
    /* Over the window (a = its start, b = its end): */
    uint64_t sent;              /* packets the publishers sent (all layers + audio) */
    uint64_t expected;          /* sum over subscriptions of what the publisher sent on the
                                   asked-for layer (+ audio): what subscribers should receive */
    uint64_t received, lost, rx_bytes;
    int subscriptions, subscriptions_wanted; /* made at the window's end / in the scenario */
    double rx_pps, rx_mbps, loss_pct, received_vs_expected;
    double delay_p50, delay_p99; /* ms over the whole run, full subscribers; -1 when none */
    uint64_t delay_count;
    bool node_proc, node_metrics;
    double node_cpu_s, node_cpu_pct, node_rss_mb;
    double node_main_cpu_s;     /* of node_cpu_s, the main thread's (signaling, /metrics) */
    double forwarded, forwarded_pps, us_per_forwarded, forwarded_per_core_s;
    double us_per_forwarded_workers; /* the same without the main thread */
    double received_vs_forwarded;
    double bench_cpu_pct;       /* the harness' own CPU over the window */
};

/* Nearest-rank percentile of v[0..n) (sorted in place); -1 when n is 0. */
double pl_bench_percentile(uint64_t *v, size_t n, double pct);
void pl_bench_result_compute(const struct pl_bench_cfg *cfg, const struct pl_bench_counts *a,
                             const struct pl_bench_counts *b, const struct pl_bench_counts *fin,
                             int n, const struct pl_bench_node_sample *na,
                             const struct pl_bench_node_sample *nb, struct pl_bench_result *r);
void pl_bench_print_table(const struct pl_bench_cfg *cfg, const struct pl_bench_result *r);
/* One JSON object (scenario + results) on stdout. */
void pl_bench_print_json(const struct pl_bench_cfg *cfg, const struct pl_bench_result *r,
                         const struct pl_bench_limit *limit);

#endif
