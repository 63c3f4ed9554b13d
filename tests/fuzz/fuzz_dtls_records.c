/* Fuzzes DTLS record framing (pl_dtls_records_valid) and a server-side pl_dtls fed arbitrary
 * datagrams. The server lives across inputs, as a real one does between datagrams, and is made
 * again once it fails or closes. Everything it allocates stays reachable from these statics,
 * so leak detection only reports what a failed connection leaves behind. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parley/dtls.h"

static struct pl_dtls_ctx *ctx;
static struct pl_dtls *server;
static size_t sink_bytes;

static void on_send(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    (void)data;
    sink_bytes += len;
}

static void on_data(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    (void)data;
    sink_bytes += len;
}

static void feed(const uint8_t *data, size_t size)
{
    static const uint8_t remote_fp[32]; /* matches nothing: a handshake can never complete */
    if (!server) {
        server = pl_dtls_new(ctx, true, remote_fp, on_send, on_data, NULL);
        if (!server)
            return;
        pl_dtls_start(server);
    }
    enum pl_dtls_state st = pl_dtls_feed(server, data, size);
    pl_dtls_timeout_ms(server);
    if (st == PL_DTLS_FAILED || st == PL_DTLS_CLOSED) {
        pl_dtls_free(server);
        server = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char fp[96];
    if (!ctx)
        ctx = pl_dtls_ctx_new(fp);
    if (!ctx)
        return 0;

    bool valid = pl_dtls_records_valid(data, size);
    /* A valid chain must start with a DTLS content type and be at least one header long. */
    if (valid && (size < 13 || data[0] < 20 || data[0] > 63))
        __builtin_trap();

    feed(data, size);
    /* OpenSSL is not instrumented, so coverage cannot steer inputs past the framing check:
     * also hand it the input as the body of an epoch-0 handshake record. */
    if (!valid && size > 0 && size <= 1500 - 13) {
        uint8_t rec[1500] = {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(size >> 8),
                             (uint8_t)size};
        memcpy(rec + 13, data, size);
        feed(rec, size + 13);
    }
    return 0;
}
