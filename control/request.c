/* Small helpers handlers use on a request: the JSON body, its string members, roles, query
 * parameters. */
#include <string.h>

#include "ctl_int.h"

bool ctl_body_json(struct ctl_req *r)
{
    json_error_t e;
    r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!r->json || !json_is_object(r->json)) {
        ctl_reply_error(r, 400, "body must be a JSON object%s%s", r->json ? "" : ": ",
                        r->json ? "" : e.text);
        return false;
    }
    return true;
}

const char *ctl_json_str(struct ctl_req *r, const char *key, size_t max, bool required, bool *bad)
{
    json_t *v = json_object_get(r->json, key);
    if (!v || json_is_null(v)) {
        if (required) {
            *bad = true;
            ctl_reply_error(r, 400, "missing field \"%s\"", key);
        }
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) > max ||
        (required && json_string_length(v) == 0) ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        *bad = true;
        ctl_reply_error(r, 400, "field \"%s\" must be a string of 1 to %zu characters", key, max);
        return NULL;
    }
    return json_string_value(v);
}

static int role_rank(const char *role)
{
    if (strcmp(role, "admin") == 0)
        return 3;
    if (strcmp(role, "host") == 0)
        return 2;
    if (strcmp(role, "participant") == 0)
        return 1;
    return 0;
}

bool ctl_role_at_least(const char *role, const char *min)
{
    return role_rank(role) >= role_rank(min);
}

bool ctl_query_param(const char *query, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = seg - nl - 1;
            if (vl >= outlen)
                return false;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}
