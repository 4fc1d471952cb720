/*
 * alertmanager.c - the Alertmanager sink: alert records (assay_encode_alert_am objects)
 * POSTed as JSON arrays to URL/api/v2/alerts.
 *
 * Why a background thread. The pipeline writes alerts from its own thread, between
 * windows, and must never wait on a network peer that may be slow, restarting or gone.
 * write() therefore only copies the record into a table keyed by the alert id (a newer
 * record for an id replaces the older one: Alertmanager only cares about the latest
 * state of an alert) and marks it dirty; the mutex guarding the table is held for a
 * lookup and a pointer swap, the copy is made before it is taken. One thread, started
 * at open and joined at close, owns the libcurl handle and does all the I/O: it POSTs
 * the alerts that are due - dirty ones and those due for a re-send - in one array (at
 * most AM_BATCH_MAX per request), with a connect timeout of 2 s and a total timeout of
 * 5 s.
 *
 * The re-send rule. Alertmanager ends an alert that has no endsAt when it has not heard
 * of it for resolve_timeout (5m by default), so the thread re-posts every firing alert
 * every `resend` (60 s), well inside that. A resolved record (meta->final) carries
 * endsAt; it is re-posted at the same pace for 5 minutes after it arrived - in case an
 * Alertmanager restarted without its state, or a peer of a cluster missed it - and then
 * forgotten (one never delivered is kept until it is, or until the bound drops it).
 * Re-posting is harmless: Alertmanager deduplicates by label set.
 *
 * Backoff. A failed POST (no connection, timeout, a status other than 2xx) is counted,
 * its alerts stay queued, and the next attempt waits 0.5 s, then twice as long after
 * each further failure, at most 30 s; a success resets the delay. The reason of the
 * latest failure is kept for assay_sink_alertmanager_last_error.
 *
 * The bound. At most AM_MAX_TRACKED (10,000) alerts are held. Past that the oldest
 * resolved alert is forgotten first (its alert ends in Alertmanager by endsAt or
 * resolve_timeout anyway), then the least recently written firing one; each is counted
 * in `dropped`.
 *
 * Best effort, by design. flush(durable) waits at most AM_FLUSH_WAIT (2 s) for the
 * queue to be delivered - less when the thread is backing off past that - and returns 0
 * either way; close() cuts a POST in flight short and gives undelivered alerts one
 * last attempt of at most 2 s. A checkpoint therefore never waits long on
 * Alertmanager, and an alert can be lost when Alertmanager is down for longer than the
 * run lasts. That is the trade: Alertmanager deduplicates what is sent twice, and the
 * re-sends of firing alerts (and of resolved ones for 5 minutes) cover gaps after it
 * comes back; a file sink is the durable record. There is nothing to cut back at a
 * restart (mark/rewind are NULL): a replayed alert has the same labels and is absorbed
 * as a duplicate.
 */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "assay/sink.h"
#include "core/clock.h"
#include "sink/alertmanager.h"

#define AM_MAX_TRACKED        10000
#define AM_RESOLVED_KEEP      300.0 /* seconds a resolved alert is re-sent, then forgotten */
#define AM_DEFAULT_RESEND     60.0
#define AM_BACKOFF_MIN        0.5
#define AM_BACKOFF_MAX        30.0
#define AM_FLUSH_WAIT         2.0
#define AM_CONNECT_TIMEOUT_MS 2000L
#define AM_TIMEOUT_MS         5000L
#define AM_LAST_TIMEOUT_MS    2000L /* the attempt close() makes */
#define AM_BATCH_MAX          1000
#define AM_BATCH_BYTES        (8u << 20)
#define AM_NBUCKETS           4096 /* power of two */
#define AM_PATH               "/api/v2/alerts"

typedef struct am_entry {
    struct am_entry *hnext;       /* bucket chain */
    struct am_entry *prev, *next; /* all entries, least recently written first */
    char *key;
    size_t key_len;
    uint64_t hash;
    char *body;
    size_t len;
    uint64_t gen;       /* which write the body came from */
    uint64_t sending;   /* gen of the body in the POST in flight; 0: not in it */
    bool final;         /* resolved record */
    bool dirty;         /* not delivered since written */
    double resolved_at; /* final: when the resolved record arrived (monotonic s) */
    double sent_at;     /* last delivery of any body (monotonic s); 0: never */
} am_entry;

