/*
 * assay bench [-c CONFIG] [--rows N] [--threads N[,N...]] [--batch ROWS] [--repeat K]
 *             [--no-profile] [--json] [FILE]
 *
 * Throughput of the whole pipeline on the user's hardware. Without FILE the data is
 * generated in memory first (assay gen's orders, seed 1), so disk and page cache are
 * out of the picture; with FILE it is read like `check` reads it. Each thread count
 * runs K times; the report gives min and median wall time, rows/s, MB/s, rows/s per
 * thread, where the time goes per stage (ns per row and share; stages are timed per
 * batch, never per row, so timing does not distort what it measures), and the
 * speedup of each thread count over the first.
 *
 * --run measures `assay run` next to `check`, alternately, on the same input: rows go
 * into the config's event-time windows (created_at and 60 s windows when the config
 * has none), one score record per window, no sinks; --state DIR adds checkpoints every
 * second and reports their count, size and time. Generated data then has --rate rows
 * per second of event time (10000 by default), so 10M rows span 1000 s. The run's
 * alerting is reported too: alerts fired and resolved, time per window and share of
 * the run, and window close to records written (p50, p99, max over the windows; the
 * worst p99 of the repeats). --faults puts `assay gen` defects into the generated data
 * (window ranges count in 60 s windows), so the alerts have something to fire on.
 *
 * Without -c the job is the core rule set (not_null and matches on email,
 * in_range on amount, in_set on currency, unique order_id), the full profile and the
 * isolation forest on amount and customer_id (the design's example scores amount and
 * quantity; orders have no quantity). --no-profile leaves the rules alone: no
 * profile and, for the built-in job, no forest either.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assay/config.h"
#include "assay/engine.h"
#include "assay/gen.h"
#include "assay/number.h"
#include "cli/cli.h"
#include "core/strbuf.h"
#include "engine/json_writer.h"

#define MAX_SWEEP 16

static const char default_config[] =
    "asset: orders\n"
    "columns: [{name: order_id, type: int}, {name: amount, type: float}]\n"
    "rules:\n"
    "  - {column: email, check: not_null}\n"
    "  - {column: email, check: matches, format: email}\n"
    "  - {column: amount, check: in_range, min: 0}\n"
    "  - {column: currency, check: in_set, values: [USD, EUR, GBP, JPY]}\n"
    "  - {column: order_id, check: unique}\n"
    "anomaly: {columns: [amount, customer_id]}\n";

static void bench_usage(FILE *out)
{
    fputs("usage: assay bench [-c CONFIG] [--rows N] [--threads N[,N...]] [--batch ROWS]\n"
          "                   [--repeat K] [--no-profile] [--run [--rate R] [--state DIR]]\n"
          "                   [--faults SPEC] [--json] [FILE]\n"
          "\n"
          "Measure assay's throughput. Without FILE, --rows of orders data are generated\n"
          "in memory first (no disk, no page cache); with FILE it is read like check does.\n"
          "\n"
          "  -c, --config CONFIG  the job (default: 5 core rules, the full profile and\n"
          "                       anomaly scores on amount and customer_id)\n"
          "      --rows N         rows to generate (default 1000000; k/M suffixes)\n"
          "  -t, --threads LIST   thread counts to sweep, e.g. 1,2 (default 1,CPUs)\n"
          "      --batch ROWS     rows per batch (default 4096)\n"
          "      --repeat K       runs per thread count (default 3): min and median\n"
          "      --no-profile     no profile (and no anomaly scores in the default job)\n"
          "      --run            also time `assay run` (event-time windows) on the same input\n"
          "      --rate R         generated rows per second of event time (--run: 10000)\n"
          "      --state DIR      with --run: checkpoint to DIR every second, report them\n"
          "      --faults SPEC    defects in the generated data, as `assay gen --faults`\n"
          "      --json           machine-readable results\n",
          out);
}

typedef struct run_stats {
    unsigned threads;
    double wall[32];
    int n;
    double stage[ASSAY_STAGE_COUNT]; /* of the fastest run */
    uint64_t rows, bytes;
    /* --run: the streaming pass on the same input */
    double run_wall[32];
    int run_n;
    uint64_t windows, checkpoints, checkpoint_bytes;
    double checkpoint_seconds;
    /* --run: alerting, from the run with the worst p99 */
    uint64_t alerts_fired, alerts_resolved;
    double alert_seconds, run_seconds, lat_p50, lat_p99, lat_max;
} run_stats;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int parse_count(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t mul = 1;
    if (n && (s[n - 1] == 'k' || s[n - 1] == 'K'))
        mul = 1000, n--;
    else if (n && (s[n - 1] == 'm' || s[n - 1] == 'M'))
        mul = 1000000, n--;
    int64_t v;
    if (assay_parse_i64(s, n, &v) < 0 || v < 1)
        return -EINVAL;
    *out = (uint64_t)v * mul;
    return 0;
}

