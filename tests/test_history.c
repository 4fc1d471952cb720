/* The score/alert history in SQLite: listings against an independent expectation,
 * replacement by id, survival across reopen, event-time retention, alert state rules
 * and filters, batches, and refusal of files that are not (our) databases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/history.h"

static char *fresh_path(const char *name)
{
    char tmpl[] = "/tmp/assay-history-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *path = malloc(strlen(d) + strlen(name) + 2);
    sprintf(path, "%s/%s", d, name);
    return path;
}

static void score_json(char *buf, size_t n, const char *id, int64_t start)
{
    snprintf(buf, n, "{\"id\":\"%.64s\",\"window\":{\"start\":%lld}}", id, (long long)start);
}

static void add_score(assay_history *h, const char *id, int64_t start, int64_t end)
{
    char json[128];
    score_json(json, sizeof(json), id, start);
    assay_error err = { 0 };
    assert_int_equal(assay_history_add_score(h, id, start, end, 0.5, json, strlen(json), &err), 0);
}

static void add_alert(assay_history *h, const char *id, const char *state, const char *sev,
                      int64_t fired, int64_t updated)
{
    char json[160];
    snprintf(json, sizeof(json), "{\"id\":\"%s\",\"state\":\"%s\",\"updated\":%lld}", id, state,
             (long long)updated);
    assay_error err = { 0 };
    assert_int_equal(assay_history_add_alert(h, id, state, "breach", sev, fired, updated, json,
                                             strlen(json), &err),
                     0);
}

static void counts(assay_history *h, uint64_t want_scores, uint64_t want_alerts)
{
    uint64_t s = 99, a = 99;
    assay_error err = { 0 };
    assert_int_equal(assay_history_counts(h, &s, &a, &err), 0);
    assert_int_equal(s, want_scores);
    assert_int_equal(a, want_alerts);
}

/* The listing as a fresh string. */
static char *scores_text_of(assay_history *h, int64_t from, int64_t to, size_t limit, bool latest,
                            size_t *n)
{
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_error err = { 0 };
    assert_int_equal(assay_history_scores(h, from, to, limit, latest, &sb, n, &err), 0);
    return sb.data;
}

static char *scores_text(assay_history *h, int64_t from, int64_t to, size_t limit, size_t *n)
{
    return scores_text_of(h, from, to, limit, false, n);
}

static char *alerts_text(assay_history *h, const char *state, const char *sev, size_t limit,
                         size_t *n)
{
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_error err = { 0 };
    assert_int_equal(assay_history_alerts(h, state, sev, limit, &sb, n, &err), 0);
    return sb.data;
}

static char *alert_text(assay_history *h, const char *id)
{
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_error err = { 0 };
    assert_int_equal(assay_history_alert(h, id, &sb, &err), 0);
    return sb.data;
}

/* ---- scores: round trip, range, limit, order ---------------------------------- */

typedef struct rec {
    char id[17];
    int64_t start;
} rec;

