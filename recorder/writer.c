/* The writer thread: takes the queued packets, assembles frames per track, places them on the
 * recording's timeline and writes a fragment (moof+mdat, fsynced) every fragment_us. A new
 * segment file (ftyp+moov+fragments) starts whenever a track is first ready, since a
 * fragmented file declares all its tracks up front. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parley/log.h"
#include "parley/rtp.h"
#include "parley/time.h"
#include "rec_int.h"

#define KEY_REQ_INTERVAL_US 500000
#define REBASE_LIMIT_S 3 /* RTP time this far from arrival time: the publisher restarted */

static struct rec_track *find_track(struct pl_recorder *r, int handle)
{
    for (size_t i = 0; i < r->ntracks; i++)
        if (r->tracks[i]->handle == handle)
            return r->tracks[i];
    return NULL;
}

static struct rec_participant *participant(struct pl_recorder *r, const char *id)
{
    for (size_t i = 0; i < r->nparts; i++)
        if (strcmp(r->parts_list[i]->id, id) == 0)
            return r->parts_list[i];
    if (r->nparts == REC_MAX_PARTICIPANTS)
        return NULL;
    struct rec_participant *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    snprintf(p->id, sizeof(p->id), "%s", id);
    r->parts_list[r->nparts++] = p;
    return p;
}

static void add_track(struct pl_recorder *r, struct rec_item *it)
{
    if (r->ntracks == REC_MAX_TRACKS)
        return;
    struct rec_track *t = calloc(1, sizeof(*t));
    if (!t)
        return;
    t->handle = it->track;
    t->cfg = it->cfg;
    snprintf(t->name, sizeof(t->name), "%s", it->name);
    t->cfg.name = t->name;
    t->part = participant(r, it->participant);
    t->cfg.participant_id = t->part ? t->part->id : "";
    pl_asm_init(&t->as, t->cfg.codec, r->jitter_ms);
    t->mp4.id = (uint32_t)t->handle;
    t->mp4.video = t->cfg.codec != PL_REC_OPUS;
    t->mp4.timescale = t->cfg.clock_rate;
    snprintf(t->mp4.name, sizeof(t->mp4.name), "%s", t->name);
    r->tracks[r->ntracks++] = t;
}

static void free_track(struct rec_track *t)
{
    pl_asm_free(&t->as);
    pl_mp4_track_free(&t->mp4);
    free(t->ps);
    pl_buf_free(&t->pdata);
    free(t);
}

static uint64_t ntp_to_us(uint64_t ntp)
{
    return (ntp >> 32) * 1000000ull + (((ntp & 0xffffffffull) * 1000000ull) >> 32);
}

static int64_t unwrap(struct rec_track *t, uint32_t ts)
{
    if (!t->have_ts) {
        t->have_ts = true;
        t->last_ts = ts;
        t->last_ext = (int64_t)1 << 32; /* room below for reordered earlier timestamps */
        return t->last_ext;
    }
    t->last_ext += (int32_t)(ts - t->last_ts);
    t->last_ts = ts;
    return t->last_ext;
}

static int64_t us_to_ticks(int64_t us, uint32_t clock) { return us * (int64_t)clock / 1000000; }
static int64_t ticks_to_us(int64_t ticks, uint32_t clock) { return ticks * 1000000 / (int64_t)clock; }

/* Lip sync: every track of a participant maps the publisher's NTP clock onto the timeline
 * with one offset (set by the first track that has both a base and a Sender Report); the
 * other tracks move their base onto it. */
