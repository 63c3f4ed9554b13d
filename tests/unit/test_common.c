/* Unit tests for common/: log, config, pool, hashmap, time. */
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parley/config.h"
#include "parley/hashmap.h"
#include "parley/log.h"
#include "parley/pool.h"
#include "parley/time.h"

/* ---- helpers: capture what a function writes to a file descriptor ---- */

struct capture {
    int fd, saved;
    FILE *tmp;
};

static void capture_start(struct capture *c, int fd)
{
    fflush(NULL);
    c->fd = fd;
    c->tmp = tmpfile();
    c->saved = dup(fd);
    dup2(fileno(c->tmp), fd);
}

/* Returns the captured text (malloc'd, NUL-terminated) and restores fd. */
static char *capture_end(struct capture *c)
{
    fflush(NULL);
    dup2(c->saved, c->fd);
    close(c->saved);
    long n = ftell(c->tmp);
    if (n < 0)
        n = 0;
    char *s = calloc(1, (size_t)n + 1);
    rewind(c->tmp);
    size_t got = fread(s, 1, (size_t)n, c->tmp);
    s[got] = '\0';
    fclose(c->tmp);
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* "2026-11-23T14:50:01.123Z LEVEL comp: msg" */
static int line_well_formed(const char *line, size_t len)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    if (len < sizeof shape - 1 + 6)
        return 0;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (line[i] < '0' || line[i] > '9') : line[i] != shape[i])
            return 0;
    }
    return memchr(line, ':', len) != NULL;
}

/* ---- log ---- */

static void test_log_level_parse(void)
{
    CHECK_EQ_INT(pl_log_level_parse("debug"), PL_LOG_DEBUG);
    CHECK_EQ_INT(pl_log_level_parse("info"), PL_LOG_INFO);
    CHECK_EQ_INT(pl_log_level_parse("warn"), PL_LOG_WARN);
    CHECK_EQ_INT(pl_log_level_parse("error"), PL_LOG_ERROR);
    CHECK_EQ_INT(pl_log_level_parse("off"), PL_LOG_OFF);
    CHECK_EQ_INT(pl_log_level_parse("INFO"), PL_LOG_INFO);
    CHECK_EQ_INT(pl_log_level_parse("verbose"), -1);
    CHECK_EQ_INT(pl_log_level_parse(""), -1);
    CHECK_EQ_INT(pl_log_level_parse(NULL), -1);
}

static void test_log_format_and_filter(void)
{
    struct capture c;
    pl_log_set_level(PL_LOG_INFO);
    CHECK_EQ_INT(pl_log_get_level(), PL_LOG_INFO);
    capture_start(&c, STDERR_FILENO);
    PL_DEBUG("worker", "hidden %d", 1);
    PL_INFO("worker", "hello %s %d", "world", 42);
    PL_ERROR("main", "two\nlines");
    pl_log_set_level(PL_LOG_OFF);
    PL_ERROR("main", "also hidden");
    pl_log_set_level(PL_LOG_INFO);
    char *out = capture_end(&c);

    CHECK_EQ_INT(count_lines(out), 2);
    CHECK(strstr(out, "hidden") == NULL);
    CHECK(line_well_formed(out, strlen(out)));
    CHECK(strstr(out, "Z INFO  worker: hello world 42\n") != NULL);
    CHECK(strstr(out, "Z ERROR main: two lines\n") != NULL);
    free(out);
}

static void test_log_long_line(void)
{
    struct capture c;
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    capture_start(&c, STDERR_FILENO);
    PL_WARN("t", "%s", big);
    char *out = capture_end(&c);
    CHECK_EQ_INT(count_lines(out), 1);
    size_t len = strlen(out);
    CHECK(len > 100 && len <= 2048);
    CHECK(len >= 4 && memcmp(out + len - 4, "...\n", 4) == 0);
    free(out);
}

#define LOG_THREADS 4
#define LOG_LINES 300

static void *log_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < LOG_LINES; i++)
        PL_INFO("thread", "id=%d line=%d padding=%s", id, i,
                "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    return NULL;
}

