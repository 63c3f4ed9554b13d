/* GET /files/{recording_id}?exp=UNIX&sig=HEX: the signed download of a complete recording.
 * The signature is HMAC-SHA256(--url-secret, "<recording_id>.<exp>"); a bad or expired one is
 * 403. The file streams from disk in 64 KiB reads on the libuv threadpool (uv_fs), each read
 * waiting for the previous write, with single-range support (206 / 416). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_int.h"
#include "parley/log.h"

#define CHUNK 65536

struct dl {
    struct ctl_req *r;
    uv_fs_t fs;
    uv_file fd;
    unsigned long long pos, end;  /* next byte, one past the last */
    char *chunk;
};

static void dl_finish(struct dl *d, bool ok)
{
    struct ctl_req *r = d->r;
    struct ctl_conn *conn = r->conn;
    if (d->fd >= 0) {
        uv_fs_t c;
        uv_fs_close(NULL, &c, d->fd, NULL); /* synchronous close of a regular file */
        uv_fs_req_cleanup(&c);
    }
    free(d->chunk);
    free(d);
    bool keep = ok && !ctl_conn_will_close(conn);
    r->data = NULL;
    r->free_data = NULL;
    ctl_req_free(r);
    ctl_conn_request_done(conn, keep);
}

/* Gives the request back before any byte of the body went out (the caller replies). */
static void dl_abandon(struct dl *d)
{
    struct ctl_req *r = d->r;
    if (d->fd >= 0) {
        uv_fs_t c;
        uv_fs_close(NULL, &c, d->fd, NULL);
        uv_fs_req_cleanup(&c);
    }
    free(d->chunk);
    free(d);
    r->data = NULL;
    r->free_data = NULL;
}

static void read_next(struct dl *d);

static void written(void *arg, int status)
{
    struct dl *d = arg;
    if (status < 0 || d->pos >= d->end) {
        dl_finish(d, status >= 0);
        return;
    }
    read_next(d);
}

static void on_read(uv_fs_t *req)
{
    struct dl *d = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    if (n <= 0) { /* the file shrank under us: the length is already promised, so close */
        PL_WARN("download", "read failed at %llu", d->pos);
        dl_finish(d, false);
        return;
    }
    d->pos += (unsigned long long)n;
    uv_buf_t b = uv_buf_init(d->chunk, (unsigned)n);
    d->chunk = malloc(CHUNK);
    if (!d->chunk) {
        free(b.base);
        dl_finish(d, false);
        return;
    }
    ctl_conn_send_cb(d->r->conn, &b, 1, written, d);
}

static void read_next(struct dl *d)
{
    unsigned long long left = d->end - d->pos;
    uv_buf_t b = uv_buf_init(d->chunk, (unsigned)(left < CHUNK ? left : CHUNK));
    d->fs.data = d;
    if (uv_fs_read(d->r->ctl->loop, &d->fs, d->fd, &b, 1, (int64_t)d->pos, on_read) != 0)
        dl_finish(d, false);
}

static void send_head(struct dl *d, int status, unsigned long long size)
{
    char *head = malloc(512);
    if (!head) {
        dl_finish(d, false);
        return;
    }
    unsigned long long len = d->end - d->pos;
    int n;
    if (status == 206)
        n = snprintf(head, 512,
                     "HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\n"
                     "Content-Length: %llu\r\nContent-Range: bytes %llu-%llu/%llu\r\n"
                     "Accept-Ranges: bytes\r\nCache-Control: no-store\r\n\r\n",
                     len, d->pos, d->end - 1, size);
    else
        n = snprintf(head, 512,
                     "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: %llu\r\n"
                     "Accept-Ranges: bytes\r\nCache-Control: no-store\r\n\r\n",
                     len);
    uv_buf_t b = uv_buf_init(head, (unsigned)n);
    if (d->r->head_only)
        d->end = d->pos;
    ctl_conn_send_cb(d->r->conn, &b, 1, written, d);
}

static void on_stat(uv_fs_t *req)
{
    struct dl *d = req->data;
    bool ok = req->result == 0 && S_ISREG(req->statbuf.st_mode);
    unsigned long long size = req->statbuf.st_size;
    uv_fs_req_cleanup(req);
    struct ctl_req *r = d->r;
    if (!ok) {
        dl_abandon(d);
        ctl_reply_error(r, 404, "the recording's file is missing");
        return;
    }
    int status = 200;
    d->pos = 0;
    d->end = size;
    if (r->range) {
        unsigned long long first, last;
        int rc = pl_http_range(r->range, strlen(r->range), size, &first, &last);
        if (rc < 0) {
            char hdr[64];
            snprintf(hdr, sizeof hdr, "Content-Range: bytes */%llu\r\n", size);
            dl_abandon(d);
            static const char msg416[] = "{\"error\":\"range not satisfiable\"}";
            ctl_reply(r, 416, "application/json", msg416, sizeof msg416 - 1,
                      hdr);
            return;
        }
        if (rc > 0) {
            status = 206;
            d->pos = first;
            d->end = last + 1;
        }
    }
    send_head(d, status, size);
}

static void on_open(uv_fs_t *req)
{
    struct dl *d = req->data;
    struct ctl_req *r = d->r;
    ssize_t fd = req->result;
    uv_fs_req_cleanup(req);
    if (fd < 0) {
        dl_abandon(d);
        ctl_reply_error(r, 404, "the recording's file is missing");
        return;
    }
    d->fd = (uv_file)fd;
    d->fs.data = d;
    if (uv_fs_fstat(r->ctl->loop, &d->fs, d->fd, on_stat) != 0) {
        dl_abandon(d);
        ctl_reply_error(r, 500, "cannot read the file");
    }
}

static void found(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "download");
        return;
    }
    if (PQntuples(res) == 0) {
        ctl_reply_error(r, 404, "no such recording");
        return;
    }
    struct dl *d = calloc(1, sizeof *d);
    if (!d || !(d->chunk = malloc(CHUNK))) {
        free(d);
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    d->r = r;
    d->fd = -1;
    d->fs.data = d;
    if (uv_fs_open(r->ctl->loop, &d->fs, PQgetvalue(res, 0, 0), O_RDONLY | O_CLOEXEC, 0,
                   on_open) != 0) {
        free(d->chunk);
        free(d);
        ctl_reply_error(r, 500, "cannot open the file");
    }
}

void api_download(struct ctl_req *r)
{
    char exp_s[24], sig[80], msg[CTL_ID_MAX + 32], want[65];
    if (!ctl_query_param(r->query, "exp", exp_s, sizeof exp_s) ||
        !ctl_query_param(r->query, "sig", sig, sizeof sig)) {
        ctl_reply_error(r, 403, "a signed URL is required");
        return;
    }
    char *end = NULL;
    long long exp = strtoll(exp_s, &end, 10);
    if (!exp_s[0] || *end || exp < (long long)time(NULL)) {
        ctl_reply_error(r, 403, "the link has expired or is malformed");
        return;
    }
    snprintf(msg, sizeof msg, "%s.%s", r->params[0], exp_s);
    ctl_hmac_hex(r->ctl->cfg.url_secret, msg, want);
    if (!ctl_const_eq(sig, want)) {
        ctl_reply_error(r, 403, "bad signature");
        return;
    }
    const char *p[1] = {r->params[0]};
    pl_db_query(r->ctl->db,
                "SELECT file_path FROM recordings WHERE id = $1 AND status = 'complete'", 1, p,
                found, r);
}
