/*
 * history.c - score and alert records kept in SQLite, for the HTTP API's history
 * queries (scores over a time range, alerts by state and severity, one alert by id).
 *
 * Schema (version 1, in meta.schema_version):
 *
 *     meta(key TEXT PRIMARY KEY, value TEXT)
 *     scores(id TEXT PRIMARY KEY, window_start INT, window_end INT, overall REAL, json TEXT)
 *         index on window_start                      (range queries, retention)
 *     alerts(id TEXT PRIMARY KEY, state TEXT, kind TEXT, severity TEXT,
 *            fired_at INT, updated_at INT, acked INT, json TEXT)
 *         indexes on state (filters, retention) and fired_at (newest first)
 *
 * The stored JSON is the record as written to sinks, so a query answers with the same
 * bytes a sink consumer saw: a list is those texts joined into a JSON array, no
 * re-encoding. Scores are keyed by window id and alerts by alert id, both
 * deterministic (docs/outputs.md, docs/alerts.md), so a restart that re-emits records
 * replaces rows instead of duplicating them. An alert row holds its latest record
 * (an UPSERT, https://www.sqlite.org/lang_upsert.html, that keeps fired_at); resolved
 * is final, so a late acknowledgement or a replayed firing record cannot bring a
 * resolved alert back to life.
 *
 * Retention is by event time: a record goes when its window_end is older than the
 * newest window_end stored minus the retention. Wall-clock retention would empty the
 * history of a replay of last year's data as it is written; event time keeps it, and
 * makes the behaviour a pure function of the records (deterministic tests). Active
 * alerts (firing, acknowledged) are never deleted: an incident still open is never
 * forgotten however old it is. Retention runs inside the write transaction (after an
 * add, or at commit of a batch) and only when it can delete something: when the newest
 * time moved forward or an added record is already older than the cutoff.
 *
 * Durability: WAL journal with synchronous=NORMAL (https://www.sqlite.org/wal.html,
 * https://www.sqlite.org/pragma.html#pragma_synchronous): the HTTP readers never
 * block the writer, a commit costs no fsync, and a power cut can lose the last
 * commits but never corrupts the file. That is the right trade for a history whose
 * every record also went to the sinks. Write transactions are BEGIN IMMEDIATE, so a
 * second process on the file waits in the busy handler (5 s) instead of failing with
 * SQLITE_BUSY half way through a transaction.
 *
 * Statements are prepared once at open and reset after each use. A handle is one
 * connection: one thread at a time.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/history.h"

#define HISTORY_SCHEMA_VERSION 1
#define HISTORY_BUSY_MS        5000
#define HISTORY_ID_MAX         128 /* ids are 16 hex digits; leave room, refuse junk */
#define HISTORY_NAME_MAX       64  /* kind, severity */

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_ADD_SCORE,
    ST_ADD_ALERT,
    ST_SCORES,
    ST_SCORES_LATEST,
    ST_ALERTS,
    ST_ALERT,
    ST_COUNT_SCORES,
    ST_COUNT_ALERTS,
    ST_PRUNE_SCORES,
    ST_PRUNE_ALERTS,
    ST_NEWEST,
    ST_N
};

