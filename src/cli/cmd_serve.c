/* cmd_serve.c - `mnist serve MODEL`: the model over HTTP (src/serve/). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "serve/server.h"

static const char usage[] =
    "Usage: mnist serve MODEL [options]\n"
    "Serves a model file over HTTP/1.1 until SIGINT or SIGTERM (which finish the\n"
    "requests in flight and exit 0):\n"
    "  GET  /                            a page to draw digits on, classified as you draw\n"
    "  GET  /v1/models/mnist             TF Serving status (also .../metadata)\n"
    "  POST /v1/models/mnist:predict     {\"instances\": [[784 numbers in 0..1] or 28x28, ...]}\n"
    "                                    or {\"inputs\": ...} -> {\"predictions\": [[p0..p9], ...]}\n"
    "  POST /v2/models/mnist/infer       KServe v2: {\"inputs\": [{\"name\", \"shape\": [n, 784],\n"
    "                                    \"datatype\": \"FP32\"|\"UINT8\", \"data\": [...]}]}\n"
    "  GET  /v2/health/ready             KServe readiness (also /v2/health/live, /v2/models/mnist)\n"
    "  POST /draw                        {\"width\", \"height\", \"data\": [grey 0-255]}: prepared as\n"
    "                                    `mnist predict` does, then classified (the page uses it)\n"
    "Options:\n"
    "  --host H            address to listen on (default: 127.0.0.1, this machine only)\n"
    "  --port N            TCP port (default: 8501; 0: any free port, printed)\n"
    "  --threads N         worker threads, one model each (default: the number of cores)\n"
    "  --batch N           images per forward pass (default: 64); requests a worker has at\n"
    "                      the same moment share one pass\n"
    "  --max-instances N   images per request (default: 1024; more is 413)\n"
    "  --max-body BYTES    request body limit (default: 16777216; more is 413)\n"
    "  --max-header BYTES  request line and headers limit (default: 8192; more is 431)\n"
    "  --timeout MS        a request must arrive within this, or the connection is dropped\n"
    "                      (default: 10000); idle keep-alive connections close after 60 s\n"
    "  --max-conns N       open connections at once (default: 1024; more are closed at once)\n"
    "  --verbose           a log line per request on stderr\n";

int cmd_serve(int argc, char **argv)
{
    serve_opts o;
    serve_defaults(&o);
    const char *v;
    for (int i = 1; i < argc; i++) {
        long x;
        int r;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--verbose")) {
            o.verbose = 1;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--host", &v))) {
            if (r < 0) return EXIT_USAGE;
            o.host = v;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--port", &v))) {
            if (r < 0 || cli_int("serve", "--port", v, 0, 65535, &x)) return EXIT_USAGE;
            o.port = (int)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--threads", &v))) {
            if (r < 0 || cli_int("serve", "--threads", v, 1, 256, &x)) return EXIT_USAGE;
            o.threads = (int)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--batch", &v))) {
            if (r < 0 || cli_int("serve", "--batch", v, 1, 4096, &x)) return EXIT_USAGE;
            o.batch = (int)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--max-instances", &v))) {
            if (r < 0 || cli_int("serve", "--max-instances", v, 1, 100000, &x)) return EXIT_USAGE;
            o.max_instances = (int)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--max-body", &v))) {
            if (r < 0 || cli_int("serve", "--max-body", v, 1, 1L << 30, &x)) return EXIT_USAGE;
            o.max_body = (size_t)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--max-header", &v))) {
            if (r < 0 || cli_int("serve", "--max-header", v, 256, 1L << 20, &x)) return EXIT_USAGE;
            o.max_head = (size_t)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--timeout", &v))) {
            if (r < 0 || cli_int("serve", "--timeout", v, 1, 3600000, &x)) return EXIT_USAGE;
            o.read_timeout_ms = (int)x;
        } else if ((r = cli_opt("serve", argc, argv, &i, "--max-conns", &v))) {
            if (r < 0 || cli_int("serve", "--max-conns", v, 1, 100000, &x)) return EXIT_USAGE;
            o.max_conns = (int)x;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("serve", "unknown option '%s'", argv[i]);
        } else if (!o.model_path) {
            o.model_path = argv[i];
        } else {
            return cli_usage_error("serve", "one model file, please ('%s' is a second)", argv[i]);
        }
    }
    if (!o.model_path) return cli_usage_error("serve", "no model file given");
    mn_err e;
    if (serve_run(&o, &e)) return cli_fail(&e);
    return 0;
}