static void test_log_threads(void)
{
    struct capture c;
    pthread_t th[LOG_THREADS];
    capture_start(&c, STDERR_FILENO);
    for (int i = 0; i < LOG_THREADS; i++)
        pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i);
    for (int i = 0; i < LOG_THREADS; i++)
        pthread_join(th[i], NULL);
    char *out = capture_end(&c);
    CHECK_EQ_INT(count_lines(out), LOG_THREADS * LOG_LINES);
    int bad = 0;
    for (char *line = out; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        if (!line_well_formed(line, (size_t)(nl - line)) ||
            !memmem(line, (size_t)(nl - line), "xyz", 3))
            bad++;
        line = nl + 1;
    }
    CHECK_EQ_INT(bad, 0);
    free(out);
}

/* ---- config ---- */

struct cfg {
    int port;
    const char *name;
    bool verbose;
};

static int parse_cfg(struct cfg *c, int argc, char **argv, int *rest, bool *help, char *err,
                     size_t errlen)
{
    const struct pl_opt opts[] = {
        {"port", "PARLEY_TEST_PORT", PL_OPT_INT, &c->port, "UDP base port"},
        {"name", "PARLEY_TEST_NAME", PL_OPT_STR, &c->name, "node name"},
        {"verbose", "PARLEY_TEST_VERBOSE", PL_OPT_BOOL, &c->verbose, "log more"},
    };
    c->port = 4000;
    c->name = "default";
    c->verbose = false;
    return pl_config_parse(opts, 3, argc, argv, 1, rest, help, err, errlen);
}

#define ARGV(...) ((char *[]){"prog", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"prog", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(c, ...) parse_cfg(c, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &rest, &help, err, \
                                sizeof err)

static void test_config(void)
{
    struct cfg c;
    int rest;
    bool help;
    char err[128];
    unsetenv("PARLEY_TEST_PORT");
    unsetenv("PARLEY_TEST_NAME");
    unsetenv("PARLEY_TEST_VERBOSE");

    char *none[] = {"prog", NULL};
    CHECK_EQ_INT(parse_cfg(&c, 1, none, &rest, &help, err, sizeof err), 0);
    CHECK_EQ_INT(c.port, 4000);
    CHECK(strcmp(c.name, "default") == 0);
    CHECK(!c.verbose && !help);
    CHECK_EQ_INT(rest, 1);

    CHECK_EQ_INT(PARSE(&c, "--port", "5000", "--name=alpha", "--verbose"), 0);
    CHECK_EQ_INT(c.port, 5000);
    CHECK(strcmp(c.name, "alpha") == 0);
    CHECK(c.verbose);
    CHECK_EQ_INT(rest, 5); /* all flags: rest == argc */

    CHECK_EQ_INT(PARSE(&c, "--port=-12", "--verbose=false", "--name", "", "file", "--port=1"),
                 0);
    CHECK_EQ_INT(c.port, -12);
    CHECK(!c.verbose);
    CHECK(strcmp(c.name, "") == 0);
    CHECK_EQ_INT(rest, 5); /* stops at "file": the later --port is left */

    CHECK_EQ_INT(PARSE(&c, "--verbose", "--", "--port"), 0);
    CHECK_EQ_INT(rest, 3);
    CHECK_EQ_INT(c.port, 4000);

    CHECK_EQ_INT(PARSE(&c, "--help"), 0);
    CHECK(help);

    /* errors */
    CHECK_EQ_INT(PARSE(&c, "--nope"), -1);
    CHECK(strstr(err, "--nope") != NULL);
    CHECK_EQ_INT(PARSE(&c, "--port"), -1);
    CHECK(strstr(err, "missing") != NULL);
    CHECK_EQ_INT(PARSE(&c, "--port", "--verbose"), -1);
    CHECK_EQ_INT(PARSE(&c, "--port", "12x"), -1);
    CHECK(strstr(err, "12x") != NULL);
    CHECK_EQ_INT(PARSE(&c, "--port="), -1);
    CHECK_EQ_INT(PARSE(&c, "--port", " 12"), -1);
    CHECK_EQ_INT(PARSE(&c, "--port", "99999999999"), -1);
    CHECK_EQ_INT(PARSE(&c, "--verbose=maybe"), -1);
    CHECK_EQ_INT(PARSE(&c, "-p"), -1);
    CHECK_EQ_INT(PARSE(&c, "--portx=1"), -1);

    /* environment first, argv overrides */
    setenv("PARLEY_TEST_PORT", "6000", 1);
    setenv("PARLEY_TEST_NAME", "from-env", 1);
    setenv("PARLEY_TEST_VERBOSE", "1", 1);
    CHECK_EQ_INT(parse_cfg(&c, 1, none, &rest, &help, err, sizeof err), 0);
    CHECK_EQ_INT(c.port, 6000);
    CHECK(strcmp(c.name, "from-env") == 0);
    CHECK(c.verbose);
    CHECK_EQ_INT(PARSE(&c, "--port", "7000", "--verbose=no"), 0);
    CHECK_EQ_INT(c.port, 7000);
    CHECK(!c.verbose);
    CHECK(strcmp(c.name, "from-env") == 0);
    setenv("PARLEY_TEST_PORT", "abc", 1);
    CHECK_EQ_INT(parse_cfg(&c, 1, none, &rest, &help, err, sizeof err), -1);
    CHECK(strstr(err, "PARLEY_TEST_PORT") != NULL);
    unsetenv("PARLEY_TEST_PORT");
    unsetenv("PARLEY_TEST_NAME");
    unsetenv("PARLEY_TEST_VERBOSE");
}

