/* The recorder's API: callers' threads only queue copies of their input; the writer thread
 * (writer.c) does the work. pl_rec_stop joins it and finalises (finalise.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "parley/log.h"
#include "parley/time.h"
#include "rec_int.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

struct pl_recorder *pl_rec_open(const struct pl_rec_config *cfg, char *err, size_t errlen)
{
    char ids[4][REC_ID_MAX], rec[REC_ID_MAX];
    const char *in[4] = {cfg->tenant_id, cfg->conference_id, cfg->session_id, NULL};
    if (!cfg->root || !*cfg->root) {
        set_err(err, errlen, "no recordings root");
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        if (pl_rec_sanitize_id(in[i], ids[i], sizeof(ids[i])) != 0) {
            set_err(err, errlen, "bad id (empty or longer than 128)");
            return NULL;
        }
    }
    if (pl_rec_sanitize_id(cfg->recording_id, rec, sizeof(rec)) != 0) {
        set_err(err, errlen, "bad recording id (empty or longer than 128)");
        return NULL;
    }
    struct pl_recorder *r = calloc(1, sizeof(*r));
    if (!r) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    r->lock_fd = -1;
    r->seg_fd = -1;
    int n = snprintf(r->dir, sizeof(r->dir), "%s/%s/%s/%s", cfg->root, ids[0], ids[1], ids[2]);
    if (n < 0 || (size_t)n >= sizeof(r->dir) - 200) {
        set_err(err, errlen, "root path too long");
        free(r);
        return NULL;
    }
    snprintf(r->parts, sizeof(r->parts), "%s/%s.parts", r->dir, rec);
    snprintf(r->final_path, sizeof(r->final_path), "%s/%s.mp4", r->dir, rec);
    if (access(r->final_path, F_OK) == 0) {
        set_err(err, errlen, "%s exists already", r->final_path);
        free(r);
        return NULL;
    }
    if (rec_mkdirs(r->parts) != 0) {
        set_err(err, errlen, "cannot create %s: %s", r->parts, strerror(errno));
        free(r);
        return NULL;
    }
    char lock[4500];
    snprintf(lock, sizeof(lock), "%s/lock", r->parts);
    r->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (r->lock_fd < 0 || flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        set_err(err, errlen, "%s is being recorded already", r->parts);
        if (r->lock_fd >= 0)
            close(r->lock_fd);
        free(r);
        return NULL;
    }
    r->t0 = cfg->start_us ? cfg->start_us : pl_now_us();
    r->fragment_us = (uint64_t)(cfg->fragment_ms ? cfg->fragment_ms : 1000) * 1000;
    r->jitter_ms = cfg->jitter_ms ? cfg->jitter_ms : 200;
    r->on_keyframe = cfg->on_keyframe;
    r->user = cfg->user;
    r->next_handle = 1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, rec_writer_main, r) != 0) {
        set_err(err, errlen, "cannot start the writer thread");
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        close(r->lock_fd);
        free(r);
        return NULL;
    }
    r->thread_started = true;
    PL_INFO("recorder", "recording into %s", r->parts);
    return r;
}

static void enqueue(struct pl_recorder *r, struct rec_item *it)
{
    pthread_mutex_lock(&r->mu);
    if (r->stop_queued) {
        pthread_mutex_unlock(&r->mu);
        free(it);
        return;
    }
    if (it->type == REC_IT_RTP) {
        if (r->queued_bytes + it->len > REC_QUEUE_MAX_BYTES) {
            if (r->dropped_packets++ % 10000 == 0)
                PL_WARN("recorder", "writer behind: %llu packets dropped",
                        (unsigned long long)r->dropped_packets);
            pthread_mutex_unlock(&r->mu);
            free(it);
            return;
        }
        r->queued_bytes += it->len;
    }
    if (it->type == REC_IT_STOP)
        r->stop_queued = true;
    bool was_empty = r->head == NULL;
    if (r->tail)
        r->tail->next = it;
    else
        r->head = it;
    r->tail = it;
    if (was_empty)
        pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int pl_rec_add_track(struct pl_recorder *r, const struct pl_rec_track_config *cfg)
{
    bool video = cfg->codec != PL_REC_OPUS;
    if (!r || cfg->codec > PL_REC_OPUS || (cfg->kind == PL_REC_VIDEO) != video ||
        cfg->clock_rate < 1000 || cfg->clock_rate > 1000000 ||
        (!video && cfg->clock_rate != 48000) || cfg->channels > 2 || cfg->pre_skip > 0xffff)
        return -1;
    struct rec_item *it = calloc(1, sizeof(*it));
    if (!it)
        return -1;
    it->type = REC_IT_ADD;
    it->cfg = *cfg;
    snprintf(it->name, sizeof(it->name), "%s", cfg->name && *cfg->name ? cfg->name : "track");
    snprintf(it->participant, sizeof(it->participant), "%s",
             cfg->participant_id ? cfg->participant_id : "");
    it->cfg.name = it->name;
    it->cfg.participant_id = it->participant;
    pthread_mutex_lock(&r->mu);
    if (r->next_handle > REC_MAX_HANDLES) {
        pthread_mutex_unlock(&r->mu);
        free(it);
        return -1;
    }
    it->track = r->next_handle++;
    pthread_mutex_unlock(&r->mu);
    int h = it->track;
    enqueue(r, it);
    return h;
}

void pl_rec_feed_rtp(struct pl_recorder *r, int track, const uint8_t *pkt, size_t len,
                     uint64_t arrival_us)
{
    if (!r || !pkt || len < 12 || len > 16384)
        return;
    struct rec_item *it = malloc(sizeof(*it) + len);
    if (!it)
        return;
    memset(it, 0, sizeof(*it));
    it->type = REC_IT_RTP;
    it->track = track;
    it->arrival_us = arrival_us;
    it->len = len;
    memcpy(it->data, pkt, len);
    enqueue(r, it);
}

void pl_rec_feed_sr(struct pl_recorder *r, int track, uint64_t ntp, uint32_t rtp_ts,
                    uint64_t arrival_us)
{
    if (!r)
        return;
    struct rec_item *it = calloc(1, sizeof(*it));
    if (!it)
        return;
    it->type = REC_IT_SR;
    it->track = track;
    it->ntp = ntp;
    it->rtp_ts = rtp_ts;
    it->arrival_us = arrival_us;
    enqueue(r, it);
}

void pl_rec_remove_track(struct pl_recorder *r, int track, uint64_t arrival_us)
{
    if (!r)
        return;
    struct rec_item *it = calloc(1, sizeof(*it));
    if (!it)
        return;
    it->type = REC_IT_REMOVE;
    it->track = track;
    it->arrival_us = arrival_us;
    enqueue(r, it);
}

int pl_rec_stop(struct pl_recorder *r, struct pl_rec_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    struct rec_item *it = calloc(1, sizeof(*it));
    if (it) {
        it->type = REC_IT_STOP;
        enqueue(r, it);
    } else {
        pthread_mutex_lock(&r->mu);
        r->stop_queued = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    pthread_join(r->thread, NULL);
    bool failed = r->write_failed;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    int rc = -1;
    if (failed)
        set_err(err, errlen, "writing %s failed; its parts stay for recovery", r->parts);
    else
        rc = rec_finalise(r->parts, r->final_path, false, out, err, errlen);
    close(r->lock_fd); /* after finalising: recovery must not touch it meanwhile */
    free(r);
    return rc;
}

void pl_rec_result_free(struct pl_rec_result *res)
{
    free(res->tracks);
    memset(res, 0, sizeof(*res));
}
