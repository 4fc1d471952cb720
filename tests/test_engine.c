/*
 * Engine tests through the public API on small files written here: rules whose
 * answers are computed by hand or by a plain loop in the test, the same result for
 * any threads / chunk size / batch size, foreign keys, the unique memory cap, and
 * input errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assay/config.h"
#include "assay/engine.h"
#include "assay/gen.h"

static char dir[256];

static void write_file(const char *name, const char *text, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static char *path_of(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
    return buf[k];
}

static assay_config *config(const char *yaml)
{
    assay_config *c = NULL;
    assay_error err = { 0 };
    char name[512];
    snprintf(name, sizeof(name), "%s/t.yaml", dir); /* relative ref files resolve here */
    if (assay_config_parse(yaml, strlen(yaml), name, &c, &err) != 0)
        fail_msg("config: %s", err.msg);
    return c;
}

static assay_result *run(assay_config *cfg, const char *const *files, size_t n, unsigned threads,
                         size_t chunk, uint32_t batch)
{
    assay_engine_options o;
    assay_engine_options_default(&o);
    o.cfg = cfg;
    o.paths = files;
    o.npaths = n;
    o.threads = threads;
    o.chunk_bytes = chunk;
    o.batch_rows = batch;
    o.now_us = 1798761600000000LL; /* 2027-01-01T00:00:00Z */
    assay_result *r = NULL;
    assay_error err = { 0 };
    if (assay_engine_check(&o, &r, &err) != 0)
        fail_msg("check failed: %s", err.msg);
    return r;
}

static const assay_rule_result *rule(const assay_result *r, const char *name)
{
    for (size_t i = 0; i < r->nrules; i++)
        if (!strcmp(r->rules[i].cfg->name, name))
            return &r->rules[i];
    fail_msg("no rule %s", name);
    return NULL;
}

/* ------------------------------------------------------------------------------- */

static void test_hand_computed(void **state)
{
    (void)state;
    static const char csv[] = "id,cust,ts,tag,qty\n"
                              "1,10,2026-12-31T23:00:00Z,a,5\n"
                              "2,11,2026-01-01T00:00:00Z,\"b,c\",-1\n"
                              "2,99,2026-12-31T12:00:00+02:00,,7\n"
                              "3,10,not a time,\"say \"\"hi\"\"\",x\n"
                              "4,,2027-01-01T00:00:00Z,a,9\n";
    write_file("t.csv", csv, sizeof(csv) - 1);
    static const char ref[] = "id,name\n10,x\n11,y\n12,z\n";
    write_file("cust.csv", ref, sizeof(ref) - 1);
    assay_config *cfg = config(
        "columns: [{name: ts, type: timestamp}, {name: qty, type: int}, {name: tag, type: "
        "string}]\n"
        "rules:\n"
        "  - {name: fk, column: cust, check: foreign_key, ref: {file: cust.csv, column: id}}\n"
        "  - {name: uniq, column: id, check: unique}\n"
        "  - {name: fresh, column: ts, check: freshness, max_age: 1d}\n"
        "  - {name: ts_range, column: ts, check: in_range, min: '2026-06-01T00:00:00Z'}\n"
        "  - {name: qty_type, column: qty, check: type}\n"
        "  - {name: qty_pos, column: qty, check: in_range, min: 0, min_inclusive: false}\n"
        "  - {name: tag_len, column: tag, check: length, min: 2}\n"
        "  - {name: tag_set, column: tag, check: in_set, values: [a, 'b,c', 'say \"hi\"']}\n"
        "  - {name: few, check: row_count, max: 4}\n");
    const char *files[] = { path_of("t.csv") };
    assay_result *r = run(cfg, files, 1, 2, 0, 0);
    assert_int_equal(r->rows, 5);
    assert_int_equal(r->bad_rows, 0);
    /* fk: 10, 11, 99, 10 checked (row 5 null); 99 absent */
    assert_int_equal(rule(r, "fk")->evaluated, 4);
    assert_int_equal(rule(r, "fk")->failed, 1);
    assert_int_equal(rule(r, "fk")->samples[0].row, 3);
    assert_string_equal(rule(r, "fk")->samples[0].value, "99");
    /* unique: id 2 repeats at row 3 */
    assert_int_equal(rule(r, "uniq")->failed, 1);
    assert_int_equal(rule(r, "uniq")->samples[0].row, 3);
    /* freshness at 2027-01-01: 1d max age -> 2026-12-31T00:00Z cutoff; row 2 stale,
     * row 3 (10:00Z) fresh, row 4 not a timestamp (not checked) */
    assert_int_equal(rule(r, "fresh")->evaluated, 4);
    assert_int_equal(rule(r, "fresh")->failed, 1);
    assert_int_equal(rule(r, "fresh")->samples[0].row, 2);
    assert_int_equal(rule(r, "ts_range")->failed, 1);
    /* qty: "x" is not an int; -1 fails the exclusive lower bound 0 */
    assert_int_equal(rule(r, "qty_type")->failed, 1);
    assert_int_equal(rule(r, "qty_type")->samples[0].row, 4);
    assert_string_equal(rule(r, "qty_type")->samples[0].value, "x");
    assert_int_equal(rule(r, "qty_pos")->evaluated, 4);
    assert_int_equal(rule(r, "qty_pos")->failed, 1);
    /* tag: null at row 3; lengths 1, 3, 8, 1 -> two shorter than 2; the quoted
     * values are compared unescaped */
    assert_int_equal(rule(r, "tag_len")->evaluated, 4);
    assert_int_equal(rule(r, "tag_len")->failed, 2);
    assert_int_equal(rule(r, "tag_set")->failed, 0);
    /* row_count max 4 with 5 rows */
    assert_int_equal(rule(r, "few")->failed, 1);
    assert_true(rule(r, "few")->breached);
    assert_int_equal(assay_result_status(r), 1);
    assay_result_free(r);
    assay_config_free(cfg);
}

