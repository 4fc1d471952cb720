/*
 * assay - data-quality checks for streams and files. Subcommand dispatch.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "assay/config.h"
#include "assay/number.h"
#include "cli/cli.h"

int assay_cli_threads(const char *cmd, const char *arg, unsigned *out)
{
    int64_t v;
    if (assay_parse_i64(arg, strlen(arg), &v) < 0 || v < 1 || v > 256) {
        fprintf(stderr, "assay %s: --threads: '%s' is not a number from 1 to 256\n", cmd, arg);
        return ASSAY_EXIT_ERROR;
    }
    *out = (unsigned)v;
    return 0;
}

int assay_cli_bad_option(const char *cmd, int ch, char **argv)
{
    if (ch == ':')
        fprintf(stderr, "assay %s: %s needs a value (see assay %s --help)\n", cmd, argv[optind - 1],
                cmd);
    else
        fprintf(stderr, "assay %s: unknown option '%s' (see assay %s --help)\n", cmd,
                argv[optind - 1], cmd);
    return ASSAY_EXIT_ERROR;
}

int assay_cli_format(const char *cmd, const char *arg, int *out)
{
    if (!strcmp(arg, "csv")) {
        *out = ASSAY_FORMAT_CSV;
    } else if (!strcmp(arg, "ndjson") || !strcmp(arg, "jsonl")) {
        *out = ASSAY_FORMAT_NDJSON;
    } else {
        fprintf(stderr, "assay %s: --format: '%s' is not csv or ndjson\n", cmd, arg);
        return ASSAY_EXIT_ERROR;
    }
    return 0;
}

/* One character for --delimiter / --comment: itself, or `tab` / `\t` for a tab. */
static int cli_char(const char *cmd, const char *opt, const char *arg, char *out)
{
    if (!strcmp(arg, "tab") || !strcmp(arg, "\\t") || !strcmp(arg, "\t")) {
        *out = '\t';
        return 0;
    }
    if (strlen(arg) == 1 && arg[0] != '\n' && arg[0] != '\r' && (unsigned char)arg[0] < 0x80) {
        *out = arg[0];
        return 0;
    }
    fprintf(stderr, "assay %s: --%s: expected one ASCII character (or tab), got '%s'\n", cmd, opt,
            arg);
    return ASSAY_EXIT_ERROR;
}

int assay_cli_source_option(const char *cmd, int ch, const char *arg, assay_cli_source *s)
{
    switch (ch) {
    case 'N':
        s->null_values = arg;
        return 1;
    case 'D':
        return cli_char(cmd, "delimiter", arg, &s->delimiter) ? ASSAY_EXIT_ERROR : 1;
    case 'C':
        return cli_char(cmd, "comment", arg, &s->comment) ? ASSAY_EXIT_ERROR : 1;
    default:
        return 0;
    }
}

int assay_cli_source_apply(const char *cmd, const assay_cli_source *s, assay_config *cfg)
{
    if (s->null_values) {
        assay_error err = { 0 };
        if (assay_null_tokens_parse_list(&cfg->source.null_values, s->null_values, &err) < 0) {
            fprintf(stderr, "assay %s: --null-values: %s\n", cmd, err.msg);
            return ASSAY_EXIT_ERROR;
        }
    }
    if (s->delimiter)
        cfg->source.delimiter = s->delimiter;
    if (s->comment)
        cfg->source.comment = s->comment;
    char q = cfg->source.quote ? cfg->source.quote : '"';
    if (s->delimiter && s->delimiter == q) {
        fprintf(stderr, "assay %s: --delimiter: '%c' is the quote character; choose another\n", cmd,
                q);
        return ASSAY_EXIT_ERROR;
    }
    char d = cfg->source.delimiter ? cfg->source.delimiter : ',';
    if (s->comment && (s->comment == q || s->comment == d)) {
        fprintf(stderr,
                "assay %s: --comment: '%c' is the %s character; comment lines need their own\n",
                cmd, s->comment, s->comment == q ? "quote" : "delimiter");
        return ASSAY_EXIT_ERROR;
    }
    return 0;
}

