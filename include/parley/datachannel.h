/* WebRTC data channels (RFC 8831/8832): one SCTP association (usrsctp, AF_CONN, no threads of
 * its own) carried in DTLS application data, channels opened with DCEP, string and binary
 * messages. The caller moves SCTP packets: what pl_dc hands to `send` goes into the DTLS
 * connection (pl_dtls_write), what DTLS delivers goes to pl_dc_input. Timers: call pl_dc_tick
 * every few ms with the time elapsed (it drives every association of the process).
 *
 * Threads: usrsctp is one stack per process. Every call here takes one process-wide
 * (recursive) lock, so associations may live on different threads (the node's workers), but
 * `send` may then be called on whichever thread drove the stack (a timer's retransmission on
 * the ticking thread): a caller with several threads must make `send` hand the packet to the
 * association's own thread. The other callbacks run inside pl_dc_input on its caller's thread.
 * Used by parley-client and parley-node; tests/unit/test_datachannel.c runs two endpoints over
 * a DTLS pair. */
#ifndef PARLEY_DATACHANNEL_H
#define PARLEY_DATACHANNEL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pl_dc;

struct pl_dc_callbacks {
    void (*send)(void *user, const uint8_t *data, size_t len);     /* an SCTP packet to DTLS */
    void (*on_connected)(void *user);
    void (*on_open)(void *user, uint16_t sid, const char *label);  /* the peer opened a channel, or
                                                                       acknowledged ours */
    void (*on_message)(void *user, uint16_t sid, bool binary, const uint8_t *data, size_t len);
    void *user;
};

/* dtls_client: this side's DTLS role (it picks even stream ids, the other side odd ones).
 * Starts the association (both sides connect, as WebRTC does) on SCTP port 5000. */
struct pl_dc *pl_dc_new(bool dtls_client, const struct pl_dc_callbacks *cb);
void pl_dc_free(struct pl_dc *dc);
void pl_dc_input(struct pl_dc *dc, const uint8_t *data, size_t len);
bool pl_dc_connected(const struct pl_dc *dc);
/* Opens a reliable ordered channel; returns its stream id, or -1 (not connected, error). */
int pl_dc_open(struct pl_dc *dc, const char *label);
/* 0 when queued in SCTP, -1 otherwise. */
int pl_dc_send(struct pl_dc *dc, uint16_t sid, bool binary, const uint8_t *data, size_t len);
void pl_dc_tick(uint32_t elapsed_ms);
/* The same with the time elapsed since the last call measured on the monotonic clock, so any
 * number of callers (every client's tick) may call it. */
void pl_dc_tick_now(void);

/* ---- DCEP, the data channel establishment protocol (RFC 8832; sfu/dcep.c) ------------- */

#define PL_DCEP_PPID 50          /* SCTP payload protocol id of DCEP messages */
#define PL_DC_PPID_STRING 51
#define PL_DC_PPID_BINARY 53
#define PL_DC_PPID_STRING_EMPTY 56
#define PL_DC_PPID_BINARY_EMPTY 57
#define PL_DCEP_OPEN 0x03
#define PL_DCEP_ACK 0x02

struct pl_dcep {
    uint8_t type;                /* PL_DCEP_OPEN or PL_DCEP_ACK */
    uint8_t channel_type;        /* OPEN: 0x00 reliable, 0x01/0x81 rexmit, 0x02/0x82 timed */
    uint16_t priority;
    uint32_t reliability;
    char label[256];             /* OPEN: cut to fit, NUL-terminated */
    char protocol[256];
    size_t label_len, protocol_len; /* as sent */
};

/* Parses a DCEP message. 0 ok, -1 when malformed (unknown type, lengths beyond the data). */
int pl_dcep_parse(const uint8_t *data, size_t len, struct pl_dcep *out);
/* DATA_CHANNEL_OPEN for a reliable ordered channel. Returns the length or 0 if cap is short. */
size_t pl_dcep_write_open(uint8_t *out, size_t cap, const char *label, const char *protocol);

#endif