static const char *const statement_sql[ST_N] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ADD_SCORE] = "INSERT INTO scores(id, window_start, window_end, overall, json) "
                     "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(id) DO UPDATE SET "
                     "window_start = excluded.window_start, window_end = excluded.window_end, "
                     "overall = excluded.overall, json = excluded.json",
    /* resolved is final: only another resolved record replaces a resolved row */
    [ST_ADD_ALERT] =
        "INSERT INTO alerts(id, state, kind, severity, fired_at, updated_at, acked, json) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?2 = 'acknowledged', ?7) ON CONFLICT(id) DO UPDATE SET "
        "state = excluded.state, kind = excluded.kind, severity = excluded.severity, "
        "updated_at = excluded.updated_at, acked = excluded.acked, json = excluded.json "
        "WHERE alerts.state <> 'resolved' OR excluded.state = 'resolved'",
    [ST_SCORES] = "SELECT json FROM scores WHERE window_start >= ?1 AND window_start < ?2 "
                  "ORDER BY window_start, id LIMIT ?3",
    /* the newest limit of them, still listed oldest first */
    [ST_SCORES_LATEST] = "SELECT json FROM (SELECT json, window_start, id FROM scores "
                         "WHERE window_start >= ?1 AND window_start < ?2 "
                         "ORDER BY window_start DESC, id DESC LIMIT ?3) ORDER BY window_start, id",
    [ST_ALERTS] = "SELECT json FROM alerts WHERE (?1 IS NULL OR state = ?1 OR "
                  "(?1 = 'active' AND state IN ('firing', 'acknowledged'))) "
                  "AND (?2 IS NULL OR severity = ?2) ORDER BY fired_at DESC, id LIMIT ?3",
    [ST_ALERT] = "SELECT json FROM alerts WHERE id = ?1",
    [ST_COUNT_SCORES] = "SELECT count(*) FROM scores",
    [ST_COUNT_ALERTS] = "SELECT count(*) FROM alerts",
    /* window_start <= window_end, so the first term lets the window_start index work */
    [ST_PRUNE_SCORES] = "DELETE FROM scores WHERE window_start < ?1 AND window_end < ?1",
    [ST_PRUNE_ALERTS] = "DELETE FROM alerts WHERE state = 'resolved' AND updated_at < ?1",
    [ST_NEWEST] = "SELECT max(t) FROM (SELECT max(window_end) AS t FROM scores "
                  "UNION ALL SELECT max(updated_at) FROM alerts)",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS scores(id TEXT PRIMARY KEY, window_start INTEGER NOT NULL,"
    " window_end INTEGER NOT NULL, overall REAL, json TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS scores_window_start ON scores(window_start);"
    "CREATE TABLE IF NOT EXISTS alerts(id TEXT PRIMARY KEY, state TEXT NOT NULL,"
    " kind TEXT NOT NULL, severity TEXT NOT NULL, fired_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, acked INTEGER NOT NULL, json TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state);"
    "CREATE INDEX IF NOT EXISTS alerts_fired_at ON alerts(fired_at);";

struct assay_history {
    sqlite3 *db;
    char *path;        /* as given, for "PATH is not an SQLite database" */
    char *label;       /* "history PATH" or "in-memory history", the prefix of messages */
    int64_t retention; /* microseconds, 0 = keep everything */
    int64_t newest;    /* newest window_end stored, INT64_MIN when none */
    bool in_batch;     /* between assay_history_begin and _commit */
    bool prune_pending;
    sqlite3_stmt *st[ST_N];
};

/* ---------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------- */

static int errno_of(sqlite3 *db, int rc)
{
    int sys = db ? sqlite3_system_errno(db) : 0;
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_NOTADB:
    case SQLITE_MISMATCH:
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
        return -EINVAL;
    case SQLITE_CANTOPEN:
        return sys > 0 ? -sys : -ENOENT;
    case SQLITE_IOERR:
        return sys > 0 ? -sys : -EIO;
    default:
        return -EIO;
    }
}

/* rc is an SQLite result code from h->db (or from opening it); what says what failed
 * ("add a score"). The message says what to do where there is something to do. */
static int db_fail(const assay_history *h, int rc, const char *what, assay_error *err)
{
    const char *msg = h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc);
    int code = errno_of(h->db, rc), sys = h->db ? sqlite3_system_errno(h->db) : 0;
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return assay_error_set(err, -EINVAL,
                               "%s is not an SQLite database (%s): point history at a new "
                               "file or move this one away",
                               h->path, msg);
    case SQLITE_CORRUPT:
        return assay_error_set(err, code,
                               "%s: cannot %s: %s (the file is damaged: move it away to start "
                               "a new history)",
                               h->label, what, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return assay_error_set(err, code,
                               "%s: cannot %s: %s (another process kept it locked for more "
                               "than %d s)",
                               h->label, what, msg, HISTORY_BUSY_MS / 1000);
    case SQLITE_FULL:
        return assay_error_set(err, code,
                               "%s: cannot %s: %s (free disk space or shorten "
                               "history.retention)",
                               h->label, what, msg);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
        if (sys > 0)
            return assay_error_set(err, code, "%s: cannot %s: %s (%s)", h->label, what, msg,
                                   strerror(sys));
        break;
    default:
        break;
    }
    return assay_error_set(err, code, "%s: cannot %s: %s", h->label, what, msg);
}

/* ---------------------------------------------------------------------------------
 * Statement helpers
 * ------------------------------------------------------------------------------- */

