/* parley-client pieces that need no network: the offer builder (its offer must parse and
 * negotiate with the node's own code), the node's packets, the payload stamp, VP8
 * packetization and frame assembly (with loss), and the IVF and Ogg Opus writers. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "parley/bytes.h"
#include "parley/client.h"
#include "parley/client_media.h"
#include "parley/sdp.h"
#include "parley/vp8.h"

static const char *fp =
    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

static void offer_negotiates(int layers)
{
    const char *cands[] = {"candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host"};
    struct pl_offer_params p = {
        .ice_ufrag = "abcd", .ice_pwd = "0123456789abcdefghijkl", .fingerprint = fp,
        .cname = "cn", .stream_id = "st", .session_id = 42,
        .send_audio = true, .audio_ssrc = 1111, .send_video = true, .n_layers = layers,
        .video_ssrc = 2222, .video_rtx_ssrc = 3333, .recv_video = 4, .recv_audio = 3,
        .candidates = cands, .n_candidates = 1,
    };
    char buf[64 * 1024];
    int n = pl_offer_write(&p, buf, sizeof buf);
    CHECK(n > 0);
    if (n <= 0)
        return;
    char small[100];
    CHECK_EQ_INT(pl_offer_write(&p, small, sizeof small), -1); /* too small: refused */
    struct pl_sdp sdp;
    char err[160] = "";
    int rc = pl_sdp_parse(buf, (size_t)n, &sdp, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "offer does not parse: %s\n%s", err, buf);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0)
        return;
    CHECK_EQ_INT(sdp.n_media, 2 + 4 + 3);
    CHECK_EQ_INT(sdp.n_bundle, 9);
    CHECK_EQ_INT(sdp.media[0].kind, PL_MEDIA_AUDIO);
    CHECK_EQ_INT(sdp.media[0].dir, PL_DIR_SENDONLY);
    CHECK_EQ_INT(sdp.media[1].kind, PL_MEDIA_VIDEO);
    CHECK_EQ_INT(sdp.media[1].setup, PL_SETUP_ACTPASS);
    CHECK_EQ_INT(sdp.media[1].fingerprint_len, 32);
    CHECK(sdp.media[1].rtcp_mux);
    if (layers > 1) {
        CHECK(sdp.media[1].simulcast);
        CHECK_EQ_INT(sdp.media[1].n_rids, layers);
        CHECK(strcmp(sdp.media[1].rids[0].id, "q") == 0);
    } else {
        CHECK_EQ_INT(sdp.media[1].n_ssrcs, 1);
        CHECK_EQ_INT(sdp.media[1].ssrcs[0].ssrc, 2222);
        CHECK_EQ_INT(sdp.media[1].ssrcs[0].rtx_ssrc, 3333);
    }
    CHECK_EQ_INT(sdp.media[2].dir, PL_DIR_RECVONLY);
    CHECK_EQ_INT(sdp.media[8].kind, PL_MEDIA_AUDIO);
    CHECK(strcmp(sdp.media[8].mid, "8") == 0);

    /* The node's negotiation accepts every line, with VP8 + RTX and the extensions. */
    struct pl_negotiate_opts opts = {.simulcast = true};
    struct pl_negotiated neg;
    rc = pl_sdp_negotiate(&sdp, &opts, &neg, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "offer does not negotiate: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        for (int i = 0; i < neg.n_media; i++)
            CHECK(neg.media[i].accepted);
        CHECK_EQ_INT(neg.media[1].codecs[0].codec, PL_CODEC_VP8);
        CHECK_EQ_INT(neg.media[1].codecs[0].pt, PL_OFFER_PT_VP8);
        CHECK_EQ_INT(neg.media[1].codecs[0].rtx_pt, PL_OFFER_PT_RTX);
        CHECK_EQ_INT(neg.media[1].ext_id[PL_EXT_MID], PL_OFFER_EXT_MID);
        if (layers > 1) {
            CHECK_EQ_INT(neg.media[1].ext_id[PL_EXT_RID], PL_OFFER_EXT_RID);
            CHECK_EQ_INT(neg.media[1].n_recv_rids, layers);
        }
        CHECK_EQ_INT(neg.media[0].codecs[0].codec, PL_CODEC_OPUS);
        CHECK_EQ_INT(neg.local_setup, PL_SETUP_PASSIVE);
        pl_negotiated_free(&neg);
    }
    pl_sdp_free(&sdp);
}

