/*
 * aggregator.c - chunk results back in stream order; windows open, fill and close.
 *
 * The pipeline thread hands every chunk to a shard and gets the results back in the
 * order the chunks were read. For each chunk, in that order, the aggregator:
 *
 *   1. resolves the chunk's partials: a partial for sub-pane (p, j_in) belongs to
 *      (p, max(j_in, c_M)), where c_M is the frontier of the watermark before the
 *      chunk (src/window/window.c shows why this is exact); when that is past p the
 *      whole partial is late and only its row count survives, in late_rows;
 *   2. merges the on-time partials into the sub-panes' accumulators (chunk order);
 *   3. counts the chunk's late and bad rows in the window that closes next;
 *   4. checks the values of `unique` rules (and whole rows, for duplicate_rows)
 *      against each window's key set, in row order - the first occurrence in a window
 *      is the earliest row, so repeats, their samples and their values are exact, and
 *      a blocking unique rule can still keep the repeat out of the clean output;
 *   5. routes the chunk's rows to clean and quarantine, in row order;
 *   6. raises the watermark with the chunk's largest event time and closes every
 *      window whose end it reaches: window k merges sub-panes (p, j), k <= p < k + q,
 *      j <= k, in (p, j) order, adds its window state, and becomes a result (result.c).
 *      A closed window is never emitted again; a pane whose last window closed is
 *      freed. Windows between two with rows are emitted empty (silence is a signal);
 *      a gap of more than limits.empty_windows empty windows (a clock jump) is
 *      reported once instead of being emitted window by window.
 *
 * The global window of `check` is window 0 with one pane and no watermark: it closes
 * at the end of input.
 */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/grow.h"
#include "window/aggregator.h"

int assay_agg_init(assay_agg *a, const assay_engine *e, const assay_agg_hooks *h)
{
    memset(a, 0, sizeof(*a));
    a->e = e;
    a->h = *h;
    a->max_event = ASSAY_TIME_NONE;
    a->wm = ASSAY_TIME_NONE;
    a->file = UINT32_MAX;
    if (assay_partial_init(e, &a->scratch, false) < 0)
        return -ENOMEM;
    a->kbuf = malloc(1024 * sizeof(uint64_t));
    a->vbuf = malloc(1024 * sizeof(uint64_t));
    a->rbuf = malloc(1024);
    a->key_hint = calloc(e->nrules + 1, sizeof(size_t));
    if (!a->kbuf || !a->vbuf || !a->rbuf || !a->key_hint)
        return -ENOMEM;
    for (size_t r = 0; r <= e->nrules; r++)
        a->key_hint[r] = e->est_rows ? e->est_rows : 1024;
    if (e->exact_keys) {
        size_t nc = e->sch.ncols ? e->sch.ncols : 1;
        a->colset = calloc(nc, sizeof(assay_hashset *));
        a->col_seen = calloc(nc, sizeof(uint64_t));
        a->col_repeats = calloc(nc, sizeof(uint64_t));
        a->col_state = calloc(nc, 1);
        if (!a->colset || !a->col_seen || !a->col_repeats || !a->col_state)
            return -ENOMEM;
    }
    return 0;
}

void assay_agg_window_free(const assay_engine *e, win_state *w)
{
    if (!w)
        return;
    for (size_t r = 0; r < e->nrules; r++) {
        if (w->uniq)
            assay_hashset_free(w->uniq[r]);
        if (w->usamples && w->usamples[r]) {
            for (uint32_t k = 0; k < w->nus[r]; k++)
                free(w->usamples[r][k].value);
            free(w->usamples[r]);
        }
    }
    free(w->uniq);
    free(w->capped);
    free(w->ufailed);
    free(w->usamples);
    free(w->nus);
    assay_hashset_free(w->rowdups);
    free(w);
}

void assay_agg_free(assay_agg *a)
{
    if (!a->e)
        return;
    for (size_t i = 0; i < a->nsubs; i++)
        assay_partial_delete(a->e, a->subs[i]);
    free(a->subs);
    for (size_t i = 0; i < a->nwins; i++)
        assay_agg_window_free(a->e, a->wins[i]);
    free(a->wins);
    for (size_t i = 0; i < a->nbad_kept; i++)
        free(a->bad[i].text);
    assay_partial_free(a->e, &a->scratch);
    free(a->pfirst);
    free(a->parts);
    free(a->blocked);
    for (uint32_t i = 0; a->blocked_why && i < a->nblocked; i++)
        free(a->blocked_why[i]);
    free(a->blocked_why);
    free(a->blocked_rule);
    for (uint32_t c = 0; a->colset && c < a->e->sch.ncols; c++)
        assay_hashset_free(a->colset[c]);
    free(a->colset);
    free(a->col_seen);
    free(a->col_repeats);
    free(a->col_state);
    free(a->kbuf);
    free(a->vbuf);
    free(a->rbuf);
    free(a->key_hint);
    memset(a, 0, sizeof(*a));
}

