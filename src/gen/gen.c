/*
 * gen.c - deterministic orders-like test data with realistic, countable defects.
 *
 * `assay gen` and the benchmarks need input that looks like a real orders topic
 * (skewed customers, lognormal amounts, a few currencies and countries, timestamps
 * that move forward, free-text notes that stress CSV quoting and JSON escaping) and
 * that carries known kinds of defects at known rates, so that every rule of
 * of assay has something to find. This file makes that data.
 *
 * Counter-based randomness
 * ------------------------
 * Row i is a pure function of (seed, i, options). Nothing is carried from one row to
 * the next, so any range of rows can be made on its own, in any order, on any number
 * of threads, and the bytes are the same. This is the counter-based idea of Salmon,
 * Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC'11): a
 * random value is a strong mixing function applied to a counter, not the next state
 * of a sequential generator. Our mixing function is the SplitMix64 finalizer (Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014,
 * section 3; the variant constants are David Stafford's "Mix13"):
 *
 *     seedkey     = mix64(seed ^ SEED_SALT)
 *     rowkey(i)   = mix64(seedkey + (i + 1) * 0x9e3779b97f4a7c15)   SplitMix64 output i
 *     slot(i, s)  = mix64(rowkey(i) + (s + 1) * 0xd1b54a32d192ed03)  one 64-bit draw
 * (mix64 is assay_mix64, src/core/mix.h)
 *
 * Every field and every fault decision has its own slot s, so changing one fault
 * rate does not move any other field of any row: raising bad_phone from 1% to 10%
 * changes only phone values. The free-text note needs many draws; it runs a private
 * SplitMix64 sequence seeded from its slot. Bounded integers come from Lemire's
 * multiply-shift ("Fast random integer generation in an interval", ACM TOMACS 29(1),
 * 2019): floor(x * n / 2^32) for a 32-bit x, biased by at most n / 2^32, which is
 * below 1e-6 for every table here.
 *
 * Integer arithmetic only
 * -----------------------
 * No libm and no floating point touch the output, so the same seed gives the same
 * bytes on x86-64 and arm64 whatever the libm or the FMA contraction settings. The
 * two places that need exp/log use fixed point:
 *
 *   - 2^y for y in Q16 (16 fraction bits): a 257-entry table of 2^(k/256) in Q30,
 *     linear interpolation between entries (relative error < 2e-6), then a shift by
 *     the integer part of y.
 *   - log2(n) in Q16, once per call: the integer part is the position of the top bit;
 *     the fraction bits come from repeated squaring of the mantissa (each squaring
 *     doubles the logarithm; a carry past 2 is the next bit) - the method of
 *     C. Turner, "A fast binary logarithm algorithm", IEEE Signal Processing Magazine
 *     27(5), 2010.
 *
 * Columns
 * -------
 *   order_id     i + 1, unless the row is a duplicate_id fault (below).
 *   customer_id  C = max(1000, rows / 10) customers. U uniform in [0,1),
 *                v = floor((C + 1)^U) in [1, C], so P(v = k) = log(1 + 1/k) / log(C + 1):
 *                Zipf with exponent 1 (the "Benford" law); with C = 1000 the hottest
 *                customer places ~10% of the orders and the top 10 about a third.
 *                v is then sent through the affine bijection v -> (v-1)*a + b mod C,
 *                plus 1, so the hot ids are scattered over [1, C] instead of being
 *                1, 2, 3; ids are always in [1, C] (a customers table with ids 1..C
 *                resolves every non-null reference). C depends on options.rows.
 *   email        first.last+n@domain, lower case, from fixed lists (50 first names,
 *                50 last names, n in [1, 9999], 13 weighted domains, gmail.com 40%).
 *                It is a function of the customer, so one customer keeps one email.
 *   amount       Cents = 5000 * 2^Y, Y = 2 (S - mean) / 65536 where S is a sum of
 *                four 16-bit uniforms (Irwin-Hall, a bounded stand-in for a normal):
 *                a lognormal with median 50.00 and sigma (of ln) = 0.80, clipped to
 *                [3.13, 800]. 0.5% of orders are large: times 10 to 99 (up to 79,200).
 *                Written with exactly two decimals.
 *   currency     85% the currency of the row's country (USD where the real one is
 *                not in the set, e.g. CAD), 15% drawn from USD 55, EUR 25, GBP 12,
 *                JPY 8. Overall about USD 52%, EUR 28%, GBP 12%, JPY 7%.
 *   country      20 ISO 3166-1 alpha-2 codes, weighted: US 32%, GB 10, DE 9, FR 7,
 *                CA 6, JP 5, AU 4, IN 3, NL 3, ES 3, IT 3, BR 3, MX 2, SE 2, CH 2,
 *                PL 2, IE 1, SG 1, KR 1, NZ 1.
 *   status       pending 8%, paid 15, shipped 20, delivered 47, cancelled 6,
 *                refunded 4.
 *   created_at   start_us + i * step_us + U[0, step_us), so rows are in order; 1% of
 *                rows arrive late, up to 120 s earlier than their slot (out-of-order
 *                events for watermarks; late_rate and late_by change both), and
 *                every row moves back by U[0, disorder_us) (0 by default). Written as RFC 3339 UTC
 * with milliseconds, "2026-01-01T00:00:00.123Z" (RFC 3339 section 5.6), clamped to years
 * 1970..9999. phone        E.164 (ITU-T E.164): "+", the calling code of the row's country, a
 * national number of that country's length whose first digit is 2-9, e.g. +14155550123. 10 to 13
 * digits in all. note         40% empty. Otherwise 2-9 words from a fixed list; a word is now and
 * then in double quotes (2.4%), followed by a comma (6%), a non-ASCII word such as "café" or "€20"
 * (2%), or a token with a backslash, '%', '<', '#' or an apostrophe (0.3%); 2% of notes have one
 * embedded newline. At most 9 words (~180 bytes).
 *
 * With --shipping (assay_gen_options.shipping), five more columns follow note, for
 * cross-field rules (docs/expressions.md), each from its own draws so that the ten
 * columns above are the same bytes with or without them:
 *   quantity     1 to 10, uniform.
 *   unit_price   1.00 to 200.00, uniform in cents.
 *   total        quantity * unit_price, exact in cents; 1% of rows off by 1 cent to
 *                20.00 (either way), 0.5% empty.
 *   shipped_at   for shipped and delivered orders created_at + U[1 h, 72 h); 2% of
 *                those empty (shipped, but no ship time), 1% before created_at (by
 *                U[1 min, 10 h)); empty for every other status.
 *   zip          US: five digits, 2% four (a lost leading zero); elsewhere four
 *                digits, or for GB and CA six characters "A9A 9A9"-like; 0.5% empty.
 *
 * Output formats
 * --------------
 * CSV: a header line, then one record per row, fields separated by ',' and records
 * ended by "\n" (LF, not the CRLF of RFC 4180 section 2 rule 1, as most tools
 * write). A field is quoted only when it holds ',', '"', CR or LF, and a '"' inside
 * is doubled (RFC 4180 section 2 rules 5-7). A null is an empty field.
 *
 * NDJSON: one flat JSON object per line (https://github.com/ndjson/ndjson-spec),
 * keys in column order. order_id, customer_id and amount are numbers, the rest
 * strings; null customer, null email and an empty note are JSON null (an empty
 * CSV field reads as null, so both formats carry the same values); a bad_amount is a
 * string.
 * Strings are escaped per RFC 8259 section 7: '"' and '\' are escaped, LF is "\n",
 * other control characters "\u00XX". Non-ASCII note text is raw UTF-8, except that
 * in 30% of rows it is written as \uXXXX escapes instead, so readers must handle
 * both.
 *
 * Defects
 * -------
 * Each fault is drawn independently per row with its rate (options.rates). When two
 * faults hit the same field the first in this list wins (null_email over bad_email,
 * bad_amount over negative_amount, bad_timestamp over stale). Defaults are low,
 * "production-like" rates:
 *
 *   fault            default  what the row gets
 *   bad_email        0.5%     one of: the '@' removed ("ann.lee+7gmail.com"), the
 *                             '.' after the first name made a space ("ann lee+7@..."),
 *                             the domain cut to its first label ("...@gmail"), or
 *                             the '@' doubled ("ann.lee+7@@gmail.com"). None
 *                             matches ^[^@\s]+@[^@\s]+\.[^@\s]+$.
 *   null_email       1%       empty field (CSV), null (NDJSON).
 *   negative_amount  0.2%     the amount with a leading '-'.
 *   bad_amount       0.1%     one of "N/A", "12.34.5", "$12.34", "12,34" (decimal
 *                             comma, so it is quoted in CSV), "twelve". A string
 *                             in NDJSON. None parses as a number.
 *   bad_currency     0.3%     one of usd, eur, US$, EURO, XXX, BTC.
 *   duplicate_id     0.1%     order_id of an earlier row (below).
 *   null_customer    0.2%     empty field (CSV), null (NDJSON).
 *   bad_phone        1%       one of: no '+' and no calling code ("4155550123"),
 *                             spaces ("+1 415 555 0123"), "(415) 555-0123", seven
 *                             extra zeros (over 15 digits), "unknown". None matches
 *                             ^\+[1-9][0-9]{6,14}$.
 *   stale            0.1%     created_at 30 to 365 days before its slot.
 *   bad_timestamp    0.05%    one of "N/A", "2026-02-30T12:00:00Z", "01/02/2026
 *                             10:00:00", "2026-01-01T25:00:00Z", "Jan 2, 2026 10:00"
 *                             (quoted in CSV), "yesterday". None is a valid RFC 3339
 *                             date-time.
 *   long_note        0.05%    a note of 501 to 1500 ASCII characters.
 *
 * Streams: windows with known truth
 * ---------------------------------
 * Tests of windows want incidents in known windows. Row i's slot time start_us + i *
 * step_us falls in window w = floor(i * step_us / window_us) (window_us = 60 s by
 * default; with an epoch-aligned start these are the windows assay uses). A span
 * applies to the rows whose slot is in windows [from, to]: a fault at its own rate
 * (null_email=0.3@10-12: a null spike), a volume span that keeps only a share of the
 * rows (a dropped row writes nothing, so ids have a gap; idle = share 0), or an amount
 * drift that scales amounts (in Q16 fixed point, integer arithmetic as everywhere).
 * Spans have their own draws, so nothing outside them changes.
 *
 * duplicate_id: row i with the fault picks j uniformly from the 4096 rows before it
 * (fewer near the start); if row j is itself a duplicate it hops again from j, up
 * to 64 hops, and takes order_id j + 1 of the row where it stops. That row is not a
 * duplicate (except after 64 hops, which needs a rate near 1), so its id appears
 * earlier in the output and the duplicate row repeats it: the number of rows whose
 * order_id was seen before equals the number of duplicate rows except row 0 (which
 * has no earlier row and keeps id 1). Tests count it exactly with a set.
 *
 * Size and speed
 * --------------
 * About 127 bytes per CSV row and 243 per NDJSON row with default options. A row
 * is at most ROW_MAX bytes (a long note escaped 3x in JSON is the worst case, about
 * 5 KB), so assay_gen_rows writes straight into the caller's buffer while ROW_MAX
 * bytes remain, and through a scratch row near the end. Table strings are padded
 * to 16 bytes and copied with one fixed-size move; CSV fields are scanned for
 * quoting only when the generator put a ',', '"' or LF into them; nothing calls
 * printf. assay_gen_write hands 4 MiB chunks to fwrite. Measured on the shared
 * 2-core development VM (x86-64 with AVX-512, gcc 12 -O2 release build, load
 * average ~10 from other builds, so user CPU time is the honest number):
 *
 *     time assay gen --rows 10000000 -o /tmp/x.csv       1.27 GB (127 B/row)
 *         2.4 s user (~530 MB/s per core of generation) + 2.2 s sys (page cache)
 *     time assay gen --rows 10000000 -o /tmp/x.ndjson    2.43 GB (243 B/row)
 *         3.9 s user (~620 MB/s) + 4.6 s sys
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay/gen.h"
#include "core/digits.h"
#include "core/mix.h"

/* ---------------------------------------------------------------------------------
 * Constant tables
 * ------------------------------------------------------------------------------- */

