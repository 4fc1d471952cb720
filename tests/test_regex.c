/* Tests for `matches` rules (src/rules/regex.c, src/rules/formats.c).
 *
 * `test_regex --bench` instead measures ns/value of both scan strategies on 1M e-mail
 * addresses (no assertions on time anywhere). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/bitmap.h"
#include "assay/regex.h"

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static assay_regex_db *compile_ok(const char *const *pats, size_t n)
{
    assay_regex_db *db = NULL;
    assay_error err = { 0 };
    int rc = assay_regex_compile(pats, n, &db, &err);
    if (rc != 0)
        fail_msg("compile failed: %s", err.msg);
    assert_non_null(db);
    return db;
}

/* Match n values (C strings, or with explicit lens when lens != NULL) against db with
 * the given strategy; returns malloc'ed bitmaps, one per pattern. */
static uint64_t **match_with(const assay_regex_db *db, assay_regex_strategy st,
                             const char *const *vals, const uint32_t *lens_in, const uint64_t *skip,
                             size_t n)
{
    size_t m = assay_regex_count(db);
    uint64_t **match = calloc(m, sizeof(*match));
    uint32_t *lens = calloc(n + 1, sizeof(uint32_t));
    assert_non_null(match);
    for (size_t i = 0; i < n; i++)
        lens[i] = lens_in ? lens_in[i] : (uint32_t)strlen(vals[i]);
    for (size_t j = 0; j < m; j++) {
        match[j] = malloc((ASSAY_BITMAP_WORDS(n) + 1) * sizeof(uint64_t));
        /* garbage: the call must clear it */
        memset(match[j], 0xa5, (ASSAY_BITMAP_WORDS(n) + 1) * sizeof(uint64_t));
    }
    assay_regex_scratch *s = NULL;
    assert_int_equal(assay_regex_scratch_new(db, &s), 0);
    assay_regex_scratch_set_strategy(s, st);
    assert_int_equal(assay_regex_match_batch(db, s, vals, lens, skip, n, match), 0);
    assay_regex_scratch_free(s);
    free(lens);
    return match;
}

static void free_match(uint64_t **match, size_t m)
{
    for (size_t j = 0; j < m; j++)
        free(match[j]);
    free(match);
}

static bool match_one(const char *pattern, const char *val, size_t len, assay_regex_strategy st)
{
    assay_regex_db *db = compile_ok(&pattern, 1);
    uint32_t l = (uint32_t)len;
    uint64_t **m = match_with(db, st, &val, &l, NULL, 1);
    bool r = assay_bit_get(m[0], 0);
    free_match(m, 1);
    assay_regex_free(db);
    return r;
}

/* ---- named formats --------------------------------------------------------------- */

struct format_case {
    const char *format;
    const char *const *good;
    const char *const *bad;
};

static const char *const email_good[] = {
    "user@example.com",   "first.last@sub.example.co.uk",    "a+tag@x.io",
    "o'brien@example.ie", "x_y-z@a-b.example.org",           "UPPER@EXAMPLE.COM",
    "n1@d2.xn--p1ai",     "!#$%&'*+/=?^_`{|}~-@example.com", NULL
};
static const char *const email_bad[] = { "",
                                         "plain",
                                         "@example.com",
                                         "user@",
                                         "user@localhost",
                                         "user@example",
                                         "user@.com",
                                         "user@example.com.",
                                         "user@-example.com",
                                         "user@example-.com",
                                         "user@ex ample.com",
                                         "us er@example.com",
                                         "user@@example.com",
                                         ".user@example.com",
                                         "user.@example.com",
                                         "us..er@example.com",
                                         "user@exa..mple.com",
                                         "user@1.2.3.4",
                                         "user@example.c",
                                         "user@example.com\n",
                                         " user@example.com",
                                         "user@example.com ",
                                         "ü@example.com",
                                         "user@example.com>",
                                         NULL };
static const char *const uuid_good[] = { "123e4567-e89b-12d3-a456-426614174000",
                                         "00000000-0000-0000-0000-000000000000",
                                         "ABCDEF01-abcd-EF01-aBcD-0123456789aF", NULL };