/* With a data channel line the node's negotiation (data channels on) accepts it, bundled. */
static void offer_with_data_channel(void)
{
    struct pl_offer_params p = {
        .ice_ufrag = "abcd", .ice_pwd = "0123456789abcdefghijkl", .fingerprint = fp,
        .cname = "cn", .stream_id = "st", .recv_video = 1, .data_channel = true,
    };
    char buf[16 * 1024], err[160];
    int n = pl_offer_write(&p, buf, sizeof buf);
    CHECK(n > 0);
    struct pl_sdp sdp;
    if (n <= 0 || pl_sdp_parse(buf, (size_t)n, &sdp, err, sizeof err) != 0) {
        CHECK(!"data channel offer parses");
        return;
    }
    CHECK_EQ_INT(sdp.n_media, 2);
    CHECK_EQ_INT(sdp.media[1].kind, PL_MEDIA_APPLICATION);
    CHECK_EQ_INT(sdp.media[1].sctp_port, 5000);
    CHECK_EQ_INT(sdp.n_bundle, 2);
    struct pl_negotiate_opts opts = {.data_channel = true};
    struct pl_negotiated neg = {0};
    CHECK_EQ_INT(pl_sdp_negotiate(&sdp, &opts, &neg, err, sizeof err), 0);
    if (neg.media) {
        CHECK(neg.media[1].accepted);
        pl_negotiated_free(&neg);
    }
    pl_sdp_free(&sdp);
}

static void offer_bad_params(void)
{
    struct pl_offer_params p = {.ice_ufrag = "a", .ice_pwd = "b", .fingerprint = fp,
                                .cname = "c", .stream_id = "s"};
    char buf[4096];
    CHECK_EQ_INT(pl_offer_write(&p, buf, sizeof buf), -1); /* no m-line at all */
    p.recv_video = 1;
    p.n_layers = 4;
    CHECK_EQ_INT(pl_offer_write(&p, buf, sizeof buf), -1);
    p.n_layers = 0;
    CHECK(pl_offer_write(&p, buf, sizeof buf) > 0);
}

static void node_messages(void)
{
    struct pl_node_msg m;
    char err[160];
    const char *users = "{\"meeting_id\":\"m1\",\"content_type\":\"MEETING_USERS\",\"users\":[\"a\",\"b\"]}";
    CHECK_EQ_INT(pl_node_msg_parse(users, strlen(users), &m, err, sizeof err), 0);
    CHECK_EQ_INT(m.type, PL_NODE_MEETING_USERS);
    CHECK_EQ_INT(m.n_users, 2);
    CHECK(m.n_users == 2 && strcmp(m.users[1], "b") == 0);
    pl_node_msg_free(&m);

    const char *slots = "{\"meeting_id\":\"m1\",\"content_type\":\"SLOTS\",\"slots\":"
                        "[{\"mid\":\"2\",\"kind\":\"video\",\"account_id\":\"bob\"},"
                        "{\"mid\":\"9\",\"kind\":\"audio\",\"account_id\":\"bob\"}]}";
    CHECK_EQ_INT(pl_node_msg_parse(slots, strlen(slots), &m, err, sizeof err), 0);
    CHECK_EQ_INT(m.n_slots, 2);
    CHECK(m.n_slots == 2 && m.slots[0].video && !m.slots[1].video);
    pl_node_msg_free(&m);

    const char *answer = "{\"meeting_id\":\"m1\",\"content_type\":\"ANSWER\",\"sdp\":\"v=0\\r\\n\"}";
    CHECK_EQ_INT(pl_node_msg_parse(answer, strlen(answer), &m, err, sizeof err), 0);
    CHECK(m.sdp && strcmp(m.sdp, "v=0\r\n") == 0);
    pl_node_msg_free(&m);

    const char *bad[] = {
        "not json", "[]", "{\"meeting_id\":\"m1\"}",
        "{\"meeting_id\":\"m1\",\"content_type\":\"OFFER\",\"sdp\":\"x\"}", /* client's packet */
        "{\"meeting_id\":\"\",\"content_type\":\"END\"}",
        "{\"meeting_id\":\"m1\",\"content_type\":\"SLOTS\",\"slots\":[{\"mid\":\"1\",\"kind\":\"data\",\"account_id\":\"x\"}]}",
        "{\"meeting_id\":\"m1\",\"content_type\":\"RECORDING\",\"recording\":1}",
        "{\"meeting_id\":\"m1\",\"content_type\":\"MEETING_USERS\",\"users\":[1]}",
        "{\"meeting_id\":\"m1\",\"content_type\":\"JOIN\",\"account_id\":\"a\",\"account_id\":\"b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = pl_node_msg_parse(bad[i], strlen(bad[i]), &m, err, sizeof err);
        CHECK_EQ_INT(rc, -1);
        CHECK(err[0] != 0);
        if (rc == 0)
            pl_node_msg_free(&m);
    }
}