#define ROW_MAX       8192 /* bytes; no row is longer (see gen_row) */
#define NOTE_MAX      1600 /* bytes of note text before escaping */
#define DUP_WINDOW    4096 /* duplicate_id copies from this many rows back */
#define DUP_MAX_HOPS  64
#define MIN_CUSTOMERS 1000
#define DEFAULT_START 1767225600000000LL /* 2026-01-01T00:00:00Z */
#define DEFAULT_STEP  1000000LL          /* 1 s */
#define US_PER_DAY    86400000000LL
#define MAX_TIME_US   253402300799999999LL /* 9999-12-31T23:59:59.999999Z */

static const char *const FAULT_NAMES[ASSAY_FAULT_COUNT] = {
    "bad_email",    "null_email",    "negative_amount", "bad_amount",
    "bad_currency", "duplicate_id",  "null_customer",   "bad_phone",
    "stale",        "bad_timestamp", "long_note",
};

static const double DEFAULT_RATES[ASSAY_FAULT_COUNT] = {
    0.005,  /* bad_email */
    0.01,   /* null_email */
    0.002,  /* negative_amount */
    0.001,  /* bad_amount */
    0.003,  /* bad_currency */
    0.001,  /* duplicate_id */
    0.002,  /* null_customer */
    0.01,   /* bad_phone */
    0.001,  /* stale */
    0.0005, /* bad_timestamp */
    0.0005, /* long_note */
};

static const char CSV_HEADER_SHIPPING[] =
    "order_id,customer_id,email,amount,currency,country,status,created_at,phone,note,quantity,"
    "unit_price,total,shipped_at,zip\n";
static const char CSV_HEADER[] =
    "order_id,customer_id,email,amount,currency,country,status,created_at,phone,note\n";

/* A table string padded to 16 bytes with its length: put_lit copies all 16 with one
 * fixed-size move and advances by len, so the destination needs 16 bytes of room. */
typedef struct lit {
    char s[16];
    uint8_t len;
} lit;
// clang-format off
#define LIT(x) { x, sizeof(x) - 1 }
// clang-format on

typedef struct weighted {
    lit text;
    uint16_t weight;
} weighted;

enum { CUR_USD, CUR_EUR, CUR_GBP, CUR_JPY };

static const weighted CURRENCIES[] = {
    { LIT("USD"), 55 },
    { LIT("EUR"), 25 },
    { LIT("GBP"), 12 },
    { LIT("JPY"), 8 },
};

typedef struct country {
    char code[3];     /* ISO 3166-1 alpha-2 */
    lit calling;      /* E.164 country calling code, digits */
    uint8_t nat_len;  /* national significant number length */
    uint8_t currency; /* CUR_* */
    uint16_t weight;
} country;

static const country COUNTRIES[] = {
    { "US", LIT("1"), 10, CUR_USD, 32 }, { "GB", LIT("44"), 10, CUR_GBP, 10 },
    { "DE", LIT("49"), 11, CUR_EUR, 9 }, { "FR", LIT("33"), 9, CUR_EUR, 7 },
    { "CA", LIT("1"), 10, CUR_USD, 6 },  { "JP", LIT("81"), 10, CUR_JPY, 5 },
    { "AU", LIT("61"), 9, CUR_USD, 4 },  { "IN", LIT("91"), 10, CUR_USD, 3 },
    { "NL", LIT("31"), 9, CUR_EUR, 3 },  { "ES", LIT("34"), 9, CUR_EUR, 3 },
    { "IT", LIT("39"), 10, CUR_EUR, 3 }, { "BR", LIT("55"), 11, CUR_USD, 3 },
    { "MX", LIT("52"), 10, CUR_USD, 2 }, { "SE", LIT("46"), 9, CUR_EUR, 2 },
    { "CH", LIT("41"), 9, CUR_EUR, 2 },  { "PL", LIT("48"), 9, CUR_EUR, 2 },
    { "IE", LIT("353"), 9, CUR_EUR, 1 }, { "SG", LIT("65"), 8, CUR_USD, 1 },
    { "KR", LIT("82"), 10, CUR_USD, 1 }, { "NZ", LIT("64"), 9, CUR_USD, 1 },
};

static const weighted STATUSES[] = {
    { LIT("pending"), 8 },    { LIT("paid"), 15 },     { LIT("shipped"), 20 },
    { LIT("delivered"), 47 }, { LIT("cancelled"), 6 }, { LIT("refunded"), 4 },
};

static const lit FIRST_NAMES[] = {
    LIT("james"),   LIT("mary"),   LIT("john"),    LIT("patricia"),  LIT("robert"), LIT("jennifer"),
    LIT("michael"), LIT("linda"),  LIT("william"), LIT("elizabeth"), LIT("david"),  LIT("barbara"),
    LIT("richard"), LIT("susan"),  LIT("joseph"),  LIT("jessica"),   LIT("thomas"), LIT("sarah"),
    LIT("charles"), LIT("karen"),  LIT("maria"),   LIT("jose"),      LIT("juan"),   LIT("ana"),
    LIT("luis"),    LIT("carmen"), LIT("hans"),    LIT("anna"),      LIT("lukas"),  LIT("sophie"),
    LIT("pierre"),  LIT("marie"),  LIT("yuki"),    LIT("haruto"),    LIT("wei"),    LIT("li"),
    LIT("priya"),   LIT("arjun"),  LIT("olivia"),  LIT("noah"),      LIT("emma"),   LIT("liam"),
    LIT("lars"),    LIT("ingrid"), LIT("kofi"),    LIT("amara"),     LIT("mateo"),  LIT("lucia"),
    LIT("omar"),    LIT("fatima"),
};

static const lit LAST_NAMES[] = {
    LIT("smith"),     LIT("johnson"), LIT("williams"),  LIT("brown"),     LIT("jones"),
    LIT("garcia"),    LIT("miller"),  LIT("davis"),     LIT("rodriguez"), LIT("martinez"),
    LIT("hernandez"), LIT("lopez"),   LIT("gonzalez"),  LIT("wilson"),    LIT("anderson"),
    LIT("thomas"),    LIT("taylor"),  LIT("moore"),     LIT("jackson"),   LIT("martin"),
    LIT("lee"),       LIT("perez"),   LIT("thompson"),  LIT("white"),     LIT("harris"),
    LIT("clark"),     LIT("lewis"),   LIT("robinson"),  LIT("walker"),    LIT("young"),
    LIT("muller"),    LIT("schmidt"), LIT("schneider"), LIT("fischer"),   LIT("dubois"),
    LIT("moreau"),    LIT("tanaka"),  LIT("suzuki"),    LIT("wang"),      LIT("zhang"),
    LIT("kumar"),     LIT("patel"),   LIT("singh"),     LIT("silva"),     LIT("santos"),
    LIT("nowak"),     LIT("jensen"),  LIT("rossi"),     LIT("okafor"),    LIT("kim"),
};