static const char *const uuid_bad[] = { "123e4567e89b12d3a456426614174000",
                                        "123e4567-e89b-12d3-a456-42661417400",
                                        "123e4567-e89b-12d3-a456-4266141740000",
                                        "g23e4567-e89b-12d3-a456-426614174000",
                                        "{123e4567-e89b-12d3-a456-426614174000}",
                                        "123e4567-e89b-12d3-a456_426614174000",
                                        "123e4567-e89b-12d3-a456-426614174000\n",
                                        "",
                                        NULL };
static const char *const ipv4_good[] = { "0.0.0.0", "255.255.255.255", "192.168.1.1", "10.0.0.254",
                                         "1.2.3.4", "249.250.199.100", NULL };
static const char *const ipv4_bad[] = { "256.1.1.1", "1.2.3",           "1.2.3.4.5", "01.2.3.4",
                                        "1.2.3.00",  "1.2.3.-1",        "1.2.3.4 ",  "a.b.c.d",
                                        "1..2.3",    "300.300.300.300", "1.2.3.4\n", "",
                                        NULL };
static const char *const date_good[] = { "2024-01-31", "1999-12-01", "0001-10-10",
                                         "2024-02-29", "2024-09-30", NULL };
static const char *const date_bad[] = {
    "2024-13-01", "2024-00-10",           "2024-01-00",   "2024-01-32", "24-01-01", "2024/01/01",
    "2024-1-1",   "2024-01-01T00:00:00Z", "2024-01-01\n", "",           NULL
};
static const char *const phone_good[] = { "+14155552671", "+442071838750", "+12345678",
                                          "+123456789012345", NULL };
static const char *const phone_bad[] = { "14155552671",
                                         "+04155552671",
                                         "+1234567",
                                         "+1234567890123456",
                                         "+1 415 555 2671",
                                         "+",
                                         "++14155552671",
                                         "+14155552671\n",
                                         "",
                                         NULL };

static const struct format_case format_cases[] = {
    { "email", email_good, email_bad },      { "uuid", uuid_good, uuid_bad },
    { "ipv4", ipv4_good, ipv4_bad },         { "iso_date", date_good, date_bad },
    { "phone_e164", phone_good, phone_bad },
};

static void test_formats(void **state)
{
    (void)state;
    for (size_t f = 0; f < ASSAY_ARRAY_LEN(format_cases); f++) {
        const struct format_case *fc = &format_cases[f];
        const char *pat = NULL;
        assert_int_equal(assay_format_pattern(fc->format, &pat), 0);
        assay_regex_db *db = compile_ok(&pat, 1);
        if (!assay_regex_joinable(db, 0))
            fail_msg("format %s should take the joined fast path", fc->format);
        for (int good = 0; good < 2; good++) {
            const char *const *list = good ? fc->good : fc->bad;
            size_t n = 0;
            while (list[n])
                n++;
            for (int st = ASSAY_REGEX_PER_VALUE; st <= ASSAY_REGEX_JOINED; st++) {
                uint64_t **m = match_with(db, (assay_regex_strategy)st, list, NULL, NULL, n);
                for (size_t i = 0; i < n; i++)
                    if (assay_bit_get(m[0], i) != (bool)good)
                        fail_msg("format %s, strategy %d: '%s' should %smatch", fc->format, st,
                                 list[i], good ? "" : "not ");
                free_match(m, 1);
            }
        }
        assay_regex_free(db);
    }
}

static void test_format_names(void **state)
{
    (void)state;
    const char *const *names = assay_format_names();
    size_t n = 0;
    for (; names[n]; n++) {
        const char *p = NULL;
        assert_int_equal(assay_format_pattern(names[n], &p), 0);
        assert_non_null(p);
    }
    assert_int_equal(n, 5);
    const char *p = NULL;
    assert_int_equal(assay_format_pattern("zipcode", &p), -ENOENT);
    assert_int_equal(assay_format_pattern("EMAIL", &p), -ENOENT);
}

/* ---- compile errors -------------------------------------------------------------- */

static void expect_compile_error(const char *const *pats, size_t n, const char *want1,
                                 const char *want2)
{
    assay_regex_db *db = (assay_regex_db *)(uintptr_t)1;
    assay_error err = { 0 };
    int rc = assay_regex_compile(pats, n, &db, &err);
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_null(db);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        fail_msg("error message '%s' lacks '%s' / '%s'", err.msg, want1, want2 ? want2 : "");
}

