/* Janus under test (--target janus): Debian's janus with a configuration folder the harness
 * writes to a temporary directory, so nothing of /etc/janus is used. Only the VideoRoom plugin
 * and the WebSockets transport load; ICE-lite with candidates on one address only
 * (ice_enforce_list); no event handlers; log level 3 (warnings) so logging costs nothing. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parley/bench.h"

/* Debian's layout (package janus). */
#define LIB_DIR "/usr/lib/x86_64-linux-gnu/janus"

int pl_bench_janus_config(char *out, size_t cap, const char *conf_dir, const char *ip,
                          int event_loops, const char *disable_plugins, const char *disable_transports)
{
    char loops[48] = "";
    if (event_loops > 0)
        snprintf(loops, sizeof loops, "\tevent_loops = %d\n", event_loops);
    int n = snprintf(out, cap,
        "general: {\n"
        "\tconfigs_folder = \"%s\"\n"
        "\tplugins_folder = \"" LIB_DIR "/plugins\"\n"
        "\ttransports_folder = \"" LIB_DIR "/transports\"\n"
        "\tevents_folder = \"" LIB_DIR "/events\"\n"
        "\tloggers_folder = \"" LIB_DIR "/loggers\"\n"
        "\tdebug_level = 3\n"
        "%s"
        "}\n"
        "media: {\n}\n"
        "nat: {\n"
        "\tice_lite = true\n"
        "\tice_enforce_list = \"%s\"\n"
        "\tignore_mdns = true\n"
        "\tnice_debug = false\n"
        "}\n"
        "plugins: {\n\tdisable = \"%s\"\n}\n"
        "transports: {\n\tdisable = \"%s\"\n}\n"
        "loggers: {\n\tdisable = \"libjanus_jsonlog.so\"\n}\n"
        "events: {\n\tbroadcast = false\n}\n",
        conf_dir, loops, ip, disable_plugins, disable_transports);
    return n > 0 && (size_t)n < cap ? n : -1;
}

/* "a.so,b.so": every libjanus_*.so of dir but `keep`. */
static void disable_list(const char *dir, const char *keep, char *out, size_t cap)
{
    out[0] = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t len = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".so") != 0 || strcmp(e->d_name, keep) == 0)
            continue;
        int w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", e->d_name);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    closedir(d);
}

__attribute__((format(printf, 3, 4)))
static int write_file(const char *dir, const char *name, const char *fmt, ...)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    return fclose(f) == 0 ? 0 : -1;
}

static int free_tcp_port(const char *ip)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof a;
    int port = -1;
    if (inet_pton(AF_INET, ip, &a.sin_addr) == 1 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool port_open(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Whether ip sits on an interface that is not a loopback one (where Janus gathers). */
static bool on_real_interface(const char *ip)
{
    struct in_addr want;
    struct ifaddrs *ifs;
    if (inet_pton(AF_INET, ip, &want) != 1 || getifaddrs(&ifs) != 0)
        return false;
    bool found = false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !(i->ifa_flags & IFF_LOOPBACK) &&
            (i->ifa_flags & IFF_UP) &&
            ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == want.s_addr)
            found = true;
    freeifaddrs(ifs);
    return found;
}

static void remove_conf(struct pl_bench_node *n)
{
    if (!n->conf_dir[0])
        return;
    static const char *const files[] = {"janus.jcfg", "janus.transport.websockets.jcfg",
                                        "janus.plugin.videoroom.jcfg"};
    char path[256];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", n->conf_dir, files[i]);
        unlink(path);
    }
    rmdir(n->conf_dir);
    n->conf_dir[0] = 0;
}

int pl_bench_janus_spawn(struct pl_bench_node *n, const char *bin, const char *ip,
                         int event_loops, const char *log_path)
{
    memset(n, 0, sizeof *n);
    struct sockaddr_in probe;
    if (inet_pton(AF_INET, ip, &probe.sin_addr) != 1) {
        fprintf(stderr, "parley-bench: --janus-ip %s is not an IPv4 address\n", ip);
        return -1;
    }
    if (!on_real_interface(ip)) {
        fprintf(stderr, "parley-bench: %s is on no non-loopback interface that is up: Janus would "
                "gather no ICE candidate (run the harness inside bench/janus_netns.sh)\n", ip);
        return -1;
    }
    int port = free_tcp_port(ip);
    if (port < 0) {
        fprintf(stderr, "parley-bench: cannot bind %s\n", ip);
        return -1;
    }
    snprintf(n->conf_dir, sizeof n->conf_dir, "/tmp/parley-bench-janus-XXXXXX");
    if (!mkdtemp(n->conf_dir)) {
        n->conf_dir[0] = 0;
        return -1;
    }
    char plugins[2048], transports[1024], jcfg[4096];
    disable_list(LIB_DIR "/plugins", "libjanus_videoroom.so", plugins, sizeof plugins);
    disable_list(LIB_DIR "/transports", "libjanus_websockets.so", transports, sizeof transports);
    if (pl_bench_janus_config(jcfg, sizeof jcfg, n->conf_dir, ip, event_loops, plugins, transports) < 0 ||
        write_file(n->conf_dir, "janus.jcfg", "%s", jcfg) != 0 ||
        write_file(n->conf_dir, "janus.transport.websockets.jcfg",
                   "general: {\n\tjson = \"compact\"\n\tws = true\n\tws_port = %d\n\tws_ip = \"%s\"\n"
                   "\twss = false\n}\nadmin: {\n\tadmin_ws = false\n\tadmin_wss = false\n}\n",
                   port, ip) != 0 ||
        write_file(n->conf_dir, "janus.plugin.videoroom.jcfg", "general: {\n}\n") != 0) {
        remove_conf(n);
        return -1;
    }
    snprintf(n->url, sizeof n->url, "ws://%s:%d/", ip, port);
    snprintf(n->log_path, sizeof n->log_path, "%s", log_path);
    char cfg_path[192];
    snprintf(cfg_path, sizeof cfg_path, "%s/janus.jcfg", n->conf_dir);
    char *argv[] = {(char *)bin, "-C", cfg_path, "-F", n->conf_dir, "-o", NULL};
    pid_t pid = fork();
    if (pid < 0) {
        remove_conf(n);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* Janus goes with the harness */
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(bin, argv);
        fprintf(stderr, "parley-bench: exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    n->pid = pid;
    n->spawned = true;
    for (int i = 0; i < 100; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            n->pid = 0;
            n->spawned = false;
            remove_conf(n);
            fprintf(stderr, "parley-bench: Janus exited at start; see %s\n", log_path);
            return -1;
        }
        if (port_open(ip, port))
            return 0;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "parley-bench: Janus did not listen on %s:%d in 10 s; see %s\n", ip, port, log_path);
    pl_bench_node_stop(n);
    return -1;
}

void pl_bench_janus_cleanup(struct pl_bench_node *n) { remove_conf(n); }
