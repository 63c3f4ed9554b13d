/* Signaling packet parser: every packet of docs/protocol.md, every error, the limits. */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "parley/packet.h"
#include "parley/token.h"

static struct pl_packet pkt;
static char err[256];
static char mid[PL_ID_MAX + 1];

static int parse_len(const char *text, size_t len)
{
    memset(mid, 'x', sizeof mid); /* must be overwritten either way */
    return pl_packet_parse(text, len, &pkt, mid, err, sizeof err);
}

static int parse(const char *text)
{
    return parse_len(text, strlen(text));
}

/* Parses text, which must be accepted; the result stays in pkt until the next parse. */
static bool accepted(int line, const char *text)
{
    pl_packet_free(&pkt);
    if (parse(text) != 0) {
        fprintf(stderr, "%s:%d: refused: %s\n  error: %s\n", __FILE__, line, text, err);
        return false;
    }
    return true;
}

/* The error message must be valid UTF-8 without control characters. */
static bool printable(const char *s)
{
    json_t *j = json_string(s); /* NULL when not valid UTF-8 */
    json_decref(j);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7F || (c[0] == 0xC2 && c[1] >= 0x80 && c[1] < 0xA0))
            return false;
    return j != NULL;
}

/* Parses text, which must be refused with an error containing want (all of it when exact). */
static bool refused(int line, const char *text, size_t len, const char *want, bool exact)
{
    pl_packet_free(&pkt);
    int rc = parse_len(text, len);
    bool good = rc == -1 && (exact ? strcmp(err, want) == 0 : strstr(err, want) != NULL) &&
                printable(err) && !pkt.token && !pkt.sdp && memchr(mid, '\0', sizeof mid);
    if (!good)
        fprintf(stderr, "%s:%d: rc %d for: %.200s\n  error: %s\n  want:  %s\n", __FILE__, line, rc,
                text, err, want);
    return good;
}

#define OK(text) CHECK(accepted(__LINE__, text))
#define ERR(text, msg) CHECK(refused(__LINE__, text, strlen(text), msg, true))
#define ERR_HAS(text, part) CHECK(refused(__LINE__, text, strlen(text), part, false))

/* A growing string for generated packets. */
static char *buf;
static size_t buf_len, buf_cap;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (buf_len + (size_t)n + 1 > buf_cap) {
        buf_cap = 2 * (buf_len + (size_t)n + 1);
        buf = realloc(buf, buf_cap);
        if (!buf)
            abort();
    }
    va_start(ap, fmt);
    vsnprintf(buf + buf_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_len += (size_t)n;
}

static void reset(void)
{
    buf_len = 0;
    put("%s", "");
}

