/* parley-client's Janus pieces without a network: the parser of Janus' messages (what the
 * VideoRoom sends, good and bad) and the answer the client writes to Janus' subscriber offer. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parley/client_media.h"
#include "parley/janus_msg.h"
#include "parley/sdp.h"

static int parse(const char *text, struct pl_janus_msg *m)
{
    char err[160];
    int rc = pl_janus_msg_parse(text, strlen(text), m, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  (refused: %s)\n", err);
    return rc;
}

static void good_messages(void)
{
    struct pl_janus_msg m;
    CHECK_EQ_INT(parse("{\"janus\":\"success\",\"transaction\":\"create-1\",\"data\":{\"id\":5217827824565573}}", &m), 0);
    CHECK_EQ_INT(m.type, PL_JANUS_SUCCESS);
    CHECK(strcmp(m.transaction, "create-1") == 0);
    CHECK(m.data_id == 5217827824565573ull);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"success\",\"session_id\":52,\"transaction\":\"room-3\",\"sender\":39,"
                       "\"plugindata\":{\"plugin\":\"janus.plugin.videoroom\",\"data\":{\"videoroom\":\"event\","
                       "\"error_code\":427,\"error\":\"Room 7 already exists\"}}}", &m), 0);
    CHECK_EQ_INT(m.error_code, 427);
    CHECK(strcmp(m.error, "Room 7 already exists") == 0);
    CHECK(strcmp(m.videoroom, "event") == 0);
    CHECK(m.session_id == 52 && m.sender == 39);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"event\",\"session_id\":52,\"transaction\":\"join-4\",\"sender\":39,"
                       "\"plugindata\":{\"plugin\":\"janus.plugin.videoroom\",\"data\":{\"videoroom\":\"joined\","
                       "\"room\":7,\"description\":\"Room 7\",\"id\":42,\"private_id\":1785089303,\"publishers\":[]}}}", &m), 0);
    CHECK_EQ_INT(m.type, PL_JANUS_EVENT);
    CHECK(strcmp(m.videoroom, "joined") == 0 && m.room == 7 && m.id == 42);
    CHECK(!m.sdp && !m.jsep_type[0]);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"event\",\"sender\":1,\"plugindata\":{\"plugin\":\"x\",\"data\":{"
                       "\"videoroom\":\"event\",\"configured\":\"ok\"}},\"jsep\":{\"type\":\"answer\","
                       "\"sdp\":\"v=0\\r\\n\"}}", &m), 0);
    CHECK(m.configured_ok && !m.started_ok);
    CHECK(strcmp(m.jsep_type, "answer") == 0 && m.sdp && m.sdp_len == 5 && strcmp(m.sdp, "v=0\r\n") == 0);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"event\",\"plugindata\":{\"data\":{\"videoroom\":\"event\",\"started\":\"ok\"}}}", &m), 0);
    CHECK(m.started_ok);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"event\",\"plugindata\":{\"data\":{\"videoroom\":\"event\",\"leaving\":\"ok\"}}}", &m), 0);
    CHECK(m.leaving == 0);
    pl_janus_msg_free(&m);
    CHECK_EQ_INT(parse("{\"janus\":\"event\",\"plugindata\":{\"data\":{\"videoroom\":\"event\",\"leaving\":43,\"unpublished\":44}}}", &m), 0);
    CHECK(m.leaving == 43 && m.unpublished == 44);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"error\",\"transaction\":\"attach-2\",\"error\":{\"code\":458,"
                       "\"reason\":\"No such session 1\"}}", &m), 0);
    CHECK_EQ_INT(m.type, PL_JANUS_ERROR);
    CHECK_EQ_INT(m.error_code, 458);
    CHECK(strcmp(m.error, "No such session 1") == 0);
    pl_janus_msg_free(&m);

    CHECK_EQ_INT(parse("{\"janus\":\"hangup\",\"session_id\":1,\"sender\":2,\"reason\":\"DTLS alert\"}", &m), 0);
    CHECK_EQ_INT(m.type, PL_JANUS_HANGUP);
    CHECK(strcmp(m.reason, "DTLS alert") == 0);
    pl_janus_msg_free(&m);

    static const struct { const char *name; enum pl_janus_type t; } kinds[] = {
        {"ack", PL_JANUS_ACK}, {"webrtcup", PL_JANUS_WEBRTCUP}, {"media", PL_JANUS_MEDIA},
        {"slowlink", PL_JANUS_SLOWLINK}, {"detached", PL_JANUS_DETACHED},
        {"timeout", PL_JANUS_TIMEOUT}, {"trickle", PL_JANUS_OTHER}, {"server_info", PL_JANUS_OTHER},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char text[96];
        snprintf(text, sizeof text, "{\"janus\":\"%s\",\"extra\":[1,2]}", kinds[i].name);
        CHECK_EQ_INT(parse(text, &m), 0);
        CHECK_EQ_INT(m.type, kinds[i].t);
        pl_janus_msg_free(&m);
    }
    /* A long error text is cut, not refused. */
    char longerr[700];
    int n = snprintf(longerr, sizeof longerr, "{\"janus\":\"event\",\"plugindata\":{\"data\":{\"error_code\":1,\"error\":\"");
    memset(longerr + n, 'x', 400);
    snprintf(longerr + n + 400, sizeof longerr - (size_t)n - 400, "\"}}}");
    CHECK_EQ_INT(parse(longerr, &m), 0);
    CHECK_EQ_INT(strlen(m.error), sizeof m.error - 1);
    pl_janus_msg_free(&m);
}