static void test_compile_errors(void **state)
{
    (void)state;
    const char *paren[] = { "abc", "^x+$", "^(abc" };
    expect_compile_error(paren, 3, "pattern 2 '^(abc'", "Missing close parenthesis");
    const char *backref[] = { "(a)\\1" };
    expect_compile_error(backref, 1, "pattern 0 '(a)\\1'", "back-references");
    const char *ahead[] = { "x", "foo(?=bar)" };
    expect_compile_error(ahead, 2, "pattern 1 'foo(?=bar)'", "lookahead/lookbehind");
    const char *behind[] = { "(?<=x)y" };
    expect_compile_error(behind, 1, "pattern 0", "foobar");
    const char *atomic[] = { "(?>ab)c" };
    expect_compile_error(atomic, 1, "pattern 0", "Atomic");
    const char *bracket[] = { "[a-" };
    expect_compile_error(bracket, 1, "pattern 0 '[a-'", NULL);
    expect_compile_error(bracket, 0, "no patterns", NULL);
    const char *missing[] = { "a", NULL };
    expect_compile_error(missing, 2, "pattern 1 is missing", NULL);
}

/* ---- matching -------------------------------------------------------------------- */

static void test_multiple_patterns(void **state)
{
    (void)state;
    const char *pats[] = { "^[0-9]+\\z", "abc", "^a", "c$", "(?i)HELLO", "\\bword\\b" };
    const char *vals[] = { "123",     "xabcx",     "a", "abc", "Hello there",
                           "a word.", "swordfish", "",  "12a" };
    /* expected[j] is a string of '0'/'1' per value */
    const char *expected[] = { "100000000", "010100000", "001101000",
                               "000100000", "000010000", "000001000" };
    size_t m = ASSAY_ARRAY_LEN(pats), n = ASSAY_ARRAY_LEN(vals);
    assay_regex_db *db = compile_ok(pats, m);
    assert_int_equal(assay_regex_count(db), m);
    for (int st = ASSAY_REGEX_AUTO; st <= ASSAY_REGEX_JOINED; st++) {
        uint64_t **match = match_with(db, (assay_regex_strategy)st, vals, NULL, NULL, n);
        for (size_t j = 0; j < m; j++) {
            for (size_t i = 0; i < n; i++)
                if (assay_bit_get(match[j], i) != (expected[j][i] == '1'))
                    fail_msg("strategy %d: pattern '%s' on '%s': want %c", st, pats[j], vals[i],
                             expected[j][i]);
            /* bits past n are cleared too */
            assert_int_equal(match[j][0] >> n, 0);
        }
        free_match(match, m);
    }
    assay_regex_free(db);
}

static void test_skip_bitmap(void **state)
{
    (void)state;
    const char *pats[] = { "a", "^$" };
    enum { N = 150 };
    const char *vals[N];
    uint64_t skip[ASSAY_BITMAP_WORDS(N)] = { 0 };
    for (size_t i = 0; i < N; i++) {
        vals[i] = (i % 3 == 0) ? "" : (i % 3 == 1) ? "xa" : "a\nb";
        if (i % 7 == 0 || i == 64 || i == 149)
            assay_bit_set(skip, i);
    }
    assay_regex_db *db = compile_ok(pats, 2);
    for (int st = ASSAY_REGEX_PER_VALUE; st <= ASSAY_REGEX_JOINED; st++) {
        uint64_t **m = match_with(db, (assay_regex_strategy)st, vals, NULL, skip, N);
        for (size_t i = 0; i < N; i++) {
            bool skipped = assay_bit_get(skip, i);
            bool want_a = !skipped && i % 3 != 0;
            bool want_empty = !skipped && i % 3 == 0;
            if (assay_bit_get(m[0], i) != want_a || assay_bit_get(m[1], i) != want_empty)
                fail_msg("strategy %d value %zu (skipped %d): a=%d empty=%d", st, i, skipped,
                         assay_bit_get(m[0], i), assay_bit_get(m[1], i));
        }
        free_match(m, 2);
    }
    assay_regex_free(db);
}