static void sr_sync(struct rec_track *t)
{
    if (!t->has_sr || !t->based || !t->part)
        return;
    uint32_t clock = t->cfg.clock_rate;
    int64_t ext = t->last_ext + (int32_t)(t->sr_rtp - t->last_ts);
    int64_t pos_us = ticks_to_us(t->base_dts + (ext - t->base_ext), clock);
    if (!t->part->has_off) {
        t->part->has_off = true;
        t->part->off_us = pos_us - (int64_t)t->sr_ntp_us;
        return;
    }
    int64_t want_us = (int64_t)t->sr_ntp_us + t->part->off_us;
    int64_t delta = us_to_ticks(want_us - pos_us, clock);
    if (delta == 0 || llabs(delta) >= 2 * (int64_t)clock)
        return;
    t->base_dts += delta;
    /* The first Sender Report usually comes after the first frames, which were placed by
     * arrival time: while none is written yet, they move with the base. */
    if (!t->written && t->np > 0 && (int64_t)t->ps[0].dts + delta >= 0) {
        for (size_t i = 0; i < t->np; i++)
            t->ps[i].dts = (uint64_t)((int64_t)t->ps[i].dts + delta);
        t->last_dts += delta;
    }
}

/* The frame's decode time on the track's clock: RTP time relative to the track's base;
 * the base comes from the publisher's NTP clock when known, else from the arrival time. */
static int64_t frame_dts(struct pl_recorder *r, struct rec_track *t, uint32_t ts, uint64_t arrival)
{
    uint32_t clock = t->cfg.clock_rate;
    int64_t arr = arrival > r->t0 ? us_to_ticks((int64_t)(arrival - r->t0), clock) : 0;
    int64_t ext = unwrap(t, ts);
    int64_t floor = t->has_last ? t->last_dts + 1 : 0;
    if (!t->based) {
        int64_t base = arr;
        if (t->has_sr && t->part && t->part->has_off) {
            int64_t pos_us = (int64_t)t->sr_ntp_us +
                             ticks_to_us((int32_t)(ts - t->sr_rtp), clock) + t->part->off_us;
            int64_t d = us_to_ticks(pos_us, clock);
            if (d >= 0 && llabs(d - arr) < REBASE_LIMIT_S * (int64_t)clock)
                base = d;
        }
        t->based = true;
        t->base_ext = ext;
        t->base_dts = base > floor ? base : floor;
        sr_sync(t);
    }
    int64_t dts = t->base_dts + (ext - t->base_ext);
    if (llabs(dts - arr) > REBASE_LIMIT_S * (int64_t)clock) {
        PL_INFO("recorder", "track %d: timestamps jumped, rebased on arrival time", t->handle);
        t->base_ext = ext;
        t->base_dts = arr > floor ? arr : floor;
        dts = t->base_dts;
    }
    if (dts < floor)
        dts = floor;
    return dts;
}

static void request_key(struct pl_recorder *r, struct rec_track *t, uint64_t now)
{
    if (!r->on_keyframe || !t->mp4.video)
        return;
    if (t->key_req_sent && now - t->last_key_req < KEY_REQ_INTERVAL_US && now >= t->last_key_req)
        return;
    t->key_req_sent = true;
    t->last_key_req = now;
    r->on_keyframe(r->user, t->handle);
}

/* First frame of a track (first key frame for video): build its sample entry. */
static int make_ready(struct rec_track *t, const struct pl_depkt_frame *f)
{
    struct pl_mp4_entry_desc *d = &t->desc;
    memset(d, 0, sizeof(*d));
    d->codec = t->cfg.codec;
    if (t->cfg.codec == PL_REC_OPUS) {
        d->channels = (uint8_t)(t->cfg.channels ? t->cfg.channels : 2);
        d->pre_skip = (uint16_t)t->cfg.pre_skip;
        t->mp4.pre_skip = d->pre_skip;
        unsigned fs = f->samples ? f->samples : 960;
        t->mp4.roll = (int16_t)-(int)((3840 + fs - 1) / fs);
    } else {
        d->width = f->width;
        d->height = f->height;
        d->profile = f->profile;
        d->bit_depth = f->bit_depth;
        d->chroma = f->chroma;
        if (t->cfg.codec == PL_REC_H264) {
            memcpy(t->sps, f->sps, f->sps_len);
            memcpy(t->pps, f->pps, f->pps_len);
            d->sps = t->sps;
            d->sps_len = f->sps_len;
            d->pps = t->pps;
            d->pps_len = f->pps_len;
        }
        t->mp4.width = f->width;
        t->mp4.height = f->height;
    }
    struct pl_buf b = {0};
    if (pl_mp4_sample_entry(&b, d) != 0) {
        pl_buf_free(&b);
        return -1;
    }
    free(t->mp4.entry);
    t->mp4.entry = b.p;
    t->mp4.entry_len = b.len;
    t->mp4.fourcc = PL_FOURCC(b.p[4], b.p[5], b.p[6], b.p[7]);
    t->ready = true;
    return 0;
}

