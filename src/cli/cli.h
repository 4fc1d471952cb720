/*
 * cli.h - subcommands of the assay binary. Each takes the argv after the subcommand
 * name (argv[0] is the subcommand), parses it with getopt_long, prints its own
 * --help, writes errors to stderr as one line ("assay gen: --rows: 'x' is not a
 * number") and returns the process exit status.
 */
#ifndef ASSAY_CLI_H
#define ASSAY_CLI_H

#define ASSAY_EXIT_OK    0 /* ran, and the data passed its rules */
#define ASSAY_EXIT_FAIL  1 /* ran, and the data failed a rule */
#define ASSAY_EXIT_ERROR 2 /* could not run: usage, config or I/O error */

/* Options check and profile share; on a bad value print "assay CMD: --OPT: ..." and
 * return ASSAY_EXIT_ERROR, else 0. */
int assay_cli_threads(const char *cmd, const char *arg, unsigned *out);
int assay_cli_format(const char *cmd, const char *arg, int *out);
/* getopt_long returned ':' (missing value) or '?' (unknown option) for argv[optind - 1]:
 * print the one-line error and return ASSAY_EXIT_ERROR. */
int assay_cli_bad_option(const char *cmd, int ch, char **argv);

/* Input options that check and profile share (--null-values, --delimiter,
 * --comment): collected while parsing argv, then laid over the config's source. */
struct assay_config;
typedef struct assay_cli_source {
    const char *null_values; /* --null-values LIST, or NULL: the config's */
    char delimiter;          /* --delimiter, or 0: the config's (then the file extension) */
    char comment;            /* --comment, or 0: the config's */
} assay_cli_source;

#define ASSAY_CLI_SOURCE_HELP                                                                      \
    "      --null-values LIST  comma-separated text that means null, e.g. NA,N/A,-\n"              \
    "                       (replaces source.null_values; default: only the empty field)\n"        \
    "      --delimiter C    CSV delimiter: one character, or tab (default: source.delimiter,\n"    \
    "                       then tab for .tsv/.tab files, else a comma)\n"                         \
    "      --comment C      skip lines that start with C (source.comment), e.g. '#'\n"

/* The long options behind ASSAY_CLI_SOURCE_HELP, for a getopt_long table. */
/* clang-format off */
#define ASSAY_CLI_SOURCE_OPTIONS                                                                   \
    { "null-values", required_argument, NULL, 'N' },                                               \
    { "delimiter", required_argument, NULL, 'D' },                                                 \
    { "comment", required_argument, NULL, 'C' }
/* clang-format on */

/* getopt_long returned ch with arg: 1 when it was a source option (stored in s), 0 when
 * it is not one, ASSAY_EXIT_ERROR (after printing why) for a bad value. */
int assay_cli_source_option(const char *cmd, int ch, const char *arg, assay_cli_source *s);
/* Lay s over cfg->source. ASSAY_EXIT_ERROR (after printing why) or 0. */
int assay_cli_source_apply(const char *cmd, const assay_cli_source *s, struct assay_config *cfg);

/* When an input is "-" (npaths == 0: cfg's source.file) and stdin is closed (`<&-`),
 * print a one-line error naming stdin and return ASSAY_EXIT_ERROR; else 0. Called
 * before any input is opened, so the descriptor cannot have been reused yet. */
int assay_cli_stdin_check(const char *cmd, char *const *paths, size_t npaths,
                          const struct assay_config *cfg);

/* Notices of a check or profile (the engine's notice callback), kept to be printed on
 * stderr after the report, where they are not lost above it. */
#define ASSAY_CLI_NOTICES 4
typedef struct assay_cli_notices {
    char msg[ASSAY_CLI_NOTICES][256];
    unsigned n;
} assay_cli_notices;
void assay_cli_notice(void *ctx, const char *msg);
void assay_cli_notices_print(const char *cmd, const assay_cli_notices *n);

int assay_cmd_check(int argc, char **argv);
int assay_cmd_profile(int argc, char **argv);
int assay_cmd_gen(int argc, char **argv);
int assay_cmd_bench(int argc, char **argv);
int assay_cmd_run(int argc, char **argv);

#endif
