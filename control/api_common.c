/* Endpoints whose answer PostgreSQL builds: one statement, each row one JSON text value. */
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"

struct sql_json {
    int status;
    char *list_key;
    char *missing;
};

static void free_sql_json(void *p)
{
    struct sql_json *s = p;
    if (s) {
        free(s->list_key);
        free(s->missing);
        free(s);
    }
}

static void done(void *ctx, PGresult *res)
{
    struct ctl_req *r = ctx;
    struct sql_json *s = r->data;
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        ctl_reply_db_error(r, res, "query");
        return;
    }
    int n = PQntuples(res);
    if (s->list_key) {
        json_t *arr = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_loads(PQgetvalue(res, i, 0), 0, NULL));
        ctl_reply_json(r, s->status, json_pack("{s:o}", s->list_key, arr));
        return;
    }
    if (n == 0 || PQgetisnull(res, 0, 0)) {
        ctl_reply_error(r, 404, "%s", s->missing ? s->missing : "not found");
        return;
    }
    const char *v = PQgetvalue(res, 0, 0);
    ctl_reply(r, s->status, "application/json", v, strlen(v), NULL);
}

void ctl_sql_json(struct ctl_req *r, const char *sql, int n, const char *const *params,
                  int status, const char *list_key, const char *missing)
{
    struct sql_json *s = calloc(1, sizeof *s);
    if (!s) {
        ctl_reply_error(r, 500, "out of memory");
        return;
    }
    s->status = status;
    s->list_key = list_key ? strdup(list_key) : NULL;
    s->missing = missing ? strdup(missing) : NULL;
    /* The old state may hold the parameters: free it only once they are copied. */
    void *old = r->data;
    void (*old_free)(void *) = r->free_data;
    r->data = s;
    r->free_data = free_sql_json;
    pl_db_query(r->ctl->db, sql, n, params, done, r);
    if (old_free)
        old_free(old);
}
