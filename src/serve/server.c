/* server.c - see server.h. */
#define _POSIX_C_SOURCE 200809L
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "http.h"
#include "json.h"
#include "mnist/gemm.h"
#include "mnist/image.h"
#include "mnist/infer.h"
#include "mnist/model.h"

#define READ_CHUNK 65536
#define STOP_GRACE_MS 2000 /* after SIGINT/SIGTERM, how long a request half-received may take */

void serve_defaults(serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8501;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = n > 0 && n < 64 ? (int)n : 2;
    o->max_head = 8192;
    o->max_body = (size_t)16 << 20;
    o->max_instances = 1024;
    o->batch = 64;
    o->read_timeout_ms = 10000;
    o->idle_timeout_ms = 60000;
    o->max_conns = 1024;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static atomic_int stopping;      /* SIGINT/SIGTERM seen */
static atomic_int open_conns;    /* over all workers */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    atomic_store(&stopping, 1);
    if (signal_pipe[1] >= 0) {
        char c = 1;
        ssize_t r = write(signal_pipe[1], &c, 1);
        (void)r;
    }
    errno = saved;
}

/* ---- connections ------------------------------------------------------------ */

typedef struct {
    int fd;
    char peer[64];
    char *in;
    size_t in_len, in_cap;
    sbuf out;
    size_t out_off;
    int64_t started;   /* when the current request's first byte came (0: none pending) */
    int64_t last;      /* last activity */
    int close_after;   /* close once out is sent */
    int eof;           /* the peer has shut its side */
    int sent_continue; /* 100 Continue sent for the current request */
} conn;

/* A prediction waiting for the round's forward pass. */
typedef struct {
    conn *c;
    api_kind kind;
    int n, keep, head_only;
    size_t at; /* its first image in the round's batch */
    double t0;
    char method[8], path[96];
    uint8_t drawn[MN_MNIST_PIXELS]; /* API_DRAW: the prepared image */
} job;

typedef struct {
    int id;
    const serve_opts *o;
    mn_model model;
    api_limits lim;
    int wake[2]; /* new connections arrive here as fds */
    conn **conns;
    int n_conns, cap_conns;
    job *jobs;
    int n_jobs, cap_jobs;
    float *batch, *probs;
    size_t batch_cap, probs_cap; /* images */
    pthread_t thread;
} worker;

static void conn_close(conn *c)
{
    close(c->fd);
    free(c->in);
    free(c->out.p);
    free(c);
    atomic_fetch_sub(&open_conns, 1);
}

static void log_line(const worker *w, const char *peer, const char *method, const char *path, int status, size_t bytes,
                     double t0)
{
    if (!w->o->verbose) return;
    fprintf(stderr, "%s \"%s %s\" %d %zu %.3fms\n", peer, method, path, status, bytes, (now_us() - t0) / 1000.0);
}

/* Queues a response on c. */
static void respond(conn *c, int status, const char *type, const char *body, size_t len, int keep, int head_only)
{
    sb_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
              http_reason(status), type, len, keep ? "" : "Connection: close\r\n");
    if (!head_only) sb_put(&c->out, body, len);
    if (!keep) c->close_after = 1;
}

static void respond_json(conn *c, int status, const sbuf *b, int keep, int head_only)
{
    respond(c, status, "application/json", b->p ? b->p : "", b->n, keep, head_only);
}

static void respond_error(worker *w, conn *c, int status, const char *msg, int keep, const char *method,
                          const char *path, double t0)
{
    sbuf b = {0};
    sb_str(&b, "{\"error\": ");
    sb_json_str(&b, msg);
    sb_str(&b, "}");
    respond_json(c, status, &b, keep, 0);
    log_line(w, c->peer, method, path, status, b.n, t0);
    free(b.p);
}

static void copy_str(char *dst, size_t n, http_str s)
{
    size_t k = s.n < n - 1 ? s.n : n - 1;
    memcpy(dst, s.p, k);
    dst[k] = 0;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] >= 0x7f) dst[i] = '?';
}

static int is_json_type(http_str t)
{
    size_t n = 0;
    while (n < t.n && t.p[n] != ';' && t.p[n] != ' ') n++;
    return http_eq_nocase((http_str){t.p, n}, "application/json");
}

/* ---- one request -------------------------------------------------------------- */

