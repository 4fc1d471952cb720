/*
 * test_csv_simd.c - every CSV index kernel against the scalar twin, and parse results
 * that must not depend on the kernel or on where a reader cut the chunks.
 *
 * Inputs are random mixes of quotes, delimiters, '\n', '\r' and letters (several
 * mixes, from quote-heavy to plain), lengths 0..6 KiB, never padded: each buffer is
 * malloc'd at exactly its length so ASan sees any read past the end. Fixed cases:
 * all-quote inputs, 1-byte inputs, quotes at block edges 63/64/65, small separator
 * capacities (the kernels must stop at the same block).
 *
 * A level the CPU lacks is skipped (cmocka skip()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/csv.h"

/* ---------------------------------------------------------------- random inputs */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    /* splitmix64: deterministic, so a failure reproduces */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rndn(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* A random buffer of exactly len bytes in one of several byte mixes. */
static char *random_csv(size_t len, int mix)
{
    static const char *const alphabets[] = {
        "\",\n\rab",                  /* dense structure */
        "\"\"\"\",\n",                /* quote heavy */
        "abcdefgh,,,\n\"",            /* CSV-like, few quotes */
        "abcdefghijklmnopqrstuvw,\n", /* no quotes */
        "\"",                         /* all quotes */
        "\n",                         /* all newlines */
        "\",\n\r\0x",                 /* NUL bytes too */
    };
    const char *a = alphabets[mix % ASSAY_ARRAY_LEN(alphabets)];
    size_t na = mix % ASSAY_ARRAY_LEN(alphabets) == 6 ? 6 : strlen(a);
    char *b = malloc(len ? len : 1);
    assert_non_null(b);
    for (size_t i = 0; i < len; i++)
        b[i] = a[rndn(na)];
    return b;
}

static size_t random_len(void)
{
    switch (rndn(4)) {
    case 0:
        return rndn(130);
    case 1:
        return 64 * (1 + rndn(8)) + (rndn(3) - 1); /* around block multiples */
    default:
        return rndn(6 * 1024);
    }
}

/* ---------------------------------------------------------------- kernels */

static void skip_unless(assay_simd_level level)
{
    if (level > assay_cpu_detect()) {
        print_message("level %s not supported by this CPU: skipped\n", assay_simd_name(level));
        skip();
    }
}

/* Run kernel f over buf in calls of capacity cap until everything is consumed,
 * comparing each call with the scalar kernel. */
static void compare_kernel(assay_csv_index_fn f, const char *buf, size_t len, char d, char q,
                           size_t cap, uint64_t inq0)
{
    assay_csv_index_fn ref = assay_csv_index_kernel(ASSAY_SIMD_SCALAR);
    uint32_t *a = malloc(cap * sizeof(uint32_t)), *b = malloc(cap * sizeof(uint32_t));
    uint64_t qa = inq0, qb = inq0;
    size_t pos = 0;
    int calls = 0;
    do {
        size_t ca = 12345, cb = 54321;
        uint32_t la = 7, lb = 7;
        size_t na = ref(buf + pos, len - pos, d, q, &qa, a, cap, &ca, &la);
        size_t nb = f(buf + pos, len - pos, d, q, &qb, b, cap, &cb, &lb);
        if (na != nb || ca != cb || la != lb || qa != qb)
            print_message("len %zu pos %zu cap %zu: scalar n=%zu consumed=%zu nl=%u q=%llx; "
                          "kernel n=%zu consumed=%zu nl=%u q=%llx\n",
                          len, pos, cap, na, ca, la, (unsigned long long)qa, nb, cb, lb,
                          (unsigned long long)qb);
        assert_int_equal(na, nb);
        assert_int_equal(ca, cb);
        assert_int_equal(la, lb);
        assert_int_equal(qa, qb);
        for (size_t i = 0; i < na; i++) {
            if (a[i] != b[i])
                print_message("len %zu pos %zu: separator %zu differs\n", len, pos, i);
            assert_int_equal(a[i], b[i]);
        }
        /* the contract: stop only at a block boundary, and only for lack of room */
        assert_true(ca == len - pos || (ca % 64 == 0 && cap - na < 64));
        pos += ca;
        assert_true(++calls < 100000);
    } while (pos < len && cap >= 64);
    free(a);
    free(b);
}

static void test_kernel_random(void **state)
{
    assay_simd_level level = (assay_simd_level)(uintptr_t)*state;
    skip_unless(level);
    assay_csv_index_fn f = assay_csv_index_kernel(level);
    for (int it = 0; it < 3000; it++) {
        size_t len = random_len();
        int mix = (int)rndn(7);
        char *buf = random_csv(len, mix);
        size_t cap = rndn(3) == 0 ? 64 + rndn(200) : 8192;
        compare_kernel(f, buf, len, ',', '"', cap, rndn(2) ? ~(uint64_t)0 : 0);
        /* other delimiter/quote pairs, including NUL as delimiter */
        compare_kernel(f, buf, len, 'a', '\r', cap, 0);
        compare_kernel(f, buf, len, '\0', ',', cap, 0);
        free(buf);
    }
}

static void test_kernel_fixed_cases(void **state)
{
    assay_simd_level level = (assay_simd_level)(uintptr_t)*state;
    skip_unless(level);
    assay_csv_index_fn f = assay_csv_index_kernel(level);
    /* 1-byte inputs: every byte value */
    for (int c = 0; c < 256; c++) {
        char *b = malloc(1);
        b[0] = (char)c;
        compare_kernel(f, b, 1, ',', '"', 64, 0);
        compare_kernel(f, b, 1, ',', '"', 64, ~(uint64_t)0);
        free(b);
    }
    /* all quotes and all newlines, every length up to 300 */
    for (size_t len = 0; len <= 300; len++) {
        char *b = malloc(len ? len : 1);
        memset(b, '"', len);
        compare_kernel(f, b, len, ',', '"', 64, 0);
        memset(b, '\n', len);
        compare_kernel(f, b, len, ',', '"', 64, 0); /* 64 separators per block */
        compare_kernel(f, b, len, ',', '"', 127, 0);
        free(b);
    }
    /* quotes and separators around block edges */
    static const size_t edges[] = { 0, 1, 31, 32, 33, 62, 63, 64, 65, 127, 128, 129, 189 };
    for (size_t i = 0; i < ASSAY_ARRAY_LEN(edges); i++) {
        for (size_t j = 0; j < ASSAY_ARRAY_LEN(edges); j++) {
            for (size_t len = 190; len <= 200; len += 5) {
                char *b = malloc(len);
                for (size_t k = 0; k < len; k++)
                    b[k] = k % 3 == 0 ? ',' : (k % 7 == 0 ? '\n' : 'x');
                b[edges[i]] = '"';
                b[edges[j]] = edges[i] == edges[j] ? '\n' : '"';
                compare_kernel(f, b, len, ',', '"', 4096, 0);
                compare_kernel(f, b, len, ',', '"', 100, 0);
                free(b);
            }
        }
    }
}

/* ---------------------------------------------------------------- parse results */

#define MAXC 6
#define CAP  37

typedef struct rec {
    uint32_t reason; /* 0: good row */
    uint32_t off, len, ord, at, detail;
    assay_cell cells[MAXC];
    uint8_t flags[MAXC];
} rec;

typedef struct result {
    rec *r;
    size_t n, cap;
    uint32_t nlines;
} result;

static void push(result *res, const rec *x)
{
    if (res->n == res->cap) {
        res->cap = res->cap ? 2 * res->cap : 64;
        res->r = realloc(res->r, res->cap * sizeof(rec));
        assert_non_null(res->r);
    }
    res->r[res->n++] = *x;
}

/* Parse buf[0..len) fully with the given level, appending every row (good and bad,
 * in order) to res with offsets shifted by base. */
static void collect(const assay_csv_options *o, const char *buf, size_t len, uint32_t ncols,
                    const uint8_t *want, uint32_t cap, uint32_t bad_cap, assay_simd_level level,
                    size_t base, result *res)
{
    static assay_cell cells[MAXC * CAP];
    static uint8_t flags[MAXC * CAP];
    static uint32_t roff[CAP], rlen[CAP], rord[CAP];
    static assay_bad_row bad[CAP];
    assay_cursor cur = { buf, len, 0, 0 };
    int calls = 0;
    while (cur.pos < len) {
        assay_rowset rs = { .ncols = ncols,
                            .want = want,
                            .cap = cap,
                            .cells = cells,
                            .flags = flags,
                            .row_off = roff,
                            .row_len = rlen,
                            .row_ord = rord,
                            .bad = bad,
                            .bad_cap = bad_cap };
        size_t before = cur.pos;
        assert_int_equal(assay_csv_parse_level(o, &cur, &rs, level), 0);
        assert_true(cur.pos > before);
        assert_true(rs.nrows <= cap && rs.nbad <= bad_cap);
        /* nlines is every '\n' consumed */
        uint32_t nl = 0;
        for (size_t i = before; i < cur.pos; i++)
            nl += buf[i] == '\n';
        assert_int_equal(rs.nlines, nl);
        res->nlines += rs.nlines;
        uint32_t g = 0, b = 0;
        while (g < rs.nrows || b < rs.nbad) {
            rec x;
            memset(&x, 0, sizeof(x));
            if (b >= rs.nbad || (g < rs.nrows && rord[g] < bad[b].row)) {
                x.off = roff[g] + (uint32_t)base;
                x.len = rlen[g];
                x.ord = rord[g];
                for (uint32_t c = 0; c < ncols && c < MAXC; c++) {
                    if (!want[c])
                        continue;
                    x.cells[c] = cells[c * cap + g];
                    x.cells[c].off += (uint32_t)base;
                    x.flags[c] = flags[c * cap + g];
                }
                g++;
            } else {
                x.reason = bad[b].reason;
                x.off = bad[b].off + (uint32_t)base;
                x.len = bad[b].len;
                x.ord = bad[b].row;
                x.at = bad[b].at;
                x.detail = bad[b].detail;
                b++;
            }
            push(res, &x);
        }
        assert_true(++calls < 1000000);
    }
    assert_int_equal(cur.pos, len);
}

static void compare_results(const result *a, const result *b, const char *what)
{
    if (a->n != b->n || a->nlines != b->nlines)
        print_message("%s: rows %zu vs %zu, lines %u vs %u\n", what, a->n, b->n, a->nlines,
                      b->nlines);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->nlines, b->nlines);
    for (size_t i = 0; i < a->n; i++) {
        const rec *x = &a->r[i], *y = &b->r[i];
        if (memcmp(x, y, sizeof(rec)) != 0)
            print_message("%s: row %zu differs: reason %u/%u off %u/%u len %u/%u ord %u/%u at "
                          "%u/%u detail %u/%u\n",
                          what, i, x->reason, y->reason, x->off, y->off, x->len, y->len, x->ord,
                          y->ord, x->at, y->at, x->detail, y->detail);
        assert_int_equal(x->reason, y->reason);
        assert_int_equal(x->off, y->off);
        assert_int_equal(x->len, y->len);
        assert_int_equal(x->at, y->at);
        assert_int_equal(x->detail, y->detail);
        assert_memory_equal(x->cells, y->cells, sizeof(x->cells));
        assert_memory_equal(x->flags, y->flags, sizeof(x->flags));
    }
}