static const weighted DOMAINS[] = {
    { LIT("gmail.com"), 40 },  { LIT("outlook.com"), 12 }, { LIT("yahoo.com"), 10 },
    { LIT("hotmail.com"), 8 }, { LIT("icloud.com"), 8 },   { LIT("gmx.de"), 4 },
    { LIT("proton.me"), 3 },   { LIT("web.de"), 3 },       { LIT("orange.fr"), 3 },
    { LIT("yahoo.co.uk"), 3 }, { LIT("aol.com"), 2 },      { LIT("example.com"), 2 },
    { LIT("acme.io"), 2 },
};

static const lit NOTE_WORDS[] = {
    LIT("please"),   LIT("leave"),     LIT("at"),      LIT("the"),       LIT("front"),
    LIT("door"),     LIT("back"),      LIT("call"),    LIT("before"),    LIT("delivery"),
    LIT("gift"),     LIT("wrap"),      LIT("no"),      LIT("invoice"),   LIT("needed"),
    LIT("fragile"),  LIT("handle"),    LIT("with"),    LIT("care"),      LIT("urgent"),
    LIT("customer"), LIT("asked"),     LIT("for"),     LIT("discount"),  LIT("applied"),
    LIT("code"),     LIT("backorder"), LIT("split"),   LIT("shipment"),  LIT("replacement"),
    LIT("damaged"),  LIT("item"),      LIT("ring"),    LIT("bell"),      LIT("twice"),
    LIT("office"),   LIT("hours"),     LIT("only"),    LIT("reception"), LIT("monday"),
    LIT("after"),    LIT("5pm"),       LIT("morning"), LIT("signature"), LIT("required"),
    LIT("address"),  LIT("updated"),   LIT("second"),  LIT("floor"),     LIT("apartment"),
    LIT("buzzer"),   LIT("side"),      LIT("gate"),    LIT("neighbour"), LIT("express"),
    LIT("priority"), LIT("return"),    LIT("label"),   LIT("included"),  LIT("size"),
    LIT("blue"),     LIT("large"),     LIT("thanks"),  LIT("hold"),
};

/* UTF-8, all in the Basic Multilingual Plane (2- and 3-byte sequences). */
static const lit NOTE_UNICODE[] = {
    LIT("café"), LIT("crème brûlée"), LIT("naïve"), LIT("Müller"), LIT("São Paulo"),
    LIT("€20"),  LIT("Zürich"),       LIT("señor"), LIT("façade"), LIT("déjà vu"),
};

static const lit NOTE_ODD[] = {
    LIT("C:\\orders\\tmp"), LIT("50% off"), LIT("<rush>"), LIT("#42"), LIT("it's"), LIT("a/b"),
};

static const lit BAD_AMOUNTS[] = { LIT("N/A"), LIT(""), LIT(""), LIT(""), LIT("twelve") };
static const lit BAD_CURRENCIES[] = {
    LIT("usd"), LIT("eur"), LIT("US$"), LIT("EURO"), LIT("XXX"), LIT("BTC"),
};
static const char *const BAD_TIMESTAMPS[] = {
    "N/A",
    "2026-02-30T12:00:00Z",
    "01/02/2026 10:00:00",
    "2026-01-01T25:00:00Z",
    "Jan 2, 2026 10:00",
    "yesterday",
};

/* 2^(k/256) in Q30, k = 0..256: round(2^(k/256) * 2^30). */
static const uint32_t EXP2_Q30[257] = {
    1073741824u, 1076653033u, 1079572136u, 1082499153u, 1085434106u, 1088377016u, 1091327906u,
    1094286796u, 1097253708u, 1100228665u, 1103211687u, 1106202798u, 1109202018u, 1112209370u,
    1115224875u, 1118248556u, 1121280436u, 1124320536u, 1127368878u, 1130425485u, 1133490379u,
    1136563583u, 1139645120u, 1142735011u, 1145833280u, 1148939949u, 1152055042u, 1155178580u,
    1158310587u, 1161451085u, 1164600099u, 1167757650u, 1170923762u, 1174098458u, 1177281762u,
    1180473697u, 1183674286u, 1186883552u, 1190101520u, 1193328213u, 1196563654u, 1199807867u,
    1203060876u, 1206322705u, 1209593378u, 1212872918u, 1216161350u, 1219458698u, 1222764986u,
    1226080238u, 1229404479u, 1232737732u, 1236080024u, 1239431376u, 1242791816u, 1246161366u,
    1249540052u, 1252927899u, 1256324931u, 1259731174u, 1263146652u, 1266571390u, 1270005413u,
    1273448747u, 1276901417u, 1280363448u, 1283834865u, 1287315695u, 1290805962u, 1294305692u,
    1297814910u, 1301333643u, 1304861917u, 1308399756u, 1311947188u, 1315504238u, 1319070932u,
    1322647296u, 1326233356u, 1329829140u, 1333434672u, 1337049980u, 1340675091u, 1344310030u,
    1347954824u, 1351609500u, 1355274085u, 1358948606u, 1362633090u, 1366327563u, 1370032052u,
    1373746586u, 1377471191u, 1381205894u, 1384950723u, 1388705706u, 1392470869u, 1396246240u,
    1400031848u, 1403827719u, 1407633882u, 1411450365u, 1415277195u, 1419114401u, 1422962010u,
    1426820052u, 1430688553u, 1434567544u, 1438457051u, 1442357104u, 1446267730u, 1450188960u,
    1454120821u, 1458063343u, 1462016553u, 1465980482u, 1469955159u, 1473940611u, 1477936870u,
    1481943963u, 1485961921u, 1489990772u, 1494030547u, 1498081275u, 1502142985u, 1506215708u,
    1510299473u, 1514394310u, 1518500250u, 1522617322u, 1526745556u, 1530884983u, 1535035634u,
    1539197537u, 1543370725u, 1547555228u, 1551751076u, 1555958300u, 1560176931u, 1564406999u,
    1568648537u, 1572901575u, 1577166143u, 1581442275u, 1585730000u, 1590029350u, 1594340357u,
    1598663052u, 1602997467u, 1607343634u, 1611701585u, 1616071351u, 1620452965u, 1624846459u,
    1629251865u, 1633669214u, 1638098541u, 1642539877u, 1646993254u, 1651458706u, 1655936265u,
    1660425963u, 1664927835u, 1669441912u, 1673968228u, 1678506817u, 1683057710u, 1687620943u,
    1692196547u, 1696784557u, 1701385007u, 1705997930u, 1710623359u, 1715261330u, 1719911875u,
    1724575029u, 1729250827u, 1733939301u, 1738640488u, 1743354420u, 1748081133u, 1752820662u,
    1757573041u, 1762338305u, 1767116489u, 1771907628u, 1776711757u, 1781528911u, 1786359126u,
    1791202437u, 1796058879u, 1800928489u, 1805811301u, 1810707353u, 1815616678u, 1820539314u,
    1825475297u, 1830424663u, 1835387448u, 1840363688u, 1845353420u, 1850356681u, 1855373507u,
    1860403934u, 1865448001u, 1870505744u, 1875577199u, 1880662405u, 1885761398u, 1890874216u,
    1896000896u, 1901141476u, 1906295993u, 1911464486u, 1916646992u, 1921843549u, 1927054196u,
    1932278970u, 1937517909u, 1942771053u, 1948038440u, 1953320108u, 1958616096u, 1963926443u,
    1969251188u, 1974590370u, 1979944027u, 1985312200u, 1990694927u, 1996092249u, 2001504204u,
    2006930832u, 2012372174u, 2017828268u, 2023299156u, 2028784876u, 2034285470u, 2039800978u,
    2045331439u, 2050876895u, 2056437387u, 2062012954u, 2067603638u, 2073209480u, 2078830522u,
    2084466803u, 2090118366u, 2095785251u, 2101467502u, 2107165158u, 2112878262u, 2118606857u,
    2124350982u, 2130110682u, 2135885998u, 2141676973u, 2147483648u,
};

/* ---------------------------------------------------------------------------------
 * Counter-based randomness
 * ------------------------------------------------------------------------------- */

#define GAMMA_ROW  ASSAY_SPLITMIX_GAMMA  /* SplitMix64's increment */
#define GAMMA_SLOT 0xd1b54a32d192ed03ull /* a second odd constant for slots */
#define SEED_SALT  0x5851f42d4c957f2dull
#define CUST_SALT  0xc2b2ae3d27d4eb4full

