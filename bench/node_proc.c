/* The node under test as a process: started by the harness (--spawn-node) on free 127.0.0.1
 * ports with a random token secret, or given by pid; its CPU time and RSS from /proc. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parley/bench.h"

/* A port the kernel says is free now (TCP or UDP). */
static int free_port(int type)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int pl_bench_node_spawn(struct pl_bench_node *n, const char *path, int workers,
                        int max_participants, const char *log_path)
{
    memset(n, 0, sizeof *n);
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(n->secret + 2 * i, 3, "%02x", rnd[i]);
    int http_port = free_port(SOCK_STREAM);
    /* Media ports are base .. base+workers-1: take a free one and hope its neighbours are. */
    int media_port = free_port(SOCK_DGRAM);
    if (http_port < 0 || media_port < 0 || media_port > 65535 - workers)
        return -1;
    snprintf(n->url, sizeof n->url, "ws://127.0.0.1:%d/ws", http_port);
    snprintf(n->http_base, sizeof n->http_base, "http://127.0.0.1:%d", http_port);
    snprintf(n->metrics_url, sizeof n->metrics_url, "%s/metrics", n->http_base);
    snprintf(n->log_path, sizeof n->log_path, "%s", log_path);
    char hp[16], mp[16], w[16], mx[16];
    snprintf(hp, sizeof hp, "%d", http_port);
    snprintf(mp, sizeof mp, "%d", media_port);
    snprintf(w, sizeof w, "%d", workers);
    snprintf(mx, sizeof mx, "%d", max_participants);
    char *argv[] = {(char *)path, "--http-port", hp, "--media-port", mp, "--workers", w,
                    "--listen-ip", "127.0.0.1", "--media-ip", "127.0.0.1", "--token-secret",
                    n->secret, "--max-participants", mx, "--log-level", "warn", NULL};
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The node goes with the harness, even when the harness dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(path, argv);
        fprintf(stderr, "parley-bench: exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    n->pid = pid;
    n->spawned = true;
    char health[192];
    snprintf(health, sizeof health, "%s/healthz", n->http_base);
    for (int i = 0; i < 100; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            n->pid = 0;
            n->spawned = false;
            fprintf(stderr, "parley-bench: the node exited at start; see %s\n", log_path);
            return -1;
        }
        size_t len;
        char *body = pl_bench_http_get(health, &len);
        if (body) {
            free(body);
            return 0;
        }
        sleep_ms(100);
    }
    fprintf(stderr, "parley-bench: the node did not answer /healthz in 10 s; see %s\n", log_path);
    pl_bench_node_stop(n);
    return -1;
}

void pl_bench_node_stop(struct pl_bench_node *n)
{
    if (!n->spawned || n->pid <= 0) {
        pl_bench_janus_cleanup(n);
        return;
    }
    kill(n->pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        int st;
        if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
            n->pid = 0;
            pl_bench_janus_cleanup(n);
            return;
        }
        sleep_ms(100);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
    pl_bench_janus_cleanup(n);
}

static size_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t r = read(fd, buf, cap - 1);
    close(fd);
    if (r <= 0)
        return 0;
    buf[r] = 0;
    return (size_t)r;
}

struct pl_bench_proc pl_bench_proc_read(pid_t pid)
{
    struct pl_bench_proc out = {0};
    if (pid <= 0)
        return out;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    size_t n = read_small(path, buf, sizeof buf);
    uint64_t ticks;
    if (!n || pl_bench_parse_stat(buf, n, &ticks) != 0)
        return out;
    long hz = sysconf(_SC_CLK_TCK);
    out.cpu_us = ticks * 1000000u / (uint64_t)(hz > 0 ? hz : 100);
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)pid);
    n = read_small(path, buf, sizeof buf);
    if (n && pl_bench_parse_stat(buf, n, &ticks) == 0)
        out.main_cpu_us = ticks * 1000000u / (uint64_t)(hz > 0 ? hz : 100);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    n = read_small(path, buf, sizeof buf);
    if (n)
        pl_bench_parse_status_rss(buf, n, &out.rss_kb);
    out.ok = true;
    return out;
}
