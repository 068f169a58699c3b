/* csv.c - CSV image sets (csv.h), and the loader for `--data FILE.csv`.
 *
 * The parser reads the file through a 1 MiB buffer and walks the bytes
 * once: each pixel goes straight from its digits into the image array. */
#include "mnist/csv.h"

#include "mnist/atomic.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUF_SIZE (1 << 20)

typedef struct {
    FILE *f;
    const uint8_t *p, *end;
    int err;
    uint8_t buf[BUF_SIZE];
} reader;

static int refill(reader *r)
{
    size_t n = fread(r->buf, 1, BUF_SIZE, r->f);
    if (n == 0) {
        if (ferror(r->f)) r->err = 1;
        r->p = r->end = r->buf;
        return -1;
    }
    r->p = r->buf;
    r->end = r->buf + n;
    return *r->p++;
}

#define GET(r) ((r)->p < (r)->end ? (int)*(r)->p++ : refill(r))
#define IS_DIGIT(c) ((unsigned)(c) - '0' < 10u)

static int isqrt_exact(size_t n)
{
    size_t s = 0;
    while ((s + 1) * (s + 1) <= n) s++;
    return s * s == n ? (int)s : -1;
}

/* The first line: column count, whether it is a header, which column is
 * `label`. */
static int scan_first_line(reader *r, const char *path, long *ncols, int *header, long *label_col, mn_err *e)
{
    char name[8];
    int nl = 0, numeric = 1, any = 0, c;
    long cols = 0;
    *label_col = -1;
    for (;;) {
        c = GET(r);
        if (c == '\r') continue;
        if (c == ',' || c == '\n' || c == -1) {
            if (c == -1 && !any && cols == 0) return mn_fail(e, "%s: empty file", path);
            if (nl == 5 && !strncmp(name, "label", 5)) *label_col = cols;
            if (++cols > MN_CSV_MAX_COLS)
                return mn_fail(e, "%s: line 1: more than %d columns (images up to 1024x1024)", path, MN_CSV_MAX_COLS);
            nl = 0;
            if (c != ',') break;
            continue;
        }
        any = 1;
        if (!IS_DIGIT(c) && c != '-' && c != ' ') numeric = 0;
        if (c == '"' || c == '\'' || c == ' ') continue;
        if (nl < (int)sizeof name) name[nl] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        nl++;
    }
    if (r->err) return mn_fail(e, "%s: read error", path);
    *ncols = cols;
    *header = !numeric;
    return 0;
}