static int rec_cmp(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* What the listing must be, built from the array (sorted by start, then id); latest: the
 * last limit of the matching ones. */
static void expect_scores(const rec *r, size_t n, int64_t from, int64_t to, size_t limit,
                          bool latest, char *buf, size_t cap, size_t *count)
{
    size_t len = 0, k = 0, match = 0, skip = 0;
    for (size_t i = 0; i < n; i++)
        match += r[i].start >= from && r[i].start < to;
    if (latest && match > limit)
        skip = match - limit;
    buf[len++] = '[';
    for (size_t i = 0; i < n && k < limit; i++) {
        if (r[i].start < from || r[i].start >= to)
            continue;
        if (skip) {
            skip--;
            continue;
        }
        if (k++)
            buf[len++] = ',';
        char json[128];
        score_json(json, sizeof(json), r[i].id, r[i].start);
        memcpy(buf + len, json, strlen(json));
        len += strlen(json);
        assert_true(len + 2 < cap);
    }
    buf[len++] = ']';
    buf[len] = '\0';
    *count = k;
}

#define N_SCORES 300
#define MIN_US   60000000LL /* a minute */

static void test_scores_roundtrip(void **state)
{
    (void)state;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, NULL, 0, &err), 0);

    static rec r[N_SCORES];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < N_SCORES; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(r[i].id, sizeof(r[i].id), "%016llx", (unsigned long long)(x ^ i));
        /* negative times too, and ties (few distinct starts) to check the id order */
        r[i].start = ((int64_t)(x >> 40) % 97 - 20) * MIN_US;
        char json[128];
        score_json(json, sizeof(json), r[i].id, r[i].start);
        double overall = i % 7 == 0 ? NAN : (double)i / N_SCORES;
        assert_int_equal(assay_history_add_score(h, r[i].id, r[i].start, r[i].start + MIN_US,
                                                 overall, json, strlen(json), &err),
                         0);
    }
    counts(h, N_SCORES, 0);
    qsort(r, N_SCORES, sizeof(r[0]), rec_cmp);

    const struct {
        int64_t from, to;
        size_t limit;
    } q[] = {
        { INT64_MIN, INT64_MAX, SIZE_MAX },
        { INT64_MIN, INT64_MAX, 10 },
        { 0, INT64_MAX, 1000 },
        { INT64_MIN, 0, 1000 },
        { 5 * MIN_US, 30 * MIN_US, SIZE_MAX }, /* from inclusive, to exclusive */
        { 5 * MIN_US, 5 * MIN_US + 1, SIZE_MAX },
        { 10 * MIN_US, 40 * MIN_US, 7 },
        { 40 * MIN_US, 10 * MIN_US, SIZE_MAX }, /* empty */
        { INT64_MIN, INT64_MAX, 0 },
        { 1000 * MIN_US, INT64_MAX, 5 }, /* nothing there */
    };
    static char want[N_SCORES * 128];
    for (size_t i = 0; i < 2 * ASSAY_ARRAY_LEN(q); i++) {
        size_t want_n = 0, got_n = 12345, k = i % ASSAY_ARRAY_LEN(q);
        bool latest = i >= ASSAY_ARRAY_LEN(q);
        expect_scores(r, N_SCORES, q[k].from, q[k].to, q[k].limit, latest, want, sizeof(want),
                      &want_n);
        char *got = scores_text_of(h, q[k].from, q[k].to, q[k].limit, latest, &got_n);
        assert_string_equal(got, want);
        assert_int_equal(got_n, want_n);
        free(got);
    }

    /* appended: what was in the buffer stays */
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_sb_puts(&sb, "{\"scores\":");
    size_t n = 0;
    assert_int_equal(assay_history_scores(h, INT64_MIN, INT64_MAX, 1, false, &sb, &n, &err), 0);
    char one[160];
    score_json(one, sizeof(one), r[0].id, r[0].start);
    char want1[200];
    snprintf(want1, sizeof(want1), "{\"scores\":[%s]", one);
    assert_string_equal(sb.data, want1);
    assert_int_equal(n, 1);
    assay_sb_free(&sb);

    /* the sink line's newline is not part of the stored text */
    char json[128];
    score_json(json, sizeof(json), "ffffffffffffffff", 7);
    strcat(json, "\n");
    assert_int_equal(
        assay_history_add_score(h, "ffffffffffffffff", 7, 8, 1.0, json, strlen(json), &err), 0);
    char *got = scores_text(h, 7, 8, 10, &n);
    json[strlen(json) - 1] = '\0';
    char want2[200];
    snprintf(want2, sizeof(want2), "[%s]", json);
    assert_string_equal(got, want2);
    free(got);
    assay_history_close(h);
}