static void st_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st); /* no pointer into a caller's buffer outlives the call */
}

/* Run a statement that returns no rows we need. */
static int run(assay_history *h, int which, const char *what, assay_error *err)
{
    sqlite3_stmt *st = h->st[which];
    int rc = sqlite3_step(st);
    int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : db_fail(h, rc, what, err);
    st_done(st);
    return ret;
}

/* A one-row, one-integer query; *null when the value is NULL. */
static int query_int(assay_history *h, int which, int64_t *v, bool *null, const char *what,
                     assay_error *err)
{
    sqlite3_stmt *st = h->st[which];
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        *null = sqlite3_column_type(st, 0) == SQLITE_NULL;
        *v = sqlite3_column_int64(st, 0);
    } else {
        ret = db_fail(h, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what, err);
    }
    st_done(st);
    return ret;
}

static int bind_fail(assay_history *h, int which, int rc, const char *what, assay_error *err)
{
    int ret = db_fail(h, rc, what, err);
    st_done(h->st[which]);
    return ret;
}

/* sqlite3_exec of fixed SQL (schema, pragmas). */
static int exec(assay_history *h, const char *sql, const char *what, assay_error *err)
{
    int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(h, rc, what, err);
}

/* ---------------------------------------------------------------------------------
 * Input checks
 * ------------------------------------------------------------------------------- */

/* A short name (id, state, kind, severity): present, not empty, printable. */
static int check_name(const assay_history *h, const char *s, const char *field, size_t max,
                      assay_error *err)
{
    if (!s || !*s)
        return assay_error_set(err, -EINVAL, "%s: a record without %s", h->label, field);
    size_t n = 0;
    for (; s[n]; n++) {
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
            return assay_error_set(err, -EINVAL, "%s: %s contains a control character", h->label,
                                   field);
        if (n >= max)
            return assay_error_set(err, -EINVAL, "%s: %s is longer than %zu bytes", h->label, field,
                                   max);
    }
    return 0;
}

static bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The record must be one JSON object, so that a list of them is a JSON array; the
 * surrounding whitespace (a sink line's newline) is dropped. The inside is not parsed:
 * it is our own encoder's output. */
static int check_json(const assay_history *h, const char **json, size_t *len, const char *what,
                      assay_error *err)
{
    if (!*json)
        return assay_error_set(err, -EINVAL, "%s: %s without its JSON text", h->label, what);
    const char *p = *json;
    size_t n = *len;
    while (n && json_space(*p))
        p++, n--;
    while (n && json_space(p[n - 1]))
        n--;
    if (n < 2 || p[0] != '{' || p[n - 1] != '}')
        return assay_error_set(err, -EINVAL, "%s: %s whose text is not a JSON object", h->label,
                               what);
    *json = p;
    *len = n;
    return 0;
}

static int64_t limit_of(size_t limit)
{
    return limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
}

/* ---------------------------------------------------------------------------------
 * Retention and transactions
 * ------------------------------------------------------------------------------- */

/* Records with window_end < cutoff go; INT64_MIN when retention deletes nothing. */
static int64_t cutoff(const assay_history *h)
{
    if (h->retention <= 0 || h->newest == INT64_MIN || h->newest < INT64_MIN + h->retention)
        return INT64_MIN;
    return h->newest - h->retention;
}

/* A record with window_end t was stored: note whether retention has work to do. */
static void note_time(assay_history *h, int64_t t)
{
    if (h->retention <= 0)
        return;
    if (h->newest == INT64_MIN || t > h->newest) {
        h->newest = t;
        h->prune_pending = true;
    } else if (t < cutoff(h)) {
        h->prune_pending = true;
    }
}

static int prune(assay_history *h, assay_error *err)
{
    int64_t c = cutoff(h);
    if (!h->prune_pending || c == INT64_MIN) {
        h->prune_pending = false;
        return 0;
    }
    int rc = sqlite3_bind_int64(h->st[ST_PRUNE_SCORES], 1, c);
    if (rc != SQLITE_OK)
        return bind_fail(h, ST_PRUNE_SCORES, rc, "delete old scores", err);
    if ((rc = run(h, ST_PRUNE_SCORES, "delete old scores", err)) < 0)
        return rc;
    rc = sqlite3_bind_int64(h->st[ST_PRUNE_ALERTS], 1, c);
    if (rc != SQLITE_OK)
        return bind_fail(h, ST_PRUNE_ALERTS, rc, "delete old alerts", err);
    if ((rc = run(h, ST_PRUNE_ALERTS, "delete old alerts", err)) < 0)
        return rc;
    h->prune_pending = false;
    return 0;
}

/* The newest time from the file (at open, and after a rollback undid adds). */
static int load_newest(assay_history *h, assay_error *err)
{
    int64_t v = 0;
    bool null = true;
    int rc = query_int(h, ST_NEWEST, &v, &null, "read the newest record time", err);
    if (rc < 0)
        return rc;
    h->newest = null ? INT64_MIN : v;
    h->prune_pending = true;
    return 0;
}

static void rollback(assay_history *h)
{
    if (!sqlite3_get_autocommit(h->db))
        (void)run(h, ST_ROLLBACK, "roll back", NULL);
    (void)load_newest(h, NULL);
}

/* An add's transaction: its own unless a batch is open (and still alive: SQLite rolls
 * a transaction back by itself after some errors, a full disk for one). */
static int add_begin(assay_history *h, bool *own, assay_error *err)
{
    *own = !h->in_batch || sqlite3_get_autocommit(h->db);
    return *own ? run(h, ST_BEGIN, "begin a transaction", err) : 0;
}

static int add_end(assay_history *h, bool own, int rc, assay_error *err)
{
    if (!own)
        return rc;
    if (rc == 0)
        rc = prune(h, err);
    if (rc == 0)
        rc = run(h, ST_COMMIT, "commit", err);
    if (rc < 0)
        rollback(h);
    return rc;
}

/* ---------------------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------------------- */

/* Create the schema in a new file, accept ours, refuse a newer one or a stranger's. */
static int ensure_schema(assay_history *h, assay_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = exec(h, "BEGIN IMMEDIATE", "begin a transaction", err);
    if (rc < 0)
        return rc;
    int ret = 0;
    rc = sqlite3_prepare_v2(h->db,
                            "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name NOT LIKE 'sqlite_%'), "
                            "(SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name = 'meta')",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        ret = db_fail(h, rc, "read the schema", err);
        goto out;
    }
    if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
        ret = db_fail(h, rc, "read the schema", err);
        goto out;
    }
    int64_t tables = sqlite3_column_int64(st, 0), meta = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    st = NULL;

    if (meta) {
        rc = sqlite3_prepare_v2(h->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                                &st, NULL);
        if (rc != SQLITE_OK) {
            ret = db_fail(h, rc, "read the schema version", err);
            goto out;
        }
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            ret = db_fail(h, rc, "read the schema version", err);
            goto out;
        }
        const char *text = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        char *end = NULL;
        long long v = text ? strtoll(text, &end, 10) : 0;
        if (!text || end == text || *end || v < 1) {
            ret = assay_error_set(err, -EINVAL,
                                  "%s is not an assay history (its meta table has no schema "
                                  "version): point history at a file of its own",
                                  h->path);
            goto out;
        }
        if (v > HISTORY_SCHEMA_VERSION) {
            ret = assay_error_set(err, -EINVAL,
                                  "%s has history schema version %lld, newer than this "
                                  "build's %d: use a newer assay or a new history file",
                                  h->path, v, HISTORY_SCHEMA_VERSION);
            goto out;
        }
        sqlite3_finalize(st);
        st = NULL;
    } else if (tables > 0) {
        ret = assay_error_set(err, -EINVAL,
                              "%s is an SQLite database of something else (%lld tables, no "
                              "assay meta table): point history at a file of its own",
                              h->path, (long long)tables);
        goto out;
    }
    /* version 1 is the only one: nothing to migrate, IF NOT EXISTS does the rest */
    if ((ret = exec(h, schema_sql, "create the schema", err)) < 0)
        goto out;
    char sql[128];
    snprintf(sql, sizeof(sql),
             "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '%d')",
             HISTORY_SCHEMA_VERSION);
    if ((ret = exec(h, sql, "write the schema version", err)) < 0)
        goto out;
    ret = exec(h, "COMMIT", "commit the schema", err);
out:
    sqlite3_finalize(st);
    if (ret < 0 && !sqlite3_get_autocommit(h->db))
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