static void stamps(void)
{
    uint8_t p[40] = {0};
    uint64_t t;
    uint32_t f;
    CHECK(!pl_stamp_read(p, sizeof p, &t, &f));
    pl_stamp_write(p + sizeof p - PL_STAMP_LEN, 0x0102030405060708ull, 77);
    CHECK(pl_stamp_read(p, sizeof p, &t, &f));
    CHECK(t == 0x0102030405060708ull && f == 77);
    CHECK(!pl_stamp_read(p, PL_STAMP_LEN - 1, &t, &f));
    uint64_t now = pl_realtime_us();
    CHECK(now > 1600000000ull * 1000000u); /* a wall clock, not a monotonic one */
}

/* ---- VP8 packetize -> assemble ---- */

struct capture {
    uint8_t pkts[64][1300];
    size_t lens[64];
    bool markers[64];
    int n;
};

static void cap_emit(void *user, const uint8_t *payload, size_t len, bool marker)
{
    struct capture *c = user;
    if (c->n < 64) {
        memcpy(c->pkts[c->n], payload, len);
        c->lens[c->n] = len;
        c->markers[c->n] = marker;
    }
    c->n++;
}

struct frames {
    int n;
    size_t last_len;
    bool last_key;
    uint8_t last[8192];
};

static void on_frame(void *user, const uint8_t *frame, size_t len, uint32_t ts, bool key)
{
    (void)ts;
    struct frames *f = user;
    f->n++;
    f->last_len = len;
    f->last_key = key;
    if (len <= sizeof f->last)
        memcpy(f->last, frame, len);
}