static void status_body(worker *w, sbuf *b, int which)
{
    const mn_model *m = &w->model;
    if (which == 0) {
        sb_str(b, "{\"model_version_status\": [{\"version\": \"1\", \"state\": \"AVAILABLE\", \"status\": "
                  "{\"error_code\": \"OK\", \"error_message\": \"\"}}]}");
    } else if (which == 1) {
        sb_str(b, "{\"model_spec\": {\"name\": \"mnist\", \"signature_name\": \"\", \"version\": \"1\"}, \"metadata\": "
                  "{\"signature_def\": {\"signature_def\": {\"serving_default\": {\"inputs\": {\"input\": {\"dtype\": "
                  "\"DT_FLOAT\", \"tensor_shape\": {\"dim\": [{\"size\": \"-1\"}, ");
        sb_printf(b, "{\"size\": \"%d\"}, {\"size\": \"%d\"}]}, \"name\": \"input\"}}, ", m->input_shape.h,
                  m->input_shape.w);
        sb_printf(b, "\"outputs\": {\"probabilities\": {\"dtype\": \"DT_FLOAT\", \"tensor_shape\": {\"dim\": "
                     "[{\"size\": \"-1\"}, {\"size\": \"%d\"}]}, \"name\": \"probabilities\"}}, \"method_name\": "
                     "\"tensorflow/serving/predict\"}}}, \"architecture\": ",
                  m->n_classes);
        sb_json_str(b, m->arch);
        sb_str(b, "}}");
    } else {
        sb_printf(b, "{\"name\": \"mnist\", \"versions\": [\"1\"], \"platform\": \"mnist\", \"inputs\": [{\"name\": "
                     "\"input\", \"datatype\": \"FP32\", \"shape\": [-1, %d, %d]}], \"outputs\": [{\"name\": "
                     "\"probabilities\", \"datatype\": \"FP32\", \"shape\": [-1, %d]}]}",
                  m->input_shape.h, m->input_shape.w, m->n_classes);
    }
}

/* Handles the complete request at the start of c->in (head r, body after it):
 * answers it now, or queues a job for the round's forward pass. */
