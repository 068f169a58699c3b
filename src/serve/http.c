/* http.c - see http.h. */
#include "http.h"

#include <string.h>

#define MAX_TARGET 2048

int http_eq(http_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int http_eq_nocase(http_str s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i])) return 0;
    return 1;
}

/* tchar of RFC 9110 5.6.2 */
static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int fail(http_request *r, int status, const char *why)
{
    r->error = why;
    return status;
}

/* Does the comma-separated header value v contain the token tok (any case)? */
static int has_token(http_str v, const char *tok)
{
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ',')) i++;
        size_t s = i;
        while (i < v.n && v.p[i] != ',') i++;
        size_t e = i;
        while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t')) e--;
        if (http_eq_nocase((http_str){v.p + s, e - s}, tok)) return 1;
    }
    return 0;
}

int http_parse(const char *buf, size_t n, size_t max_head, size_t max_body, http_request *r)
{
    memset(r, 0, sizeof *r);
    size_t start = 0;
    while (start < n && start < 8 && (buf[start] == '\r' || buf[start] == '\n')) start++;
    /* find the end of the head: an empty line */
    size_t end = 0, limit = n < max_head ? n : max_head;
    for (size_t i = start; i < limit; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < limit && buf[i + 1] == '\n') { end = i + 2; break; }
        if (i + 2 < limit && buf[i + 1] == '\r' && buf[i + 2] == '\n') { end = i + 3; break; }
    }
    if (!end) {
        /* a first line that is plainly not HTTP need not wait for more */
        for (size_t i = start; i < limit && i < start + 16; i++) {
            int c = (unsigned char)buf[i];
            if (c == ' ') break;
            if (!is_tchar(c)) return fail(r, 400, "not an HTTP request");
        }
        return n >= max_head ? fail(r, 431, "request header too large") : 0;
    }
    r->head_len = end;
    const char *p = buf + start, *e = buf + end;

    /* request line: method SP target SP HTTP/1.x */
    const char *q = p;
    while (q < e && is_tchar((unsigned char)*q)) q++;
    if (q == p || q >= e || *q != ' ') return fail(r, 400, "malformed request line");
    r->method = (http_str){p, (size_t)(q - p)};
    p = ++q;
    while (q < e && *q != ' ' && *q != '\r' && *q != '\n') {
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return fail(r, 400, "bad byte in the request target");
        q++;
    }
    if (q == p || q >= e || *q != ' ') return fail(r, 400, "malformed request line");
    if ((size_t)(q - p) > MAX_TARGET) return fail(r, 414, "request target too long");
    r->target = (http_str){p, (size_t)(q - p)};
    p = ++q;
    if (e - p < 8 || memcmp(p, "HTTP/", 5) != 0) return fail(r, 400, "malformed request line");
    if (p[5] != '1' || p[6] != '.' || p[7] < '0' || p[7] > '9') return fail(r, 505, "only HTTP/1.x is supported");
    r->minor = p[7] - '0';
    p += 8;
    if (p < e && *p == '\r') p++;
    if (p >= e || *p != '\n') return fail(r, 400, "malformed request line");
    p++;
    if (!(http_eq(r->method, "GET") || http_eq(r->method, "POST") || http_eq(r->method, "HEAD") ||
          http_eq(r->method, "PUT") || http_eq(r->method, "DELETE") || http_eq(r->method, "OPTIONS") ||
          http_eq(r->method, "PATCH") || http_eq(r->method, "TRACE") || http_eq(r->method, "CONNECT")))
        return fail(r, 501, "unknown method");

    int keep = r->minor >= 1, have_len = 0, have_host = 0;
    /* header lines until the empty one */
    while (p < e) {
        if (*p == '\n') break;
        if (*p == '\r' && p + 1 < e && p[1] == '\n') break;
        const char *name = p;
        while (p < e && is_tchar((unsigned char)*p)) p++;
        if (p == name || p >= e || *p != ':') return fail(r, 400, "malformed header line");
        http_str hn = {name, (size_t)(p - name)};
        p++;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        const char *val = p;
        while (p < e && *p != '\n') {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return fail(r, 400, "bad byte in a header value");
            if (c == '\r' && (p + 1 >= e || p[1] != '\n')) return fail(r, 400, "bare CR in a header");
            p++;
        }
        if (p >= e) return fail(r, 400, "malformed header line");
        const char *ve = p;
        p++; /* past LF */
        while (ve > val && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        http_str hv = {val, (size_t)(ve - val)};
        if (http_eq_nocase(hn, "content-length")) {
            if (hv.n == 0) return fail(r, 400, "empty Content-Length");
            size_t len = 0;
            for (size_t i = 0; i < hv.n; i++) {
                if (hv.p[i] < '0' || hv.p[i] > '9') return fail(r, 400, "bad Content-Length");
                if (len > (max_body + 9) / 10) return fail(r, 413, "request body too large");
                len = len * 10 + (size_t)(hv.p[i] - '0');
            }
            if (have_len && len != r->content_length) return fail(r, 400, "conflicting Content-Length headers");
            if (len > max_body) return fail(r, 413, "request body too large");
            r->content_length = len, have_len = 1;
        } else if (http_eq_nocase(hn, "transfer-encoding")) {
            return fail(r, 411, "Transfer-Encoding (chunked) is not supported; send Content-Length");
        } else if (http_eq_nocase(hn, "connection")) {
            if (has_token(hv, "close")) keep = 0;
            else if (has_token(hv, "keep-alive")) keep = 1;
        } else if (http_eq_nocase(hn, "content-type")) {
            r->content_type = hv;
        } else if (http_eq_nocase(hn, "expect")) {
            if (!http_eq_nocase(hv, "100-continue")) return fail(r, 417, "unsupported Expect");
            r->expect_continue = 1;
        } else if (http_eq_nocase(hn, "host")) {
            have_host = 1;
        }
    }
    if (r->minor >= 1 && !have_host) return fail(r, 400, "no Host header");
    r->keep_alive = keep;
    return 1;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
