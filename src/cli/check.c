/*
 * assay check -c CONFIG [--json] [--threads N] [--now T] [--format csv|ndjson]
 *             [--no-profile] [--row-scores OUT] [--null-values LIST] [--delimiter C]
 *             [--comment C] FILE...
 *
 * Runs every rule of CONFIG over the files as one window. Prints a table on stdout
 * (or JSON with --json); exit status 0 when every rule passed and every row parsed,
 * 1 when a rule breached or rows could not be parsed, 2 on usage, config or I/O
 * errors (one line on stderr naming the file and line:column or key at fault).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assay/config.h"
#include "assay/engine.h"
#include "assay/number.h"
#include "cli/cli.h"
#include "cli/term.h"

static void check_usage(FILE *out)
{
    fputs("usage: assay check -c CONFIG [--json] [--threads N] [--now TIME] [--format csv|ndjson]\n"
          "                   [--no-profile] [--row-scores OUT] [--null-values LIST]\n"
          "                   [--delimiter C] [--comment C] [FILE...]\n"
          "\n"
          "Run the rules of CONFIG over FILE... (or source.file from the config) as one\n"
          "window and report failures, samples, bad rows and the quality score.\n"
          "\n"
          "  -c, --config CONFIG  YAML or JSON config (see `assay help config`)\n"
          "      --json           machine-readable report on stdout\n"
          "  -t, --threads N      shards (default: number of CPUs)\n"
          "      --now TIME       clock for freshness rules (RFC 3339), default: now\n"
          "      --format FMT     csv or ndjson (default: config, then file extension)\n"
          "      --no-profile     rules only: skip the per-column profile "
          "(faster)\n" ASSAY_CLI_SOURCE_HELP
          "      --row-scores OUT write `row,score` per input row (the anomaly score of\n"
          "                       anomaly.columns; empty when not scored); with - the\n"
          "                       scores go to stdout and the report to stderr\n"
          "  -h, --help           this help\n"
          "\n"
          "FILE may be - for stdin. Exit status: 0 pass, 1 a rule breached or rows could\n"
          "not be parsed, 2 usage/config/input error.\n",
          out);
}

int assay_cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "threads", required_argument, NULL, 't' },
        { "now", required_argument, NULL, 'n' },
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        ASSAY_CLI_SOURCE_OPTIONS,
        { "no-profile", no_argument, NULL, 'P' },
        { "row-scores", required_argument, NULL, 'R' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    const char *scores_path = NULL;
    bool json = false;
    assay_cli_source src = { 0 };
    assay_engine_options eo;
    assay_engine_options_default(&eo);
    eo.profile = true; /* the report's columns carry the full profile (one pass) */
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:t:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 't':
            if (assay_cli_threads("check", optarg, &eo.threads))
                return ASSAY_EXIT_ERROR;
            break;
        case 'n':
            if (assay_parse_timestamp(optarg, strlen(optarg), &eo.now_us) < 0) {
                fprintf(stderr,
                        "assay check: --now: '%s' is not an RFC 3339 time (e.g. "
                        "2026-11-23T12:00:00Z)\n",
                        optarg);
                return ASSAY_EXIT_ERROR;
            }
            break;
        case 'f': {
            int f;
            if (assay_cli_format("check", optarg, &f))
                return ASSAY_EXIT_ERROR;
            eo.format = (assay_format)f;
            break;
        }
        case 'P':
            eo.profile = false;
            break;
        case 'R':
            scores_path = optarg;
            break;
        case 'h':
            check_usage(stdout);
            return ASSAY_EXIT_OK;
        default: {
            int sr = assay_cli_source_option("check", ch, optarg, &src);
            if (sr == 1)
                break;
            if (sr)
                return sr;
            return assay_cli_bad_option("check", ch, argv);
        }
        }
    }
    if (!config_path) {
        fprintf(stderr, "assay check: -c CONFIG is required (see assay check --help)\n");
        return ASSAY_EXIT_ERROR;
    }
    assay_error err = { 0 };
    assay_config *cfg = NULL;
    if (assay_config_load(config_path, &cfg, &err) < 0) {
        fprintf(stderr, "assay check: %s\n", err.msg);
        return ASSAY_EXIT_ERROR;
    }
    if (assay_cli_source_apply("check", &src, cfg) ||
        assay_cli_stdin_check("check", argv + optind, (size_t)(argc - optind), cfg)) {
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    if (scores_path && cfg->anomaly.ncolumns == 0) {
        fprintf(stderr,
                "assay check: --row-scores needs anomaly detection: list the numeric columns "
                "to score under anomaly.columns in %s\n",
                config_path);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    FILE *scores = NULL;
    if (scores_path) {
        scores = strcmp(scores_path, "-") ? fopen(scores_path, "w") : stdout;
        if (!scores) {
            fprintf(stderr, "assay check: --row-scores: cannot create '%s': %s\n", scores_path,
                    strerror(errno));
            assay_config_free(cfg);
            return ASSAY_EXIT_ERROR;
        }
        eo.row_scores = scores;
    }
    eo.cfg = cfg;
    eo.paths = (const char *const *)(argv + optind);
    eo.npaths = (size_t)(argc - optind);
    assay_progress prog;
    assay_progress_init(&prog);
    eo.progress = assay_progress_update;
    eo.progress_ctx = &prog;
    assay_cli_notices notices = { .n = 0 };
    eo.notice = assay_cli_notice;
    eo.notice_ctx = &notices;
    assay_result *res = NULL;
    int rc = assay_engine_check(&eo, &res, &err);
    assay_progress_done(&prog);
    if (scores) {
        bool failed = fflush(scores) != 0 || ferror(scores);
        if (scores != stdout)
            failed |= fclose(scores) != 0;
        if (failed && rc == 0)
            rc = assay_error_set(&err, -EIO, "--row-scores: cannot write '%s': %s", scores_path,
                                 strerror(errno));
    }
    if (rc < 0) {
        fprintf(stderr, "assay check: %s\n", err.msg);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    /* with --row-scores - stdout carries the scores; the report goes to stderr */
    FILE *rep = scores == stdout ? stderr : stdout;
    if (json) {
        char *text = assay_result_json(res, cfg);
        if (!text) {
            fprintf(stderr, "assay check: out of memory writing the report\n");
            rc = -ENOMEM;
        } else {
            fputs(text, rep);
            free(text);
        }
    } else {
        assay_result_text(res, cfg, rep, isatty(fileno(rep)));
    }
    int status = rc < 0 ? ASSAY_EXIT_ERROR : assay_result_status(res);
    if (fflush(rep) != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "assay check: cannot write the report: %s\n", strerror(errno));
        status = ASSAY_EXIT_ERROR;
    }
    assay_cli_notices_print("check", &notices);
    if (res->comment_lines)
        fprintf(stderr,
                "assay check: %llu comment line%s skipped (source.comment '%c'): not rows\n",
                (unsigned long long)res->comment_lines, res->comment_lines == 1 ? "" : "s",
                cfg->source.comment);
    assay_result_free(res);
    assay_config_free(cfg);
    return status;
}
