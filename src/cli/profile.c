/*
 * assay profile [--json] [--suggest-rules] [--threads N] [--format csv|ndjson]
 *               [--null-values LIST] [--delimiter C] [--comment C] FILE...
 *
 * One pass over the files: per column type (inferred), nulls, distinct (HyperLogLog),
 * min/max, mean/stddev/skewness/kurtosis and quantiles (numeric), most frequent values
 * and lengths (text), and issues; the number of rows that repeat an earlier row.
 * --suggest-rules prints a config `assay check` accepts instead of the report.
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

static void profile_usage(FILE *out)
{
    fputs("usage: assay profile [--json] [--suggest-rules] [--threads N] [--format csv|ndjson]\n"
          "                     [-c CONFIG] [--null-values LIST] [--delimiter C]\n"
          "                     [--comment C] FILE...\n"
          "\n"
          "Profile every column of FILE... in one pass: type, nulls, distinct values,\n"
          "min/max, mean/stddev/skewness/kurtosis and quantiles, most frequent values,\n"
          "lengths, and issues (high_nulls, constant, mixed_types, outliers,\n"
          "high_cardinality_key, duplicates); and the rows that repeat an earlier row.\n"
          "\n"
          "      --json           machine-readable profile on stdout\n"
          "      --suggest-rules  print a config with rules the data passes (for check)\n"
          "  -t, --threads N      shards (default: number of CPUs)\n"
          "      --format FMT     csv or ndjson (default: file extension)\n"
          "  -c, --config CONFIG  optional: column types, delimiter, limits from a "
          "config\n" ASSAY_CLI_SOURCE_HELP "  -h, --help           this help\n",
          out);
}

int assay_cmd_profile(int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "suggest-rules", no_argument, NULL, 's' },
        { "threads", required_argument, NULL, 't' },
        { "format", required_argument, NULL, 'f' },
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        ASSAY_CLI_SOURCE_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    bool json = false, suggest = false;
    const char *config_path = NULL;
    assay_cli_source src = { 0 };
    assay_engine_options eo;
    assay_engine_options_default(&eo);
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":t:c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            json = true;
            break;
        case 's':
            suggest = true;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 't':
            if (assay_cli_threads("profile", optarg, &eo.threads))
                return ASSAY_EXIT_ERROR;
            break;
        case 'f': {
            int f;
            if (assay_cli_format("profile", optarg, &f))
                return ASSAY_EXIT_ERROR;
            eo.format = (assay_format)f;
            break;
        }
        case 'h':
            profile_usage(stdout);
            return ASSAY_EXIT_OK;
        default: {
            int sr = assay_cli_source_option("profile", ch, optarg, &src);
            if (sr == 1)
                break;
            if (sr)
                return sr;
            return assay_cli_bad_option("profile", ch, argv);
        }
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "assay profile: give at least one FILE (- for stdin)\n");
        return ASSAY_EXIT_ERROR;
    }
    assay_error err = { 0 };
    assay_config *cfg = NULL;
    int rc = config_path ? assay_config_load(config_path, &cfg, &err) : assay_config_default(&cfg);
    if (rc < 0) {
        fprintf(stderr, "assay profile: %s\n", config_path ? err.msg : "out of memory");
        return ASSAY_EXIT_ERROR;
    }
    if (assay_cli_source_apply("profile", &src, cfg) ||
        assay_cli_stdin_check("profile", argv + optind, (size_t)(argc - optind), cfg)) {
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    eo.cfg = cfg;
    eo.paths = (const char *const *)(argv + optind);
    eo.npaths = (size_t)(argc - optind);
    eo.profile = true;
    eo.duplicate_rows = true;
    eo.exact_keys = suggest; /* unique is suggested from exact repeat counts */
    assay_progress prog;
    assay_progress_init(&prog);
    eo.progress = assay_progress_update;
    eo.progress_ctx = &prog;
    assay_cli_notices notices = { .n = 0 };
    eo.notice = assay_cli_notice;
    eo.notice_ctx = &notices;
    assay_result *res = NULL;
    rc = assay_engine_check(&eo, &res, &err);
    assay_progress_done(&prog);
    if (rc < 0) {
        fprintf(stderr, "assay profile: %s\n", err.msg);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    char why[640];
    if (assay_result_nothing_parsed(res, why, sizeof(why))) {
        fprintf(stderr, "assay profile: %s\n", why);
        assay_result_free(res);
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    char *text = NULL;
    if (suggest) {
        /* asset name from the first file: orders.csv -> orders */
        char asset[128];
        const char *base = strrchr(argv[optind], '/');
        snprintf(asset, sizeof(asset), "%s", base ? base + 1 : argv[optind]);
        char *dot = strchr(asset, '.');
        if (dot)
            *dot = '\0';
        text = assay_suggest_rules(res, strcmp(asset, "-") ? asset : "stdin");
    } else if (json) {
        text = assay_profile_json(res);
    }
    int status = ASSAY_EXIT_OK;
    if ((suggest || json) && !text) {
        fprintf(stderr, "assay profile: out of memory writing the report\n");
        status = ASSAY_EXIT_ERROR;
    } else if (text) {
        fputs(text, stdout);
    } else {
        assay_profile_text(res, stdout, isatty(STDOUT_FILENO));
    }
    free(text);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "assay profile: cannot write the report: %s\n", strerror(errno));
        status = ASSAY_EXIT_ERROR;
    }
    assay_cli_notices_print("profile", &notices);
    if (res->comment_lines)
        fprintf(stderr,
                "assay profile: %llu comment line%s skipped (source.comment '%c'): not rows\n",
                (unsigned long long)res->comment_lines, res->comment_lines == 1 ? "" : "s",
                cfg->source.comment);
    assay_result_free(res);
    assay_config_free(cfg);
    return status;
}