static void test_score_replace(void **state)
{
    (void)state;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, ":memory:", 0, &err), 0);
    add_score(h, "00000000000000aa", 100, 200);
    add_score(h, "00000000000000bb", 200, 300);
    /* re-emitted with other contents (and another start: it moves in the order) */
    const char *again = "{\"id\":\"00000000000000aa\",\"again\":true}";
    assert_int_equal(
        assay_history_add_score(h, "00000000000000aa", 300, 400, 0.9, again, strlen(again), &err),
        0);
    counts(h, 2, 0);
    size_t n = 0;
    char *got = scores_text(h, INT64_MIN, INT64_MAX, SIZE_MAX, &n);
    char b[128], want[300];
    score_json(b, sizeof(b), "00000000000000bb", 200);
    snprintf(want, sizeof(want), "[%s,%s]", b, again);
    assert_string_equal(got, want);
    assert_int_equal(n, 2);
    free(got);
    /* not at its old place any more */
    got = scores_text(h, 100, 101, SIZE_MAX, &n);
    assert_string_equal(got, "[]");
    assert_int_equal(n, 0);
    free(got);
    assay_history_close(h);
}

/* ---- a file survives close and reopen ------------------------------------------ */

static void test_reopen(void **state)
{
    (void)state;
    char *path = fresh_path("history.db");
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, path, 0, &err), 0);
    for (int i = 0; i < 20; i++) {
        char id[17];
        snprintf(id, sizeof(id), "%016x", i);
        add_score(h, id, i * 1000, i * 1000 + 1000);
    }
    add_alert(h, "a000000000000001", "firing", "high", 5000, 6000);
    size_t n = 0;
    char *before = scores_text(h, INT64_MIN, INT64_MAX, SIZE_MAX, &n);
    char *alert_before = alert_text(h, "a000000000000001");
    assay_history_close(h);
    h = NULL;

    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(assay_history_open(&h, path, 0, &err), 0);
    counts(h, 20, 1);
    char *after = scores_text(h, INT64_MIN, INT64_MAX, SIZE_MAX, &n);
    assert_string_equal(after, before);
    assert_int_equal(n, 20);
    char *alert_after = alert_text(h, "a000000000000001");
    assert_string_equal(alert_after, alert_before);
    /* and it is still writable */
    add_score(h, "00000000000000ff", 99000, 100000);
    counts(h, 21, 1);
    assay_history_close(h);

    /* WAL mode is a property of the file: check it with SQLite directly */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    free(before);
    free(after);
    free(alert_before);
    free(alert_after);
    free(path);
}

/* ---- retention ----------------------------------------------------------------- */

static void test_retention(void **state)
{
    (void)state;
    const int64_t R = 1000;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, NULL, R, &err), 0);

    /* windows of 100 ending at 100, 200, ..., 3000: newest 3000, cutoff 2000 */
    for (int i = 1; i <= 30; i++) {
        char id[17];
        snprintf(id, sizeof(id), "%016x", i);
        add_score(h, id, i * 100 - 100, i * 100);
    }
    /* a long window that started before the cutoff but ends after it: kept */
    add_score(h, "00000000000000aa", 0, 2500);
    /* alerts: old firing and acknowledged (kept), old resolved (deleted), recent
     * resolved (kept) */
    add_alert(h, "a000000000000001", "firing", "high", 100, 200);
    add_alert(h, "a000000000000002", "firing", "low", 150, 250);
    add_alert(h, "a000000000000002", "acknowledged", "low", 150, 300);
    add_alert(h, "a000000000000003", "firing", "medium", 100, 200);
    add_alert(h, "a000000000000003", "resolved", "medium", 100, 400);
    add_alert(h, "a000000000000004", "firing", "medium", 2000, 2100);
    add_alert(h, "a000000000000004", "resolved", "medium", 2000, 2000); /* == cutoff */
    add_score(h, "00000000000000bb", 2900, 3000);                       /* ends with the newest */

    /* scores left: window_end >= 2000, i.e. i = 20..30, plus aa and bb: */
    uint64_t want = 0;
    for (int i = 1; i <= 30; i++)
        want += i * 100 >= 2000;
    want += 2; /* aa, bb */
    counts(h, want, 3);
    size_t n = 0;
    char *got = scores_text(h, INT64_MIN, 1900, SIZE_MAX, &n);
    char aa[128], s20[128], w[400];
    score_json(aa, sizeof(aa), "00000000000000aa", 0);
    score_json(s20, sizeof(s20), "0000000000000014", 1900); /* i = 20 ends at 2000 */
    snprintf(w, sizeof(w), "[%s]", aa);
    assert_string_equal(got, w);
    free(got);
    got = scores_text(h, 1800, 1901, SIZE_MAX, &n);
    snprintf(w, sizeof(w), "[%s]", s20); /* i = 19 (start 1800, end 1900) is gone */
    assert_string_equal(got, w);
    free(got);

    assay_strbuf sb;
    assay_sb_init(&sb);
    assert_int_equal(assay_history_alert(h, "a000000000000003", &sb, &err), 1);
    assert_int_equal(assay_history_alert(h, "a000000000000001", &sb, &err), 0);
    assert_int_equal(assay_history_alert(h, "a000000000000002", &sb, &err), 0);
    assert_int_equal(assay_history_alert(h, "a000000000000004", &sb, &err), 0);
    assay_sb_free(&sb);

    /* a late record already older than the cutoff does not stay */
    add_score(h, "00000000000000cc", 10, 20);
    counts(h, want, 3);
    /* the newest moves on: active alerts still stay, however old */
    add_score(h, "00000000000000dd", 100000, 100100);
    counts(h, 1, 2);
    assay_history_close(h);
}