static void vp8_round_trip(void)
{
    static uint8_t frame[5000], scratch[1200];
    struct capture *cap = calloc(1, sizeof *cap);
    pl_vp8_synth_frame(frame, sizeof frame, true, 640, 360, 123456789, 5);
    int w = 0, h = 0;
    CHECK(pl_vp8_key_size(frame, sizeof frame, &w, &h));
    CHECK(w == 640 && h == 360);
    int n = pl_vp8_packetize(frame, sizeof frame, 300, 7, 1200, scratch, cap_emit, cap);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(cap->n, 5);
    for (int i = 0; i < cap->n && i < 64; i++) {
        CHECK(cap->lens[i] <= 1200);
        CHECK(cap->markers[i] == (i == cap->n - 1));
        struct pl_vp8_desc d;
        CHECK_EQ_INT(pl_vp8_parse(cap->pkts[i], cap->lens[i], &d), 0);
        CHECK(d.picture_id == 300 && d.has_tl0picidx && d.tl0picidx == 7);
        CHECK(d.start_of_frame == (i == 0));
        CHECK(d.keyframe == (i == 0));
    }
    /* The node's stamp reader finds the stamp at the end of the last packet. */
    uint64_t t;
    uint32_t f;
    CHECK(pl_stamp_read(cap->pkts[4], cap->lens[4], &t, &f) && t == 123456789 && f == 5);

    struct pl_vp8_assembler a;
    struct frames *out = calloc(1, sizeof *out);
    CHECK_EQ_INT(pl_vp8_asm_init(&a, 1 << 16), 0);
    for (int i = 0; i < 5; i++)
        pl_vp8_asm_push(&a, (uint16_t)(65533 + i), 9000, cap->markers[i], cap->pkts[i],
                        cap->lens[i], on_frame, out);
    CHECK_EQ_INT(out->n, 1);
    CHECK(out->last_key && out->last_len == sizeof frame && memcmp(out->last, frame, sizeof frame) == 0);

    /* A delta frame with its middle packet lost: dropped, and so is the next (intact) delta
     * frame, until a key frame comes. */
    static uint8_t delta[3000];
    pl_vp8_synth_frame(delta, sizeof delta, false, 0, 0, 1, 6);
    cap->n = 0;
    pl_vp8_packetize(delta, sizeof delta, 301, 8, 1200, scratch, cap_emit, cap);
    CHECK_EQ_INT(cap->n, 3);
    uint16_t seq = 2; /* continues after 65533..65537 (wrapped) */
    pl_vp8_asm_push(&a, seq, 12000, false, cap->pkts[0], cap->lens[0], on_frame, out);
    pl_vp8_asm_push(&a, (uint16_t)(seq + 2), 12000, true, cap->pkts[2], cap->lens[2], on_frame, out);
    CHECK_EQ_INT(out->n, 1);
    for (int i = 0; i < 3; i++)
        pl_vp8_asm_push(&a, (uint16_t)(seq + 3 + i), 15000, cap->markers[i], cap->pkts[i],
                        cap->lens[i], on_frame, out);
    CHECK_EQ_INT(out->n, 1);
    cap->n = 0;
    pl_vp8_packetize(frame, sizeof frame, 302, 9, 1200, scratch, cap_emit, cap);
    for (int i = 0; i < 5; i++)
        pl_vp8_asm_push(&a, (uint16_t)(seq + 6 + i), 18000, cap->markers[i], cap->pkts[i],
                        cap->lens[i], on_frame, out);
    CHECK_EQ_INT(out->n, 2);
    CHECK(out->last_key);
    /* A late duplicate is ignored. */
    CHECK_EQ_INT(pl_vp8_asm_push(&a, seq, 12000, false, cap->pkts[0], cap->lens[0], on_frame, out), 0);
    /* Not VP8 at all. */
    uint8_t junk[1] = {0x80};
    CHECK_EQ_INT(pl_vp8_asm_push(&a, (uint16_t)(seq + 11), 1, true, junk, 1, on_frame, out), -1);
    pl_vp8_asm_free(&a);
    free(out);
    free(cap);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24); }

static void ivf_writer(void)
{
    char path[] = "/tmp/parley-test-ivf-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    struct pl_ivf w;
    CHECK_EQ_INT(pl_ivf_open(&w, path, 0, 0), 0);
    uint8_t f1[100] = {1}, f2[50] = {2};
    CHECK_EQ_INT(pl_ivf_write(&w, f1, sizeof f1, 4294967000u), 0);
    pl_ivf_set_size(&w, 320, 180);
    CHECK_EQ_INT(pl_ivf_write(&w, f2, sizeof f2, 2704u), 0); /* wrapped: 3000 ticks later */
    pl_ivf_set_size(&w, 640, 480); /* already set: no change */
    CHECK_EQ_INT(pl_ivf_close(&w), 0);
    uint8_t buf[512];
    size_t n = read_file(path, buf, sizeof buf);
    CHECK_EQ_INT(n, 32 + 12 + 100 + 12 + 50);
    CHECK(memcmp(buf, "DKIF", 4) == 0 && memcmp(buf + 8, "VP80", 4) == 0);
    CHECK_EQ_INT(buf[12] | buf[13] << 8, 320);
    CHECK_EQ_INT(buf[14] | buf[15] << 8, 180);
    CHECK_EQ_INT(le32(buf + 16), 90000);
    CHECK_EQ_INT(le32(buf + 24), 2);
    CHECK_EQ_INT(le32(buf + 32), 100);
    CHECK_EQ_INT(le32(buf + 36), 0);
    CHECK_EQ_INT(le32(buf + 32 + 112), 50);
    CHECK_EQ_INT(le32(buf + 32 + 112 + 4), 3000);
    unlink(path);
}

