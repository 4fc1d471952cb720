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

int assay_cmd_check(int argc, char **argv);
int assay_cmd_profile(int argc, char **argv);
int assay_cmd_gen(int argc, char **argv);
int assay_cmd_bench(int argc, char **argv);
int assay_cmd_run(int argc, char **argv);

#endif