/* `"key": [{"account_id": "u0", "bitrate": 1}, ...]` with n entries named prefix0.. */
static void put_list(const char *key, const char *prefix, int n)
{
    put("\"%s\": [", key);
    for (int i = 0; i < n; i++)
        put("%s{\"account_id\": \"%s%d\", \"bitrate\": %d}", i ? ", " : "", prefix, i, i);
    put("]");
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_protocol_examples(void)
{
    /* The client -> node examples of docs/protocol.md, verbatim. */
    OK("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": \"alice\", \"token\": "
       "\"eyJ...\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_INIT);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK(strcmp(mid, "m1") == 0);
    CHECK(strcmp(pkt.host, "alice") == 0);
    CHECK(strcmp(pkt.token, "eyJ...") == 0);
    CHECK(pkt.account_id[0] == '\0');
    CHECK(pkt.sdp == NULL);
    CHECK_EQ_INT(pkt.sdp_len, 0);
    CHECK_EQ_INT(pkt.n_subscribe, 0);
    CHECK_EQ_INT(pkt.n_unsubscribe, 0);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": \"bob\", \"token\": "
       "\"eyJ...\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_JOIN);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK(strcmp(pkt.account_id, "bob") == 0);
    CHECK(strcmp(pkt.token, "eyJ...") == 0);
    CHECK(pkt.host[0] == '\0');
    CHECK(pkt.sdp == NULL);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": \"v=0\\r\\n...\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_OFFER);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK_EQ_INT(pkt.sdp_len, 8);
    CHECK(pkt.sdp && memcmp(pkt.sdp, "v=0\r\n...", 9) == 0); /* with its NUL */
    CHECK(pkt.token == NULL);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"SUBSCRIBE\", \"num_actions\": 2,\n"
       " \"subscriptions\": [{\"account_id\": \"bob\", \"bitrate\": 1500000}, {\"account_id\": "
       "\"carol\", \"bitrate\": 150000}]}");
    CHECK_EQ_INT(pkt.type, PL_SIG_SUBSCRIBE);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK_EQ_INT(pkt.num_actions, 2);
    CHECK_EQ_INT(pkt.n_subscribe, 2);
    CHECK(strcmp(pkt.subscribe[0].account_id, "bob") == 0);
    CHECK_EQ_INT(pkt.subscribe[0].bitrate, 1500000);
    CHECK(strcmp(pkt.subscribe[1].account_id, "carol") == 0);
    CHECK_EQ_INT(pkt.subscribe[1].bitrate, 150000);
    CHECK_EQ_INT(pkt.n_unsubscribe, 0);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"UNSUBSCRIBE\", \"num_actions\": "
       "[{\"account_id\": \"bob\", \"bitrate\": 0}]}");
    CHECK_EQ_INT(pkt.type, PL_SIG_UNSUBSCRIBE);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK_EQ_INT(pkt.n_unsubscribe, 1);
    CHECK(strcmp(pkt.unsubscribe[0].account_id, "bob") == 0);
    CHECK_EQ_INT(pkt.unsubscribe[0].bitrate, 0);
    CHECK_EQ_INT(pkt.num_actions, 1);
    CHECK_EQ_INT(pkt.n_subscribe, 0);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"UNSUBSCRIBE\", \"unsubscriptions\": "
       "[{\"account_id\": \"bob\"}]}");
    CHECK_EQ_INT(pkt.type, PL_SIG_UNSUBSCRIBE);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK_EQ_INT(pkt.n_unsubscribe, 1);
    CHECK(strcmp(pkt.unsubscribe[0].account_id, "bob") == 0);
    CHECK_EQ_INT(pkt.unsubscribe[0].bitrate, -1);
    CHECK_EQ_INT(pkt.n_subscribe, 0);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"UNSUB_SUB\", \"num_actions\": 2,\n"
       " \"unsubscribe\": [{\"account_id\": \"bob\", \"bitrate\": 0}],\n"
       " \"subscribe\": [{\"account_id\": \"carol\", \"bitrate\": 1500000}]}");
    CHECK_EQ_INT(pkt.type, PL_SIG_UNSUB_SUB);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK_EQ_INT(pkt.num_actions, 2);
    CHECK_EQ_INT(pkt.n_unsubscribe, 1);
    CHECK(strcmp(pkt.unsubscribe[0].account_id, "bob") == 0);
    CHECK_EQ_INT(pkt.unsubscribe[0].bitrate, 0);
    CHECK_EQ_INT(pkt.n_subscribe, 1);
    CHECK(strcmp(pkt.subscribe[0].account_id, "carol") == 0);
    CHECK_EQ_INT(pkt.subscribe[0].bitrate, 1500000);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"LEAVE\", \"account_id\": \"bob\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_LEAVE);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK(strcmp(pkt.account_id, "bob") == 0);
    CHECK(pkt.token == NULL);

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"END\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_END);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK(pkt.token == NULL && pkt.sdp == NULL);
    CHECK(pkt.account_id[0] == '\0' && pkt.host[0] == '\0');

    OK("{\"meeting_id\": \"m1\", \"content_type\": \"RECORD_JOIN\", \"token\": \"eyJ...\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_RECORD_JOIN);
    CHECK(strcmp(pkt.meeting_id, "m1") == 0);
    CHECK(strcmp(pkt.token, "eyJ...") == 0);
    CHECK(pkt.account_id[0] == '\0');

    /* The node's relayed JOIN (no token) is a well-formed client JOIN: the meeting logic denies
     * it for the missing token. */
    OK("{\"meeting_id\":\"m1\",\"content_type\":\"JOIN\",\"account_id\":\"bob\"}");
    CHECK_EQ_INT(pkt.type, PL_SIG_JOIN);
    CHECK(pkt.token == NULL);
    OK("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": \"alice\"}");
    CHECK(pkt.token == NULL);
    OK("{\"meeting_id\": \"m1\", \"content_type\": \"RECORD_JOIN\"}");
    CHECK(pkt.token == NULL);
}

static void test_node_packets(void)
{
    /* The node -> client examples of docs/protocol.md, sent back by a client. */
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"MEETING_USERS\",\"users\":[\"alice\",\"carol\"]}",
        "MEETING_USERS is sent by the node, not by clients");
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"JOIN_DENIED\"}",
        "JOIN_DENIED is sent by the node, not by clients");
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"ERROR\",\"msg\":\"...\"}",
        "ERROR is sent by the node, not by clients");
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"ANSWER\",\"sdp\":\"v=0...\"}",
        "ANSWER is sent by the node, not by clients");
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"SLOTS\",\"slots\":[{\"mid\":\"2\",\"kind\":"
        "\"video\",\"account_id\":\"bob\"}]}",
        "SLOTS is sent by the node, not by clients");
    CHECK(strcmp(mid, "m1") == 0);
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"RECORDING\",\"recording\":true}",
        "RECORDING is sent by the node, not by clients");
    ERR("{\"meeting_id\":\"m1\",\"content_type\":\"ACTIVE_SPEAKER\",\"account_id\":\"carol\"}",
        "ACTIVE_SPEAKER is sent by the node, not by clients");
}