typedef struct am_sink {
    assay_sink base;
    char *endpoint; /* URL + /api/v2/alerts */

    pthread_mutex_t mu;
    pthread_cond_t wake; /* to the thread: new work, a new interval, stop */
    pthread_cond_t idle; /* from the thread: an attempt finished */
    pthread_t thread;

    /* under mu */
    am_entry *buckets[AM_NBUCKETS];
    am_entry *head, *tail;
    size_t tracked, ndirty;
    uint64_t gen;
    double resend;
    double backoff;  /* delay after the last failure; 0 after a success */
    double retry_at; /* no attempt before this (monotonic s) */
    bool stop;
    assay_am_stats st;
    char last_error[CURL_ERROR_SIZE + 128];

    /* set under mu, read by the transfer's progress callback without it */
    int abort_transfer;
} am_sink;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* FNV-1a: keys are short alert ids. */
static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ull;
    }
    return h;
}

static am_entry **bucket(am_sink *a, uint64_t h)
{
    return &a->buckets[h & (AM_NBUCKETS - 1)];
}

static am_entry *find(am_sink *a, const char *k, size_t n, uint64_t h)
{
    for (am_entry *e = *bucket(a, h); e; e = e->hnext)
        if (e->hash == h && e->key_len == n && memcmp(e->key, k, n) == 0)
            return e;
    return NULL;
}

static void list_unlink(am_sink *a, am_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        a->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        a->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_append(am_sink *a, am_entry *e)
{
    e->prev = a->tail;
    e->next = NULL;
    if (a->tail)
        a->tail->next = e;
    else
        a->head = e;
    a->tail = e;
}

static void entry_free(am_entry *e)
{
    if (e) {
        free(e->key);
        free(e->body);
        free(e);
    }
}

/* Take e out of the table; the caller frees it (outside the lock if it likes). */
static void forget(am_sink *a, am_entry *e)
{
    am_entry **pp = bucket(a, e->hash);
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    list_unlink(a, e);
    a->tracked--;
    if (e->dirty)
        a->ndirty--;
}

/* The entry to give up to stay in the bound: the oldest resolved one, else the least
 * recently written. */
static am_entry *victim(am_sink *a)
{
    for (am_entry *e = a->head; e; e = e->next)
        if (e->final)
            return e;
    return a->head;
}

static int am_write(assay_sink *s, const assay_sink_meta *m, const void *p, size_t len,
                    assay_error *err)
{
    am_sink *a = (am_sink *)s;
    if (!m || !m->key || m->key_len == 0)
        return assay_error_set(err, -EINVAL,
                               "%s: a record without an alert id (only alerts can go to "
                               "Alertmanager)",
                               s->name);
    /* The copies are made before the lock is taken. */
    char *body = malloc(len ? len : 1);
    am_entry *fresh = calloc(1, sizeof(*fresh));
    char *key = malloc(m->key_len + 1);
    if (!body || !fresh || !key) {
        free(body);
        free(fresh);
        free(key);
        return assay_error_set(err, -ENOMEM, "%s: out of memory queueing an alert", s->name);
    }
    memcpy(body, p, len);
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    uint64_t h = key_hash(m->key, m->key_len);
    double now = assay_mono_seconds();
    char *old_body = NULL;
    am_entry *dropped = NULL;

    pthread_mutex_lock(&a->mu);
    am_entry *e = find(a, m->key, m->key_len, h);
    if (e) {
        old_body = e->body;
        list_unlink(a, e);
    } else {
        if (a->tracked >= AM_MAX_TRACKED) {
            dropped = victim(a);
            forget(a, dropped);
            a->st.dropped++;
        }
        e = fresh;
        fresh = NULL;
        e->key = key;
        key = NULL;
        e->key_len = m->key_len;
        e->hash = h;
        e->hnext = *bucket(a, h);
        *bucket(a, h) = e;
        a->tracked++;
    }
    list_append(a, e);
    e->body = body;
    e->len = len;
    e->gen = ++a->gen;
    if (m->final && !e->final)
        e->resolved_at = now;
    e->final = m->final;
    if (!e->dirty) {
        e->dirty = true;
        a->ndirty++;
    }
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);

    free(old_body);
    entry_free(dropped);
    free(fresh);
    free(key);
    s->records++;
    s->bytes += len;
    return 0;
}

static int am_poll(assay_sink *s, assay_error *err)
{
    (void)s, (void)err;
    return 0;
}