static void test_config_usage(void)
{
    int port = 0;
    bool v = false;
    const struct pl_opt opts[] = {
        {"port", "PARLEY_PORT", PL_OPT_INT, &port, "UDP base port"},
        {"verbose", "PARLEY_VERBOSE", PL_OPT_BOOL, &v, "log more"},
    };
    struct capture c;
    capture_start(&c, STDOUT_FILENO);
    pl_config_usage(opts, 2, "parley-node", "the router node");
    char *out = capture_end(&c);
    CHECK(strstr(out, "parley-node") != NULL);
    CHECK(strstr(out, "the router node") != NULL);
    CHECK(strstr(out, "--port") != NULL && strstr(out, "PARLEY_PORT") != NULL);
    CHECK(strstr(out, "UDP base port") != NULL);
    CHECK(strstr(out, "--verbose") != NULL && strstr(out, "PARLEY_VERBOSE") != NULL);
    CHECK(strstr(out, "--help") != NULL);
    free(out);
}

/* ---- pool ---- */

static void test_pool(void)
{
    struct pl_pool p;
    CHECK_EQ_INT(pl_pool_init(&p, 0, 4, 10), -1);
    CHECK_EQ_INT(pl_pool_init(&p, 100, 0, 10), -1);
    CHECK_EQ_INT(pl_pool_init(&p, 100, 4, 10), 0);
    CHECK(p.allocated == 0);

    void *bufs[10];
    for (int i = 0; i < 10; i++) {
        bufs[i] = pl_pool_get(&p);
        CHECK(bufs[i] != NULL);
        CHECK(((uintptr_t)bufs[i] & 15) == 0);
        if (bufs[i])
            memset(bufs[i], i, 100); /* the whole buffer is usable */
    }
    CHECK_EQ_INT(p.allocated, 10);
    CHECK_EQ_INT(p.in_use, 10);
    CHECK(pl_pool_get(&p) == NULL); /* max_count reached */
    for (int i = 0; i < 10; i++)
        for (int j = i + 1; j < 10; j++)
            CHECK(bufs[i] != bufs[j]);
    for (int i = 0; i < 10; i++) {
        const unsigned char *b = bufs[i];
        CHECK(b[0] == (unsigned char)i && b[99] == (unsigned char)i);
    }

    pl_pool_put(&p, bufs[3]);
    CHECK_EQ_INT(p.in_use, 9);
    void *again = pl_pool_get(&p);
    CHECK(again == bufs[3]); /* recycled, no new slab */
    CHECK_EQ_INT(p.allocated, 10);
    for (int i = 0; i < 10; i++)
        pl_pool_put(&p, bufs[i]);
    pl_pool_put(&p, NULL);
    CHECK_EQ_INT(p.in_use, 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 10; i++)
            bufs[i] = pl_pool_get(&p);
        for (int i = 0; i < 10; i++)
            pl_pool_put(&p, bufs[i]);
    }
    CHECK_EQ_INT(p.allocated, 10);
    pl_pool_destroy(&p);
    CHECK(p.slabs == NULL && p.free_list == NULL);

    /* tiny buffers still hold the free-list link and stay aligned */
    CHECK_EQ_INT(pl_pool_init(&p, 1, 3, 100), 0);
    for (int i = 0; i < 7; i++) {
        void *b = pl_pool_get(&p);
        CHECK(b != NULL && ((uintptr_t)b & 15) == 0);
    }
    CHECK_EQ_INT(p.allocated, 9); /* three slabs of three */
    pl_pool_destroy(&p);
}