size_t assay_agg_open_windows(const assay_agg *a)
{
    if (!a->started || a->nsubs == 0)
        return a->nwins;
    int64_t last = a->subs[a->nsubs - 1]->pane; /* sorted by pane */
    return last >= a->next ? (size_t)(last - a->next + 1) : 0;
}

/* ---------------------------------------------------------------------------------
 * Sorted sub-panes and window states
 * ------------------------------------------------------------------------------- */

static int sub_cmp(const assay_partial *p, int64_t pane, int64_t first)
{
    if (p->pane != pane)
        return p->pane < pane ? -1 : 1;
    return (p->first > first) - (p->first < first);
}

/* Index of the first sub-pane not below (pane, first). */
static size_t sub_lower(const assay_agg *a, int64_t pane, int64_t first)
{
    size_t lo = 0, hi = a->nsubs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sub_cmp(a->subs[mid], pane, first) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

assay_partial *assay_agg_sub_new(const assay_engine *e, int64_t pane, int64_t first)
{
    assay_partial *p = assay_partial_new(e, false);
    if (p)
        assay_partial_reset(e, p, pane, first);
    return p;
}

static int sub_get(assay_agg *a, int64_t pane, int64_t first, assay_partial **out)
{
    size_t i = sub_lower(a, pane, first);
    if (i < a->nsubs && sub_cmp(a->subs[i], pane, first) == 0) {
        *out = a->subs[i];
        return 0;
    }
    if (ASSAY_RESERVE(a->subs, a->nsubs, a->subs_cap, 16) < 0)
        return -ENOMEM;
    assay_partial *p = assay_agg_sub_new(a->e, pane, first);
    if (!p)
        return -ENOMEM;
    memmove(&a->subs[i + 1], &a->subs[i], (a->nsubs - i) * sizeof(*a->subs));
    a->subs[i] = p;
    a->nsubs++;
    *out = p;
    return 0;
}

win_state *assay_agg_window_new(const assay_engine *e, int64_t k)
{
    size_t nr = e->nrules ? e->nrules : 1;
    win_state *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->k = k;
    w->uniq = calloc(nr, sizeof(*w->uniq));
    w->capped = calloc(nr, sizeof(bool));
    w->ufailed = calloc(nr, sizeof(uint64_t));
    w->usamples = calloc(nr, sizeof(pos_sample *));
    w->nus = calloc(nr, sizeof(uint32_t));
    if (!w->uniq || !w->capped || !w->ufailed || !w->usamples || !w->nus) {
        assay_agg_window_free(e, w);
        return NULL;
    }
    return w;
}

static size_t ws_lower(const assay_agg *a, int64_t k)
{
    size_t lo = 0, hi = a->nwins;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a->wins[mid]->k < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static win_state *ws_find(const assay_agg *a, int64_t k)
{
    size_t i = ws_lower(a, k);
    return i < a->nwins && a->wins[i]->k == k ? a->wins[i] : NULL;
}

static int ws_get(assay_agg *a, int64_t k, win_state **out)
{
    size_t i = ws_lower(a, k);
    if (i < a->nwins && a->wins[i]->k == k) {
        *out = a->wins[i];
        return 0;
    }
    if (ASSAY_RESERVE(a->wins, a->nwins, a->wins_cap, 16) < 0)
        return -ENOMEM;
    win_state *w = assay_agg_window_new(a->e, k);
    if (!w)
        return -ENOMEM;
    memmove(&a->wins[i + 1], &a->wins[i], (a->nwins - i) * sizeof(*a->wins));
    a->wins[i] = w;
    a->nwins++;
    *out = w;
    return 0;
}

/* Count late/bad rows in the window that closes next after frontier f. */
static int attribute(assay_agg *a, int64_t f, uint64_t late, uint64_t bad)
{
    if (!late && !bad)
        return 0;
    if (a->e->win.global)
        f = 0;
    if (a->started && (f == ASSAY_TIME_NONE || f < a->next))
        f = a->next;
    if (f == ASSAY_TIME_NONE) {
        a->pend_late += late;
        a->pend_bad += bad;
        return 0;
    }
    win_state *w;
    int rc = ws_get(a, f, &w);
    if (rc < 0)
        return rc;
    w->late += late;
    w->bad += bad;
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Unique values and duplicate rows
 * ------------------------------------------------------------------------------- */

static int blocked_push(assay_agg *a, uint32_t ord, const char *rule, const char *why)
{
    if (a->nblocked == a->blocked_cap) {
        uint32_t cap = a->blocked_cap ? 2 * a->blocked_cap : 64;
        uint32_t *p = realloc(a->blocked, cap * sizeof(*p));
        char **q = realloc(a->blocked_why, cap * sizeof(*q));
        const char **r = realloc(a->blocked_rule, cap * sizeof(*r));
        if (p)
            a->blocked = p;
        if (q)
            a->blocked_why = q;
        if (r)
            a->blocked_rule = r;
        if (!p || !q || !r)
            return -ENOMEM;
        a->blocked_cap = cap;
    }
    a->blocked[a->nblocked] = ord;
    a->blocked_rule[a->nblocked] = rule;
    a->blocked_why[a->nblocked] = strdup(why);
    if (!a->blocked_why[a->nblocked])
        return -ENOMEM;
    a->nblocked++;
    return 0;
}

static inline const char *key_text(const chunk_msg *m, const ukey *k)
{
    return k->in_arena ? m->text.p + k->off : m->chunk.data + k->off;
}

/* Insert keys[from, to) (all in windows [j, p]) into rule r's sets of those windows;
 * r < 0: duplicate rows. */
static int keys_to_windows(assay_agg *a, const chunk_msg *m, long r, const ukey *keys, size_t n,
                           int64_t j, int64_t p, uint64_t row_base)
{
    const assay_engine *e = a->e;
    for (size_t i = 0; i < n; i++) {
        a->kbuf[i] = keys[i].hash;
        a->vbuf[i] = row_base + keys[i].ord + 1;
    }
    for (int64_t k = j; k <= p; k++) {
        win_state *w;
        int rc = ws_get(a, k, &w);
        if (rc < 0)
            return rc;
        assay_hashset **set = r >= 0 ? &w->uniq[r] : &w->rowdups;
        size_t hint = a->key_hint[r >= 0 ? (size_t)r : e->nrules];
        if (!*set && (rc = assay_hashset_new(set, hint, e->cfg->limits.unique_memory)) < 0)
            return rc;
        assay_hashset_insert_batch(*set, a->kbuf, a->vbuf, n, a->rbuf);
        for (size_t i = 0; i < n; i++) {
            if (a->rbuf[i] == -ENOSPC) {
                if (r >= 0)
                    w->capped[r] = true;
                else
                    w->rowdups_capped = true;
                continue;
            }
            if (a->rbuf[i] != 0)
                continue;
            if (r < 0) {
                w->rowdup_repeats++;
                continue;
            }
            w->ufailed[r]++;
            const char *text = key_text(m, &keys[i]);
            if (w->nus[r] < e->max_samples) {
                if (!w->usamples[r] &&
                    !(w->usamples[r] = calloc(e->max_samples, sizeof(pos_sample))))
                    return -ENOMEM;
                /* unique keeps the first repeats (priority = row number); where the row
                 * starts in its input is not known here */
                pos_sample x = { .pos = a->vbuf[i], .prio = a->vbuf[i], .offset = UINT64_MAX };
                if ((rc = assay_samples_keep(w->usamples[r], &w->nus[r], e->max_samples, &x, text,
                                             keys[i].len, false)) < 0)
                    return rc;
            }
            if (e->rules[r].cfg->action == ASSAY_ACTION_BLOCK) {
                uint64_t first = 0;
                assay_hashset_get(*set, keys[i].hash, &first);
                char why[200];
                snprintf(why, sizeof(why), "unique: column '%s' value '%.*s' repeats row %llu",
                         e->sch.names[e->rules[r].col], (int)ASSAY_MIN(keys[i].len, 80u), text,
                         (unsigned long long)first);
                if ((rc = blocked_push(a, keys[i].ord, e->rules[r].cfg->name, why)) < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* Keys of one list, in row order, batched while consecutive keys share windows. */
/* exact_keys: column c's values of one chunk, in stream order. A column stops being
 * tracked (its set freed) once 5% of its values repeat: it is no key, and a set of a
 * low-cardinality column's every value would be wasted work. */
static int fold_column_keys(assay_agg *a, uint32_t c, const ukey_list *l)
{
    const assay_engine *e = a->e;
    for (size_t i = 0; i < l->n && a->col_state[c] == 0;) {
        size_t n = ASSAY_MIN(l->n - i, (size_t)1024);
        for (size_t k = 0; k < n; k++) {
            a->kbuf[k] = l->k[i + k].hash;
            a->vbuf[k] = 1;
        }
        int rc;
        if (!a->colset[c] &&
            (rc = assay_hashset_new(&a->colset[c], 1024, e->cfg->limits.unique_memory)) < 0)
            return rc;
        assay_hashset_insert_batch(a->colset[c], a->kbuf, a->vbuf, n, a->rbuf);
        for (size_t k = 0; k < n; k++) {
            if (a->rbuf[k] == -ENOSPC)
                a->col_state[c] = 2;
            a->col_repeats[c] += a->rbuf[k] == 0;
        }
        a->col_seen[c] += n;
        i += n;
        if (a->col_state[c] == 0 && a->col_seen[c] >= 1000 &&
            a->col_repeats[c] * 20 >= a->col_seen[c])
            a->col_state[c] = 1;
        if (a->col_state[c] != 0) {
            assay_hashset_free(a->colset[c]);
            a->colset[c] = NULL;
        }
    }
    return 0;
}

static int fold_keys(assay_agg *a, const chunk_msg *m, long r, const ukey_list *l,
                     uint64_t row_base)
{
    size_t i = 0;
    while (i < l->n) {
        uint32_t pi = l->k[i].part;
        int64_t p = m->parts[pi]->pane, j = a->pfirst[pi];
        size_t end = i + 1;
        while (end < l->n && end - i < 1024 && l->k[end].part == pi)
            end++;
        if (j <= p) {
            int rc = keys_to_windows(a, m, r, l->k + i, end - i, j, p, row_base);
            if (rc < 0)
                return rc;
        }
        i = end;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
 * Routes
 * ------------------------------------------------------------------------------- */

static int send_quarantine(assay_agg *a, const chunk_msg *m, const qrow *q, uint64_t row_base,
                           uint64_t line_base, const char *const *xnames,
                           const char *const *xreasons, size_t nx, assay_error *err)
{
    const char *names[72], *reasons[72];
    size_t n = 0;
    const char *p = m->text.p ? m->text.p + q->rules : NULL;
    const char *r = m->text.p ? m->text.p + q->reasons : NULL;
    for (uint32_t i = 0; i < q->nrules && n < 64; i++) {
        names[n] = p;
        reasons[n++] = r;
        p += strlen(p) + 1;
        r += strlen(r) + 1;
    }
    for (size_t i = 0; i < nx && n < 72; i++) {
        names[n] = xnames[i];
        reasons[n++] = xreasons[i];
    }
    const assay_engine *e = a->e;
    assay_quarantine_row qr = {
        .asset = e->cfg->asset,
        .rules = names,
        .reasons = reasons,
        .n = n,
        .file = e->paths && m->chunk.file < e->npaths ? e->paths[m->chunk.file] : NULL,
        .line = line_base + q->line_in_chunk + 1,
        .row = row_base + q->ord + 1,
        .value = m->chunk.data + q->off,
        .value_len = q->len,
        .partition = -1,
        .window_start =
            a->started && !e->win.global ? assay_window_start(&e->win, a->next) : ASSAY_TIME_NONE,
    };
    if (m->chunk.msgs) {
        const assay_msg_meta *mm = assay_chunk_msg_at(&m->chunk, q->off);
        qr.topic = e->cfg->source.kafka_topic;
        qr.partition = (int32_t)m->chunk.file;
        qr.msg = mm;
        qr.line = 0;
        if (mm && mm->poison) {
            /* a poison pill: the parser saw an empty line; say what the message was */
            static const char *const pp[] = { "parse_error" };
            qr.rules = pp;
            qr.reasons = &mm->poison;
            qr.n = 1;
        }
        if (mm && mm->orig) {
            qr.value = mm->orig;
            qr.value_len = mm->orig_len;
        }
    }
    return a->h.quarantine(a->h.ctx, &qr, err);
}

/* Clean runs and quarantined rows in row order; rows a blocking unique rule failed
 * leave their clean run (one row per run then, see shard.c) for the quarantine. */
static int fold_routes(assay_agg *a, const chunk_msg *m, uint64_t row_base, uint64_t line_base,
                       assay_error *err)
{
    if (!a->e->route)
        return 0;
    /* blocked rows by ordinal (stable: a row's reasons keep rule order) */
    for (uint32_t i = 1; i < a->nblocked; i++) {
        uint32_t o = a->blocked[i];
        char *w = a->blocked_why[i];
        const char *nm = a->blocked_rule[i];
        uint32_t j = i;
        while (j > 0 && a->blocked[j - 1] > o) {
            a->blocked[j] = a->blocked[j - 1];
            a->blocked_why[j] = a->blocked_why[j - 1];
            a->blocked_rule[j] = a->blocked_rule[j - 1];
            j--;
        }
        a->blocked[j] = o;
        a->blocked_why[j] = w;
        a->blocked_rule[j] = nm;
    }
    uint32_t ci = 0, qi = 0, bi = 0;
    uint64_t lc_off = 0, lc_n = 0; /* newline cursor for blocked rows */
    int rc = 0;
    while (rc == 0 && (ci < m->nclean || qi < m->nquar)) {
        uint32_t cord = ci < m->nclean ? m->clean[ci].ord : UINT32_MAX;
        uint32_t qord = qi < m->nquar ? m->quar[qi].ord : UINT32_MAX;
        if (qord < cord) {
            rc = send_quarantine(a, m, &m->quar[qi++], row_base, line_base, NULL, NULL, 0, err);
            continue;
        }
        const clean_run *c = &m->clean[ci++];
        while (bi < a->nblocked && a->blocked[bi] < c->ord)
            bi++;
        if (bi < a->nblocked && a->blocked[bi] == c->ord) {
            qrow q = { .ord = c->ord, .off = c->off, .len = c->len };
            while (q.len > 0 && (m->chunk.data[q.off + q.len - 1] == '\n' ||
                                 m->chunk.data[q.off + q.len - 1] == '\r'))
                q.len--;
            if (c->off > lc_off) /* runs come in row order, so offsets only grow */
                lc_n += assay_count_newlines(m->chunk.data + lc_off, c->off - lc_off);
            lc_off = c->off;
            q.line_in_chunk = lc_n;
            uint32_t first = bi;
            while (bi < a->nblocked && a->blocked[bi] == c->ord)
                bi++;
            rc = send_quarantine(a, m, &q, row_base, line_base, a->blocked_rule + first,
                                 (const char *const *)a->blocked_why + first, bi - first, err);
            continue;
        }
        rc = a->h.clean(a->h.ctx, m, m->chunk.data + c->off, c->len, c->nrows, c->add_newline, err);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------
 * Closing windows
 * ------------------------------------------------------------------------------- */

/* The smallest window >= from with any state (INT64_MAX when none). */
static int64_t next_with_state(const assay_agg *a, int64_t from)
{
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < a->nsubs; i++) {
        const assay_partial *p = a->subs[i];
        if (p->pane < from)
            continue;
        int64_t k = p->first > from ? p->first : from;
        best = k < best ? k : best;
    }
    size_t i = ws_lower(a, from);
    if (i < a->nwins && a->wins[i]->k < best)
        best = a->wins[i]->k;
    return best;
}

static int close_window(assay_agg *a, int64_t k, assay_error *err)
{
    const assay_engine *e = a->e;
    double closed_at = assay_mono_seconds(); /* the window's latency counts from here */
    assay_partial *acc = &a->scratch;
    assay_partial_reset(e, acc, k, k);
    int64_t q = e->win.q;
    int rc;
    /* sub-panes (p, j) with k <= p < k + q and j <= k, in (p, j) order */
    for (size_t i = sub_lower(a, k, INT64_MIN); i < a->nsubs && a->subs[i]->pane < k + q; i++) {
        const assay_partial *p = a->subs[i];
        if (p->first <= k && (rc = assay_partial_merge(e, acc, p, UINT64_MAX)) < 0)
            return assay_error_set(err, rc, "out of memory closing a window");
    }
    /* window state: its own, and whatever was counted before the first window */
    win_state *ws = ws_find(a, k);
    if (!ws && (a->pend_late || a->pend_bad || (a->nwins && a->wins[0]->k < k))) {
        if ((rc = ws_get(a, k, &ws)) < 0)
            return assay_error_set(err, rc, "out of memory closing a window");
    }
    if (ws) {
        ws->late += a->pend_late;
        ws->bad += a->pend_bad;
        a->pend_late = a->pend_bad = 0;
        while (a->nwins && a->wins[0]->k < k) {
            ws->late += a->wins[0]->late;
            ws->bad += a->wins[0]->bad;
            assay_agg_window_free(e, a->wins[0]);
            memmove(&a->wins[0], &a->wins[1], (a->nwins - 1) * sizeof(*a->wins));
            a->nwins--;
        }
    }
    assay_result *res = NULL;
    rc = assay_window_result(a, k, acc, ws, &res, err);
    if (rc < 0)
        return rc;
    res->closed_by_end = a->finishing;
    res->closed_at = closed_at;
    res->state = acc; /* for the alerts' drift sketches; the hook clears it */
    a->windows_emitted++;
    if ((rc = a->h.window(a->h.ctx, res, err)) < 0)
        return rc;
    if (ws) /* the next windows' sets start at this one's size */
        for (size_t r = 0; r <= e->nrules; r++) {
            const assay_hashset *s = r < e->nrules ? ws->uniq[r] : ws->rowdups;
            if (s)
                a->key_hint[r] = assay_hashset_size(s) + assay_hashset_size(s) / 8;
        }
    /* free what no later window needs: panes <= k, and window k's state */
    size_t keep = sub_lower(a, k + 1, INT64_MIN);
    for (size_t i = 0; i < keep; i++)
        assay_partial_delete(e, a->subs[i]);
    if (a->subs) /* NULL before any sub-pane: memmove wants real pointers */
        memmove(&a->subs[0], &a->subs[keep], (a->nsubs - keep) * sizeof(*a->subs));
    a->nsubs -= keep;
    size_t wi = ws_lower(a, k + 1);
    for (size_t i = 0; i < wi; i++)
        assay_agg_window_free(e, a->wins[i]);
    if (a->wins)
        memmove(&a->wins[0], &a->wins[wi], (a->nwins - wi) * sizeof(*a->wins));
    a->nwins -= wi;
    a->next = k + 1;
    return 0;
}

/* Close windows below `until`. */
static int close_until(assay_agg *a, int64_t until, assay_error *err)
{
    if (!a->started)
        return 0;
    uint64_t limit = a->e->cfg->limits.empty_windows;
    while (a->next < until) {
        int64_t nd = next_with_state(a, a->next);
        int64_t stop = nd < until ? nd : until;
        if (stop > a->next && (uint64_t)(stop - a->next) > limit) {
            /* a long run of empty windows: report the gap, emit none of it */
            if (a->h.gap)
                a->h.gap(a->h.ctx, a->next, stop);
            a->windows_skipped += (uint64_t)(stop - a->next);
            a->next = stop;
            continue;
        }
        int rc = close_window(a, a->next, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int advance_to(assay_agg *a, int64_t m, assay_error *err)
{
    if (m == ASSAY_TIME_NONE)
        return 0;
    int64_t wm = assay_window_watermark(&a->e->win, m);
    if (a->wm == ASSAY_TIME_NONE || wm > a->wm)
        a->wm = wm;
    return close_until(a, assay_window_frontier(&a->e->win, a->wm), err);
}

int assay_agg_advance(assay_agg *a, int64_t now_us, assay_error *err)
{
    if (a->e->win.global)
        return 0;
    return advance_to(a, now_us, err);
}

/* Per-part streams: the part of a chunk, found or added (kept sorted by part). */
agg_part *assay_agg_part(assay_agg *a, uint32_t part)
{
    size_t i = 0;
    while (i < a->nparts && a->parts[i].part < part)
        i++;
    if (i < a->nparts && a->parts[i].part == part)
        return &a->parts[i];
    if (ASSAY_RESERVE(a->parts, a->nparts, a->parts_cap, 16) < 0)
        return NULL;
    memmove(a->parts + i + 1, a->parts + i, (a->nparts - i) * sizeof(*a->parts));
    a->nparts++;
    a->parts[i] = (agg_part){ .part = part, .max_event = ASSAY_TIME_NONE };
    return &a->parts[i];
}

/* The stream's event-time front with per-part watermarks: the least of the parts'
 * largest event times over the parts heard from within window.idle of now (all of
 * them when idle is 0). A part that is silent does not hold the windows open; when
 * every part is, the pipeline lets the watermark follow the clock (assay_agg_advance).
 * ASSAY_TIME_NONE when no part counts. */
static int64_t parts_front(const assay_agg *a, int64_t now_us)
{
    int64_t idle = a->e->win.idle_us, best = ASSAY_TIME_NONE;
    for (size_t i = 0; i < a->nparts; i++) {
        const agg_part *p = &a->parts[i];
        if (idle > 0 && !p->away && now_us - p->heard_us >= idle)
            continue;
        if (p->max_event == ASSAY_TIME_NONE)
            return ASSAY_TIME_NONE; /* assigned, not heard from yet: wait for it (or idle) */
        if (best == ASSAY_TIME_NONE || p->max_event < best)
            best = p->max_event;
    }
    return best;
}

/* Per-part streams (Kafka partitions): a row is late when its windows are closed by
 * the stream's watermark - the least over the active parts, so a lagging partition
 * holds the windows open for everyone - or by its own partition's, which runs ahead of
 * the stream's and says the row is more than `lateness` behind what its partition
 * already delivered. The shard ran the partition's watermark over the chunk alone
 * (j_in = max(first window of the pane, c_in)); the partition's rows before the chunk
 * add the frontier c_pb of their largest event time, and c(max(a, b)) =
 * max(c(a), c(b)) makes max(j_in, c_pb) exactly the partition's frontier for each row;
 * the stream's frontier then applies as for files. */
static int64_t part_frontier_before(const assay_agg *a, uint32_t part)
{
    const assay_window_spec *w = &a->e->win;
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].part == part)
            return assay_window_frontier(w, assay_window_watermark(w, a->parts[i].max_event));
    return ASSAY_TIME_NONE;
}

bool assay_agg_all_idle(const assay_agg *a, int64_t now_us)
{
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].away || now_us - a->parts[i].heard_us < a->e->win.idle_us)
            return false;
    return a->parts_synced && a->nparts > 0;
}

void assay_agg_sync_parts(assay_agg *a, const uint32_t *parts, size_t n, int64_t now_us)
{
    for (size_t i = 0; i < n; i++) {
        agg_part *p = NULL;
        for (size_t j = 0; j < a->nparts && !p; j++)
            if (a->parts[j].part == parts[i])
                p = &a->parts[j];
        /* its idle time counts from its assignment (parts loaded from a checkpoint or
         * back from away included: their silence while not ours does not count) */
        if (!p || !a->parts_synced || p->away) {
            if (!p)
                p = assay_agg_part(a, parts[i]);
            if (p) {
                p->heard_us = now_us;
                p->away = false;
            }
        }
    }
    for (size_t j = 0; j < a->nparts; j++) {
        bool kept = false;
        for (size_t i = 0; i < n && !kept; i++)
            kept = a->parts[j].part == parts[i];
        if (!kept)
            a->parts[j].away = true;
    }
    a->parts_synced = true;
}

/* ---------------------------------------------------------------------------------
 * Folding a chunk
 * ------------------------------------------------------------------------------- */

static int keep_bad_samples(assay_agg *a, chunk_msg *m, uint64_t row_base, uint64_t line_base)
{
    a->nbad += m->nbad;
    for (uint32_t i = 0; i < m->nbad_kept && a->nbad_kept < ASSAY_BAD_SAMPLES; i++) {
        const bad_acc *b = &m->bad[i];
        assay_bad_sample *o = &a->bad[a->nbad_kept++];
        o->file = m->chunk.file;
        o->row = row_base + b->ord + 1;
        o->line = line_base + b->line_in_chunk + 1;
        memcpy(o->reason, b->reason, sizeof(o->reason));
        o->text = b->text ? strdup(b->text) : NULL;
    }
    return 0;
}

int assay_agg_fold(assay_agg *a, chunk_msg *m, assay_error *err)
{
    const assay_engine *e = a->e;
    const assay_window_spec *w = &e->win;
    int rc;
    if (m->chunk.file != a->file) {
        a->file = m->chunk.file;
        a->lines = 0;
    }
    uint64_t row_base = a->rows, line_base = a->lines;
    int64_t cm = assay_window_frontier(w, a->wm);
    if (w->per_part) {
        /* the partition's own frontier counts like the stream's (see above) */
        int64_t pb = part_frontier_before(a, m->chunk.file);
        if (pb != ASSAY_TIME_NONE && (cm == ASSAY_TIME_NONE || pb > cm))
            cm = pb;
    }
    if (!w->event_time && !w->global) {
        /* arrival time: the chunk's stamp is the watermark its rows see */
        if (m->chunk.arrival_us > a->max_event)
            a->max_event = m->chunk.arrival_us;
    }

    /* 1-2. partials into sub-panes */
    if (m->nparts > a->pfirst_cap) {
        int64_t *p = realloc(a->pfirst, m->nparts * sizeof(*p));
        if (!p)
            return assay_error_set(err, -ENOMEM, "out of memory folding a chunk");
        a->pfirst = p;
        a->pfirst_cap = m->nparts;
    }
    for (uint32_t i = 0; i < m->nparts; i++) {
        assay_partial *p = m->parts[i];
        int64_t j = p->first;
        if (cm != ASSAY_TIME_NONE && cm > j)
            j = cm;
        a->pfirst[i] = j;
        if (j > p->pane) {
            if ((rc = attribute(a, j, p->rows, 0)) < 0)
                return assay_error_set(err, rc, "out of memory folding a chunk");
            continue;
        }
        /* windows are emitted from the earliest one with rows: the first rows', or
         * (before any window closed) an earlier one that later rows within the
         * lateness reach; once windows close, j >= c_M >= next */
        if (!a->started || j < a->next) {
            a->next = j;
            a->started = true;
        }
        assay_partial *sp;
        if ((rc = sub_get(a, p->pane, j, &sp)) < 0 ||
            (rc = assay_partial_merge(e, sp, p, row_base)) < 0)
            return assay_error_set(err, rc, "out of memory folding a chunk");
    }

    /* 3. late and bad rows */
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        const bucket *b = &m->buckets[i];
        int64_t f = b->frontier;
        if (cm != ASSAY_TIME_NONE && (f == ASSAY_TIME_NONE || cm > f))
            f = cm;
        if ((rc = attribute(a, f, b->late, b->bad)) < 0)
            return assay_error_set(err, rc, "out of memory folding a chunk");
    }
    keep_bad_samples(a, m, row_base, line_base);

    /* 4. unique values and duplicate rows */
    for (uint32_t i = 0; i < a->nblocked; i++)
        free(a->blocked_why[i]);
    a->nblocked = 0;
    for (size_t r = 0; m->ukeys && r < e->nrules; r++)
        if (m->ukeys[r].n && (rc = fold_keys(a, m, (long)r, &m->ukeys[r], row_base)) < 0)
            return assay_error_set(err, rc, "out of memory checking unique values");
    if (m->rowkeys.n && (rc = fold_keys(a, m, -1, &m->rowkeys, row_base)) < 0)
        return assay_error_set(err, rc, "out of memory counting duplicate rows");
    for (uint32_t c = 0; m->colkeys && a->colset && c < e->sch.ncols; c++)
        if (m->colkeys[c].n && (rc = fold_column_keys(a, c, &m->colkeys[c])) < 0)
            return assay_error_set(err, rc, "out of memory counting repeated values");

    /* 5. routes */
    if ((rc = fold_routes(a, m, row_base, line_base, err)) < 0)
        return rc;

    a->rows += m->rows;
    a->lines += m->lines;
    a->bytes += m->chunk.len;
    a->chunks++;
    a->next_seq = m->chunk.seq + 1;
    a->next_off = m->chunk.msgs ? m->chunk.end : m->chunk.offset + m->chunk.len + m->chunk.skipped;

    /* 6. the watermark moves on; windows close */
    if (w->global)
        return 0;
    if (m->max_event > a->max_event)
        a->max_event = m->max_event;
    if (!w->per_part)
        return advance_to(a, a->max_event, err);
    agg_part *pt = assay_agg_part(a, m->chunk.file);
    if (!pt)
        return assay_error_set(err, -ENOMEM, "out of memory folding a chunk");
    if (m->max_event > pt->max_event)
        pt->max_event = m->max_event;
    pt->heard_us = m->chunk.arrival_us;
    pt->next_off = a->next_off;
    return advance_to(a, parts_front(a, m->chunk.arrival_us), err);
}

int assay_agg_finish(assay_agg *a, assay_error *err)
{
    a->finishing = true;
    if (a->e->win.global) {
        a->started = true;
        a->next = 0;
        return close_window(a, 0, err);
    }
    if (!a->started)
        return 0;
    int64_t last = a->next - 1;
    for (size_t i = 0; i < a->nsubs; i++)
        last = a->subs[i]->pane > last ? a->subs[i]->pane : last;
    for (size_t i = 0; i < a->nwins; i++)
        last = a->wins[i]->k > last ? a->wins[i]->k : last;
    int rc = close_until(a, last + 1, err);
    /* what the end closed stays closed: a later run over the grown input (resuming from
     * the checkpoint) counts rows of these windows as late instead of opening them again */
    int64_t wm = assay_window_end(&a->e->win, last);
    if (rc == 0 && (a->wm == ASSAY_TIME_NONE || a->wm < wm))
        a->wm = wm;
    return rc;
}