/* Orders data in memory: header + rows, generated in one pass; step_us: event-time
 * spacing (0: the generator's default); faults: an `assay gen --faults` spec or NULL. */
static char *generate(uint64_t rows, int64_t step_us, const char *faults, size_t *len)
{
    assay_gen_options g;
    assay_gen_options_default(&g);
    g.rows = rows;
    if (step_us > 0)
        g.step_us = step_us;
    assay_error err = { 0 };
    if (faults && assay_gen_parse_faults(faults, &g, &err) < 0) {
        fprintf(stderr, "assay bench: --faults: %s\n", err.msg);
        return NULL;
    }
    const char *h = assay_gen_header(&g);
    size_t hl = strlen(h), cap = hl + rows * 160 + (1 << 20), used = hl;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    memcpy(buf, h, hl);
    uint64_t first = 0;
    while (first < rows) {
        uint64_t done = 0;
        used += assay_gen_rows(&g, first, rows - first, buf + used, cap - used, &done);
        first += done;
        if (first < rows) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *len = used;
    return buf;
}

/* Fastest and median of n wall times. */
static void min_median(const double *v, int n, double *min, double *med)
{
    double w[32];
    memcpy(w, v, sizeof(double) * (size_t)n);
    qsort(w, (size_t)n, sizeof(double), cmp_double);
    *min = w[0];
    *med = w[n / 2];
}

/* Peak resident set of this process so far (VmHWM), in bytes; 0 when unknown. */
static uint64_t peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %lu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static void print_run(const run_stats *rs, int nrs)
{
    printf("\n  assay run on the same input (event-time windows, score records, the config's "
           "sinks):\n");
    printf("  %-8s %10s %12s %10s %10s %9s\n", "THREADS", "CHECK", "RUN", "RUN ROWS/S", "WINDOWS",
           "RUN/CHECK");
    for (int k = 0; k < nrs; k++) {
        const run_stats *r = &rs[k];
        double c, w, med;
        min_median(r->wall, r->n, &c, &med);
        min_median(r->run_wall, r->run_n, &w, &med);
        printf("  %-8u %9.3fs %11.3fs %9.2fM %10llu %8.1f%%\n", r->threads, c, w,
               (double)r->rows / w / 1e6, (unsigned long long)r->windows, 100 * c / w);
        if (r->checkpoints)
            printf("           %llu checkpoints, largest %.1f KB, %.1f ms each on average\n",
                   (unsigned long long)r->checkpoints, (double)r->checkpoint_bytes / 1e3,
                   1e3 * r->checkpoint_seconds / (double)r->checkpoints);
        if (r->windows)
            printf("           alerts fired %llu, resolved %llu; alerting %.1f us per window "
                   "(%.2f%% of the run); window close to records written p50 %.3f ms, "
                   "p99 %.3f ms, max %.3f ms\n",
                   (unsigned long long)r->alerts_fired, (unsigned long long)r->alerts_resolved,
                   1e6 * r->alert_seconds / (double)r->windows,
                   r->run_seconds > 0 ? 100 * r->alert_seconds / r->run_seconds : 0,
                   1e3 * r->lat_p50, 1e3 * r->lat_p99, 1e3 * r->lat_max);
    }
    printf("\n  peak RSS of this process: %.1f MB\n", (double)peak_rss() / 1e6);
}

static void print_text(const run_stats *rs, int nrs, const char *input, uint64_t bytes)
{
    printf("assay bench · %s · %.1f MB\n\n", input, (double)bytes / 1e6);
    printf("  %-8s %10s %10s %12s %10s %16s %9s\n", "THREADS", "MIN", "MEDIAN", "ROWS/S", "MB/S",
           "ROWS/S/THREAD", "SPEEDUP");
    double base = 0;
    for (int k = 0; k < nrs; k++) {
        const run_stats *r = &rs[k];
        double min, med;
        min_median(r->wall, r->n, &min, &med);
        double rps = (double)r->rows / min;
        if (k == 0)
            base = min;
        printf("  %-8u %9.3fs %9.3fs %11.2fM %10.0f %15.2fM %8.2fx\n", r->threads, min, med,
               rps / 1e6, (double)r->bytes / min / 1e6, rps / r->threads / 1e6, base / min);
    }
    for (int k = 0; k < nrs; k++) {
        const run_stats *r = &rs[k];
        double total = 0;
        for (int st = 0; st < ASSAY_STAGE_COUNT; st++)
            total += r->stage[st];
        printf("\n  stages, %u thread%s (fastest run; seconds summed over threads):\n", r->threads,
               r->threads == 1 ? "" : "s");
        for (int st = 0; st < ASSAY_STAGE_COUNT; st++)
            printf("    %-12s %8.1f ns/row %6.1f%%\n", assay_stage_name((assay_stage)st),
                   1e9 * r->stage[st] / (double)r->rows,
                   total > 0 ? 100 * r->stage[st] / total : 0);
    }
}

static char *to_json(const run_stats *rs, int nrs, const char *input)
{
    assay_strbuf sb;
    assay_json j;
    assay_sb_init(&sb);
    assay_json_init(&j, &sb);
    assay_json_obj_open(&j);
    assay_json_key(&j, "input");
    assay_json_str(&j, input);
    assay_json_key(&j, "runs");
    assay_json_arr_open(&j);
    double base = 0;
    for (int k = 0; k < nrs; k++) {
        const run_stats *r = &rs[k];
        double min, med;
        min_median(r->wall, r->n, &min, &med);
        if (k == 0)
            base = min;
        assay_json_obj_open(&j);
        assay_json_key(&j, "threads");
        assay_json_u64(&j, r->threads);
        assay_json_key(&j, "rows");
        assay_json_u64(&j, r->rows);
        assay_json_key(&j, "bytes");
        assay_json_u64(&j, r->bytes);
        assay_json_key(&j, "seconds_min");
        assay_json_f64(&j, min);
        assay_json_key(&j, "seconds_median");
        assay_json_f64(&j, med);
        assay_json_key(&j, "rows_per_second");
        assay_json_f64(&j, (double)r->rows / min);
        assay_json_key(&j, "bytes_per_second");
        assay_json_f64(&j, (double)r->bytes / min);
        assay_json_key(&j, "rows_per_second_per_thread");
        assay_json_f64(&j, (double)r->rows / min / r->threads);
        assay_json_key(&j, "speedup");
        assay_json_f64(&j, base / min);
        if (r->run_n) { /* --run: the streaming pass on the same input */
            double rmin, rmed;
            min_median(r->run_wall, r->run_n, &rmin, &rmed);
            assay_json_key(&j, "run");
            assay_json_obj_open(&j);
            assay_json_key(&j, "seconds_min");
            assay_json_f64(&j, rmin);
            assay_json_key(&j, "seconds_median");
            assay_json_f64(&j, rmed);
            assay_json_key(&j, "rows_per_second");
            assay_json_f64(&j, (double)r->rows / rmin);
            assay_json_key(&j, "run_over_check"); /* throughput of run / of check */
            assay_json_f64(&j, min / rmin);
            assay_json_key(&j, "windows");
            assay_json_u64(&j, r->windows);
            assay_json_key(&j, "checkpoints");
            assay_json_u64(&j, r->checkpoints);
            assay_json_key(&j, "checkpoint_bytes_max");
            assay_json_u64(&j, r->checkpoint_bytes);
            assay_json_key(&j, "checkpoint_seconds");
            assay_json_f64(&j, r->checkpoint_seconds);
            assay_json_key(&j, "alerts_fired");
            assay_json_u64(&j, r->alerts_fired);
            assay_json_key(&j, "alerts_resolved");
            assay_json_u64(&j, r->alerts_resolved);
            assay_json_key(&j, "alert_seconds_per_window");
            assay_json_f64(&j, r->windows ? r->alert_seconds / (double)r->windows : 0);
            assay_json_key(&j, "alert_share");
            assay_json_f64(&j, r->run_seconds > 0 ? r->alert_seconds / r->run_seconds : 0);
            assay_json_key(&j, "close_to_written_seconds");
            assay_json_obj_open(&j);
            assay_json_key(&j, "p50");
            assay_json_f64(&j, r->lat_p50);
            assay_json_key(&j, "p99");
            assay_json_f64(&j, r->lat_p99);
            assay_json_key(&j, "max");
            assay_json_f64(&j, r->lat_max);
            assay_json_obj_close(&j);
            assay_json_obj_close(&j);
        }
        assay_json_key(&j, "stages");
        assay_json_obj_open(&j);
        for (int st = 0; st < ASSAY_STAGE_COUNT; st++) {
            assay_json_key(&j, assay_stage_name((assay_stage)st));
            assay_json_obj_open(&j);
            assay_json_key(&j, "seconds");
            assay_json_f64(&j, r->stage[st]);
            assay_json_key(&j, "ns_per_row");
            assay_json_f64(&j, 1e9 * r->stage[st] / (double)r->rows);
            assay_json_obj_close(&j);
        }
        assay_json_obj_close(&j);
        assay_json_obj_close(&j);
    }
    assay_json_arr_close(&j);
    if (nrs && rs[0].run_n) {
        assay_json_key(&j, "peak_rss_bytes");
        assay_json_u64(&j, peak_rss());
    }
    assay_json_obj_close(&j);
    assay_sb_putc(&sb, '\n');
    return sb.oom ? (assay_sb_free(&sb), NULL) : sb.data;
}

int assay_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "rows", required_argument, NULL, 'r' },
        { "threads", required_argument, NULL, 't' },
        { "batch", required_argument, NULL, 'b' },
        { "repeat", required_argument, NULL, 'k' },
        { "no-profile", no_argument, NULL, 'P' },
        { "run", no_argument, NULL, 'R' },
        { "rate", required_argument, NULL, 'a' },
        { "state", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "faults", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL;
    uint64_t rows = 1000000, batch = 4096, repeat = 3;
    unsigned sweep[MAX_SWEEP];
    int nsweep = 0;
    bool json = false, profile = true, run_mode = false;
    uint64_t rate = 0;
    const char *state_dir = NULL, *faults = NULL;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, ":c:t:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 'r':
            if (parse_count(optarg, &rows) < 0) {
                fprintf(stderr, "assay bench: --rows: '%s' is not a positive count\n", optarg);
                return ASSAY_EXIT_ERROR;
            }
            break;
        case 'b':
            if (parse_count(optarg, &batch) < 0 || batch > 1 << 20) {
                fprintf(stderr, "assay bench: --batch: '%s' is not a count up to 1048576\n",
                        optarg);
                return ASSAY_EXIT_ERROR;
            }
            break;
        case 'k':
            if (parse_count(optarg, &repeat) < 0 || repeat > 32) {
                fprintf(stderr, "assay bench: --repeat: '%s' is not a count from 1 to 32\n",
                        optarg);
                return ASSAY_EXIT_ERROR;
            }
            break;
        case 't': {
            char *list = strdup(optarg);
            nsweep = 0;
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
                if (nsweep == MAX_SWEEP || assay_cli_threads("bench", tok, &sweep[nsweep]) != 0) {
                    free(list);
                    if (nsweep == MAX_SWEEP)
                        fprintf(stderr, "assay bench: --threads: at most %d values\n", MAX_SWEEP);
                    return ASSAY_EXIT_ERROR;
                }
                nsweep++;
            }
            free(list);
            break;
        }
        case 'P':
            profile = false;
            break;
        case 'R':
            run_mode = true;
            break;
        case 'a':
            if (parse_count(optarg, &rate) < 0 || rate > 1000000000) {
                fprintf(stderr, "assay bench: --rate: '%s' is not a count of rows per second\n",
                        optarg);
                return ASSAY_EXIT_ERROR;
            }
            break;
        case 'S':
            state_dir = optarg;
            break;
        case 'f':
            faults = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            bench_usage(stdout);
            return ASSAY_EXIT_OK;
        default:
            return assay_cli_bad_option("bench", ch, argv);
        }
    }
    if (nsweep == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        sweep[nsweep++] = 1;
        if (ncpu > 1)
            sweep[nsweep++] = (unsigned)ncpu;
    }
    assay_error err = { 0 };
    assay_config *cfg = NULL;
    int rc = config_path ? assay_config_load(config_path, &cfg, &err)
                         : assay_config_parse(default_config, strlen(default_config),
                                              "(built-in bench config)", &cfg, &err);
    if (rc < 0) {
        fprintf(stderr, "assay bench: %s\n", err.msg);
        return ASSAY_EXIT_ERROR;
    }
    if (run_mode && !cfg->event_time && !(cfg->event_time = strdup("created_at"))) {
        assay_config_free(cfg);
        return ASSAY_EXIT_ERROR;
    }
    if (run_mode && state_dir) {
        free(cfg->state.dir);
        cfg->state.dir = strdup(state_dir);
        cfg->state.interval_us = 1000000;
    }
    if (run_mode && !rate)
        rate = 10000;
    if (!config_path && !profile) { /* the built-in job's --no-profile: rules only */
        for (size_t i = 0; i < cfg->anomaly.ncolumns; i++)
            free(cfg->anomaly.columns[i]);
        cfg->anomaly.ncolumns = 0;
    }
    const char *file = optind < argc ? argv[optind] : NULL;
    char *mem = NULL;
    size_t mem_len = 0;
    if (!file) {
        if (!json)
            fprintf(stderr, "generating %llu rows in memory...\n", (unsigned long long)rows);
        mem = generate(rows, rate ? (int64_t)(1000000 / rate) : 0, faults, &mem_len);
        if (!mem) {
            if (!faults)
                fprintf(stderr, "assay bench: out of memory generating %llu rows\n",
                        (unsigned long long)rows);
            assay_config_free(cfg);
            return ASSAY_EXIT_ERROR;
        }
    }
    run_stats rs[MAX_SWEEP];
    memset(rs, 0, sizeof(rs));
    int status = ASSAY_EXIT_OK;
    for (int k = 0; k < nsweep && status == ASSAY_EXIT_OK; k++) {
        rs[k].threads = sweep[k];
        double best = 1e300;
        for (uint64_t i = 0; i < repeat; i++) {
            assay_engine_options eo;
            assay_engine_options_default(&eo);
            eo.cfg = cfg;
            eo.threads = sweep[k];
            eo.batch_rows = (uint32_t)batch;
            eo.profile = profile;
            eo.now_us = 1767225600000000LL; /* fixed clock: 2026-01-01 */
            if (file) {
                eo.paths = (const char *const *)&argv[optind];
                eo.npaths = 1;
            } else {
                eo.mem = mem;
                eo.mem_len = mem_len;
            }
            assay_result *res = NULL;
            if (assay_engine_check(&eo, &res, &err) < 0) {
                fprintf(stderr, "assay bench: %s\n", err.msg);
                status = ASSAY_EXIT_ERROR;
                break;
            }
            rs[k].wall[rs[k].n++] = res->seconds;
            rs[k].rows = res->rows;
            rs[k].bytes = res->bytes;
            if (res->seconds < best) {
                best = res->seconds;
                memcpy(rs[k].stage, res->stage_seconds, sizeof(rs[k].stage));
            }
            assay_result_free(res);
            if (!run_mode)
                continue;
            /* the streaming pass on the same input, right after (same caches, same load) */
            assay_run_summary sum;
            eo.now_us = INT64_MIN;
            eo.from_beginning = true;
            if (assay_engine_run(&eo, &sum, &err) < 0) {
                fprintf(stderr, "assay bench: run: %s\n", err.msg);
                status = ASSAY_EXIT_ERROR;
                break;
            }
            rs[k].run_wall[rs[k].run_n++] = sum.seconds;
            rs[k].windows = sum.windows;
            rs[k].checkpoints = sum.checkpoints;
            rs[k].checkpoint_bytes = sum.checkpoint_bytes;
            rs[k].checkpoint_seconds = sum.checkpoint_seconds;
            if (rs[k].run_n == 1 || sum.alert_latency_p99 > rs[k].lat_p99) {
                rs[k].alerts_fired = sum.alerts_fired;
                rs[k].alerts_resolved = sum.alerts_resolved;
                rs[k].alert_seconds = sum.alert_seconds;
                rs[k].run_seconds = sum.seconds;
                rs[k].lat_p50 = sum.alert_latency_p50;
                rs[k].lat_p99 = sum.alert_latency_p99;
                rs[k].lat_max = sum.alert_latency_max;
            }
        }
    }
    if (status == ASSAY_EXIT_OK) {
        const char *input = file ? file : "generated orders in memory";
        if (json) {
            char *text = to_json(rs, nsweep, input);
            if (text)
                fputs(text, stdout);
            else
                status = ASSAY_EXIT_ERROR;
            free(text);
        } else {
            print_text(rs, nsweep, input, rs[0].bytes);
            if (run_mode)
                print_run(rs, nsweep);
        }
    }
    free(mem);
    assay_config_free(cfg);
    return status;
}
