/* Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01, section 3.1): a recorder of arrivals that builds feedback, and a parser.
 * The parser reads untrusted input: every read is bounded by the packet's own length, and the
 * whole packet is checked before anything is reported. */
#include "parley/bytes.h"
#include "parley/twcc.h"

#include <string.h>

#define HDR_LEN 20          /* common feedback header + base seq, count, ref time, fb count */
#define TICK_US 250         /* receive deltas are multiples of 250 us */
#define REF_TICKS 256       /* the reference time counts 64 ms = 256 ticks */
#define MAX_RUN 0x1fff      /* 13-bit run length */
#define STALE_RESET 16      /* consecutive too-old packets after which the recorder restarts */

/* Packet status symbols. */
#define SYM_LOST 0
#define SYM_SMALL 1 /* received, delta fits in 1 unsigned byte */
#define SYM_LARGE 2 /* received, delta needs 2 signed bytes */

size_t pl_twcc_ext_write(uint8_t *out, size_t cap, uint16_t seq)
{
    if (!out || cap < 2)
        return 0;
    pl_wr16(out, seq);
    return 2;
}

int pl_twcc_ext_read(const uint8_t *val, size_t len, uint16_t *seq)
{
    if (!val || len != 2)
        return -1;
    if (seq)
        *seq = pl_rd16(val);
    return 0;
}

/* ---- Recorder ---------------------------------------------------------------------- */

void pl_twcc_recv_init(struct pl_twcc_recv *r, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    memset(r, 0, sizeof(*r));
    r->sender_ssrc = sender_ssrc;
    r->media_ssrc = media_ssrc;
    for (size_t i = 0; i < PL_TWCC_HISTORY; i++)
        r->slots[i].seq = -1;
}

/* Forgets what is pending and starts the window at unwrapped seq s. After a jump forward
 * the old slots need no clearing (their tags are all below the new window, so they never
 * match again); after a jump backwards they must go, or old arrivals would look current. */
static void start_over(struct pl_twcc_recv *r, int64_t s, bool clear)
{
    if (clear)
        for (size_t i = 0; i < PL_TWCC_HISTORY; i++)
            r->slots[i].seq = -1;
    r->started = true;
    r->next_seq = s;
    r->end_seq = s;
    r->stale_run = 0;
}

void pl_twcc_recv_record(struct pl_twcc_recv *r, uint16_t seq, uint64_t arrival_us)
{
    int64_t s;
    if (!r->started) {
        /* Start one cycle up so that packets reordered before the first stay positive. */
        s = 0x10000 + (int64_t)seq;
        start_over(r, s, false);
    } else {
        /* Unwrap against the newest: the nearest of seq's 16-bit aliases. */
        uint16_t newest = (uint16_t)(r->end_seq - 1);
        s = r->end_seq - 1 + (int16_t)(uint16_t)(seq - newest);
    }

    if (s >= r->end_seq + PL_TWCC_HISTORY) {
        /* A huge jump forward (sender restarted its counter, or garbage): reporting the gap
         * would cost feedback for nothing, so begin again at the new packet. */
        start_over(r, s, false);
    } else if (s < r->end_seq - PL_TWCC_HISTORY) {
        /* Too old to report. A run of these means the counter jumped backwards for good;
         * ignoring it forever would starve the sender of feedback, so follow it. */
        if (++r->stale_run < STALE_RESET)
            return;
        start_over(r, s, true);
    }
    r->stale_run = 0;

    struct pl_twcc_slot *slot = &r->slots[s % PL_TWCC_HISTORY];
    if (slot->seq == s)
        return; /* duplicate: keep the first arrival */
    slot->seq = s;
    slot->arrival_us = arrival_us;
    if (s >= r->end_seq)
        r->end_seq = s + 1;
    if (s < r->next_seq)
        r->next_seq = s; /* late: report again from here, it was reported lost */
    if (r->next_seq < r->end_seq - PL_TWCC_HISTORY)
        r->next_seq = r->end_seq - PL_TWCC_HISTORY; /* unreported and now forgotten */
}

bool pl_twcc_recv_pending(const struct pl_twcc_recv *r)
{
    return r->started && r->next_seq < r->end_seq;
}

