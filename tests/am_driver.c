/*
 * am_driver.c - drives the Alertmanager sink for tests/alertmanager.sh, which runs a
 * real Alertmanager and checks what arrived there. Each mode prints "ok ..." lines for
 * what it checked itself and "FAIL ..." for what did not hold, and exits 1 on any
 * failure. Waits are on conditions with bounded timeouts.
 *
 *   am_driver encode             the Alertmanager encodings, one JSON object a line
 *   am_driver local DEAD_URL     URL checks, the table (replace, bound, drop order),
 *                                write/flush/close bounds against a dead Alertmanager
 *   am_driver fire URL           the firing record delivered, and re-sent
 *   am_driver resolve URL        the resolved record (replacing a firing one) delivered
 *   am_driver retry URL FILE     queued while URL is down (FILE created once a POST has
 *                                failed), delivered once it is up
 *   am_driver hang URL           flush and close stay within their bounds against a
 *                                peer that accepts connections and never answers
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assay/alert.h"
#include "assay/sink.h"
#include "core/clock.h"
#include "sink/alertmanager.h"

static int failures;

static void check(bool cond, const char *what)
{
    printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    fflush(stdout);
    if (!cond)
        failures++;
}

static int64_t at(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi
    };
    return (int64_t)timegm(&tm) * 1000000;
}

/* The test's alert: rule email_not_null breached on orders.email, fired in the window
 * 2026-01-01T00:10:00Z/00:20:00Z; resolved by the window 00:30/00:40. subject varies
 * the id. */
static void make_alert(assay_alert *a, const char *subject, bool resolved)
{
    memset(a, 0, sizeof(*a));
    a->kind = ASSAY_ALERT_RULE_BREACH;
    a->severity = ASSAY_SEV_HIGH;
    a->asset = "orders";
    a->subject = (char *)subject;
    a->column = (char *)"email";
    a->rule = (char *)"email_not_null";
    a->metric = (char *)"fail_rate";
    a->threshold = 0.01;
    a->value = 0.25;
    a->previous = NAN;
    a->fired_start = at(2026, 1, 1, 0, 10);
    a->fired_end = at(2026, 1, 1, 0, 20);
    a->state = resolved ? ASSAY_ALERT_RESOLVED : ASSAY_ALERT_FIRING;
    a->window_start = resolved ? at(2026, 1, 1, 0, 30) : a->fired_start;
    a->window_end = resolved ? at(2026, 1, 1, 0, 40) : a->fired_end;
    a->title = (char *)(resolved ? "Rule email_not_null resolved on orders.email"
                                 : "Rule email_not_null breached on orders.email");
    a->explanation = (char *)(resolved ? "email_not_null failed 0 of 100 rows (0%), within its "
                                         "threshold of 1%, for 3 windows."
                                       : "email_not_null failed 25 of 100 rows (25%), over its "
                                         "threshold of 1%.");
    assay_alert_make_id(a->asset, a->kind, a->subject, a->fired_start, a->id);
}

static int send_alert(assay_sink *s, const assay_alert *a, const assay_config *cfg, double *seconds)
{
    char *body;
    size_t len;
    assay_error err = { 0 };
    if (assay_encode_alert_am(a, cfg, &body, &len) < 0)
        return -1;
    assay_sink_meta m = { .key = a->id,
                          .key_len = strlen(a->id),
                          .final = a->state == ASSAY_ALERT_RESOLVED };
    double t0 = assay_mono_seconds();
    int rc = s->ops->write(s, &m, body, len, &err);
    if (seconds)
        *seconds = assay_mono_seconds() - t0;
    free(body);
    if (rc < 0)
        printf("write: %s\n", err.msg);
    return rc;
}