/* Generated data: the same report for every thread count, chunk size and batch size,
 * with counts checked against a plain loop over the generator's rows. */
static void test_same_result_any_split(void **state)
{
    (void)state;
    assay_gen_options g;
    assay_gen_options_default(&g);
    g.rows = 30000;
    g.seed = 11;
    assay_gen_parse_faults("duplicate_id=0.05,null_email=0.03,bad_amount=0.02", &g, NULL);
    size_t cap = 30000 * 400;
    char *buf = malloc(cap);
    const char *h = assay_gen_header(&g);
    size_t hl = strlen(h);
    memcpy(buf, h, hl);
    uint64_t done = 0;
    size_t len = hl + assay_gen_rows(&g, 0, g.rows, buf + hl, cap - hl, &done);
    assert_int_equal(done, g.rows);
    write_file("g.csv", buf, len);
    free(buf);

    assay_config *cfg = config("columns: [{name: amount, type: float}]\n"
                               "rules:\n"
                               "  - {column: order_id, check: unique}\n"
                               "  - {column: email, check: not_null}\n"
                               "  - {column: email, check: matches, format: email}\n"
                               "  - {column: amount, check: type}\n"
                               "  - {column: currency, check: in_set, values: [USD, EUR]}\n");
    const char *files[] = { path_of("g.csv") };
    static const struct {
        unsigned threads;
        size_t chunk;
        uint32_t batch;
    } runs[] = { { 1, 0, 0 }, { 2, 65536, 100 }, { 7, 65536, 7 }, { 3, 1 << 20, 4096 } };
    char *first = NULL;
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(runs); k++) {
        assay_result *r = run(cfg, files, 1, runs[k].threads, runs[k].chunk, runs[k].batch);
        assert_int_equal(r->rows, g.rows);
        r->seconds = 0;
        r->threads = 0;
        char *json = assay_result_json(r, cfg);
        if (!first) {
            first = json;
            /* duplicates were generated, so the cross-shard path has work */
            assert_true(rule(r, "order_id_unique")->failed > 1000);
            assert_int_equal(rule(r, "order_id_unique")->nsamples, 5);
        } else {
            if (strcmp(first, json) != 0)
                fail_msg("threads %u chunk %zu batch %u: report differs from the first run",
                         runs[k].threads, runs[k].chunk, runs[k].batch);
            free(json);
        }
        assay_result_free(r);
    }
    free(first);
    assay_config_free(cfg);
}