static void handle(worker *w, conn *c, const http_request *r, double t0)
{
    const char *body = c->in + r->head_len;
    size_t blen = r->content_length;
    int keep = r->keep_alive && !atomic_load(&stopping);
    char method[8], path[96];
    copy_str(method, sizeof method, r->method);
    copy_str(path, sizeof path, r->target);
    http_str tp = r->target;
    for (size_t i = 0; i < tp.n; i++)
        if (tp.p[i] == '?') tp.n = i;
    int get = http_eq(r->method, "GET"), head = http_eq(r->method, "HEAD"), post = http_eq(r->method, "POST");
    int is_get = get || head;
    sbuf b = {0};
    int which = -1;
    api_kind kind = API_TF;
    int is_post_route = 1;
    if (http_eq(tp, "/v1/models/mnist:predict")) kind = API_TF;
    else if (http_eq(tp, "/v2/models/mnist/infer")) kind = API_V2;
    else if (http_eq(tp, "/draw")) kind = API_DRAW;
    else is_post_route = 0;
    if (is_post_route) {
        if (!post) {
            respond_error(w, c, 405, "use POST", keep, method, path, t0);
            return;
        }
        if (r->content_type.p && !is_json_type(r->content_type)) {
            respond_error(w, c, 415, "the body must be application/json", keep, method, path, t0);
            return;
        }
        json_doc d;
        /* at most as many values as the largest request we take has (max
         * instances of the input shape, nested, or a 1024x1024 drawing), and
         * never more than one per byte of the body */
        size_t P0 = mn_shape_size(w->model.input_shape);
        size_t cap_nodes = (size_t)w->lim.max_instances * (P0 + (size_t)w->lim.H * w->lim.C + 16) + 64;
        if (cap_nodes < (size_t)API_DRAW_MAX * API_DRAW_MAX + 64) cap_nodes = (size_t)API_DRAW_MAX * API_DRAW_MAX + 64;
        if (cap_nodes > blen + 1) cap_nodes = blen + 1;
        int max_nodes = cap_nodes < (size_t)1 << 30 ? (int)cap_nodes : 1 << 30;
        if (json_parse(&d, body, blen, max_nodes)) {
            char msg[160];
            snprintf(msg, sizeof msg, "invalid JSON: %s", d.error);
            json_free(&d);
            respond_error(w, c, 400, msg, keep, method, path, t0);
            return;
        }
        float *x;
        int n, dw = 0, dh = 0;
        char msg[200];
        int st = api_decode(&d, kind, &w->lim, &x, &n, &dw, &dh, msg, sizeof msg);
        json_free(&d);
        if (st) {
            respond_error(w, c, st, msg, keep, method, path, t0);
            return;
        }
        size_t P = mn_shape_size(w->model.input_shape);
        if (w->n_jobs == w->cap_jobs) {
            int cap = w->cap_jobs ? 2 * w->cap_jobs : 64;
            job *nj = realloc(w->jobs, (size_t)cap * sizeof *nj);
            if (!nj) {
                free(x);
                respond_error(w, c, 500, "out of memory", 0, method, path, t0);
                return;
            }
            w->jobs = nj, w->cap_jobs = cap;
        }
        job *j = &w->jobs[w->n_jobs];
        memset(j, 0, sizeof *j);
        j->c = c, j->kind = kind, j->n = n, j->keep = keep, j->t0 = t0;
        memcpy(j->method, method, sizeof method);
        memcpy(j->path, path, sizeof path);
        if (kind == API_DRAW) {
            /* the page's drawing, prepared as `mnist predict` prepares a file */
            mn_image im = {dw, dh, malloc((size_t)dw * dh)};
            mn_err e;
            if (!im.px || P != MN_MNIST_PIXELS) {
                free(im.px);
                free(x);
                respond_error(w, c, im.px ? 400 : 500, im.px ? "/draw needs a 28x28 model" : "out of memory", keep,
                              method, path, t0);
                return;
            }
            for (size_t i = 0; i < (size_t)dw * dh; i++) im.px[i] = (uint8_t)(x[i] + 0.5f);
            int bad = mn_image_mnist(&im, j->drawn, NULL, &e);
            free(im.px);
            if (bad) {
                free(x);
                respond_error(w, c, 500, e.msg, keep, method, path, t0);
                return;
            }
            for (size_t i = 0; i < P; i++) x[i] = (float)j->drawn[i] * (1.0f / 255.0f);
        }
        size_t need = 0;
        for (int i = 0; i < w->n_jobs; i++) need += (size_t)w->jobs[i].n;
        j->at = need;
        need += (size_t)n;
        if (need > w->batch_cap) {
            size_t cap = need * 2;
            float *nb = realloc(w->batch, cap * P * sizeof *nb);
            if (!nb) {
                free(x);
                respond_error(w, c, 500, "out of memory", 0, method, path, t0);
                return;
            }
            w->batch = nb, w->batch_cap = cap;
        }
        memcpy(w->batch + j->at * P, x, (size_t)n * P * sizeof *x);
        free(x);
        w->n_jobs++;
        return;
    }
    if (http_eq(tp, "/v1/models/mnist")) which = 0;
    else if (http_eq(tp, "/v1/models/mnist/metadata")) which = 1;
    else if (http_eq(tp, "/v2/models/mnist")) which = 2;
    if (which >= 0 || http_eq(tp, "/v2/health/ready") || http_eq(tp, "/v2/health/live") ||
        http_eq(tp, "/v2/models/mnist/ready") || http_eq(tp, "/") || http_eq(tp, "/index.html")) {
        if (!is_get) {
            respond_error(w, c, 405, "use GET", keep, method, path, t0);
            return;
        }
        if (which >= 0) {
            status_body(w, &b, which);
            respond_json(c, 200, &b, keep, head);
        } else if (tp.n > 1 && tp.p[1] == 'v') {
            sb_str(&b, http_eq(tp, "/v2/health/live") ? "{\"live\": true}" : "{\"ready\": true}");
            respond_json(c, 200, &b, keep, head);
        } else {
            for (int i = 0; serve_page_parts[i]; i++) sb_str(&b, serve_page_parts[i]);
            respond(c, 200, "text/html; charset=utf-8", b.p ? b.p : "", b.n, keep, head);
        }
        log_line(w, c->peer, method, path, 200, b.n, t0);
        free(b.p);
        return;
    }
    respond_error(w, c, 404, "no such endpoint (see GET /v1/models/mnist, POST /v1/models/mnist:predict, POST "
                             "/v2/models/mnist/infer)", keep, method, path, t0);
}

