/* parley-bench's offline pieces: the /proc and /metrics parsers, the /dev/token answer, the
 * percentile, the client plan (hosts first), the layer bitrates and the window arithmetic
 * (what subscribers should receive from what publishers sent). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parley/bench.h"
#include "parley/client.h"

static void test_stat(void)
{
    /* comm with spaces and parentheses; utime 1500, stime 250. */
    const char *s = "4242 (parley (node) x) S 1 4242 4242 0 -1 4194560 1130 0 0 0 1500 250 0 0 20 0 "
                    "3 0 12345 123456789 4567 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n";
    uint64_t t = 0;
    CHECK_EQ_INT(pl_bench_parse_stat(s, strlen(s), &t), 0);
    CHECK_EQ_INT(t, 1750);
    CHECK_EQ_INT(pl_bench_parse_stat("12 (x) S 1 2", 12, &t), -1);   /* too short */
    CHECK_EQ_INT(pl_bench_parse_stat("no parenthesis", 14, &t), -1);
    const char *bad = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 1x 2 0";
    CHECK_EQ_INT(pl_bench_parse_stat(bad, strlen(bad), &t), -1);

    const char *st = "Name:\tparley-node\nVmPeak:\t  9999 kB\nVmRSS:\t   18944 kB\nThreads:\t3\n";
    uint64_t kb = 0;
    CHECK_EQ_INT(pl_bench_parse_status_rss(st, strlen(st), &kb), 0);
    CHECK_EQ_INT(kb, 18944);
    CHECK_EQ_INT(pl_bench_parse_status_rss("Name: x\n", 8, &kb), -1);
    CHECK_EQ_INT(pl_bench_parse_status_rss("VmRSS:", 6, &kb), -1);
}

static void test_metrics(void)
{
    const char *m = "# HELP parley_forwarded_rtp_total RTP packets forwarded.\n"
                    "# TYPE parley_forwarded_rtp_total counter\n"
                    "parley_forwarded_rtp_total{worker=\"0\"} 1200\n"
                    "parley_forwarded_rtp_total_extra 5\n"
                    "parley_forwarded_rtp_total{worker=\"1\"} 34\n"
                    "parley_forwarded_rtp_total{worker=\"2\"} garbage\n"
                    "parley_peers 7";
    double v = 0;
    CHECK_EQ_INT(pl_bench_metric_sum(m, strlen(m), "parley_forwarded_rtp_total", &v), 0);
    CHECK(v == 1234);
    CHECK_EQ_INT(pl_bench_metric_sum(m, strlen(m), "parley_peers", &v), 0);
    CHECK(v == 7);
    CHECK_EQ_INT(pl_bench_metric_sum(m, strlen(m), "parley_missing", &v), -1);
    CHECK_EQ_INT(pl_bench_metric_sum("x{a=\"1\"", 7, "x", &v), -1); /* no value */

    const char *tok = "{\"token\":\"abc.def.ghi\"}";
    char *t = pl_bench_parse_dev_token(tok, strlen(tok));
    CHECK(t && strcmp(t, "abc.def.ghi") == 0);
    free(t);
    CHECK(pl_bench_parse_dev_token("{\"token\":5}", 11) == NULL);
    CHECK(pl_bench_parse_dev_token("not json", 8) == NULL);
}

static void test_percentile_plan(void)
{
    uint64_t v[] = {50, 10, 40, 30, 20, 60, 70, 80, 90, 100};
    CHECK(pl_bench_percentile(v, 10, 50) == 50);
    CHECK(pl_bench_percentile(v, 10, 99) == 100);
    CHECK(pl_bench_percentile(v, 10, 1) == 10);
    CHECK(pl_bench_percentile(v, 0, 50) == -1);

    /* Layers are 10/30/100% of the top: each ask lies between its layer and the next. */
    CHECK(pl_bench_layer_bitrate(0, 1000000) > 100000 && pl_bench_layer_bitrate(0, 1000000) < 300000);
    CHECK(pl_bench_layer_bitrate(1, 1000000) > 300000 && pl_bench_layer_bitrate(1, 1000000) < 1000000);
    CHECK(pl_bench_layer_bitrate(2, 1000000) > 1000000);

    struct pl_bench_cfg cfg = {.meetings = 3, .publishers = 2, .subscribers = 2};
    CHECK_EQ_INT(pl_bench_plan_size(&cfg), 12);
    int m;
    bool pub, host;
    char acc[64];
    for (int i = 0; i < 3; i++) { /* the first three are the hosts of meetings 0, 1, 2 */
        pl_bench_plan(&cfg, i, &m, &pub, &host, acc, sizeof acc);
        CHECK(m == i && pub && host);
    }
    pl_bench_plan(&cfg, 4, &m, &pub, &host, acc, sizeof acc);
    CHECK(m == 1 && pub && !host && strcmp(acc, "m1-p1") == 0);
    pl_bench_plan(&cfg, 11, &m, &pub, &host, acc, sizeof acc);
    CHECK(m == 2 && !pub && !host && strcmp(acc, "m2-s1") == 0);
}

