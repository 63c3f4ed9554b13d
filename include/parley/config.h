/* Configuration from command-line flags, each with a PARLEY_* environment variable.
 * Precedence: built-in default < environment < command line. */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

enum pl_opt_type { PL_OPT_INT, PL_OPT_STR, PL_OPT_BOOL };

struct pl_opt {
    const char *name;  /* flag name without dashes: "port" is --port VALUE or --port=VALUE */
    const char *env;   /* environment variable, e.g. "PARLEY_PORT" */
    enum pl_opt_type type;
    void *dst;         /* int *, const char ** (points into argv/env, not copied), bool * */
    const char *help;
};

/* Parses env then argv[first..argc). Unknown flags, missing values and bad numbers are errors:
 * returns -1 with a message in err. Non-flag arguments are left: *rest_index is set to the
 * index of the first non-flag argument (argc if none). "--help" sets *help to true. */
int pl_config_parse(const struct pl_opt *opts, size_t n, int argc, char **argv, int first,
                    int *rest_index, bool *help, char *err, size_t errlen);
void pl_config_usage(const struct pl_opt *opts, size_t n, const char *prog, const char *what);

#endif
