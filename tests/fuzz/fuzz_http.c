/* libFuzzer target for control/http_parse.c: the HTTP/1.1 request parser and the Range
 * header parser. Whatever is accepted must lie inside the input and agree with itself; a
 * request fed in two pieces must parse the same as when fed whole. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *buf, size_t len, struct pl_http_str s)
{
    if (s.n && (s.p < buf || s.p + s.n > buf + len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so a read past the input is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    struct pl_http_limits lim = {1024, 4096};
    struct pl_http_request req;
    long n = pl_http_parse(buf, size, &lim, &req);
    if (n > (long)size)
        abort();
    if (n > 0) {
        inside(buf, size, req.method);
        inside(buf, size, req.target);
        inside(buf, size, req.body);
        if (req.nheaders > PL_HTTP_MAX_HEADERS || req.method.n == 0 || req.target.n == 0 ||
            req.body.n > lim.max_body)
            abort();
        for (size_t i = 0; i < req.nheaders; i++) {
            inside(buf, size, req.headers[i].name);
            inside(buf, size, req.headers[i].value);
        }
        /* Every shorter prefix is incomplete or the same error-free request never. */
        struct pl_http_request again;
        if (pl_http_parse(buf, (size_t)n - 1, &lim, &again) > 0)
            abort();
        const struct pl_http_str *range = pl_http_header(&req, "range");
        if (range) {
            unsigned long long first = 0, last = 0, total = (unsigned long long)size * 37;
            int rc = pl_http_range(range->p, range->n, total, &first, &last);
            if (rc == 1 && (first > last || last >= total))
                abort();
        }
    } else if (n != 0 && n != -400 && n != -413 && n != -431 && n != -501 && n != -505) {
        abort();
    }
    /* The Range parser on the raw input too. */
    unsigned long long first = 0, last = 0;
    if (pl_http_range(buf, size, 1000, &first, &last) == 1 && (first > last || last >= 1000))
        abort();
    free(buf);
    return 0;
}
