/* Folders and files of a recording: id sanitising, mkdir -p, removing a parts folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec_int.h"

int pl_rec_sanitize_id(const char *id, char *out, size_t cap)
{
    if (!id || !*id || cap == 0)
        return -1;
    size_t n = strlen(id);
    if (n >= cap || n > 128)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (c == '.' && i > 0);
        out[i] = ok ? c : '_';
    }
    out[n] = 0;
    return 0;
}

int rec_mkdirs(const char *path)
{
    char p[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(p))
        return -1;
    memcpy(p, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0)
            continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0750) != 0 && errno != EEXIST)
            return -1;
        p[i] = c;
    }
    return 0;
}

int rec_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Removes the segment files and the lock of a parts folder, then the folder. Only regular
 * files directly inside are removed (nothing else is ours). */
int rec_remove_parts(const char *parts_dir)
{
    DIR *d = opendir(parts_dir);
    if (!d)
        return -1;
    struct dirent *e;
    char p[4400];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", parts_dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
            unlink(p);
    }
    closedir(d);
    return rmdir(parts_dir);
}
