/* http.h - an HTTP/1.1 request-head parser for `mnist serve`.
 *
 * Written to be fed untrusted bytes: it reads only buf[0..n), allocates
 * nothing, and keeps pointers into buf. Bodies are only ever framed by
 * Content-Length (Transfer-Encoding, chunked or not, is refused with 411, as
 * RFC 9112 allows a server that does not take it).
 */
#ifndef MNIST_SERVE_HTTP_H
#define MNIST_SERVE_HTTP_H

#include <stddef.h>

typedef struct {
    const char *p;
    size_t n;
} http_str;

typedef struct {
    http_str method, target, content_type;
    int minor;              /* HTTP/1.<minor> */
    int keep_alive;         /* the connection stays open after the response */
    int expect_continue;    /* "Expect: 100-continue" */
    size_t content_length;  /* 0 when absent */
    size_t head_len;        /* bytes of the request line and headers, with the blank line */
    const char *error;      /* with a status >= 400: what is wrong, for the response */
} http_request;

/* Parses the request head at the start of buf[0..n). Returns
 *   0    the head is not complete yet (and is within max_head so far);
 *   1    a complete head, *r filled in;
 *   a status code >= 400 for a bad request (r->error says why): 400
 *        malformed, 411 Transfer-Encoding, 413 Content-Length > max_body,
 *        414 target too long, 431 head longer than max_head, 501 unknown
 *        method, 505 not HTTP/1.x.
 * Bare LF line ends are accepted; leading empty lines (RFC 9112 2.2) are
 * skipped and counted in head_len. */
int http_parse(const char *buf, size_t n, size_t max_head, size_t max_body, http_request *r);

/* 1 if s equals the NUL-terminated lit (case-sensitive) / ignoring ASCII case. */
int http_eq(http_str s, const char *lit);
int http_eq_nocase(http_str s, const char *lit);

/* The reason phrase of a status code ("OK", "Not Found", ...). */
const char *http_reason(int status);

#endif