/* One draw per field or decision; fault f uses SLOT_FAULT0 + f. */
enum {
    SLOT_CUSTOMER,
    SLOT_EMAIL_BAD,
    SLOT_AMOUNT,
    SLOT_AMOUNT_LARGE,
    SLOT_AMOUNT_BAD,
    SLOT_CURRENCY,
    SLOT_CURRENCY_BAD,
    SLOT_COUNTRY,
    SLOT_STATUS,
    SLOT_TIME,
    SLOT_TIME_LATE,
    SLOT_TIME_BAD,
    SLOT_PHONE,
    SLOT_PHONE_BAD,
    SLOT_NOTE,
    SLOT_DUP,
    SLOT_VOLUME,
    SLOT_DISORDER,
    SLOT_FAULT0 = 32,
    /* --shipping, past every fault's slot */
    SLOT_QTY = 96,
    SLOT_PRICE,
    SLOT_TOTAL,
    SLOT_SHIP,
    SLOT_ZIP,
};

static inline uint64_t slot(uint64_t rowkey, unsigned s)
{
    return assay_mix64(rowkey + (uint64_t)(s + 1) * GAMMA_SLOT);
}

/* Uniform integer in [0, n) from 32 random bits (Lemire's multiply-shift). */
static inline uint32_t bounded(uint32_t x, uint32_t n)
{
    return (uint32_t)(((uint64_t)x * n) >> 32);
}

/* Index into a weighted table from 32 random bits. */
static size_t pick_weighted(const weighted *t, size_t n, uint32_t total, uint32_t x)
{
    uint32_t v = bounded(x, total);
    for (size_t k = 0; k < n; k++) {
        if (v < t[k].weight)
            return k;
        v -= t[k].weight;
    }
    return n - 1;
}

static uint32_t total_weight(const weighted *t, size_t n)
{
    uint32_t s = 0;
    for (size_t k = 0; k < n; k++)
        s += t[k].weight;
    return s;
}

/* ---------------------------------------------------------------------------------
 * Fixed-point exp2 and log2
 * ------------------------------------------------------------------------------- */

static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* floor(base * 2^(y / 65536)). The caller keeps base < 2^32 and the result below
 * 2^63; results under 1 are 0. */
static uint64_t scale_exp2(uint64_t base, int64_t y_q16)
{
    int64_t ip = floor_div(y_q16, 65536);
    uint32_t fr = (uint32_t)(y_q16 - ip * 65536);
    uint32_t k = fr >> 8, t = fr & 255;
    uint64_t m = EXP2_Q30[k] + (((uint64_t)(EXP2_Q30[k + 1] - EXP2_Q30[k]) * t) >> 8);
    uint64_t prod = base * m; /* value * 2^30 */
    int64_t sh = 30 - ip;
    if (sh >= 64)
        return 0;
    if (sh >= 0)
        return prod >> sh;
    return prod << -sh;
}

/* log2(x) in Q16 for x >= 1, truncated (Turner's repeated squaring). */
static uint64_t log2_q16(uint64_t x)
{
    int e = 63 - __builtin_clzll(x);
    uint64_t m = e >= 30 ? x >> (e - 30) : x << (30 - e); /* [2^30, 2^31): Q30 in [1,2) */
    uint64_t r = (uint64_t)e << 16;
    for (int b = 15; b >= 0; b--) {
        m = (m * m) >> 30;
        if (m >= (2ull << 30)) {
            m >>= 1;
            r |= 1ull << b;
        }
    }
    return r;
}

/* ---------------------------------------------------------------------------------
 * Text output helpers (each writes at p and returns the new end)
 * ------------------------------------------------------------------------------- */

static inline char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* Needs 16 writable bytes at p. */
static inline char *put_lit(char *p, const lit *l)
{
    memcpy(p, l->s, 16);
    return p + l->len;
}

static inline char *put_2d(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* CSV field, quoted only when it holds ',', '"', CR or LF (RFC 4180 section 2). */
static char *put_csv(char *p, const char *s, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) {
        char c = s[k];
        if (c == ',' || c == '"' || c == '\n' || c == '\r')
            break;
    }
    if (k == n)
        return put(p, s, n);
    *p++ = '"';
    for (k = 0; k < n; k++) {
        if (s[k] == '"')
            *p++ = '"';
        *p++ = s[k];
    }
    *p++ = '"';
    return p;
}

static const char HEX[] = "0123456789abcdef";

static char *put_u_escape(char *p, unsigned cp)
{
    p[0] = '\\';
    p[1] = 'u';
    p[2] = HEX[(cp >> 12) & 15];
    p[3] = HEX[(cp >> 8) & 15];
    p[4] = HEX[(cp >> 4) & 15];
    p[5] = HEX[cp & 15];
    return p + 6;
}

/* JSON string with quotes (RFC 8259 section 7). With uesc, 2- and 3-byte UTF-8
 * sequences become \uXXXX; other bytes >= 0x80 are copied raw. At most 3x + 2. */
static char *put_json_str(char *p, const char *s, size_t n, bool uesc)
{
    *p++ = '"';
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c == '\r') {
            *p++ = '\\';
            *p++ = 'r';
        } else if (c == '\t') {
            *p++ = '\\';
            *p++ = 't';
        } else if (c < 0x20) {
            p = put_u_escape(p, c);
        } else if (c >= 0x80 && uesc && (c & 0xe0) == 0xc0 && k + 1 < n) {
            p = put_u_escape(p, ((c & 0x1fu) << 6) | ((unsigned char)s[k + 1] & 0x3fu));
            k += 1;
        } else if (c >= 0x80 && uesc && (c & 0xf0) == 0xe0 && k + 2 < n) {
            p = put_u_escape(p, ((c & 0x0fu) << 12) | (((unsigned char)s[k + 1] & 0x3fu) << 6) |
                                    ((unsigned char)s[k + 2] & 0x3fu));
            k += 2;
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    return p;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms", civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes), us clamped to years 1970..9999. */
static char *put_time(char *p, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us > MAX_TIME_US)
        us = MAX_TIME_US;
    int64_t days = us / US_PER_DAY;
    int64_t rem = us % US_PER_DAY;
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    unsigned sec = (unsigned)(rem / 1000000), ms = (unsigned)(rem % 1000000 / 1000);
    p = put_2d(p, (unsigned)(y / 100));
    p = put_2d(p, (unsigned)(y % 100));
    *p++ = '-';
    p = put_2d(p, mo);
    *p++ = '-';
    p = put_2d(p, d);
    *p++ = 'T';
    p = put_2d(p, sec / 3600);
    *p++ = ':';
    p = put_2d(p, sec / 60 % 60);
    *p++ = ':';
    p = put_2d(p, sec % 60);
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    p = put_2d(p, ms % 100);
    *p++ = 'Z';
    return p;
}

/* ---------------------------------------------------------------------------------
 * Rows
 * ------------------------------------------------------------------------------- */

/* Everything derived from the options once per assay_gen_rows call. */
typedef struct gen_ctx {
    uint64_t seedkey;
    uint64_t thr[ASSAY_FAULT_COUNT]; /* fault iff (draw >> 11) < thr: rate * 2^53 */
    uint64_t customers;              /* C */
    uint64_t log2_cust_q16;          /* log2(C + 1) in Q16 */
    uint64_t perm_a, perm_b;         /* customer id bijection */
    uint32_t w_currency, w_country, w_status, w_domain;
    int64_t start_us, step_us;
    assay_gen_format format;
    uint32_t late_thr; /* late iff (uint32_t)draw < late_thr: late_rate * 2^32 */
    uint32_t late_ms;  /* moved back by up to this many ms */
    uint64_t disorder; /* us */
    int64_t window_us;
    struct {
        assay_gen_span_kind kind;
        int fault;
        uint64_t thr;        /* faults and volume: draw >> 11 < thr, as thr[] */
        uint64_t factor_q16; /* amount drift */
        int64_t from, to;
    } spans[ASSAY_GEN_SPANS_MAX];
    size_t nspans;
    bool shipping;
} gen_ctx;

/* rate in [0, 1] to a threshold on 53-bit draws */
static uint64_t rate_thr(double r)
{
    if (!(r > 0)) /* also NaN */
        return 0;
    if (r >= 1)
        return 1ull << 53;
    return (uint64_t)(r * 9007199254740992.0);
}

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void ctx_init(gen_ctx *c, const assay_gen_options *o)
{
    c->seedkey = assay_mix64(o->seed ^ SEED_SALT);
    for (int f = 0; f < ASSAY_FAULT_COUNT; f++)
        c->thr[f] = rate_thr(o->rates[f]);
    double lr = o->late_rate < 0 ? 0 : o->late_rate > 1 ? 1 : o->late_rate;
    c->late_thr = lr >= 1 ? UINT32_MAX : (uint32_t)(lr * 4294967296.0 + 0.5);
    c->late_ms = (uint32_t)(o->late_by_us / 1000);
    c->disorder = o->disorder_us > 0 ? (uint64_t)o->disorder_us : 0;
    c->window_us = o->window_us > 0 ? o->window_us : 60000000;
    c->shipping = o->shipping;
    c->nspans = ASSAY_MIN(o->nspans, (size_t)ASSAY_GEN_SPANS_MAX);
    for (size_t k = 0; k < c->nspans; k++) {
        const assay_gen_span *s = &o->spans[k];
        c->spans[k].kind = s->kind;
        c->spans[k].fault = s->fault;
        c->spans[k].from = s->from;
        c->spans[k].to = s->to;
        c->spans[k].thr = rate_thr(s->value);
        double q = s->value * 65536.0;
        c->spans[k].factor_q16 = q <= 0 ? 0 : q >= 1e15 ? (uint64_t)1e15 : (uint64_t)(q + 0.5);
    }
    uint64_t cust = o->rows / 10;
    if (cust < MIN_CUSTOMERS)
        cust = MIN_CUSTOMERS;
    if (cust > (1ull << 60))
        cust = 1ull << 60;
    c->customers = cust;
    c->log2_cust_q16 = log2_q16(cust + 1);
    uint64_t a = (0x9e3779b97f4a7c15ull ^ c->seedkey) % cust;
    while (a == 0 || gcd_u64(a, cust) != 1)
        a = a + 1 >= cust ? 1 : a + 1;
    c->perm_a = a;
    c->perm_b = assay_mix64(c->seedkey + CUST_SALT) % cust;
    c->w_currency = total_weight(CURRENCIES, ASSAY_ARRAY_LEN(CURRENCIES));
    c->w_country = 0;
    for (size_t k = 0; k < ASSAY_ARRAY_LEN(COUNTRIES); k++)
        c->w_country += COUNTRIES[k].weight;
    c->w_status = total_weight(STATUSES, ASSAY_ARRAY_LEN(STATUSES));
    c->w_domain = total_weight(DOMAINS, ASSAY_ARRAY_LEN(DOMAINS));
    c->start_us = o->start_us;
    c->step_us = o->step_us;
    c->format = o->format;
}