static uint32_t default_dur(const struct rec_track *t)
{
    if (t->np >= 2 && t->ps[t->np - 2].dur)
        return t->ps[t->np - 2].dur;
    return t->mp4.video ? t->cfg.clock_rate / 30 : 960 * (t->cfg.clock_rate / 48000);
}

static void add_sample(struct pl_recorder *r, struct rec_track *t, const struct pl_asm_out *o)
{
    const struct pl_depkt_frame *f = o->frame;
    if (!t->ready && make_ready(t, f) != 0) {
        PL_WARN("recorder", "track %d: no sample entry for its first frame", t->handle);
        return;
    }
    if (t->mp4.video && f->keyframe && (f->width > t->desc.width || f->height > t->desc.height)) {
        /* A larger picture: a new sample entry of the largest size so far, declared by a new
         * segment (the final file keeps the first entry with the largest size; decoders
         * take the size from the bitstream). */
        uint16_t w = f->width > t->desc.width ? f->width : t->desc.width;
        uint16_t h = f->height > t->desc.height ? f->height : t->desc.height;
        struct pl_depkt_frame big = *f;
        big.width = w;
        big.height = h;
        if (make_ready(t, &big) == 0)
            t->in_segment = false;
    }
    int64_t dts = frame_dts(r, t, o->ts, o->arrival_us);
    if (t->np == t->pcap) {
        size_t cap = t->pcap ? t->pcap * 2 : 64;
        struct pl_mp4_sample *n = realloc(t->ps, cap * sizeof(*n));
        if (!n)
            return;
        t->ps = n;
        t->pcap = cap;
    }
    size_t off = t->pdata.len;
    pl_buf_put(&t->pdata, f->data, f->len);
    if (t->pdata.err) {
        PL_ERROR("recorder", "out of memory for track %d", t->handle);
        t->pdata.err = false;
        t->pdata.len = off;
        return;
    }
    if (t->np > 0)
        t->ps[t->np - 1].dur = (uint32_t)(dts - t->ps[t->np - 1].dts);
    t->ps[t->np++] = (struct pl_mp4_sample){.dts = (uint64_t)dts, .off = off,
                                            .size = (uint32_t)f->len, .sync = f->keyframe};
    t->has_last = true;
    t->last_dts = dts;
    t->frames++;
}

static void drain(struct pl_recorder *r, struct rec_track *t, bool flush, uint64_t now)
{
    struct pl_asm_out o;
    bool want = false;
    while (pl_asm_pop(&t->as, flush, &o, &want) == 1)
        add_sample(r, t, &o);
    if (want || (t->as.need_key && t->as.count > 0))
        request_key(r, t, now);
}