static void test_retention_on_reopen(void **state)
{
    (void)state;
    char *path = fresh_path("h.db");
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, path, 0, &err), 0); /* keep everything */
    for (int i = 1; i <= 10; i++) {
        char id[17];
        snprintf(id, sizeof(id), "%016x", i);
        add_score(h, id, i * 100 - 100, i * 100);
    }
    counts(h, 10, 0);
    assay_history_close(h);
    /* a shorter retention applies at open: newest 1000, cutoff 700 keeps 7..10 */
    assert_int_equal(assay_history_open(&h, path, 300, &err), 0);
    counts(h, 4, 0);
    assay_history_close(h);
    free(path);
}

/* ---- alerts -------------------------------------------------------------------- */

static void test_alert_states(void **state)
{
    (void)state;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, NULL, 0, &err), 0);
    const char *id = "0123456789abcdef";
    char want[200];
    size_t n = 0;

    add_alert(h, id, "firing", "critical", 1000, 2000);
    add_alert(h, "fedcba9876543210", "firing", "low", 1500, 2500);
    char *got = alert_text(h, id);
    snprintf(want, sizeof(want), "{\"id\":\"%s\",\"state\":\"firing\",\"updated\":2000}", id);
    assert_string_equal(got, want);
    free(got);

    /* acknowledged: still active, the record replaced, fired_at kept (a changed
     * fired_at would put it first in the newest-first list) */
    const char *ack = "{\"id\":\"0123456789abcdef\",\"state\":\"acknowledged\",\"updated\":3000}";
    assert_int_equal(assay_history_add_alert(h, id, "acknowledged", "breach", "critical", 9999,
                                             3000, ack, strlen(ack), &err),
                     0);
    got = alert_text(h, id);
    snprintf(want, sizeof(want), "{\"id\":\"%s\",\"state\":\"acknowledged\",\"updated\":3000}", id);
    assert_string_equal(got, want);
    free(got);
    got = alerts_text(h, "active", NULL, SIZE_MAX, &n);
    assert_int_equal(n, 2);
    char *second = strstr(got, "fedcba9876543210");
    char *first = strstr(got, id);
    assert_non_null(first);
    assert_non_null(second);
    assert_true(second < first); /* fired 1500 before 1000: kept */
    free(got);
    got = alerts_text(h, "acknowledged", NULL, SIZE_MAX, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(got, id));
    free(got);

    add_alert(h, id, "resolved", "critical", 1000, 4000);
    got = alerts_text(h, "active", NULL, SIZE_MAX, &n);
    assert_int_equal(n, 1);
    assert_null(strstr(got, id));
    free(got);

    /* resolved stays resolved: a late acknowledgement (or firing record) is ignored */
    add_alert(h, id, "acknowledged", "critical", 1000, 5000);
    add_alert(h, id, "firing", "critical", 1000, 6000);
    got = alert_text(h, id);
    snprintf(want, sizeof(want), "{\"id\":\"%s\",\"state\":\"resolved\",\"updated\":4000}", id);
    assert_string_equal(got, want);
    free(got);
    got = alerts_text(h, "resolved", NULL, SIZE_MAX, &n);
    assert_int_equal(n, 1);
    assert_non_null(strstr(got, id));
    free(got);
    /* a re-emitted resolved record replaces it */
    add_alert(h, id, "resolved", "critical", 1000, 7000);
    got = alert_text(h, id);
    snprintf(want, sizeof(want), "{\"id\":\"%s\",\"state\":\"resolved\",\"updated\":7000}", id);
    assert_string_equal(got, want);
    free(got);
    counts(h, 0, 2);
    assay_history_close(h);
}

