/* Parsers of what the harness reads from the node: a metric's sum in Prometheus text
 * (/metrics), the token of a /dev/token answer, CPU ticks and RSS from /proc/<pid>/stat and
 * status. Fuzzed by tests/fuzz/fuzz_bench_parse.c. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parley/bench.h"

int pl_bench_metric_sum(const char *text, size_t len, const char *name, double *sum)
{
    size_t nlen = strlen(name);
    const char *p = text, *end = text + len;
    bool found = false;
    double total = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        /* "name value" or "name{labels} value"; comments and other metrics skipped. */
        if ((size_t)(eol - p) > nlen && memcmp(p, name, nlen) == 0 &&
            (p[nlen] == ' ' || p[nlen] == '{')) {
            const char *v = p + nlen;
            if (*v == '{') {
                v = memchr(v, '}', (size_t)(eol - v));
                v = v ? v + 1 : eol;
            }
            while (v < eol && *v == ' ')
                v++;
            char num[64];
            size_t k = 0;
            while (v < eol && *v != ' ' && k < sizeof num - 1)
                num[k++] = *v++;
            num[k] = 0;
            char *stop;
            double x = k ? strtod(num, &stop) : NAN;
            if (k && *stop == 0 && isfinite(x)) {
                total += x;
                found = true;
            }
        }
        p = eol + 1;
    }
    if (!found)
        return -1;
    *sum = total;
    return 0;
}

char *pl_bench_parse_dev_token(const char *text, size_t len)
{
    json_error_t e;
    json_t *j = json_loadb(text, len, 0, &e);
    if (!j)
        return NULL;
    const char *t = json_string_value(json_object_get(j, "token"));
    char *out = t && *t && strlen(t) <= 4096 ? strdup(t) : NULL;
    json_decref(j);
    return out;
}

int pl_bench_parse_stat(const char *text, size_t len, uint64_t *ticks)
{
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields count from
     * the last ')'. utime and stime are fields 14 and 15, i.e. the 12th and 13th after it. */
    const char *end = text + len, *p = NULL;
    for (const char *q = text; q < end; q++)
        if (*q == ')')
            p = q;
    if (!p)
        return -1;
    p++;
    uint64_t v[13] = {0};
    for (int f = 0; f < 13; f++) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            return -1;
        if (f == 0) { /* the state letter */
            p++;
            continue;
        }
        if (*p < '0' || *p > '9') {
            if (*p != '-')
                return -1;
            p++; /* negative fields (priority) are not ours */
        }
        uint64_t x = 0;
        while (p < end && *p >= '0' && *p <= '9')
            x = x * 10 + (uint64_t)(*p++ - '0');
        if (p < end && *p != ' ' && *p != '\n')
            return -1;
        v[f] = x;
    }
    *ticks = v[11] + v[12];
    return 0;
}

int pl_bench_parse_status_rss(const char *text, size_t len, uint64_t *kb)
{
    const char *end = text + len;
    for (const char *p = text; p < end; p++) {
        if ((p == text || p[-1] == '\n') && (size_t)(end - p) > 6 && memcmp(p, "VmRSS:", 6) == 0) {
            p += 6;
            while (p < end && (*p == ' ' || *p == '\t'))
                p++;
            if (p >= end || *p < '0' || *p > '9')
                return -1;
            uint64_t x = 0;
            while (p < end && *p >= '0' && *p <= '9')
                x = x * 10 + (uint64_t)(*p++ - '0');
            *kb = x;
            return 0;
        }
    }
    return -1;
}
