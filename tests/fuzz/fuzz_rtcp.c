/* libFuzzer target: RTCP compound validation, iteration and every sub-parser on arbitrary
 * input, plus a NACK build/parse round trip of sequence numbers taken from the input.
 * Besides memory errors (ASan), it aborts when results are inconsistent. */
#include "parley/rtcp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;
static void touch(const uint8_t *p, size_t n)
{
    uint8_t x = 0;
    for (size_t i = 0; i < n; i++)
        x ^= p[i];
    sink = x;
}

static void count_seq(uint16_t seq, void *ud)
{
    (void)seq;
    (*(int *)ud)++;
}

static void parse_all(const struct pl_rtcp_pkt *p)
{
    struct pl_rtcp_sr sr;
    struct pl_rtcp_report_block rb[31];
    struct pl_rtcp_fir_entry fir[8];
    uint32_t ssrcs[8];
    uint64_t bps;
    int n, calls = 0;

    (void)pl_rtcp_parse_sr(p, &sr);
    n = pl_rtcp_parse_report_blocks(p, rb, 31);
    if (n > 31 || n > p->fmt)
        abort();
    n = pl_rtcp_parse_nack(p, count_seq, &calls);
    if (n != (n < 0 ? -1 : calls))
        abort();
    n = pl_rtcp_parse_fir(p, fir, 8);
    if (n > 8)
        abort();
    if (pl_rtcp_parse_remb(p, &bps, ssrcs, 8, &n) == 0 && (n < 0 || n > 8))
        abort();
}

/* Bitmap of the sequence numbers given to the NACK builder. */
static uint8_t nack_in[65536 / 8];

static bool nack_has(uint16_t s) { return nack_in[s >> 3] & (1u << (s & 7)); }

static void check_seq(uint16_t seq, void *ud)
{
    if (!nack_has(seq))
        abort(); /* reported a seq that was never asked for */
    (*(int *)ud)++;
}

/* NACK built from seqs taken from the input: each parsed seq was in the input, every distinct
 * input seq comes back, and no more often than the input holds seqs. */
static void nack_round_trip(const uint8_t *data, size_t size)
{
    uint16_t seqs[64];
    size_t n = size / 2 > 64 ? 64 : size / 2;
    int distinct = 0;
    memset(nack_in, 0, sizeof(nack_in));
    for (size_t i = 0; i < n; i++) {
        seqs[i] = (uint16_t)(data[2 * i] << 8 | data[2 * i + 1]);
        if (!nack_has(seqs[i]))
            distinct++;
        nack_in[seqs[i] >> 3] |= (uint8_t)(1u << (seqs[i] & 7));
    }
    uint8_t out[12 + 4 * 64];
    size_t len = pl_rtcp_build_nack(out, sizeof(out), 1, 2, seqs, n);
    if (n == 0) {
        if (len != 0)
            abort();
        return;
    }
    if (len < 16 || pl_rtcp_validate(out, len) != 0)
        abort();
    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    pl_rtcp_iter_init(&it, out, len);
    if (!pl_rtcp_iter_next(&it, &p))
        abort();
    int calls = 0;
    int rc = pl_rtcp_parse_nack(&p, check_seq, &calls);
    if (rc != calls || calls > (int)n || calls < distinct)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int valid = pl_rtcp_validate(data, size) == 0;

    struct pl_rtcp_iter it;
    struct pl_rtcp_pkt p;
    size_t total = 0;
    pl_rtcp_iter_init(&it, data, size);
    while (pl_rtcp_iter_next(&it, &p)) {
        if (p.data != data + total || p.len < 4 || p.len % 4 != 0 || p.len > size - total)
            abort();
        touch(p.data, p.len);
        total += p.len;
        parse_all(&p);
    }
    /* validate() accepts exactly the inputs the iterator walks to the end. */
    if (valid != (size > 0 && total == size))
        abort();

    /* The same sub-parsers on the whole input taken as one packet, whatever its header says. */
    if (size >= 4) {
        memset(&p, 0, sizeof(p));
        p.type = data[1];
        p.fmt = data[0] & 0x1f;
        p.data = data;
        p.len = size;
        parse_all(&p);
    }

    nack_round_trip(data, size);
    return 0;
}
