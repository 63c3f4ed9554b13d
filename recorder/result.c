/* <recording>.result, next to <recording>.mp4: what a finished (or unrecoverable) recording
 * came to, kept until the caller says it was delivered. It is written and synced before the
 * final file is renamed into place, so no crash or stop can leave a final file whose result is
 * lost: recovery hands every one left over again. Text, one field a line; the path is not in
 * it (the file's own name gives it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_int.h"

#define RESULT_MAGIC "parley-recording-result 1"

int rec_result_path(const char *final_path, char *out, size_t cap)
{
    size_t n = strlen(final_path);
    if (n <= 4 || strcmp(final_path + n - 4, ".mp4") != 0 || n + 3 >= cap)
        return -1;
    snprintf(out, cap, "%.*s.result", (int)(n - 4), final_path);
    return 0;
}

/* A name on one line: control characters become '_'. */
static void one_line(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (unsigned char)in[i] < ' ' || in[i] == 0x7f ? '_' : in[i];
    out[i] = 0;
}

int rec_result_write(const char *final_path, const struct pl_rec_result *res)
{
    char path[4400], tmp[4500];
    if (rec_result_path(final_path, path, sizeof(path)) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -1;
    char line[256];
    fprintf(f, "%s\nstatus %s\nrecovered %d\nsize %llu\nduration %.6f\n", RESULT_MAGIC,
            res->failed ? "failed" : "complete", res->recovered ? 1 : 0,
            (unsigned long long)res->size, res->duration_s);
    if (res->failed) {
        one_line(res->error, line, sizeof(line));
        fprintf(f, "error %s\n", line);
    }
    for (size_t i = 0; i < res->n_tracks; i++) {
        const struct pl_rec_track_info *t = &res->tracks[i];
        char codec[8];
        one_line(t->codec, codec, sizeof(codec));
        one_line(t->name, line, sizeof(line));
        fprintf(f, "track %c %d %s %.6f %.6f %llu %s\n", t->kind == PL_REC_VIDEO ? 'v' : 'a',
                t->mix ? 1 : 0, codec[0] && !strchr(codec, ' ') ? codec : "-", t->start_s,
                t->duration_s, (unsigned long long)t->samples, line);
    }
    bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int rec_result_read(const char *result_path, struct pl_rec_result *res)
{
    memset(res, 0, sizeof(*res));
    size_t n = strlen(result_path);
    if (n <= 7 || strcmp(result_path + n - 7, ".result") != 0 || n >= sizeof(res->path))
        return -1;
    snprintf(res->path, sizeof(res->path), "%.*s.mp4", (int)(n - 7), result_path);
    FILE *f = fopen(result_path, "re");
    if (!f)
        return -1;
    char line[512];
    bool magic = false, status = false;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        unsigned long long u;
        double d, d2;
        int k, off = 0;
        char kind, codec[8];
        if (!magic) {
            magic = strcmp(line, RESULT_MAGIC) == 0;
            rc = magic ? 0 : -1;
        } else if (strcmp(line, "status complete") == 0 || strcmp(line, "status failed") == 0) {
            res->failed = line[7] == 'f';
            status = true;
        } else if (sscanf(line, "recovered %d", &k) == 1) {
            res->recovered = k != 0;
        } else if (sscanf(line, "size %llu", &u) == 1) {
            res->size = u;
        } else if (sscanf(line, "duration %lf", &d) == 1) {
            res->duration_s = d;
        } else if (strncmp(line, "error ", 6) == 0) {
            snprintf(res->error, sizeof(res->error), "%.*s", (int)sizeof(res->error) - 1, line + 6);
        } else if (sscanf(line, "track %c %d %7s %lf %lf %llu %n", &kind, &k, codec, &d, &d2,
                          &u, &off) == 6 && off > 0) {
            struct pl_rec_track_info *t = realloc(res->tracks, (res->n_tracks + 1) * sizeof(*t));
            if (!t) {
                rc = -1;
                break;
            }
            res->tracks = t;
            t = &res->tracks[res->n_tracks++];
            memset(t, 0, sizeof(*t));
            t->kind = kind == 'v' ? PL_REC_VIDEO : PL_REC_AUDIO;
            t->mix = k != 0;
            snprintf(t->codec, sizeof(t->codec), "%s", strcmp(codec, "-") ? codec : "");
            t->start_s = d;
            t->duration_s = d2;
            t->samples = u;
            snprintf(t->name, sizeof(t->name), "%.*s", (int)sizeof(t->name) - 1, line + off);
        }
    }
    fclose(f);
    if (rc != 0 || !magic || !status) {
        pl_rec_result_free(res);
        return -1;
    }
    return 0;
}

int pl_rec_result_delivered(const char *final_path)
{
    char path[4400];
    if (rec_result_path(final_path, path, sizeof(path)) != 0)
        return -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