static void test_unique_memory_cap_is_reported(void **state)
{
    (void)state;
    /* 20,000 distinct ids, a cap that holds far fewer: reported, not fatal */
    size_t cap = 20000 * 16 + 64;
    char *buf = malloc(cap);
    size_t len = (size_t)snprintf(buf, cap, "id\n");
    for (int i = 0; i < 20000; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%d\n", i % 15000);
    write_file("ids.csv", buf, len);
    free(buf);
    assay_config *cfg = config("limits: {unique_memory: 64KiB}\n"
                               "rules: [{column: id, check: unique}]\n");
    const char *files[] = { path_of("ids.csv") };
    assay_result *r = run(cfg, files, 1, 1, 0, 0);
    const assay_rule_result *u = rule(r, "id_unique");
    assert_non_null(u->note);
    assert_non_null(strstr(u->note, "limits.unique_memory"));
    assert_true(u->failed < 5000); /* repeats of untracked values are not counted */
    assay_result_free(r);
    assay_config_free(cfg);
    /* with room, the exact answer */
    cfg = config("rules: [{column: id, check: unique}]\n");
    r = run(cfg, files, 1, 2, 0, 0);
    assert_null(rule(r, "id_unique")->note);
    assert_int_equal(rule(r, "id_unique")->failed, 5000);
    assay_result_free(r);
    assay_config_free(cfg);
}

static void test_ndjson_values_unescaped(void **state)
{
    (void)state;
    static const char nd[] = "{\"k\":\"caf\\u00e9\",\"n\":1}\n"
                             "{\"k\":\"a\\\"b\",\"n\":\"2\"}\n"
                             "{\"n\":3}\n"
                             "{\"k\":\"x\",\"n\":{\"nested\":true}}\n"
                             "not json\n";
    write_file("t.ndjson", nd, sizeof(nd) - 1);
    assay_config *cfg =
        config("columns: [{name: n, type: int}]\n"
               "rules:\n"
               "  - {name: set, column: k, check: in_set, values: ['caf\xc3\xa9', 'a\"b']}\n"
               "  - {name: len, column: k, check: length, max: 3}\n"
               "  - {name: typ, column: n, check: type}\n");
    const char *files[] = { path_of("t.ndjson") };
    assay_result *r = run(cfg, files, 1, 1, 0, 0);
    assert_int_equal(r->rows, 5);
    assert_int_equal(r->bad_rows, 1);
    assert_int_equal(r->bad_samples[0].line, 5);
    assert_int_equal(rule(r, "set")->evaluated, 3);
    assert_int_equal(rule(r, "set")->failed, 1); /* "x" */
    assert_int_equal(rule(r, "len")->failed, 1); /* "café" is 4 code points */
    assert_string_equal(rule(r, "len")->samples[0].value, "caf\xc3\xa9");
    assert_int_equal(rule(r, "typ")->failed, 1); /* the nested object */
    assay_result_free(r);
    assay_config_free(cfg);
}

/* Invalid UTF-8 makes the row bad (with its line and the column), in a column a text
 * rule reads and in one nobody reads alike: the verdict must not depend on the rules
 * or on whether the profile runs (run() here profiles nothing). */
static void test_invalid_utf8_is_a_bad_row(void **state)
{
    (void)state;
    static const char csv[] = "a,b\n"
                              "ok,x\n"
                              "bad\xff,y\n"
                              "fine,z\xc3\n"
                              "\"two\nlines\xc0\",w\n";
    write_file("u.csv", csv, sizeof(csv) - 1);
    assay_config *cfg = config("rules: [{name: len, column: a, check: length, max: 100}]\n");
    const char *files[] = { path_of("u.csv") };
    assay_result *r = run(cfg, files, 1, 1, 0, 0);
    assert_int_equal(r->rows, 4);
    assert_int_equal(r->bad_rows, 3);
    assert_int_equal(r->bad_samples[0].row, 2);
    assert_int_equal(r->bad_samples[0].line, 3);
    assert_non_null(strstr(r->bad_samples[0].reason, "invalid UTF-8 in column 'a'"));
    assert_int_equal(r->bad_samples[1].row, 3);
    assert_non_null(strstr(r->bad_samples[1].reason, "invalid UTF-8 in column 'b' at byte 1"));
    assert_int_equal(r->bad_samples[2].row, 4);
    assert_int_equal(r->bad_samples[2].line, 5);
    assert_non_null(strstr(r->bad_samples[2].reason, "invalid UTF-8 in column 'a' at byte 9"));
    /* the bad rows are not evaluated by the rule */
    assert_int_equal(rule(r, "len")->evaluated, 1);
    assert_int_equal(assay_result_status(r), 1);
    assay_result_free(r);
    assay_config_free(cfg);
}

static void test_input_errors(void **state)
{
    (void)state;
    write_file("a.csv", "x,y\n1,2\n", 8);
    write_file("b.csv", "x,z\n1,2\n", 8);
    assay_config *cfg = config("rules: [{column: x, check: not_null}]\n");
    assay_engine_options o;
    assay_engine_options_default(&o);
    o.cfg = cfg;
    const char *files[] = { path_of("a.csv"), path_of("b.csv") };
    o.paths = files;
    o.npaths = 2;
    assay_result *r = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_engine_check(&o, &r, &err), -EINVAL);
    assert_null(r);
    assert_non_null(strstr(err.msg, "b.csv:1: header differs"));
    assert_non_null(strstr(err.msg, "column 2 is 'z', expected 'y'"));
    assay_config_free(cfg);

    cfg = config("rules: [{column: x, check: in_range, min: 0}, {column: y, check: freshness, "
                 "max_age: 1h}]\n");
    o.cfg = cfg;
    o.npaths = 1;
    assert_int_equal(assay_engine_check(&o, &r, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "freshness needs a timestamp column"));
    assay_config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/assay-test-engine-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_same_result_any_split),
        cmocka_unit_test(test_unique_memory_cap_is_reported),
        cmocka_unit_test(test_ndjson_values_unescaped),
        cmocka_unit_test(test_invalid_utf8_is_a_bad_row),
        cmocka_unit_test(test_input_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
