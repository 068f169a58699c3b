/* test_modelfile.c - the safetensors writer and reader: round trips, the
 * writer's refusals, hand-made corrupt files, and a mutation loop that feeds
 * the reader thousands of damaged files (meant to run under ASan/UBSan). */
#define _POSIX_C_SOURCE 200809L

#include "mnist/safetensors.h"

#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "testutil.h"

static char dir[64];

static void join(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", dir, name); }

static float f_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* A file of: header length, json as is (no padding), datalen bytes. */
static void make_file(const char *path, const char *json, size_t datalen)
{
    size_t hl = strlen(json), n = 8 + hl + datalen;
    unsigned char *p = calloc(n, 1);
    put_le64(p, hl);
    memcpy(p + 8, json, hl);
    for (size_t i = 0; i < datalen; i++) p[8 + hl + i] = (unsigned char)i;
    write_file(path, p, n);
    free(p);
}

static int is_zeroed(const mn_safetensors *st)
{
    return st->n_tensors == 0 && !st->tensors && st->n_meta == 0 && !st->meta_keys && !st->meta_vals && !st->blob;
}

/* The reader must refuse path with a one-line message naming the file and
 * containing needle, and leave st empty. */
static void expect_reject_at(const char *path, const char *needle, int line)
{
    mn_safetensors st;
    mn_err e = {{0}};
    memset(&st, 0xAB, sizeof st); /* the reader must not trust what it is given */
    int rc = mn_st_read(path, &st, &e);
    CHECK_MSG(rc == -1, "line %d: %s was accepted", line, path);
    if (rc == 0) {
        mn_st_free(&st);
        return;
    }
    CHECK_MSG(strstr(e.msg, path) != NULL, "line %d: message does not name the file: %s", line, e.msg);
    CHECK_MSG(!needle || strstr(e.msg, needle) != NULL, "line %d: expected '%s' in: %s", line, needle, e.msg);
    CHECK_MSG(!strchr(e.msg, '\n'), "line %d: message has a newline: %s", line, e.msg);
    CHECK(is_zeroed(&st));
    mn_st_free(&st);
}
#define expect_reject(path, needle) expect_reject_at(path, needle, __LINE__)

static void reject_json(const char *json, size_t datalen, const char *needle, int line)
{
    char path[128];
    join(path, sizeof path, "corrupt.safetensors");
    make_file(path, json, datalen);
    expect_reject_at(path, needle, line);
}
#define REJECT(json, datalen, needle) reject_json(json, datalen, needle, __LINE__)

static void accept_json(const char *json, size_t datalen, int want_tensors, int line)
{
    char path[128];
    mn_safetensors st;
    mn_err e = {{0}};
    join(path, sizeof path, "ok.safetensors");
    make_file(path, json, datalen);
    int rc = mn_st_read(path, &st, &e);
    CHECK_MSG(rc == 0, "line %d: rejected: %s", line, e.msg);
    CHECK_MSG(rc || st.n_tensors == want_tensors, "line %d: %d tensors", line, st.n_tensors);
    mn_st_free(&st);
}
#define ACCEPT(json, datalen, nt) accept_json(json, datalen, nt, __LINE__)

static int count_temp_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));) n += strstr(de->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

/* ---- round trip ---------------------------------------------------------- */

static const char *const meta_k[] = {"format", "weird \"key\" \\", "text", "unicode", "empty"};
static const char *const meta_v[] = {"pt", "v\"\\/", "line1\nline2\t\"quoted\" back\\slash \x01\x1f\x7f end",
                                     "h\xC3\xA9llo \xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80", ""};

static void test_round_trip(void)
{
    static const uint32_t specials[] = {0x7FC12345u, 0xFFA00001u, 0x7F800000u, 0xFF800000u, 0x80000000u,
                                        0x00000001u, 0x7F7FFFFFu, 0x3F800000u, 0xC0490FDBu, 0x00000000u};
    float scalar = f_bits(0x7FC00ABCu);
    float bias[5], weight[12], conv[18];
    for (int i = 0; i < 5; i++) bias[i] = f_bits(specials[i]);
    for (int i = 0; i < 12; i++) weight[i] = f_bits(specials[i % 10] ^ (uint32_t)(i >= 10));
    for (int i = 0; i < 18; i++) conv[i] = (float)i * 0.25f - 2.0f;
    mn_st_tensor t[6];
    memset(t, 0, sizeof t);
    strcpy(t[0].name, "scalar"), t[0].ndim = 0, t[0].data = &scalar;
    strcpy(t[1].name, "0.bias"), t[1].ndim = 1, t[1].shape[0] = 5, t[1].data = bias;
    strcpy(t[2].name, "0.weight"), t[2].ndim = 2, t[2].shape[0] = 3, t[2].shape[1] = 4, t[2].data = weight;
    strcpy(t[3].name, "conv \"k\"\n\xC3\xA9"), t[3].ndim = 4, t[3].data = conv;
    t[3].shape[0] = 2, t[3].shape[1] = 1, t[3].shape[2] = 3, t[3].shape[3] = 3;
    strcpy(t[4].name, "empty"), t[4].ndim = 2, t[4].shape[0] = 0, t[4].shape[1] = 7, t[4].data = NULL;
    strcpy(t[5].name, "tail"), t[5].ndim = 1, t[5].shape[0] = 1, t[5].data = bias + 4;
    const int nt = 6, nm = 5;
    const size_t data_bytes = 4 * (1 + 5 + 12 + 18 + 0 + 1);

    char path[128];
    mn_err e = {{0}};
    join(path, sizeof path, "model.safetensors");
    CHECK_MSG(mn_st_write(path, t, nt, meta_k, meta_v, nm, &e) == 0, "%s", e.msg);
    CHECK(count_temp_files() == 0);

    /* The raw layout. */
    size_t n = 0;
    unsigned char *raw;
    read_file(path, &raw, &n);
    CHECK(raw && n >= 8);
    if (raw && n >= 8) {
        uint64_t hl = get_le64(raw);
        CHECK(hl % 8 == 0);
        CHECK(8 + hl + data_bytes == n);
        CHECK(hl >= 17 && !memcmp(raw + 8, "{\"__metadata__\":{", 17));
        size_t end = (size_t)hl;
        while (end > 0 && raw[8 + end - 1] == ' ') end--;
        CHECK(end > 0 && raw[8 + end - 1] == '}');
        CHECK(hl - end < 8);
        /* Data section: F32 little-endian in the order given. */
        const unsigned char *d = raw + 8 + hl;
        uint32_t u = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        CHECK(u == 0x7FC00ABCu);
        d += 4;
        u = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
        CHECK(u == specials[0]);
        char *hdr = calloc(1, (size_t)hl + 1);
        memcpy(hdr, raw + 8, (size_t)hl);
        CHECK(strstr(hdr, "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[24,72]}") != NULL);
        CHECK(strstr(hdr, "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,7],\"data_offsets\":[144,144]}") != NULL);
        CHECK(strstr(hdr, "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}") != NULL);
        CHECK(strstr(hdr, "\\u0001\\u001f\x7f") != NULL);
        CHECK(strstr(hdr, "\"conv \\\"k\\\"\\u000a\xC3\xA9\"") != NULL);
        free(hdr);
    }
    free(raw);

    /* Back again, bit for bit. */
    mn_safetensors st;
    CHECK_MSG(mn_st_read(path, &st, &e) == 0, "%s", e.msg);
    CHECK(st.n_tensors == nt);
    for (int i = 0; i < nt && i < st.n_tensors; i++) {
        const mn_st_tensor *g = &st.tensors[i];
        CHECK_MSG(!strcmp(g->name, t[i].name), "tensor %d is '%s'", i, g->name);
        CHECK(g->ndim == t[i].ndim);
        CHECK(!memcmp(g->shape, t[i].shape, sizeof g->shape[0] * (size_t)t[i].ndim));
        CHECK(((uintptr_t)g->data & 3) == 0);
        uint64_t cnt = 1;
        for (int k = 0; k < t[i].ndim; k++) cnt *= (uint64_t)t[i].shape[k];
        CHECK_MSG(!cnt || !memcmp(g->data, t[i].data, 4 * (size_t)cnt), "tensor %s data differs", t[i].name);
        CHECK(mn_st_find(&st, t[i].name) == g);
    }
    CHECK(mn_st_find(&st, "nope") == NULL);
    CHECK(mn_st_find(&st, "") == NULL);
    CHECK(st.n_meta == nm);
    for (int i = 0; i < nm; i++) {
        const char *v = mn_st_meta(&st, meta_k[i]);
        CHECK_MSG(v && !strcmp(v, meta_v[i]), "metadata '%s' came back as '%s'", meta_k[i], v ? v : "(null)");
    }
    CHECK(mn_st_meta(&st, "absent") == NULL);
    mn_st_free(&st);
    CHECK(is_zeroed(&st));
    mn_st_free(&st); /* idempotent */
    mn_st_free(NULL);
    mn_safetensors z;
    memset(&z, 0, sizeof z);
    mn_st_free(&z);
    CHECK(mn_st_find(&z, "x") == NULL && mn_st_meta(&z, "x") == NULL);

    /* Replacing an existing file. */
    float one = 1.0f;
    mn_st_tensor t1;
    memset(&t1, 0, sizeof t1);
    strcpy(t1.name, "only"), t1.ndim = 1, t1.shape[0] = 1, t1.data = &one;
    CHECK_MSG(mn_st_write(path, &t1, 1, NULL, NULL, 0, &e) == 0, "%s", e.msg);
    CHECK_MSG(mn_st_read(path, &st, &e) == 0, "%s", e.msg);
    CHECK(st.n_tensors == 1 && st.n_meta == 0 && st.tensors[0].data[0] == 1.0f);
    CHECK(mn_st_find(&st, "0.bias") == NULL);
    mn_st_free(&st);

    /* Nothing at all: "{}" padded to 8 + 8. */
    CHECK_MSG(mn_st_write(path, NULL, 0, NULL, NULL, 0, &e) == 0, "%s", e.msg);
    read_file(path, &raw, &n);
    CHECK(raw && n == 16 && get_le64(raw) == 8 && !memcmp(raw + 8, "{}      ", 8));
    free(raw);
    CHECK_MSG(mn_st_read(path, &st, &e) == 0, "%s", e.msg);
    CHECK(st.n_tensors == 0 && st.n_meta == 0);
    mn_st_free(&st);

    /* Every header length lands on a multiple of 8. */
    for (int len = 1; len <= 16; len++) {
        char name[32];
        memset(name, 'a', (size_t)len);
        name[len] = '\0';
        strcpy(t1.name, name);
        CHECK(mn_st_write(path, &t1, 1, NULL, NULL, 0, &e) == 0);
        read_file(path, &raw, &n);
        CHECK(raw && n >= 8 && get_le64(raw) % 8 == 0 && n == 8 + get_le64(raw) + 4);
        free(raw);
        CHECK(mn_st_read(path, &st, &e) == 0 && st.n_tensors == 1 && !strcmp(st.tensors[0].name, name));
        mn_st_free(&st);
    }
    CHECK(count_temp_files() == 0);
    remove(path);
}

/* ---- the writer's refusals --------------------------------------------- */

static void expect_write_fail(const char *path, const mn_st_tensor *t, int nt, const char *const *k,
                              const char *const *v, int nm, const char *needle, int line)
{
    mn_err e = {{0}};
    int rc = mn_st_write(path, t, nt, k, v, nm, &e);
    CHECK_MSG(rc == -1, "line %d: write succeeded", line);
    CHECK_MSG(strstr(e.msg, path) != NULL, "line %d: message does not name the file: %s", line, e.msg);
    CHECK_MSG(!needle || strstr(e.msg, needle), "line %d: expected '%s' in: %s", line, needle, e.msg);
    CHECK_MSG(!strchr(e.msg, '\n'), "line %d: message has a newline: %s", line, e.msg);
    CHECK_MSG(!file_exists(path), "line %d: %s was created", line, path);
    CHECK(count_temp_files() == 0);
}
#define WRITE_FAIL(path, t, nt, k, v, nm, needle) expect_write_fail(path, t, nt, k, v, nm, needle, __LINE__)

static void test_write_errors(void)
{
    char path[128], nodir[160];
    float x[4] = {1, 2, 3, 4};
    mn_st_tensor t[2];
    memset(t, 0, sizeof t);
    strcpy(t[0].name, "a"), t[0].ndim = 1, t[0].shape[0] = 2, t[0].data = x;
    strcpy(t[1].name, "b"), t[1].ndim = 1, t[1].shape[0] = 2, t[1].data = x + 2;
    join(path, sizeof path, "refused.safetensors");
    join(nodir, sizeof nodir, "no/such/dir/model.safetensors");

    WRITE_FAIL(nodir, t, 2, NULL, NULL, 0, "cannot create");
    strcpy(t[1].name, "a");
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "duplicate tensor name 'a'");
    t[1].name[0] = '\0';
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "empty name");
    strcpy(t[1].name, "__metadata__");
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "reserved");
    strcpy(t[1].name, "\xC3(");
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "UTF-8");
    memset(t[1].name, 'n', sizeof t[1].name);
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "not terminated");
    strcpy(t[1].name, "b");
    t[1].ndim = MN_ST_MAX_DIMS + 1;
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "dimensions");
    t[1].ndim = -1;
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "dimensions");
    t[1].ndim = 2, t[1].shape[0] = 2, t[1].shape[1] = -1;
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "negative");
    t[1].shape[1] = INT64_MAX;
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "too large");
    t[1].ndim = 1, t[1].data = NULL;
    WRITE_FAIL(path, t, 2, NULL, NULL, 0, "no data");
    t[1].data = x + 2;

    const char *k2[] = {"k", "k"}, *v2[] = {"1", "2"}, *bad[] = {"\xFF"}, *null[] = {NULL};
    WRITE_FAIL(path, t, 2, k2, v2, 2, "duplicate metadata key 'k'");
    WRITE_FAIL(path, t, 2, k2, bad, 1, "UTF-8");
    WRITE_FAIL(path, t, 2, k2, null, 1, NULL);
    WRITE_FAIL(path, t, -1, NULL, NULL, 0, NULL);

    /* A directory in the way of the final name: the temp file goes away. */
    char sub[160];
    join(sub, sizeof sub, "adir");
    CHECK(mkdir(sub, 0700) == 0);
    mn_err e = {{0}};
    CHECK(mn_st_write(sub, t, 2, NULL, NULL, 0, &e) == -1);
    CHECK_MSG(strstr(e.msg, sub) != NULL, "%s", e.msg);
    CHECK(count_temp_files() == 0);
    expect_reject(sub, "not a regular file");
    rmdir(sub);

    /* And the good case still works after all that. */
    CHECK_MSG(mn_st_write(path, t, 2, NULL, NULL, 0, &e) == 0, "%s", e.msg);
    remove(path);
}