static void on_rtp(struct pl_recorder *r, struct rec_item *it)
{
    struct rec_track *t = find_track(r, it->track);
    if (!t || t->removed)
        return;
    struct pl_rtp p;
    if (pl_rtp_parse(it->data, it->len, &p) != 0) {
        t->as.bad_packets++;
        return;
    }
    if (p.pt != t->cfg.payload_type)
        return;
    if (t->have_ssrc && p.ssrc != t->ssrc) {
        /* Publisher restart: what was buffered is from the old stream; timestamps restart. */
        PL_INFO("recorder", "track %d: new SSRC %08x, restarting", t->handle, p.ssrc);
        drain(r, t, true, it->arrival_us);
        pl_asm_reset(&t->as);
        t->have_ts = false;
        t->based = false;
        t->has_sr = false;
    }
    t->have_ssrc = true;
    t->ssrc = p.ssrc;
    pl_asm_push(&t->as, p.seq, p.ts, p.marker, p.payload, p.payload_len, it->arrival_us);
    drain(r, t, false, it->arrival_us);
}

static void on_sr(struct pl_recorder *r, struct rec_item *it)
{
    struct rec_track *t = find_track(r, it->track);
    if (!t || t->removed)
        return;
    t->has_sr = true;
    t->sr_ntp_us = ntp_to_us(it->ntp);
    t->sr_rtp = it->rtp_ts;
    if (t->based && t->have_ts)
        sr_sync(t);
}