/* ---- hashmap ---- */

static void test_hash_functions(void)
{
    CHECK(pl_hash_u64(0) != 0);
    CHECK(pl_hash_u64(1) != pl_hash_u64(2));
    CHECK(pl_hash_u64(12345) == pl_hash_u64(12345));
    CHECK(pl_hash_bytes("abc", 3) == pl_hash_bytes("abc", 3));
    CHECK(pl_hash_bytes("abc", 3) != pl_hash_bytes("abd", 3));
    CHECK(pl_hash_bytes("", 0) != pl_hash_bytes("a", 1));
    /* consecutive keys spread over the low bits used by a small table */
    int buckets[16] = {0};
    for (uint64_t k = 0; k < 1600; k++)
        buckets[pl_hash_u64(k) & 15]++;
    int lo = 1600, hi = 0;
    for (int i = 0; i < 16; i++) {
        lo = buckets[i] < lo ? buckets[i] : lo;
        hi = buckets[i] > hi ? buckets[i] : hi;
    }
    CHECK(lo > 50 && hi < 150);
}

static void *val(uint64_t k) { return (void *)(uintptr_t)(k * 2 + 1); }

static void test_map_basic(void)
{
    struct pl_map m;
    CHECK_EQ_INT(pl_map_init(&m, 5), 0);
    CHECK_EQ_INT(m.cap, 8);
    CHECK(pl_map_get(&m, 1) == NULL);
    CHECK_EQ_INT(pl_map_put(&m, 1, val(1)), 0);
    CHECK_EQ_INT(pl_map_put(&m, 0, val(0)), 0);
    CHECK_EQ_INT(pl_map_put(&m, UINT64_MAX, val(7)), 0);
    CHECK(pl_map_get(&m, 1) == val(1));
    CHECK(pl_map_get(&m, 0) == val(0));
    CHECK(pl_map_get(&m, UINT64_MAX) == val(7));
    CHECK_EQ_INT(pl_map_put(&m, 1, val(9)), 0); /* replace */
    CHECK(pl_map_get(&m, 1) == val(9));
    CHECK_EQ_INT(m.count, 3);
    CHECK_EQ_INT(pl_map_put(&m, 2, NULL), -1);
    CHECK(pl_map_remove(&m, 1) == val(9));
    CHECK(pl_map_remove(&m, 1) == NULL);
    CHECK(pl_map_get(&m, 1) == NULL);
    CHECK_EQ_INT(m.count, 2);
    /* (void *)1 is an ordinary value, not a marker */
    CHECK_EQ_INT(pl_map_put(&m, 5, (void *)1), 0);
    CHECK(pl_map_get(&m, 5) == (void *)1);
    pl_map_destroy(&m);
}

