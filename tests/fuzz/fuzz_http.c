/* fuzz_http.c - mnist serve's HTTP request-head parser (src/serve/http.c).
 *
 * Invariants besides "no crash, no read outside the input" (ASan): the
 * result is 0 (incomplete), 1 (a head) or an error status 400-505 with a
 * message; a parsed head lies inside the input, its method and target too,
 * and its Content-Length is within the limit; a head found in a prefix of
 * the input is the same head in the whole input (more bytes after a
 * complete head change nothing). */
#include "fuzz.h"

#include "../../src/serve/http.h"

#define MAX_HEAD 4096
#define MAX_BODY 100000

static int inside(http_str s, const uint8_t *d, size_t n)
{
    return !s.p || ((const uint8_t *)s.p >= d && (const uint8_t *)s.p + s.n <= d + n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_request r, r2;
    const char *buf = (const char *)data;
    int st = http_parse(buf, size, MAX_HEAD, MAX_BODY, &r);
    FZ_CHECK(st == 0 || st == 1 || (st >= 400 && st <= 505), "status %d", st);
    if (st >= 400) FZ_CHECK(r.error && r.error[0], "status %d without a message", st);
    if (st == 0) FZ_CHECK(size < MAX_HEAD, "incomplete after %zu bytes", size);
    if (st != 1) return 0;
    FZ_CHECK(r.head_len >= 16 && r.head_len <= size && r.head_len <= MAX_HEAD, "head_len %zu of %zu", r.head_len, size);
    FZ_CHECK(inside(r.method, data, r.head_len) && inside(r.target, data, r.head_len) &&
                 inside(r.content_type, data, r.head_len),
             "a field outside the head");
    FZ_CHECK(r.method.n > 0 && r.target.n > 0, "empty method or target");
    FZ_CHECK(r.content_length <= MAX_BODY, "Content-Length %zu", r.content_length);
    FZ_CHECK(r.minor >= 0 && r.minor <= 9, "minor %d", r.minor);
    /* the head alone parses to the same */
    int st2 = http_parse(buf, r.head_len, MAX_HEAD, MAX_BODY, &r2);
    FZ_CHECK(st2 == 1 && r2.head_len == r.head_len && r2.content_length == r.content_length &&
                 r2.keep_alive == r.keep_alive && r2.target.p == r.target.p && r2.target.n == r.target.n,
             "the head alone parses differently (%d)", st2);
    return 0;
}
