/*
 * assay run -c CONFIG [--threads N] [--from-beginning] [--now TIME]
 *
 * Streaming: rows from the config's source go into event-time windows (window,
 * event_time); each closed window becomes one score record on sinks.scores, rows are
 * routed to sinks.clean and sinks.quarantine, and state.dir keeps checkpoints so a
 * restart resumes. A file source runs to its end, closes every window and exits 0;
 * stdin runs until it ends; source.follow until SIGTERM/SIGINT, which stop reading,
 * finish what is in flight, flush, checkpoint and exit 0. On a terminal (stderr) it
 * prints one line per closed window and a summary; nothing when not a terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assay/config.h"
#include "assay/alert.h"
#include "assay/engine.h"
#include "assay/number.h"
#include "assay/serve.h"
#include "cli/cli.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void notice_line(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "assay run: %s\n", msg);
}

static void run_usage(FILE *out)
{
    fputs(
        "usage: assay run -c CONFIG [--threads N] [--from-beginning] [--now TIME]\n"
        "                 [--summary FILE]\n"
        "\n"
        "Check rows as a stream: place them in event-time windows, write one score record\n"
        "per closed window to sinks.scores, route rows to sinks.clean and\n"
        "sinks.quarantine, and checkpoint to state.dir so a restart resumes.\n"
        "\n"
        "  -c, --config CONFIG   YAML or JSON config (see `assay help config`)\n"
        "  -t, --threads N       shards (default: number of CPUs)\n"
        "      --from-beginning  ignore the checkpoint in state.dir and start over (Kafka: at the\n"
        "                        earliest offsets)\n"
        "      --now TIME        judge every row at this clock (RFC 3339) instead of the\n"
        "                        wall clock: freshness rules, contracts' max_freshness and\n"
        "                        lag alerts over recorded data, as of that time\n"
        "      --summary FILE    at the end, write the run's numbers there as one JSON\n"
        "                        object (rows, rows/s, windows, alerts, checkpoints, stalls,\n"
        "                        window close to records written p50/p99)\n"
        "  -h, --help            this help\n"
        "\n"
        "A file source is read to its end; stdin until it ends; source.follow: true keeps\n"
        "reading a growing file until SIGTERM or SIGINT (which finish, flush, checkpoint\n"
        "and exit 0). Exit status: 0 done, 2 usage, config, input or output error.\n",
        out);
}

/* What the engine's hooks reach: the terminal and the HTTP surface. */
typedef struct run_ctx {
    bool tty;
    assay_server *server;
} run_ctx;

static void window_line(const assay_result *w)
{
    if (!w->windowed)
        return;
    char a[40], b[40];
    assay_format_timestamp(w->window_start, a, sizeof(a));
    assay_format_timestamp(w->window_end, b, sizeof(b));
    char score[16];
    if (w->rows)
        snprintf(score, sizeof(score), "%6.2f", w->overall);
    else
        snprintf(score, sizeof(score), "     -");
    fprintf(stderr, "%s .. %s  rows %8llu  late %6llu  bad %6llu  score %s", a, b + 11,
            (unsigned long long)w->rows, (unsigned long long)w->late_rows,
            (unsigned long long)w->bad_rows, score);
    size_t shown = 0;
    for (size_t r = 0; r < w->nrules; r++) {
        if (!w->rules[r].breached)
            continue;
        fprintf(stderr, "%s%s", shown ? ", " : "  breaching: ", w->rules[r].cfg->name);
        if (++shown == 6 && r + 1 < w->nrules) {
            fputs(", ...", stderr);
            break;
        }
    }
    fputc('\n', stderr);
}

/* Alerts always reach the terminal (stderr), one line each, even without a tty: they
 * are what a person watching needs to see. */
static void alert_line(void *ctx, const assay_alert *a)
{
    run_ctx *rc = ctx;
    assay_server_alert(rc->server, a);
    fprintf(stderr, "assay run: alert %s %s [%s] %s (id %s)\n", assay_alert_state_name(a->state),
            assay_alert_kind_name(a->kind), assay_severity_name(a->severity), a->title, a->id);
}

static void on_window(void *ctx, const assay_result *w)
{
    run_ctx *rc = ctx;
    assay_server_window(rc->server, w);
    if (rc->tty)
        window_line(w);
}

static void on_poll(void *ctx, assay_engine_hand *h)
{
    run_ctx *rc = ctx;
    assay_server_poll(rc->server, h);
}

/* The run's numbers for scripts and benchmarks: one JSON object, written whole. */
static int write_summary(const char *path, const assay_run_summary *s)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    double rps = s->active_seconds > 0 ? (double)s->rows_read / s->active_seconds : 0;
    fprintf(f,
            "{\"rows\": %llu, \"rows_read\": %llu, \"bytes\": %llu, \"bad_rows\": %llu, "
            "\"late_rows\": %llu, "
            "\"clean_rows\": %llu, \"quarantined_rows\": %llu, \"windows\": %llu, "
            "\"windows_open\": %llu, \"alerts_fired\": %llu, \"alerts_resolved\": %llu, "
            "\"checkpoints\": %llu, \"stalls\": %llu, \"resumed\": %s, \"stopped\": %s, "
            "\"seconds\": %.6f, \"active_seconds\": %.6f, \"rows_per_second\": %.1f, "
            "\"alert_latency_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
            (unsigned long long)s->rows, (unsigned long long)s->rows_read,
            (unsigned long long)s->bytes, (unsigned long long)s->bad_rows,
            (unsigned long long)s->late_rows, (unsigned long long)s->clean_rows,
            (unsigned long long)s->quarantined_rows, (unsigned long long)s->windows,
            (unsigned long long)s->windows_open, (unsigned long long)s->alerts_fired,
            (unsigned long long)s->alerts_resolved, (unsigned long long)s->checkpoints,
            (unsigned long long)s->stalls, s->resumed ? "true" : "false",
            s->stopped ? "true" : "false", s->seconds, s->active_seconds, rps,
            1e3 * s->alert_latency_p50, 1e3 * s->alert_latency_p99, 1e3 * s->alert_latency_max);
    return fclose(f) == 0 ? 0 : -1;
}