static inline uint64_t row_key(const gen_ctx *c, uint64_t i)
{
    return assay_mix64(c->seedkey + (i + 1) * GAMMA_ROW);
}

static inline bool has_fault(const gen_ctx *c, uint64_t rowkey, assay_fault f)
{
    return (slot(rowkey, SLOT_FAULT0 + (unsigned)f) >> 11) < c->thr[f];
}

/* Window of row i's slot, counted from the start. */
static int64_t row_window(const gen_ctx *c, uint64_t i)
{
    return (
        int64_t)(((unsigned __int128)i * (uint64_t)(c->step_us < 0 ? -c->step_us : c->step_us)) /
                 (uint64_t)c->window_us);
}

/* Fault thresholds of row i: the spans covering its window override the rates. */
static void row_thresholds(const gen_ctx *c, int64_t w, uint64_t thr[ASSAY_FAULT_COUNT])
{
    memcpy(thr, c->thr, ASSAY_FAULT_COUNT * sizeof(uint64_t));
    for (size_t k = 0; k < c->nspans; k++)
        if (c->spans[k].kind == ASSAY_GEN_SPAN_FAULT && w >= c->spans[k].from &&
            w <= c->spans[k].to)
            thr[c->spans[k].fault] = c->spans[k].thr;
}

/* Is row i written at all (volume spans)? */
static bool row_kept(const gen_ctx *c, uint64_t key, int64_t w)
{
    for (size_t k = 0; k < c->nspans; k++)
        if (c->spans[k].kind == ASSAY_GEN_SPAN_VOLUME && w >= c->spans[k].from &&
            w <= c->spans[k].to)
            return (slot(key, SLOT_VOLUME) >> 11) < c->spans[k].thr;
    return true;
}

/* Amount factor of row i in Q16 (65536 = 1). */
static uint64_t amount_factor(const gen_ctx *c, int64_t w)
{
    for (size_t k = 0; k < c->nspans; k++)
        if (c->spans[k].kind == ASSAY_GEN_SPAN_AMOUNT_DRIFT && w >= c->spans[k].from &&
            w <= c->spans[k].to)
            return c->spans[k].factor_q16;
    return 65536;
}

/* order_id of row i (see "duplicate_id" in the essay). */
static uint64_t order_id(const gen_ctx *c, uint64_t i, uint64_t key)
{
    uint64_t j = i;
    for (int hop = 0; hop < DUP_MAX_HOPS; hop++) {
        if (j == 0 || !has_fault(c, key, ASSAY_FAULT_DUPLICATE_ID))
            break;
        uint32_t w = j < DUP_WINDOW ? (uint32_t)j : DUP_WINDOW;
        j = j - 1 - bounded((uint32_t)slot(key, SLOT_DUP), w);
        key = row_key(c, j);
    }
    return j + 1;
}

/* A row's values as text, before format-specific quoting. */
typedef struct row {
    uint64_t order_id;
    uint64_t customer_id;
    bool customer_null;
    bool email_null;
    bool amount_is_string;                     /* bad_amount: a string in NDJSON */
    bool note_uesc;                            /* NDJSON: non-ASCII as \u escapes */
    bool amount_quote, time_quote, note_quote; /* CSV: holds ',' '"' or LF */
    lit currency, status;
    const char *country; /* 2 letters */
    size_t email_len, amount_len, time_len, phone_len, note_len;
    char email[96];
    char amount[48];
    char time[48];
    char phone[48];
    char note[NOTE_MAX + 64];
    /* --shipping */
    int64_t created_us; /* created_at as generated (before a bad_timestamp replaced it) */
    char ship[160];     /* the five columns, CSV-ready and as NDJSON values */
    size_t ship_len;
    char ship_json[224];
    size_t ship_json_len;
} row;

static size_t make_email(const gen_ctx *c, uint64_t cid, uint64_t key, bool bad, char *out)
{
    uint64_t ck = assay_mix64((c->seedkey ^ CUST_SALT) + cid * GAMMA_ROW);
    uint64_t ck2 = assay_mix64(ck + GAMMA_SLOT);
    lit first = FIRST_NAMES[bounded((uint32_t)ck, ASSAY_ARRAY_LEN(FIRST_NAMES))];
    lit last = LAST_NAMES[bounded((uint32_t)(ck >> 32), ASSAY_ARRAY_LEN(LAST_NAMES))];
    uint32_t n = 1 + bounded((uint32_t)ck2, 9999);
    lit dom = DOMAINS[pick_weighted(DOMAINS, ASSAY_ARRAY_LEN(DOMAINS), c->w_domain,
                                    (uint32_t)(ck2 >> 32))]
                  .text;
    unsigned kind = bad ? bounded((uint32_t)slot(key, SLOT_EMAIL_BAD), 4) : 99;
    char *p = out;
    p = put_lit(p, &first);
    *p++ = kind == 1 ? ' ' : '.';
    p = put_lit(p, &last);
    *p++ = '+';
    p = assay_put_u64(p, n);
    if (kind != 0)
        *p++ = '@';
    if (kind == 3)
        *p++ = '@';
    if (kind == 2) {
        const char *dot = memchr(dom.s, '.', dom.len);
        p = put(p, dom.s, (size_t)(dot - dom.s));
    } else {
        p = put_lit(p, &dom);
    }
    return (size_t)(p - out);
}

static size_t make_amount(uint64_t key, bool negative, bool bad, uint64_t factor_q16, char *out,
                          bool *quote)
{
    uint64_t r = slot(key, SLOT_AMOUNT);
    int64_t s = (int64_t)((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48));
    uint64_t cents = scale_exp2(5000, 2 * (s - 131070));
    uint64_t rl = slot(key, SLOT_AMOUNT_LARGE);
    if ((uint32_t)rl < 21474837u) /* 0.5% of 2^32 */
        cents *= 10 + bounded((uint32_t)(rl >> 32), 90);
    if (factor_q16 != 65536)
        cents = (uint64_t)(((unsigned __int128)cents * factor_q16 + 32768) >> 16);
    if (cents == 0)
        cents = 1;
    char *p = out;
    if (bad) {
        uint64_t rb = slot(key, SLOT_AMOUNT_BAD);
        unsigned kind = bounded((uint32_t)rb, ASSAY_ARRAY_LEN(BAD_AMOUNTS));
        if (BAD_AMOUNTS[kind].len)
            return (size_t)(put_lit(p, &BAD_AMOUNTS[kind]) - out);
        if (kind == 3)
            *p++ = '$';
        p = assay_put_u64(p, cents / 100);
        *p++ = kind == 2 ? ',' : '.'; /* kind 2: decimal comma */
        *quote = kind == 2;
        p = put_2d(p, (unsigned)(cents % 100));
        if (kind == 1) {
            *p++ = '.';
            *p++ = (char)('0' + (rb >> 32) % 10);
        }
        return (size_t)(p - out);
    }
    if (negative)
        *p++ = '-';
    p = assay_put_u64(p, cents / 100);
    *p++ = '.';
    p = put_2d(p, (unsigned)(cents % 100));
    return (size_t)(p - out);
}

static size_t make_phone(const country *ct, uint64_t key, bool bad, char *out)
{
    uint64_t r = slot(key, SLOT_PHONE);
    char nat[16];
    nat[0] = (char)('2' + r % 8);
    r /= 8;
    for (unsigned k = 1; k < ct->nat_len; k++) {
        nat[k] = (char)('0' + r % 10);
        r /= 10;
    }
    char *p = out;
    unsigned kind = bad ? bounded((uint32_t)slot(key, SLOT_PHONE_BAD), 5) : 99;
    switch (kind) {
    case 0: /* national number only */
        p = put(p, nat, ct->nat_len);
        break;
    case 1: /* spaces */
        *p++ = '+';
        p = put_lit(p, &ct->calling);
        for (unsigned k = 0; k < ct->nat_len; k++) {
            if (k % 3 == 0 && k + 1 < ct->nat_len)
                *p++ = ' ';
            *p++ = nat[k];
        }
        break;
    case 2: /* "(415) 555-0123" */
        *p++ = '(';
        p = put(p, nat, 3);
        *p++ = ')';
        *p++ = ' ';
        p = put(p, nat + 3, 3);
        *p++ = '-';
        p = put(p, nat + 6, ct->nat_len - 6u);
        break;
    case 3: /* too long for E.164 */
        *p++ = '+';
        p = put_lit(p, &ct->calling);
        p = put(p, nat, ct->nat_len);
        p = put(p, "0000000", 7);
        break;
    case 4:
        p = put(p, "unknown", 7);
        break;
    default:
        *p++ = '+';
        p = put_lit(p, &ct->calling);
        p = put(p, nat, ct->nat_len);
        break;
    }
    return (size_t)(p - out);
}