/* Ogg CRC (same polynomial as the writer, computed bit by bit here). */
static uint32_t ogg_crc(const uint8_t *p, size_t n)
{
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int k = 0; k < 8; k++)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static void ogg_writer(void)
{
    char path[] = "/tmp/parley-test-ogg-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    struct pl_ogg_opus w;
    CHECK_EQ_INT(pl_ogg_opus_open(&w, path, 2, 0x1234), 0);
    uint8_t pkt[300];
    memset(pkt, 0x5a, sizeof pkt);
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(pl_ogg_opus_write(&w, pkt, sizeof pkt, 960), 0);
    CHECK_EQ_INT(pl_ogg_opus_close(&w), 0);
    static uint8_t buf[8192];
    size_t n = read_file(path, buf, sizeof buf);
    /* Walk the pages: every CRC right, sequence numbers 0.., BOS first, EOS last. */
    size_t pos = 0;
    int pages = 0;
    uint8_t last_flags = 0;
    uint64_t last_granule = 0;
    while (pos + 27 <= n) {
        uint8_t *pg = buf + pos;
        CHECK(memcmp(pg, "OggS", 4) == 0);
        size_t segs = pg[26], body = 0;
        for (size_t i = 0; i < segs; i++)
            body += pg[27 + i];
        size_t len = 27 + segs + body;
        CHECK(pos + len <= n);
        if (pos + len > n)
            break;
        uint32_t crc = le32(pg + 22);
        memset(pg + 22, 0, 4);
        CHECK_EQ_INT(ogg_crc(pg, len), crc);
        CHECK_EQ_INT(le32(pg + 18), pages);
        CHECK_EQ_INT(le32(pg + 14), 0x1234);
        if (pages == 0)
            CHECK(pg[5] == 0x02 && memcmp(pg + 27 + segs, "OpusHead", 8) == 0);
        if (pages == 1)
            CHECK(memcmp(pg + 27 + segs, "OpusTags", 8) == 0);
        last_flags = pg[5];
        last_granule = le32(pg + 6);
        pos += len;
        pages++;
    }
    CHECK_EQ_INT(pos, n);
    CHECK_EQ_INT(pages, 5);
    CHECK_EQ_INT(last_flags, 0x04);
    CHECK_EQ_INT(last_granule, 3 * 960);
    unlink(path);
}

static void delay_histogram(void)
{
    static struct pl_client_stats st;
    CHECK(pl_client_delay_percentile(&st, 50) < 0); /* nothing measured */
    CHECK_EQ_INT(pl_client_delay_bucket(0), 0);
    CHECK_EQ_INT(pl_client_delay_bucket(250), 2);
    CHECK_EQ_INT(pl_client_delay_bucket(99999), 999);
    CHECK_EQ_INT(pl_client_delay_bucket(100000), 1000);
    CHECK_EQ_INT(pl_client_delay_bucket(1999999), 2899);
    CHECK_EQ_INT(pl_client_delay_bucket(5000000), PL_CLIENT_DELAY_BUCKETS);
    /* 98 samples at 0.25 ms, one at 150.2 ms, one at 3 s. */
    for (int i = 0; i < 98; i++)
        st.delay_hist[pl_client_delay_bucket(250)]++;
    st.delay_hist[pl_client_delay_bucket(150200)]++;
    st.delay_hist[pl_client_delay_bucket(3000000)]++;
    st.delay_count = 100;
    double p50 = pl_client_delay_percentile(&st, 50), p99 = pl_client_delay_percentile(&st, 99);
    CHECK(p50 > 0.2 && p50 < 0.3);
    CHECK(p99 > 150 && p99 < 151.5);
    CHECK(pl_client_delay_percentile(&st, 100) >= 2000);
}

int main(void)
{
    delay_histogram();
    offer_negotiates(1);
    offer_negotiates(3);
    offer_bad_params();
    offer_with_data_channel();
    node_messages();
    stamps();
    vp8_round_trip();
    ivf_writer();
    ogg_writer();
    return check_result("client");
}