/* Write a record with an arbitrary key (the table tests: the bytes do not matter). */
static void put(assay_sink *s, const char *prefix, int i, bool final, double *worst)
{
    char key[32];
    snprintf(key, sizeof(key), "%s%d", prefix, i);
    assay_sink_meta m = { .key = key, .key_len = strlen(key), .final = final };
    assay_error err = { 0 };
    double t0 = assay_mono_seconds();
    if (s->ops->write(s, &m, "{}", 2, &err) < 0)
        failures++;
    double dt = assay_mono_seconds() - t0;
    if (dt > *worst)
        *worst = dt;
}

static assay_am_stats stats(assay_sink *s)
{
    assay_am_stats st;
    assay_sink_alertmanager_stats(s, &st);
    return st;
}

/* Poll until cond(s) holds, at most `limit` seconds. */
static bool wait_until(assay_sink *s, bool (*cond)(assay_sink *), double limit)
{
    double end = assay_mono_seconds() + limit;
    while (!cond(s)) {
        if (assay_mono_seconds() > end)
            return false;
        usleep(10000);
    }
    return true;
}

static bool has_failed(assay_sink *s)
{
    return stats(s).posts_failed > 0;
}

static bool has_posted(assay_sink *s)
{
    return stats(s).posts_ok > 0;
}

static bool resent(assay_sink *s)
{
    return stats(s).alerts_sent >= 2;
}

static assay_sink *open_sink(const char *url)
{
    assay_sink *s;
    assay_error err = { 0 };
    if (assay_sink_alertmanager(&s, url, &err) < 0) {
        printf("FAIL open %s: %s\n", url, err.msg);
        exit(1);
    }
    return s;
}

static double timed_flush(assay_sink *s, int *rc)
{
    assay_error err = { 0 };
    double t0 = assay_mono_seconds();
    *rc = s->ops->flush(s, true, &err);
    return assay_mono_seconds() - t0;
}

static int mode_encode(void)
{
    assay_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    assay_alert a;
    char *out;
    size_t len;
    /* 1: firing, no HTTP API; 2: firing with it; 3: resolved; 4: no column or rule */
    for (int i = 1; i <= 4; i++) {
        make_alert(&a, "email_not_null", i == 3);
        cfg.http.listen = i == 2 || i == 3 ? (char *)"127.0.0.1:8080" : NULL;
        if (i == 4) {
            a.kind = ASSAY_ALERT_VOLUME;
            a.subject = (char *)"rows";
            a.column = a.rule = NULL;
            a.asset = "";
        }
        if (assay_encode_alert_am(&a, &cfg, &out, &len) < 0)
            return 1;
        printf("%.*s\n", (int)len, out);
        free(out);
    }
    return 0;
}