static int prepare_all(assay_history *h, assay_error *err)
{
    for (int i = 0; i < ST_N; i++) {
        int rc = sqlite3_prepare_v3(h->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &h->st[i], NULL);
        if (rc != SQLITE_OK)
            return db_fail(h, rc, "prepare a statement", err);
    }
    return 0;
}

int assay_history_open(assay_history **out, const char *path, int64_t retention_us,
                       assay_error *err)
{
    if (!out)
        return assay_error_set(err, -EINVAL, "history: no handle to open into");
    *out = NULL;
    if (path && !*path)
        return assay_error_set(err, -EINVAL, "history: the file name is empty");
    if (retention_us < 0)
        return assay_error_set(err, -EINVAL, "history: negative retention (%lld us)",
                               (long long)retention_us);
    bool memory = !path || strcmp(path, ":memory:") == 0;

    assay_history *h = calloc(1, sizeof(*h));
    if (!h)
        return assay_error_set(err, -ENOMEM, "out of memory opening the history");
    h->retention = retention_us;
    h->newest = INT64_MIN;
    h->path = strdup(memory ? ":memory:" : path);
    if (h->path) {
        size_t n = strlen(h->path) + 16;
        h->label = malloc(n);
        if (h->label)
            snprintf(h->label, n, memory ? "in-memory history" : "history %s", h->path);
    }
    if (!h->path || !h->label) {
        assay_history_close(h);
        return assay_error_set(err, -ENOMEM, "out of memory opening the history");
    }

    int rc = sqlite3_open_v2(h->path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    int ret = 0;
    if (rc != SQLITE_OK) {
        ret = h->db ? db_fail(h, rc, "open", err)
                    : assay_error_set(err, -ENOMEM, "out of memory opening %s", h->label);
        goto fail;
    }
    sqlite3_extended_result_codes(h->db, 1);
    sqlite3_busy_timeout(h->db, HISTORY_BUSY_MS);
    /* the first reads of the file: a file that is not a database fails here */
    if ((ret = exec(h, "PRAGMA journal_mode = WAL", "switch to WAL journal mode", err)) < 0)
        goto fail;
    if ((ret = exec(h, "PRAGMA synchronous = NORMAL", "set synchronous = NORMAL", err)) < 0)
        goto fail;
    if ((ret = ensure_schema(h, err)) < 0)
        goto fail;
    if ((ret = prepare_all(h, err)) < 0)
        goto fail;
    if ((ret = load_newest(h, err)) < 0)
        goto fail;
    /* a shorter retention than last time takes effect now, not at the next add */
    if (h->retention > 0) {
        bool own = false;
        if ((ret = add_begin(h, &own, err)) < 0 || (ret = add_end(h, own, 0, err)) < 0)
            goto fail;
    }
    *out = h;
    return 0;
fail:
    assay_history_close(h);
    return ret;
}

void assay_history_close(assay_history *h)
{
    if (!h)
        return;
    if (h->db && !sqlite3_get_autocommit(h->db))
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(h->st[i]);
    sqlite3_close_v2(h->db);
    free(h->label);
    free(h->path);
    free(h);
}

/* ---------------------------------------------------------------------------------
 * Adds
 * ------------------------------------------------------------------------------- */

int assay_history_add_score(assay_history *h, const char *id, int64_t window_start,
                            int64_t window_end, double overall, const char *json, size_t len,
                            assay_error *err)
{
    if (!h)
        return assay_error_set(err, -EINVAL, "history: not open");
    int rc = check_name(h, id, "a window id", HISTORY_ID_MAX, err);
    if (rc == 0)
        rc = check_json(h, &json, &len, "a score record", err);
    if (rc < 0)
        return rc;
    if (window_start > window_end)
        return assay_error_set(err, -EINVAL,
                               "%s: score record %s ends (%lld) before it starts (%lld)", h->label,
                               id, (long long)window_end, (long long)window_start);

    bool own = false;
    if ((rc = add_begin(h, &own, err)) < 0)
        return rc;
    sqlite3_stmt *st = h->st[ST_ADD_SCORE];
    int b = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 2, window_start);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 3, window_end);
    if (b == SQLITE_OK)
        b = isnan(overall) ? sqlite3_bind_null(st, 4) : sqlite3_bind_double(st, 4, overall);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text64(st, 5, json, len, SQLITE_STATIC, SQLITE_UTF8);
    if (b != SQLITE_OK)
        rc = bind_fail(h, ST_ADD_SCORE, b, "add a score", err);
    else
        rc = run(h, ST_ADD_SCORE, "add a score", err);
    if (rc == 0)
        note_time(h, window_end);
    return add_end(h, own, rc, err);
}

