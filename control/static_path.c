/* Which file of the web root a request path names, if any. Kept apart from the serving code
 * (control/static.c) so the check runs alone under the fuzzer: only "/" and single path
 * segments of [A-Za-z0-9_.-] with a known extension pass, so no path can leave the folder. */
#include <string.h>

#include "parley/http.h"

#define STATIC_NAME_MAX 64

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".png", "image/png"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
};

const char *pl_http_static_path(const char *path, size_t len, char *out, size_t outlen)
{
    if (!path || len == 0 || path[0] != '/' || outlen == 0)
        return NULL;
    const char *name = path + 1;
    size_t n = len - 1;
    if (n == 0) {
        name = "app.html";
        n = strlen(name);
    }
    if (n > STATIC_NAME_MAX || n + 1 > outlen || name[0] == '.')
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return NULL;
        if (c == '.' && i + 1 < n && name[i + 1] == '.')
            return NULL;
    }
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t el = strlen(types[k].ext);
        if (n > el && memcmp(name + n - el, types[k].ext, el) == 0) {
            memcpy(out, name, n);
            out[n] = '\0';
            return types[k].type;
        }
    }
    return NULL;
}