static int am_flush(assay_sink *s, bool durable, assay_error *err)
{
    (void)durable, (void)err; /* best effort: see the top of the file */
    am_sink *a = (am_sink *)s;
    double deadline = assay_mono_seconds() + AM_FLUSH_WAIT;
    pthread_mutex_lock(&a->mu);
    pthread_cond_signal(&a->wake);
    while (a->ndirty > 0 && a->retry_at <= deadline) {
        double now = assay_mono_seconds();
        if (now >= deadline)
            break;
        double until = deadline;
        struct timespec ts = { .tv_sec = (time_t)until,
                               .tv_nsec = (long)((until - floor(until)) * 1e9) };
        pthread_cond_timedwait(&a->idle, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* Whether an alert is to be sent now: undelivered ones, and (unless dirty_only)
 * delivered ones whose re-send is due - resolved ones only within AM_RESOLVED_KEEP. */
static bool due(const am_sink *a, const am_entry *e, double now, bool dirty_only)
{
    if (e->dirty)
        return true;
    if (dirty_only)
        return false;
    if (e->final && now - e->resolved_at >= AM_RESOLVED_KEEP)
        return false;
    return now - e->sent_at >= a->resend;
}

/* Forget resolved alerts delivered and past AM_RESOLVED_KEEP, count the alerts due,
 * and find when the next re-send or expiry falls due (*next; INFINITY: none). */
static size_t expire_and_count(am_sink *a, double now, double *next)
{
    size_t n = 0;
    *next = INFINITY;
    for (am_entry *e = a->head, *nx; e; e = nx) {
        nx = e->next;
        if (e->final && !e->dirty && now - e->resolved_at >= AM_RESOLVED_KEEP) {
            forget(a, e);
            entry_free(e);
            continue;
        }
        if (due(a, e, now, false)) {
            n++;
            continue;
        }
        double t = e->sent_at + a->resend;
        if (e->final && e->resolved_at + AM_RESOLVED_KEEP < t)
            t = e->resolved_at + AM_RESOLVED_KEEP; /* when it is forgotten */
        if (t < *next)
            *next = t;
    }
    return n;
}

/* The due alerts as one JSON array, noting which body of each is in it. */
static size_t build_batch(am_sink *a, double now, bool dirty_only, char **out, size_t *out_len)
{
    size_t bytes = 2, n = 0;
    for (am_entry *e = a->head; e && n < AM_BATCH_MAX; e = e->next) {
        if (!due(a, e, now, dirty_only))
            continue;
        if (n > 0 && bytes + e->len + 1 > AM_BATCH_BYTES)
            break;
        bytes += e->len + (n > 0);
        n++;
    }
    char *buf = malloc(bytes + 1);
    if (!buf)
        return 0;
    size_t off = 0, k = 0;
    buf[off++] = '[';
    for (am_entry *e = a->head; e && k < n; e = e->next) {
        if (!due(a, e, now, dirty_only))
            continue;
        if (k > 0)
            buf[off++] = ',';
        memcpy(buf + off, e->body, e->len);
        off += e->len;
        e->sending = e->gen;
        k++;
    }
    buf[off++] = ']';
    buf[off] = '\0';
    *out = buf;
    *out_len = off;
    return n;
}

/* After an attempt: on success the alerts in it are delivered (unless rewritten since),
 * on failure they stay as they were. */
static void settle(am_sink *a, bool ok, size_t n, double now)
{
    for (am_entry *e = a->head; e; e = e->next) {
        if (!e->sending)
            continue;
        if (ok) {
            e->sent_at = now;
            if (e->sending == e->gen && e->dirty) {
                e->dirty = false;
                a->ndirty--;
            }
        }
        e->sending = 0;
    }
    if (ok) {
        a->st.posts_ok++;
        a->st.alerts_sent += n;
        a->backoff = 0;
        a->retry_at = 0;
        a->last_error[0] = '\0';
    } else {
        a->st.posts_failed++;
        a->backoff = a->backoff > 0 ? fmin(a->backoff * 2, AM_BACKOFF_MAX) : AM_BACKOFF_MIN;
        a->retry_at = now + a->backoff;
    }
}

static size_t discard_body(char *p, size_t size, size_t n, void *user)
{
    (void)p, (void)user;
    return size * n;
}

static int progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    am_sink *a = user;
    return __atomic_load_n(&a->abort_transfer, __ATOMIC_ACQUIRE); /* nonzero aborts */
}

/* One POST, without the lock. Returns whether Alertmanager took it (2xx); on failure
 * fills msg. */
static bool post(am_sink *a, CURL *c, struct curl_slist *hdr, const char *body, size_t len,
                 long timeout_ms, char *msg, size_t cap)
{
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, a->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, AM_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (rc != CURLE_OK) {
        snprintf(msg, cap, "%s: cannot POST alerts: %s", a->endpoint,
                 ebuf[0] ? ebuf : curl_easy_strerror(rc));
        return false;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        snprintf(msg, cap, "%s: Alertmanager answered HTTP %ld to a POST of alerts", a->endpoint,
                 status);
        return false;
    }
    return true;
}

/* Build, send (lock released) and settle one batch; called and returns with mu held. */
static void attempt(am_sink *a, CURL *c, struct curl_slist *hdr, double now, bool dirty_only,
                    long timeout_ms)
{
    char *body = NULL;
    size_t len = 0;
    size_t n = build_batch(a, now, dirty_only, &body, &len);
    bool ok = false;
    char msg[sizeof(a->last_error)] = "";
    if (n > 0) {
        pthread_mutex_unlock(&a->mu);
        ok = post(a, c, hdr, body, len, timeout_ms, msg, sizeof(msg));
        free(body);
        pthread_mutex_lock(&a->mu);
    } else {
        snprintf(msg, sizeof(msg), "%s: out of memory building a POST of alerts", a->endpoint);
    }
    if (!ok)
        memcpy(a->last_error, msg, sizeof(msg));
    settle(a, ok, n, assay_mono_seconds());
    pthread_cond_broadcast(&a->idle);
}

static void *am_thread(void *arg)
{
    am_sink *a = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = hdr ? curl_slist_append(hdr, "Expect:") : NULL;
    if (h2)
        hdr = h2;

    pthread_mutex_lock(&a->mu);
    while (!a->stop) {
        if (!c || !hdr) {
            /* Cannot send at all: keep counting what comes in until close. */
            snprintf(a->last_error, sizeof(a->last_error),
                     "%s: cannot set up libcurl (out of memory?)", a->endpoint);
            a->retry_at = INFINITY; /* flush() need not wait for it */
            pthread_cond_broadcast(&a->idle);
            pthread_cond_wait(&a->wake, &a->mu);
            continue;
        }
        double now = assay_mono_seconds(), next;
        size_t n = expire_and_count(a, now, &next);
        if (n > 0 && now >= a->retry_at) {
            attempt(a, c, hdr, now, false, AM_TIMEOUT_MS);
            continue;
        }
        if (n > 0 && a->retry_at < next)
            next = a->retry_at;
        if (isinf(next)) {
            pthread_cond_wait(&a->wake, &a->mu);
        } else {
            struct timespec ts = { .tv_sec = (time_t)next,
                                   .tv_nsec = (long)((next - floor(next)) * 1e9) };
            pthread_cond_timedwait(&a->wake, &a->mu, &ts);
        }
    }
    /* close(): one last, short attempt for what was never delivered. */
    if (c && hdr && a->ndirty > 0) {
        __atomic_store_n(&a->abort_transfer, 0, __ATOMIC_RELEASE);
        attempt(a, c, hdr, assay_mono_seconds(), true, AM_LAST_TIMEOUT_MS);
    }
    pthread_mutex_unlock(&a->mu);
    curl_slist_free_all(hdr);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

static void free_sink(am_sink *a)
{
    for (am_entry *e = a->head, *nx; e; e = nx) {
        nx = e->next;
        entry_free(e);
    }
    free(a->endpoint);
    free(a->base.name);
    free(a);
}

static void am_close(assay_sink *s)
{
    am_sink *a = (am_sink *)s;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    /* A POST in flight is cut short; the last attempt below has its own 2 s. */
    __atomic_store_n(&a->abort_transfer, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->idle);
    free_sink(a);
}

void assay_sink_alertmanager_stats(assay_sink *s, assay_am_stats *out)
{
    am_sink *a = (am_sink *)s;
    pthread_mutex_lock(&a->mu);
    *out = a->st;
    out->tracked = a->tracked;
    out->undelivered = a->ndirty;
    pthread_mutex_unlock(&a->mu);
}

void assay_sink_alertmanager_last_error(assay_sink *s, char *buf, size_t cap)
{
    am_sink *a = (am_sink *)s;
    if (!cap)
        return;
    pthread_mutex_lock(&a->mu);
    snprintf(buf, cap, "%s", a->last_error);
    pthread_mutex_unlock(&a->mu);
}

void assay_sink_alertmanager_set_resend(assay_sink *s, double seconds)
{
    am_sink *a = (am_sink *)s;
    pthread_mutex_lock(&a->mu);
    a->resend = seconds > 0 ? seconds : AM_DEFAULT_RESEND;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->mu);
}

static const assay_sink_ops am_ops = {
    .name = "alertmanager",
    .write = am_write,
    .poll = am_poll,
    .flush = am_flush,
    .mark = NULL,   /* nothing to cut back: Alertmanager deduplicates a replay */
    .rewind = NULL, /* (see the top of the file) */
    .close = am_close,
};

/* URL + AM_PATH, after checking the URL: http or https, a host, no query or fragment,
 * no spaces or control characters. */
static int make_endpoint(const char *url, char **out, assay_error *err)
{
    *out = NULL;
    if (!url || !*url)
        return assay_error_set(err, -EINVAL,
                               "alertmanager sink: a URL is required (e.g. "
                               "http://localhost:9093)");
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return assay_error_set(err, -EINVAL,
                               "alertmanager sink: URL must start with http:// or https:// "
                               "(got '%s')",
                               url);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return assay_error_set(err, -EINVAL,
                                   "alertmanager sink: URL '%s' has a space or control "
                                   "character; percent-encode it",
                                   url);
    CURLU *u = curl_url();
    if (!u)
        return assay_error_set(err, -ENOMEM, "out of memory");
    char *host = NULL, *query = NULL, *frag = NULL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    int rc = 0;
    if (uc != CURLUE_OK)
        rc = assay_error_set(err, -EINVAL, "alertmanager sink: URL '%s' is not valid: %s", url,
                             curl_url_strerror(uc));
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        rc = assay_error_set(err, -EINVAL,
                             "alertmanager sink: URL '%s' has no host (e.g. "
                             "http://localhost:9093)",
                             url);
    else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK)
        rc = assay_error_set(err, -EINVAL,
                             "alertmanager sink: URL '%s' has a query or fragment; give the "
                             "base URL only (the sink adds %s)",
                             url, AM_PATH);
    curl_free(host);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    if (rc < 0)
        return rc;

    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    char *e = malloc(n + sizeof(AM_PATH));
    if (!e)
        return assay_error_set(err, -ENOMEM, "out of memory");
    memcpy(e, url, n);
    memcpy(e + n, AM_PATH, sizeof(AM_PATH));
    *out = e;
    return 0;
}

int assay_sink_alertmanager(assay_sink **out, const char *url, assay_error *err)
{
    *out = NULL;
    char *endpoint;
    int rc = make_endpoint(url, &endpoint, err);
    if (rc < 0)
        return rc;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        free(endpoint);
        return assay_error_set(err, -EIO, "alertmanager sink: cannot initialise libcurl: %s",
                               curl_easy_strerror(curl_init_rc));
    }
    am_sink *a = calloc(1, sizeof(*a));
    if (!a || !(a->base.name = strdup(url))) {
        free(a);
        free(endpoint);
        return assay_error_set(err, -ENOMEM, "out of memory");
    }
    a->base.ops = &am_ops;
    a->base.format = ASSAY_SINK_AM_V2;
    a->base.fresh = true;
    a->endpoint = endpoint;
    a->resend = AM_DEFAULT_RESEND;

    pthread_condattr_t ca;
    bool cond_ok = false, wake_ok = false, mu_ok = false;
    if (pthread_condattr_init(&ca) == 0) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        wake_ok = pthread_cond_init(&a->wake, &ca) == 0;
        cond_ok = pthread_cond_init(&a->idle, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    mu_ok = pthread_mutex_init(&a->mu, NULL) == 0;
    if (wake_ok && cond_ok && mu_ok && (rc = pthread_create(&a->thread, NULL, am_thread, a)) == 0) {
        *out = &a->base;
        return 0;
    }
    if (wake_ok)
        pthread_cond_destroy(&a->wake);
    if (cond_ok)
        pthread_cond_destroy(&a->idle);
    if (mu_ok)
        pthread_mutex_destroy(&a->mu);
    free_sink(a);
    return assay_error_set(err, -EAGAIN,
                           "alertmanager sink %s: cannot start its delivery thread (%s)", url,
                           rc > 0 ? strerror(rc) : "out of resources");
}
