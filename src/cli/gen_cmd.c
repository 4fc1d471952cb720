/*
 * gen_cmd.c - `assay gen`: write deterministic orders-like test data.
 *
 *     assay gen --rows N [--seed S] [--format csv|ndjson] [--faults SPEC]
 *               [--start TIME] [--step DURATION | --rate R] [--disorder D] [--late P]
 *               [--late-by D] [--window D] [-o FILE]
 *
 * A thin shell over include/assay/gen.h (the method, the columns and every fault are
 * described at the top of src/gen/gen.c). The format comes from --format, else from
 * -o's extension (.csv; .ndjson or .jsonl), else CSV. Output goes to stdout unless -o
 * names a file ("-" is stdout too). Errors are one line on stderr,
 * "assay gen: --rows: 'abc' is not a number", and exit status 2.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/gen.h"
#include "assay/number.h"
#include "cli/cli.h"

static const char USAGE[] =
    "usage: assay gen --rows N [options]\n"
    "\n"
    "Write N rows of orders-like test data (order_id, customer_id, email, amount,\n"
    "currency, country, status, created_at, phone, note) with realistic defects.\n"
    "The same seed always gives the same bytes.\n"
    "\n"
    "  -n, --rows N          rows to write (required); k, M, G suffixes: 10M\n"
    "  -s, --seed S          random seed, decimal or 0x hex (default 1)\n"
    "  -f, --format FMT      csv or ndjson (default: from -o's extension, else csv)\n"
    "      --faults SPEC     defect rates, NAME=RATE[,NAME=RATE...], RATE in [0,1]\n"
    "                        or a percentage (bad_email=0.2,stale=5%); 'all' sets\n"
    "                        every fault (all=0 gives clean data)\n"
    "      --start TIME      created_at of the first row, RFC 3339\n"
    "                        (default 2026-01-01T00:00:00Z)\n"
    "      --step DURATION   mean spacing of created_at (default 1s; e.g. 250ms, 1m)\n"
    "      --rate R          rows per second of event time (the same as --step 1/R s)\n"
    "      --disorder D      move every row's time back by up to D (default 0)\n"
    "      --late P          share of rows moved back by up to --late-by (default 0.01)\n"
    "      --late-by D       (default 120s)\n"
    "      --window D        window length that @FROM-TO ranges count in (default 60s)\n"
    "      --shipping        five more columns for cross-field rules: quantity,\n"
    "                        unit_price, total, shipped_at, zip (with defects)\n"
    "  -o, --output FILE     write to FILE instead of stdout\n"
    "  -h, --help            show this help\n"
    "\n"
    "Window ranges: NAME=RATE@FROM-TO confines a fault to windows FROM..TO of --window\n"
    "from --start (null_email=0.3@10-12); streams also take volume=SHARE@FROM-TO (keep\n"
    "that share of the rows), idle@FROM-TO (no rows) and amount_drift=FACTOR@FROM-TO.\n"
    "\n"
    "faults and default rates:\n";

static void print_usage(FILE *f)
{
    assay_gen_options d;
    assay_gen_options_default(&d);
    fputs(USAGE, f);
    for (int k = 0; k < ASSAY_FAULT_COUNT; k++)
        fprintf(f, "  %-16s %g\n", assay_fault_name((assay_fault)k), d.rates[k]);
}

/* One line on stderr, "assay gen: ...". Returns ASSAY_EXIT_ERROR. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("assay gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return ASSAY_EXIT_ERROR;
}

/* Decimal count with an optional k/M/G (x1000) suffix. */
static int parse_count(const char *s, uint64_t *out)
{
    uint64_t v = 0, mult = 1;
    size_t n = strlen(s), k = 0;
    if (n && (s[n - 1] == 'k' || s[n - 1] == 'K'))
        mult = 1000, n--;
    else if (n && s[n - 1] == 'M')
        mult = 1000000, n--;
    else if (n && s[n - 1] == 'G')
        mult = 1000000000, n--;
    if (n == 0)
        return -EINVAL;
    for (; k < n; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -EINVAL;
        if (v > (UINT64_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(s[k] - '0');
    }
    if (v > UINT64_MAX / mult)
        return -ERANGE;
    *out = v * mult;
    return 0;
}

static int parse_seed(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int assay_cmd_gen(int argc, char **argv)
{
    enum {
        OPT_FAULTS = 256,
        OPT_START,
        OPT_STEP,
        OPT_RATE,
        OPT_DISORDER,
        OPT_LATE,
        OPT_LATE_BY,
        OPT_WINDOW,
        OPT_SHIPPING
    };
    static const struct option longopts[] = {
        { "rows", required_argument, NULL, 'n' },
        { "seed", required_argument, NULL, 's' },
        { "format", required_argument, NULL, 'f' },
        { "faults", required_argument, NULL, OPT_FAULTS },
        { "start", required_argument, NULL, OPT_START },
        { "step", required_argument, NULL, OPT_STEP },
        { "rate", required_argument, NULL, OPT_RATE },
        { "disorder", required_argument, NULL, OPT_DISORDER },
        { "late", required_argument, NULL, OPT_LATE },
        { "late-by", required_argument, NULL, OPT_LATE_BY },
        { "window", required_argument, NULL, OPT_WINDOW },
        { "shipping", no_argument, NULL, OPT_SHIPPING },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    assay_gen_options o;
    assay_gen_options_default(&o);
    bool have_rows = false, have_format = false;
    const char *output = NULL;
    assay_error err = { 0 };
    int c, rc;

#ifdef __GLIBC__
    optind = 0; /* full re-initialisation of getopt's state */
#else
    optind = 1;
#endif
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":n:s:f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SHIPPING:
            o.shipping = true;
            break;
        case 'n':
            rc = parse_count(optarg, &o.rows);
            if (rc == -ERANGE)
                return usage_error("--rows: '%s' is too large", optarg);
            if (rc < 0)
                return usage_error("--rows: '%s' is not a number", optarg);
            have_rows = true;
            break;
        case 's':
            rc = parse_seed(optarg, &o.seed);
            if (rc == -ERANGE)
                return usage_error("--seed: '%s' is larger than 2^64-1", optarg);
            if (rc < 0)
                return usage_error("--seed: '%s' is not a number", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                o.format = ASSAY_GEN_CSV;
            else if (strcmp(optarg, "ndjson") == 0 || strcmp(optarg, "jsonl") == 0)
                o.format = ASSAY_GEN_NDJSON;
            else
                return usage_error("--format: '%s' is not one of csv, ndjson", optarg);
            have_format = true;
            break;
        case OPT_FAULTS:
            if (assay_gen_parse_faults(optarg, &o, &err) < 0)
                return usage_error("--faults: %s", err.msg);
            break;
        case OPT_START:
            if (assay_parse_timestamp(optarg, strlen(optarg), &o.start_us) < 0)
                return usage_error("--start: '%s' is not an RFC 3339 time "
                                   "(like 2026-01-01T00:00:00Z)",
                                   optarg);
            break;
        case OPT_STEP:
            if (assay_parse_duration(optarg, strlen(optarg), &o.step_us) < 0)
                return usage_error("--step: '%s' is not a duration (like 1s, 250ms, 1m)", optarg);
            break;
        case OPT_RATE: {
            double r;
            if (assay_parse_f64(optarg, strlen(optarg), &r) < 0 || !(r > 0) || r > 1e9)
                return usage_error("--rate: '%s' is not a positive number of rows per second",
                                   optarg);
            o.step_us = (int64_t)(1e6 / r + 0.5);
            if (o.step_us < 1)
                o.step_us = 1;
            break;
        }
        case OPT_DISORDER:
        case OPT_LATE_BY:
        case OPT_WINDOW: {
            int64_t d;
            const char *nm = c == OPT_DISORDER  ? "--disorder"
                             : c == OPT_LATE_BY ? "--late-by"
                                                : "--window";
            if (assay_parse_duration(optarg, strlen(optarg), &d) < 0 || d < 0 ||
                (c == OPT_WINDOW && d == 0))
                return usage_error("%s: '%s' is not a duration (like 5s, 2m)", nm, optarg);
            if (c == OPT_DISORDER)
                o.disorder_us = d;
            else if (c == OPT_LATE_BY)
                o.late_by_us = d;
            else
                o.window_us = d;
            break;
        }
        case OPT_LATE:
            if (assay_parse_f64(optarg, strlen(optarg), &o.late_rate) < 0 ||
                !(o.late_rate >= 0 && o.late_rate <= 1))
                return usage_error("--late: '%s' is not a share in [0, 1]", optarg);
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            print_usage(stdout);
            return ASSAY_EXIT_OK;
        default:
            return assay_cli_bad_option("gen", c, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s' (try 'assay gen --help')", argv[optind]);
    if (!have_rows)
        return usage_error("--rows is required (try 'assay gen --help')");

    bool to_stdout = !output || strcmp(output, "-") == 0;
    if (!have_format && !to_stdout && (ends_with(output, ".ndjson") || ends_with(output, ".jsonl")))
        o.format = ASSAY_GEN_NDJSON;

    FILE *out = stdout;
    if (!to_stdout) {
        out = fopen(output, "wb");
        if (!out)
            return usage_error("cannot open '%s' for writing: %s", output, strerror(errno));
    }
    rc = assay_gen_write(&o, out, &err);
    if (!to_stdout && fclose(out) != 0 && rc == 0)
        rc = assay_error_set(&err, -errno, "write failed: %s", strerror(errno));
    if (rc < 0)
        return usage_error("%s: %s", to_stdout ? "stdout" : output, err.msg);
    return ASSAY_EXIT_OK;
}