static int mode_local(const char *dead)
{
    assay_sink *s;
    assay_error err = { 0 };
    int rc;
    static const struct {
        const char *url, *expect;
    } bad[] = {
        { "ftp://example.com",
          "URL must start with http:// or https:// (got 'ftp://example.com')" },
        { "localhost:9093", "must start with http://" },
        { "", "a URL is required" },
        { "http://", "alertmanager sink: URL" },
        { "http://am.example:9093/?x=1", "query or fragment" },
        { "http://am example:9093", "space or control character" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char what[1024];
        memset(&err, 0, sizeof(err));
        rc = assay_sink_alertmanager(&s, bad[i].url, &err);
        snprintf(what, sizeof(what), "URL '%s' refused: %s", bad[i].url, err.msg);
        check(rc == -EINVAL && s == NULL && strstr(err.msg, bad[i].expect), what);
    }
    rc = assay_sink_alertmanager(&s, NULL, &err);
    check(rc == -EINVAL, "NULL URL refused");
    s = open_sink("HTTPS://am.example:9093/prefix/");
    check(s->format == ASSAY_SINK_AM_V2 && !s->ops->mark && !s->ops->rewind,
          "https with a path prefix accepted; format alertmanager; no mark/rewind");
    assay_sink_close(s);

    /* Against a dead Alertmanager: writes return at once, flush within its bound,
     * the failures are counted and explained, and the table holds its bound. */
    s = open_sink(dead);
    assay_sink_meta nokey = { 0 };
    check(s->ops->write(s, &nokey, "{}", 2, &err) == -EINVAL, "a record without a key refused");
    double worst = 0;
    put(s, "same", 0, false, &worst);
    put(s, "same", 0, false, &worst);
    put(s, "same", 0, true, &worst);
    check(stats(s).tracked == 1, "a newer record for the same id replaces the older one");
    double ft = timed_flush(s, &rc);
    char what[1024];
    snprintf(what, sizeof(what), "flush with Alertmanager down returns 0 within 3 s (%.2f s)", ft);
    check(rc == 0 && ft < 3.0, what);
    check(wait_until(s, has_failed, 10), "failed POSTs counted");
    char msg[512];
    assay_sink_alertmanager_last_error(s, msg, sizeof(msg));
    snprintf(what, sizeof(what), "last error names the endpoint: %s", msg);
    check(strstr(msg, "/api/v2/alerts") != NULL, what);

    /* The bound: 100 resolved, then firing ones up to 10,000 tracked. */
    for (int i = 0; i < 100; i++)
        put(s, "r", i, true, &worst);
    for (int i = 0; i < 9899; i++)
        put(s, "f", i, false, &worst);
    assay_am_stats st = stats(s);
    check(st.tracked == 10000 && st.dropped == 0, "10,000 alerts tracked, none dropped");
    for (int i = 0; i < 50; i++)
        put(s, "n", i, false, &worst);
    st = stats(s);
    check(st.tracked == 10000 && st.dropped == 50, "past the bound: 50 dropped");
    put(s, "f", 0, false, &worst); /* the oldest firing one: kept, since resolved went first */
    st = stats(s);
    check(st.tracked == 10000 && st.dropped == 50, "resolved alerts are dropped first");
    for (int i = 0; i < 60; i++) /* 50 resolved left, then the oldest firing ones */
        put(s, "m", i, false, &worst);
    st = stats(s);
    check(st.tracked == 10000 && st.dropped == 110, "then the least recently written firing");
    put(s, "f", 1, false, &worst); /* dropped above: comes back as a new one */
    st = stats(s);
    check(st.tracked == 10000 && st.dropped == 111, "a dropped id comes back as new");
    snprintf(what, sizeof(what), "the slowest of %d writes took %.1f ms (< 50 ms)", 10113,
             worst * 1e3);
    check(worst < 0.05, what);
    ft = timed_flush(s, &rc);
    snprintf(what, sizeof(what), "flush of 10,000 queued alerts returns within 3 s (%.2f s)", ft);
    check(rc == 0 && ft < 3.0, what);
    double t0 = assay_mono_seconds();
    assay_sink_close(s);
    double ct = assay_mono_seconds() - t0;
    snprintf(what, sizeof(what), "close with Alertmanager down returns within 5 s (%.2f s)", ct);
    check(ct < 5.0, what);
    return failures ? 1 : 0;
}

static int mode_fire(const char *url)
{
    assay_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.http.listen = (char *)"127.0.0.1:8080";
    assay_sink *s = open_sink(url);
    assay_alert a;
    make_alert(&a, "email_not_null", false);
    double wt, ft;
    int rc;
    check(send_alert(s, &a, &cfg, &wt) == 0, "firing alert written");
    ft = timed_flush(s, &rc);
    assay_am_stats st = stats(s);
    char what[256];
    snprintf(what, sizeof(what), "flush delivered it (%.3f s): posts_ok %llu, alerts_sent %llu", ft,
             (unsigned long long)st.posts_ok, (unsigned long long)st.alerts_sent);
    check(rc == 0 && st.posts_ok >= 1 && st.alerts_sent >= 1 && st.posts_failed == 0, what);
    assay_sink_alertmanager_set_resend(s, 0.2);
    check(wait_until(s, resent, 10), "the firing alert is re-sent every resend interval");
    check(stats(s).tracked == 1, "one alert tracked");
    assay_sink_close(s);
    printf("id %s\n", a.id);
    return failures ? 1 : 0;
}

static int mode_resolve(const char *url)
{
    assay_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    assay_sink *s = open_sink(url);
    assay_alert a;
    make_alert(&a, "email_not_null", false);
    check(send_alert(s, &a, &cfg, NULL) == 0, "firing alert written");
    make_alert(&a, "email_not_null", true);
    check(send_alert(s, &a, &cfg, NULL) == 0, "its resolved record written");
    check(stats(s).tracked == 1, "the resolved record replaced the firing one");
    int rc;
    timed_flush(s, &rc);
    assay_am_stats st = stats(s);
    check(rc == 0 && st.posts_ok >= 1 && st.posts_failed == 0, "flush delivered it");
    assay_sink_alertmanager_set_resend(s, 0.2);
    check(wait_until(s, resent, 10), "the resolved alert is re-sent too");
    check(stats(s).tracked == 1, "and still tracked (for 5 minutes)");
    assay_sink_close(s);
    printf("id %s\n", a.id);
    return failures ? 1 : 0;
}

static int mode_retry(const char *url, const char *ready)
{
    assay_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    assay_sink *s = open_sink(url);
    assay_alert a;
    make_alert(&a, "email_not_null", false);
    double wt, ft;
    int rc;
    char what[256];
    check(send_alert(s, &a, &cfg, &wt) == 0, "alert written while Alertmanager is down");
    snprintf(what, sizeof(what), "write returned at once (%.1f ms)", wt * 1e3);
    check(wt < 0.05, what);
    ft = timed_flush(s, &rc);
    snprintf(what, sizeof(what), "flush returned 0 within its bound (%.2f s)", ft);
    check(rc == 0 && ft < 3.0, what);
    check(wait_until(s, has_failed, 10), "posts_failed > 0");
    assay_am_stats st = stats(s);
    check(st.posts_ok == 0 && st.tracked == 1, "the alert stays queued");
    FILE *f = fopen(ready, "w");
    if (f)
        fclose(f);
    /* The script starts Alertmanager now; backoff is capped at 30 s. */
    check(wait_until(s, has_posted, 90), "delivered once Alertmanager is up");
    st = stats(s);
    printf("stats posts_ok %llu posts_failed %llu alerts_sent %llu\n",
           (unsigned long long)st.posts_ok, (unsigned long long)st.posts_failed,
           (unsigned long long)st.alerts_sent);
    assay_sink_close(s);
    printf("id %s\n", a.id);
    return failures ? 1 : 0;
}

static int mode_hang(const char *url)
{
    assay_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    assay_sink *s = open_sink(url);
    assay_alert a;
    make_alert(&a, "email_not_null", false);
    double wt, ft;
    int rc;
    char what[256];
    check(send_alert(s, &a, &cfg, &wt) == 0 && wt < 0.05, "alert written at once");
    ft = timed_flush(s, &rc);
    snprintf(what, sizeof(what), "flush returned 0 within its bound while a POST hangs (%.2f s)",
             ft);
    check(rc == 0 && ft < 3.0, what);
    check(stats(s).posts_ok == 0, "nothing delivered");
    double t0 = assay_mono_seconds();
    assay_sink_close(s); /* a POST is in flight: cut short, then one last 2 s attempt */
    double ct = assay_mono_seconds() - t0;
    snprintf(what, sizeof(what), "close returned within 4 s (%.2f s)", ct);
    check(ct < 4.0, what);
    return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "encode"))
        return mode_encode();
    if (argc >= 3 && !strcmp(argv[1], "local"))
        return mode_local(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "fire"))
        return mode_fire(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "resolve"))
        return mode_resolve(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "retry"))
        return mode_retry(argv[2], argv[3]);
    if (argc >= 3 && !strcmp(argv[1], "hang"))
        return mode_hang(argv[2]);
    fprintf(stderr, "usage: am_driver encode | local URL | fire URL | resolve URL | "
                    "retry URL READYFILE | hang URL\n");
    return 2;
}
