/* serve_load.c - a load generator for `mnist serve` (POSIX sockets and
 * threads; not part of the product). C concurrent keep-alive connections,
 * driven by T threads (poll; default 1), send N requests in all (POST of one body file, or GET),
 * each waiting for its answer before the next; prints requests/s, errors
 * (connection failures, non-200 answers, malformed responses) and latency
 * percentiles. Only 127.0.0.1 (or another numeric address you give).
 *
 *   cc -O2 -pthread scripts/serve_load.c -o build/serve_load   (CMake builds it too)
 *   build/serve_load -p PORT [-c 32] [-T 1] [-n 20000] [-u /v1/models/mnist:predict] [-b body.json] [-t SECONDS]
 *
 * -t bounds the run's time (default 60 s): requests not sent by then count
 * as not done (and the exit code is 1). Exit 0 only with no errors. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1", *path = "/v1/models/mnist:predict";
static int port, conns = 32, threads = 1;
static long total = 20000;
static double limit_s = 60;
static char *req;
static size_t req_len;
static atomic_long next_req, errors, done;
static double *lat; /* microseconds, one per request */
static double t_end;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int connect_to(void)
{
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static int strncasecmp_(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = a[i] | 32, y = b[i] | 32;
        if (x != y) return x - y;
        if (!a[i]) return 0;
    }
    return 0;
}
#define strncasecmp strncasecmp_

/* A complete response at the start of buf[0..*have)? Its status (the bytes
 * after it kept at the start), 0 if incomplete, -1 if malformed. Interim
 * 100 responses are skipped. */
static int parse_response(char *buf, size_t *have)
{
    for (;;) {
        char *end = NULL;
        for (size_t i = 0; i + 3 < *have; i++)
            if (!memcmp(buf + i, "\r\n\r\n", 4)) {
                end = buf + i + 4;
                break;
            }
        if (!end) return 0;
        int status = 0;
        if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) return -1;
        size_t h = (size_t)(end - buf);
        if (status == 100) {
            memmove(buf, end, *have - h);
            *have -= h;
            continue;
        }
        size_t len = 0;
        for (char *p = buf; p < end; p++)
            if ((*p == 'C' || *p == 'c') && !strncasecmp(p, "Content-Length:", 15)) {
                len = strtoul(p + 15, NULL, 10);
                break;
            }
        if (*have < h + len) return 0;
        memmove(buf, buf + h + len, *have - h - len);
        *have -= h + len;
        return status;
    }
}

/* One connection of a client thread: its state between polls. */
typedef struct {
    int fd;
    long i;      /* request in flight, -1 none */
    double t0;
    size_t sent, have;
    char *buf;
} cstate;

#define RBUF (1 << 20)

/* Starts the next request on c; 0 if none is left. */
static int start_req(cstate *c)
{
    c->i = atomic_fetch_add(&next_req, 1);
    if (c->i >= total || now() > t_end) {
        c->i = -1;
        return 0;
    }
    if (c->fd < 0) c->fd = connect_to();
    c->t0 = now();
    c->sent = 0;
    return 1;
}

static void fail_conn(cstate *c)
{
    atomic_fetch_add(&errors, 1);
    if (c->i >= 0) lat[c->i] = (now() - c->t0) * 1e6, atomic_fetch_add(&done, 1);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1, c->have = 0, c->i = -1;
}

/* A client thread drives its share of the connections with poll(): each
 * connection has one request in flight at a time (send it, wait for the whole
 * answer, send the next), as a keep-alive client does. */
