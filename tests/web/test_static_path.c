/* Unit tests of pl_http_static_path (control/static_path.c): which request paths name a file of
 * the web app, with which Content-Type, and every refusal (traversal, hidden files, subfolders,
 * unknown extensions, bad characters, long names, a small output buffer). */
#include <string.h>

#include "../unit/check.h"
#include "parley/http.h"

static const char *sp(const char *path, char *out, size_t outlen)
{
    return pl_http_static_path(path, strlen(path), out, outlen);
}

int main(void)
{
    char out[80];
    const char *type = sp("/", out, sizeof out);
    CHECK(type && strcmp(type, "text/html; charset=utf-8") == 0 && strcmp(out, "app.html") == 0);
    type = sp("/meet.js", out, sizeof out);
    CHECK(type && strcmp(type, "text/javascript; charset=utf-8") == 0 && strcmp(out, "meet.js") == 0);
    type = sp("/style.css", out, sizeof out);
    CHECK(type && strcmp(type, "text/css; charset=utf-8") == 0);
    type = sp("/a-b_c.1.png", out, sizeof out);
    CHECK(type && strcmp(type, "image/png") == 0 && strcmp(out, "a-b_c.1.png") == 0);

    const char *refused[] = {
        "", "app.js", "/..", "/../x.js", "/..x.js", "/x..js", "/.hidden.js", "/a/b.js", "//a.js",
        "/a.js/", "/%2e%2e/x.js", "/a%20b.js", "/a.txt", "/a.JS", "/js", "/.js", "/a.js?x",
        "/a\\b.js", "/0123456789012345678901234567890123456789012345678901234567890123.js",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        if (sp(refused[i], out, sizeof out)) {
            CHECK(!"refused path accepted");
            fprintf(stderr, "  accepted: \"%s\"\n", refused[i]);
        }
    }
    /* A NUL inside the path ends nothing: the length counts. */
    CHECK(pl_http_static_path("/a.js\0.css", 10, out, sizeof out) == NULL);
    /* The name must fit the buffer with its NUL. */
    CHECK(sp("/meet.js", out, 7) == NULL);
    CHECK(sp("/meet.js", out, 8) != NULL && strcmp(out, "meet.js") == 0);
    CHECK(pl_http_static_path(NULL, 0, out, sizeof out) == NULL);
    return check_result("static_path");
}