static void test_alert_filters(void **state)
{
    (void)state;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, NULL, 0, &err), 0);
    static const struct {
        const char *id, *state, *sev;
        int64_t fired;
    } a[] = {
        { "0000000000000001", "firing", "critical", 100 },
        { "0000000000000002", "acknowledged", "high", 500 },
        { "0000000000000003", "resolved", "critical", 300 },
        { "0000000000000004", "firing", "high", 400 },
        { "0000000000000005", "resolved", "low", 200 },
        { "0000000000000006", "firing", "critical", 600 },
    };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(a); i++) {
        if (strcmp(a[i].state, "firing") != 0) /* arrive at their state from firing */
            add_alert(h, a[i].id, "firing", a[i].sev, a[i].fired, a[i].fired + 1);
        add_alert(h, a[i].id, a[i].state, a[i].sev, a[i].fired, a[i].fired + 50);
    }
    const struct {
        const char *state, *sev;
        size_t limit;
    } q[] = {
        { NULL, NULL, SIZE_MAX },
        { "active", NULL, SIZE_MAX },
        { "firing", NULL, SIZE_MAX },
        { "acknowledged", NULL, SIZE_MAX },
        { "resolved", NULL, SIZE_MAX },
        { NULL, "critical", SIZE_MAX },
        { "active", "critical", SIZE_MAX },
        { "active", "high", 1 },
        { "resolved", "high", SIZE_MAX },
        { NULL, "info", SIZE_MAX },
        { NULL, NULL, 0 },
    };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(q); k++) {
        /* expectation: pick matching, order by fired desc (distinct here) */
        size_t idx[8], m = 0;
        for (size_t i = 0; i < ASSAY_ARRAY_LEN(a); i++) {
            bool st = !q[k].state ||
                      (strcmp(q[k].state, "active") == 0 ? strcmp(a[i].state, "resolved") != 0
                                                         : strcmp(q[k].state, a[i].state) == 0);
            bool sv = !q[k].sev || strcmp(q[k].sev, a[i].sev) == 0;
            if (st && sv)
                idx[m++] = i;
        }
        for (size_t i = 1; i < m; i++)
            for (size_t j = i; j > 0 && a[idx[j]].fired > a[idx[j - 1]].fired; j--) {
                size_t t = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = t;
            }
        if (m > q[k].limit)
            m = q[k].limit;
        char want[1024] = "[";
        for (size_t i = 0; i < m; i++) {
            char one[160];
            snprintf(one, sizeof(one), "%s{\"id\":\"%s\",\"state\":\"%s\",\"updated\":%lld}",
                     i ? "," : "", a[idx[i]].id, a[idx[i]].state,
                     (long long)(a[idx[i]].fired + 50));
            strcat(want, one);
        }
        strcat(want, "]");
        size_t n = 99;
        char *got = alerts_text(h, q[k].state, q[k].sev, q[k].limit, &n);
        assert_string_equal(got, want);
        assert_int_equal(n, m);
        free(got);
    }
    /* an unknown state filter is an error, and the buffer is untouched */
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_sb_puts(&sb, "x");
    size_t n = 7;
    assert_int_equal(assay_history_alerts(h, "open", NULL, 10, &sb, &n, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "active"));
    assert_string_equal(sb.data, "x");
    assay_sb_free(&sb);
    assay_history_close(h);
}