static void test_empty_and_all_skipped(void **state)
{
    (void)state;
    const char *pats[] = { "x", "^$" };
    assay_regex_db *db = compile_ok(pats, 2);
    uint64_t m0[3], m1[3];
    uint64_t *match[2] = { m0, m1 };
    const char *vals[130];
    uint32_t lens[130];
    for (size_t i = 0; i < 130; i++) {
        vals[i] = "x";
        lens[i] = 1;
    }
    uint64_t skip[3] = { ~0ull, ~0ull, 3 }; /* all 130 skipped */
    memset(m0, 0xff, sizeof(m0));
    memset(m1, 0xff, sizeof(m1));
    /* n == 0: nothing to do, scratch may be NULL */
    assert_int_equal(assay_regex_match_batch(db, NULL, vals, lens, NULL, 0, match), 0);
    /* every value skipped: Hyperscan must not be called, so a NULL scratch is fine */
    assert_int_equal(assay_regex_match_batch(db, NULL, vals, lens, skip, 130, match), 0);
    for (size_t w = 0; w < 3; w++) {
        assert_int_equal(m0[w], 0);
        assert_int_equal(m1[w], 0);
    }
    /* one value left: now a scratch is required */
    skip[2] = 1;
    assert_int_equal(assay_regex_match_batch(db, NULL, vals, lens, skip, 130, match), -EINVAL);
    assay_regex_free(db);
}

static void test_newline_and_nul(void **state)
{
    (void)state;
    for (int st = ASSAY_REGEX_PER_VALUE; st <= ASSAY_REGEX_JOINED; st++) {
        assay_regex_strategy s = (assay_regex_strategy)st;
        /* PCRE: $ also matches before a final newline, \z does not */
        assert_true(match_one("^abc$", "abc\n", 4, s));
        assert_false(match_one("^abc\\z", "abc\n", 4, s));
        assert_false(match_one("^abc$", "abc\nx", 5, s));
        /* ^ is not multiline inside a value */
        assert_false(match_one("^b", "a\nb", 3, s));
        assert_false(match_one("a.b", "a\nb", 3, s));
        assert_true(match_one("a\\sb", "a\nb", 3, s));
        assert_true(match_one("a[^x]b", "a\nb", 3, s));
        /* NUL bytes are ordinary bytes */
        assert_true(match_one("^a\\x00b\\z", "a\0b", 3, s));
        assert_false(match_one("^a\\z", "a\0b", 3, s));
        assert_true(match_one("b\\z", "a\0b", 3, s));
        assert_true(match_one("^$", "", 0, s));
        assert_false(match_one("^$", "\0", 1, s));
    }
}

static void test_joinable_analysis(void **state)
{
    (void)state;
    static const struct {
        const char *pat;
        bool joinable;
    } cases[] = {
        { "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", true },
        { "a.b", true },
        { "\\Aab\\z", true },
        { "[^[:space:]]+", true },
        { "[^\\n]x", true },
        { "[^\\x00-\\x20]", true },
        { "(?i)abc", true },
        { "(?:a|b)(?<name>c)", true },
        { "\\\\A", true },
        { "[a-z\\]]+", true },
        { "\\s", false },
        { "[^x]", false },
        { "(?s)a.b", false },
        { "(?m)^a", false },
        { "[\\x00-\\x7f]", false },
        { "\\x0a", false },
        { "\\x{a}", false },
        { "[[:space:]]", false },
        { "[[:cntrl:]]", false },
        { "\\W", false },
        { "\\D", false },
        { "[\\W]", false },
        { "\\Qa\\E", false },
        { "\\012", false },
        { "a\nb", false },
    };
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(cases); k++) {
        assay_regex_db *db = compile_ok(&cases[k].pat, 1);
        if (assay_regex_joinable(db, 0) != cases[k].joinable)
            fail_msg("pattern '%s': joinable should be %d", cases[k].pat, cases[k].joinable);
        assay_regex_free(db);
    }
}

/* Random values from a small alphabet rich in separators, random patterns drawn from a
 * list that covers every rule of the join analysis: JOINED must equal PER_VALUE. */