static void bad_messages(void)
{
    static const char *const bad[] = {
        "", "not json", "[1,2]", "{}", "{\"janus\":5}",
        "{\"janus\":\"success\",\"session_id\":-1}",
        "{\"janus\":\"success\",\"session_id\":\"12\"}",
        "{\"janus\":\"success\",\"data\":{\"id\":1.5}}",
        "{\"janus\":\"success\",\"data\":[]}",
        "{\"janus\":\"error\",\"error\":\"bad\"}",
        "{\"janus\":\"error\",\"error\":{\"reason\":\"no code\"}}",
        "{\"janus\":\"event\",\"plugindata\":5}",
        "{\"janus\":\"event\",\"plugindata\":{\"data\":\"x\"}}",
        "{\"janus\":\"event\",\"plugindata\":{\"data\":{\"videoroom\":7}}}",
        "{\"janus\":\"event\",\"plugindata\":{\"data\":{\"error_code\":\"427\"}}}",
        "{\"janus\":\"event\",\"plugindata\":{\"data\":{\"room\":-3}}}",
        "{\"janus\":\"event\",\"jsep\":{\"type\":\"pranswer\",\"sdp\":\"v=0\"}}",
        "{\"janus\":\"event\",\"jsep\":{\"type\":\"offer\"}}",
        "{\"janus\":\"event\",\"jsep\":{\"type\":\"offer\",\"sdp\":\"\"}}",
        "{\"janus\":\"event\",\"jsep\":{\"type\":\"offer\",\"sdp\":\"v=0\\u0000x\"}}",
        "{\"janus\":\"event\",\"jsep\":\"offer\"}",
        "{\"janus\":\"ack\",\"transaction\":7}",
        "{\"janus\":\"ack\",\"transaction\":\"x\",\"transaction\":\"y\"}",
        "{\"janus\":\"event\",\"plugindata\":{\"data\":{\"videoroom\":\"a-videoroom-name-longer-than-thirty-one\"}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pl_janus_msg m;
        char err[160] = "";
        int rc = pl_janus_msg_parse(bad[i], strlen(bad[i]), &m, err, sizeof err);
        if (rc != -1)
            fprintf(stderr, "accepted bad message %zu: %s\n", i, bad[i]);
        CHECK_EQ_INT(rc, -1);
        CHECK(err[0] != 0);
        CHECK(m.sdp == NULL);
    }
    /* A transaction of 64 characters does not fit. */
    char tx[128];
    snprintf(tx, sizeof tx, "{\"janus\":\"ack\",\"transaction\":\"%064d\"}", 0);
    struct pl_janus_msg m;
    char err[160];
    CHECK_EQ_INT(pl_janus_msg_parse(tx, strlen(tx), &m, err, sizeof err), -1);
}

/* Shaped like Janus 1.1's subscriber offer: two feeds' video (VP8 + RTX, FID group), one audio,
 * and a removed stream. */
static const char janus_offer[] =
    "v=0\r\no=- 1733 1 IN IP4 127.0.0.2\r\ns=VideoRoom 7\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1 2\r\na=ice-options:trickle\r\na=fingerprint:sha-256 "
    "D2:B9:31:8F:DF:24:D8:0E:ED:D2:EF:25:9E:AF:6F:B8:34:AE:53:9C:E6:F3:8F:F2:64:15:FA:E8:7F:53:2D:38\r\n"
    "a=ice-lite\r\na=msid-semantic: WMS *\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 127.0.0.2\r\na=sendonly\r\na=mid:0\r\na=rtcp-mux\r\n"
    "a=ice-ufrag:Zr1m\r\na=ice-pwd:ZbO0nYcMxN8gz0g1PzJ7EW\r\na=ice-options:trickle\r\na=setup:actpass\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
    "a=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=ssrc-group:FID 1111 2222\r\n"
    "a=msid:janus janus0\r\na=ssrc:1111 cname:janus\r\na=ssrc:2222 cname:janus\r\n"
    "a=candidate:1 1 udp 2015363327 127.0.0.2 40123 typ host\r\na=end-of-candidates\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.2\r\na=sendonly\r\na=mid:1\r\na=rtcp-mux\r\n"
    "a=ice-ufrag:Zr1m\r\na=ice-pwd:ZbO0nYcMxN8gz0g1PzJ7EW\r\na=setup:actpass\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=ssrc:3333 cname:janus\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 127.0.0.2\r\na=sendonly\r\na=mid:2\r\na=rtcp-mux\r\n"
    "a=ice-ufrag:Zr1m\r\na=ice-pwd:ZbO0nYcMxN8gz0g1PzJ7EW\r\na=setup:actpass\r\n"
    "a=rtpmap:100 VP8/90000\r\na=ssrc:4444 cname:janus\r\n"
    "m=video 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 127.0.0.2\r\na=inactive\r\na=mid:3\r\n";

