#!/usr/bin/env python3
"""Exact per-column profile of a CSV file, computed independently of assay, compared
with `assay profile --json` output: python3 exact_profile.py DATA.csv PROFILE.json.
Checks (exit 1 with a line per failure):
  rows, nulls, count exact; distinct within 3 HLL standard errors (p = 16: 1.22%);
  numeric min/max exact, mean to 1e-9 relative, stddev to 1e-6 relative;
  quantiles: rank error <= 0.5% at p25..p75 and <= 0.1% at p01/p99 (ties count);
  top values: exact counts for columns with <= 64 distinct values; above that every
    listed count range holds the true count and no value left out is more frequent;
  duplicate_rows: exact (rows whose text repeats an earlier row)."""
import bisect, csv, json, math, re, sys
from datetime import datetime, timezone

data_path, prof_path = sys.argv[1], sys.argv[2]
prof = json.load(open(prof_path))
cols = {c["name"]: c for c in prof["columns"]}
fails = []
def bad(msg):
    fails.append(msg)

with open(data_path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
if prof["rows"] != len(body):
    bad("rows %d, exact %d" % (prof["rows"], len(body)))

# duplicate rows: the row's text as written (re-serialised identically by csv for our data)
seen, dups = set(), 0
for r in body:
    key = "\x1f".join(r)
    if key in seen:
        dups += 1
    seen.add(key)
if prof["duplicate_rows"] != dups:
    bad("duplicate_rows %d, exact %d" % (prof["duplicate_rows"], dups))

INT = re.compile(r"^[+-]?[0-9]+$")
FLOAT = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
def ts(text):
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None

for i, name in enumerate(header):
    c = cols[name]
    vals = [r[i] for r in body]
    nonnull = [v for v in vals if v != ""]
    if c["nulls"] != len(vals) - len(nonnull):
        bad("%s: nulls %d, exact %d" % (name, c["nulls"], len(vals) - len(nonnull)))
    t = c["type"]
    if t in ("int", "float"):
        keyed = [float(v) for v in nonnull if (INT if t == "int" else FLOAT).match(v)]
        distinct = len(set(keyed)) + len(set(v for v in nonnull if not (INT if t == "int" else FLOAT).match(v)))
    elif t == "timestamp":
        keyed = [x for x in (ts(v) for v in nonnull) if x is not None]
        distinct = len(set(nonnull))
    else:
        keyed = None
        distinct = len(set(nonnull))
    if distinct and abs(c["distinct"] - distinct) > 3 * 1.04 / 256 * distinct + 1:
        bad("%s: distinct %d, exact %d (%.2f%%)" % (name, c["distinct"], distinct,
            100 * (c["distinct"] - distinct) / distinct))
    if t in ("int", "float") and keyed:
        keyed.sort()
        n = len(keyed)
        if c["min"] != keyed[0] or c["max"] != keyed[-1]:
            bad("%s: min/max %s/%s, exact %s/%s" % (name, c["min"], c["max"], keyed[0], keyed[-1]))
        mean = math.fsum(keyed) / n
        if abs(c["mean"] - mean) > 1e-9 * max(1, abs(mean)):
            bad("%s: mean %r, exact %r" % (name, c["mean"], mean))
        sd = math.sqrt(math.fsum((x - mean) ** 2 for x in keyed) / (n - 1))
        if abs(c["stddev"] - sd) > 1e-6 * sd:
            bad("%s: stddev %r, exact %r" % (name, c["stddev"], sd))
        for q, key in ((0.01, "p01"), (0.25, "p25"), (0.5, "p50"), (0.75, "p75"), (0.99, "p99")):
            v = c["quantiles"][key]
            lo = bisect.bisect_left(keyed, v) / n
            hi = bisect.bisect_right(keyed, v) / n
            err = 0 if lo <= q <= hi else min(abs(q - lo), abs(q - hi))
            bound = 0.001 if q in (0.01, 0.99) else 0.005
            if err > bound:
                bad("%s: %s = %r has rank error %.4f > %.4f" % (name, key, v, err, bound))
    if t == "string" and distinct <= 64:
        exact = {}
        for v in nonnull:
            exact[v] = exact.get(v, 0) + 1
        for item in c["top"]:
            if exact.get(item["value"]) != item["count"]:
                bad("%s: top %r count %d, exact %s" % (name, item["value"], item["count"],
                    exact.get(item["value"])))
        want = sorted(exact.items(), key=lambda kv: (-kv[1], kv[0].encode()))[:len(c["top"])]
        got = [(x["value"], x["count"]) for x in c["top"]]
        if got != want:
            bad("%s: top list %s, exact %s" % (name, got[:5], want[:5]))
    elif t == "string":
        # estimated top values: each true count inside the stated range, and no value
        # left out more frequent than a listed one's guaranteed count
        exact = {}
        for v in nonnull:
            exact[v] = exact.get(v, 0) + 1
        listed = set()
        for item in c["top"]:
            lo = item.get("count_min", item["count"])
            tv = exact.get(item["value"], 0)
            if not (lo <= tv <= item["count"]) or (not item.get("estimated") and tv != item["count"]):
                bad("%s: top %r says [%d, %d], exact %d" % (name, item["value"], lo, item["count"], tv))
            listed.add(item["value"])
        if c["top"]:
            least = min(x.get("count_min", x["count"]) for x in c["top"])
            rest = max((n for v, n in exact.items() if v not in listed), default=0)
            if rest > least:
                bad("%s: a value left out occurs %d times, more than a listed one's %d" % (name, rest, least))
# type-inference counters: non-null values among the first 10,000 rows; int = fits int64
for i, name in enumerate(header):
    c = cols[name]
    first = [r[i] for r in body[:10000] if r[i] != ""]
    want_int = sum(1 for v in first if INT.match(v) and -2**63 <= int(v) < 2**63)
    st = c["sampled_types"]
    if st["values"] != len(first) or st["int"] != want_int:
        bad("%s: sampled_types %s, exact values %d int %d" % (name, st, len(first), want_int))
for f in fails:
    print("  " + f)
sys.exit(1 if fails else 0)
