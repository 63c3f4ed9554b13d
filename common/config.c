/* Flags and PARLEY_* environment variables: defaults (already in *dst) < environment < argv. */
#include "parley/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int parse_int(const char *s, int *out)
{
    if (!s || !(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -1;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Stores value into o->dst; source names the flag or variable for the error message. */
static int apply(const struct pl_opt *o, const char *value, const char *source, char *err,
                 size_t errlen)
{
    switch (o->type) {
    case PL_OPT_INT: {
        int v;
        if (parse_int(value, &v) != 0) {
            set_err(err, errlen, "%s: invalid integer '%s'", source, value);
            return -1;
        }
        *(int *)o->dst = v;
        return 0;
    }
    case PL_OPT_BOOL: {
        bool v;
        if (parse_bool(value, &v) != 0) {
            set_err(err, errlen, "%s: invalid boolean '%s' (use true or false)", source, value);
            return -1;
        }
        *(bool *)o->dst = v;
        return 0;
    }
    case PL_OPT_STR:
        *(const char **)o->dst = value;
        return 0;
    }
    set_err(err, errlen, "%s: bad option type", source);
    return -1;
}

static const struct pl_opt *find_opt(const struct pl_opt *opts, size_t n, const char *name,
                                     size_t name_len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == name_len && memcmp(opts[i].name, name, name_len) == 0)
            return &opts[i];
    return NULL;
}

int pl_config_parse(const struct pl_opt *opts, size_t n, int argc, char **argv, int first,
                    int *rest_index, bool *help, char *err, size_t errlen)
{
    if (help)
        *help = false;
    if (rest_index)
        *rest_index = argc;
    if (err && errlen)
        err[0] = '\0';

    for (size_t i = 0; i < n; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (v && apply(&opts[i], v, opts[i].env, err, errlen) != 0)
            return -1;
    }

    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            if (rest_index)
                *rest_index = i + 1;
            return 0;
        }
        if (arg[0] != '-' || arg[1] == '\0') { /* first non-flag argument ("-" is one) */
            if (rest_index)
                *rest_index = i;
            return 0;
        }
        if (arg[1] != '-') {
            set_err(err, errlen, "unknown flag %s (flags are --name)", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        if (!eq && strcmp(name, "help") == 0) {
            if (help)
                *help = true;
            return 0;
        }
        const struct pl_opt *o = find_opt(opts, n, name, name_len);
        if (!o) {
            set_err(err, errlen, "unknown flag --%.*s", (int)name_len, name);
            return -1;
        }
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (o->type == PL_OPT_BOOL) {
            value = "true";
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            set_err(err, errlen, "missing value for --%s", o->name);
            return -1;
        }
        if (apply(o, value, arg, err, errlen) != 0)
            return -1;
    }
    return 0;
}

void pl_config_usage(const struct pl_opt *opts, size_t n, const char *prog, const char *what)
{
    static const char *const metavar[] = {[PL_OPT_INT] = "=N", [PL_OPT_STR] = "=VALUE",
                                          [PL_OPT_BOOL] = ""};
    size_t width = 0;
    for (size_t i = 0; i < n; i++) {
        size_t w = strlen(opts[i].name) + strlen(metavar[opts[i].type]);
        if (w > width)
            width = w;
    }
    printf("usage: %s [flags]%s%s\n\nflags:\n", prog ? prog : "", what ? "\n  " : "",
           what ? what : "");
    for (size_t i = 0; i < n; i++) {
        int pad = (int)(width - strlen(opts[i].name));
        printf("  --%s%-*s  %s", opts[i].name, pad, metavar[opts[i].type],
               opts[i].help ? opts[i].help : "");
        if (opts[i].env)
            printf(" [env %s]", opts[i].env);
        printf("\n");
    }
    printf("  --%-*s  print this help\n", (int)width, "help");
    fflush(stdout);
}
