/* Finalisation (at stop and in recovery): reads the segment files of a parts folder back,
 * adds the mixed audio track, and writes the final moov-first MP4 next to it: ftyp, moov
 * (full sample tables, co64 chunk offsets, edit lists), one mdat with the chunks in time
 * order. Written as <final>.tmp and fsynced; the result (result.c) is synced next to it before
 * the rename, then the parts go. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parley/bytes.h"
#include "parley/log.h"
#include "rec_int.h"

#define MAX_SEGMENTS 65000 /* file numbers are 16-bit; UINT16_MAX is the mix */
#define MIX_CHUNK 50 /* one second of 20 ms frames */

/* The segment files, by number; at most OPEN_MAX_FILES are open at once (samples are read
 * in time order, so mostly from one file after the other). */
#define OPEN_MAX_FILES 32
struct src_files {
    char *path[MAX_SEGMENTS];
    int fd[MAX_SEGMENTS];     /* -1 when closed */
    uint64_t used[MAX_SEGMENTS];
    size_t n, open, tick;
    const struct pl_buf *mix;
};

static void close_files(struct src_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->fd[i] >= 0)
            close(f->fd[i]);
        f->fd[i] = -1;
        free(f->path[i]);
        f->path[i] = NULL;
    }
    f->n = f->open = 0;
}

