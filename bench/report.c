/* From two snapshots (start and end of the measurement window) and the final counters to the
 * figures the harness reports: a table on the terminal or one JSON object. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/bench.h"
#include "parley/client.h"

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

double pl_bench_percentile(uint64_t *v, size_t n, double pct)
{
    if (!n)
        return -1;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1];
}

static uint64_t d(uint64_t b, uint64_t a) { return b >= a ? b - a : 0; }

void pl_bench_result_compute(const struct pl_bench_cfg *cfg, const struct pl_bench_counts *a,
                             const struct pl_bench_counts *b, const struct pl_bench_counts *fin,
                             int n, const struct pl_bench_node_sample *na,
                             const struct pl_bench_node_sample *nb, struct pl_bench_result *r)
{
    memset(r, 0, sizeof *r);
    r->clients = n;
    uint64_t *join = calloc((size_t)n + 1, sizeof *join), *conn = calloc((size_t)n + 1, sizeof *conn);
    size_t nj = 0, nc = 0;
    for (int i = 0; i < n; i++) {
        const struct pl_bench_counts *f = &fin[i];
        if (f->state == PL_CLIENT_FAILED)
            r->failed++;
        if (f->join_ms || f->state >= PL_CLIENT_JOINED) {
            r->joined++;
            if (join)
                join[nj++] = f->join_ms;
        }
        if (f->connect_ms) {
            r->media++;
            if (conn)
                conn[nc++] = f->connect_ms;
        }
    }
    r->join_p50 = join ? pl_bench_percentile(join, nj, 50) : -1;
    r->join_p99 = join ? pl_bench_percentile(join, nj, 99) : -1;
    r->connect_p50 = conn ? pl_bench_percentile(conn, nc, 50) : -1;
    r->connect_p99 = conn ? pl_bench_percentile(conn, nc, 99) : -1;
    free(join);
    free(conn);

    r->window_s = nb->wall_s - na->wall_s;
    int layer = cfg->layer;
    for (int i = 0; i < n; i++) {
        if (a[i].publisher)
            r->sent += d(b[i].tx_layer[0], a[i].tx_layer[0]) + d(b[i].tx_layer[1], a[i].tx_layer[1]) +
                       d(b[i].tx_layer[2], a[i].tx_layer[2]) + d(b[i].tx_audio, a[i].tx_audio);
        r->received += d(b[i].rx_packets, a[i].rx_packets);
        r->lost += d(b[i].rx_lost, a[i].rx_lost);
        r->rx_bytes += d(b[i].rx_bytes, a[i].rx_bytes);
    }
    /* What each subscriber should get: every publisher of its meeting it subscribed to (all of
     * them but itself), on the asked-for layer, and their audio. */
    for (int i = 0; i < n; i++) {
        r->subscriptions += b[i].subs;
        if (!a[i].publisher || (cfg->pubs_subscribe && cfg->publishers > 1))
            r->subscriptions_wanted += cfg->publishers - (a[i].publisher ? 1 : 0);
        if (!b[i].subs)
            continue;
        for (int k = 0; k < n; k++) {
            if (k == i || !a[k].publisher || a[k].meeting != a[i].meeting)
                continue;
            r->expected += d(b[k].tx_layer[layer], a[k].tx_layer[layer]);
            if (cfg->audio)
                r->expected += d(b[k].tx_audio, a[k].tx_audio);
        }
    }
    if (r->window_s > 0) {
        r->rx_pps = (double)r->received / r->window_s;
        r->rx_mbps = (double)r->rx_bytes * 8 / r->window_s / 1e6;
    }
    r->loss_pct = r->received + r->lost ? 100.0 * (double)r->lost / (double)(r->received + r->lost) : 0;
    r->received_vs_expected = r->expected ? (double)r->received / (double)r->expected : 0;
    r->node_proc = na->proc_ok && nb->proc_ok;
    r->node_metrics = na->metrics_ok && nb->metrics_ok;
    if (r->node_proc) {
        r->node_cpu_s = (double)d(nb->cpu_us, na->cpu_us) / 1e6;
        r->node_cpu_pct = r->window_s > 0 ? 100 * r->node_cpu_s / r->window_s : 0;
        r->node_rss_mb = (double)nb->rss_kb / 1024;
        r->node_main_cpu_s = (double)d(nb->main_cpu_us, na->main_cpu_us) / 1e6;
    }
    if (cfg->target == PL_TARGET_JANUS) {
        /* Janus has no counter of its own: what it forwarded is what the subscribers received
         * plus what they counted lost (RFC 3550, per stream) over the window. */
        r->forwarded = (double)(r->received + r->lost);
        r->forwarded_pps = r->window_s > 0 ? r->forwarded / r->window_s : 0;
        r->received_vs_forwarded = r->forwarded > 0 ? (double)r->received / r->forwarded : 0;
    } else if (r->node_metrics) {
        r->forwarded = nb->forwarded - na->forwarded;
        r->forwarded_pps = r->window_s > 0 ? r->forwarded / r->window_s : 0;
        r->received_vs_forwarded = r->forwarded > 0 ? (double)r->received / r->forwarded : 0;
    }
    if (r->node_proc && (r->node_metrics || cfg->target == PL_TARGET_JANUS) && r->forwarded > 0 &&
        r->node_cpu_s > 0) {
        r->us_per_forwarded = r->node_cpu_s * 1e6 / r->forwarded;
        r->forwarded_per_core_s = r->forwarded / r->node_cpu_s;
        r->us_per_forwarded_workers = (r->node_cpu_s - r->node_main_cpu_s) * 1e6 / r->forwarded;
    }
}

