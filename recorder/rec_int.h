/* Recorder internals shared by recorder/ files (not a public header). */
#ifndef PARLEY_RECORDER_REC_INT_H
#define PARLEY_RECORDER_REC_INT_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "parley/depkt.h"
#include "parley/mp4.h"
#include "parley/recorder.h"

#define REC_ID_MAX 129
#define REC_MAX_TRACKS 256        /* live at once (50 feeds x 2 and room) */
#define REC_MAX_HANDLES 60000      /* over a recording's life (joins, rejoins) */
#define REC_MAX_PARTICIPANTS 4096
/* A writer this far behind (disk stalled) makes the callers drop packets instead of growing
 * memory without bound: about 20 s of 50 feeds at 1 Mbit/s. */
#define REC_QUEUE_MAX_BYTES (128u << 20)

enum rec_item_type { REC_IT_RTP, REC_IT_SR, REC_IT_ADD, REC_IT_REMOVE, REC_IT_STOP };

/* What the callers' threads hand the writer thread. */
struct rec_item {
    struct rec_item *next;
    enum rec_item_type type;
    int track;
    uint64_t arrival_us;
    uint64_t ntp;
    uint32_t rtp_ts;
    struct pl_rec_track_config cfg; /* ADD: strings point into name/participant below */
    char name[128];
    char participant[REC_ID_MAX];
    size_t len;
    uint8_t data[];
};

struct rec_participant {
    char id[REC_ID_MAX];
    bool has_off;
    int64_t off_us; /* recording timeline = publisher NTP time + off_us */
};

struct rec_track {
    int handle;
    struct pl_rec_track_config cfg;
    char name[128];
    struct rec_participant *part;
    struct pl_assembler as;
    bool removed;
    bool ready;        /* the sample entry is known (first key frame / first packet) */
    bool in_segment;   /* declared in the current segment's moov */
    struct pl_mp4_track mp4;   /* id, name, entry (no samples: those are pending) */
    struct pl_mp4_entry_desc desc;
    uint8_t sps[256], pps[256];
    /* timeline (writer thread) */
    bool have_ssrc;
    uint32_t ssrc;
    bool have_ts;
    uint32_t last_ts;
    int64_t last_ext;  /* unwrapped RTP timestamp of last_ts */
    bool based;
    int64_t base_ext, base_dts;
    bool has_last;
    int64_t last_dts;
    bool has_sr;
    uint64_t sr_ntp_us;
    uint32_t sr_rtp;
    uint64_t last_key_req;
    bool key_req_sent;
    /* samples waiting for the next fragment; the last one's duration is not known yet */
    struct pl_mp4_sample *ps;
    size_t np, pcap;
    bool written;      /* some of its samples are on disk (their times are final) */
    struct pl_buf pdata;
    uint64_t frames;
};

struct pl_recorder {
    char dir[4096];        /* <root>/<tenant>/<conference>/<session> */
    char parts[4400];      /* <dir>/<recording>.parts */
    char final_path[4400]; /* <dir>/<recording>.mp4 */
    int lock_fd;
    uint64_t t0;
    uint64_t fragment_us;
    unsigned jitter_ms;
    pl_rec_keyframe_cb on_keyframe;
    void *user;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct rec_item *head, *tail;
    int next_handle;
    bool stop_queued;
    size_t queued_bytes;    /* RTP bytes waiting for the writer */
    uint64_t dropped_packets; /* refused because the writer is that far behind */

    /* writer thread only */
    struct rec_track *tracks[REC_MAX_TRACKS];
    size_t ntracks;
    struct rec_participant *parts_list[REC_MAX_PARTICIPANTS];
    size_t nparts;
    int seg_fd;
    unsigned seg_no;
    uint32_t frag_seq;
    uint64_t newest_arrival;
    uint64_t last_flush_arrival;
    uint64_t last_flush_wall;
    bool write_failed;
    struct pl_buf out;
};

void *rec_writer_main(void *arg);

/* finalise.c: parts folder -> final moov-first file (with the mix) and its .result, then the
 * parts go. recovered: finished by recovery (said in the result). */
int rec_finalise(const char *parts_dir, const char *final_path, bool recovered,
                 struct pl_rec_result *res, char *err, size_t errlen);

/* result.c: <recording>.result next to <recording>.mp4 (written tmp + fsync + rename; the
 * caller fsyncs the folder). read fills res (path from the file's name); free it. */
int rec_result_path(const char *final_path, char *out, size_t cap);
int rec_result_write(const char *final_path, const struct pl_rec_result *res);
int rec_result_read(const char *result_path, struct pl_rec_result *res);

/* opus_mix.c: decodes the Opus tracks, mixes them on the timeline, encodes one mono track.
 * read(ctx, sample, buf) fills buf (sample->size bytes). */
typedef int (*rec_sample_read_fn)(void *ctx, const struct pl_mp4_sample *s, uint8_t *buf);
int rec_opus_mix(const struct pl_mp4_track *t, size_t n, rec_sample_read_fn read, void *ctx,
                 struct pl_mp4_track *out, struct pl_buf *data);

/* paths.c */
int rec_mkdirs(const char *path);
int rec_remove_parts(const char *parts_dir);
int rec_fsync_dir(const char *path);

#endif
