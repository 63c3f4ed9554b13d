/* A small HTTP/1.1 request parser for the control plane: request line, headers and a body
 * sized by Content-Length, with limits on both. It works on a buffer that may hold a partial
 * request (call again with more bytes) or several pipelined ones (one at a time). Nothing is
 * copied: the request's strings point into the caller's buffer. Chunked bodies are refused
 * (the control plane's clients send small JSON bodies with a length). */
#ifndef PARLEY_HTTP_H
#define PARLEY_HTTP_H
#include <stdbool.h>
#include <stddef.h>

#define PL_HTTP_MAX_HEADERS 32

struct pl_http_str {
    const char *p;
    size_t n;
};

struct pl_http_header {
    struct pl_http_str name;
    struct pl_http_str value;  /* surrounding spaces removed */
};

struct pl_http_request {
    struct pl_http_str method;
    struct pl_http_str target;  /* path and query as sent */
    int minor;                  /* HTTP/1.minor */
    struct pl_http_header headers[PL_HTTP_MAX_HEADERS];
    size_t nheaders;
    struct pl_http_str body;
    bool keep_alive;            /* HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive */
};

struct pl_http_limits {
    size_t max_head;  /* request line + headers, bytes */
    size_t max_body;  /* Content-Length, bytes */
};

/* Returns the number of bytes the complete request takes (> 0), 0 when more bytes are needed,
 * or a negative HTTP status for a bad request: -400 malformed, -413 body too large, -431 head
 * too large or too many headers, -501 Transfer-Encoding, -505 not HTTP/1.x. */
long pl_http_parse(const char *buf, size_t len, const struct pl_http_limits *lim,
                   struct pl_http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const struct pl_http_str *pl_http_header(const struct pl_http_request *req, const char *name);

/* Case-insensitive compare of a pl_http_str to a C string. */
bool pl_http_str_ieq(struct pl_http_str s, const char *c);

/* A Range header (RFC 9110 14.1.2) against a resource of `size` bytes: one "bytes=" range,
 * first-last, first- or -suffix. Returns 1 with [*first, *last] (inclusive) when satisfiable,
 * 0 when the header should be ignored (malformed, several ranges: serve the whole resource),
 * -1 when unsatisfiable (416). */
int pl_http_range(const char *value, size_t len, unsigned long long size,
                  unsigned long long *first, unsigned long long *last);

/* A static file of the web root for a request path (not decoded, without the query): "/" is
 * app.html; otherwise one segment of [A-Za-z0-9_.-] (no leading dot, no "..", at most 64
 * characters) ending in a known extension. Writes the file name to out and returns its
 * Content-Type, or NULL when the path names no static file. */
const char *pl_http_static_path(const char *path, size_t len, char *out, size_t outlen);
#endif
