/*
 * history.h - the score and alert history in SQLite (src/serve/history.c has the
 * schema and the details).
 *
 * A handle is one SQLite connection with its prepared statements: use it from one
 * thread at a time (the HTTP server's thread). Times are microseconds since the epoch,
 * event time throughout.
 */
#ifndef ASSAY_SERVE_HISTORY_H
#define ASSAY_SERVE_HISTORY_H

#include "assay/common.h"
#include "core/strbuf.h"

typedef struct assay_history assay_history;

/* Open (creating it when missing) the history at path; NULL or ":memory:" is an
 * in-memory database, lost at exit. retention_us > 0 deletes scores and resolved
 * alerts whose window_end is older than the newest window_end stored minus
 * retention_us (event time, so replays of old data keep their history); 0 keeps
 * everything. WAL journal, synchronous=NORMAL, a 5 s busy timeout. A file that is not
 * an SQLite database, belongs to something else or has a newer schema is refused with
 * a message naming the path. */
int assay_history_open(assay_history **out, const char *path, int64_t retention_us,
                       assay_error *err);
/* Close (NULL is fine). A batch still open (begin without commit) is rolled back. */
void assay_history_close(assay_history *h);

/* A score record: the JSON text of one closed window as written to sinks (trailing
 * whitespace dropped). id = the window id; overall NaN when the window had no rows.
 * The same id again replaces the row (a restart re-emits windows). */
int assay_history_add_score(assay_history *h, const char *id, int64_t window_start,
                            int64_t window_end, double overall, const char *json, size_t len,
                            assay_error *err);

/* An alert record; one row per alert id holds the latest record. state is "firing",
 * "acknowledged" (still active, counts as acked) or "resolved"; kind and severity
 * short names. fired_at = the window it fired in, updated_at = this record's
 * window_end. A later record replaces state, kind, severity, updated_at and json and
 * keeps fired_at. Once resolved stays resolved: a later firing or acknowledged record
 * for a resolved id is ignored (and returns 0); a later resolved one replaces it. */
int assay_history_add_alert(assay_history *h, const char *id, const char *state, const char *kind,
                            const char *severity, int64_t fired_at, int64_t updated_at,
                            const char *json, size_t len, assay_error *err);

/* Batch adds in one transaction (retention runs at commit). Adds outside a batch each
 * commit on their own. When commit fails, the whole batch is rolled back. */
int assay_history_begin(assay_history *h, assay_error *err);
int assay_history_commit(assay_history *h, assay_error *err);

/* Scores with from <= window_start < to (INT64_MIN/INT64_MAX for open ends), ascending
 * by window_start (then id), at most limit (SIZE_MAX: all), appended to out as a JSON
 * array of the stored texts: `[{...},{...}]`. *count (when non-NULL) is set to the
 * number listed. latest: the newest limit of them instead of the oldest (still listed
 * oldest first). On error out is left as it was. */
int assay_history_scores(assay_history *h, int64_t from, int64_t to, size_t limit, bool latest,
                         assay_strbuf *out, size_t *count, assay_error *err);

/* Alerts whose state matches (NULL any; "active" firing or acknowledged; "firing",
 * "acknowledged", "resolved"; anything else is -EINVAL) and whose severity is severity
 * (NULL any), newest fired_at first (then id), at most limit, as a JSON array. */
int assay_history_alerts(assay_history *h, const char *state, const char *severity, size_t limit,
                         assay_strbuf *out, size_t *count, assay_error *err);

/* One alert's latest record appended to out: 0 found, 1 not found, negative on error. */
int assay_history_alert(assay_history *h, const char *id, assay_strbuf *out, assay_error *err);

/* Rows in each table (either pointer may be NULL). */
int assay_history_counts(assay_history *h, uint64_t *scores, uint64_t *alerts, assay_error *err);

#endif