static const char *const random_patterns[] = {
    "a",
    "ab",
    "^a",
    "a$",
    "^ab$",
    "^a\\z",
    "\\Aa",
    "b\\Z",
    "^$",
    "a*",
    "^a*$",
    "x?",
    "a.b",
    "a.*b",
    "^.*$",
    "\\s",
    "a\\sb",
    "[^a]",
    "[^\\n]",
    "^[^@\\s]+@[^@\\s]+$",
    "\\bab",
    "ab\\b",
    "\\Bb",
    "(?i)AB",
    "(?s)a.b",
    "(?m)^b",
    "[a-c]{2,}",
    "\\n",
    "\\x00",
    "a\\x00",
    "[[:space:]]",
    "[[:alpha:]]+$",
    "^[0-9]+\\z",
    "\\d\\d",
    "@",
    "^@",
    "@$",
    "\\W",
    "[\\x00-\\x0f]",
    ".",
    "^.",
    ".$",
    "(a|b)c",
    "^(ab|c)+$",
    "\\S+$",
    "[^@]+@",
};
static const char alphabet[] = { 'a',  'a',  'b',  'b', 'c', '@', ' ', '.',
                                 '\n', '\0', '\1', '9', 'x', 'A', 'B', '_' };

static void random_round(size_t m, size_t n, size_t maxlen)
{
    const char *pats[8];
    for (size_t j = 0; j < m; j++)
        pats[j] = random_patterns[rnd() % ASSAY_ARRAY_LEN(random_patterns)];
    assay_regex_db *db = compile_ok(pats, m);
    char *store = malloc(n * (maxlen + 1) + 1);
    const char **vals = calloc(n + 1, sizeof(*vals));
    uint32_t *lens = calloc(n + 1, sizeof(*lens));
    uint64_t *skip = calloc(ASSAY_BITMAP_WORDS(n) + 1, sizeof(uint64_t));
    bool use_skip = rnd() & 1;
    bool no_newlines = (rnd() % 3) == 0; /* batches where everything joins */
    for (size_t i = 0; i < n; i++) {
        size_t len = rnd() % (maxlen + 1);
        char *v = store + i * (maxlen + 1);
        for (size_t k = 0; k < len; k++) {
            v[k] = alphabet[rnd() % sizeof(alphabet)];
            if (no_newlines && v[k] == '\n')
                v[k] = 'a';
        }
        vals[i] = v;
        lens[i] = (uint32_t)len;
        if (use_skip && rnd() % 4 == 0)
            assay_bit_set(skip, i);
    }
    uint64_t **a = match_with(db, ASSAY_REGEX_PER_VALUE, vals, lens, use_skip ? skip : NULL, n);
    uint64_t **b = match_with(db, ASSAY_REGEX_JOINED, vals, lens, use_skip ? skip : NULL, n);
    for (size_t j = 0; j < m; j++) {
        for (size_t i = 0; i < n; i++) {
            if (assay_bit_get(a[j], i) != assay_bit_get(b[j], i)) {
                char shown[256];
                size_t o = 0;
                for (size_t k = 0; k < lens[i] && o + 5 < sizeof(shown); k++) {
                    unsigned char c = (unsigned char)vals[i][k];
                    o += (size_t)snprintf(shown + o, sizeof(shown) - o,
                                          c >= 32 && c < 127 ? "%c" : "\\x%02x", c);
                }
                fail_msg("pattern '%s' (joinable %d) on value %zu '%s': per-value %d joined %d",
                         pats[j], assay_regex_joinable(db, j), i, shown, assay_bit_get(a[j], i),
                         assay_bit_get(b[j], i));
            }
        }
    }
    free_match(a, m);
    free_match(b, m);
    free(store);
    free(vals);
    free(lens);
    free(skip);
    assay_regex_free(db);
}

static void test_joined_equals_per_value(void **state)
{
    (void)state;
    for (int round = 0; round < 300; round++)
        random_round(1 + rnd() % 6, rnd() % 300, 1 + rnd() % 12);
    /* every pattern of the list alone, so each is compared on many values */
    for (size_t p = 0; p < ASSAY_ARRAY_LEN(random_patterns); p++) {
        assay_regex_db *db = NULL;
        const char *pat = random_patterns[p];
        assert_int_equal(assay_regex_compile(&pat, 1, &db, NULL), 0);
        assay_regex_free(db);
    }
    /* batches larger than one join chunk, long values */
    for (int round = 0; round < 6; round++)
        random_round(1 + rnd() % 4, 3000 + rnd() % 2000, 60);
    random_round(3, 40, 100000);
}

