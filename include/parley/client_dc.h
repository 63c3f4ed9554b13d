/* WebRTC data channels (RFC 8831/8832): one SCTP association (usrsctp, AF_CONN, no threads of
 * its own) carried in DTLS application data, channels opened with DCEP, string and binary
 * messages. The caller moves SCTP packets: what pl_dc hands to `send` goes into the DTLS
 * connection (pl_dtls_write), what DTLS delivers goes to pl_dc_input. Timers: call pl_dc_tick
 * every few ms with the time elapsed (it drives every association of the process). One thread.
 *
 * parley-node does not accept data channels yet, so the client does not offer them: this is
 * tested between two endpoints over a DTLS pair (tests/unit/test_datachannel.c). */
#ifndef PARLEY_CLIENT_DC_H
#define PARLEY_CLIENT_DC_H
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

#endif
