/* fuzz_json.c - mnist serve's JSON reader (src/serve/json.c) and the request
 * decoding and responses built on it (src/serve/api.c).
 *
 * Invariants besides "no crash, no leak, no read outside the input": a
 * failure leaves a message; a parsed document has at most one node per
 * input byte (plus one), strings lie inside the input, child and sibling
 * links stay in the array and counts match the links; decoding a parsed
 * document for each endpoint either fails with a 4xx/500 status and a
 * message, or gives 1 to max_instances images whose pixels are in [0, 1]
 * (grey levels 0-255 for a drawing); the TF response for them is JSON that
 * parses again. */
#include "fuzz.h"

#include <math.h>

#include "../../src/serve/api.h"
#include "../../src/serve/json.h"

static void check_doc(const json_doc *d, const uint8_t *data, size_t size)
{
    FZ_CHECK(d->n >= 1 && (size_t)d->n <= size + 1, "%d nodes for %zu bytes", d->n, size);
    for (int i = 0; i < d->n; i++) {
        const json_node *x = &d->nodes[i];
        FZ_CHECK(x->next >= -1 && x->next < d->n && x->child >= -1 && x->child < d->n, "node %d links out", i);
        if (x->type == JSON_STRING)
            FZ_CHECK((const uint8_t *)x->s >= data && (const uint8_t *)x->s + x->len <= data + size, "string outside");
        if (x->type == JSON_NUMBER) FZ_CHECK(isfinite(x->num), "number %g", x->num);
        if (x->type == JSON_ARRAY || x->type == JSON_OBJECT) {
            int c = 0;
            for (int k = x->child; k >= 0; k = d->nodes[k].next) {
                FZ_CHECK(k > i, "child %d of %d", k, i);
                c++;
            }
            FZ_CHECK(c == (x->type == JSON_OBJECT ? 2 * x->count : x->count), "count %d, links %d", x->count, c);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_doc d;
    int rc = json_parse(&d, (const char *)data, size, (int)(size < 1000000 ? size + 1 : 1000001));
    if (rc) {
        FZ_CHECK(rc == -1 && d.error[0], "failure %d without a message", rc);
        json_free(&d);
        return 0;
    }
    check_doc(&d, data, size);
    static const api_limits lims[] = {{1, 28, 28, 4}, {1, 2, 2, 3}, {2, 1, 3, 2}};
    for (int l = 0; l < 3; l++)
        for (int kind = API_TF; kind <= API_DRAW; kind++) {
            float *x;
            int n, w = 0, h = 0;
            char err[200] = "";
            int st = api_decode(&d, (api_kind)kind, &lims[l], &x, &n, &w, &h, err, sizeof err);
            if (st) {
                FZ_CHECK(st == 400 || st == 413 || st == 500, "status %d", st);
                FZ_CHECK(err[0] && !x, "status %d: no message, or images left", st);
                continue;
            }
            size_t P = kind == API_DRAW ? (size_t)w * h : (size_t)lims[l].C * lims[l].H * lims[l].W;
            FZ_CHECK(n >= 1 && (kind == API_DRAW ? n == 1 : n <= lims[l].max_instances), "%d images", n);
            for (size_t i = 0; i < (size_t)n * P; i++)
                FZ_CHECK(x[i] >= 0 && x[i] <= (kind == API_DRAW ? 255 : 1), "pixel %zu is %g", i, (double)x[i]);
            if (kind != API_DRAW) {
                sbuf b = {0};
                api_tf_response(&b, x, n, (int)P); /* any floats: the writer must give JSON */
                json_doc again;
                FZ_CHECK(!b.oom && json_parse(&again, b.p, b.n, (int)b.n + 1) == 0, "response is not JSON");
                json_free(&again);
                free(b.p);
            }
            free(x);
        }
    json_free(&d);
    return 0;
}
