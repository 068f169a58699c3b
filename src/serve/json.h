/* json.h - a small JSON reader (RFC 8259) for `mnist serve`.
 *
 * The whole text is parsed into a flat array of nodes (children linked by
 * index) before anything is used. Written to be fed untrusted bytes: reads
 * only buf[0..n) (no NUL needed), nesting is bounded (JSON_MAX_DEPTH), the
 * node array grows with what has actually been read and is capped by
 * max_nodes, strings are kept as raw slices of buf (escapes are validated,
 * and decoded only by json_str_eq on demand). Numbers are doubles; a number
 * too large for one (1e999) is an error, as NaN and Infinity are not JSON.
 */
#ifndef MNIST_SERVE_JSON_H
#define MNIST_SERVE_JSON_H

#include <stddef.h>

#define JSON_MAX_DEPTH 64

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct {
    json_type type;
    int next;      /* next sibling (in an array or object), -1 at the end */
    int child;     /* arrays/objects: first element or first key (-1 if empty) */
    int count;     /* arrays/objects: elements or members */
    double num;
    const char *s; /* strings: the raw text between the quotes */
    size_t len;
} json_node;
/* An object's children alternate key (a string), value, key, value... */

typedef struct {
    json_node *nodes;
    int n, cap, max_nodes;
    char error[96]; /* after a failure: what and where ("... at byte 17") */
} json_doc;

/* Parses buf[0..n) as one JSON value (whitespace around it allowed). Node 0
 * is the root. 0 on success, -1 with doc->error set. Free with json_free
 * either way. */
int json_parse(json_doc *doc, const char *buf, size_t n, int max_nodes);
void json_free(json_doc *doc);

/* Does string node s equal lit (escapes in s decoded)? */
int json_str_eq(const json_node *s, const char *lit);

/* The value of key in object node obj, or -1. */
int json_get(const json_doc *doc, int obj, const char *key);

#endif
