/* The meeting web app's files (web/) served by parley-control, GET and HEAD only. Which file a
 * path names is decided by pl_http_static_path (control/static_path.c, fuzzed): one segment, no
 * dots leading or doubled, known extensions only, so nothing outside --web-root is reachable.
 * The files are small (tens of KiB) and read whole on the loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_int.h"
#include "parley/log.h"

#define STATIC_MAX_BYTES (4 * 1024 * 1024)

bool ctl_static_serve(struct ctl_req *r)
{
    char name[80], full[4200];
    const char *type = pl_http_static_path(r->path, strlen(r->path), name, sizeof name);
    const char *root = r->ctl->cfg.web_root;
    if (!type || !root || !*root)
        return false;
    int n = snprintf(full, sizeof full, "%s/%s", root, name);
    if (n < 0 || (size_t)n >= sizeof full)
        return false;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_BYTES) {
        close(fd);
        return false;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = malloc(size ? size : 1);
    while (buf && got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf || got != size) {
        free(buf);
        PL_WARN("control", "static file %s: cannot read", full);
        ctl_reply_error(r, 500, "cannot read %s", name);
        return true;
    }
    r->head_only = strcmp(r->method, "HEAD") == 0;
    ctl_reply(r, 200, type, buf, size, "X-Content-Type-Options: nosniff\r\n");
    free(buf);
    return true;
}