/* The round's forward pass and the answers to its jobs. */
static void run_jobs(worker *w)
{
    if (!w->n_jobs) return;
    size_t total = 0;
    for (int i = 0; i < w->n_jobs; i++) total += (size_t)w->jobs[i].n;
    int C = w->model.n_classes;
    if (total * C > w->probs_cap) {
        float *np = realloc(w->probs, total * C * sizeof *np);
        if (np) w->probs = np, w->probs_cap = total * C;
    }
    mn_err e;
    int bad = total * C > w->probs_cap ? (snprintf(e.msg, sizeof e.msg, "out of memory"), 1)
                                       : mn_predict(&w->model, w->batch, MN_PIXELS_F32, (int)total, w->probs, &e);
    for (int i = 0; i < w->n_jobs; i++) {
        job *j = &w->jobs[i];
        if (bad) {
            respond_error(w, j->c, 500, e.msg, j->keep, j->method, j->path, j->t0);
            continue;
        }
        const float *p = w->probs + j->at * C;
        sbuf b = {0};
        if (j->kind == API_TF) {
            api_tf_response(&b, p, j->n, C);
        } else if (j->kind == API_V2) {
            api_v2_response(&b, p, j->n, C);
        } else {
            api_tf_response(&b, p, 1, C);
            b.n--; /* reopen the object: add the image the model saw */
            sb_str(&b, ", \"image\": [");
            for (int k = 0; k < MN_MNIST_PIXELS; k++) sb_printf(&b, k ? ",%d" : "%d", j->drawn[k]);
            sb_str(&b, "]}");
        }
        if (b.oom) respond_error(w, j->c, 500, "out of memory", 0, j->method, j->path, j->t0);
        else {
            respond_json(j->c, 200, &b, j->keep, 0);
            log_line(w, j->c->peer, j->method, j->path, 200, b.n, j->t0);
        }
        free(b.p);
    }
    w->n_jobs = 0;
}

/* Looks at c's input: a complete request is handled (and consumed) and 1
 * returned; 0 if it needs more bytes; -1 if c is to be closed after its
 * output (a bad request was answered). */
static int take_request(worker *w, conn *c)
{
    if (c->in_len == 0) return 0;
    http_request r;
    int st = http_parse(c->in, c->in_len, w->o->max_head, w->o->max_body, &r);
    if (st == 0) return 0;
    double t0 = now_us();
    if (st > 1) {
        respond_error(w, c, st, r.error, 0, "-", "-", t0);
        c->in_len = 0;
        return -1;
    }
    size_t total = r.head_len + r.content_length;
    if (c->in_len < total) {
        if (r.expect_continue && !c->sent_continue) {
            sb_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
            c->sent_continue = 1;
        }
        if (c->in_cap < total) {
            char *ni = realloc(c->in, total);
            if (!ni) {
                respond_error(w, c, 500, "out of memory", 0, "-", "-", t0);
                c->in_len = 0;
                return -1;
            }
            c->in = ni, c->in_cap = total;
        }
        return 0;
    }
    handle(w, c, &r, t0);
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    c->sent_continue = 0;
    c->started = c->in_len ? now_ms() : 0;
    return 1;
}

