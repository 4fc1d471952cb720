/*
 * yaml_tree.h - a YAML (or JSON) document as a small tree that remembers where each
 * node was written, for the config loader's error messages. Internal to libassay.
 *
 * Built from libyaml's event parser (src/config/yaml_tree.c). One document only;
 * aliases are rejected (anchors alone are allowed and ignored); duplicate keys in a
 * mapping, non-scalar keys and non-standard tags are errors.
 */
#ifndef ASSAY_YAML_TREE_H
#define ASSAY_YAML_TREE_H

#include "assay/common.h"

typedef enum yt_kind { YT_SCALAR = 0, YT_SEQ, YT_MAP } yt_kind;

typedef struct yt_node yt_node;
struct yt_node {
    yt_kind kind;
    int line, col;   /* 1-based position of the node's first character */
    bool quoted;     /* scalar not written plain: '..', "..", | or >, or tagged !!str */
    char *text;      /* scalar: NUL-terminated, may also contain NULs (see len) */
    size_t len;      /* scalar: bytes in text */
    yt_node **items; /* seq: n items; map: 2n nodes, key then value */
    size_t n;        /* seq: items; map: key/value pairs */
};

/* Deepest nesting accepted (the top-level node is depth 1). */
#define YT_MAX_DEPTH 64

/* Parse text (len bytes, not necessarily NUL-terminated) into *root. An empty stream
 * gives *root = NULL and 0. Errors: -EINVAL with err->msg
 * "NAME:LINE:COL: yaml: PROBLEM (CONTEXT)" or "NAME:LINE:COL: KEY.PATH: ..." for
 * duplicate keys; -ENOMEM. */
int yt_load(const char *text, size_t len, const char *name, yt_node **root, assay_error *err);

void yt_free(yt_node *n);

/* A plain scalar that YAML reads as null: empty, "~", "null", "Null", "NULL". */
bool yt_is_null(const yt_node *n);

/* Value for key in a mapping (NULL when absent or n is not a mapping). */
yt_node *yt_map_get(const yt_node *n, const char *key);

/* Key node for key in a mapping (NULL when absent). */
yt_node *yt_map_key(const yt_node *n, const char *key);

/* "a mapping", "a sequence", "a string", "null" - for "expected X, found Y". */
const char *yt_kind_phrase(const yt_node *n);

/* User text made safe to quote in a one-line message: control bytes (newlines, tabs,
 * NULs) become \xNN, UTF-8 is kept, and anything past about 60 bytes is cut (at a
 * character boundary) with "...". Returns out. */
#define YT_SHOW_MAX 80
char *yt_show(const char *s, size_t len, char out[YT_SHOW_MAX]);

#endif
