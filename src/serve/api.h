/* api.h - the JSON bodies of `mnist serve`'s endpoints: requests to images,
 * probabilities to responses. No I/O; fed untrusted text (fuzz_json). */
#ifndef MNIST_SERVE_API_H
#define MNIST_SERVE_API_H

#include <stddef.h>

#include "json.h"

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;
void sb_put(sbuf *b, const void *s, size_t n);
void sb_str(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void sb_float(sbuf *b, float v); /* 9 significant digits: reads back as v exactly */
void sb_json_str(sbuf *b, const char *s); /* a quoted, escaped JSON string */

/* What a request may hold. */
typedef struct {
    int C, H, W;       /* a model's input shape */
    int max_instances; /* images per request */
} api_limits;

/* The images of a request into *images (malloc'd, n x C*H*W floats in
 * [0, 1]) and *n. 0 on success; otherwise the HTTP status (400, 413 for too
 * many instances) with a message in err.
 *   API_TF: TF Serving's {"instances": [...]} or {"inputs": ...}, each
 *     instance C*H*W numbers, flat or nested as (H, W), (C, H, W), with any
 *     dimensions of size 1 besides; an instance may also be an object with
 *     one member (a named input);
 *   API_V2: KServe v2 {"inputs": [{"name", "shape": [n, ...], "datatype":
 *     "FP32" | "UINT8", "data": [...]}]}, data flat or nested in row-major
 *     order, FP32 in [0, 1], UINT8 integers 0-255 (scaled by 1/255);
 *   API_DRAW: {"width": W, "height": H, "data": [W*H grey levels 0-255]}:
 *     one picture of any size up to 1024 x 1024, returned as is in
 *     *images as bytes (n = 1, *w, *h set), for MNIST-style preparation. */
typedef enum { API_TF, API_V2, API_DRAW } api_kind;
int api_decode(const json_doc *d, api_kind kind, const api_limits *lim, float **images, int *n, int *w, int *h,
               char *err, size_t errn);

#define API_DRAW_MAX 1024

/* Response bodies: probs is n x classes. */
void api_tf_response(sbuf *b, const float *probs, int n, int classes);
void api_v2_response(sbuf *b, const float *probs, int n, int classes);

#endif