/* AUTO switches strategy between batches (it times both); results never change. */
static void test_auto_over_many_batches(void **state)
{
    (void)state;
    const char *pats[] = { "^[a-c]+\\z", "b", "\\s", "" };
    assay_regex_db *db = compile_ok(pats, 4);
    assay_regex_scratch *s = NULL;
    assert_int_equal(assay_regex_scratch_new(db, &s), 0);
    enum { N = 100 };
    char store[N][8];
    const char *vals[N];
    uint32_t lens[N];
    uint64_t w[4][2];
    uint64_t *match[4] = { w[0], w[1], w[2], w[3] };
    for (int batch = 0; batch < 40; batch++) {
        for (size_t i = 0; i < N; i++) {
            lens[i] = (uint32_t)(rnd() % 8);
            for (size_t k = 0; k < lens[i]; k++)
                store[i][k] = "abc \n"[rnd() % 5];
            vals[i] = store[i];
        }
        assert_int_equal(assay_regex_match_batch(db, s, vals, lens, NULL, N, match), 0);
        uint64_t **ref = match_with(db, ASSAY_REGEX_PER_VALUE, vals, lens, NULL, N);
        for (size_t j = 0; j < 4; j++)
            for (size_t k = 0; k < 2; k++)
                if (ref[j][k] != w[j][k])
                    fail_msg("batch %d pattern '%s' word %zu: auto %#llx per-value %#llx", batch,
                             pats[j], k, (unsigned long long)w[j][k],
                             (unsigned long long)ref[j][k]);
        free_match(ref, 4);
    }
    assay_regex_scratch_free(s);
    assay_regex_free(db);
}

/* Values longer than a join chunk and a batch that spans several chunks. */
static void test_long_values(void **state)
{
    (void)state;
    const char *pats[] = { "^a+b\\z", "ab", "^b" };
    size_t n = 5;
    size_t big = 200000;
    char *long_a = malloc(big + 2);
    memset(long_a, 'a', big);
    long_a[big] = 'b';
    long_a[big + 1] = 0;
    const char *vals[] = { "ab", long_a, "b", long_a + big - 10, "bab" };
    uint32_t lens[] = { 2, (uint32_t)big + 1, 1, 11, 3 };
    assay_regex_db *db = compile_ok(pats, 3);
    const char *want[] = { "11010", "11011", "00101" };
    for (int st = ASSAY_REGEX_PER_VALUE; st <= ASSAY_REGEX_JOINED; st++) {
        uint64_t **m = match_with(db, (assay_regex_strategy)st, vals, lens, NULL, n);
        for (size_t j = 0; j < 3; j++)
            for (size_t i = 0; i < n; i++)
                if (assay_bit_get(m[j], i) != (want[j][i] == '1'))
                    fail_msg("strategy %d pattern %s value %zu: want %c", st, pats[j], i,
                             want[j][i]);
        free_match(m, 3);
    }
    assay_regex_free(db);
    free(long_a);
}

static void test_scratch_per_shard(void **state)
{
    (void)state;
    const char *pats[] = { "^a", "\\s", "b\\z" };
    assay_regex_db *db = compile_ok(pats, 3);
    assay_regex_scratch *s1 = NULL, *s2 = NULL;
    assert_int_equal(assay_regex_scratch_new(db, &s1), 0);
    assert_int_equal(assay_regex_scratch_new(db, &s2), 0);
    assert_ptr_not_equal(s1, s2);
    const char *vals[] = { "ab", "a b", "xb" };
    uint32_t lens[] = { 2, 3, 2 };
    uint64_t w[3][1];
    uint64_t *match[3] = { w[0], w[1], w[2] };
    assert_int_equal(assay_regex_match_batch(db, s1, vals, lens, NULL, 3, match), 0);
    assert_int_equal(w[0][0], 3);
    assert_int_equal(w[1][0], 2);
    assert_int_equal(w[2][0], 7);
    assert_int_equal(assay_regex_match_batch(db, s2, vals, lens, NULL, 3, match), 0);
    assert_int_equal(w[0][0], 3);
    assay_regex_scratch_free(s1);
    assay_regex_scratch_free(s2);
    assay_regex_free(db);
}