static void test_not_a_packet(void)
{
    ERR_HAS("{", "not JSON: ");
    ERR_HAS("{", "(line 1, column 1)");
    ERR_HAS("", "not JSON: ");
    ERR_HAS("   \n ", "not JSON: ");
    ERR_HAS("{\"meeting_id\": \"m1\",\n \"content_type\": END}", "(line 2, column ");
    ERR_HAS("{\"meeting_id\": \"m1\", \"content_type\": \"END\"} {}", "not JSON: ");
    ERR_HAS("{\"meeting_id\": \"m1\", \"content_type\": \"END\", \"meeting_id\": \"m2\"}",
            "not JSON: duplicate object key");
    CHECK(mid[0] == '\0');
    ERR_HAS("{\"meeting_id\": \"m1\", \"content_type\": \"END\", \"x\": 1e999}", "not JSON: ");
    ERR_HAS("\xff\xfe{}", "not JSON: ");
    ERR_HAS("{\"meeting_id\": \"m\xc3\"}", "not JSON: ");
    ERR_HAS("\x01\x7f", "not JSON: "); /* control characters in jansson's text are replaced */
    ERR("[]", "a packet must be a JSON object");
    ERR("[{\"meeting_id\": \"m1\", \"content_type\": \"END\"}]", "a packet must be a JSON object");
    ERR("42", "a packet must be a JSON object");
    ERR("\"END\"", "a packet must be a JSON object");
    ERR("null", "a packet must be a JSON object");
    ERR("true", "a packet must be a JSON object");
    CHECK(mid[0] == '\0');
}

static void test_nul(void)
{
    /* Jansson refuses \u0000 and raw NUL bytes, so no string with a NUL gets through. */
    ERR_HAS("{\"meeting_id\": \"m\\u00001\", \"content_type\": \"END\"}", "not JSON: ");
    ERR_HAS("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": \"b\\u0000\"}",
            "not JSON: ");
    ERR_HAS("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": \"v=0\\u0000\"}",
            "not JSON: ");
    static const char raw[] = "{\"meeting_id\": \"m\0\", \"content_type\": \"END\"}";
    CHECK(refused(__LINE__, raw, sizeof raw - 1, "not JSON: ", false));
    static const char raw2[] = "{\"meeting_id\": \"m1\", \"content_type\": \"END\"}\0";
    CHECK(refused(__LINE__, raw2, sizeof raw2 - 1, "not JSON: ", false));
    /* The length is honoured: nothing is read after it. */
    static const char cut[] = "{\"meeting_id\": \"m1\", \"content_type\": \"END\"}garbage";
    CHECK(parse_len(cut, sizeof cut - 1 - 7) == 0);
    pl_packet_free(&pkt);
}

static void test_meeting_id(void)
{
    ERR("{\"content_type\": \"END\"}", "missing field \"meeting_id\"");
    CHECK(mid[0] == '\0');
    const char *msg = "field \"meeting_id\" must be a string of 1 to 128 characters";
    ERR("{\"meeting_id\": \"\", \"content_type\": \"END\"}", msg);
    ERR("{\"meeting_id\": 1, \"content_type\": \"END\"}", msg);
    ERR("{\"meeting_id\": null, \"content_type\": \"END\"}", msg);
    ERR("{\"meeting_id\": [\"m1\"], \"content_type\": \"END\"}", msg);
    ERR("{\"meeting_id\": {}, \"content_type\": \"END\"}", msg);
    ERR("{\"meeting_id\": true, \"content_type\": \"END\"}", msg);
    CHECK(mid[0] == '\0');

    char *id = repeat('m', 128);
    reset();
    put("{\"meeting_id\": \"%s\", \"content_type\": \"END\"}", id);
    OK(buf);
    CHECK(strcmp(pkt.meeting_id, id) == 0);
    CHECK(strcmp(mid, id) == 0);
    reset();
    put("{\"meeting_id\": \"%s\", \"content_type\": \"FOO\"}", id);
    ERR(buf, "unknown content_type \"FOO\"");
    CHECK(strcmp(mid, id) == 0); /* a valid meeting_id is reported on failure */
    reset();
    put("{\"meeting_id\": \"%sm\", \"content_type\": \"END\"}", id);
    ERR(buf, msg);
    CHECK(mid[0] == '\0');
    free(id);

    /* Length is in bytes: 64 two-byte characters fit, 65 do not. */
    reset();
    put("{\"meeting_id\": \"");
    for (int i = 0; i < 64; i++)
        put("\xc3\xa9");
    put("\", \"content_type\": \"END\"}");
    OK(buf);
    CHECK_EQ_INT(strlen(pkt.meeting_id), 128);
    reset();
    put("{\"meeting_id\": \"");
    for (int i = 0; i < 64; i++)
        put("\\u00e9");
    put("x\", \"content_type\": \"END\"}");
    ERR(buf, msg);
}

