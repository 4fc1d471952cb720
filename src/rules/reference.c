/*
 * reference.c - the reference set of a foreign_key rule: the key column of another
 * file (CSV or NDJSON by its extension), parsed with the same parsers as the input,
 * loaded once into a read-only hash set that every shard looks values up in. A file
 * that cannot be read whole (out of memory) is an error, never a silently truncated
 * set.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_internal.h"

static const char *path_ext(const char *p)
{
    const char *dot = strrchr(p, '.');
    const char *slash = strrchr(p, '/');
    return (dot && (!slash || dot > slash)) ? dot + 1 : "";
}

static void free_fields(char **f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(f[i]);
    free(f);
}

/* Load the reference values of a foreign_key rule into a hash set. */
int assay_rule_load_reference(const assay_engine *e, assay_rule *r, assay_error *err)
{
    const assay_rule_config *rc_ = r->cfg;
    const char *path = rc_->ref_file;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return assay_error_set(err, -errno, "%s:%d:%d: rules.%s.ref.file: %s: %s", e->cfg->path,
                               rc_->pos.line, rc_->pos.col, rc_->name, path, strerror(errno));
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t got;
    while (buf && (got = read(fd, buf + len, cap - len)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int en = errno;
            close(fd);
            free(buf);
            return assay_error_set(err, -en, "%s: %s", path, strerror(en));
        }
        len += (size_t)got;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                close(fd);
                free(buf);
                return assay_error_set(err, -ENOMEM, "out of memory reading %s (%zu bytes so far)",
                                       path, len);
            }
            buf = nb;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf)
        return assay_error_set(err, -ENOMEM, "out of memory reading %s", path);

    /* Parse it with its own small engine: same parsers, its own schema. */
    assay_engine sub = { 0 };
    sub.cfg = e->cfg;
    sub.csv = e->csv;
    sub.csv.header = true;
    assay_ndjson_options_default(&sub.nj);
    const char *ext = path_ext(path);
    sub.format = (!strcmp(ext, "ndjson") || !strcmp(ext, "jsonl") || !strcmp(ext, "json"))
                     ? ASSAY_FORMAT_NDJSON
                     : ASSAY_FORMAT_CSV;
    size_t start = 0;
    char **names = NULL;
    uint32_t nn = 0;
    int rc;
    if (sub.format == ASSAY_FORMAT_CSV) {
        rc = assay_csv_read_row(&sub.csv, buf, len, &names, &nn, &start, err);
    } else {
        rc = assay_ndjson_keys(buf, len, 1000, &names, &nn, err);
    }
    if (rc < 0) {
        free(buf);
        return assay_error_prefix(err, "%s", path);
    }
    int col = -1;
    for (uint32_t i = 0; i < nn; i++)
        if (!strcmp(names[i], rc_->ref_column))
            col = (int)i;
    if (col < 0) {
        const char *near = assay_closest(rc_->ref_column, (const char *const *)names, nn);
        assay_error_set(err, -EINVAL, "%s:%d:%d: rules.%s.ref.column: no column '%s' in %s%s%s%s",
                        e->cfg->path, rc_->pos.line, rc_->pos.col, rc_->name, rc_->ref_column, path,
                        near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        free_fields(names, nn);
        free(buf);
        return -EINVAL;
    }
    if (sub.format == ASSAY_FORMAT_NDJSON &&
        assay_ndjson_schema_new((const char *const *)names, nn, &sub.njs) < 0) {
        free_fields(names, nn);
        free(buf);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    uint32_t cap_rows = 4096;
    uint8_t *want = calloc(nn, 1);
    assay_rowset rs = { 0 };
    char *tmp = malloc(len + 1);
    rc = assay_hashset_new(&r->set, 1024, 0);
    if (rc < 0 || !want || !tmp || assay_rowset_init(&rs, nn, want, cap_rows, 64) < 0) {
        rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
        goto out;
    }
    r->owns_set = true;
    want[col] = 1;
    assay_cursor cur = { .buf = buf, .len = len, .pos = start, .ord = 0 };
    while (cur.pos < cur.len) {
        size_t before = cur.pos;
        rs.nrows = rs.nbad = rs.nlines = 0;
        if ((rc = assay_engine_parse(&sub, &cur, &rs)) < 0) {
            assay_error_set(err, rc, "%s: cannot parse the reference file", path);
            goto out;
        }
        for (uint32_t i = 0; i < rs.nrows; i++) {
            assay_cell cell = rs.cells[(size_t)col * cap_rows + i];
            uint8_t fl = rs.flags[(size_t)col * cap_rows + i];
            if (fl & ASSAY_CELL_NULL)
                continue;
            const char *p;
            uint32_t l;
            assay_cell_text(&sub, buf, cell, fl, tmp, &p, &l);
            if (assay_hashset_insert(r->set, assay_hash_bytes(p, l), 0, NULL) == -ENOSPC) {
                rc = assay_error_set(err, -ENOMEM, "out of memory loading %s", path);
                goto out;
            }
        }
        if (cur.pos == before && rs.nrows == 0 && rs.nbad == 0)
            break;
    }
    rc = 0;
out:
    assay_ndjson_schema_free(sub.njs);
    free(sub.sch.names);
    free_fields(names, nn);
    free(want);
    assay_rowset_free(&rs);
    free(tmp);
    free(buf);
    return rc;
}