/* Arrival of unwrapped seq s in 250 us ticks, or -1 when it was not received. */
static int64_t arrival_ticks(const struct pl_twcc_recv *r, int64_t s)
{
    const struct pl_twcc_slot *slot = &r->slots[s % PL_TWCC_HISTORY];
    if (slot->seq != s)
        return -1;
    return (int64_t)(slot->arrival_us / TICK_US); /* < 2^56: no overflow in differences */
}

/* Packet chunk encoder. Symbols wait in `sym` until they cannot share a chunk with the next
 * one; then as few chunks as possible are written:
 *  - a run-length chunk while all symbols are the same (up to 8191 of them),
 *  - a 1-bit vector chunk for 14 symbols that are only "lost" or "small",
 *  - a 2-bit vector chunk for 7 symbols of any kind.
 * The pending symbols always fit one chunk, so the packet size is known at every step. */
struct chunk_enc {
    uint8_t sym[14];  /* first pending symbols (a run only needs the first) */
    unsigned n;       /* pending symbol count */
    bool all_same;
    bool has_large;
    uint16_t *chunks; /* chunks written so far */
    size_t n_chunks;
};

static bool enc_can_add(const struct chunk_enc *e, uint8_t s)
{
    if (e->n < 7)
        return true; /* a 2-bit vector takes any 7 */
    if (e->n < 14 && !e->has_large && s != SYM_LARGE)
        return true; /* a 1-bit vector takes 14 lost / small */
    return e->all_same && s == e->sym[0] && e->n < MAX_RUN;
}

static void enc_vector2(struct chunk_enc *e, unsigned count)
{
    uint16_t c = 0xc000;
    for (unsigned i = 0; i < count; i++)
        c |= (uint16_t)(e->sym[i] << (2 * (6 - i)));
    e->chunks[e->n_chunks++] = c;
}

static void enc_vector1(struct chunk_enc *e, unsigned count)
{
    uint16_t c = 0x8000;
    for (unsigned i = 0; i < count; i++)
        c |= (uint16_t)(e->sym[i] << (13 - i));
    e->chunks[e->n_chunks++] = c;
}

static void enc_run(struct chunk_enc *e)
{
    e->chunks[e->n_chunks++] = (uint16_t)(e->sym[0] << 13 | e->n);
}

/* Writes chunks for the pending symbols to make room for one more that cannot join them. */
static void enc_emit(struct chunk_enc *e)
{
    if (e->all_same) {
        enc_run(e);
        e->n = 0;
    } else if (e->n == 14) {
        enc_vector1(e, 14); /* not all same and 14 long: enc_can_add kept them lost/small */
        e->n = 0;
    } else {
        /* 7..13 mixed symbols with a large delta among or after them: emit the first 7 in a
         * 2-bit vector and keep the rest pending. */
        enc_vector2(e, 7);
        e->n -= 7;
        memmove(e->sym, e->sym + 7, e->n);
        e->all_same = true;
        e->has_large = false;
        for (unsigned i = 0; i < e->n; i++) {
            e->all_same = e->all_same && e->sym[i] == e->sym[0];
            e->has_large = e->has_large || e->sym[i] == SYM_LARGE;
        }
    }
}

static void enc_add(struct chunk_enc *e, uint8_t s)
{
    if (!enc_can_add(e, s))
        enc_emit(e);
    if (e->n == 0) {
        e->all_same = true;
        e->has_large = false;
    }
    e->all_same = e->all_same && (e->n == 0 || s == e->sym[0]);
    e->has_large = e->has_large || s == SYM_LARGE;
    if (e->n < 14)
        e->sym[e->n] = s;
    e->n++;
}

/* Writes the last chunk for whatever is pending. */
static void enc_flush(struct chunk_enc *e)
{
    if (e->n == 0)
        return;
    if (e->all_same)
        enc_run(e);
    else if (e->n <= 7)
        enc_vector2(e, e->n); /* unused trailing symbols stay 0, past the status count */
    else
        enc_vector1(e, e->n);
    e->n = 0;
}

static size_t enc_total_chunks(const struct chunk_enc *e) { return e->n_chunks + (e->n > 0); }

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

/* Builds one feedback packet of at most lim bytes (a multiple of 4) starting at next_seq.
 * Returns its length, or 0 when not even one status fits. */