static void *client(void *arg)
{
    int n = *(int *)arg;
    cstate *cs = calloc((size_t)n, sizeof *cs);
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    if (!cs || !pf) return NULL;
    for (int k = 0; k < n; k++) {
        cs[k].fd = -1, cs[k].buf = malloc(RBUF);
        if (!cs[k].buf) return NULL;
        start_req(&cs[k]);
    }
    for (;;) {
        int active = 0;
        for (int k = 0; k < n; k++) {
            cstate *c = &cs[k];
            while (c->i >= 0 && c->fd < 0) { /* could not connect */
                fail_conn(c);
                start_req(c);
            }
            pf[k].fd = c->i >= 0 ? c->fd : -1;
            pf[k].events = c->sent < req_len ? POLLOUT : POLLIN;
            pf[k].revents = 0;
            active += c->i >= 0;
        }
        if (!active) break;
        int r = poll(pf, (nfds_t)n, 10000);
        if (r <= 0) { /* 10 s without a byte: everything in flight has failed */
            for (int k = 0; k < n; k++)
                if (cs[k].i >= 0) fail_conn(&cs[k]);
            continue;
        }
        for (int k = 0; k < n; k++) {
            cstate *c = &cs[k];
            if (!pf[k].revents || c->i < 0) continue;
            if (c->sent < req_len) {
                ssize_t w = send(c->fd, req + c->sent, req_len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w > 0) c->sent += (size_t)w;
                else if (!(w < 0 && (errno == EAGAIN || errno == EINTR))) fail_conn(c), start_req(c);
                continue;
            }
            ssize_t g = recv(c->fd, c->buf + c->have, RBUF - c->have, MSG_DONTWAIT);
            if (g <= 0) {
                if (g < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                fail_conn(c), start_req(c);
                continue;
            }
            c->have += (size_t)g;
            int st = parse_response(c->buf, &c->have);
            if (st == 0) {
                if (c->have == RBUF) fail_conn(c), start_req(c);
                continue;
            }
            lat[c->i] = (now() - c->t0) * 1e6;
            atomic_fetch_add(&done, 1);
            if (st != 200) {
                atomic_fetch_add(&errors, 1);
                close(c->fd);
                c->fd = -1, c->have = 0;
            }
            start_req(c);
        }
    }
    for (int k = 0; k < n; k++) {
        if (cs[k].fd >= 0) close(cs[k].fd);
        free(cs[k].buf);
    }
    free(cs);
    free(pf);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *body_file = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "h:p:c:n:u:b:t:T:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'n': total = atol(optarg); break;
        case 'u': path = optarg; break;
        case 'b': body_file = optarg; break;
        case 't': limit_s = atof(optarg); break;
        case 'T': threads = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: serve_load -p PORT [-h 127.0.0.1] [-c 32] [-n 20000] [-u PATH] [-b BODY] [-t 60]\n");
            return 2;
        }
    }
    if (threads < 1) threads = 1;
    if (threads > conns) threads = conns;
    if (port <= 0 || conns < 1 || conns > 1024 || total < 1 || total > 100000000) {
        fprintf(stderr, "serve_load: need -p PORT, 1 <= -c <= 1024, -n >= 1\n");
        return 2;
    }
    char *body = NULL;
    size_t blen = 0;
    if (body_file) {
        FILE *f = fopen(body_file, "rb");
        if (!f) {
            fprintf(stderr, "serve_load: %s: %s\n", body_file, strerror(errno));
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        body = malloc((size_t)n + 1);
        if (!body || fread(body, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "serve_load: %s: read error\n", body_file);
            return 1;
        }
        fclose(f);
        blen = (size_t)n;
    }
    req = malloc(blen + 512);
    lat = calloc((size_t)total, sizeof *lat);
    if (!req || !lat) return 1;
    if (body)
        req_len = (size_t)sprintf(req, "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                                       "Content-Length: %zu\r\n\r\n", path, host, port, blen);
    else
        req_len = (size_t)sprintf(req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, host, port);
    if (body) memcpy(req + req_len, body, blen), req_len += blen;
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    int *share = calloc((size_t)threads, sizeof *share);
    for (int i = 0; i < conns; i++) share[i % threads]++;
    double t0 = now();
    t_end = t0 + limit_s;
    for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, client, &share[i]);
    for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
    free(share);
    double secs = now() - t0;
    long n = atomic_load(&done), err = atomic_load(&errors);
    long missing = total - n;
    qsort(lat, (size_t)total, sizeof *lat, cmp); /* slots of requests never sent stay 0: first */
    const double *l = lat + (total - n);
    printf("requests %ld/%ld  errors %ld  %.2f s  %.0f req/s  latency p50 %.3f ms  p99 %.3f ms  max %.3f ms\n", n,
           total, err + missing, secs, (double)n / secs, n ? l[(size_t)(n * 0.50)] / 1000 : 0,
           n ? l[(size_t)(n * 0.99)] / 1000 : 0, n ? l[n - 1] / 1000 : 0);
    free(th);
    free(lat);
    free(req);
    free(body);
    return err || missing ? 1 : 0;
}