static void test_map_grow_and_churn(void)
{
    struct pl_map m;
    CHECK_EQ_INT(pl_map_init(&m, 0), 0);
    for (uint64_t k = 0; k < 10000; k++)
        CHECK(pl_map_put(&m, k * 0x10000, val(k)) == 0);
    CHECK_EQ_INT(m.count, 10000);
    CHECK((m.cap & (m.cap - 1)) == 0);
    CHECK(m.used * 10 <= m.cap * 7);
    int missing = 0;
    for (uint64_t k = 0; k < 10000; k++)
        missing += pl_map_get(&m, k * 0x10000) != val(k);
    CHECK_EQ_INT(missing, 0);
    CHECK(pl_map_get(&m, 10001 * 0x10000ull) == NULL);

    /* churn on a small map: tombstones must not fill the table */
    struct pl_map s;
    CHECK_EQ_INT(pl_map_init(&s, 16), 0);
    for (uint64_t k = 0; k < 100000; k++) {
        CHECK(pl_map_put(&s, k, val(k)) == 0);
        if (k >= 8)
            CHECK(pl_map_remove(&s, k - 8) == val(k - 8));
    }
    CHECK_EQ_INT(s.count, 8);
    CHECK(s.cap <= 64);
    CHECK(s.used * 10 <= s.cap * 7);
    for (uint64_t k = 100000 - 8; k < 100000; k++)
        CHECK(pl_map_get(&s, k) == val(k));
    pl_map_destroy(&s);
    pl_map_destroy(&m);
}

/* Random operations against a plain array model. */
static void test_map_model(void)
{
    enum { KEYS = 512 };
    void *model[KEYS] = {0};
    struct pl_map m;
    CHECK_EQ_INT(pl_map_init(&m, 4), 0);
    uint64_t rng = 0x1234567;
    int mismatches = 0;
    for (int step = 0; step < 200000; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t k = (rng >> 33) % KEYS;
        uint64_t key = k * 0x9E3779B97F4A7C15ull; /* spread keys, some collisions mod cap */
        if ((rng >> 20) % 3 == 0) {
            void *old = pl_map_remove(&m, key);
            mismatches += old != model[k];
            model[k] = NULL;
        } else {
            void *v = (void *)(uintptr_t)((rng >> 8) | 1);
            CHECK(pl_map_put(&m, key, v) == 0);
            model[k] = v;
        }
        if (step % 10000 == 0) {
            size_t live = 0;
            for (int i = 0; i < KEYS; i++) {
                live += model[i] != NULL;
                mismatches += pl_map_get(&m, (uint64_t)i * 0x9E3779B97F4A7C15ull) != model[i];
            }
            mismatches += live != m.count;
        }
    }
    CHECK_EQ_INT(mismatches, 0);

    /* iteration visits every live entry exactly once */
    size_t seen = 0;
    uint64_t k;
    void *v;
    int wrong = 0;
    for (size_t it = 0; pl_map_next(&m, &it, &k, &v);) {
        seen++;
        uint64_t idx = k * 0xF1DE83E19937733Dull; /* inverse of the spreading constant */
        wrong += idx >= KEYS || model[idx] != v;
    }
    CHECK_EQ_INT(seen, m.count);
    CHECK_EQ_INT(wrong, 0);
    pl_map_destroy(&m);
}

/* ---- time ---- */

static void test_time(void)
{
    uint64_t a = pl_now_us(), am = pl_now_ms();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t b = pl_now_us(), bm = pl_now_ms();
    CHECK(b - a >= 20000);
    CHECK(b - a < 5000000);
    CHECK(bm - am >= 19);
    CHECK(pl_now_ms() >= bm);
    uint64_t prev = pl_now_us();
    int backwards = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t now = pl_now_us();
        backwards += now < prev;
        prev = now;
    }
    CHECK_EQ_INT(backwards, 0);
}

int main(void)
{
    test_log_level_parse();
    test_log_format_and_filter();
    test_log_long_line();
    test_log_threads();
    test_config();
    test_config_usage();
    test_pool();
    test_hash_functions();
    test_map_basic();
    test_map_grow_and_churn();
    test_map_model();
    test_time();
    return check_result("common");
}
