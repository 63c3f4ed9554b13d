/* Crash recovery: <root>/<tenant>/<conference>/<session>/<recording>.parts folders whose lock
 * nobody holds were left by a process that died; each is finalised like a normal stop. Then
 * every <recording>.result still there (those, and earlier ones never delivered) is handed
 * to the caller. */
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

/* A recording that cannot be finished: its result says so (written first, so that a crash
 * in between only means trying again). */
static void set_aside(const char *parts, const char *final_path, const char *why)
{
    char bad[4500];
    snprintf(bad, sizeof(bad), "%s.failed", parts);
    PL_ERROR("recorder", "cannot recover %s: %s (moved to %s)", parts, why, bad);
    struct pl_rec_result res = {.failed = true, .recovered = true};
    snprintf(res.error, sizeof(res.error), "cannot recover the recording: %s", why);
    if (rec_result_write(final_path, &res) != 0)
        PL_WARN("recorder", "%s: cannot write its result", final_path);
    rename(parts, bad);
}

static int recover_one(const char *session_dir, const char *name)
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
        /* Finalised, but the parts were not removed yet: its result was written before the
         * file, so the second pass reports it. */
        rec_remove_parts(parts);
    } else {
        struct pl_rec_result res;
        char err[256] = "";
        if (rec_finalise(parts, final_path, true, &res, err, sizeof(err)) == 0) {
            PL_INFO("recorder", "recovered %s", res.path);
            pl_rec_result_free(&res);
            done = 1;
        } else {
            set_aside(parts, final_path, err); /* kept for a human, not tried again */
        }
    }
    close(fd);
    rec_fsync_dir(session_dir);
    return done;
}

/* A result left in a session folder: handed over unless its recording is still in parts (a
 * live one, or one just finalised whose parts are going). A complete result without its file
 * is stale (the file was removed by hand): it goes. */
static void hand_over(const char *session_dir, const char *name,
                      void (*on_done)(void *, const struct pl_rec_result *), void *user)
{
    char path[4400], parts[4400];
    snprintf(path, sizeof(path), "%s/%s", session_dir, name);
    snprintf(parts, sizeof(parts), "%s/%.*s.parts", session_dir, (int)(strlen(name) - 7), name);
    if (is_dir(parts))
        return;
    struct pl_rec_result res;
    if (rec_result_read(path, &res) != 0) {
        PL_WARN("recorder", "%s: not a readable result, left alone", path);
        return;
    }
    if (!res.failed && access(res.path, F_OK) != 0) {
        PL_WARN("recorder", "%s: its file is gone, the result goes too", path);
        unlink(path);
    } else if (on_done) {
        on_done(user, &res);
    }
    pl_rec_result_free(&res);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t l = strlen(s), n = strlen(suffix);
    return l > n && strcmp(s + l - n, suffix) == 0;
}

/* Walks the session folders (depth 3): first pass finishes .parts, second hands .result over. */
static int each_dir(const char *dir, int depth, int pass,
                    void (*on_done)(void *, const struct pl_rec_result *), void *user)
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
        if (w < 0 || (size_t)w >= sizeof(p) - 300)
            continue;
        if (depth < 3) {
            int r = is_dir(p) ? each_dir(p, depth + 1, pass, on_done, user) : 0;
            if (r > 0)
                n += r;
        } else if (pass == 1 && ends_with(e->d_name, ".parts") && is_dir(p)) {
            n += recover_one(dir, e->d_name);
        } else if (pass == 2 && ends_with(e->d_name, ".result")) {
            hand_over(dir, e->d_name, on_done, user);
        }
    }
    closedir(d);
    return n;
}

int pl_rec_recover(const char *root, void (*on_done)(void *user, const struct pl_rec_result *res),
                   void *user)
{
    if (!root || !is_dir(root))
        return -1;
    int n = each_dir(root, 0, 1, NULL, NULL);
    each_dir(root, 0, 2, on_done, user);
    return n;
}