static void test_window(void)
{
    /* One publisher, two subscribers at the middle layer, with audio. */
    struct pl_bench_cfg cfg = {.meetings = 1, .publishers = 1, .subscribers = 2, .layer = 1, .audio = true};
    struct pl_bench_counts a[3], b[3], fin[3];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    a[0].publisher = b[0].publisher = true;
    a[0].tx_layer[0] = 100; a[0].tx_layer[1] = 200; a[0].tx_layer[2] = 600; a[0].tx_audio = 50;
    b[0].tx_layer[0] = 130; b[0].tx_layer[1] = 260; b[0].tx_layer[2] = 780; b[0].tx_audio = 100;
    for (int i = 1; i < 3; i++) {
        b[i].subs = 1;
        a[i].rx_packets = 1000;
        b[i].rx_packets = 1000 + 110 - (i == 2 ? 2 : 0);
        b[i].rx_lost = i == 2 ? 2 : 0;
        b[i].rx_bytes = 110000;
    }
    for (int i = 0; i < 3; i++) {
        fin[i] = b[i];
        fin[i].state = PL_CLIENT_MEDIA;
        fin[i].join_ms = 10 * (uint64_t)(i + 1);
        fin[i].connect_ms = 100;
    }
    struct pl_bench_node_sample na = {.proc_ok = true, .metrics_ok = true, .cpu_us = 1000000,
                                      .forwarded = 5000, .wall_s = 10};
    struct pl_bench_node_sample nb = {.proc_ok = true, .metrics_ok = true, .cpu_us = 1500000,
                                      .forwarded = 5220, .wall_s = 12};
    struct pl_bench_result r;
    pl_bench_result_compute(&cfg, a, b, fin, 3, &na, &nb, &r);
    CHECK_EQ_INT(r.sent, 30 + 60 + 180 + 50);
    CHECK_EQ_INT(r.expected, 2 * (60 + 50));
    CHECK_EQ_INT(r.subscriptions, 2);
    CHECK_EQ_INT(r.subscriptions_wanted, 2);
    CHECK_EQ_INT(r.received, 218);
    CHECK_EQ_INT(r.lost, 2);
    CHECK(fabs(r.loss_pct - 100.0 * 2 / 220) < 1e-9);
    CHECK(fabs(r.window_s - 2) < 1e-9);
    CHECK(fabs(r.node_cpu_s - 0.5) < 1e-9);
    CHECK(fabs(r.forwarded - 220) < 1e-9);
    CHECK(fabs(r.us_per_forwarded - 0.5e6 / 220) < 1e-6);
    CHECK(fabs(r.forwarded_per_core_s - 440) < 1e-6);
    CHECK_EQ_INT(r.media, 3);
    CHECK(r.join_p50 == 20 && r.join_p99 == 30);
}

/* The Janus configuration the harness writes (bench/janus_proc.c). */
static void test_janus_config(void)
{
    char buf[4096];
    int n = pl_bench_janus_config(buf, sizeof buf, "/tmp/conf", "127.0.0.2", 0, "libjanus_sip.so,libjanus_lua.so",
                                  "libjanus_http.so");
    CHECK(n > 0 && (size_t)n == strlen(buf));
    CHECK(strstr(buf, "configs_folder = \"/tmp/conf\"") != NULL);
    CHECK(strstr(buf, "ice_lite = true") != NULL);
    CHECK(strstr(buf, "ice_enforce_list = \"127.0.0.2\"") != NULL);
    CHECK(strstr(buf, "debug_level = 3") != NULL);
    CHECK(strstr(buf, "broadcast = false") != NULL);
    CHECK(strstr(buf, "nat_1_1_mapping") == NULL);
    CHECK(strstr(buf, "event_loops") == NULL); /* Janus' default unless asked */
    CHECK(strstr(buf, "disable = \"libjanus_sip.so,libjanus_lua.so\"") != NULL);
    CHECK(strstr(buf, "disable = \"libjanus_http.so\"") != NULL);
    CHECK(pl_bench_janus_config(buf, sizeof buf, "/tmp/conf", "127.0.0.2", 2, "", "") > 0);
    CHECK(strstr(buf, "\tevent_loops = 2\n") != NULL);
    CHECK_EQ_INT(pl_bench_janus_config(buf, 64, "/tmp/conf", "127.0.0.2", 0, "", ""), -1);
}

int main(void)
{
    test_janus_config();
    test_stat();
    test_metrics();
    test_percentile_plan();
    test_window();
    return check_result("test_bench");
}