static int file_fd(struct src_files *f, size_t i)
{
    f->used[i] = ++f->tick;
    if (f->fd[i] >= 0)
        return f->fd[i];
    if (f->open >= OPEN_MAX_FILES) { /* close the least recently used */
        size_t lru = SIZE_MAX;
        for (size_t k = 0; k < f->n; k++)
            if (f->fd[k] >= 0 && (lru == SIZE_MAX || f->used[k] < f->used[lru]))
                lru = k;
        close(f->fd[lru]);
        f->fd[lru] = -1;
        f->open--;
    }
    f->fd[i] = open(f->path[i], O_RDONLY | O_CLOEXEC);
    if (f->fd[i] >= 0)
        f->open++;
    return f->fd[i];
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int pread_all(int fd, uint64_t off, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return 0;
}

static int read_fd(void *ctx, uint64_t off, void *buf, size_t len)
{
    return pread_all(*(int *)ctx, off, buf, len);
}

static int read_sample(void *ctx, const struct pl_mp4_sample *s, uint8_t *buf)
{
    struct src_files *f = ctx;
    if (s->file == UINT16_MAX) {
        if (!f->mix || s->off + s->size > f->mix->len)
            return -1;
        memcpy(buf, f->mix->p + s->off, s->size);
        return 0;
    }
    if (s->file >= f->n)
        return -1;
    int fd = file_fd(f, s->file);
    return fd < 0 ? -1 : pread_all(fd, s->off, buf, s->size);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The segment files, sorted: six digits + ".mp4". */
static size_t list_segments(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        size_t l = strlen(e->d_name);
        if (l != 10 || strcmp(e->d_name + 6, ".mp4") != 0 ||
            strspn(e->d_name, "0123456789") != 6)
            continue;
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_name);
    return n;
}

static int cmp_track(const void *a, const void *b)
{
    const struct pl_mp4_track *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

struct chunk_ref {
    uint32_t track, chunk;
    double t;
};

static int cmp_chunk(const void *a, const void *b)
{
    const struct chunk_ref *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->track != y->track)
        return x->track < y->track ? -1 : 1;
    return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

/* Durations from decode times (which stay increasing), chunks from runs of samples that
 * follow each other in one source file (or MIX_CHUNK samples of the mix). */
static int prepare_track(struct pl_mp4_track *t, bool mix)
{
    for (size_t i = 0; i + 1 < t->n; i++) {
        if (t->s[i + 1].dts <= t->s[i].dts)
            t->s[i + 1].dts = t->s[i].dts + 1;
        t->s[i].dur = (uint32_t)(t->s[i + 1].dts - t->s[i].dts);
    }
    if (t->n && t->s[t->n - 1].dur == 0)
        t->s[t->n - 1].dur = 1;
    free(t->c);
    t->c = calloc(t->n ? t->n : 1, sizeof(*t->c));
    if (!t->c)
        return -1;
    t->nc = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct pl_mp4_chunk *c = t->nc ? &t->c[t->nc - 1] : NULL;
        bool join = c && (mix ? c->count < MIX_CHUNK
                              : (t->s[i - 1].file == t->s[i].file &&
                                 t->s[i - 1].off + t->s[i - 1].size == t->s[i].off));
        if (join) {
            c->count++;
        } else {
            t->c[t->nc++] = (struct pl_mp4_chunk){(uint32_t)i, 1, 0};
        }
    }
    if (t->video && t->entry_len >= 36) { /* the largest picture seen */
        pl_wr16(t->entry + 32, t->width);
        pl_wr16(t->entry + 34, t->height);
    }
    return 0;
}

static const char *codec_name(uint32_t fourcc)
{
    switch (fourcc) {
    case PL_FOURCC('v', 'p', '0', '8'): return "vp08";
    case PL_FOURCC('v', 'p', '0', '9'): return "vp09";
    case PL_FOURCC('a', 'v', 'c', '1'): return "avc1";
    default: return "Opus";
    }
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

int rec_finalise(const char *parts_dir, const char *final_path, bool recovered,
                 struct pl_rec_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    char **names = calloc(MAX_SEGMENTS, sizeof(*names));
    struct src_files *files = calloc(1, sizeof(*files)); /* ~1.5 MB: not on the stack */
    struct pl_mp4_in in = {0};
    struct pl_mp4_track *out = NULL;
    struct pl_mp4_track mix = {0};
    struct pl_buf mixdata = {0}, head = {0};
    struct chunk_ref *order = NULL;
    uint8_t *copy = NULL;
    int fd = -1, rc = -1, mrc = -1;
    size_t nseg = 0, nout = 0, bad_files = 0;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", final_path);
    if (!names || !files) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    nseg = list_segments(parts_dir, names, MAX_SEGMENTS);
    for (size_t i = 0; i < nseg; i++) {
        char p[4400];
        snprintf(p, sizeof(p), "%s/%s", parts_dir, names[i]);
        int sfd = open(p, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (sfd < 0 || fstat(sfd, &st) != 0) {
            if (sfd >= 0)
                close(sfd);
            continue;
        }
        int rrc = pl_mp4_read_file(&in, (uint16_t)files->n, (uint64_t)st.st_size, read_fd, &sfd);
        close(sfd);
        if (rrc != 0) { /* its number stays taken: samples read before an error point at it */
            PL_WARN("recorder", "%s: not a readable segment, skipped", p);
            bad_files++;
        }
        files->path[files->n] = strdup(p);
        files->fd[files->n] = -1;
        if (!files->path[files->n]) {
            set_err(err, errlen, "out of memory");
            goto out;
        }
        files->n++;
    }
    if (in.truncated)
        PL_INFO("recorder", "%s: a truncated fragment at the end was left out", parts_dir);
    if (in.n > 1)
        qsort(in.t, in.n, sizeof(*in.t), cmp_track);
    out = calloc(in.n + 1, sizeof(*out));
    if (!out) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    mrc = rec_opus_mix(in.t, in.n, read_sample, files, &mix, &mixdata);
    if (mrc < 0) {
        set_err(err, errlen, "mixing the audio failed");
        goto out;
    }
    files->mix = &mixdata;
    if (mrc == 0)
        out[nout++] = mix; /* the first audio track */
    for (size_t i = 0; i < in.n; i++)
        if (in.t[i].n > 0)
            out[nout++] = in.t[i]; /* shallow: in keeps ownership */
    if (nout == 0) {
        /* Nothing was ever recorded: nothing to keep or to recover later. */
        set_err(err, errlen, "%s holds no media", parts_dir);
        if (bad_files == 0)
            rec_remove_parts(parts_dir);
        goto out;
    }
    size_t nchunks = 0;
    for (size_t i = 0; i < nout; i++) {
        out[i].id = (uint32_t)(i + 1);
        if (prepare_track(&out[i], mrc == 0 && i == 0) != 0) {
            set_err(err, errlen, "out of memory");
            goto out;
        }
        nchunks += out[i].nc;
    }
    if (mrc == 0) { /* freed through mix */
        mix.c = out[0].c;
        mix.nc = out[0].nc;
    }
    order = calloc(nchunks, sizeof(*order));
    if (!order) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < nout; i++)
        for (size_t c = 0; c < out[i].nc; c++)
            order[k++] = (struct chunk_ref){(uint32_t)i, (uint32_t)c,
                                            (double)out[i].s[out[i].c[c].first].dts / out[i].timescale};
    qsort(order, nchunks, sizeof(*order), cmp_chunk);

    /* The head's size does not depend on the offsets (co64): measure, place, write again. */
    if (pl_mp4_write_final_head(&head, out, nout) != 0) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    uint64_t pos = head.len + 16; /* 16-byte mdat header (64-bit size) */
    uint64_t data_start = pos;
    for (size_t i = 0; i < nchunks; i++) {
        struct pl_mp4_track *t = &out[order[i].track];
        struct pl_mp4_chunk *c = &t->c[order[i].chunk];
        c->off = pos;
        for (uint32_t j = 0; j < c->count; j++)
            pos += t->s[c->first + j].size;
    }
    size_t head_len = head.len;
    head.len = 0;
    if (pl_mp4_write_final_head(&head, out, nout) != 0 || head.len != head_len) {
        set_err(err, errlen, "inconsistent moov size");
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    uint8_t mh[16];
    pl_wr32(mh, 1);
    memcpy(mh + 4, "mdat", 4);
    pl_wr64(mh + 8, pos - data_start + 16);
    if (write_all(fd, head.p, head.len) != 0 || write_all(fd, mh, 16) != 0) {
        set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t copy_cap = 0;
    for (size_t i = 0; i < nchunks; i++) {
        struct pl_mp4_track *t = &out[order[i].track];
        struct pl_mp4_chunk *c = &t->c[order[i].chunk];
        for (uint32_t j = 0; j < c->count; j++) {
            const struct pl_mp4_sample *s = &t->s[c->first + j];
            if (s->size > copy_cap) {
                free(copy);
                copy_cap = s->size;
                copy = malloc(copy_cap);
                if (!copy) {
                    set_err(err, errlen, "out of memory");
                    goto out;
                }
            }
            if (read_sample(files, s, copy) != 0 || write_all(fd, copy, s->size) != 0) {
                set_err(err, errlen, "copying samples into %s failed", tmp);
                goto out;
            }
        }
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        set_err(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;

    snprintf(res->path, sizeof(res->path), "%s", final_path);
    res->recovered = recovered;
    res->size = pos;
    res->tracks = calloc(nout, sizeof(*res->tracks));
    if (res->tracks)
        res->n_tracks = nout;
    for (size_t i = 0; i < nout && res->tracks; i++) {
        struct pl_mp4_track *t = &out[i];
        struct pl_rec_track_info *ti = &res->tracks[i];
        uint64_t md = t->s[t->n - 1].dts + t->s[t->n - 1].dur - t->s[0].dts;
        md = md > t->pre_skip ? md - t->pre_skip : 0;
        snprintf(ti->name, sizeof(ti->name), "%s", t->name);
        snprintf(ti->codec, sizeof(ti->codec), "%s", codec_name(t->fourcc));
        ti->kind = t->video ? PL_REC_VIDEO : PL_REC_AUDIO;
        ti->mix = mrc == 0 && i == 0;
        ti->start_s = (double)t->s[0].dts / t->timescale;
        ti->duration_s = (double)md / t->timescale;
        ti->samples = t->n;
        if (ti->start_s + ti->duration_s > res->duration_s)
            res->duration_s = ti->start_s + ti->duration_s;
    }
    /* The result is on disk before the file it describes: whoever gets the file gets it. */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", final_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (rec_result_write(final_path, res) != 0 || rec_fsync_dir(dir) != 0) {
        set_err(err, errlen, "cannot write the result of %s: %s", final_path, strerror(errno));
        pl_rec_result_delivered(final_path);
        goto out;
    }
    if (rename(tmp, final_path) != 0) {
        set_err(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
        pl_rec_result_delivered(final_path);
        goto out;
    }
    rec_fsync_dir(dir);
    close_files(files);
    if (rec_remove_parts(parts_dir) != 0)
        PL_WARN("recorder", "could not remove %s", parts_dir);
    PL_INFO("recorder", "%s: %zu tracks, %.1f s, %llu bytes", final_path, nout, res->duration_s,
            (unsigned long long)res->size);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        unlink(tmp);
        pl_rec_result_free(res);
    }
    if (files)
        close_files(files);
    for (size_t i = 0; names && i < nseg; i++)
        free(names[i]);
    free(names);
    free(files);
    /* out[] shares in's and mix's buffers but owns the input tracks' chunk arrays. */
    for (size_t i = (mrc == 0 ? 1 : 0); out && i < nout; i++)
        free(out[i].c);
    pl_mp4_in_free(&in);
    pl_mp4_track_free(&mix);
    pl_buf_free(&mixdata);
    pl_buf_free(&head);
    free(order);
    free(copy);
    free(out);
    return rc;
}