/* ---- benchmark (not a test) ------------------------------------------------------ */

static const char *const first[] = { "john", "mary",    "li",    "oconnor", "anna-maria",
                                     "x",    "dev.ops", "sales", "j.r.r",   "customer" };
static const char *const domains[] = { "gmail.com",       "example.co.uk", "mail.example.org",
                                       "company-name.io", "yahoo.fr",      "sub.dept.univ.edu" };

static size_t make_email(char *out, size_t cap)
{
    const char *f = first[rnd() % ASSAY_ARRAY_LEN(first)];
    const char *d = domains[rnd() % ASSAY_ARRAY_LEN(domains)];
    int len = snprintf(out, cap, "%s%u@%s", f, (unsigned)(rnd() % 10000), d);
    size_t l = (size_t)len;
    switch (rnd() % 10) { /* about half invalid */
    case 0:
        out[strcspn(out, "@")] = '_';
        break; /* no @ */
    case 1:
        out[l++] = '.';
        out[l] = 0;
        break; /* trailing dot */
    case 2:
        out[rnd() % l] = ' ';
        break; /* space */
    case 3:
        l = (size_t)(strrchr(out, '.') - out);
        out[l] = 0;
        break; /* no TLD */
    case 4:
        out[0] = '.';
        break; /* leading dot */
    default:
        break;
    }
    return l;
}

static double now_ns(void)
{
    struct timespec ts;
    /* CPU time of this thread: the shared build machine is busy, wall time is noise */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench(const char *pattern)
{
    enum { N = 1000000, BATCH = 2048 };
    char *store = malloc((size_t)N * 64);
    const char **vals = malloc(N * sizeof(*vals));
    uint32_t *lens = malloc(N * sizeof(*lens));
    for (size_t i = 0; i < N; i++) {
        vals[i] = store + i * 64;
        lens[i] = (uint32_t)make_email(store + i * 64, 64);
    }
    const char *pat = pattern;
    if (!pat)
        assay_format_pattern("email", &pat);
    assay_regex_db *db = compile_ok(&pat, 1);
    uint64_t bm[ASSAY_BITMAP_WORDS(BATCH)];
    uint64_t *match[1] = { bm };
    const char *names[] = { "auto", "per_value", "joined" };
    for (int st = ASSAY_REGEX_AUTO; st <= ASSAY_REGEX_JOINED; st++) {
        assay_regex_scratch *s = NULL;
        assay_regex_scratch_new(db, &s);
        assay_regex_scratch_set_strategy(s, (assay_regex_strategy)st);
        double best = 1e30;
        uint64_t matched = 0;
        for (int rep = 0; rep < 3; rep++) {
            matched = 0;
            double t0 = now_ns();
            for (size_t i = 0; i < N; i += BATCH) {
                size_t n = ASSAY_MIN((size_t)BATCH, N - i);
                if (assay_regex_match_batch(db, s, vals + i, lens + i, NULL, n, match))
                    return 1;
                matched += assay_bitmap_count(bm, n);
            }
            best = ASSAY_MIN(best, now_ns() - t0);
        }
        printf("%s, %d values, batch %d, %-9s: %.1f ns/value (%llu valid)\n",
               pattern ? pattern : "email", N, BATCH, names[st], best / N,
               (unsigned long long)matched);
        assay_regex_scratch_free(s);
    }
    assay_regex_free(db);
    free(store);
    free(vals);
    free(lens);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        return bench(argc > 2 ? argv[2] : NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_multiple_patterns),
        cmocka_unit_test(test_skip_bitmap),
        cmocka_unit_test(test_empty_and_all_skipped),
        cmocka_unit_test(test_newline_and_nul),
        cmocka_unit_test(test_joinable_analysis),
        cmocka_unit_test(test_joined_equals_per_value),
        cmocka_unit_test(test_auto_over_many_batches),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_scratch_per_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