/* The track ends: what is buffered comes out, the last sample gets a usual duration. */
static void finish_track(struct pl_recorder *r, struct rec_track *t, uint64_t now)
{
    drain(r, t, true, now);
    if (t->np > 0 && t->ps[t->np - 1].dur == 0)
        t->ps[t->np - 1].dur = default_dur(t);
    t->removed = true;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int start_segment(struct pl_recorder *r)
{
    if (r->seg_fd >= 0) {
        close(r->seg_fd);
        r->seg_fd = -1;
    }
    char path[4500];
    snprintf(path, sizeof(path), "%s/%06u.mp4", r->parts, ++r->seg_no);
    r->seg_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (r->seg_fd < 0) {
        PL_ERROR("recorder", "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    struct pl_mp4_track *list = calloc(r->ntracks ? r->ntracks : 1, sizeof(*list));
    if (!list)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < r->ntracks; i++) {
        struct rec_track *t = r->tracks[i];
        t->in_segment = t->ready && (!t->removed || t->np > 0);
        if (t->in_segment) {
            list[n] = t->mp4; /* shallow: the writer only reads */
            list[n].s = NULL;
            list[n].n = 0;
            n++;
        }
    }
    r->out.len = 0;
    int rc = pl_mp4_write_init(&r->out, list, n);
    free(list);
    if (rc != 0 || write_all(r->seg_fd, r->out.p, r->out.len) != 0 || fsync(r->seg_fd) != 0 ||
        rec_fsync_dir(r->parts) != 0) {
        PL_ERROR("recorder", "cannot write %s", path);
        return -1;
    }
    return 0;
}

/* Writes one fragment with every track's pending samples (but the last of a live track,
 * whose duration the next sample gives), fsynced. */
static void flush_fragment(struct pl_recorder *r, uint64_t now)
{
    r->last_flush_arrival = r->newest_arrival;
    r->last_flush_wall = pl_now_us();
    if (r->write_failed)
        return;
    size_t ready_n = 0;
    bool new_track = false;
    for (size_t i = 0; i < r->ntracks; i++) {
        struct rec_track *t = r->tracks[i];
        size_t n = t->removed ? t->np : (t->np ? t->np - 1 : 0);
        if (t->ready && n > 0) {
            ready_n++;
            if (!t->in_segment)
                new_track = true;
        }
    }
    if (ready_n == 0)
        return;
    if ((new_track || r->seg_fd < 0) && start_segment(r) != 0) {
        r->write_failed = true;
        return;
    }
    struct pl_mp4_frag_track *ft = calloc(ready_n, sizeof(*ft));
    if (!ft) {
        r->write_failed = true;
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->ntracks; i++) {
        struct rec_track *t = r->tracks[i];
        size_t n = t->removed ? t->np : (t->np ? t->np - 1 : 0);
        if (t->ready && n > 0)
            ft[k++] = (struct pl_mp4_frag_track){&t->mp4, t->ps, n, t->pdata.p};
    }
    r->out.len = 0;
    int rc = pl_mp4_write_fragment(&r->out, ++r->frag_seq, ft, k);
    free(ft);
    if (rc != 0 || write_all(r->seg_fd, r->out.p, r->out.len) != 0 || fdatasync(r->seg_fd) != 0) {
        PL_ERROR("recorder", "cannot write a fragment into %s: %s", r->parts, strerror(errno));
        r->write_failed = true;
        return;
    }
    /* Keep only the held-back sample of each live track. */
    for (size_t i = 0; i < r->ntracks; i++) {
        struct rec_track *t = r->tracks[i];
        if (!t->ready || t->np == 0)
            continue;
        t->written = true;
        if (t->removed) {
            t->np = 0;
            t->pdata.len = 0;
            continue;
        }
        struct pl_mp4_sample last = t->ps[t->np - 1];
        memmove(t->pdata.p, t->pdata.p + last.off, last.size);
        t->pdata.len = last.size;
        last.off = 0;
        t->ps[0] = last;
        t->np = 1;
    }
    (void)now;
}

/* Frees tracks that are removed and fully written. */
static void reap(struct pl_recorder *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->ntracks; i++) {
        struct rec_track *t = r->tracks[i];
        if (t->removed && t->np == 0)
            free_track(t);
        else
            r->tracks[k++] = t;
    }
    r->ntracks = k;
}

void *rec_writer_main(void *arg)
{
    struct pl_recorder *r = arg;
    r->last_flush_wall = pl_now_us();
    bool stop = false;
    while (!stop) {
        pthread_mutex_lock(&r->mu);
        if (!r->head && !r->stop_queued) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        struct rec_item *batch = r->head;
        r->head = r->tail = NULL;
        r->queued_bytes = 0;
        bool stop_flag = r->stop_queued;
        pthread_mutex_unlock(&r->mu);

        while (batch) {
            struct rec_item *it = batch;
            batch = it->next;
            if (it->arrival_us > r->newest_arrival)
                r->newest_arrival = it->arrival_us;
            switch (it->type) {
            case REC_IT_ADD: add_track(r, it); break;
            case REC_IT_RTP: on_rtp(r, it); break;
            case REC_IT_SR: on_sr(r, it); break;
            case REC_IT_REMOVE: {
                struct rec_track *t = find_track(r, it->track);
                if (t && !t->removed)
                    finish_track(r, t, it->arrival_us);
                break;
            }
            case REC_IT_STOP: stop = true; break;
            }
            free(it);
            if (r->newest_arrival - r->last_flush_arrival >= r->fragment_us && !stop) {
                flush_fragment(r, r->newest_arrival);
                reap(r);
            }
        }
        if (stop_flag && !stop)
            stop = true; /* stop asked without an item (out of memory) */
        if (!stop && pl_now_us() - r->last_flush_wall >= 2 * r->fragment_us) {
            flush_fragment(r, r->newest_arrival);
            reap(r);
        }
    }
    for (size_t i = 0; i < r->ntracks; i++)
        if (!r->tracks[i]->removed)
            finish_track(r, r->tracks[i], r->newest_arrival);
    flush_fragment(r, r->newest_arrival);
    for (size_t i = 0; i < r->ntracks; i++)
        free_track(r->tracks[i]);
    r->ntracks = 0;
    for (size_t i = 0; i < r->nparts; i++)
        free(r->parts_list[i]);
    r->nparts = 0;
    if (r->seg_fd >= 0) {
        if (fsync(r->seg_fd) != 0)
            r->write_failed = true;
        close(r->seg_fd);
        r->seg_fd = -1;
    }
    pl_buf_free(&r->out);
    /* Anything queued after STOP is dropped. */
    pthread_mutex_lock(&r->mu);
    while (r->head) {
        struct rec_item *it = r->head;
        r->head = it->next;
        free(it);
    }
    r->tail = NULL;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}