static void test_alert_not_found(void **state)
{
    (void)state;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, NULL, 0, &err), 0);
    add_alert(h, "0000000000000001", "firing", "high", 1, 2);
    assay_strbuf sb;
    assay_sb_init(&sb);
    assay_sb_puts(&sb, "keep");
    assert_int_equal(assay_history_alert(h, "0000000000000002", &sb, &err), 1);
    assert_string_equal(sb.data, "keep");
    assert_int_equal(assay_history_alert(h, "", &sb, &err), 1);
    assert_int_equal(assay_history_alert(h, "0000000000000001", &sb, &err), 0);
    assert_string_equal(sb.data, "keep{\"id\":\"0000000000000001\",\"state\":\"firing\","
                                 "\"updated\":2}");
    assay_sb_free(&sb);
    assay_history_close(h);
}

/* ---- files that are not ours ---------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
        fputs(text, f);
    fclose(f);
}

static void test_not_a_database(void **state)
{
    (void)state;
    char *path = fresh_path("notes.txt");
    write_file(path, "this is not a database, it is a text file\n");
    assay_history *h = (assay_history *)0x1;
    assay_error err = { 0 };
    int rc = assay_history_open(&h, path, 0, &err);
    assert_true(rc < 0);
    assert_null(h);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "is not an SQLite database ("));
    free(path);

    /* a directory that does not exist: named, errno kept */
    path = fresh_path("missing/dir/h.db");
    rc = assay_history_open(&h, path, 0, &err);
    assert_true(rc < 0);
    assert_null(h);
    assert_non_null(strstr(err.msg, path));
    free(path);
}

static void test_foreign_and_newer(void **state)
{
    (void)state;
    /* another program's database */
    char *path = fresh_path("other.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE scores(x); INSERT INTO scores VALUES(1);", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, path, 0, &err), -EINVAL);
    assert_null(h);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "something else"));
    free(path);

    /* ours, but from a newer build */
    path = fresh_path("newer.db");
    assert_int_equal(assay_history_open(&h, path, 0, &err), 0);
    add_score(h, "0000000000000001", 0, 1);
    assay_history_close(h);
    h = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
    assert_int_equal(assay_history_open(&h, path, 0, &err), -EINVAL);
    assert_null(h);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "newer"));
    free(path);
}

/* ---- batches ------------------------------------------------------------------- */

/* One number read through another connection, as another process would. */
static int64_t peek(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_batch(void **state)
{
    (void)state;
    char *path = fresh_path("batch.db");
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(&h, path, 500, &err), 0);
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open(path, &reader), SQLITE_OK);

    /* outside a batch each add is visible to another connection at once */
    add_score(h, "0000000000000001", 0, 100);
    assert_int_equal(peek(reader, "SELECT count(*) FROM scores"), 1);

    assert_int_equal(assay_history_commit(h, &err), -EINVAL); /* no batch */
    assert_int_equal(assay_history_begin(h, &err), 0);
    assert_int_equal(assay_history_begin(h, &err), -EINVAL); /* already open */
    for (int i = 2; i <= 50; i++) {
        char id[17];
        snprintf(id, sizeof(id), "%016x", i);
        add_score(h, id, i * 10, i * 10 + 10); /* newest 510: cutoff 10 */
    }
    add_alert(h, "a000000000000001", "firing", "high", 20, 30);
    /* not visible elsewhere before commit; retention waits for commit too */
    assert_int_equal(peek(reader, "SELECT count(*) FROM scores"), 1);
    counts(h, 50, 1);
    add_score(h, "00000000000000ff", 2000, 2100); /* cutoff 1600: all but ff go */
    counts(h, 51, 1);
    assert_int_equal(peek(reader, "SELECT max(window_end) FROM scores"), 100);
    assert_int_equal(assay_history_commit(h, &err), 0);
    assert_int_equal(peek(reader, "SELECT count(*) FROM scores"), 1);
    assert_int_equal(peek(reader, "SELECT max(window_end) FROM scores"), 2100);
    assert_int_equal(peek(reader, "SELECT count(*) FROM alerts"), 1);
    counts(h, 1, 1); /* the active alert stays */
    size_t n = 0;
    char *got = scores_text(h, INT64_MIN, INT64_MAX, SIZE_MAX, &n);
    char ff[128], w[160];
    score_json(ff, sizeof(ff), "00000000000000ff", 2000);
    snprintf(w, sizeof(w), "[%s]", ff);
    assert_string_equal(got, w);
    free(got);

    /* a batch left open at close is rolled back */
    assert_int_equal(assay_history_begin(h, &err), 0);
    add_score(h, "00000000000000ee", 2050, 2150);
    assay_history_close(h);
    assert_int_equal(peek(reader, "SELECT count(*) FROM scores"), 1);
    sqlite3_close(reader);
    assert_int_equal(assay_history_open(&h, path, 500, &err), 0);
    counts(h, 1, 1);
    assay_history_close(h);
    free(path);
}

