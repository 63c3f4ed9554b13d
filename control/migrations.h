/* The migrations embedded in parley-control (schema.c), applied by migrate.c. */
#ifndef PARLEY_CTL_MIGRATIONS_H
#define PARLEY_CTL_MIGRATIONS_H

struct pl_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct pl_migration pl_migrations[];
extern const int pl_migrations_count;

#endif