int mn_csv_read(const char *path, int unlabelled_ok, mn_dataset *ds, int *has_labels, mn_err *e)
{
    memset(ds, 0, sizeof *ds);
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mn_fail(e, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    reader *r = malloc(sizeof *r);
    if (!r) {
        fclose(f);
        return mn_fail(e, "%s: out of memory", path);
    }
    r->f = f, r->p = r->end = r->buf, r->err = 0;
    int rc = -1, header = 0;
    long ncols = 0, label_col = -1, line = 1;
    uint8_t *img = NULL, *lab = NULL;
    size_t n = 0, cap = 0;
    if (scan_first_line(r, path, &ncols, &header, &label_col, e)) goto out;
    if (!header) {
        /* numbers only: the label is the first column if the rest is square */
        if (ncols > 1 && isqrt_exact((size_t)ncols - 1) > 0) label_col = 0;
        else if (isqrt_exact((size_t)ncols) > 0) label_col = -1;
        if (fseek(f, 0, SEEK_SET) != 0) {
            mn_fail(e, "%s: cannot seek", path);
            goto out;
        }
        r->p = r->end = r->buf;
    } else {
        line = 2;
    }
    size_t pix = (size_t)(ncols - (label_col >= 0));
    int side = isqrt_exact(pix);
    if (side <= 0) {
        mn_fail(e, "%s: line 1: %zu pixel columns%s is not a square image", path, pix,
                label_col >= 0 ? " besides the label" : "");
        goto out;
    }
    if (label_col < 0 && !unlabelled_ok) {
        mn_fail(e, "%s: no label column (%s); a file to predict? mnist predict MODEL --csv %s", path,
                header ? "no header named 'label'" : "no header, and the columns are all pixels", path);
        goto out;
    }
    for (;;) {
        int c = GET(r);
        if (c == -1) break;
        if (c == '\n') { line++; continue; }
        if (c == '\r') continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            if (nc > (size_t)INT_MAX) nc = (size_t)INT_MAX;
            if (n == nc || pix > SIZE_MAX / nc) {
                mn_fail(e, "%s: line %ld: too many rows", path, line);
                goto out;
            }
            uint8_t *ni = realloc(img, nc * pix);
            if (!ni) { mn_fail(e, "%s: out of memory at line %ld", path, line); goto out; }
            img = ni;
            uint8_t *nlb = realloc(lab, nc);
            if (!nlb) { mn_fail(e, "%s: out of memory at line %ld", path, line); goto out; }
            lab = nlb;
            cap = nc;
        }
        uint8_t *dst = img + n * pix;
        size_t k = 0;
        long col = 0;
        lab[n] = 0;
        for (;;) {
            int neg = 0;
            if (c == '-') neg = 1, c = GET(r);
            if (!IS_DIGIT(c)) {
                if (c == ',' || c == '\n' || c == '\r' || c == -1)
                    mn_fail(e, "%s: line %ld, column %ld: empty field", path, line, col + 1);
                else
                    mn_fail(e, "%s: line %ld, column %ld: %s is not an integer (found '%c')", path, line, col + 1,
                            col == label_col ? "label" : "pixel", c >= 0x20 && c < 0x7f ? c : '?');
                goto out;
            }
            long v = c - '0';
            if (r->end - r->p >= 4) {
                /* fast path, the bytes at hand: up to 3 more digits then the terminator */
                const uint8_t *q = r->p;
                unsigned d = (unsigned)q[0] - '0';
                if (d < 10) {
                    v = v * 10 + (long)d, q++;
                    if ((d = (unsigned)q[0] - '0') < 10) {
                        v = v * 10 + (long)d, q++;
                        if ((d = (unsigned)q[0] - '0') < 10) v = v * 10 + (long)d, q++;
                    }
                }
                c = *q++;
                r->p = q;
                while (IS_DIGIT(c)) {
                    if (v < 100000) v = v * 10 + (c - '0');
                    c = GET(r);
                }
            } else {
                for (c = GET(r); IS_DIGIT(c); c = GET(r))
                    if (v < 100000) v = v * 10 + (c - '0');
            }
            if (c != ',' && c != '\n' && c != '\r' && c != -1) {
                mn_fail(e, "%s: line %ld, column %ld: %s is not an integer (found '%c')", path, line, col + 1,
                        col == label_col ? "label" : "pixel", c >= 0x20 && c < 0x7f ? c : '?');
                goto out;
            }
            if ((neg && v) || v > 255) {
                mn_fail(e, "%s: line %ld, column %ld: %s %s%ld is out of range 0..255", path, line, col + 1,
                        col == label_col ? "label" : "pixel", neg ? "-" : "", v);
                goto out;
            }
            if (col == label_col) {
                lab[n] = (uint8_t)v;
            } else {
                if (k == pix) {
                    mn_fail(e, "%s: line %ld: more than the %ld columns of line 1", path, line, ncols);
                    goto out;
                }
                dst[k++] = (uint8_t)v;
            }
            col++;
            if (c == ',') {
                c = GET(r);
                continue;
            }
            if (c == '\r') c = GET(r);
            break;
        }
        if (col != ncols) {
            mn_fail(e, "%s: line %ld: %ld columns, line 1 has %ld", path, line, col, ncols);
            goto out;
        }
        n++;
        line++;
        if (c == -1) break;
    }
    if (r->err) {
        mn_fail(e, "%s: read error", path);
        goto out;
    }
    if (n == 0) {
        mn_fail(e, "%s: no data rows", path);
        goto out;
    }
    ds->n = (int)n, ds->c = 1, ds->h = side, ds->w = side, ds->type = MN_PIX_U8;
    uint8_t *ti = realloc(img, n * pix), *tl = realloc(lab, n);
    ds->images = ti ? ti : img, ds->labels = tl ? tl : lab;
    img = lab = NULL;
    snprintf(ds->path, sizeof ds->path, "%s", path);
    if (has_labels) *has_labels = label_col >= 0;
    rc = mn_data_set_classes(ds, path, e);
out:
    free(img);
    free(lab);
    free(r);
    fclose(f);
    if (rc) mn_dataset_free(ds);
    return rc;
}

