/*
 * yaml_tree.c - YAML (and JSON) text to a position-keeping tree, through libyaml.
 *
 * Why a tree of our own
 * ---------------------
 * libyaml (https://pyyaml.org/wiki/LibYAML) offers an event parser and a document
 * loader. The loader's yaml_document_t would do, but it resolves aliases by sharing
 * nodes (a "billion laughs" input expands when walked), accepts duplicate keys
 * silently, and is awkward to walk. The config loader needs exactly three things from
 * YAML: the shape (scalars, sequences, mappings), the text of each scalar with a flag
 * saying whether it was quoted (so that `""` is an empty string but an empty plain
 * value is null - YAML 1.2 section 10.2, "JSON schema"), and the line:column of every
 * node so that each error can point at the place to fix. So we consume events
 * (YAML 1.1 spec section 3.1, "Processes": the serialization tree in event form) and
 * build a tree with an explicit stack of open containers - no recursion on input
 * depth while loading, and a hard limit of YT_MAX_DEPTH levels so the recursive
 * walkers in config.c (and yt_free) are bounded too.
 *
 * Rules on top of YAML
 * --------------------
 * - One document per file. A second `---` is an error at that line: a config that
 *   silently ignored half of itself would be worse.
 * - Aliases (`*name`) are rejected; anchors (`&name`) alone are harmless and ignored.
 *   Resolving aliases would invite exponential expansion for no real gain in a file
 *   this small.
 * - Mapping keys must be scalars, and a key may appear once per mapping (YAML 1.2
 *   section 3.2.1.1 requires unique keys; libyaml does not check it). The duplicate is
 *   reported with its key path and the position of the first occurrence.
 * - Tags: the standard ones (`!!str`, `!!int`, ... i.e. tag:yaml.org,2002:*) and the
 *   non-specific `!` are accepted; `!!str` and `!` make a plain scalar count as quoted.
 *   Application tags (`!foo`) are rejected since nothing here would honour them.
 *
 * JSON is a subset of YAML 1.2 flow style, and libyaml (a YAML 1.1 parser) reads every
 * JSON document a config would contain: objects, arrays, strings with escapes,
 * numbers, true/false/null.
 *
 * Positions: libyaml marks are 0-based (line, column counted in characters); we
 * report 1-based. Reader errors (bad UTF-8, control characters) carry only a byte
 * offset, which we turn into line:column by counting newlines in the input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/yaml_tree.h"

/* ---------------------------------------------------------------- small helpers */