static char *put_cents(char *p, int64_t cents)
{
    if (cents < 0) {
        *p++ = '-';
        cents = -cents;
    }
    p = assay_put_u64(p, (uint64_t)cents / 100);
    *p++ = '.';
    *p++ = (char)('0' + cents % 100 / 10);
    *p++ = (char)('0' + cents % 10);
    return p;
}

/* The --shipping columns (see the essay), as CSV fields (no quoting needed: digits,
 * letters, '.', ':', '-', ' ') and as NDJSON members. */
static void make_shipping(row *rw, uint64_t key)
{
    uint64_t q = slot(key, SLOT_QTY), pr = slot(key, SLOT_PRICE), tt = slot(key, SLOT_TOTAL);
    uint64_t sh = slot(key, SLOT_SHIP), zp = slot(key, SLOT_ZIP);
    uint32_t qty = 1 + bounded((uint32_t)q, 10);
    int64_t price = 100 + bounded((uint32_t)pr, 19901); /* cents */
    int64_t total = (int64_t)qty * price;
    uint32_t tr = bounded((uint32_t)tt, 1000);
    bool total_null = tr < 5;
    if (tr >= 5 && tr < 15) { /* 1%: off by 1 cent .. 20.00 */
        int64_t off = 1 + bounded((uint32_t)(tt >> 32), 2000);
        total += (tt >> 63) ? off : -off;
    }
    char ts[48], *tse = ts;
    bool shipped =
        memcmp(rw->status.s, "shipped", 7) == 0 || memcmp(rw->status.s, "delivered", 9) == 0;
    if (shipped) {
        uint32_t r = bounded((uint32_t)sh, 1000);
        int64_t t = rw->created_us;
        if (r < 10) /* 1%: before the order */
            t -= 60000000ll + (int64_t)bounded((uint32_t)(sh >> 32), 35400) * 1000000ll;
        else
            t += 3600000000ll + (int64_t)bounded((uint32_t)(sh >> 32), 255600) * 1000000ll;
        if (r >= 10 && r < 30) /* 2%: shipped, no time */
            tse = ts;
        else
            tse = put_time(ts, t);
    }
    char zip[16];
    size_t zl = 0;
    uint32_t zr = bounded((uint32_t)zp, 1000);
    uint32_t zd = (uint32_t)(zp >> 32);
    if (zr >= 5) {
        if (rw->country[0] == 'U' && rw->country[1] == 'S') {
            uint32_t v = bounded(zd, 100000);
            int digits = zr < 25 ? 4 : 5;
            for (int d = digits - 1; d >= 0; d--, v /= 10)
                zip[d] = (char)('0' + v % 10);
            zl = (size_t)digits;
        } else if ((rw->country[0] == 'G' && rw->country[1] == 'B') ||
                   (rw->country[0] == 'C' && rw->country[1] == 'A')) {
            zip[0] = (char)('A' + bounded(zd, 26));
            zip[1] = (char)('0' + (zd >> 8) % 10);
            zip[2] = (char)('A' + (zd >> 12) % 26);
            zip[3] = ' ';
            zip[4] = (char)('0' + (zd >> 17) % 10);
            zip[5] = (char)('A' + (zd >> 21) % 26);
            zip[6] = (char)('0' + (zd >> 26) % 10);
            zl = 7;
        } else {
            uint32_t v = 1000 + bounded(zd, 9000);
            for (int d = 3; d >= 0; d--, v /= 10)
                zip[d] = (char)('0' + v % 10);
            zl = 4;
        }
    }
    char *p = rw->ship;
    char *j = rw->ship_json;
    *p++ = ',';
    p = assay_put_u64(p, qty);
    *p++ = ',';
    p = put_cents(p, price);
    *p++ = ',';
    if (!total_null)
        p = put_cents(p, total);
    *p++ = ',';
    p = put(p, ts, (size_t)(tse - ts));
    *p++ = ',';
    p = put(p, zip, zl);
    rw->ship_len = (size_t)(p - rw->ship);
    j = put(j, ",\"quantity\":", 12);
    j = assay_put_u64(j, qty);
    j = put(j, ",\"unit_price\":", 14);
    j = put_cents(j, price);
    j = put(j, ",\"total\":", 9);
    j = total_null ? put(j, "null", 4) : put_cents(j, total);
    j = put(j, ",\"shipped_at\":", 14);
    if (tse == ts) {
        j = put(j, "null", 4);
    } else {
        *j++ = '"';
        j = put(j, ts, (size_t)(tse - ts));
        *j++ = '"';
    }
    j = put(j, ",\"zip\":", 7);
    if (zl == 0) {
        j = put(j, "null", 4);
    } else {
        *j++ = '"';
        j = put(j, zip, zl);
        *j++ = '"';
    }
    rw->ship_json_len = (size_t)(j - rw->ship_json);
}

/* Free text (see "note" in the essay); at most NOTE_MAX + 32 bytes. *quote tells
 * whether it holds a character that CSV must quote. */
static size_t make_note(uint64_t key, bool long_note, char *out, bool *quote)
{
    uint64_t st = slot(key, SLOT_NOTE);
    uint64_t r = assay_mix64(st += GAMMA_ROW);
    char *p = out;
    *quote = false;
    if (long_note) {
        size_t target = 501 + bounded((uint32_t)r, 1000);
        while ((size_t)(p - out) < target) {
            if (p != out)
                *p++ = ' ';
            r = assay_mix64(st += GAMMA_ROW);
            p = put_lit(p, &NOTE_WORDS[bounded((uint32_t)r, ASSAY_ARRAY_LEN(NOTE_WORDS))]);
        }
        return (size_t)(p - out);
    }
    if ((uint32_t)r < 1717986918u) /* 40% of 2^32: empty */
        return 0;
    unsigned words = 2 + bounded((uint32_t)(r >> 32), 8);
    uint64_t r2 = assay_mix64(st += GAMMA_ROW);
    unsigned newline_at = ((uint32_t)r2 < 85899346u) /* 2% */
                              ? 1 + bounded((uint32_t)(r2 >> 32), words - 1)
                              : 0;
    for (unsigned w = 0; w < words; w++) {
        if (w > 0) {
            *p++ = w == newline_at ? '\n' : ' ';
            *quote |= w == newline_at;
        }
        r = assay_mix64(st += GAMMA_ROW);
        uint32_t kind = (uint32_t)r & 1023;
        uint32_t x = (uint32_t)(r >> 32);
        if (kind < 25) {
            *quote = true;
            *p++ = '"';
            p = put_lit(p, &NOTE_WORDS[bounded(x, ASSAY_ARRAY_LEN(NOTE_WORDS))]);
            *p++ = '"';
        } else if (kind < 45) {
            p = put_lit(p, &NOTE_UNICODE[bounded(x, ASSAY_ARRAY_LEN(NOTE_UNICODE))]);
        } else if (kind < 48) {
            p = put_lit(p, &NOTE_ODD[bounded(x, ASSAY_ARRAY_LEN(NOTE_ODD))]);
        } else {
            p = put_lit(p, &NOTE_WORDS[bounded(x, ASSAY_ARRAY_LEN(NOTE_WORDS))]);
        }
        if (w + 1 < words && ((r >> 10) & 1023) < 61) { /* 6% */
            *p++ = ',';
            *quote = true;
        }
    }
    return (size_t)(p - out);
}