int mn_csv_write(const char *path, const mn_dataset *ds, int header, mn_err *e)
{
    if (ds->type != MN_PIX_U8 || ds->c != 1) return mn_fail(e, "%s: CSV holds one-channel byte images", path);
    char *tmp;
    FILE *f = mn_atomic_open(path, &tmp, e);
    if (!f) return -1;
    size_t pix = mn_dataset_pixels(ds);
    int ok = 1;
    if (header) {
        ok = fputs("label", f) >= 0;
        for (size_t k = 0; k < pix && ok; k++) ok = fprintf(f, ",pixel%zu", k) > 0;
        ok = ok && fputc('\n', f) != EOF;
    }
    char *line = malloc(pix * 4 + 8);
    if (!line) ok = 0;
    for (int i = 0; i < ds->n && ok; i++) {
        char *p = line;
        unsigned v = ds->labels[i];
        const uint8_t *px = ds->images + (size_t)i * pix;
        for (size_t k = 0; k <= pix; k++) {
            if (k) v = px[k - 1], *p++ = ',';
            if (v >= 100) *p++ = (char)('0' + v / 100);
            if (v >= 10) *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
        }
        *p++ = '\n';
        ok = fwrite(line, 1, (size_t)(p - line), f) == (size_t)(p - line);
    }
    free(line);
    if (!ok) {
        mn_err e2;
        mn_atomic_commit(f, path, tmp, 0, &e2);
        return mn_fail(e, "%s: write error", path);
    }
    return mn_atomic_commit(f, path, tmp, 1, e);
}

/* ---- the loader --------------------------------------------------------- */

int mn_csv_claims(const char *source);
int mn_csv_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e);

int mn_csv_claims(const char *source)
{
    size_t n = strlen(source);
    return n > 4 && strcasecmp(source + n - 4, ".csv") == 0;
}

int mn_csv_load(const char *source, mn_split split, const mn_data_opts *o, mn_dataset *ds, mn_err *e)
{
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    const char *at = NULL;
    for (const char *q = base; (q = strstr(q, "train")); q++) at = q;
    const char *path = source;
    char sib[4096];
    if (split == MN_SPLIT_TEST && at) {
        /* the test set of train.csv: test.csv beside it */
        int k = snprintf(sib, sizeof sib, "%.*stest%s", (int)(at - source), source, at + 5);
        if (k < 0 || (size_t)k >= sizeof sib) return mn_fail(e, "%s: name too long", source);
        FILE *f = fopen(sib, "rb");
        if (!f) {
            mn_fail(e, "%s: no %s beside it with labels to test on (hold out data with --validation-split)", source,
                    sib);
            return 1;
        }
        fclose(f);
        path = sib;
    }
    int labelled = 0;
    if (mn_csv_read(path, path == sib, ds, &labelled, e)) return -1;
    if (!labelled) {
        mn_dataset_free(ds);
        mn_fail(e, "%s has no label column (as Kaggle's test.csv): no test figures; hold out data with "
                   "--validation-split",
                path);
        return 1;
    }
    if (o->transpose) mn_data_transpose(ds);
    return 0;
}