int assay_cli_stdin_check(const char *cmd, char *const *paths, size_t npaths,
                          const assay_config *cfg)
{
    bool reads = false;
    for (size_t i = 0; i < npaths; i++)
        reads |= strcmp(paths[i], "-") == 0;
    if (npaths == 0 && cfg && cfg->source.file)
        reads = strcmp(cfg->source.file, "-") == 0; /* kept as "-" by the config loader */
    if (!reads || fcntl(STDIN_FILENO, F_GETFD) != -1 || errno != EBADF)
        return 0;
    fprintf(stderr,
            "assay %s: stdin is closed, so input '-' cannot be read: pipe or redirect the data "
            "in (e.g. assay %s ... - < data.csv) or name the file\n",
            cmd, cmd);
    return ASSAY_EXIT_ERROR;
}

void assay_cli_notice(void *ctx, const char *msg)
{
    assay_cli_notices *n = ctx;
    if (n->n < ASSAY_CLI_NOTICES)
        snprintf(n->msg[n->n++], sizeof(n->msg[0]), "%s", msg);
}

void assay_cli_notices_print(const char *cmd, const assay_cli_notices *n)
{
    for (unsigned i = 0; i < n->n; i++)
        fprintf(stderr, "assay %s: warning: %s\n", cmd, n->msg[i]);
}

#ifndef ASSAY_VERSION
#define ASSAY_VERSION "unknown"
#endif

static void usage(FILE *out)
{
    fputs("usage: assay COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  check   -c CONFIG [--json] [--threads N] [--now T] FILE...\n"
          "          run the config's rules over files; exit 0 pass, 1 breach, 2 error\n"
          "  profile [--json] [--suggest-rules] [--threads N] FILE...\n"
          "          profile every column; --suggest-rules prints a config for check\n"
          "  run     -c CONFIG [--threads N] [--from-beginning]\n"
          "          stream rows into event-time windows: score records, clean and\n"
          "          quarantined rows to the config's sinks, checkpoints in state.dir\n"
          "  bench   [-c CONFIG] [--rows N] [--threads 1,2] [--json] [FILE]\n"
          "          measure throughput per stage and thread count\n"
          "  gen     --rows N [--seed S] [--format csv|ndjson] [--faults SPEC] [-o FILE]\n"
          "          write deterministic orders-like test data with defects\n"
          "  help    [COMMAND | config]  show help (config: every config key)\n"
          "  version print the version\n"
          "\n"
          "`assay COMMAND --help` describes each command.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ASSAY_EXIT_ERROR;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "check"))
        return assay_cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "gen"))
        return assay_cmd_gen(argc - 1, argv + 1);
    if (!strcmp(cmd, "profile"))
        return assay_cmd_profile(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return assay_cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return assay_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("assay %s\n", ASSAY_VERSION);
        return ASSAY_EXIT_OK;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2 && strcmp(argv[2], "config") == 0) {
            extern void assay_config_reference(FILE * out);
            assay_config_reference(stdout);
            return ASSAY_EXIT_OK;
        }
        if (argc > 2) {
            char *sub[] = { argv[2], "--help", NULL };
            if (!strcmp(argv[2], "check"))
                return assay_cmd_check(2, sub);
            if (!strcmp(argv[2], "gen"))
                return assay_cmd_gen(2, sub);
            if (!strcmp(argv[2], "profile"))
                return assay_cmd_profile(2, sub);
            if (!strcmp(argv[2], "bench"))
                return assay_cmd_bench(2, sub);
            if (!strcmp(argv[2], "run"))
                return assay_cmd_run(2, sub);
        }
        usage(stdout);
        return ASSAY_EXIT_OK;
    }
    fprintf(stderr, "assay: unknown command '%s' (see `assay help`)\n", cmd);
    return ASSAY_EXIT_ERROR;
}