static void random_setup(assay_csv_options *o, uint32_t *ncols, uint8_t *want)
{
    assay_csv_options_default(o);
    if (rndn(4) == 0)
        o->max_row_bytes = (uint32_t)(1 + rndn(200));
    if (rndn(4) == 0)
        o->max_fields = (uint32_t)(1 + rndn(8));
    *ncols = (uint32_t)(1 + rndn(MAXC));
    for (int c = 0; c < MAXC; c++)
        want[c] = rndn(3) != 0;
}

static void test_parse_levels_agree(void **state)
{
    assay_simd_level level = (assay_simd_level)(uintptr_t)*state;
    skip_unless(level);
    for (int it = 0; it < 1500; it++) {
        assay_csv_options o;
        uint32_t ncols;
        uint8_t want[MAXC];
        random_setup(&o, &ncols, want);
        size_t len = random_len();
        if (rndn(10) == 0)
            len = 40000 + rndn(20000); /* several index windows */
        char *buf = random_csv(len, (int)rndn(7));
        uint32_t cap = (uint32_t)(1 + rndn(CAP)), bad_cap = (uint32_t)(1 + rndn(CAP));
        result a = { 0 }, b = { 0 };
        collect(&o, buf, len, ncols, want, cap, bad_cap, ASSAY_SIMD_SCALAR, 0, &a);
        collect(&o, buf, len, ncols, want, cap, bad_cap, level, 0, &b);
        compare_results(&a, &b, assay_simd_name(level));
        /* and the ordinals are 0, 1, 2, ... */
        for (size_t i = 0; i < a.n; i++)
            assert_int_equal(a.r[i].ord, i);
        free(a.r);
        free(b.r);
        free(buf);
    }
}