static size_t build_one(struct pl_twcc_recv *r, uint8_t *out, size_t lim)
{
    uint16_t chunks[PL_TWCC_MAX_PKT / 2];
    uint8_t deltas[PL_TWCC_MAX_PKT];
    struct chunk_enc enc = {.chunks = chunks};
    size_t n_deltas = 0;
    int64_t start = r->next_seq;

    /* Reference time: the first received packet's arrival rounded down to 64 ms, so its
     * delta (0..255 ticks) always fits a small delta and every packet makes progress. The
     * newest packet (end_seq - 1) is always in the history, so one is found. */
    int64_t first = start;
    while (first < r->end_seq - 1 && arrival_ticks(r, first) < 0)
        first++;
    int64_t ref = arrival_ticks(r, first) / REF_TICKS;
    int64_t last = ref * REF_TICKS;

    int64_t s = start;
    for (; s < r->end_seq && s - start < UINT16_MAX; s++) {
        int64_t t = arrival_ticks(r, s);
        uint8_t sym = SYM_LOST;
        int64_t d = 0;
        size_t dsize = 0;
        if (t >= 0) {
            d = t - last;
            if (d >= 0 && d <= UINT8_MAX) {
                sym = SYM_SMALL;
                dsize = 1;
            } else if (d >= INT16_MIN && d <= INT16_MAX) {
                sym = SYM_LARGE;
                dsize = 2;
            } else {
                break; /* > 8 s apart: the next packet gets its own reference time */
            }
        }
        /* Try the symbol on a copy of the encoder; keep it only if the packet still fits.
         * A trial may write one chunk past the kept ones: the array has room for it. */
        struct chunk_enc trial = enc;
        enc_add(&trial, sym);
        size_t size = pad4(HDR_LEN + 2 * enc_total_chunks(&trial) + n_deltas + dsize);
        if (size > lim)
            break;
        enc = trial;
        if (dsize == 1) {
            deltas[n_deltas++] = (uint8_t)d;
        } else if (dsize == 2) {
            pl_wr16(deltas + n_deltas, (uint16_t)(int16_t)d);
            n_deltas += 2;
        }
        if (t >= 0)
            last = t;
    }
    size_t count = (size_t)(s - start);
    if (count == 0)
        return 0;
    enc_flush(&enc);

    size_t body = HDR_LEN + 2 * enc.n_chunks + n_deltas;
    size_t total = pad4(body);
    out[0] = 0x80 | PL_TWCC_FMT; /* no P bit: the draft pads with zeros */
    out[1] = 205;                /* RTPFB */
    pl_wr16(out + 2, (uint16_t)(total / 4 - 1));
    pl_wr32(out + 4, r->sender_ssrc);
    pl_wr32(out + 8, r->media_ssrc);
    pl_wr16(out + 12, (uint16_t)start);
    pl_wr16(out + 14, (uint16_t)count);
    uint32_t ref24 = (uint32_t)ref & 0xffffff; /* the field wraps; receivers unwrap */
    out[16] = (uint8_t)(ref24 >> 16);
    out[17] = (uint8_t)(ref24 >> 8);
    out[18] = (uint8_t)ref24;
    out[19] = r->fb_count++;
    for (size_t i = 0; i < enc.n_chunks; i++)
        pl_wr16(out + HDR_LEN + 2 * i, chunks[i]);
    memcpy(out + HDR_LEN + 2 * enc.n_chunks, deltas, n_deltas);
    memset(out + body, 0, total - body);
    r->next_seq = start + (int64_t)count;
    return total;
}

size_t pl_twcc_build(struct pl_twcc_recv *r, uint8_t *out, size_t cap, size_t max_pkt)
{
    if (!r || !out)
        return 0;
    if (max_pkt == 0 || max_pkt > PL_TWCC_MAX_PKT)
        max_pkt = PL_TWCC_MAX_PKT;
    max_pkt &= ~(size_t)3; /* RTCP lengths count 32-bit words */
    size_t off = 0;
    while (pl_twcc_recv_pending(r)) {
        size_t room = (cap - off) & ~(size_t)3;
        size_t lim = room < max_pkt ? room : max_pkt;
        if (lim < PL_TWCC_MIN_PKT)
            break;
        size_t n = build_one(r, out + off, lim);
        if (n == 0)
            break;
        off += n;
    }
    return off;
}

/* ---- Parser ------------------------------------------------------------------------ */

/* State of one walk over the packet chunks. The first walk (emit false) checks the symbols
 * and counts the delta bytes they need; the second reads the deltas and calls back. */