static const char *layer_name(int l) { return l == 0 ? "low" : l == 1 ? "middle" : "top"; }

void pl_bench_print_table(const struct pl_bench_cfg *cfg, const struct pl_bench_result *r)
{
    printf("\ntarget: %s\n", cfg->target == PL_TARGET_JANUS ? "janus (forwarded = received + lost)" : "parley");
    printf("scenario: %d meeting(s) x (%d publishers + %d subscribers)%s, %s layer (asks %d bps), "
           "audio %s, ramp %.0f joins/s, %d thread(s)\n",
           cfg->meetings, cfg->publishers, cfg->subscribers,
           cfg->pubs_subscribe && cfg->publishers > 1 ? ", publishers subscribe to each other" : "",
           layer_name(cfg->layer), cfg->sub_bitrate, cfg->audio ? "on" : "off", cfg->ramp, cfg->threads);
    printf("%-34s %s\n", "figure", "value");
    printf("%-34s %d (joined %d, media %d, failed %d)\n", "clients", r->clients, r->joined, r->media, r->failed);
    printf("%-34s p50 %.0f ms, p99 %.0f ms\n", "join (WebSocket -> MEETING_USERS)", r->join_p50, r->join_p99);
    printf("%-34s p50 %.0f ms, p99 %.0f ms\n", "connect (WebSocket -> SRTP)", r->connect_p50, r->connect_p99);
    printf("%-34s %.1f s\n", "measurement window", r->window_s);
    printf("%-34s %d of %d\n", "subscriptions", r->subscriptions, r->subscriptions_wanted);
    printf("%-34s %llu\n", "packets sent by publishers", (unsigned long long)r->sent);
    printf("%-34s %llu (%.1f%% of expected %llu)\n", "packets received", (unsigned long long)r->received,
           100 * r->received_vs_expected, (unsigned long long)r->expected);
    printf("%-34s %.0f pkt/s, %.2f Mbit/s (payload)\n", "delivered", r->rx_pps, r->rx_mbps);
    printf("%-34s %.3f%% (%llu lost)\n", "loss", r->loss_pct, (unsigned long long)r->lost);
    if (r->delay_count)
        printf("%-34s p50 %.2f ms, p99 %.2f ms (%llu samples)\n", "one-way delay", r->delay_p50,
               r->delay_p99, (unsigned long long)r->delay_count);
    else
        printf("%-34s none measured\n", "one-way delay");
    if (r->node_proc)
        printf("%-34s %.2f s CPU (%.1f%% of one core; main thread %.2f s), RSS %.1f MB\n", "node",
               r->node_cpu_s, r->node_cpu_pct, r->node_main_cpu_s, r->node_rss_mb);
    if (r->node_metrics || cfg->target == PL_TARGET_JANUS)
        printf("%-34s %.0f (%.0f/s; received/forwarded %.3f)\n", "node forwarded RTP", r->forwarded,
               r->forwarded_pps, r->received_vs_forwarded);
    if (r->us_per_forwarded > 0)
        printf("%-34s %.2f us/packet (%.2f without the main thread), %.0f packets per CPU-second\n",
               "node CPU per forwarded packet", r->us_per_forwarded, r->us_per_forwarded_workers,
               r->forwarded_per_core_s);
    printf("%-34s %.1f%% of one core\n", "harness CPU", r->bench_cpu_pct);
}