int assay_history_add_alert(assay_history *h, const char *id, const char *state, const char *kind,
                            const char *severity, int64_t fired_at, int64_t updated_at,
                            const char *json, size_t len, assay_error *err)
{
    if (!h)
        return assay_error_set(err, -EINVAL, "history: not open");
    int rc = check_name(h, id, "an alert id", HISTORY_ID_MAX, err);
    if (rc == 0)
        rc = check_name(h, state, "a state", HISTORY_NAME_MAX, err);
    if (rc == 0)
        rc = check_name(h, kind, "a kind", HISTORY_NAME_MAX, err);
    if (rc == 0)
        rc = check_name(h, severity, "a severity", HISTORY_NAME_MAX, err);
    if (rc == 0)
        rc = check_json(h, &json, &len, "an alert record", err);
    if (rc < 0)
        return rc;
    if (strcmp(state, "firing") != 0 && strcmp(state, "acknowledged") != 0 &&
        strcmp(state, "resolved") != 0)
        return assay_error_set(err, -EINVAL,
                               "%s: alert %s has state '%s' (expected firing, acknowledged or "
                               "resolved)",
                               h->label, id, state);

    bool own = false;
    if ((rc = add_begin(h, &own, err)) < 0)
        return rc;
    sqlite3_stmt *st = h->st[ST_ADD_ALERT];
    int b = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(st, 4, severity, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 5, fired_at);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 6, updated_at);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text64(st, 7, json, len, SQLITE_STATIC, SQLITE_UTF8);
    if (b != SQLITE_OK)
        rc = bind_fail(h, ST_ADD_ALERT, b, "add an alert", err);
    else
        rc = run(h, ST_ADD_ALERT, "add an alert", err);
    /* no change: a late record for a resolved alert, ignored */
    if (rc == 0 && sqlite3_changes(h->db) > 0)
        note_time(h, updated_at);
    return add_end(h, own, rc, err);
}

int assay_history_begin(assay_history *h, assay_error *err)
{
    if (!h)
        return assay_error_set(err, -EINVAL, "history: not open");
    if (h->in_batch)
        return assay_error_set(err, -EINVAL, "%s: a batch is already open", h->label);
    int rc = run(h, ST_BEGIN, "begin a batch", err);
    if (rc == 0)
        h->in_batch = true;
    return rc;
}

int assay_history_commit(assay_history *h, assay_error *err)
{
    if (!h)
        return assay_error_set(err, -EINVAL, "history: not open");
    if (!h->in_batch)
        return assay_error_set(err, -EINVAL, "%s: commit without a batch", h->label);
    h->in_batch = false;
    if (sqlite3_get_autocommit(h->db)) {
        /* an error inside the batch made SQLite roll it back; later adds committed */
        (void)load_newest(h, NULL);
        return assay_error_set(err, -EIO,
                               "%s: the batch was rolled back after an error in it: the records "
                               "added before that error are lost",
                               h->label);
    }
    int rc = prune(h, err);
    if (rc == 0)
        rc = run(h, ST_COMMIT, "commit a batch", err);
    if (rc < 0)
        rollback(h);
    return rc;
}

/* ---------------------------------------------------------------------------------
 * Queries
 * ------------------------------------------------------------------------------- */

/* Step a bound query, appending its first column's texts to out as a JSON array. On
 * error out is left as it was. */
static int list(assay_history *h, int which, assay_strbuf *out, size_t *count, const char *what,
                assay_error *err)
{
    sqlite3_stmt *st = h->st[which];
    size_t start = out->len, n = 0;
    int rc, ret = 0;
    assay_sb_putc(out, '[');
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        int bytes = sqlite3_column_bytes(st, 0);
        if (!text) {
            rc = sqlite3_errcode(h->db) == SQLITE_NOMEM ? SQLITE_NOMEM : SQLITE_MISMATCH;
            break;
        }
        if (n)
            assay_sb_putc(out, ',');
        assay_sb_append(out, (const char *)text, (size_t)bytes);
        n++;
    }
    if (rc != SQLITE_DONE)
        ret = db_fail(h, rc, what, err);
    st_done(st);
    assay_sb_putc(out, ']');
    if (ret == 0 && out->oom)
        ret = assay_error_set(err, -ENOMEM, "%s: out of memory listing records", h->label);
    if (ret < 0) {
        out->oom = false; /* it was not before; the old contents are intact */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return ret;
    }
    if (count)
        *count = n;
    return 0;
}

