/* Crash recovery: <root>/<tenant>/<conference>/<session>/<recording>.parts folders whose lock
 * nobody holds were left by a process that died; each is finalised like a normal stop. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parley/log.h"
#include "rec_int.h"

static bool is_dir(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int recover_one(const char *session_dir, const char *name,
                       void (*on_done)(void *, const struct pl_rec_result *), void *user)
{
    char parts[4400], final_path[4400], lock[4500];
    size_t l = strlen(name);
    snprintf(parts, sizeof(parts), "%s/%s", session_dir, name);
    snprintf(final_path, sizeof(final_path), "%s/%.*s.mp4", session_dir, (int)(l - 6), name);
    snprintf(lock, sizeof(lock), "%s/lock", parts);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) { /* a live recorder owns it */
        close(fd);
        return 0;
    }
    int done = 0;
    if (access(final_path, F_OK) == 0) {
        /* Finalised, but the parts were not removed yet. */
        rec_remove_parts(parts);
    } else {
        struct pl_rec_result res;
        char err[256] = "";
        if (rec_finalise(parts, final_path, &res, err, sizeof(err)) == 0) {
            PL_INFO("recorder", "recovered %s", res.path);
            if (on_done)
                on_done(user, &res);
            pl_rec_result_free(&res);
            done = 1;
        } else {
            /* Kept for a human, renamed so that the next start does not try again. */
            char bad[4500];
            snprintf(bad, sizeof(bad), "%s.failed", parts);
            PL_ERROR("recorder", "cannot recover %s: %s (moved to %s)", parts, err, bad);
            rename(parts, bad);
        }
    }
    close(fd);
    return done;
}

/* Calls fn for every subfolder of dir (no dot names). */
static int each_dir(const char *dir, int depth, void (*on_done)(void *, const struct pl_rec_result *),
                    void *user)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4400];
        int w = snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (w < 0 || (size_t)w >= sizeof(p) - 300 || !is_dir(p))
            continue;
        if (depth < 3) {
            int r = each_dir(p, depth + 1, on_done, user);
            if (r > 0)
                n += r;
            continue;
        }
        size_t l = strlen(e->d_name);
        if (l > 6 && strcmp(e->d_name + l - 6, ".parts") == 0)
            n += recover_one(dir, e->d_name, on_done, user);
    }
    closedir(d);
    return n;
}

int pl_rec_recover(const char *root, void (*on_done)(void *user, const struct pl_rec_result *res),
                   void *user)
{
    if (!root || !is_dir(root))
        return -1;
    return each_dir(root, 0, on_done, user);
}