static void recv_answer(void)
{
    struct pl_sdp o;
    char err[160];
    CHECK_EQ_INT(pl_sdp_parse(janus_offer, strlen(janus_offer), &o, err, sizeof err), 0);
    const char *cands[] = {"candidate:1 1 UDP 2015363327 127.0.0.2 50000 typ host"};
    struct pl_recv_answer_params p = {
        .ice_ufrag = "abcd", .ice_pwd = "0123456789abcdef012345",
        .fingerprint = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
        .session_id = 77, .candidates = cands, .n_candidates = 1,
    };
    char buf[8192];
    int len = pl_recv_answer_write(&o, &p, buf, sizeof buf);
    CHECK(len > 0);
    if (len <= 0) {
        pl_sdp_free(&o);
        return;
    }
    CHECK(strstr(buf, "a=group:BUNDLE 0 1 2\r\n") != NULL);
    CHECK(strstr(buf, "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n") != NULL);
    CHECK(strstr(buf, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n") != NULL);
    CHECK(strstr(buf, "m=video 9 UDP/TLS/RTP/SAVPF 100\r\n") != NULL);
    CHECK(strstr(buf, "m=video 0 UDP/TLS/RTP/SAVPF 0\r\n") != NULL);
    CHECK(strstr(buf, "transport-wide-cc") == NULL); /* only mid is kept */
    /* Once, on the first line. */
    const char *cand = strstr(buf, "a=candidate:");
    CHECK(cand && !strstr(cand + 1, "a=candidate:") && cand < strstr(buf, "m=audio"));

    struct pl_sdp a;
    CHECK_EQ_INT(pl_sdp_parse(buf, (size_t)len, &a, err, sizeof err), 0);
    CHECK_EQ_INT(a.n_media, 4);
    if (a.n_media == 4) {
        for (int i = 0; i < 3; i++) {
            CHECK_EQ_INT(a.media[i].dir, PL_DIR_RECVONLY);
            CHECK_EQ_INT(a.media[i].setup, PL_SETUP_ACTIVE);
            CHECK(strcmp(a.media[i].ice_ufrag, "abcd") == 0);
            CHECK_EQ_INT(a.media[i].fingerprint_len, 32);
            CHECK(a.media[i].rtcp_mux);
        }
        CHECK(strcmp(a.media[0].mid, "0") == 0 && a.media[0].n_codecs == 2);
        CHECK_EQ_INT(a.media[0].codecs[0].codec, PL_CODEC_VP8);
        CHECK_EQ_INT(a.media[0].codecs[1].apt, 96);
        CHECK_EQ_INT(a.media[0].n_extmaps, 1);
        CHECK_EQ_INT(a.media[0].extmaps[0].id, 1);
        CHECK_EQ_INT(a.media[1].codecs[0].codec, PL_CODEC_OPUS);
        CHECK_EQ_INT(a.media[2].codecs[0].pt, 100);
        CHECK_EQ_INT(a.media[3].port, 0);
        CHECK(strcmp(a.media[3].mid, "3") == 0);
        pl_sdp_free(&a);
    }
    /* Too small a buffer, and an offer with nothing to take. */
    CHECK_EQ_INT(pl_recv_answer_write(&o, &p, buf, 200), -1);
    pl_sdp_free(&o);
    const char *nothing = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                          "m=video 9 UDP/TLS/RTP/SAVPF 98\r\na=mid:0\r\na=sendonly\r\na=rtpmap:98 VP9/90000\r\n";
    CHECK_EQ_INT(pl_sdp_parse(nothing, strlen(nothing), &o, err, sizeof err), 0);
    CHECK_EQ_INT(pl_recv_answer_write(&o, &p, buf, sizeof buf), -1);
    pl_sdp_free(&o);
}

int main(void)
{
    good_messages();
    bad_messages();
    recv_answer();
    return check_result("janus");
}
