/* The embedded recorder: RTP of many participants in, one MP4 out.
 *
 * A recording lives in <root>/<tenant>/<conference>/<session>/ (ids sanitised: only
 * [A-Za-z0-9._-], no leading dot, at most 128 bytes). While it runs, a writer thread writes
 * fragmented MP4 (moof+mdat every fragment_ms, each fsynced) into <recording>.parts/; at stop,
 * the final moov-first <recording>.mp4 is built from those parts (with a mixed audio track as
 * the first audio track) and the parts are removed. A recording interrupted by a crash is
 * finished the same way by pl_rec_recover() at the next start. What a recording came to is
 * also kept in <recording>.result, synced before the final file appears, until the caller says
 * it was delivered (pl_rec_result_delivered); pl_rec_recover hands over every one left over,
 * so a result is never lost to a crash or a stop. docs/recorder.md has the rest.
 *
 * Threads. pl_rec_open/add_track/feed_rtp/feed_sr/remove_track may be called from one media
 * thread (or several, they take a short mutex): they copy their input into a queue and return;
 * the recorder's own thread depacketizes, assembles frames and writes. pl_rec_stop and
 * pl_rec_recover block on disk (seconds for a long recording): call them from a worker
 * (uv_queue_work), never from a loop thread. */
#ifndef PARLEY_RECORDER_H
#define PARLEY_RECORDER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pl_rec_kind { PL_REC_AUDIO = 0, PL_REC_VIDEO = 1 };
enum pl_rec_codec { PL_REC_VP8 = 0, PL_REC_VP9, PL_REC_H264, PL_REC_OPUS };

/* Called on the recorder's thread when a video track needs a key frame (new track, loss):
 * forward it as a PLI/FIR to the publisher (post it to the media thread). At most one call
 * per track per 500 ms. */
typedef void (*pl_rec_keyframe_cb)(void *user, int track);

struct pl_rec_config {
    const char *root;          /* recordings root folder (created if missing) */
    const char *tenant_id;
    const char *conference_id;
    const char *session_id;
    const char *recording_id;
    uint64_t start_us;         /* timeline zero on the arrival clock (pl_now_us()); 0 = now */
    unsigned fragment_ms;      /* fragment length, 0 = 1000 (the writer cuts every 1-2 s) */
    unsigned jitter_ms;        /* reorder wait before a gap is a loss, 0 = 200 */
    pl_rec_keyframe_cb on_keyframe;  /* may be NULL */
    void *user;
};

struct pl_rec_track_config {
    enum pl_rec_kind kind;     /* must match the codec */
    enum pl_rec_codec codec;
    uint8_t payload_type;      /* packets with another payload type are ignored (RTX, FEC) */
    uint32_t clock_rate;       /* 90000 video, 48000 Opus */
    const char *name;          /* whose it is, e.g. "Alice video": the track's handler name */
    const char *participant_id; /* tracks of one participant are synced by Sender Reports */
    unsigned channels;         /* Opus: 1 or 2 (0 = 2, what WebRTC negotiates) */
    unsigned pre_skip;         /* Opus: samples at 48 kHz the decoder drops (0 for RTP) */
};

struct pl_recorder;

/* Creates the folders, takes the recording's lock and starts the writer thread. NULL on
 * error with a message in err. */
struct pl_recorder *pl_rec_open(const struct pl_rec_config *cfg, char *err, size_t errlen);

/* Adds a track; returns its handle (>= 1) or -1 on a bad config. A participant who leaves
 * and comes back gets a new track. */
int pl_rec_add_track(struct pl_recorder *r, const struct pl_rec_track_config *cfg);

/* One decrypted RTP packet (header included) of a track, with its arrival time (the
 * pl_now_us() clock). Copies the packet and returns: never blocks on disk. Malformed packets
 * are counted and dropped later. A new SSRC on a track is a publisher restart. */
void pl_rec_feed_rtp(struct pl_recorder *r, int track, const uint8_t *pkt, size_t len,
                     uint64_t arrival_us);

/* A Sender Report of a track's publisher: NTP time (64-bit, RFC 3550) of RTP timestamp
 * rtp_ts. Tracks of one participant are aligned on the publisher's NTP clock (lip sync). */
void pl_rec_feed_sr(struct pl_recorder *r, int track, uint64_t ntp, uint32_t rtp_ts,
                    uint64_t arrival_us);

/* The track ends (participant left). Later packets of it are ignored. */
void pl_rec_remove_track(struct pl_recorder *r, int track, uint64_t arrival_us);

struct pl_rec_track_info {
    char name[128];
    char codec[8];             /* "vp08", "vp09", "avc1", "Opus" */
    enum pl_rec_kind kind;
    bool mix;                  /* the mixed audio track */
    double start_s;            /* where it starts on the recording's timeline */
    double duration_s;         /* media duration (after pre-skip) */
    uint64_t samples;
};

struct pl_rec_result {
    char path[4096];           /* the final file */
    uint64_t size;
    double duration_s;
    size_t n_tracks;
    struct pl_rec_track_info *tracks;
    bool recovered;            /* finished by pl_rec_recover from a crash's parts */
    bool failed;               /* pl_rec_recover: the parts could not be finished (error) */
    char error[256];
};

/* Stops the recording: flushes, joins the writer thread, writes the final file (moov first)
 * and its .result, and removes the parts. Frees r. 0 on success (out filled; free with
 * pl_rec_result_free), -1 on error (the parts stay for pl_rec_recover). Blocks on disk. */
int pl_rec_stop(struct pl_recorder *r, struct pl_rec_result *out, char *err, size_t errlen);
void pl_rec_result_free(struct pl_rec_result *res);

/* The result of the recording whose final file is final_path reached whoever needed it:
 * removes its .result. 0, or -1 on error. Blocks on disk (one unlink). */
int pl_rec_result_delivered(const char *final_path);

/* At start: finds recordings under root that a crash interrupted (a <recording>.parts folder
 * whose lock nobody holds) and finishes each (recovered); one that cannot be finished is set
 * aside as <recording>.parts.failed with a failed result. Then on_done (may be NULL) gets every
 * result not delivered yet: those, and those finished earlier (a stop whose result was never
 * delivered, a crash after the final rename). Each comes again at every call until delivered;
 * one finished by a live process meanwhile may come too. Returns how many were finished now,
 * or -1 when root cannot be read. Blocks on disk. */
int pl_rec_recover(const char *root, void (*on_done)(void *user, const struct pl_rec_result *res),
                   void *user);

/* Copies id into out (cap bytes) keeping [A-Za-z0-9._-], others become '_', a leading '.'
 * becomes '_'. -1 when id is empty or too long for out. */
int pl_rec_sanitize_id(const char *id, char *out, size_t cap);

#endif
