/* HTTP/1.1 request parser (RFC 9112), strict and bounded: see include/parley/http.h. */
#include <string.h>
#include <strings.h>

#include "parley/http.h"

bool pl_http_str_ieq(struct pl_http_str s, const char *c)
{
    size_t n = strlen(c);
    return s.n == n && strncasecmp(s.p, c, n) == 0;
}

const struct pl_http_str *pl_http_header(const struct pl_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (pl_http_str_ieq(req->headers[i].name, name))
            return &req->headers[i].value;
    return NULL;
}

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Visible characters and spaces/tabs allowed in field values (obs-text too). */
static bool is_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Finds the end of the head ("\r\n\r\n"); returns its length including the blank line, or 0. */
static size_t head_length(const char *buf, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            return i + 4;
    return 0;
}

/* Does a comma-separated header value contain the token (case-insensitive)? */
static bool has_token(struct pl_http_str v, const char *tok)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
            i++;
        size_t s = i;
        while (i < v.n && v.p[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
            e--;
        struct pl_http_str t = {v.p + s, e - s};
        if (t.n && pl_http_str_ieq(t, tok))
            return true;
    }
    return false;
}

static long parse_request_line(const char *p, size_t n, struct pl_http_request *req)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i >= n || p[i] != ' ')
        return -400;
    req->method = (struct pl_http_str){p, i};
    size_t t = ++i;
    while (i < n && p[i] > 0x20 && p[i] != 0x7f)
        i++;
    if (i == t || i >= n || p[i] != ' ')
        return -400;
    req->target = (struct pl_http_str){p + t, i - t};
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0 || p[i + 6] != '.' ||
        p[i + 5] < '0' || p[i + 5] > '9' || p[i + 7] < '0' || p[i + 7] > '9')
        return -400;
    if (p[i + 5] != '1')
        return -505;
    req->minor = p[i + 7] - '0';
    return 0;
}

long pl_http_parse(const char *buf, size_t len, const struct pl_http_limits *lim,
                   struct pl_http_request *req)
{
    memset(req, 0, sizeof *req);
    size_t head = head_length(buf, len < lim->max_head + 4 ? len : lim->max_head + 4);
    if (!head)
        return len >= lim->max_head + 4 ? -431 : 0;
    if (head > lim->max_head + 4)
        return -431;

    const char *line = buf, *end = buf + head - 2;  /* end: the final blank line */
    const char *eol = memchr(line, '\r', (size_t)(end - line));
    if (!eol || eol[1] != '\n')
        return -400;
    long rc = parse_request_line(line, (size_t)(eol - line), req);
    if (rc)
        return rc;

    bool have_length = false;
    size_t content_length = 0;
    for (line = eol + 2; line < end; line = eol + 2) {
        eol = memchr(line, '\r', (size_t)(end - line));
        if (!eol || eol[1] != '\n')
            return -400;
        size_t n = (size_t)(eol - line), i = 0;
        while (i < n && is_tchar((unsigned char)line[i]))
            i++;
        if (i == 0 || i >= n || line[i] != ':')
            return -400;  /* also refuses obsolete line folding */
        struct pl_http_str name = {line, i};
        size_t vs = i + 1, ve = n;
        for (size_t k = vs; k < n; k++)
            if (!is_vchar((unsigned char)line[k]))
                return -400;
        while (vs < ve && (line[vs] == ' ' || line[vs] == '\t'))
            vs++;
        while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
            ve--;
        struct pl_http_str value = {line + vs, ve - vs};
        if (req->nheaders == PL_HTTP_MAX_HEADERS)
            return -431;
        req->headers[req->nheaders++] = (struct pl_http_header){name, value};

        if (pl_http_str_ieq(name, "transfer-encoding"))
            return -501;
        if (pl_http_str_ieq(name, "content-length")) {
            size_t v = 0;
            if (value.n == 0 || value.n > 12)
                return -400;
            for (size_t k = 0; k < value.n; k++) {
                if (value.p[k] < '0' || value.p[k] > '9')
                    return -400;
                v = v * 10 + (size_t)(value.p[k] - '0');
            }
            /* Two different lengths are a smuggling attempt. */
            if (have_length && v != content_length)
                return -400;
            have_length = true;
            content_length = v;
        }
    }
    if (content_length > lim->max_body)
        return -413;

    const struct pl_http_str *conn = pl_http_header(req, "connection");
    if (req->minor >= 1)
        req->keep_alive = !(conn && has_token(*conn, "close"));
    else
        req->keep_alive = conn && has_token(*conn, "keep-alive");

    if (len - head < content_length)
        return 0;
    req->body = (struct pl_http_str){buf + head, content_length};
    return (long)(head + content_length);
}

/* Digits to a number; false on none, on a non-digit or on overflow past 2^60. */
static bool parse_u64(const char *p, size_t n, unsigned long long *out)
{
    unsigned long long v = 0;
    if (n == 0 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned long long)(p[i] - '0');
    }
    *out = v;
    return true;
}

int pl_http_range(const char *value, size_t len, unsigned long long size,
                  unsigned long long *first, unsigned long long *last)
{
    if (len < 7 || strncasecmp(value, "bytes=", 6) != 0)
        return 0;
    const char *p = value + 6;
    size_t n = len - 6;
    while (n && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (memchr(p, ',', n))
        return 0;
    const char *dash = memchr(p, '-', n);
    if (!dash)
        return 0;
    size_t a = (size_t)(dash - p), b = n - a - 1;
    unsigned long long x, y;
    if (a == 0) { /* suffix: the last y bytes */
        if (!parse_u64(dash + 1, b, &y))
            return 0;
        if (y == 0 || size == 0)
            return -1;
        *first = y >= size ? 0 : size - y;
        *last = size - 1;
        return 1;
    }
    if (!parse_u64(p, a, &x))
        return 0;
    if (b == 0) {
        y = size ? size - 1 : 0;
    } else {
        if (!parse_u64(dash + 1, b, &y) || y < x)
            return 0;
        if (y >= size)
            y = size ? size - 1 : 0;
    }
    if (x >= size)
        return -1;
    *first = x;
    *last = y;
    return 1;
}