int assay_history_scores(assay_history *h, int64_t from, int64_t to, size_t limit, bool latest,
                         assay_strbuf *out, size_t *count, assay_error *err)
{
    if (!h || !out)
        return assay_error_set(err, -EINVAL, "history: not open or no output buffer");
    if (out->oom)
        return assay_error_set(err, -ENOMEM, "%s: output buffer out of memory", h->label);
    int which = latest ? ST_SCORES_LATEST : ST_SCORES;
    sqlite3_stmt *st = h->st[which];
    int b = sqlite3_bind_int64(st, 1, from);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 2, to);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 3, limit_of(limit));
    if (b != SQLITE_OK)
        return bind_fail(h, which, b, "list scores", err);
    return list(h, which, out, count, "list scores", err);
}

int assay_history_alerts(assay_history *h, const char *state, const char *severity, size_t limit,
                         assay_strbuf *out, size_t *count, assay_error *err)
{
    if (!h || !out)
        return assay_error_set(err, -EINVAL, "history: not open or no output buffer");
    if (out->oom)
        return assay_error_set(err, -ENOMEM, "%s: output buffer out of memory", h->label);
    if (state && strcmp(state, "active") != 0 && strcmp(state, "firing") != 0 &&
        strcmp(state, "acknowledged") != 0 && strcmp(state, "resolved") != 0)
        return assay_error_set(err, -EINVAL,
                               "%s: unknown alert state filter (expected active, firing, "
                               "acknowledged or resolved)",
                               h->label);
    sqlite3_stmt *st = h->st[ST_ALERTS];
    int b = state ? sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC) : SQLITE_OK;
    if (b == SQLITE_OK && severity)
        b = sqlite3_bind_text(st, 2, severity, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(st, 3, limit_of(limit));
    if (b != SQLITE_OK)
        return bind_fail(h, ST_ALERTS, b, "list alerts", err);
    return list(h, ST_ALERTS, out, count, "list alerts", err);
}

int assay_history_alert(assay_history *h, const char *id, assay_strbuf *out, assay_error *err)
{
    if (!h || !out || !id)
        return assay_error_set(err, -EINVAL, "history: not open, no id or no output buffer");
    if (out->oom)
        return assay_error_set(err, -ENOMEM, "%s: output buffer out of memory", h->label);
    sqlite3_stmt *st = h->st[ST_ALERT];
    int b = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return bind_fail(h, ST_ALERT, b, "read an alert", err);
    int rc = sqlite3_step(st), ret = 1;
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        int bytes = sqlite3_column_bytes(st, 0);
        if (!text) {
            ret =
                db_fail(h, sqlite3_errcode(h->db) == SQLITE_NOMEM ? SQLITE_NOMEM : SQLITE_MISMATCH,
                        "read an alert", err);
        } else {
            size_t start = out->len;
            assay_sb_append(out, (const char *)text, (size_t)bytes);
            if (out->oom) {
                out->oom = false;
                out->len = start;
                if (out->data)
                    out->data[start] = '\0';
                ret = assay_error_set(err, -ENOMEM, "%s: out of memory reading an alert", h->label);
            } else {
                ret = 0;
            }
        }
    } else if (rc != SQLITE_DONE) {
        ret = db_fail(h, rc, "read an alert", err);
    }
    st_done(st);
    return ret;
}

int assay_history_counts(assay_history *h, uint64_t *scores, uint64_t *alerts, assay_error *err)
{
    if (!h)
        return assay_error_set(err, -EINVAL, "history: not open");
    int64_t v = 0;
    bool null = false;
    int rc;
    if (scores) {
        if ((rc = query_int(h, ST_COUNT_SCORES, &v, &null, "count scores", err)) < 0)
            return rc;
        *scores = (uint64_t)v;
    }
    if (alerts) {
        if ((rc = query_int(h, ST_COUNT_ALERTS, &v, &null, "count alerts", err)) < 0)
            return rc;
        *alerts = (uint64_t)v;
    }
    return 0;
}
