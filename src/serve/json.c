/* json.c - see json.h. */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end, *start;
    json_doc *doc;
} rd;

static int err(rd *r, const char *what)
{
    snprintf(r->doc->error, sizeof r->doc->error, "%s at byte %zu", what, (size_t)(r->p - r->start));
    return -1;
}

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int new_node(rd *r, json_type t)
{
    json_doc *d = r->doc;
    if (d->n >= d->max_nodes) return err(r, "too many values");
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 256;
        if (cap > d->max_nodes) cap = d->max_nodes;
        json_node *nn = realloc(d->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return err(r, "out of memory");
        d->nodes = nn, d->cap = cap;
    }
    json_node *x = &d->nodes[d->n];
    memset(x, 0, sizeof *x);
    x->type = t, x->next = -1, x->child = -1;
    return d->n++;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string's raw body, validated: escapes well formed, no control bytes. */
static int string(rd *r, const char **s, size_t *len)
{
    r->p++; /* the quote */
    const char *b = r->p;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            *s = b, *len = (size_t)(r->p - b);
            r->p++;
            return 0;
        }
        if (c < 0x20) return err(r, "control character in a string");
        if (c == '\\') {
            if (r->end - r->p < 2) break;
            char x = r->p[1];
            if (x == 'u') {
                if (r->end - r->p < 6) break;
                for (int i = 2; i < 6; i++)
                    if (hexval((unsigned char)r->p[i]) < 0) return err(r, "bad \\u escape");
                r->p += 6;
                continue;
            }
            if (!x || !strchr("\"\\/bfnrt", x)) return err(r, "bad escape");
            r->p += 2;
            continue;
        }
        r->p++;
    }
    return err(r, "unterminated string");
}

/* JSON's number grammar; the value by a fast exact path for up to 19
 * significant digits and no more than 22 decimals (m / 10^k, both exact
 * doubles, is correctly rounded), else strtod on a bounded copy. */
static int number(rd *r, double *out)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *b = r->p, *p = r->p;
    int neg = 0;
    if (p < r->end && *p == '-') neg = 1, p++;
    if (p >= r->end || *p < '0' || *p > '9') return err(r, "bad number");
    uint64_t m = 0;
    int digits = 0, frac = 0, simple = 1;
    if (*p == '0') {
        p++;
    } else {
        while (p < r->end && *p >= '0' && *p <= '9') {
            if (digits < 19) m = m * 10 + (uint64_t)(*p - '0'), digits++;
            else simple = 0;
            p++;
        }
    }
    if (p < r->end && *p == '.') {
        p++;
        if (p >= r->end || *p < '0' || *p > '9') return r->p = p, err(r, "bad number");
        while (p < r->end && *p >= '0' && *p <= '9') {
            if (m || *p != '0' || digits) { /* leading zeros of 0.00x do not count */
                if (digits < 19) m = m * 10 + (uint64_t)(*p - '0'), digits++;
                else simple = 0;
            }
            frac++;
            p++;
        }
    }
    if (p < r->end && (*p == 'e' || *p == 'E')) {
        simple = 0;
        p++;
        if (p < r->end && (*p == '+' || *p == '-')) p++;
        if (p >= r->end || *p < '0' || *p > '9') return r->p = p, err(r, "bad number");
        while (p < r->end && *p >= '0' && *p <= '9') p++;
    }
    double v;
    if (simple && frac <= 22 && m < ((uint64_t)1 << 53)) {
        v = (double)m / p10[frac];
        if (neg) v = -v;
    } else {
        char tmp[400];
        if ((size_t)(p - b) >= sizeof tmp) return err(r, "number too long");
        memcpy(tmp, b, (size_t)(p - b));
        tmp[p - b] = 0;
        v = strtod(tmp, NULL);
        if (!isfinite(v)) return err(r, "number out of range");
    }
    r->p = p;
    *out = v;
    return 0;
}

static int value(rd *r, int depth);

static int literal(rd *r, const char *word, json_type t)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n)) return err(r, "unexpected character");
    r->p += n;
    return new_node(r, t);
}