int assay_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "threads", required_argument, NULL, 't' },
        { "from-beginning", no_argument, NULL, 'B' },
        { "now", required_argument, NULL, 'n' },
        { "summary", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL, *summary_path = NULL;
    assay_engine_options eo;
    assay_engine_options_default(&eo);
    eo.profile = true; /* score records carry per-column statistics */
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:t:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            if (assay_cli_threads("run", optarg, &eo.threads))
                return ASSAY_EXIT_ERROR;
            break;
        case 'B':
            eo.from_beginning = true;
            break;
        case 'S':
            summary_path = optarg;
            break;
        case 'n':
            if (assay_parse_timestamp(optarg, strlen(optarg), &eo.now_us) < 0) {
                fprintf(stderr,
                        "assay run: --now: '%s' is not an RFC 3339 time (e.g. "
                        "2026-11-23T12:00:00Z)\n",
                        optarg);
                return ASSAY_EXIT_ERROR;
            }
            break;
        case 'h':
            run_usage(stdout);
            return ASSAY_EXIT_OK;
        default:
            return assay_cli_bad_option("run", ch, argv);
        }
    }
    if (!config_path) {
        fprintf(stderr, "assay run: -c CONFIG is required (see assay run --help)\n");
        return ASSAY_EXIT_ERROR;
    }
    if (optind < argc) {
        fprintf(stderr,
                "assay run: unexpected argument '%s': the input is source.file in the config\n",
                argv[optind]);
        return ASSAY_EXIT_ERROR;
    }
    assay_error err = { 0 };
    assay_config *cfg = NULL;
    if (assay_config_load(config_path, &cfg, &err) < 0) {
        fprintf(stderr, "assay run: %s\n", err.msg);
        return ASSAY_EXIT_ERROR;
    }
    if (!cfg->source.file && !cfg->source.kafka_topic) {
        fprintf(stderr,
                "assay run: %s: source.file (a path, or - for stdin) or source.kafka is "
                "required\n",
                config_path);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    bool tty = isatty(STDERR_FILENO);
    run_ctx ctx = { .tty = tty };
    if (assay_server_start(&ctx.server, cfg, &err) < 0) {
        fprintf(stderr, "assay run: %s\n", err.msg);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    if (assay_server_address(ctx.server))
        fprintf(stderr,
                "assay run: serving http://%s/ (live page), /metrics, /api/v1 (docs/serving.md)\n",
                assay_server_address(ctx.server));
    eo.cfg = cfg;
    eo.stop = &stop_flag;
    eo.notice = notice_line;
    eo.on_window = on_window;
    eo.on_alert = alert_line;
    eo.on_poll = on_poll;
    eo.on_window_ctx = &ctx;
    assay_run_summary sum;
    int rc = assay_engine_run(&eo, &sum, &err);
    assay_server_finished(ctx.server);
    if (rc < 0) {
        fprintf(stderr, "assay run: %s\n", err.msg);
        assay_server_stop(ctx.server);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    if (tty) {
        fprintf(stderr,
                "assay run: %llu rows (%llu bad, %llu late) in %llu windows, %.1f s%s%s; "
                "clean %llu, quarantined %llu; alerts fired %llu, resolved %llu\n",
                (unsigned long long)sum.rows, (unsigned long long)sum.bad_rows,
                (unsigned long long)sum.late_rows, (unsigned long long)sum.windows, sum.seconds,
                sum.resumed ? ", resumed from the checkpoint" : "",
                sum.stopped ? ", stopped by a signal" : "", (unsigned long long)sum.clean_rows,
                (unsigned long long)sum.quarantined_rows, (unsigned long long)sum.alerts_fired,
                (unsigned long long)sum.alerts_resolved);
        if (sum.windows)
            fprintf(stderr,
                    "assay run: alerting %.1f us per window (%.2f%% of the run); window close "
                    "to records written p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                    1e6 * sum.alert_seconds / (double)sum.windows,
                    sum.seconds > 0 ? 100 * sum.alert_seconds / sum.seconds : 0,
                    1e3 * sum.alert_latency_p50, 1e3 * sum.alert_latency_p99,
                    1e3 * sum.alert_latency_max);
        if (sum.windows_open && cfg->state.dir)
            fprintf(stderr,
                    "assay run: %llu open windows kept in the checkpoint for the next run\n",
                    (unsigned long long)sum.windows_open);
    }
    assay_server_stop(ctx.server);
    if (summary_path && write_summary(summary_path, &sum) < 0) {
        fprintf(stderr, "assay run: --summary: cannot write %s: %s\n", summary_path,
                strerror(errno));
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    if (sum.windows_open && !cfg->state.dir)
        fprintf(stderr,
                "assay run: %llu open windows not emitted (set state.dir to keep them for the "
                "next run)\n",
                (unsigned long long)sum.windows_open);
    if (sum.windows_skipped) {
        char a[40], b[40];
        assay_format_timestamp(sum.gap_from, a, sizeof(a));
        assay_format_timestamp(sum.gap_to, b, sizeof(b));
        fprintf(stderr,
                "assay run: %llu empty windows not emitted (event time jumped from %s to %s; "
                "limits.empty_windows)\n",
                (unsigned long long)sum.windows_skipped, a, b);
    }
    assay_config_free(cfg);
    return ASSAY_EXIT_OK;
}
