/* server.h - `mnist serve`: an HTTP/1.1 server for a model file (see
 * README.md, "mnist serve"). POSIX sockets and threads, nothing else.
 *
 * One thread accepts connections and hands them round-robin to a fixed pool
 * of worker threads; each worker owns its connections (poll), its own
 * mn_model, and answers every complete request it has in one round, with the
 * images of all the prediction requests of that round in one forward pass. */
#ifndef MNIST_SERVE_SERVER_H
#define MNIST_SERVE_SERVER_H

#include <stddef.h>

#include "mnist/error.h"

typedef struct {
    const char *model_path;
    const char *host;      /* numeric IPv4/IPv6 address or a name; default 127.0.0.1 */
    int port;              /* 0: any free port (printed) */
    int threads;           /* worker threads */
    int verbose;           /* a log line per request on stderr */
    size_t max_head;       /* bytes of request line + headers */
    size_t max_body;       /* bytes of body */
    int max_instances;     /* images per request */
    int batch;             /* images per forward pass */
    int read_timeout_ms;   /* a request must arrive within this */
    int idle_timeout_ms;   /* an idle keep-alive connection is closed after this */
    int max_conns;         /* connections open at once, over all workers */
} serve_opts;

void serve_defaults(serve_opts *o);

/* Opens the model (once per worker), listens, prints "serving MODEL on
 * http://HOST:PORT/" on stdout and serves until SIGINT or SIGTERM, then
 * finishes the requests in flight and returns 0. -1 and e set on a setup
 * failure (model file, address, port in use). */
int serve_run(const serve_opts *o, mn_err *e);

/* The drawing page (page.c). */
extern const char *const serve_page_parts[]; /* the HTML in pieces, NULL-ended */

#endif
