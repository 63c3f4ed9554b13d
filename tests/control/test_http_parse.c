/* Unit tests of the control plane's HTTP/1.1 request parser and Range parser
 * (control/http_parse.c): complete, partial and pipelined requests, keep-alive rules, every
 * refusal, the Range forms, and the node URL helper. */
#include <string.h>

#include "../unit/check.h"
#include "parley/http.h"
#include "../../control/node_url.h"

static const struct pl_http_limits lim = {256, 64};

static long parse(const char *s, struct pl_http_request *r)
{
    return pl_http_parse(s, strlen(s), &lim, r);
}

static void test_requests(void)
{
    struct pl_http_request r;
    const char *get = "GET /meetings/m1?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization:  Bearer t \r\n\r\n";
    CHECK_EQ_INT(parse(get, &r), (long)strlen(get));
    CHECK(pl_http_str_ieq(r.method, "GET"));
    CHECK(r.target.n == 16 && memcmp(r.target.p, "/meetings/m1?x=1", 16) == 0);
    CHECK_EQ_INT(r.minor, 1);
    CHECK(r.keep_alive);
    const struct pl_http_str *a = pl_http_header(&r, "AUTHORIZATION");
    CHECK(a && a->n == 8 && memcmp(a->p, "Bearer t", 8) == 0);
    CHECK(pl_http_header(&r, "range") == NULL);

    const char *post = "POST /x HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhelloGET";
    CHECK_EQ_INT(parse(post, &r), (long)strlen(post) - 3);
    CHECK(r.body.n == 5 && memcmp(r.body.p, "hello", 5) == 0);
    CHECK(!r.keep_alive);
    /* Partial: head incomplete, then body incomplete. */
    CHECK_EQ_INT(pl_http_parse(post, 20, &lim, &r), 0);
    CHECK_EQ_INT(pl_http_parse(post, strlen(post) - 5, &lim, &r), 0);
    /* HTTP/1.0 closes unless asked to keep alive. */
    CHECK_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n", &r), 18);
    CHECK(!r.keep_alive);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0 && r.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n", &r) > 0 && !r.keep_alive);
    /* Same length twice is fine. */
    CHECK(parse("POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx", &r) > 0);
}

static void test_refusals(void)
{
    struct pl_http_request r;
    CHECK_EQ_INT(parse("GARBAGE\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("GET  / HTTP/1.1\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("GET / HTTP/2.0\r\n\r\n", &r), -505);
    CHECK_EQ_INT(parse("GET / HTTP/1.1x\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nNo colon\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\n folded: x\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nA: b\nB: c\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), -400);
    CHECK_EQ_INT(parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", &r), -400);
    CHECK_EQ_INT(parse("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", &r), -413);
    CHECK_EQ_INT(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), -501);
    char big[400];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    big[sizeof big - 1] = '\0';
    CHECK_EQ_INT(parse(big, &r), -431); /* no end of head within the limit */
    char many[2048] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < PL_HTTP_MAX_HEADERS + 1; i++)
        strcat(many, "A: b\r\n");
    strcat(many, "\r\n");
    struct pl_http_limits roomy = {4096, 64};
    CHECK_EQ_INT(pl_http_parse(many, strlen(many), &roomy, &r), -431);
}

static void test_range(void)
{
    unsigned long long f = 0, l = 0;
#define R(s, size) pl_http_range(s, strlen(s), size, &f, &l)
    CHECK(R("bytes=0-99", 1000) == 1 && f == 0 && l == 99);
    CHECK(R("bytes=900-", 1000) == 1 && f == 900 && l == 999);
    CHECK(R("bytes=-100", 1000) == 1 && f == 900 && l == 999);
    CHECK(R("bytes=-5000", 1000) == 1 && f == 0 && l == 999);
    CHECK(R("bytes=10-5000", 1000) == 1 && f == 10 && l == 999);
    CHECK_EQ_INT(R("bytes=1000-", 1000), -1);
    CHECK_EQ_INT(R("bytes=-0", 1000), -1);
    CHECK_EQ_INT(R("bytes=5-1", 1000), 0);
    CHECK_EQ_INT(R("bytes=0-1,5-6", 1000), 0);
    CHECK_EQ_INT(R("items=0-1", 1000), 0);
    CHECK_EQ_INT(R("bytes=a-b", 1000), 0);
    CHECK_EQ_INT(R("bytes=99999999999999999999-", 1000), 0);
    CHECK_EQ_INT(R("bytes=0-", 0), -1);
#undef R
}

/* The node's HTTP base from its signaling URL (control/node_url.c). */
static void test_node_url(void)
{
    char out[64];
    CHECK(ctl_node_http_base("ws://127.0.0.1:8080/ws", out, sizeof out));
    CHECK(strcmp(out, "http://127.0.0.1:8080") == 0);
    CHECK(ctl_node_http_base("WSS://node.example/a/b?c#d", out, sizeof out));
    CHECK(strcmp(out, "https://node.example") == 0);
    CHECK(ctl_node_http_base("ws://h:1?x", out, sizeof out) && strcmp(out, "http://h:1") == 0);
    CHECK(!ctl_node_http_base("http://h/", out, sizeof out));
    CHECK(!ctl_node_http_base("ws:///ws", out, sizeof out));
    CHECK(!ctl_node_http_base("ws://user@h/", out, sizeof out));
    CHECK(!ctl_node_http_base("ws://h h/", out, sizeof out));
    CHECK(!ctl_node_http_base("ws://127.0.0.1:8080/", out, 21)); /* needs 22 bytes */
    CHECK(ctl_node_http_base("ws://127.0.0.1:8080/", out, 22));
}

int main(void)
{
    test_node_url();
    test_requests();
    test_refusals();
    test_range();
    return check_result("http_parse");
}
