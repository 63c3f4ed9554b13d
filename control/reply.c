/* Responses: a status line, fixed headers, the body; errors are {"error": "..."}. Every reply
 * ends its request (frees it) and lets the connection read the next one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "parley/log.h"

const char *ctl_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

void ctl_req_free(struct ctl_req *r)
{
    if (!r)
        return;
    if (r->free_data)
        r->free_data(r->data);
    json_decref(r->json);
    free(r->path);
    free(r->query);
    free(r->body);
    free(r->bearer);
    free(r->range);
    for (int i = 0; i < r->nparams; i++)
        free(r->params[i]);
    free(r);
}

void ctl_reply(struct ctl_req *r, int status, const char *type, const char *body, size_t len,
               const char *extra_headers)
{
    struct ctl_conn *conn = r->conn;
    bool keep = true;
    size_t hcap = 512 + (extra_headers ? strlen(extra_headers) : 0);
    char *head = malloc(hcap);
    char *copy = len ? malloc(len) : NULL;
    if (!head || (len && !copy)) {
        free(head);
        free(copy);
        ctl_req_free(r);
        ctl_conn_request_done(conn, false);
        return;
    }
    int hn = snprintf(head, hcap,
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n%s\r\n",
                      status, ctl_status_text(status), type, len,
                      extra_headers ? extra_headers : "");
    uv_buf_t bufs[2] = {uv_buf_init(head, (unsigned)hn), uv_buf_init(copy, (unsigned)len)};
    if (len && !r->head_only)
        memcpy(copy, body, len);
    unsigned nb = (len && !r->head_only) ? 2 : 1;
    if (nb == 1)
        free(copy);
    PL_DEBUG("http", "%s %s -> %d", r->method, r->path, status);
    ctl_req_free(r);
    /* The connection decided at parse time whether it stays open. */
    ctl_conn_send(conn, bufs, nb, true);
    ctl_conn_request_done(conn, keep);
}

void ctl_reply_json(struct ctl_req *r, int status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s) {
        ctl_reply(r, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL);
        return;
    }
    ctl_reply(r, status, "application/json", s, strlen(s), NULL);
    free(s);
}

void ctl_reply_error(struct ctl_req *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctl_reply_json(r, status, json_pack("{s:s}", "error", msg));
}

void ctl_reply_db_error(struct ctl_req *r, PGresult *res, const char *what)
{
    if (!res) {
        ctl_reply_error(r, 503, "database unavailable");
        return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state && (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0)) {
        ctl_reply_error(r, 409, "%s: already exists", what);
        return;
    }
    if (state && (strncmp(state, "22", 2) == 0 || strcmp(state, "23514") == 0 ||
                  strcmp(state, "23503") == 0)) {
        PL_WARN("db", "%s: %s", what, PQresultErrorMessage(res));
        ctl_reply_error(r, 400, "%s: invalid value", what);
        return;
    }
    PL_ERROR("db", "%s: %s", what, PQresultErrorMessage(res));
    ctl_reply_error(r, 500, "%s failed", what);
}
