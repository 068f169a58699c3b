/* test_http.c - the request-head parser of mnist serve (src/serve/http.c). */
#include <string.h>

#include "../src/serve/http.h"
#include "test.h"

#define MAXH 8192
#define MAXB 1000

static int parse(const char *s, http_request *r) { return http_parse(s, strlen(s), MAXH, MAXB, r); }

int main(void)
{
    http_request r;
    /* a complete GET */
    const char *get = "GET /v1/models/mnist?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\nNEXT";
    CHECK(parse(get, &r) == 1);
    CHECK(http_eq(r.method, "GET") && http_eq(r.target, "/v1/models/mnist?x=1"));
    CHECK(r.minor == 1 && r.keep_alive && r.content_length == 0);
    CHECK(r.head_len == strlen(get) - 4);
    /* every prefix is incomplete, never an error */
    for (size_t n = 0; n < strlen(get) - 4; n++) CHECK_MSG(http_parse(get, n, MAXH, MAXB, &r) == 0, "prefix %zu", n);
    /* POST with a body length, header names in any case, bare LF */
    CHECK(parse("POST /x HTTP/1.1\nhost: a\ncontent-LENGTH: 12\nContent-Type: application/json\n\n", &r) == 1);
    CHECK(r.content_length == 12 && http_eq(r.content_type, "application/json"));
    /* keep-alive rules */
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r) == 1 && !r.keep_alive);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r) == 1 && r.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n", &r) == 1 && !r.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", &r) == 1 && r.expect_continue);
    /* errors */
    CHECK(parse("GET / HTTP/1.1\r\n\r\n", &r) == 400); /* no Host */
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r) == 411);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", &r) == 413);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n", &r) == 413);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", &r) == 400);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", &r) == 400);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &r) == 400);
    CHECK(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &r) == 1);
    CHECK(parse("GET / HTTP/2.0\r\n\r\n", &r) == 505);
    CHECK(parse("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", &r) == 501);
    CHECK(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &r) == 400);
    CHECK(parse("GET / HTTP/1.1\r\nHost a\r\n\r\n", &r) == 400);
    CHECK(parse("GET / HTTP/1.1\r\n Host: a\r\n\r\n", &r) == 400); /* obsolete folding */
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", &r) == 400);
    CHECK(parse("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", &r) == 400);
    /* bytes that are not HTTP are refused without waiting for a blank line */
    CHECK(parse("\x16\x03\x01\x02\x00\x01", &r) == 400);
    CHECK(r.error && *r.error);
    /* a head that never ends: 431 once max_head bytes are in */
    static char big[MAXH + 100];
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', sizeof big - 19);
    CHECK(http_parse(big, 100, MAXH, MAXB, &r) == 0);
    CHECK(http_parse(big, sizeof big, MAXH, MAXB, &r) == 431);
    /* a long target */
    static char lt[4000];
    memcpy(lt, "GET /", 5);
    memset(lt + 5, 'a', 3000);
    strcpy(lt + 3005, " HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK(parse(lt, &r) == 414);
    CHECK(http_eq_nocase((http_str){"Content-Length", 14}, "content-length"));
    CHECK(!strcmp(http_reason(413), "Content Too Large"));
    return test_summary("test_http");
}