/* Row i's fields; false when a volume span drops the row. */
static bool make_row(const gen_ctx *c, uint64_t i, row *rw)
{
    uint64_t key = row_key(c, i);
    int64_t w = c->nspans ? row_window(c, i) : 0;
    if (c->nspans && !row_kept(c, key, w))
        return false;
    bool fault[ASSAY_FAULT_COUNT];
    if (c->nspans) {
        uint64_t thr[ASSAY_FAULT_COUNT];
        row_thresholds(c, w, thr);
        for (int f = 0; f < ASSAY_FAULT_COUNT; f++)
            fault[f] = (slot(key, SLOT_FAULT0 + (unsigned)f) >> 11) < thr[f];
    } else {
        for (int f = 0; f < ASSAY_FAULT_COUNT; f++)
            fault[f] = has_fault(c, key, (assay_fault)f);
    }

    rw->order_id = fault[ASSAY_FAULT_DUPLICATE_ID] ? order_id(c, i, key) : i + 1;

    /* customer: Zipf(1) via floor((C+1)^U), then an affine bijection of [1, C] */
    uint32_t u = (uint32_t)(slot(key, SLOT_CUSTOMER) >> 32);
    int64_t y = (int64_t)(((uint64_t)u * c->log2_cust_q16) >> 32);
    uint64_t v = scale_exp2(1, y);
    if (v < 1)
        v = 1;
    if (v > c->customers)
        v = c->customers;
    uint64_t cid;
    if (c->customers <= UINT32_MAX) /* 64-bit product cannot overflow */
        cid = ((v - 1) * c->perm_a + c->perm_b) % c->customers + 1;
    else
        cid = (uint64_t)(((unsigned __int128)(v - 1) * c->perm_a + c->perm_b) % c->customers) + 1;
    rw->customer_id = cid;
    rw->customer_null = fault[ASSAY_FAULT_NULL_CUSTOMER];

    rw->email_null = fault[ASSAY_FAULT_NULL_EMAIL];
    rw->email_len =
        rw->email_null ? 0 : make_email(c, cid, key, fault[ASSAY_FAULT_BAD_EMAIL], rw->email);

    rw->amount_is_string = fault[ASSAY_FAULT_BAD_AMOUNT];
    rw->amount_quote = false;
    rw->amount_len =
        make_amount(key, fault[ASSAY_FAULT_NEGATIVE_AMOUNT], fault[ASSAY_FAULT_BAD_AMOUNT],
                    c->nspans ? amount_factor(c, w) : 65536, rw->amount, &rw->amount_quote);

    uint32_t vc = bounded((uint32_t)slot(key, SLOT_COUNTRY), c->w_country);
    size_t ci = 0;
    while (ci + 1 < ASSAY_ARRAY_LEN(COUNTRIES) && vc >= COUNTRIES[ci].weight)
        vc -= COUNTRIES[ci++].weight;
    const country *ct = &COUNTRIES[ci];
    rw->country = ct->code;

    uint64_t rcur = slot(key, SLOT_CURRENCY);
    if (fault[ASSAY_FAULT_BAD_CURRENCY]) {
        uint32_t x = (uint32_t)slot(key, SLOT_CURRENCY_BAD);
        rw->currency = BAD_CURRENCIES[bounded(x, ASSAY_ARRAY_LEN(BAD_CURRENCIES))];
    } else if ((uint32_t)rcur < 3650722202u) { /* 85% of 2^32: the country's currency */
        rw->currency = CURRENCIES[ct->currency].text;
    } else {
        rw->currency = CURRENCIES[pick_weighted(CURRENCIES, ASSAY_ARRAY_LEN(CURRENCIES),
                                                c->w_currency, (uint32_t)(rcur >> 32))]
                           .text;
    }

    rw->status = STATUSES[pick_weighted(STATUSES, ASSAY_ARRAY_LEN(STATUSES), c->w_status,
                                        (uint32_t)slot(key, SLOT_STATUS))]
                     .text;

    rw->time_quote = false;
    rw->created_us = (int64_t)((uint64_t)c->start_us + i * (uint64_t)c->step_us);
    if (fault[ASSAY_FAULT_BAD_TIMESTAMP]) {
        uint32_t x = (uint32_t)slot(key, SLOT_TIME_BAD);
        const char *b = BAD_TIMESTAMPS[bounded(x, ASSAY_ARRAY_LEN(BAD_TIMESTAMPS))];
        rw->time_len = strlen(b);
        memcpy(rw->time, b, rw->time_len);
        rw->time_quote = strchr(b, ',') != NULL;
    } else {
        /* unsigned arithmetic: wraps instead of overflowing, then clamped */
        uint64_t step = c->step_us < 0 ? (uint64_t)0 - (uint64_t)c->step_us : (uint64_t)c->step_us;
        uint64_t t = (uint64_t)c->start_us + i * (uint64_t)c->step_us;
        t += (uint64_t)(((unsigned __int128)slot(key, SLOT_TIME) * step) >> 64); /* U[0, step) */
        uint64_t rt = slot(key, SLOT_TIME_LATE);
        if ((uint32_t)rt < c->late_thr && c->late_ms) /* 1% by default: late by up to 120 s */
            t -= (uint64_t)bounded((uint32_t)(rt >> 32), c->late_ms) * 1000;
        if (c->disorder)
            t -= (uint64_t)(((unsigned __int128)slot(key, SLOT_DISORDER) * c->disorder) >> 64);
        if (fault[ASSAY_FAULT_STALE])
            t -= 30 * (uint64_t)US_PER_DAY +
                 (uint64_t)bounded((uint32_t)(rt >> 32), 335 * 86400) * 1000000;
        rw->time_len = (size_t)(put_time(rw->time, (int64_t)t) - rw->time);
        rw->created_us = (int64_t)t;
    }

    rw->phone_len = make_phone(ct, key, fault[ASSAY_FAULT_BAD_PHONE], rw->phone);
    rw->note_len = make_note(key, fault[ASSAY_FAULT_LONG_NOTE], rw->note, &rw->note_quote);
    rw->note_uesc = (slot(key, SLOT_NOTE) >> 60) < 5; /* 5/16 ~ 30% */
    rw->ship_len = rw->ship_json_len = 0;
    if (c->shipping)
        make_shipping(rw, key);
    return true;
}

static char *emit_csv(const row *rw, char *p)
{
    p = assay_put_u64(p, rw->order_id);
    *p++ = ',';
    if (!rw->customer_null)
        p = assay_put_u64(p, rw->customer_id);
    *p++ = ',';
    p = put(p, rw->email, rw->email_len);
    *p++ = ',';
    p = rw->amount_quote ? put_csv(p, rw->amount, rw->amount_len)
                         : put(p, rw->amount, rw->amount_len);
    *p++ = ',';
    p = put_lit(p, &rw->currency);
    *p++ = ',';
    p = put(p, rw->country, 2);
    *p++ = ',';
    p = put_lit(p, &rw->status);
    *p++ = ',';
    p = rw->time_quote ? put_csv(p, rw->time, rw->time_len) : put(p, rw->time, rw->time_len);
    *p++ = ',';
    p = put(p, rw->phone, rw->phone_len);
    *p++ = ',';
    p = rw->note_quote ? put_csv(p, rw->note, rw->note_len) : put(p, rw->note, rw->note_len);
    p = put(p, rw->ship, rw->ship_len);
    *p++ = '\n';
    return p;
}

#define KEY(p, s) put(p, s, sizeof(s) - 1)

static char *emit_ndjson(const row *rw, char *p)
{
    p = KEY(p, "{\"order_id\":");
    p = assay_put_u64(p, rw->order_id);
    p = KEY(p, ",\"customer_id\":");
    if (rw->customer_null)
        p = KEY(p, "null");
    else
        p = assay_put_u64(p, rw->customer_id);
    p = KEY(p, ",\"email\":");
    if (rw->email_null)
        p = KEY(p, "null");
    else
        p = put_json_str(p, rw->email, rw->email_len, false);
    p = KEY(p, ",\"amount\":");
    if (rw->amount_is_string)
        p = put_json_str(p, rw->amount, rw->amount_len, false);
    else
        p = put(p, rw->amount, rw->amount_len);
    p = KEY(p, ",\"currency\":");
    p = put_json_str(p, rw->currency.s, rw->currency.len, false);
    p = KEY(p, ",\"country\":\"");
    p = put(p, rw->country, 2);
    p = KEY(p, "\",\"status\":\"");
    p = put_lit(p, &rw->status);
    p = KEY(p, "\",\"created_at\":");
    p = put_json_str(p, rw->time, rw->time_len, false);
    p = KEY(p, ",\"phone\":");
    p = put_json_str(p, rw->phone, rw->phone_len, false);
    p = KEY(p, ",\"note\":");
    if (rw->note_len == 0) /* no note: null, as the empty CSV field reads */
        p = KEY(p, "null");
    else
        p = put_json_str(p, rw->note, rw->note_len, rw->note_uesc);
    p = put(p, rw->ship_json, rw->ship_json_len);
    p = KEY(p, "}\n");
    return p;
}

/* Row i in the context's format at p (at most ROW_MAX bytes); returns the end. */
static char *gen_row(const gen_ctx *c, uint64_t i, char *p)
{
    row rw;
    if (!make_row(c, i, &rw))
        return p;
    return c->format == ASSAY_GEN_NDJSON ? emit_ndjson(&rw, p) : emit_csv(&rw, p);
}

/* ---------------------------------------------------------------------------------
 * Public API
 * ------------------------------------------------------------------------------- */

void assay_gen_options_default(assay_gen_options *o)
{
    memset(o, 0, sizeof(*o));
    o->rows = 0;
    o->seed = 1;
    o->format = ASSAY_GEN_CSV;
    memcpy(o->rates, DEFAULT_RATES, sizeof(o->rates));
    o->start_us = DEFAULT_START;
    o->step_us = DEFAULT_STEP;
    o->late_rate = 0.01;
    o->late_by_us = 120000000;
    o->window_us = 60000000;
}

const char *assay_fault_name(assay_fault f)
{
    if ((unsigned)f >= ASSAY_FAULT_COUNT)
        return NULL;
    return FAULT_NAMES[f];
}

/* Rate text: digits with an optional fraction ("0.05", ".5", "1") and an optional
 * '%'. Locale-independent. Returns 0 or -EINVAL. */