/* ---- bad input never crashes and never stores ------------------------------------ */

static void test_bad_input(void **state)
{
    (void)state;
    assay_history *h = NULL;
    assay_error err = { 0 };
    assert_int_equal(assay_history_open(NULL, NULL, 0, &err), -EINVAL);
    assert_int_equal(assay_history_open(&h, "", 0, &err), -EINVAL);
    assert_int_equal(assay_history_open(&h, NULL, -1, &err), -EINVAL);
    assert_int_equal(assay_history_open(&h, NULL, 0, &err), 0);
    const char *j = "{\"a\":1}";
    size_t jl = strlen(j);
    assert_int_equal(assay_history_add_score(h, NULL, 0, 1, 1, j, jl, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "", 0, 1, 1, j, jl, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "a\nb", 0, 1, 1, j, jl, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "x", 0, 1, 1, NULL, 0, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "x", 0, 1, 1, "", 0, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "x", 0, 1, 1, "[1]", 3, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "x", 0, 1, 1, "{\"a\":", 5, &err), -EINVAL);
    assert_int_equal(assay_history_add_score(h, "x", 5, 1, 1, j, jl, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "before it starts"));
    assert_int_equal(assay_history_add_alert(h, "x", "open", "k", "high", 0, 1, j, jl, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "firing"));
    assert_int_equal(assay_history_add_alert(h, "x", NULL, "k", "high", 0, 1, j, jl, &err),
                     -EINVAL);
    assert_int_equal(assay_history_add_alert(h, "x", "firing", NULL, "high", 0, 1, j, jl, &err),
                     -EINVAL);
    assert_int_equal(assay_history_add_alert(h, "x", "firing", "k", NULL, 0, 1, j, jl, &err),
                     -EINVAL);
    assert_int_equal(assay_history_add_alert(h, "x", "firing", "k", "high", 0, 1, "x", 1, &err),
                     -EINVAL);
    char long_id[300];
    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(assay_history_add_score(h, long_id, 0, 1, 1, j, jl, &err), -EINVAL);
    counts(h, 0, 0);
    /* the handle still works after all that */
    assert_int_equal(assay_history_add_score(h, "x", 0, 1, 1, j, jl, &err), 0);
    counts(h, 1, 0);
    assert_int_equal(assay_history_scores(NULL, 0, 1, 1, false, NULL, NULL, &err), -EINVAL);
    assert_int_equal(assay_history_alert(h, NULL, NULL, &err), -EINVAL);
    assert_int_equal(assay_history_counts(NULL, NULL, NULL, &err), -EINVAL);
    assay_history_close(h);
    assay_history_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scores_roundtrip),
        cmocka_unit_test(test_score_replace),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_retention_on_reopen),
        cmocka_unit_test(test_alert_states),
        cmocka_unit_test(test_alert_filters),
        cmocka_unit_test(test_alert_not_found),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_foreign_and_newer),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
