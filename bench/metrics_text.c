/* Parsers of what the node answers over HTTP: a metric's sum in Prometheus text (/metrics) and
 * the token of a /dev/token answer. Fuzzed by tests/fuzz/fuzz_bench_parse.c. */
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