struct walk {
    const uint8_t *p;
    uint16_t base_seq;
    uint32_t done;       /* statuses visited */
    size_t dpos;         /* next delta byte (second walk) */
    size_t delta_bytes;  /* delta bytes needed so far */
    int64_t t;           /* arrival time of the last received packet, us */
    bool emit;
    pl_twcc_pkt_cb cb;
    void *ud;
};

/* Visits one status symbol; false for the reserved symbol. */
static bool visit(struct walk *w, unsigned sym)
{
    uint16_t seq = (uint16_t)(w->base_seq + w->done);
    w->done++;
    if (sym == SYM_LOST) {
        if (w->emit && w->cb)
            w->cb(seq, false, 0, w->ud);
        return true;
    }
    if (sym != SYM_SMALL && sym != SYM_LARGE)
        return false;
    w->delta_bytes += sym; /* the symbol value is also the delta size */
    if (w->emit) {
        /* Bounds were checked by the first walk. */
        int64_t d = sym == SYM_SMALL ? w->p[w->dpos] : (int16_t)pl_rd16(w->p + w->dpos);
        w->dpos += sym;
        w->t += d * TICK_US;
        if (w->cb)
            w->cb(seq, true, w->t, w->ud);
    }
    return true;
}

/* Walks chunks from HDR_LEN until count statuses are covered, never past end. Returns the
 * offset just after the last chunk, or 0 when a chunk is missing or holds a reserved
 * symbol. Symbols past the status count in the last chunk are ignored. */
static size_t walk_chunks(struct walk *w, size_t end, uint32_t count)
{
    size_t pos = HDR_LEN;
    while (w->done < count) {
        if (end - pos < 2)
            return 0;
        uint16_t c = pl_rd16(w->p + pos);
        pos += 2;
        uint32_t left = count - w->done;
        if (!(c & 0x8000)) { /* run length: T=0, S (2 bits), length (13 bits) */
            uint32_t n = c & MAX_RUN;
            for (uint32_t i = 0; i < n && i < left; i++)
                if (!visit(w, c >> 13 & 3))
                    return 0;
        } else if (!(c & 0x4000)) { /* 1-bit vector: 14 symbols, lost or small */
            for (unsigned i = 0; i < 14 && i < left; i++)
                visit(w, c >> (13 - i) & 1);
        } else { /* 2-bit vector: 7 symbols */
            for (unsigned i = 0; i < 7 && i < left; i++)
                if (!visit(w, c >> (2 * (6 - i)) & 3))
                    return 0;
        }
    }
    return pos;
}

int pl_twcc_parse(const uint8_t *pkt, size_t len, struct pl_twcc_fb *fb, pl_twcc_pkt_cb cb,
                  void *ud)
{
    if (!pkt || len < HDR_LEN || len % 4 != 0)
        return -1;
    if (pkt[0] >> 6 != 2 || (pkt[0] & 0x1f) != PL_TWCC_FMT || pkt[1] != 205)
        return -1;
    if (((size_t)pl_rd16(pkt + 2) + 1) * 4 != len)
        return -1;
    size_t end = len;
    if (pkt[0] & 0x20) { /* RTCP padding: the last byte counts it */
        uint8_t pad = pkt[len - 1];
        if (pad == 0 || pad > len - HDR_LEN)
            return -1;
        end -= pad;
    }
    uint32_t count = pl_rd16(pkt + 14);
    if (count == 0)
        return -1; /* an empty feedback reports nothing: not well formed */

    struct walk w = {.p = pkt, .base_seq = pl_rd16(pkt + 12)};
    size_t chunks_end = walk_chunks(&w, end, count);
    if (chunks_end == 0)
        return -1;
    /* The deltas follow the chunks; then at most 3 bytes of zero padding. */
    if (w.delta_bytes > end - chunks_end || end - chunks_end - w.delta_bytes > 3)
        return -1;

    uint32_t ref = pl_rd24(pkt + 16);
    if (fb) {
        fb->sender_ssrc = pl_rd32(pkt + 4);
        fb->media_ssrc = pl_rd32(pkt + 8);
        fb->base_seq = w.base_seq;
        fb->status_count = (uint16_t)count;
        fb->ref_time = ref;
        fb->fb_count = pkt[19];
    }
    if (cb) {
        struct walk w2 = {.p = pkt, .base_seq = w.base_seq, .dpos = chunks_end,
                          .t = (int64_t)ref * 64000, .emit = true, .cb = cb, .ud = ud};
        walk_chunks(&w2, end, count);
    }
    return (int)count;
}