void pl_bench_print_json(const struct pl_bench_cfg *cfg, const struct pl_bench_result *r,
                         const struct pl_bench_limit *limit)
{
    json_t *j = json_object();
    json_t *s = json_object();
    json_object_set_new(s, "target", json_string(cfg->target == PL_TARGET_JANUS ? "janus" : "parley"));
    json_object_set_new(s, "meetings", json_integer(cfg->meetings));
    json_object_set_new(s, "publishers", json_integer(cfg->publishers));
    json_object_set_new(s, "subscribers", json_integer(cfg->subscribers));
    json_object_set_new(s, "publishers_subscribe", json_boolean(cfg->pubs_subscribe));
    json_object_set_new(s, "layer", json_string(layer_name(cfg->layer)));
    json_object_set_new(s, "sub_bitrate", json_integer(cfg->sub_bitrate));
    json_object_set_new(s, "send_bitrate", json_integer(cfg->send_bitrate));
    json_object_set_new(s, "audio", json_boolean(cfg->audio));
    json_object_set_new(s, "ramp", json_real(cfg->ramp));
    json_object_set_new(s, "duration", json_integer(cfg->duration));
    json_object_set_new(s, "threads", json_integer(cfg->threads));
    json_object_set_new(j, "scenario", s);
#define I(f) json_object_set_new(j, #f, json_integer((json_int_t)r->f))
#define R(f) json_object_set_new(j, #f, json_real(r->f))
    I(clients); I(joined); I(media); I(failed);
    R(join_p50); R(join_p99); R(connect_p50); R(connect_p99); R(window_s);
    I(subscriptions); I(subscriptions_wanted); I(sent); I(expected); I(received); I(lost); I(rx_bytes);
    R(rx_pps); R(rx_mbps); R(loss_pct); R(received_vs_expected);
    R(delay_p50); R(delay_p99); I(delay_count);
    json_object_set_new(j, "node_proc", json_boolean(r->node_proc));
    json_object_set_new(j, "node_metrics", json_boolean(r->node_metrics));
    R(node_cpu_s); R(node_main_cpu_s); R(node_cpu_pct); R(node_rss_mb);
    R(forwarded); R(forwarded_pps); R(us_per_forwarded); R(forwarded_per_core_s); R(us_per_forwarded_workers);
    R(received_vs_forwarded); R(bench_cpu_pct);
#undef I
#undef R
    if (limit) {
        json_t *l = json_object();
        json_object_set_new(l, "packets", json_integer((json_int_t)limit->packets));
        json_object_set_new(l, "packet_size", json_integer((json_int_t)limit->packet_size));
        json_object_set_new(l, "batch", json_integer(limit->batch));
        json_object_set_new(l, "sessions", json_integer(limit->sessions));
        json_object_set_new(l, "protect_ns", json_real(limit->protect_ns));
        json_object_set_new(l, "send_ns", json_real(limit->send_ns));
        json_object_set_new(l, "both_ns", json_real(limit->both_ns));
        json_object_set_new(j, "limit", l);
    }
    char *text = json_dumps(j, JSON_COMPACT);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(j);
}