/* Whole buffer vs the same buffer cut into chunks at assay_csv_last_row_end, as the
 * reader does: for random read sizes, each chunk ends at the last row end inside the
 * read window (or the window grows when it holds none). */
static void test_chunked_equals_whole(void **state)
{
    (void)state;
    for (int it = 0; it < 600; it++) {
        assay_csv_options o;
        uint32_t ncols;
        uint8_t want[MAXC];
        random_setup(&o, &ncols, want);
        size_t len = random_len() + rndn(4000);
        char *buf = random_csv(len, (int)rndn(4));
        result whole = { 0 }, parts = { 0 };
        collect(&o, buf, len, ncols, want, CAP, CAP, assay_cpu_level(), 0, &whole);
        for (int cuts = 0; cuts < 4; cuts++) {
            size_t read = 1 + rndn(cuts == 0 ? 64 : 700);
            size_t p = 0;
            parts.n = 0;
            parts.nlines = 0;
            while (p < len) {
                size_t w = ASSAY_MIN(read, len - p), end;
                while ((end = assay_csv_last_row_end(&o, buf + p, w)) == 0 && w < len - p)
                    w = ASSAY_MIN(2 * w, len - p);
                if (end == 0)
                    end = len - p; /* the file's last row, without a terminator */
                /* a chunk is its own buffer of exactly its length */
                char *chunk = malloc(end);
                memcpy(chunk, buf + p, end);
                size_t first = parts.n;
                collect(&o, chunk, end, ncols, want, CAP, CAP, assay_cpu_level(), p, &parts);
                for (size_t i = first; i < parts.n; i++)
                    parts.r[i].ord += (uint32_t)first; /* ordinals restart per chunk */
                free(chunk);
                p += end;
            }
            compare_results(&whole, &parts, "chunked");
        }
        free(whole.r);
        free(parts.r);
        free(buf);
    }
}

int main(void)
{
    static void *levels[] = { (void *)(uintptr_t)ASSAY_SIMD_SSE42,
                              (void *)(uintptr_t)ASSAY_SIMD_AVX2,
                              (void *)(uintptr_t)ASSAY_SIMD_AVX512 };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_kernel_random, levels[1]),
        cmocka_unit_test_prestate(test_kernel_random, levels[2]),
        cmocka_unit_test_prestate(test_kernel_fixed_cases, levels[0]),
        cmocka_unit_test_prestate(test_kernel_fixed_cases, levels[1]),
        cmocka_unit_test_prestate(test_kernel_fixed_cases, levels[2]),
        cmocka_unit_test_prestate(test_parse_levels_agree, levels[1]),
        cmocka_unit_test_prestate(test_parse_levels_agree, levels[2]),
        cmocka_unit_test(test_chunked_equals_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