/* ---- corrupt files -------------------------------------------------------- */

#define T1(name, shape, offs) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_corrupt(void)
{
    char path[128];
    join(path, sizeof path, "corrupt.safetensors");

    /* Sizes and the length prefix. */
    write_file(path, "", 0);
    expect_reject(path, "empty file");
    write_file(path, "\x08\0\0\0\0\0\0", 7);
    expect_reject(path, "too short");
    unsigned char buf[64];
    memset(buf, ' ', sizeof buf);
    put_le64(buf, 1000);
    buf[8] = '{', buf[9] = '}';
    write_file(path, buf, 30);
    expect_reject(path, "header length 1000 exceeds file size (30 bytes)");
    put_le64(buf, (uint64_t)1 << 63);
    write_file(path, buf, 30);
    expect_reject(path, "header length 9223372036854775808 exceeds");
    put_le64(buf, 100000001);
    write_file(path, buf, 30);
    expect_reject(path, "exceeds the limit");
    put_le64(buf, 23);
    write_file(path, buf, 30);
    expect_reject(path, "exceeds file size");
    char missing[160];
    join(missing, sizeof missing, "does-not-exist.safetensors");
    expect_reject(missing, "cannot open");

    /* Not JSON. */
    REJECT("", 0, "empty header");
    REJECT("{", 0, "unexpected end");
    REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]", 4, "invalid JSON");
    REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "invalid JSON");
    REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_off", 4, "unterminated string");
    REJECT("{} x", 0, "trailing characters");
    REJECT("{}}", 0, "trailing characters");
    REJECT("{},{}", 0, "trailing characters");
    REJECT("{\"__metadata__\":{\"a\":\"b\\qc\"}}", 0, "invalid escape");
    REJECT("{\"__metadata__\":{\"a\":\"b\\u12\"}}", 0, "\\u escape");
    REJECT("{\"__metadata__\":{\"a\":\"\\uD800\"}}", 0, "surrogate");
    REJECT("{\"__metadata__\":{\"a\":\"\\uDC00\\uD800\"}}", 0, "surrogate");
    REJECT("{\"__metadata__\":{\"a\":\"\\uD800\\u0041\"}}", 0, "surrogate");
    REJECT("{\"__metadata__\":{\"a\":\"abc}}", 0, "unterminated string");
    REJECT("{\"__metadata__\":{\"a\":\"ab\\", 0, "unterminated string");
    REJECT("{\"__metadata__\":{\"a\":\"tab\there\"}}", 0, "control character");
    REJECT("{\"__metadata__\":{\"a\":\"\xC0\x80\"}}", 0, "UTF-8");
    REJECT("{\"__metadata__\":{\"a\":\"\xED\xA0\x80\"}}", 0, "UTF-8");
    REJECT("{\"__metadata__\":{\"a\":\"\xF4\x90\x80\x80\"}}", 0, "UTF-8");
    REJECT("{\"__metadata__\":{\"a\":\"\xE4\xB8\"}}", 0, "UTF-8");
    REJECT("{\"__metadata__\":{\"a\" \"b\"}}", 0, "expected ':'");
    REJECT("{\"__metadata__\":{\"a\":\"b\",}}", 0, "expected a key");
    REJECT("{\"__metadata__\":{\"a\":\"b\" \"c\":\"d\"}}", 0, "expected ',' or '}'");
    REJECT("{a:1}", 0, "expected a key");
    REJECT("{\"t\":{\"x\":tru,\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unexpected character");
    REJECT("{\"t\":{\"x\":[1,],\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unexpected character");
    REJECT("{\"t\":{\"x\":01,\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "expected ',' or '}'");
    REJECT("{\"t\":{\"x\":1.,\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "invalid number");
    REJECT("{\"t\":{\"x\":-,\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "invalid number");
    REJECT("{\"t\":{\"x\":1e+,\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "invalid number");
    REJECT("{\"t\":{\"x\":{\"k\" 1},\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "expected ':'");
    REJECT("{\"t\":{\"x\":[1 2],\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "expected ',' or ']'");
    {
        /* 10000 nested arrays: a depth limit, not a stack overflow. */
        size_t deep = 10000;
        char *j = malloc(2 * deep + 64);
        size_t o = (size_t)sprintf(j, "{\"t\":{\"x\":");
        memset(j + o, '[', deep);
        memset(j + o + deep, ']', deep);
        strcpy(j + o + 2 * deep, "}}");
        REJECT(j, 0, "nested too deeply");
        memset(j, '[', deep);
        memset(j + deep, ']', deep);
        j[2 * deep] = '\0';
        REJECT(j, 0, "not a JSON object");
        free(j);
    }

    /* JSON, but not safetensors. */
    REJECT("[1,2]", 0, "not a JSON object");
    REJECT("\"str\"", 0, "not a JSON object");
    REJECT("{\"a\":[]}", 0, "tensor 'a' is not an object");
    REJECT("{" T1("a", "[1]", "[0,4]") ",\"b\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
           "tensor 'b': unknown dtype 'Q7'");
    REJECT("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor 'a': dtype BF16 not supported");
    REJECT("{\"a\":{\"dtype\":\"F32\\u0000\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype");
    REJECT("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string");
    REJECT("{\"1.weight\":{\"dtype\":\"F32\",\"shape\":[128,784],\"data_offsets\":[0,100]}}", 100,
           "tensor '1.weight': data_offsets [0,100] do not match shape [128,784] (F32)");
    REJECT("{" T1("s", "[]", "[0,8]") "}", 8, "do not match shape [] (F32)");
    REJECT("{" T1("a", "[1]", "[4,0]") "}", 4, "do not match");
    REJECT("{" T1("a", "[1]", "[0,4]") "," T1("b", "[1]", "[8,12]") "}", 12, "tensor 'b': data_offsets [8,12] leave a gap after tensor 'a'");
    REJECT("{" T1("a", "[1]", "[4,8]") "}", 8, "gap at the start");
    REJECT("{" T1("a", "[2]", "[0,8]") "," T1("b", "[1]", "[4,8]") "}", 8, "overlap tensor 'a'");
    REJECT("{" T1("a", "[1]", "[0,4]") "," T1("b", "[1]", "[0,4]") "}", 4, "overlap");
    REJECT("{" T1("a", "[2]", "[0,8]") "}", 4, "exceed the data buffer (4 bytes)");
    REJECT("{" T1("a", "[1]", "[18446744073709551612,18446744073709551616]") "}", 4, "too large");
    REJECT("{" T1("a", "[1]", "[0,4]") "}", 8, "4 trailing bytes");
    REJECT("{}", 1, "1 trailing bytes");
    REJECT("{" T1("a", "[1]", "[0,4]") "," T1("a", "[1]", "[4,8]") "}", 8, "duplicate tensor name 'a'");
    REJECT("{\"__metadata__\":{\"k\":1}}", 0, "metadata value for 'k' is not a string");
    REJECT("{\"__metadata__\":{\"k\":null}}", 0, "not a string");
    REJECT("{\"__metadata__\":[]}", 0, "__metadata__ is not an object");
    REJECT("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate metadata key 'k'");
    REJECT("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate __metadata__");
    REJECT("{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "NUL");
    REJECT("{" T1("a", "[-1]", "[0,4]") "}", 4, "tensor 'a': shape holds a negative number");
    REJECT("{" T1("a", "[1.5]", "[0,4]") "}", 4, "non-integer");
    REJECT("{" T1("a", "[1e0]", "[0,4]") "}", 4, "non-integer");
    REJECT("{" T1("a", "[\"1\"]", "[0,4]") "}", 4, "non-number");
    REJECT("{" T1("a", "[99999999999999999999]", "[0,4]") "}", 4, "too large");
    REJECT("{" T1("a", "[4294967296,4294967296]", "[0,4]") "}", 4, "too large");
    REJECT("{" T1("a", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, "more than 8 entries");
    REJECT("{" T1("a", "[1]", "[0,4,8]") "}", 4, "more than 2");
    REJECT("{" T1("a", "[1]", "[0]") "}", 4, "[begin,end]");
    REJECT("{" T1("a", "[1]", "{}") "}", 4, "data_offsets is not an array");
    REJECT("{" T1("a", "1", "[0,4]") "}", 4, "shape is not an array");
    REJECT("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing data_offsets");
    REJECT("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing shape");
    REJECT("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing dtype");
    REJECT("{\"a\":{}}", 4, "missing dtype");
    REJECT("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "duplicate field 'dtype'");
    REJECT("{" T1("", "[1]", "[0,4]") "}", 4, "empty name");
    REJECT("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "NUL");
    {
        char j[512], name[200];
        memset(name, 'x', 199);
        name[199] = '\0';
        snprintf(j, sizeof j, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
        REJECT(j, 4, "name longer than 127 bytes");
        name[127] = '\0';
        snprintf(j, sizeof j, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
        ACCEPT(j, 4, 1);
    }
    /* A name with a newline is reported on one line. */
    REJECT("{\"a\\nb\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, "tensor 'a\\x0Ab'");

    /* What the reference loader accepts, we accept. */
    ACCEPT("{}", 0, 0);
    ACCEPT(" \t\r\n{ } \n", 0, 0);
    ACCEPT("{" T1("a", "[1]", "[0,4]") "}", 4, 1);
    ACCEPT("{" T1("b", "[1]", "[4,8]") "," T1("a", "[1]", "[0,4]") "}", 8, 2);
    ACCEPT("{" T1("z", "[0]", "[0,0]") "," T1("y", "[2,0,3]", "[0,0]") "," T1("a", "[]", "[0,4]") "}", 4, 3);
    ACCEPT("{\"a\":{\"data_offsets\":[0,4],\"extra\":{\"x\":[true,false,null,-1.5e-3,\"s\"]},\"shape\":[1],"
           "\"dtype\":\"F32\"}}",
           4, 1);
    ACCEPT("{\"__metadata__\":{}}", 0, 0);
    ACCEPT("{\"\\u0041\\ud83d\\ude00\\/\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 1);
    {
        mn_safetensors st;
        mn_err e = {{0}};
        join(path, sizeof path, "ok.safetensors");
        CHECK(mn_st_read(path, &st, &e) == 0);
        CHECK(mn_st_find(&st, "A\xF0\x9F\x98\x80/") != NULL);
        mn_st_free(&st);
    }
    join(path, sizeof path, "corrupt.safetensors");
    remove(path);
    join(path, sizeof path, "ok.safetensors");
    remove(path);
}

/* ---- mutations ------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int accepted, rejected;

/* Whatever the reader makes of the file, it must not crash, and it must
 * either hand back something self-consistent or say what is wrong. */
static void try_read(const char *path, const unsigned char *p, size_t n)
{
    mn_safetensors st;
    mn_err e;
    memset(e.msg, 0, sizeof e.msg);
    write_file(path, p, n);
    if (mn_st_read(path, &st, &e) == 0) {
        accepted++;
        uint32_t sum = 0;
        for (int i = 0; i < st.n_tensors; i++) {
            const mn_st_tensor *t = &st.tensors[i];
            size_t len = strlen(t->name);
            CHECK(len > 0 && len < MN_ST_MAX_NAME);
            CHECK(t->ndim >= 0 && t->ndim <= MN_ST_MAX_DIMS);
            CHECK(mn_st_find(&st, t->name) == t);
            uint64_t cnt = 1;
            for (int k = 0; k < t->ndim; k++) cnt *= (uint64_t)t->shape[k];
            for (uint64_t k = 0; k < cnt; k++) { /* every element readable (ASan watches) */
                uint32_t u;
                memcpy(&u, &t->data[k], 4);
                sum += u;
            }
        }
        for (int i = 0; i < st.n_meta; i++) CHECK(mn_st_meta(&st, st.meta_keys[i]) != NULL);
        (void)sum;
        mn_st_free(&st);
    } else {
        rejected++;
        CHECK_MSG(e.msg[0] && strstr(e.msg, path) && !strchr(e.msg, '\n'), "bad message: '%s'", e.msg);
        CHECK(is_zeroed(&st));
    }
}

static void test_mutations(void)
{
    char path[128], src[128];
    mn_err e = {{0}};
    join(src, sizeof src, "valid.safetensors");
    join(path, sizeof path, "mutant.safetensors");
    float d[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    mn_st_tensor t[3];
    memset(t, 0, sizeof t);
    strcpy(t[0].name, "0.weight"), t[0].ndim = 2, t[0].shape[0] = 2, t[0].shape[1] = 3, t[0].data = d;
    strcpy(t[1].name, "0.bias"), t[1].ndim = 1, t[1].shape[0] = 3, t[1].data = d + 6;
    strcpy(t[2].name, "s\\\"\xC3\xA9"), t[2].ndim = 0, t[2].data = d + 9;
    const char *k[] = {"format", "k\n"}, *v[] = {"pt", "\\u\xE2\x82\xAC"};
    CHECK_MSG(mn_st_write(src, t, 3, k, v, 2, &e) == 0, "%s", e.msg);
    size_t n;
    unsigned char *orig;
    read_file(src, &orig, &n);
    CHECK(orig != NULL);
    if (!orig) return;
    size_t hl = (size_t)get_le64(orig);
    unsigned char *m = malloc(n + 16);

    /* Every header byte replaced by characters that matter to JSON. */
    static const unsigned char subst[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '0', '9', '-', 'e', '.',
                                          ' ', 'u', 't', 'n', 0x00, 0x1F, 0x80, 0xC3, 0xFF};
    for (size_t pos = 0; pos < 8 + hl; pos++) {
        for (size_t s = 0; s < sizeof subst + 3; s++) {
            memcpy(m, orig, n);
            if (s < sizeof subst)
                m[pos] = subst[s];
            else
                m[pos] ^= (unsigned char)(1u << (s - sizeof subst) * 3);
            if (!memcmp(m, orig, n)) continue;
            try_read(path, m, n);
        }
    }
    /* Every truncation fails. */
    for (size_t len = 0; len < n; len++) {
        int before = accepted;
        try_read(path, orig, len);
        CHECK_MSG(accepted == before, "truncated to %zu bytes and accepted", len);
    }
    /* Random damage with a fixed seed: byte changes anywhere, and header
     * bytes inserted or deleted with the length prefix kept consistent. */
    for (int iter = 0; iter < 4000; iter++) {
        size_t len = n;
        memcpy(m, orig, n);
        int edits = 1 + (int)(rnd() % 4);
        for (int k2 = 0; k2 < edits; k2++) {
            uint64_t r = rnd();
            size_t h = (size_t)get_le64(m);
            if (h > len - 8) h = len - 8;
            switch (r % 4) {
            case 0: m[(r >> 8) % len] = (unsigned char)(r >> 40); break;
            case 1: m[8 + (r >> 8) % (h ? h : 1)] = "\"\\{}[],:0-e u"[(r >> 40) % 13]; break;
            case 2: /* insert into the header */
                if (len < n + 8) {
                    size_t at = 8 + (r >> 8) % (h + 1);
                    memmove(m + at + 1, m + at, len - at);
                    m[at] = "\"\\{}[],:0 1"[(r >> 40) % 11];
                    len++;
                    put_le64(m, h + 1);
                }
                break;
            default: /* delete from the header */
                if (h > 1) {
                    size_t at = 8 + (r >> 8) % h;
                    memmove(m + at, m + at + 1, len - at - 1);
                    len--;
                    put_le64(m, h - 1);
                }
            }
        }
        try_read(path, m, len);
    }
    printf("mutations: %d accepted, %d rejected\n", accepted, rejected);
    CHECK(rejected > 1000);
    free(m);
    free(orig);
    remove(path);
    remove(src);
}

/* I64 tensors (BatchNorm's num_batches_tracked) beside F32 ones: written
 * with 8-byte elements and dtype "I64", read back exactly. */
static void test_i64(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/i64.safetensors", dir);
    float w[3] = {1.5f, -2.0f, 3.25f};
    int64_t count[1] = {((int64_t)1 << 40) + 7}, pair[2] = {-1, 42};
    mn_st_tensor t[3];
    memset(t, 0, sizeof t);
    strcpy(t[0].name, "0.weight"), t[0].ndim = 1, t[0].shape[0] = 3, t[0].data = w;
    strcpy(t[1].name, "1.num_batches_tracked"), t[1].ndim = 0, t[1].dtype = MN_ST_I64, t[1].raw = count;
    strcpy(t[2].name, "2.pair"), t[2].ndim = 1, t[2].shape[0] = 2, t[2].dtype = MN_ST_I64, t[2].raw = pair;
    mn_err e;
    CHECK_MSG(mn_st_write(path, t, 3, NULL, NULL, 0, &e) == 0, "%s", e.msg);
    uint8_t *raw;
    size_t n;
    read_file(path, &raw, &n);
    uint64_t hl = get_le64(raw);
    CHECK(raw && n == 8 + hl + 12 + 8 + 16);
    const char *want = "\"1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[12,20]}";
    int found = 0;
    for (size_t i = 0; i + strlen(want) <= hl && !found; i++) found = !memcmp(raw + 8 + i, want, strlen(want));
    CHECK_MSG(found, "the header lacks %s", want);
    CHECK(get_le64(raw + 8 + hl + 12) == (uint64_t)count[0]);
    free(raw);
    mn_safetensors st;
    CHECK_MSG(mn_st_read(path, &st, &e) == 0, "%s", e.msg);
    const mn_st_tensor *c = mn_st_find(&st, "1.num_batches_tracked"), *p = mn_st_find(&st, "2.pair");
    CHECK(c && c->dtype == MN_ST_I64 && c->ndim == 0 && p && p->dtype == MN_ST_I64 && p->shape[0] == 2);
    CHECK(mn_st_find(&st, "0.weight")->dtype == MN_ST_F32);
    int64_t got[2];
    if (c) memcpy(got, c->raw, 8);
    CHECK(c && got[0] == count[0]);
    if (p) memcpy(got, p->raw, 16);
    CHECK(p && got[0] == -1 && got[1] == 42);
    mn_st_free(&st);
    unlink(path);
}

int main(void)
{
    make_tmpdir(dir, sizeof dir, "test_modelfile");
    test_i64();
    test_round_trip();
    test_write_errors();
    test_corrupt();
    test_mutations();
    CHECK(count_temp_files() == 0);
    CHECK_MSG(rmdir(dir) == 0, "%s not empty at the end", dir);
    return test_summary("test_modelfile");
}
