/* test_json.c - the JSON reader of mnist serve (src/serve/json.c) and the
 * request decoding and responses built on it (src/serve/api.c). */
#include <stdlib.h>
#include <string.h>

#include "../src/serve/api.h"
#include "../src/serve/json.h"
#include "test.h"

static int ok(const char *s)
{
    json_doc d;
    int r = json_parse(&d, s, strlen(s), 1000);
    json_free(&d);
    return r == 0;
}

/* decodes s as kind for a 1x2x2 model; returns the status, *n and x */
static int dec(const char *s, api_kind kind, float **x, int *n)
{
    json_doc d;
    api_limits lim = {1, 2, 2, 3};
    char err[200];
    int w, h;
    *x = NULL;
    if (json_parse(&d, s, strlen(s), 1000)) {
        json_free(&d);
        return -1;
    }
    int st = api_decode(&d, kind, &lim, x, n, &w, &h, err, sizeof err);
    if (st) CHECK_MSG(err[0] != 0, "no message for status %d", st);
    json_free(&d);
    return st;
}

int main(void)
{
    json_doc d;
    const char *s = " {\"a\": [1, -2.5, 3e2, 0.125, true, false, null, \"x\\n\\u0041\"], \"b\": {}} ";
    CHECK(json_parse(&d, s, strlen(s), 100) == 0);
    CHECK(d.nodes[0].type == JSON_OBJECT && d.nodes[0].count == 2);
    int a = json_get(&d, 0, "a");
    CHECK(a >= 0 && d.nodes[a].type == JSON_ARRAY && d.nodes[a].count == 8);
    int k = d.nodes[a].child;
    double want[] = {1, -2.5, 300, 0.125};
    for (int i = 0; i < 4; i++, k = d.nodes[k].next) CHECK(d.nodes[k].type == JSON_NUMBER && d.nodes[k].num == want[i]);
    CHECK(d.nodes[k].type == JSON_TRUE);
    k = d.nodes[d.nodes[d.nodes[k].next].next].next;
    CHECK(json_str_eq(&d.nodes[k], "x\nA"));
    CHECK(json_get(&d, 0, "b") >= 0 && json_get(&d, 0, "c") < 0);
    json_free(&d);
    /* numbers: the fast path and strtod agree */
    const char *nums[] = {"0.1", "0.30000000000000004", "123456789012345678901", "1e-7", "-0.0", "0.007843138",
                          "2.2250738585072014e-308", "0.12345678901234567890123"};
    for (int i = 0; i < 8; i++) {
        CHECK(json_parse(&d, nums[i], strlen(nums[i]), 10) == 0);
        CHECK_MSG(d.nodes[0].num == strtod(nums[i], NULL), "%s", nums[i]);
        json_free(&d);
    }
    /* not JSON */
    const char *bad[] = {"", "[", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "NaN", "Infinity",
                         "[1e999]", "\"\\x\"", "\"\\u12\"", "\"a\nb\"", "[1] 2", "tru", "{1:2}", "\"abc"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(!ok(bad[i]), "'%s' parsed", bad[i]);
        json_parse(&d, bad[i], strlen(bad[i]), 100);
        CHECK(d.error[0] != 0);
        json_free(&d);
    }
    /* nesting is bounded */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    CHECK(json_parse(&d, deep, 200, 1000) == -1 && strstr(d.error, "deeply"));
    json_free(&d);
    CHECK(json_parse(&d, deep + 100 - JSON_MAX_DEPTH, 2 * JSON_MAX_DEPTH, 1000) == 0);
    json_free(&d);
    /* and so is the node count */
    CHECK(json_parse(&d, "[1,2,3,4]", 9, 3) == -1 && strstr(d.error, "too many"));
    json_free(&d);
    /* no read past the end: a buffer that is not NUL-terminated */
    char raw[4] = {'[', '1', '2', '3'};
    CHECK(json_parse(&d, raw, 4, 10) == -1);
    json_free(&d);

    /* ---- api: a 1x2x2 model, at most 3 instances ---- */
    float *x;
    int n;
    CHECK(dec("{\"instances\": [[0, 0.5, 1, 0.25], [[1, 1], [0, 0]]]}", API_TF, &x, &n) == 0 && n == 2);
    if (x) CHECK(x[1] == 0.5f && x[4] == 1 && x[7] == 0);
    free(x);
    CHECK(dec("{\"inputs\": [[[0, 0]], [[1, 1]]]}", API_TF, &x, &n) == 400); /* 1x2 is not 2x2 */
    free(x);
    CHECK(dec("{\"inputs\": {\"img\": [[[0], [0], [1], [1]]]}}", API_TF, &x, &n) == 0 && n == 1);
    free(x);
    CHECK(dec("{\"instances\": [[0, 0, 0]]}", API_TF, &x, &n) == 400);
    CHECK(dec("{\"instances\": [[0, 0, 0, 2]]}", API_TF, &x, &n) == 400);   /* outside [0, 1] */
    CHECK(dec("{\"instances\": [[0, 0, 0, \"a\"]]}", API_TF, &x, &n) == 400);
    CHECK(dec("{\"instances\": [[[0, 0], [0]]]}", API_TF, &x, &n) == 400);   /* ragged */
    CHECK(dec("{\"instances\": []}", API_TF, &x, &n) == 400);
    CHECK(dec("{\"instances\": [[0,0,0,0],[0,0,0,0],[0,0,0,0],[0,0,0,0]]}", API_TF, &x, &n) == 413);
    CHECK(dec("[1]", API_TF, &x, &n) == 400);
    CHECK(dec("{\"x\": 1}", API_TF, &x, &n) == 400);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [2, 4], \"datatype\": \"UINT8\", \"data\": [0, 255, 0, 0, 0, "
              "0, 51, 0]}]}", API_V2, &x, &n) == 0 && n == 2);
    if (x) CHECK(x[1] == 1.0f && x[6] == 51 * (1.0f / 255.0f));
    free(x);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [1, 2, 2], \"datatype\": \"FP32\", \"data\": [[0.5, 0], [0, "
              "0]]}]}", API_V2, &x, &n) == 0 && n == 1);
    free(x);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [0, 0, 0]}]}", API_V2,
              &x, &n) == 400);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [1, 4], \"datatype\": \"FP64\", \"data\": [0, 0, 0, 0]}]}",
              API_V2, &x, &n) == 400);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [1, 5], \"datatype\": \"FP32\", \"data\": [0,0,0,0,0]}]}",
              API_V2, &x, &n) == 400);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [1, 4], \"datatype\": \"UINT8\", \"data\": [0, 0, 0, 1.5]}]}",
              API_V2, &x, &n) == 400);
    CHECK(dec("{\"inputs\": [{\"name\": \"i\", \"shape\": [9, 4], \"datatype\": \"FP32\", \"data\": []}]}", API_V2, &x,
              &n) == 413);
    CHECK(dec("{\"width\": 2, \"height\": 1, \"data\": [0, 255]}", API_DRAW, &x, &n) == 0 && n == 1);
    free(x);
    CHECK(dec("{\"width\": 2, \"height\": 1, \"data\": [0]}", API_DRAW, &x, &n) == 400);
    CHECK(dec("{\"width\": 5000, \"height\": 1, \"data\": [0]}", API_DRAW, &x, &n) == 400);

    /* responses are JSON our reader takes, with the probabilities exact */
    float p[4] = {0.1f, 0.9f, 1e-20f, 0.333333343f};
    sbuf b = {0};
    api_tf_response(&b, p, 2, 2);
    CHECK(b.p && json_parse(&d, b.p, b.n, 100) == 0);
    int preds = json_get(&d, 0, "predictions");
    CHECK(preds >= 0 && d.nodes[preds].count == 2);
    if (preds >= 0) {
        int r1 = d.nodes[d.nodes[preds].child].next, v = d.nodes[r1].child;
        CHECK((float)d.nodes[v].num == 1e-20f && (float)d.nodes[d.nodes[v].next].num == 0.333333343f);
    }
    json_free(&d);
    b.n = 0;
    api_v2_response(&b, p, 1, 4);
    CHECK(json_parse(&d, b.p, b.n, 100) == 0 && json_get(&d, 0, "outputs") >= 0);
    json_free(&d);
    /* every probability written reads back as the same float */
    unsigned seed = 1;
    int exact = 1;
    for (int i = 0; i < 200000 && exact; i++) {
        seed = seed * 1103515245u + 12345u;
        float v = (float)((double)(seed >> 8) / (double)(1u << 24));
        if (i % 4 == 0) v = v * v * v * v; /* small ones too */
        b.n = 0;
        sb_float(&b, v);
        exact = strtof(b.p, NULL) == v;
        if (!exact) fprintf(stderr, "%.9g written as %s\n", (double)v, b.p);
    }
    CHECK(exact);
    b.n = 0;
    sb_float(&b, 0.5f);
    CHECK(!strcmp(b.p, "0.5"));
    b.n = 0;
    sb_float(&b, 1.0f);
    CHECK(!strcmp(b.p, "1"));
    free(b.p);
    return test_summary("test_json");
}