char *yt_show(const char *s, size_t len, char out[YT_SHOW_MAX])
{
    size_t n = 0;
    const size_t limit = 60;
    size_t i = 0;
    for (; i < len && n < limit; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(out + n, YT_SHOW_MAX - n, "\\x%02x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    if (i < len) {
        /* Back up to a UTF-8 boundary so the cut does not split a character. */
        while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
            n--;
        if (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
            n--;
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

bool yt_is_null(const yt_node *n)
{
    if (!n || n->kind != YT_SCALAR || n->quoted)
        return false;
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(nulls); i++)
        if (n->len == strlen(nulls[i]) && memcmp(n->text, nulls[i], n->len) == 0)
            return true;
    return false;
}

static bool key_eq(const yt_node *k, const char *key, size_t klen)
{
    return k->kind == YT_SCALAR && k->len == klen && memcmp(k->text, key, klen) == 0;
}

yt_node *yt_map_key(const yt_node *n, const char *key)
{
    if (!n || n->kind != YT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < n->n; i++)
        if (key_eq(n->items[2 * i], key, klen))
            return n->items[2 * i];
    return NULL;
}

yt_node *yt_map_get(const yt_node *n, const char *key)
{
    if (!n || n->kind != YT_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < n->n; i++)
        if (key_eq(n->items[2 * i], key, klen))
            return n->items[2 * i + 1];
    return NULL;
}

const char *yt_kind_phrase(const yt_node *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YT_MAP:
        return "a mapping";
    case YT_SEQ:
        return "a list";
    case YT_SCALAR:
        return yt_is_null(n) ? "an empty value" : "a scalar";
    }
    return "something else";
}

void yt_free(yt_node *n)
{
    if (!n)
        return;
    if (n->kind == YT_SEQ) {
        for (size_t i = 0; i < n->n; i++)
            yt_free(n->items[i]);
    } else if (n->kind == YT_MAP) {
        for (size_t i = 0; i < 2 * n->n; i++)
            yt_free(n->items[i]);
    }
    free(n->items);
    free(n->text);
    free(n);
}

/* ---------------------------------------------------------------- the builder */

typedef struct frame {
    yt_node *node;
    size_t nitems, cap; /* raw items: for a mapping, keys and values interleaved */
} frame;

typedef struct builder {
    const char *name;
    const char *text;
    size_t len;
    assay_error *err;
    yt_node *root;
    frame stack[YT_MAX_DEPTH];
    int depth;
    int ndocs;
} builder;

static int fail_at(builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(builder *b, int line, int col, const char *fmt, ...)
{
    char msg[ASSAY_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return assay_error_set(b->err, -EINVAL, "%s:%d:%d: yaml: %s", b->name, line, col, msg);
}

/* Key path of the container chain: "rules[2].ref". */
static void stack_path(const builder *b, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    /* The innermost container is the mapping receiving the new key: not part of it. */
    for (int i = 0; i + 1 < b->depth && n + 1 < cap; i++) {
        const frame *f = &b->stack[i];
        if (f->nitems == 0)
            break;
        char show[YT_SHOW_MAX];
        if (f->node->kind == YT_SEQ) {
            n += (size_t)snprintf(out + n, cap - n, "[%zu]", f->nitems - 1);
        } else {
            /* The open child is the value after the last complete key. */
            const yt_node *k = f->node->items[(f->nitems - 1) & ~(size_t)1];
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "." : "",
                                  yt_show(k->text, k->len, show));
        }
        if (n >= cap)
            n = cap - 1;
    }
}

static int check_tag(builder *b, const yaml_char_t *tag, const yaml_mark_t *m, bool *as_string)
{
    if (!tag)
        return 0;
    const char *t = (const char *)tag;
    static const char std[] = "tag:yaml.org,2002:";
    if (strcmp(t, "!") == 0 || strcmp(t, "tag:yaml.org,2002:str") == 0) {
        *as_string = true;
        return 0;
    }
    if (strncmp(t, std, sizeof(std) - 1) == 0)
        return 0;
    char show[YT_SHOW_MAX];
    return fail_at(b, (int)m->line + 1, (int)m->column + 1,
                   "tag '%s' is not supported (only standard tags like !!str)",
                   yt_show(t, strlen(t), show));
}

/* Attach a new node to the open container (or make it the root). */
static int attach(builder *b, yt_node *node)
{
    if (b->depth == 0) {
        b->root = node;
        return 0;
    }
    frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == YT_MAP && f->nitems % 2 == 0) {
        if (node->kind != YT_SCALAR) {
            int line = node->line, col = node->col;
            yt_free(node);
            return fail_at(b, line, col, "%s",
                           "a mapping key must be a scalar, not a list or mapping");
        }
        for (size_t i = 0; i < f->nitems; i += 2) {
            const yt_node *k = f->node->items[i];
            if (k->len == node->len && memcmp(k->text, node->text, k->len) == 0) {
                char path[256], show[YT_SHOW_MAX];
                stack_path(b, path, sizeof(path));
                int rc = assay_error_set(b->err, -EINVAL,
                                         "%s:%d:%d: %s%s%s: duplicate key (first set at %d:%d)",
                                         b->name, node->line, node->col, path, path[0] ? "." : "",
                                         yt_show(node->text, node->len, show), k->line, k->col);
                yt_free(node);
                return rc;
            }
        }
    }
    if (f->nitems == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        yt_node **items = realloc(f->node->items, cap * sizeof(*items));
        if (!items) {
            yt_free(node);
            return -ENOMEM;
        }
        f->node->items = items;
        f->cap = cap;
    }
    f->node->items[f->nitems++] = node;
    if (f->node->kind == YT_SEQ)
        f->node->n = f->nitems;
    else
        f->node->n = f->nitems / 2; /* complete pairs; yt_free relies on 2n <= nitems */
    return 0;
}

/* yt_free frees 2n items of a mapping; a dangling key (odd count) must not leak. */
static void free_partial(builder *b)
{
    for (int i = b->depth - 1; i >= 0; i--) {
        frame *f = &b->stack[i];
        if (f->node->kind == YT_MAP && f->nitems % 2 == 1) {
            yt_free(f->node->items[f->nitems - 1]);
            f->nitems--;
        }
    }
    yt_free(b->root);
    b->root = NULL;
}

static yt_node *new_node(yt_kind kind, const yaml_mark_t *m)
{
    yt_node *n = calloc(1, sizeof(*n));
    if (n) {
        n->kind = kind;
        n->line = (int)m->line + 1;
        n->col = (int)m->column + 1;
    }
    return n;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    const yaml_mark_t *m = &ev->start_mark;
    int line = (int)m->line + 1, col = (int)m->column + 1;
    bool as_string = false;
    int rc;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->ndocs > 1)
            return fail_at(b, line, col, "%s",
                           "found a second document; a config file holds exactly one");
        return 0;
    case YAML_ALIAS_EVENT: {
        char show[YT_SHOW_MAX];
        const char *a = (const char *)ev->data.alias.anchor;
        return fail_at(b, line, col, "alias *%s: aliases are not supported, write the value out",
                       yt_show(a, strlen(a), show));
    }
    case YAML_SCALAR_EVENT: {
        rc = check_tag(b, ev->data.scalar.tag, m, &as_string);
        if (rc < 0)
            return rc;
        yt_node *n = new_node(YT_SCALAR, m);
        if (!n)
            return -ENOMEM;
        n->len = ev->data.scalar.length;
        n->text = malloc(n->len + 1);
        if (!n->text) {
            free(n);
            return -ENOMEM;
        }
        memcpy(n->text, ev->data.scalar.value, n->len);
        n->text[n->len] = '\0';
        n->quoted = as_string || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        return attach(b, n);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        rc = check_tag(b, seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag, m,
                       &as_string);
        if (rc < 0)
            return rc;
        if (b->depth == YT_MAX_DEPTH)
            return assay_error_set(b->err, -EINVAL,
                                   "%s:%d:%d: yaml: nesting is deeper than %d levels", b->name,
                                   line, col, YT_MAX_DEPTH);
        yt_node *n = new_node(seq ? YT_SEQ : YT_MAP, m);
        if (!n)
            return -ENOMEM;
        rc = attach(b, n);
        if (rc < 0)
            return rc;
        b->stack[b->depth++] = (frame){ .node = n };
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

static void offset_to_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int parser_error(builder *b, const yaml_parser_t *p)
{
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return assay_error_set(b->err, -ENOMEM, "%s: yaml: out of memory", b->name);
    case YAML_READER_ERROR: {
        int line, col;
        offset_to_pos(b->text, b->len, p->problem_offset, &line, &col);
        if (p->problem_value != -1)
            return assay_error_set(b->err, -EINVAL,
                                   "%s:%d:%d: yaml: %s (byte 0x%02x); a config must be UTF-8 text",
                                   b->name, line, col, p->problem ? p->problem : "bad input",
                                   (unsigned)p->problem_value & 0xffu);
        return assay_error_set(b->err, -EINVAL, "%s:%d:%d: yaml: %s", b->name, line, col,
                               p->problem ? p->problem : "bad input");
    }
    default: {
        int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
        const char *problem = p->problem ? p->problem : "syntax error";
        if (p->context)
            return assay_error_set(b->err, -EINVAL, "%s:%d:%d: yaml: %s (%s at %d:%d)", b->name,
                                   line, col, problem, p->context, (int)p->context_mark.line + 1,
                                   (int)p->context_mark.column + 1);
        return assay_error_set(b->err, -EINVAL, "%s:%d:%d: yaml: %s", b->name, line, col, problem);
    }
    }
}

int yt_load(const char *text, size_t len, const char *name, yt_node **root, assay_error *err)
{
    *root = NULL;
    builder b = { .name = name ? name : "<config>", .text = text, .len = len, .err = err };
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return assay_error_set(err, -ENOMEM, "%s: yaml: out of memory", b.name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser_error(&b, &parser);
            break;
        }
        rc = on_event(&b, &ev);
        bool end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (rc < 0 || end)
            break;
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        if (rc == -ENOMEM && err && err->code != -ENOMEM)
            assay_error_set(err, -ENOMEM, "%s: yaml: out of memory", b.name);
        free_partial(&b);
        return rc;
    }
    *root = b.root;
    return 0;
}