static void test_content_type(void)
{
    ERR("{\"meeting_id\": \"m1\"}", "missing field \"content_type\"");
    CHECK(strcmp(mid, "m1") == 0);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": 5}", "field \"content_type\" must be a string");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": null}", "field \"content_type\" must be a string");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": [\"END\"]}",
        "field \"content_type\" must be a string");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"FOO\"}", "unknown content_type \"FOO\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"join\"}", "unknown content_type \"join\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"END \"}", "unknown content_type \"END \"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"\"}", "unknown content_type \"\"");
    /* Nothing is escaped; control characters (C0, DEL, C1) become '?'. */
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"a\\\"b\\\\c\"}",
        "unknown content_type \"a\"b\\c\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"\\u0001A\\nB\\t\\u007f\\u0085\\u00e9\"}",
        "unknown content_type \"?A?B???\xc3\xa9\"");
    /* Truncated to 32 characters, never inside a UTF-8 sequence. */
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"0123456789012345678901234567890123456789\"}",
        "unknown content_type \"01234567890123456789012345678901\"");
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"");
    for (int i = 0; i < 40; i++)
        put("\xe2\x82\xac"); /* euro sign */
    put("\"}");
    char want[200] = "unknown content_type \"";
    for (int i = 0; i < 32; i++)
        strcat(want, "\xe2\x82\xac");
    strcat(want, "\"");
    ERR(buf, want);
}

static void test_ids_and_tokens(void)
{
    const char *acc = "field \"account_id\" must be a string of 1 to 128 characters";
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"token\": \"t\"}",
        "missing field \"account_id\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": 7}", acc);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": \"\"}", acc);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": [\"bob\"]}", acc);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"LEAVE\"}", "missing field \"account_id\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"LEAVE\", \"account_id\": null}", acc);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"LEAVE\", \"account_id\": false}", acc);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"token\": \"t\"}",
        "missing field \"host\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": 1.5}",
        "field \"host\" must be a string of 1 to 128 characters");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": {}}",
        "field \"host\" must be a string of 1 to 128 characters");

    char *id = repeat('a', 128);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": \"%s\"}", id);
    OK(buf);
    CHECK(strcmp(pkt.account_id, id) == 0);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"LEAVE\", \"account_id\": \"%sa\"}", id);
    ERR(buf, acc);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": \"%s\"}", id);
    OK(buf);
    CHECK(strcmp(pkt.host, id) == 0);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": \"%sa\"}", id);
    ERR(buf, "field \"host\" must be a string of 1 to 128 characters");
    free(id);

    const char *tok = "field \"token\" must be a string of 1 to 4096 characters";
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": \"a\", \"token\": \"\"}", tok);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"INIT\", \"host\": \"a\", \"token\": 1}", tok);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": \"b\", \"token\": "
        "null}",
        tok);
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"RECORD_JOIN\", \"token\": [\"t\"]}", tok);
    char *t = repeat('t', PL_TOKEN_MAX_LEN);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"RECORD_JOIN\", \"token\": \"%s\"}", t);
    OK(buf);
    CHECK(pkt.token && strcmp(pkt.token, t) == 0);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": \"b\", \"token\": "
        "\"%st\"}",
        t);
    ERR(buf, tok);
    free(t);

    /* Extra fields are ignored, whatever their type. */
    OK("{\"x\": [1, {\"y\": null}], \"meeting_id\": \"m1\", \"content_type\": \"LEAVE\", "
       "\"account_id\": \"bob\", \"token\": \"t\", \"sdp\": 5, \"host\": 1}");
    CHECK_EQ_INT(pkt.type, PL_SIG_LEAVE);
    CHECK(pkt.token == NULL && pkt.sdp == NULL && pkt.host[0] == '\0');
}

static void test_offer(void)
{
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\"}", "missing field \"sdp\"");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": \"\"}",
        "field \"sdp\" must be a non-empty string");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": 1}",
        "field \"sdp\" must be a non-empty string");
    ERR("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": {\"v\": 0}}",
        "field \"sdp\" must be a non-empty string");
    OK("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": \"\\u0001\\u00ff\\\"\"}");
    CHECK_EQ_INT(pkt.sdp_len, 4);
    CHECK(memcmp(pkt.sdp, "\x01\xc3\xbf\"", 5) == 0);
    /* A large SDP is copied whole. */
    char *s = repeat('a', 300000);
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": \"%s\"}", s);
    OK(buf);
    CHECK_EQ_INT(pkt.sdp_len, 300000);
    CHECK(pkt.sdp && strcmp(pkt.sdp, s) == 0);
    free(s);
}