/* arrays and objects: elements linked as they come */
static int container(rd *r, int depth, int object)
{
    if (depth >= JSON_MAX_DEPTH) return err(r, "nested too deeply");
    int self = new_node(r, object ? JSON_OBJECT : JSON_ARRAY);
    if (self < 0) return -1;
    r->p++;
    ws(r);
    char close = object ? '}' : ']';
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return self;
    }
    int last = -1, count = 0;
    for (;;) {
        ws(r);
        if (object) {
            if (r->p >= r->end || *r->p != '"') return err(r, "expected a key");
            int k = new_node(r, JSON_STRING);
            if (k < 0) return -1;
            const char *s;
            size_t len;
            if (string(r, &s, &len)) return -1;
            r->doc->nodes[k].s = s, r->doc->nodes[k].len = len;
            if (last < 0) r->doc->nodes[self].child = k;
            else r->doc->nodes[last].next = k;
            last = k;
            ws(r);
            if (r->p >= r->end || *r->p != ':') return err(r, "expected ':'");
            r->p++;
        }
        int v = value(r, depth + 1);
        if (v < 0) return -1;
        if (last < 0) r->doc->nodes[self].child = v;
        else r->doc->nodes[last].next = v;
        last = v;
        count++;
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            r->doc->nodes[self].count = count;
            return self;
        }
        return err(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int value(rd *r, int depth)
{
    ws(r);
    if (r->p >= r->end) return err(r, "unexpected end");
    switch (*r->p) {
    case '{': return container(r, depth, 1);
    case '[': return container(r, depth, 0);
    case '"': {
        int k = new_node(r, JSON_STRING);
        if (k < 0) return -1;
        const char *s;
        size_t len;
        if (string(r, &s, &len)) return -1;
        r->doc->nodes[k].s = s, r->doc->nodes[k].len = len;
        return k;
    }
    case 't': return literal(r, "true", JSON_TRUE);
    case 'f': return literal(r, "false", JSON_FALSE);
    case 'n': return literal(r, "null", JSON_NULL);
    default: {
        double v;
        if (number(r, &v)) return -1;
        int k = new_node(r, JSON_NUMBER);
        if (k >= 0) r->doc->nodes[k].num = v;
        return k;
    }
    }
}

int json_parse(json_doc *doc, const char *buf, size_t n, int max_nodes)
{
    memset(doc, 0, sizeof *doc);
    doc->max_nodes = max_nodes > 0 ? max_nodes : 1;
    rd r = {buf, buf + n, buf, doc};
    if (value(&r, 0) < 0) return -1;
    ws(&r);
    if (r.p != r.end) return err(&r, "trailing characters");
    return 0;
}

void json_free(json_doc *doc)
{
    free(doc->nodes);
    doc->nodes = NULL;
    doc->n = doc->cap = 0;
}

int json_str_eq(const json_node *s, const char *lit)
{
    if (s->type != JSON_STRING) return 0;
    size_t i = 0, j = 0;
    while (i < s->len) {
        unsigned c = (unsigned char)s->s[i];
        if (c == '\\') {
            char x = s->s[i + 1]; /* validated: the escape is complete */
            if (x == 'u') {
                c = 0;
                for (int k = 2; k < 6; k++) c = c * 16 + (unsigned)hexval((unsigned char)s->s[i + k]);
                if (c > 0x7f) return 0; /* our keys are ASCII */
                i += 6;
            } else {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                c = (unsigned char)to[strchr(from, x) - from];
                i += 2;
            }
        } else {
            i++;
        }
        if (!lit[j] || (unsigned char)lit[j] != c) return 0;
        j++;
    }
    return lit[j] == 0;
}

int json_get(const json_doc *doc, int obj, const char *key)
{
    if (obj < 0 || doc->nodes[obj].type != JSON_OBJECT) return -1;
    for (int k = doc->nodes[obj].child; k >= 0; k = doc->nodes[doc->nodes[k].next].next)
        if (json_str_eq(&doc->nodes[k], key)) return doc->nodes[k].next;
    return -1;
}
