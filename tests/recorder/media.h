/* Test side of the recorder tests: reads what ffmpeg encoded (IVF, H.264 Annex B, Ogg Opus),
 * turns frames into RTP packets the way WebRTC senders do, and checks files with ffprobe. */
#ifndef PARLEY_TEST_MEDIA_H
#define PARLEY_TEST_MEDIA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/recorder.h"

struct media_frame {
    uint8_t *data;
    size_t len;
    uint64_t pts_us;   /* media time of the frame */
    uint32_t samples;  /* Opus: 48 kHz samples */
    bool key;
};

struct media {
    struct media_frame *f;
    size_t n;
    unsigned pre_skip; /* Ogg Opus */
};

/* Each returns 0 and fills m, or -1. */
int media_read_ivf(const char *path, struct media *m);
int media_read_annexb(const char *path, unsigned fps, struct media *m);
int media_read_ogg_opus(const char *path, struct media *m);
void media_free(struct media *m);

struct rtp_out {
    uint8_t data[1300];
    size_t len;
    uint32_t ts;
};

/* Packetizes one frame into packets of at most 1200 bytes; returns how many (<= max). The
 * sequence number and picture id advance in *seq / *pic. */
size_t rtp_packetize(enum pl_rec_codec codec, const struct media_frame *f, uint8_t pt,
                     uint32_t ssrc, uint32_t ts, uint16_t *seq, uint16_t *pic,
                     struct rtp_out *out, size_t max);

/* Runs a shell command, returns its exit status; its output (stdout+stderr) in out. */
int run_capture(const char *cmd, char *out, size_t cap);

/* Per stream of FILE (ffprobe -show_packets): first pts, end (last pts + duration),
 * packet count and whether decode timestamps ever went backwards. Also codec and handler
 * name per stream. Returns the stream count or -1. */
struct probe_stream {
    char codec[32];
    char type[16];
    char handler[128];
    double first, end;
    size_t packets;
    bool dts_backwards;
    double last_dts;
};
int probe_file(const char *path, struct probe_stream *s, int max);

#endif