static int parse_rate(const char *s, size_t n, double *out)
{
    double v = 0, scale = 1;
    size_t k = 0, digits = 0;
    while (k < n && s[k] >= '0' && s[k] <= '9') {
        v = v * 10 + (s[k++] - '0');
        digits++;
    }
    if (k < n && s[k] == '.') {
        k++;
        while (k < n && s[k] >= '0' && s[k] <= '9') {
            scale /= 10;
            v += (s[k++] - '0') * scale;
            digits++;
        }
    }
    if (digits == 0)
        return -EINVAL;
    if (k < n && s[k] == '%') {
        v /= 100;
        k++;
    }
    if (k != n)
        return -EINVAL;
    *out = v;
    return 0;
}

static void valid_names(char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "all");
    for (int f = 0; f < ASSAY_FAULT_COUNT && len < cap; f++)
        len += (size_t)snprintf(buf + len, cap - len, ", %s", FAULT_NAMES[f]);
}

/* "A-B" window range: two whole numbers, A <= B. */
static int parse_range(const char *s, size_t n, int64_t *from, int64_t *to)
{
    const char *dash = memchr(s, '-', n);
    if (!dash || dash == s || dash == s + n - 1)
        return -EINVAL;
    int64_t v[2] = { 0, 0 };
    const char *part[2] = { s, dash + 1 };
    size_t len[2] = { (size_t)(dash - s), n - (size_t)(dash - s) - 1 };
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < len[k]; i++) {
            if (part[k][i] < '0' || part[k][i] > '9' || v[k] > 1000000000000LL)
                return -EINVAL;
            v[k] = v[k] * 10 + (part[k][i] - '0');
        }
    }
    if (v[0] > v[1])
        return -EINVAL;
    *from = v[0];
    *to = v[1];
    return 0;
}

/* A positive number (amount drift factors may exceed 1). */
static int parse_factor(const char *s, size_t n, double *out)
{
    double v;
    if (parse_rate(s, n, &v) < 0 || memchr(s, '%', n) || !(v > 0))
        return -EINVAL;
    *out = v;
    return 0;
}

int assay_gen_parse_faults(const char *spec, assay_gen_options *o, assay_error *err)
{
    double rates[ASSAY_FAULT_COUNT];
    assay_gen_span spans[ASSAY_GEN_SPANS_MAX];
    size_t nspans = o->nspans;
    memcpy(rates, o->rates, sizeof(rates));
    memcpy(spans, o->spans, sizeof(spans));
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        if (!*p)
            break;
        const char *name = p;
        while (*p && *p != '=' && *p != ',' && *p != ' ' && *p != '@')
            p++;
        size_t nlen = (size_t)(p - name);
        while (*p == ' ')
            p++;
        enum { ALL = -1, NONE = -2, VOLUME = -3, IDLE = -4, DRIFT = -5 };
        int which = NONE;
        if (nlen == 3 && memcmp(name, "all", 3) == 0)
            which = ALL;
        else if (nlen == 6 && memcmp(name, "volume", 6) == 0)
            which = VOLUME;
        else if (nlen == 4 && memcmp(name, "idle", 4) == 0)
            which = IDLE;
        else if (nlen == 12 && memcmp(name, "amount_drift", 12) == 0)
            which = DRIFT;
        for (int f = 0; f < ASSAY_FAULT_COUNT && which == NONE; f++)
            if (strlen(FAULT_NAMES[f]) == nlen && memcmp(FAULT_NAMES[f], name, nlen) == 0)
                which = f;
        if (which == NONE) {
            char names[320];
            valid_names(names, sizeof(names));
            return assay_error_set(err, -EINVAL,
                                   "unknown fault '%.*s'; valid faults: %s; in window ranges "
                                   "also volume=SHARE@A-B, idle@A-B, amount_drift=FACTOR@A-B",
                                   (int)ASSAY_MIN(nlen, 64), name, names);
        }
        const char *val = NULL;
        size_t vlen = 0;
        if (*p == '=') {
            p++;
            while (*p == ' ')
                p++;
            val = p;
            while (*p && *p != ',' && *p != '@')
                p++;
            vlen = (size_t)(p - val);
            while (vlen && val[vlen - 1] == ' ')
                vlen--;
        }
        bool ranged = false;
        int64_t from = 0, to = 0;
        if (*p == '@') {
            const char *r = ++p;
            while (*p && *p != ',')
                p++;
            size_t rlen = (size_t)(p - r);
            while (rlen && r[rlen - 1] == ' ')
                rlen--;
            if (parse_range(r, rlen, &from, &to) < 0)
                return assay_error_set(err, -EINVAL,
                                       "fault '%.*s': window range '%.*s' is not FROM-TO (window "
                                       "numbers from the start, FROM <= TO, e.g. @10-12)",
                                       (int)nlen, name, (int)ASSAY_MIN(rlen, 64), r);
            ranged = true;
        }
        if (which == IDLE && val)
            return assay_error_set(err, -EINVAL, "idle takes no value: write idle@FROM-TO");
        if (which != IDLE && !val)
            return assay_error_set(err, -EINVAL,
                                   "fault '%.*s' has no rate; write NAME=RATE, e.g. %.*s=0.1",
                                   (int)nlen, name, (int)nlen, name);
        if ((which == VOLUME || which == IDLE || which == DRIFT) && !ranged)
            return assay_error_set(err, -EINVAL, "'%.*s' needs a window range, e.g. %.*s@10-12",
                                   (int)nlen, name, (int)nlen, name);
        double r = 0;
        if (which == DRIFT) {
            if (parse_factor(val, vlen, &r) < 0)
                return assay_error_set(err, -EINVAL,
                                       "amount_drift: factor '%.*s' is not a positive number "
                                       "(like 2.5)",
                                       (int)ASSAY_MIN(vlen, 64), val);
        } else if (which != IDLE && (parse_rate(val, vlen, &r) < 0 || r > 1)) {
            return assay_error_set(err, -EINVAL,
                                   "fault '%.*s': rate '%.*s' is not a number in [0, 1] "
                                   "(like 0.05 or 5%%)",
                                   (int)nlen, name, (int)ASSAY_MIN(vlen, 64), val);
        }
        if (!ranged) {
            if (which == ALL)
                for (int f = 0; f < ASSAY_FAULT_COUNT; f++)
                    rates[f] = r;
            else
                rates[which] = r;
            continue;
        }
        int first = which == ALL ? 0 : which, last = which == ALL ? ASSAY_FAULT_COUNT - 1 : which;
        if (which < 0 && which != ALL)
            first = last = 0;
        for (int f = first; f <= last; f++) {
            if (nspans == ASSAY_GEN_SPANS_MAX)
                return assay_error_set(err, -EINVAL, "more than %d window-range entries",
                                       ASSAY_GEN_SPANS_MAX);
            assay_gen_span *sp = &spans[nspans++];
            memset(sp, 0, sizeof(*sp));
            sp->kind = which == VOLUME || which == IDLE ? ASSAY_GEN_SPAN_VOLUME
                       : which == DRIFT                 ? ASSAY_GEN_SPAN_AMOUNT_DRIFT
                                                        : ASSAY_GEN_SPAN_FAULT;
            sp->fault = which >= 0 ? (assay_fault)which : (assay_fault)f;
            sp->value = which == IDLE ? 0 : r;
            sp->from = from;
            sp->to = to;
        }
    }
    memcpy(o->rates, rates, sizeof(rates));
    memcpy(o->spans, spans, sizeof(spans));
    o->nspans = nspans;
    return 0;
}

const char *assay_gen_header(const assay_gen_options *o)
{
    return o->format == ASSAY_GEN_NDJSON ? "" : o->shipping ? CSV_HEADER_SHIPPING : CSV_HEADER;
}

size_t assay_gen_rows(const assay_gen_options *o, uint64_t first, uint64_t n, char *buf, size_t cap,
                      uint64_t *done)
{
    gen_ctx c;
    ctx_init(&c, o);
    char scratch[ROW_MAX];
    size_t pos = 0;
    uint64_t k;
    if (!buf)
        cap = 0;
    for (k = 0; k < n; k++) {
        if (cap - pos >= ROW_MAX) {
            pos = (size_t)(gen_row(&c, first + k, buf + pos) - buf);
            continue;
        }
        size_t len = (size_t)(gen_row(&c, first + k, scratch) - scratch);
        if (len > cap - pos)
            break;
        memcpy(buf + pos, scratch, len);
        pos += len;
    }
    if (done)
        *done = k;
    return pos;
}

int assay_gen_write(const assay_gen_options *o, FILE *out, assay_error *err)
{
    const size_t cap = (size_t)4 << 20;
    char *buf = malloc(cap);
    if (!buf)
        return assay_error_set(err, -ENOMEM, "cannot allocate a %zu-byte output buffer", cap);
    const char *header = assay_gen_header(o);
    size_t hlen = strlen(header);
    int rc = 0;
    if (hlen && fwrite(header, 1, hlen, out) != hlen)
        goto io_error;
    for (uint64_t i = 0; i < o->rows;) {
        uint64_t done;
        size_t len = assay_gen_rows(o, i, o->rows - i, buf, cap, &done);
        if (fwrite(buf, 1, len, out) != len)
            goto io_error;
        i += done;
    }
    if (fflush(out) != 0)
        goto io_error;
    free(buf);
    return 0;
io_error:
    rc = errno > 0 ? -errno : -EIO;
    free(buf);
    return assay_error_set(err, rc, "write failed: %s", strerror(-rc));
}