/* Reads what c has; 0 ok, -1 to close now. */
static int read_conn(worker *w, conn *c)
{
    for (;;) {
        size_t room_needed = c->in_len + READ_CHUNK;
        size_t limit = w->o->max_head + w->o->max_body + READ_CHUNK;
        if (room_needed > limit) room_needed = limit;
        if (c->in_cap < room_needed) {
            char *ni = realloc(c->in, room_needed);
            if (!ni) return -1;
            c->in = ni, c->in_cap = room_needed;
        }
        if (c->in_len >= c->in_cap) return 0; /* full: the parser decides */
        ssize_t k = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (k > 0) {
            if (c->in_len == 0) c->started = now_ms();
            c->in_len += (size_t)k;
            c->last = now_ms();
            if ((size_t)k < READ_CHUNK) return 0;
            continue;
        }
        if (k == 0) {
            c->eof = 1;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
}

/* Sends what c has queued; 0 ok (maybe more to send), -1 to close now. */
static int write_conn(conn *c)
{
    while (c->out_off < c->out.n) {
        ssize_t k = send(c->fd, c->out.p + c->out_off, c->out.n - c->out_off, MSG_NOSIGNAL);
        if (k > 0) {
            c->out_off += (size_t)k;
            c->last = now_ms();
            continue;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        return -1;
    }
    c->out.n = c->out_off = 0;
    return 0;
}

static void add_conn(worker *w, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c || (w->n_conns == w->cap_conns && 0)) {
        close(fd);
        free(c);
        atomic_fetch_sub(&open_conns, 1);
        return;
    }
    if (w->n_conns == w->cap_conns) {
        int cap = w->cap_conns ? 2 * w->cap_conns : 64;
        conn **nc = realloc(w->conns, (size_t)cap * sizeof *nc);
        if (!nc) {
            close(fd);
            free(c);
            atomic_fetch_sub(&open_conns, 1);
            return;
        }
        w->conns = nc, w->cap_conns = cap;
    }
    c->fd = fd;
    c->last = now_ms();
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[48] = "?";
    int port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(c->peer, sizeof c->peer, "%s:%d", host, port);
    w->conns[w->n_conns++] = c;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct pollfd *pf = NULL;
    int pf_cap = 0, wake_open = 1;
    int64_t stop_at = 0;
    for (;;) {
        int stop = atomic_load(&stopping);
        int64_t now = now_ms();
        if (stop && !stop_at) {
            /* what clients sent before the signal is in flight: read it */
            stop_at = now;
            for (int i = 0; i < w->n_conns; i++)
                if (!w->conns[i]->out.n && read_conn(w, w->conns[i])) w->conns[i]->close_after = 1;
        }
        /* requests already buffered (pipelined, or read last round) */
        int ready = 0;
        for (int i = 0; i < w->n_conns; i++) {
            conn *c = w->conns[i];
            if (c->out.n || c->close_after) continue;
            int t = take_request(w, c);
            if (t != 0) ready = 1;
        }
        run_jobs(w);
        /* send, time out, close */
        for (int i = 0; i < w->n_conns; i++) {
            conn *c = w->conns[i];
            int drop = 0;
            if (c->out.n && write_conn(c)) drop = 1;
            else if (!c->out.n && c->close_after) drop = 1;
            else if (!c->out.n && c->eof) drop = 1;
            else if (c->in_len && c->started && now - c->started > w->o->read_timeout_ms) drop = 1; /* slow client */
            else if (!c->in_len && !c->out.n && now - c->last > w->o->idle_timeout_ms) drop = 1;
            else if (stop && !c->out.n && (!c->in_len || now - stop_at > STOP_GRACE_MS)) drop = 1;
            if (drop) {
                conn_close(c);
                w->conns[i--] = w->conns[--w->n_conns];
            }
        }
        if (stop && w->n_conns == 0) break;
        if (w->n_conns + 1 > pf_cap) {
            int cap = (w->n_conns + 1) * 2;
            struct pollfd *np = realloc(pf, (size_t)cap * sizeof *np);
            if (!np) { /* cannot poll: shed every connection */
                while (w->n_conns) conn_close(w->conns[--w->n_conns]);
                continue;
            }
            pf = np, pf_cap = cap;
        }
        pf[0].fd = wake_open ? w->wake[0] : -1;
        pf[0].events = POLLIN;
        for (int i = 0; i < w->n_conns; i++) {
            pf[i + 1].fd = w->conns[i]->fd;
            pf[i + 1].events = w->conns[i]->out.n ? POLLOUT : POLLIN;
        }
        int k = poll(pf, (nfds_t)w->n_conns + 1, ready ? 0 : 100);
        if (k < 0 && errno != EINTR) break;
        if (k <= 0) continue;
        if (pf[0].revents) {
            int fds[64];
            ssize_t got = read(w->wake[0], fds, sizeof fds);
            if (got == 0) wake_open = 0;
            for (ssize_t i = 0; i + (ssize_t)sizeof(int) <= got; i += sizeof(int)) {
                int fd = fds[i / (ssize_t)sizeof(int)];
                if (fd >= 0) add_conn(w, fd);
            }
        }
        int n = w->n_conns;
        for (int i = 0; i < n && i < pf_cap - 1; i++) {
            conn *c = w->conns[i];
            if (pf[i + 1].fd != c->fd) continue; /* a new connection, not polled yet */
            if (pf[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!c->out.n && read_conn(w, c)) {
                    c->close_after = 1, c->out.n = 0, c->in_len = 0;
                }
            }
        }
    }
    while (w->n_conns) conn_close(w->conns[--w->n_conns]);
    free(pf);
    return NULL;
}

/* ---- listening ---------------------------------------------------------------- */

static int listen_on(const serve_opts *o, int *port_out, mn_err *e)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", o->port);
    int g = getaddrinfo(o->host, port, &hints, &res);
    if (g) return mn_fail(e, "%s: cannot resolve the address: %s", o->host, gai_strerror(g));
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1024) == 0) break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return mn_fail(e, "%s:%d: cannot listen: %s", o->host, o->port, strerror(err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    *port_out = o->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                              : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int serve_run(const serve_opts *o, mn_err *e)
{
    int nw = o->threads;
    mn_set_threads(1); /* the pool is the parallelism: no OpenMP team inside a worker's forward pass */
    worker *ws = calloc((size_t)nw, sizeof *ws);
    if (!ws) return mn_fail(e, "out of memory");
    int rc = -1, opened = 0, started = 0, lfd = -1;
    for (; opened < nw; opened++) {
        worker *w = &ws[opened];
        w->id = opened, w->o = o, w->wake[0] = w->wake[1] = -1;
        if (mn_model_open(&w->model, o->model_path, o->batch, e)) goto out;
        w->lim = (api_limits){w->model.input_shape.c, w->model.input_shape.h, w->model.input_shape.w,
                              o->max_instances};
        if (pipe(w->wake)) {
            mn_fail(e, "pipe: %s", strerror(errno));
            mn_model_free(&w->model);
            goto out;
        }
    }
    int port = 0;
    lfd = listen_on(o, &port, e);
    if (lfd < 0) goto out;
    if (pipe(signal_pipe)) {
        mn_fail(e, "pipe: %s", strerror(errno));
        goto out;
    }
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    atomic_store(&stopping, 0);
    struct sigaction sa = {0}, old_int, old_term, old_pipe;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct sigaction ign = {0};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old_pipe);
    /* workers get no signals: the accept thread sees them */
    sigset_t all, prev;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &prev);
    for (; started < nw; started++)
        if (pthread_create(&ws[started].thread, NULL, worker_main, &ws[started])) break;
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    if (started < nw) {
        mn_fail(e, "cannot start worker threads");
        atomic_store(&stopping, 1);
    } else {
        printf("serving %s (%s) on http://%s%s%s:%d/ with %d threads\n", o->model_path, ws[0].model.arch,
               strchr(o->host, ':') ? "[" : "", o->host, strchr(o->host, ':') ? "]" : "", port, nw);
        fflush(stdout);
        rc = 0;
    }
    int next = 0;
    while (!atomic_load(&stopping)) {
        struct pollfd pf[2] = {{lfd, POLLIN, 0}, {signal_pipe[0], POLLIN, 0}};
        int k = poll(pf, 2, 1000);
        if (k < 0 && errno != EINTR) break;
        if (k <= 0 || !(pf[0].revents & POLLIN)) continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        if (atomic_load(&open_conns) >= o->max_conns) {
            close(fd); /* over the limit: refuse by closing */
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        atomic_fetch_add(&open_conns, 1);
        if (write(ws[next].wake[1], &fd, sizeof fd) != (ssize_t)sizeof fd) {
            close(fd);
            atomic_fetch_sub(&open_conns, 1);
        }
        next = (next + 1) % nw;
    }
    close(lfd);
    lfd = -1;
    atomic_store(&stopping, 1);
    for (int i = 0; i < started; i++) {
        close(ws[i].wake[1]);
        ws[i].wake[1] = -1;
    }
    for (int i = 0; i < started; i++) pthread_join(ws[i].thread, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
out:
    if (lfd >= 0) close(lfd);
    for (int i = 0; i < opened; i++) {
        worker *w = &ws[i];
        mn_model_free(&w->model);
        if (w->wake[0] >= 0) close(w->wake[0]);
        if (w->wake[1] >= 0) close(w->wake[1]);
        while (w->n_conns) conn_close(w->conns[--w->n_conns]);
        free(w->conns);
        free(w->jobs);
        free(w->batch);
        free(w->probs);
    }
    free(ws);
    return rc;
}
