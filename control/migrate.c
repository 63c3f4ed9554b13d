/* Applies the embedded migrations at start, on a blocking connection of its own, under a
 * session advisory lock so that two instances starting at once apply each migration once:
 * the second waits for the lock, then finds the versions already recorded. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl_int.h"
#include "migrations.h"
#include "parley/log.h"

#define MIGRATION_LOCK "7261726c6579"  /* any fixed 64-bit key: "parley" */

static bool exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

static int apply(PGconn *pg, char *err, size_t errlen)
{
    if (!exec_ok(pg, "SELECT pg_advisory_lock(x'" MIGRATION_LOCK "'::bigint)", err, errlen) ||
        !exec_ok(pg,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
                 " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                 err, errlen))
        return -1;
    for (int i = 0; i < pl_migrations_count; i++) {
        const struct pl_migration *m = &pl_migrations[i];
        char v[16];
        snprintf(v, sizeof v, "%d", m->version);
        const char *p[2] = {v, m->name};
        PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                                   NULL, p, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
            PQclear(r);
            return -1;
        }
        bool done = PQntuples(r) > 0;
        PQclear(r);
        if (done)
            continue;
        if (!exec_ok(pg, "BEGIN", err, errlen))
            return -1;
        r = PQexecParams(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                         NULL, p, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        if (!ok || !exec_ok(pg, m->sql, err, errlen) || !exec_ok(pg, "COMMIT", err, errlen)) {
            char ignored[8];
            exec_ok(pg, "ROLLBACK", ignored, sizeof ignored);
            return -1;
        }
        PL_INFO("db", "applied migration %d (%s)", m->version, m->name);
    }
    return 0;
}

int pl_db_migrate(const char *url, char *err, size_t errlen)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    int rc = apply(pg, err, errlen);
    /* The lock is released with the session in any case. */
    PQfinish(pg);
    return rc;
}