static void test_subscribe(void)
{
    const char *head = "{\"meeting_id\": \"m1\", \"content_type\": \"SUBSCRIBE\"";
    char text[1024];
#define SUB(rest) (snprintf(text, sizeof text, "%s, %s}", head, rest), text)
    ERR(SUB("\"subscriptions\": [{\"account_id\": \"bob\", \"bitrate\": 1}]"),
        "missing field \"num_actions\"");
    const char *nint = "field \"num_actions\" must be an integer";
    ERR(SUB("\"num_actions\": \"1\", \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        nint);
    ERR(SUB("\"num_actions\": 1.0, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        nint);
    ERR(SUB("\"num_actions\": true, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        nint);
    ERR(SUB("\"num_actions\": null, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        nint);
    ERR(SUB("\"num_actions\": [], \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        nint);
    ERR(SUB("\"num_actions\": 3, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}, "
            "{\"account_id\": \"c\", \"bitrate\": 1}]"),
        "num_actions is 3 but \"subscriptions\" has 2 entries");
    ERR(SUB("\"num_actions\": -1, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        "num_actions is -1 but \"subscriptions\" has 1 entry");
    ERR(SUB("\"num_actions\": 9223372036854775807, \"subscriptions\": [{\"account_id\": \"b\", "
            "\"bitrate\": 1}]"),
        "num_actions is 9223372036854775807 but \"subscriptions\" has 1 entry");
    ERR(SUB("\"num_actions\": 1"), "missing field \"subscriptions\"");
    ERR(SUB("\"num_actions\": 1, \"subscriptions\": {\"account_id\": \"b\", \"bitrate\": 1}"),
        "field \"subscriptions\" must be an array");
    ERR(SUB("\"num_actions\": 1, \"subscriptions\": null"), "field \"subscriptions\" must be an array");
    ERR(SUB("\"num_actions\": 0, \"subscriptions\": []"),
        "\"subscriptions\" must have at least one entry");
    ERR(SUB("\"num_actions\": 1, \"subscriptions\": [\"bob\"]"), "subscriptions[0] must be an object");
    ERR(SUB("\"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}, []]"),
        "subscriptions[1] must be an object");
    ERR(SUB("\"num_actions\": 1, \"subscriptions\": [{\"bitrate\": 1}]"),
        "missing subscriptions[0].account_id");
    const char *acc1 = "subscriptions[1].account_id must be a string of 1 to 128 characters";
    ERR(SUB("\"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}, "
            "{\"account_id\": 5, \"bitrate\": 1}]"),
        acc1);
    ERR(SUB("\"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}, "
            "{\"account_id\": \"\", \"bitrate\": 1}]"),
        acc1);
    ERR(SUB("\"num_actions\": 1, \"subscriptions\": [{\"account_id\": \"b\"}]"),
        "missing subscriptions[0].bitrate");
    const char *br1 = "subscriptions[1].bitrate must be an integer from 0 to 100000000";
    const char *bad_bitrates[] = {"-1", "100000001", "\"5\"", "1.5", "null", "[1]", "true",
                                  "-9223372036854775808"};
    for (size_t i = 0; i < sizeof bad_bitrates / sizeof bad_bitrates[0]; i++) {
        char rest[256];
        snprintf(rest, sizeof rest,
                 "\"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 1}, "
                 "{\"account_id\": \"c\", \"bitrate\": %s}]",
                 bad_bitrates[i]);
        ERR(SUB(rest), br1);
    }
    OK(SUB("\"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"b\", \"bitrate\": 0}, "
           "{\"account_id\": \"c\", \"bitrate\": 100000000, \"extra\": {}}]"));
    CHECK_EQ_INT(pkt.subscribe[0].bitrate, 0);
    CHECK_EQ_INT(pkt.subscribe[1].bitrate, PL_MAX_BITRATE);
    ERR(SUB("\"num_actions\": 3, \"subscriptions\": [{\"account_id\": \"bob\", \"bitrate\": 1}, "
            "{\"account_id\": \"c\", \"bitrate\": 1}, {\"account_id\": \"bob\", \"bitrate\": 2}]"),
        "\"subscriptions\" lists account \"bob\" twice (entries 0 and 2)");
    /* Account ids differ by bytes, so "Bob" is not "bob". */
    OK(SUB("\"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"bob\", \"bitrate\": 1}, "
           "{\"account_id\": \"Bob\", \"bitrate\": 1}]"));
#undef SUB

    /* 50 entries are fine, 51 are not. */
    reset();
    put("%s, \"num_actions\": 50, ", head);
    put_list("subscriptions", "u", 50);
    put("}");
    OK(buf);
    CHECK_EQ_INT(pkt.n_subscribe, 50);
    CHECK_EQ_INT(pkt.num_actions, 50);
    CHECK(strcmp(pkt.subscribe[49].account_id, "u49") == 0);
    CHECK_EQ_INT(pkt.subscribe[49].bitrate, 49);
    reset();
    put("%s, \"num_actions\": 51, ", head);
    put_list("subscriptions", "u", 51);
    put("}");
    ERR(buf, "at most 50 entries in \"subscriptions\" (it has 51)");

    /* A duplicate with a long id is quoted with its first 32 characters. */
    char *id = repeat('z', 128);
    reset();
    put("%s, \"num_actions\": 2, \"subscriptions\": [{\"account_id\": \"%s\", \"bitrate\": 1}, "
        "{\"account_id\": \"%s\", \"bitrate\": 1}]}",
        head, id, id);
    ERR(buf, "\"subscriptions\" lists account \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\" twice "
             "(entries 0 and 1)");
    free(id);
}

static void test_unsubscribe(void)
{
    const char *head = "{\"meeting_id\": \"m1\", \"content_type\": \"UNSUBSCRIBE\"";
    char text[1024];
#define UNSUB(rest) (snprintf(text, sizeof text, "%s, %s}", head, rest), text)
    ERR(UNSUB("\"num_actions\": [{\"account_id\": \"b\"}], \"unsubscriptions\": [{\"account_id\": "
              "\"c\"}]"),
        "UNSUBSCRIBE takes its list under \"num_actions\" or \"unsubscriptions\", not both");
    ERR(UNSUB("\"num_actions\": 1, \"unsubscriptions\": [{\"account_id\": \"c\"}]"),
        "UNSUBSCRIBE takes its list under \"num_actions\" or \"unsubscriptions\", not both");
    ERR(UNSUB("\"x\": 1"),
        "missing field \"unsubscriptions\" (or the same list under \"num_actions\")");
    ERR(UNSUB("\"subscriptions\": [{\"account_id\": \"c\"}]"),
        "missing field \"unsubscriptions\" (or the same list under \"num_actions\")");
    ERR(UNSUB("\"num_actions\": 1"),
        "field \"num_actions\" of UNSUBSCRIBE must be the array of accounts to unsubscribe");
    ERR(UNSUB("\"num_actions\": {\"account_id\": \"b\"}"),
        "field \"num_actions\" of UNSUBSCRIBE must be the array of accounts to unsubscribe");
    ERR(UNSUB("\"unsubscriptions\": {\"account_id\": \"b\"}"),
        "field \"unsubscriptions\" must be an array");
    ERR(UNSUB("\"unsubscriptions\": []"), "\"unsubscriptions\" must have at least one entry");
    ERR(UNSUB("\"num_actions\": []"), "\"num_actions\" must have at least one entry");
    /* Entries are named after the key that carried the list. */
    ERR(UNSUB("\"num_actions\": [{\"account_id\": \"b\"}, {\"account_id\": 1}]"),
        "num_actions[1].account_id must be a string of 1 to 128 characters");
    ERR(UNSUB("\"unsubscriptions\": [{\"account\": \"b\"}]"), "missing unsubscriptions[0].account_id");
    ERR(UNSUB("\"unsubscriptions\": [7]"), "unsubscriptions[0] must be an object");
    ERR(UNSUB("\"unsubscriptions\": [{\"account_id\": \"b\", \"bitrate\": \"0\"}]"),
        "unsubscriptions[0].bitrate must be an integer from 0 to 100000000");
    ERR(UNSUB("\"num_actions\": [{\"account_id\": \"b\", \"bitrate\": -1}]"),
        "num_actions[0].bitrate must be an integer from 0 to 100000000");
    ERR(UNSUB("\"unsubscriptions\": [{\"account_id\": \"b\"}, {\"account_id\": \"b\", "
              "\"bitrate\": 5}]"),
        "\"unsubscriptions\" lists account \"b\" twice (entries 0 and 1)");
    OK(UNSUB("\"unsubscriptions\": [{\"account_id\": \"b\", \"bitrate\": 7}, {\"account_id\": "
             "\"c\"}]"));
    CHECK_EQ_INT(pkt.n_unsubscribe, 2);
    CHECK_EQ_INT(pkt.unsubscribe[0].bitrate, 7);
    CHECK(strcmp(pkt.unsubscribe[1].account_id, "c") == 0);
    CHECK_EQ_INT(pkt.unsubscribe[1].bitrate, -1);
    CHECK_EQ_INT(pkt.n_subscribe, 0);
#undef UNSUB

    const char *keys[] = {"num_actions", "unsubscriptions"};
    for (int k = 0; k < 2; k++) {
        reset();
        put("%s, ", head);
        put_list(keys[k], "u", 50);
        put("}");
        OK(buf);
        CHECK_EQ_INT(pkt.n_unsubscribe, 50);
        CHECK(strcmp(pkt.unsubscribe[49].account_id, "u49") == 0);
        reset();
        put("%s, ", head);
        put_list(keys[k], "u", 51);
        put("}");
        char want[96];
        snprintf(want, sizeof want, "at most 50 entries in \"%s\" (it has 51)", keys[k]);
        ERR(buf, want);
    }
}

static void test_unsub_sub(void)
{
    const char *head = "{\"meeting_id\": \"m1\", \"content_type\": \"UNSUB_SUB\"";
    char text[1024];
#define SWAP(rest) (snprintf(text, sizeof text, "%s, %s}", head, rest), text)
    ERR(SWAP("\"unsubscribe\": [{\"account_id\": \"b\"}], \"subscribe\": []"),
        "missing field \"num_actions\"");
    ERR(SWAP("\"num_actions\": \"1\", \"unsubscribe\": [{\"account_id\": \"b\"}], "
             "\"subscribe\": []"),
        "field \"num_actions\" must be an integer");
    ERR(SWAP("\"num_actions\": 1, \"subscribe\": [{\"account_id\": \"b\", \"bitrate\": 1}]"),
        "missing field \"unsubscribe\"");
    ERR(SWAP("\"num_actions\": 1, \"unsubscribe\": [{\"account_id\": \"b\"}]"),
        "missing field \"subscribe\"");
    ERR(SWAP("\"num_actions\": 1, \"unsubscribe\": {}, \"subscribe\": []"),
        "field \"unsubscribe\" must be an array");
    ERR(SWAP("\"num_actions\": 1, \"unsubscribe\": [], \"subscribe\": \"b\""),
        "field \"subscribe\" must be an array");
    ERR(SWAP("\"num_actions\": 0, \"unsubscribe\": [], \"subscribe\": []"),
        "UNSUB_SUB needs at least one entry in \"unsubscribe\" or \"subscribe\"");
    ERR(SWAP("\"num_actions\": 1, \"unsubscribe\": [{\"account_id\": \"b\"}], \"subscribe\": "
             "[{\"account_id\": \"c\", \"bitrate\": 1}]"),
        "num_actions is 1 but \"unsubscribe\" and \"subscribe\" have 2 entries");
    ERR(SWAP("\"num_actions\": 2, \"unsubscribe\": [{\"account_id\": \"b\"}], \"subscribe\": []"),
        "num_actions is 2 but \"unsubscribe\" and \"subscribe\" have 1 entry");
    ERR(SWAP("\"num_actions\": 2, \"unsubscribe\": [{\"account_id\": \"b\"}], \"subscribe\": "
             "[{\"account_id\": \"c\"}]"),
        "missing subscribe[0].bitrate");
    ERR(SWAP("\"num_actions\": 2, \"unsubscribe\": [{\"account_id\": \"b\", \"bitrate\": 1e3}], "
             "\"subscribe\": [{\"account_id\": \"c\", \"bitrate\": 1}]"),
        "unsubscribe[0].bitrate must be an integer from 0 to 100000000");
    ERR(SWAP("\"num_actions\": 2, \"unsubscribe\": [{\"account_id\": \"b\"}, {\"account_id\": "
             "\"b\"}], \"subscribe\": []"),
        "\"unsubscribe\" lists account \"b\" twice (entries 0 and 1)");
    ERR(SWAP("\"num_actions\": 2, \"unsubscribe\": [], \"subscribe\": [{\"account_id\": \"c\", "
             "\"bitrate\": 1}, {\"account_id\": \"c\", \"bitrate\": 2}]"),
        "\"subscribe\" lists account \"c\" twice (entries 0 and 1)");
    ERR(SWAP("\"num_actions\": 1, \"unsubscribe\": [], \"subscribe\": [{\"account_id\": [], "
             "\"bitrate\": 1}]"),
        "subscribe[0].account_id must be a string of 1 to 128 characters");

    /* Either list may be empty. */
    OK(SWAP("\"num_actions\": 1, \"unsubscribe\": [{\"account_id\": \"b\"}], \"subscribe\": []"));
    CHECK_EQ_INT(pkt.n_unsubscribe, 1);
    CHECK_EQ_INT(pkt.unsubscribe[0].bitrate, -1);
    CHECK_EQ_INT(pkt.n_subscribe, 0);
    OK(SWAP("\"num_actions\": 1, \"unsubscribe\": [], \"subscribe\": [{\"account_id\": \"c\", "
            "\"bitrate\": 5}]"));
    CHECK_EQ_INT(pkt.n_unsubscribe, 0);
    CHECK_EQ_INT(pkt.n_subscribe, 1);
    CHECK_EQ_INT(pkt.subscribe[0].bitrate, 5);
    /* The same account in both lists changes its bitrate. */
    OK(SWAP("\"num_actions\": 2, \"unsubscribe\": [{\"account_id\": \"b\"}], \"subscribe\": "
            "[{\"account_id\": \"b\", \"bitrate\": 300000}]"));
    CHECK(strcmp(pkt.unsubscribe[0].account_id, "b") == 0);
    CHECK(strcmp(pkt.subscribe[0].account_id, "b") == 0);
    CHECK_EQ_INT(pkt.subscribe[0].bitrate, 300000);
#undef SWAP

    reset();
    put("%s, \"num_actions\": 100, ", head);
    put_list("unsubscribe", "a", 50);
    put(", ");
    put_list("subscribe", "b", 50);
    put("}");
    OK(buf);
    CHECK_EQ_INT(pkt.num_actions, 100);
    CHECK_EQ_INT(pkt.n_unsubscribe, 50);
    CHECK_EQ_INT(pkt.n_subscribe, 50);
    CHECK(strcmp(pkt.unsubscribe[49].account_id, "a49") == 0);
    CHECK(strcmp(pkt.subscribe[49].account_id, "b49") == 0);
    reset();
    put("%s, \"num_actions\": 52, ", head);
    put_list("unsubscribe", "a", 1);
    put(", ");
    put_list("subscribe", "b", 51);
    put("}");
    ERR(buf, "at most 50 entries in \"subscribe\" (it has 51)");
    reset();
    put("%s, \"num_actions\": 51, ", head);
    put_list("unsubscribe", "a", 51);
    put(", \"subscribe\": []}");
    ERR(buf, "at most 50 entries in \"unsubscribe\" (it has 51)");
}

static void test_huge_and_deep(void)
{
    /* Deep nesting: jansson stops at its depth limit; nothing overflows. */
    reset();
    for (int i = 0; i < 100000; i++)
        put("[");
    ERR_HAS(buf, "not JSON: ");
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"END\", \"x\": ");
    for (int i = 0; i < 100000; i++)
        put("{\"a\":");
    put("1");
    for (int i = 0; i < 100000; i++)
        put("}");
    put("}");
    ERR_HAS(buf, "not JSON: ");
    /* Moderate nesting in an ignored field is fine. */
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"END\", \"x\": ");
    for (int i = 0; i < 100; i++)
        put("[");
    for (int i = 0; i < 100; i++)
        put("]");
    put("}");
    OK(buf);

    /* A huge list is refused by its size before any entry is looked at. */
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"SUBSCRIBE\", \"num_actions\": 200000, "
        "\"subscriptions\": [");
    for (int i = 0; i < 200000; i++)
        put("%s0", i ? "," : "");
    put("]}");
    ERR(buf, "at most 50 entries in \"subscriptions\" (it has 200000)");
    /* Many keys. */
    reset();
    put("{\"meeting_id\": \"m1\", \"content_type\": \"END\"");
    for (int i = 0; i < 100000; i++)
        put(", \"k%d\": %d", i, i);
    put("}");
    OK(buf);
}

static void test_error_buffer(void)
{
    struct pl_packet p;
    const char *bad = "{\"meeting_id\": \"m1\", \"content_type\": \"FOO\"}";
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK_EQ_INT(pl_packet_parse(bad, strlen(bad), &p, NULL, small, sizeof small), -1);
    CHECK(strcmp(small, "unknown") == 0);
    char one[1] = {'x'};
    CHECK_EQ_INT(pl_packet_parse(bad, strlen(bad), &p, NULL, one, sizeof one), -1);
    CHECK(one[0] == '\0');
    CHECK_EQ_INT(pl_packet_parse(bad, strlen(bad), &p, NULL, NULL, 0), -1);

    /* Cut inside a multi-byte character: the partial character becomes '?'. */
    const char *euro = "{\"meeting_id\": \"m1\", \"content_type\": \"\xe2\x82\xac\"}";
    char cut[25]; /* `unknown content_type "` is 22 bytes, then 2 of the 3 of the euro sign */
    CHECK_EQ_INT(pl_packet_parse(euro, strlen(euro), &p, NULL, cut, sizeof cut), -1);
    CHECK(strcmp(cut, "unknown content_type \"??") == 0);
    CHECK(printable(cut));

    /* Success without meeting_id_out or err. */
    const char *good = "{\"meeting_id\": \"m1\", \"content_type\": \"END\"}";
    CHECK_EQ_INT(pl_packet_parse(good, strlen(good), &p, NULL, NULL, 0), 0);
    pl_packet_free(&p);
}

static void test_free_and_names(void)
{
    struct pl_packet p;
    memset(&p, 0, sizeof p);
    pl_packet_free(&p);
    pl_packet_free(&p);
    pl_packet_free(NULL);
    const char *offer = "{\"meeting_id\": \"m1\", \"content_type\": \"OFFER\", \"sdp\": \"v=0\"}";
    CHECK_EQ_INT(pl_packet_parse(offer, strlen(offer), &p, NULL, err, sizeof err), 0);
    pl_packet_free(&p);
    CHECK(p.sdp == NULL && p.sdp_len == 0);
    pl_packet_free(&p);
    const char *join = "{\"meeting_id\": \"m1\", \"content_type\": \"JOIN\", \"account_id\": "
                       "\"b\", \"token\": \"t\"}";
    CHECK_EQ_INT(pl_packet_parse(join, strlen(join), &p, NULL, err, sizeof err), 0);
    pl_packet_free(&p);
    CHECK(p.token == NULL);
    pl_packet_free(&p);

    CHECK(strcmp(pl_sig_type_name(PL_SIG_INIT), "INIT") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_JOIN), "JOIN") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_LEAVE), "LEAVE") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_END), "END") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_SUBSCRIBE), "SUBSCRIBE") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_UNSUBSCRIBE), "UNSUBSCRIBE") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_UNSUB_SUB), "UNSUB_SUB") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_RECORD_JOIN), "RECORD_JOIN") == 0);
    CHECK(strcmp(pl_sig_type_name(PL_SIG_OFFER), "OFFER") == 0);
    CHECK(strcmp(pl_sig_type_name((enum pl_sig_type)0), "UNKNOWN") == 0);
    CHECK(strcmp(pl_sig_type_name((enum pl_sig_type)99), "UNKNOWN") == 0);
}

int main(void)
{
    test_protocol_examples();
    test_node_packets();
    test_not_a_packet();
    test_nul();
    test_meeting_id();
    test_content_type();
    test_ids_and_tokens();
    test_offer();
    test_subscribe();
    test_unsubscribe();
    test_unsub_sub();
    test_huge_and_deep();
    test_error_buffer();
    test_free_and_names();
    pl_packet_free(&pkt);
    free(buf);
    return check_result("packet");
}
