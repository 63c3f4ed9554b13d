/* A small pool of non-blocking libpq connections on the libuv loop: statements wait in a FIFO
 * queue, each idle connection takes the next one (PQsendQueryParams), and a uv_poll on the
 * connection's socket drives PQflush / PQconsumeInput until the result is in. A connection
 * that breaks fails its statement (callback with NULL) and is re-opened before its next one;
 * the reconnect blocks the loop briefly, which only happens when the database went away. */
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "parley/log.h"

struct dbq {
    struct dbq *next;
    char *sql;
    int n;
    char **params;
    pl_db_cb cb;
    void *ctx;
};

struct dbconn {
    struct pl_db *db;
    PGconn *pg;
    uv_poll_t *poll;
    struct dbq *cur;
    PGresult *result;
};

struct pl_db {
    uv_loop_t *loop;
    char *url;
    int size;
    struct dbconn *conns;
    struct dbq *head, *tail;
    bool closing;
};

static void dispatch(struct pl_db *db);

static void q_free(struct dbq *q)
{
    for (int i = 0; i < q->n; i++)
        free(q->params[i]);
    free(q->params);
    free(q->sql);
    free(q);
}

static void poll_free(uv_handle_t *h)
{
    free(h);
}

static void drop_poll(struct dbconn *c)
{
    if (c->poll) {
        uv_poll_stop(c->poll);
        uv_close((uv_handle_t *)c->poll, poll_free);
        c->poll = NULL;
    }
}

/* Ends the current statement: runs its callback with res (NULL = failed connection). */
static void finish(struct dbconn *c, PGresult *res)
{
    struct dbq *q = c->cur;
    c->cur = NULL;
    c->result = NULL;
    if (c->poll)
        uv_poll_stop(c->poll);
    q->cb(q->ctx, res);
    if (res)
        PQclear(res);
    q_free(q);
}

static void broken(struct dbconn *c)
{
    PL_WARN("db", "connection lost: %s", PQerrorMessage(c->pg));
    drop_poll(c);
    if (c->result)
        PQclear(c->result);
    c->result = NULL;
    if (c->cur)
        finish(c, NULL);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct dbconn *c = p->data;
    if (!c->cur)
        return;
    if (status < 0) {
        broken(c);
        dispatch(c->db);
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(c->pg);
        if (f < 0) {
            broken(c);
            dispatch(c->db);
            return;
        }
        if (f == 0)
            uv_poll_start(p, UV_READABLE, on_poll);
    }
    if (events & UV_READABLE) {
        if (!PQconsumeInput(c->pg)) {
            broken(c);
            dispatch(c->db);
            return;
        }
        while (!PQisBusy(c->pg)) {
            PGresult *res = PQgetResult(c->pg);
            if (!res) {
                finish(c, c->result);
                dispatch(c->db);
                return;
            }
            /* One statement gives one result; keep the first. */
            if (c->result)
                PQclear(res);
            else
                c->result = res;
        }
    }
}

/* Connecting blocks the loop (libpq's synchronous connect), so it gives up after 5 s unless the
 * URL says otherwise: a database host that does not answer must not stall every request. */
static PGconn *connect_db(const char *url)
{
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const values[] = {"5", url, NULL};
    return PQconnectdbParams(keys, values, 1);
}

static bool ensure_connected(struct dbconn *c)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK && c->poll)
        return true;
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        if (c->pg)
            PQreset(c->pg);
        else
            c->pg = connect_db(c->db->url);
        if (PQstatus(c->pg) != CONNECTION_OK) {
            PL_WARN("db", "connect: %s", PQerrorMessage(c->pg));
            return false;
        }
        PQsetnonblocking(c->pg, 1);
    }
    c->poll = malloc(sizeof *c->poll);
    if (!c->poll || uv_poll_init(c->db->loop, c->poll, PQsocket(c->pg)) != 0) {
        free(c->poll);
        c->poll = NULL;
        return false;
    }
    c->poll->data = c;
    return true;
}

static void dispatch(struct pl_db *db)
{
    for (int i = 0; i < db->size && db->head && !db->closing; i++) {
        struct dbconn *c = &db->conns[i];
        if (c->cur)
            continue;
        struct dbq *q = db->head;
        db->head = q->next;
        if (!db->head)
            db->tail = NULL;
        c->cur = q;
        if (!ensure_connected(c) ||
            !PQsendQueryParams(c->pg, q->sql, q->n, NULL, (const char *const *)q->params, NULL,
                               NULL, 0)) {
            broken(c);
            continue;
        }
        int f = PQflush(c->pg);
        if (f < 0) {
            broken(c);
            continue;
        }
        uv_poll_start(c->poll, UV_READABLE | (f ? UV_WRITABLE : 0), on_poll);
    }
}

void pl_db_query(struct pl_db *db, const char *sql, int nparams, const char *const *params,
                 pl_db_cb cb, void *ctx)
{
    struct dbq *q = calloc(1, sizeof *q);
    if (q) {
        q->sql = strdup(sql);
        q->params = calloc((size_t)(nparams ? nparams : 1), sizeof *q->params);
        q->n = nparams;
    }
    bool ok = q && q->sql && q->params && !db->closing;
    for (int i = 0; ok && i < nparams; i++)
        if (params[i] && !(q->params[i] = strdup(params[i])))
            ok = false;
    if (!ok) {
        if (q)
            q_free(q);
        cb(ctx, NULL);
        return;
    }
    q->cb = cb;
    q->ctx = ctx;
    if (db->tail)
        db->tail->next = q;
    else
        db->head = q;
    db->tail = q;
    dispatch(db);
}

struct pl_db *pl_db_open(uv_loop_t *loop, const char *url, int size, char *err, size_t errlen)
{
    struct pl_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->loop = loop;
    db->size = size;
    db->url = strdup(url);
    db->conns = calloc((size_t)size, sizeof *db->conns);
    if (!db->url || !db->conns) {
        snprintf(err, errlen, "out of memory");
        pl_db_close(db);
        return NULL;
    }
    for (int i = 0; i < size; i++) {
        db->conns[i].db = db;
        if (!ensure_connected(&db->conns[i])) {
            snprintf(err, errlen, "%s", PQerrorMessage(db->conns[i].pg));
            pl_db_close(db);
            return NULL;
        }
    }
    return db;
}

/* Fails whatever is queued or running (callbacks get NULL), then closes the connections. */
void pl_db_close(struct pl_db *db)
{
    if (!db)
        return;
    db->closing = true;
    for (int i = 0; db->conns && i < db->size; i++) {
        struct dbconn *c = &db->conns[i];
        drop_poll(c);
        if (c->result)
            PQclear(c->result);
        c->result = NULL;
        if (c->cur)
            finish(c, NULL);
        if (c->pg)
            PQfinish(c->pg);
    }
    while (db->head) {
        struct dbq *q = db->head;
        db->head = q->next;
        q->cb(q->ctx, NULL);
        q_free(q);
    }
    free(db->conns);
    free(db->url);
    free(db);
}
