#!/usr/bin/env bash
# End-to-end tests of the assay binary: exact rule counts against an independent
# recount, determinism across thread counts / formats / stdin / read fallback,
# exit codes, and error messages. Usage: integration.sh PATH/TO/assay
set -uo pipefail
ASSAY=$1
ROOT=${ASSAY_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
DATA=$ROOT/tests/data
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib.sh"
# drop the fields that legitimately differ between runs
norm() { python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k,None) for k in ("seconds","threads","files","format")]; [s.pop("file",None) for s in d["bad_rows"]["samples"]]; print(json.dumps(d,sort_keys=True))'; }
NOW=2026-11-23T00:00:00Z

faults=bad_email=0.05,null_email=0.03,negative_amount=0.02,bad_amount=0.01,bad_currency=0.02,duplicate_id=0.02,null_customer=0.01,bad_phone=0.03,stale=0.01,long_note=0.01
"$ASSAY" gen --rows 120000 --seed 7 --faults "$faults" -o "$T/o.csv" || bad "gen csv"
"$ASSAY" gen --rows 120000 --seed 7 --faults "$faults" --format ndjson -o "$T/o.ndjson" || bad "gen ndjson"

# 1. exact counts
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 2 "$T/o.csv" > "$T/r2.json"
expect_eq "$?" 1 "check on faulty data exits 1"
python3 "$ROOT/tests/exact_check.py" "$T/o.csv" $NOW > "$T/exact.json"
python3 - "$T/r2.json" "$T/exact.json" <<'PY' && ok "every rule's evaluated/failed equals the exact recount" || bad "exact recount differs"
import json, sys
r = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
bad = 0
if r["rows"] != e["rows"]:
    print("  rows", r["rows"], "exact", e["rows"]); bad = 1
for rule in r["rules"]:
    want = e[rule["name"]]
    got = [rule["evaluated"], rule["failed"]]
    if got != want:
        print("  %-18s assay %s exact %s" % (rule["name"], got, want)); bad = 1
    elif rule["failed"] == 0 and rule["name"] not in ("enough_rows",):
        print("  %-18s no failures: the faults should have produced some" % rule["name"])
sys.exit(bad)
PY

# 2. the same report for 1, 2 and 7 threads, samples included
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 1 "$T/o.csv" | norm > "$T/n1"
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 7 "$T/o.csv" | norm > "$T/n7"
norm < "$T/r2.json" > "$T/n2"
cmp -s "$T/n1" "$T/n2" && cmp -s "$T/n1" "$T/n7" && ok "identical reports for 1, 2, 7 threads" \
  || { bad "reports differ between thread counts"; diff <(tr , '\n' < "$T/n1") <(tr , '\n' < "$T/n7") | head; }

# 3. NDJSON of the same data gives the same counts
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 2 "$T/o.ndjson" | norm > "$T/nj"
python3 - "$T/n2" "$T/nj" <<'PY' && ok "ndjson and csv of the same rows give the same rule counts" || bad "ndjson counts differ from csv"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
ka = [(r["name"], r["evaluated"], r["failed"]) for r in a["rules"]]
kb = [(r["name"], r["evaluated"], r["failed"]) for r in b["rules"]]
if ka != kb or a["rows"] != b["rows"]:
    for x, y in zip(ka, kb):
        if x != y: print("  csv", x, "ndjson", y)
    sys.exit(1)
PY

# 4. stdin and the plain-read fallback give the same report
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 2 - < "$T/o.csv" | norm > "$T/ns"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if [(r["name"],r["evaluated"],r["failed"]) for r in a["rules"]]==[(r["name"],r["evaluated"],r["failed"]) for r in b["rules"]] else 1)' "$T/n2" "$T/ns" \
  && ok "stdin gives the same counts" || bad "stdin counts differ"
ASSAY_NO_IO_URING=1 "$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 2 "$T/o.csv" | norm > "$T/np"
cmp -s "$T/n2" "$T/np" && ok "plain read() fallback gives the identical report" || bad "fallback report differs"

# 5. two files: rows add up, row numbers continue across files
head -n 1 "$T/o.csv" > "$T/h"
python3 - "$T/o.csv" "$T/a.csv" "$T/b.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
h, body = rows[0], rows[1:]
for path, part in ((sys.argv[2], body[:50000]), (sys.argv[3], body[50000:])):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n"); w.writerow(h); w.writerows(part)
PY
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW --threads 2 "$T/a.csv" "$T/b.csv" | norm > "$T/nab"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(0 if [(r["name"],r["evaluated"],r["failed"],[s["row"] for s in r["samples"]]) for r in a["rules"]]==[(r["name"],r["evaluated"],r["failed"],[s["row"] for s in r["samples"]]) for r in b["rules"]] else 1)' "$T/n2" "$T/nab" \
  && ok "two files: same counts and sample row numbers as one file" || bad "two-file run differs"

# 5b. rule samples: a reservoir over all failing rows (not the first ones), in row
# order, each with the byte offset where its row starts
python3 - "$T/o.csv" "$T/n2" <<'PY' && ok "rule samples: spread over the file, sorted, offsets point at their rows" || bad "rule samples wrong"
import csv, io, json, sys
data = open(sys.argv[1], "rb").read()
rows = list(csv.reader(io.StringIO(data.decode())))
d = json.load(open(sys.argv[2]))
checked = 0
for r in d["rules"]:
    s = r["samples"]
    if r["failed"] < 50 or "offset" not in (s[0] if s else {}):
        continue
    rn = [x["row"] for x in s]
    assert rn == sorted(rn), (r["name"], rn)
    assert len(s) == 5, (r["name"], s)
    # the first 5 failures would all sit in the first few percent of a 100k-row file
    assert max(rn) > len(rows) // 4, (r["name"], rn)
    for x in s:
        got = next(csv.reader(io.StringIO(data[x["offset"]:].decode())))
        assert got == rows[x["row"]], (r["name"], x, got)
    checked += 1
assert checked >= 2, checked
PY

# 6. clean data passes with exit 0
"$ASSAY" gen --rows 5000 --seed 3 --faults bad_email=0,null_email=0,negative_amount=0,bad_amount=0,bad_currency=0,duplicate_id=0,null_customer=0,bad_phone=0,stale=0,bad_timestamp=0,long_note=0 -o "$T/clean.csv"
"$ASSAY" check -c "$DATA/check.yaml" --now $NOW "$T/clean.csv" > "$T/clean.txt"
expect_eq "$?" 0 "clean data exits 0"
grep -q PASS "$T/clean.txt" && ok "text report says PASS" || bad "text report lacks PASS"

# 7. bad rows: reported with file:line and reason, counted, never fatal
printf 'order_id,customer_id,email,amount,currency,country,status,created_at,phone,note\n1,2,a@b.co,1.5,USD,US,paid,2026-11-01T00:00:00Z,+14155550123,ok\n2,3,x@y.io,2\n3,4,c@d.ee,3.0,EUR,DE,paid,2026-11-01T00:00:00Z,+4915155550123,"multi\nline"\n4,5,"broken,1.0,USD,US,paid,2026-11-01T00:00:00Z,+14155550123,x\n' > "$T/bad.csv"
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW "$T/bad.csv" > "$T/bad.json"
expect_eq "$?" 1 "bad rows make the check exit 1"
python3 - "$T/bad.json" <<'PY' && ok "bad rows: count 2, line 3 wrong field count, line 6 unterminated quote" || bad "bad row report wrong: $(cat $T/bad.json | head -c 600)"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["bad_rows"]
assert d["rows"] == 4, d["rows"]
assert b["count"] == 2, b
s = b["samples"]
assert s[0]["line"] == 3 and s[0]["row"] == 2 and "field" in s[0]["reason"], s[0]
assert s[1]["line"] == 6 and s[1]["row"] == 4 and "quote" in s[1]["reason"], s[1]
PY

# 8. errors: exit 2 with file:line:col and key
printf 'rules:\n  - {column: email, check: not_nul}\n' > "$T/badcfg.yaml"
"$ASSAY" check -c "$T/badcfg.yaml" "$T/clean.csv" 2> "$T/err.txt" >/dev/null
expect_eq "$?" 2 "bad config exits 2"
grep -q "badcfg.yaml:2:" "$T/err.txt" && grep -q "not_null" "$T/err.txt" && ok "config error names file:line and suggests not_null" || bad "config error message: $(cat $T/err.txt)"
printf 'rules:\n  - {column: emial, check: not_null}\n' > "$T/badcol.yaml"
"$ASSAY" check -c "$T/badcol.yaml" "$T/clean.csv" 2> "$T/err2.txt" >/dev/null
expect_eq "$?" 2 "unknown column exits 2"
grep -q "badcol.yaml:2:.*emial.*did you mean 'email'" "$T/err2.txt" && ok "unknown column error suggests the right one" || bad "column error: $(cat $T/err2.txt)"
"$ASSAY" check -c "$DATA/check.yaml" "$T/missing.csv" 2> "$T/err3.txt" >/dev/null
expect_eq "$?" 2 "missing input exits 2"
grep -q "missing.csv" "$T/err3.txt" && ok "missing input names the file" || bad "missing file error: $(cat $T/err3.txt)"
"$ASSAY" check --threads zero -c "$DATA/check.yaml" "$T/clean.csv" 2>/dev/null >/dev/null
expect_eq "$?" 2 "bad --threads exits 2"

# 9. profile: exact answers within the documented bounds, any thread count
"$ASSAY" profile --json --threads 2 "$T/o.csv" > "$T/p2.json"
expect_eq "$?" 0 "profile exits 0"
python3 "$ROOT/tests/exact_profile.py" "$T/o.csv" "$T/p2.json" && ok "profile matches an exact recount (counts, distinct, min/max, moments, quantiles, top values)" || bad "profile differs from the exact recount"
python3 - "$T/o.csv" "$T/dup.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerows(rows[:301] + rows[1:101])  # header, 300 rows, the first 100 again
PY
"$ASSAY" profile --json "$T/dup.csv" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["duplicate_rows"]==100 and d["rows"]==400 else 1)' \
  && ok "profile counts 100 repeated rows exactly" || bad "duplicate_rows wrong"
# outliers are only values strictly beyond the fences: with IQR = 0 (471 zeros, 35 ones)
# the fences are [0, 0] and the 35 ones are the outliers, not all 506 rows
python3 -c 'import random; random.seed(3); v=[0]*471+[1]*35; random.shuffle(v); print("flag"); print("\n".join(map(str, v)))' > "$T/zo.csv"
"$ASSAY" profile --json "$T/zo.csv" | python3 -c 'import json,sys; c=json.load(sys.stdin)["columns"][0]; sys.exit(0 if c["outliers"]==35 else "outliers %s" % c["outliers"])' \
  && ok "profile: IQR 0 counts only the values beyond the fences as outliers" || bad "outliers with IQR 0"
# the leading-zero rule (README): zip codes stay strings, 0 and 0.5 are numbers
printf 'zip,x\n01234,0.5\n02139,0\n10001,1.5\n94105,2\n' > "$T/zip.csv"
"$ASSAY" profile --json "$T/zip.csv" | python3 -c 'import json,sys; c=json.load(sys.stdin)["columns"]; t=[x["type"] for x in c]; sys.exit(0 if t==["string","float"] and c[0]["min"]=="01234" else "types %s" % t)' \
  && ok "profile: digit strings with a leading zero stay strings (zip codes)" || bad "leading-zero rule"
for t in 1 7; do
  "$ASSAY" profile --json --threads $t "$T/o.csv" > "$T/p$t.json"
done
python3 - "$T/p1.json" "$T/p2.json" "$T/p7.json" <<'PY' && ok "profile: same counts, distinct, min/max for 1, 2, 7 threads" || bad "profile differs between thread counts"
import json, sys
ps = [json.load(open(p)) for p in sys.argv[1:]]
keys = ("count", "nulls", "invalid", "distinct", "min", "max")
base = [[c.get(k) for k in keys] for c in ps[0]["columns"]]
for p in ps[1:]:
    if [[c.get(k) for k in keys] for c in p["columns"]] != base or p["duplicate_rows"] != ps[0]["duplicate_rows"]:
        sys.exit(1)
PY
"$ASSAY" profile "$T/o.csv" > "$T/p.txt" && grep -q "DISTINCT" "$T/p.txt" && grep -q "ISSUES" "$T/p.txt" \
  && ok "profile prints a table with issues" || bad "profile table"

"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW "$T/o.csv" > "$T/cp.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if all("distinct" in c and "quantiles" in c for c in d["columns"]) else 1)' "$T/cp.json" \
  && ok "check --json carries the per-column profile" || bad "check lacks the profile"
"$ASSAY" check -c "$DATA/check.yaml" --json --no-profile --now $NOW "$T/o.csv" > "$T/cn.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if not any("distinct" in c for c in d["columns"]) and d["rules"] else 1)' "$T/cn.json" \
  && ok "check --no-profile skips the profile" || bad "--no-profile"

# 9b. types from the whole input: an int column that needs floats later widens (and
# keeps every value), a float column of mostly whole numbers is float, a column null
# through the first 10,000 rows is typed by its values, integers beyond int64 stay
# text, int64 extremes are exact, inf/NaN are counted and kept out of the moments
python3 - "$T/ty.csv" <<'PY'
import random, sys
random.seed(3)
with open(sys.argv[1], 'w') as f:
    f.write('id,price,late_float,nullfirst,big,snow,x\n')
    for i in range(30000):
        price = str(random.randint(1, 100)) if random.random() < 0.95 else '%.1f' % (random.random() * 100)
        lf = str(random.randint(0, 50)) if i < 12000 else '%.2f' % (random.random() * 50)
        nf = '' if i < 10500 else str(random.randint(0, 1000))
        big = str(10**19 + random.randint(0, 10**18))
        snow = str(1234567890123456789 + 7 * i)
        x = ['1.5', 'inf', '-inf', 'nan', '2.5'][(i // 100) % 5] if i % 100 == 0 else '%.3f' % random.random()
        f.write(','.join([str(i), price, lf, nf, big, snow, x]) + '\n')
PY
"$ASSAY" profile --json "$T/ty.csv" > "$T/ty.json"
python3 - "$T/ty.csv" "$T/ty.json" <<'PY'
import csv, json, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = {c["name"]: c for c in json.load(open(sys.argv[2]))["columns"]}
fails = []
want = {"id": "int", "price": "float", "late_float": "float", "nullfirst": "int",
        "big": "string", "snow": "int", "x": "float"}
for k, t in want.items():
    if cols[k]["type"] != t:
        fails.append("%s typed %s, want %s" % (k, cols[k]["type"], t))
for k in ("price", "late_float", "x"):
    v = [float(r[k]) for r in rows if r[k] != "" and math.isfinite(float(r[k]))]
    m = sum(v) / len(v)
    if cols[k]["invalid"] != 0 or abs(cols[k]["mean"] - m) > 1e-9 * abs(m):
        fails.append("%s: invalid %s mean %s, exact mean %s" % (k, cols[k]["invalid"], cols[k]["mean"], m))
    if cols[k]["max"] != max(v) or cols[k]["min"] != min(v):
        fails.append("%s: min/max %s/%s, exact %s/%s" % (k, cols[k]["min"], cols[k]["max"], min(v), max(v)))
s = [int(r["snow"]) for r in rows]
if cols["snow"]["min"] != min(s) or cols["snow"]["max"] != max(s):
    fails.append("snow: min/max %s/%s, exact %s/%s" % (cols["snow"]["min"], cols["snow"]["max"], min(s), max(s)))
b = sorted(r["big"] for r in rows)
if cols["big"]["min"] != b[0] or cols["big"]["max"] != b[-1]:
    fails.append("big: min/max %s/%s, exact %s/%s" % (cols["big"]["min"], cols["big"]["max"], b[0], b[-1]))
nf = cols["x"].get("non_finite", {})
if nf != {"nan": 60, "inf": 60, "-inf": 60} or "non_finite" not in [i["issue"] for i in cols["x"]["issues"]]:
    fails.append("x: non_finite %s" % nf)
if any(cols["x"]["quantiles"][q] is None for q in cols["x"]["quantiles"]):
    fails.append("x: quantiles %s" % cols["x"]["quantiles"])
for f in fails:
    print("  " + f)
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] && ok "types from the whole input: widening, nulls first, big ints, exact int64 extremes, inf/NaN" || bad "types from the whole input"
# a rule on a widened column judges its float values as floats, against a recount
printf 'rules:\n  - {column: late_float, check: in_range, min: 0, max: 40}\n' > "$T/ty.yaml"
"$ASSAY" check --json -c "$T/ty.yaml" "$T/ty.csv" > "$T/tyc.json"
want=$(python3 -c "import csv,sys; print(sum(1 for r in csv.DictReader(open(sys.argv[1])) if not 0 <= float(r['late_float']) <= 40))" "$T/ty.csv")
got=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rules'][0]['failed'])" "$T/tyc.json")
expect_eq "$got" "$want" "in_range on a widened column counts its float values exactly"

# 9b'. the profile flags columns holding text that usually means null, until it is declared
printf 'id,amount,name\n1,10,a\n2,NA,b\n3,"NA",c\n4,,d\n5,3,N/A\n' > "$T/nt.csv"
for i in $(seq 6 40); do echo "$i,$i,x$i" >> "$T/nt.csv"; done
got=$("$ASSAY" profile --json "$T/nt.csv" | python3 -c "
import json, sys
c = {x['name']: x for x in json.load(sys.stdin)['columns']}
print(c['amount'].get('null_tokens'), c['name'].get('null_tokens'), c['id'].get('null_tokens'),
      'null_tokens' in [i['issue'] for i in c['amount']['issues']])")
expect_eq "$got" "2 1 None True" "profile counts NA / N/A as null_tokens per column and raises the issue"
got=$("$ASSAY" profile --json --null-values NA,N/A "$T/nt.csv" | python3 -c "
import json, sys
c = {x['name']: x for x in json.load(sys.stdin)['columns']}
print(c['amount']['nulls'], c['amount'].get('null_tokens'), [i['issue'] for i in c['amount']['issues']])")
expect_eq "$got" "3 None []" "declared null tokens are nulls, and the issue goes away"

# 9c. a row with invalid UTF-8 in a column no rule reads is bad with and without the
# profile, with the same reason
python3 -c "
import sys
with open(sys.argv[1], 'wb') as f:
    f.write(b'a,b,c\n')
    for i in range(1000):
        f.write(b'%d,%s,z\n' % (i, b'\"x\xff\xfey\"' if i % 137 == 0 else b'ok'))
" "$T/u8.csv"
printf 'rules:\n  - {column: a, check: not_null}\n' > "$T/u8.yaml"
"$ASSAY" check --json -c "$T/u8.yaml" "$T/u8.csv" > "$T/u8a.json"
"$ASSAY" check --json --no-profile -c "$T/u8.yaml" "$T/u8.csv" > "$T/u8b.json"
got=$(python3 -c "
import json, sys
r = [json.load(open(p))['bad_rows'] for p in sys.argv[1:]]
print(*[x['count'] for x in r], *sorted({s['reason'] for x in r for s in x['samples']}), sep='|')" "$T/u8a.json" "$T/u8b.json")
expect_eq "$got" "8|8|invalid UTF-8 in column 'b' at byte 1 of the value" "invalid UTF-8 in an unread column: the same bad rows and reason with and without the profile"

# 9d. the profile table fits the terminal: 80 columns (and a wider one) with long
# names and values cut with an ellipsis, the whole values in --json; bad rows are
# listed with file:line and reason; an input where no row parses is an error
python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    f.write('a_column_name_that_goes_on_and_on_for_a_while,v,t\n')
    for i in range(200):
        f.write('%d,%s,2026-01-01T00:00:%02dZ\n' % (i, 'x' * (50 + i % 7) + 'é', i % 60))
    f.write('1,2\n')
" "$T/wide.csv"
for w in 80 132; do
  COLUMNS=$w "$ASSAY" profile "$T/wide.csv" > "$T/wide$w.txt"
  longest=$(python3 -c "import sys; print(max(len(l.rstrip('\n')) for l in open(sys.argv[1], encoding='utf-8')))" "$T/wide$w.txt")
  [ "$longest" -le "$w" ] && grep -q "a_column.*…" "$T/wide$w.txt" && ok "profile table fits $w columns (longest line $longest), cut with …" || bad "profile table at $w columns: longest $longest $(cat "$T/wide$w.txt")"
done
grep -q "wide.csv:202: wrong field count" "$T/wide80.txt" && ok "profile lists bad rows with file:line and reason" || bad "profile bad rows: $(cat "$T/wide80.txt")"
"$ASSAY" profile --json "$T/wide.csv" | grep -q '"name":"a_column_name_that_goes_on_and_on_for_a_while"' && ok "--json keeps the whole name" || bad "--json name"
printf 'a,b\n1\n2\n' > "$T/none.csv"
"$ASSAY" profile "$T/none.csv" > /dev/null 2> "$T/none.err"; rc=$?
[ $rc -eq 2 ] && grep -q "no row of the input parsed.*none.csv:2: wrong field count.*delimiter" "$T/none.err" && ok "an input where no row parses exits 2 with the likely cause" || bad "no row parsed: rc $rc $(cat "$T/none.err")"

# 10. suggested rules: pass on the data they came from, fail on data with more faults
"$ASSAY" gen --rows 50000 --seed 21 -o "$T/s.csv"
"$ASSAY" profile --suggest-rules "$T/s.csv" > "$T/suggested.yaml"
expect_eq "$?" 0 "--suggest-rules exits 0"
"$ASSAY" check -c "$T/suggested.yaml" "$T/s.csv" > "$T/s1.txt"
expect_eq "$?" 0 "suggested rules pass on the data they were suggested from"
grep -q "check: in_set" "$T/suggested.yaml" && grep -q "check: unique" "$T/suggested.yaml" && grep -q "format: email" "$T/suggested.yaml" \
  && ok "suggestions include in_set, unique and a named format" || bad "suggestions incomplete: $(grep -c check: $T/suggested.yaml) rules"
"$ASSAY" gen --rows 50000 --seed 22 --faults bad_email=0.1,negative_amount=0.05,bad_currency=0.05,duplicate_id=0.1 -o "$T/sf.csv"
"$ASSAY" check -c "$T/suggested.yaml" "$T/sf.csv" > "$T/s2.txt"
expect_eq "$?" 1 "suggested rules fail on data generated with faults"
# unique is suggested from exact repeat counts: threshold 0 (none written) for a column
# where no value repeats, the exact repeat share rounded up for a near-unique one
python3 - "$T/s.csv" "$T/suggested.yaml" "$T/ty.csv" <<'PY'
import csv, math, re, sys
fails = []
def repeats(path, col):
    seen, rep, n = set(), 0, 0
    for r in csv.DictReader(open(path, newline="")):
        v = r.get(col)
        if v is None or v == "":
            continue
        n += 1
        rep += v in seen
        seen.add(v)
    return rep, n
text = open(sys.argv[2]).read()
for m in re.finditer(r"- \{column: '([^']+)', check: unique(?:, threshold: ([0-9.]+))?\}", text):
    col, thr = m.group(1), m.group(2)
    rep, n = repeats(sys.argv[1], col)
    want = None if rep == 0 else math.ceil(rep / n * 1000 - 1e-9) / 1000
    if (thr is None) != (want is None) or (thr is not None and abs(float(thr) - want) > 1e-12):
        fails.append("%s: unique threshold %s, exact repeats %d of %d" % (col, thr, rep, n))
for f in fails:
    print("  " + f)
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] && ok "suggested unique thresholds match exact repeat counts" || bad "suggested unique thresholds"
"$ASSAY" profile --suggest-rules "$T/ty.csv" > "$T/tys.yaml"
grep -q "column: 'id', check: unique}" "$T/tys.yaml" && grep -q "column: 'snow', check: unique}" "$T/tys.yaml" \
  && ok "a column with no repeats gets unique with threshold 0" || bad "unique without repeats: $(grep unique "$T/tys.yaml")"

# 11. bench: in-memory and file input, a thread sweep, stages that add up
"$ASSAY" bench --rows 20k --threads 1,2 --repeat 2 --json > "$T/b.json"
expect_eq "$?" 0 "bench exits 0"
python3 - "$T/b.json" <<'PY' && ok "bench --json: two sweeps of 20,000 rows with stage times" || bad "bench json: $(head -c 300 $T/b.json)"
import json, sys
d = json.load(open(sys.argv[1]))
runs = d["runs"]
assert [r["threads"] for r in runs] == [1, 2], runs
for r in runs:
    assert r["rows"] == 20000 and r["bytes"] > 1000000, r
    assert 0 < r["seconds_min"] <= r["seconds_median"], r
    st = r["stages"]
    assert set(st) == {"read", "frame+split", "parse", "rules", "sketches", "anomaly", "merge"}, st
    assert all(v["seconds"] >= 0 for v in st.values())
    assert st["frame+split"]["seconds"] > 0 and st["rules"]["seconds"] > 0 and st["sketches"]["seconds"] > 0
    assert st["anomaly"]["seconds"] > 0, st
assert runs[0]["speedup"] == 1
PY
"$ASSAY" bench --threads 2 --repeat 1 --no-profile -c "$DATA/check.yaml" "$T/o.csv" > "$T/b.txt"
expect_eq "$?" 0 "bench on a file with a config exits 0"
grep -q "ROWS/S" "$T/b.txt" && grep -q "frame+split" "$T/b.txt" && ok "bench prints the table and stages" || bad "bench table: $(cat $T/b.txt)"
"$ASSAY" bench --threads 1,x 2>/dev/null; expect_eq "$?" 2 "bench rejects a bad thread list"
# bench --run: assay run next to check on the same generated rows, 100 rows per second
# of event time (20,000 rows = 200 s = four 60 s windows), checkpoints with --state
"$ASSAY" bench --rows 20k --threads 1,2 --repeat 2 --run --rate 100 --state "$T/bstate" --json > "$T/br.json"
expect_eq "$?" 0 "bench --run exits 0"
python3 - "$T/br.json" <<'PY' && ok "bench --run --json: run times, four windows, checkpoints and peak RSS for each thread count" || bad "bench --run json: $(head -c 400 $T/br.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["peak_rss_bytes"] > 1 << 20, d.get("peak_rss_bytes")
for r in d["runs"]:
    run = r["run"]
    assert 0 < run["seconds_min"] <= run["seconds_median"], run
    assert abs(run["run_over_check"] - r["seconds_min"] / run["seconds_min"]) < 1e-9, run
    assert run["windows"] == 4, run
    assert run["checkpoints"] >= 2 and run["checkpoint_bytes_max"] > 0 and run["checkpoint_seconds"] > 0, run
PY
"$ASSAY" bench --rows 20k --threads 2 --repeat 1 --run --rate 100 > "$T/br.txt"
grep -q "RUN/CHECK" "$T/br.txt" && grep -q "peak RSS" "$T/br.txt" && ok "bench --run prints the run table" || bad "bench --run table: $(cat $T/br.txt)"

# 12. anomaly scores: the isolation forest through check, --row-scores, determinism
python3 - "$T/an.csv" "$T/an.labels" <<'PY'
import random, sys
rnd = random.Random(11)
centres = [(0, 0, 0, 0), (6, -4, 2, 8), (-5, 5, -6, 1)]
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as lab:
    out.write("id,f0,f1,f2,f3,kind\n")
    for i in range(1, 30001):
        if rnd.random() < 0.01:   # scattered: far from every cluster
            while True:
                v = [rnd.uniform(-14, 14) for _ in range(4)]
                if min(sum((a - b) ** 2 for a, b in zip(v, c)) for c in centres) > 36:
                    break
            y = 1
        else:
            c = rnd.choice(centres)
            v = [rnd.gauss(m, 1.0) for m in c]
            y = 0
        cells = ["%.4f" % x for x in v]
        if i % 997 == 0:
            cells[i % 4] = ""           # null: imputed with the window median
        if i == 20000:
            cells[1] = "abc"            # not a number: imputed too
        if i == 25000:
            out.write("%d,1,2\n" % i)  # bad row: no score
            lab.write("0\n")
            continue
        out.write("%d,%s,%s\n" % (i, ",".join(cells), "x"))
        lab.write("%d\n" % y)
PY
printf 'asset: an\nanomaly: {columns: [f0, f1, f2, f3], contamination: 0.01}\n' > "$T/an.yaml"
"$ASSAY" check -c "$T/an.yaml" --json --threads 1 --row-scores "$T/s1.csv" "$T/an.csv" > "$T/an1.json"
expect_eq "$?" 1 "check with anomaly detection exits 1 on a bad row"
python3 - "$T/an.csv" "$T/an.labels" "$T/s1.csv" "$T/an1.json" <<'PY' && ok "row scores: one line per row, AUC >= 0.95, bad row unscored, samples are the top scores" || bad "anomaly scores wrong"
import json, sys
rows = open(sys.argv[1]).read().split("\n")[1:-1]
labels = [int(l) for l in open(sys.argv[2])]
lines = open(sys.argv[3]).read().split("\n")[:-1]
rep = json.load(open(sys.argv[4]))
a = rep["anomalies"]
assert len(lines) == len(rows) == rep["rows"] == 30000, (len(lines), len(rows))
scores = []
for k, line in enumerate(lines, 1):
    r, s = line.split(",")
    assert int(r) == k, line
    scores.append(float(s) if s else None)
assert all(s is None for s in scores[:2048]), "scored before the window filled"
assert all(s is not None for s in scores[2049:24999]), "a row after the window has no score"
assert scores[24999] is None, "the bad row got a score"
assert scores[19999] is not None, "the row with 'abc' got no score"
assert a["scored"] == sum(s is not None for s in scores), a
assert a["scored"] + a["not_ready"] == rep["rows"] - rep["bad_rows"]["count"], a
assert a["judged"] == a["scored"] - 1024, a   # one shard: flags start after 1024 scores
assert abs(a["rate"] - a["count"] / a["judged"]) < 1e-12, a
assert a["columns"] == ["f0", "f1", "f2", "f3"] and a["trees"] == 100 and a["sample"] == 256
# ROC AUC on the scored rows (Mann-Whitney, ties count half)
pairs = sorted((s, y) for s, y in zip(scores, labels) if s is not None)
pos = sum(y for _, y in pairs); neg = len(pairs) - pos
rank_sum, i = 0.0, 0
while i < len(pairs):
    j = i
    while j < len(pairs) and pairs[j][0] == pairs[i][0]:
        j += 1
    rank_sum += (i + j + 1) / 2 * sum(y for _, y in pairs[i:j])
    i = j
auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
print("AUC %.4f, %d flagged of %d (%.2f%%)" % (auc, a["count"], a["scored"], 100 * a["rate"]))
assert auc >= 0.95, auc
assert 0.004 <= a["rate"] <= 0.03, a["rate"]
flagged_true = sum(1 for s, y in zip(scores, labels) if s is not None and y and s > a["threshold"])
assert flagged_true >= 0.6 * sum(y for s, y in zip(scores, labels) if s is not None), flagged_true
# samples: the highest scores, in order, with the row's own values
smp = a["samples"]
assert len(smp) == 5, smp
top = sorted((s for s in scores if s is not None), reverse=True)[:5]
assert [round(x["score"], 6) for x in smp] == [round(x, 6) for x in top], (smp, top)
for x in smp:
    assert abs(scores[x["row"] - 1] - x["score"]) < 1e-6, x
    cells = rows[x["row"] - 1].split(",")
    for k in range(4):
        want = float(cells[k + 1]) if cells[k + 1] not in ("", "abc") else None
        assert x["values"]["f%d" % k] == want, (x, cells)
assert sum(labels[x["row"] - 1] for x in smp) >= 4, smp
PY
"$ASSAY" check -c "$T/an.yaml" --threads 2 --row-scores "$T/s2a.csv" "$T/an.csv" > "$T/an2.txt"
"$ASSAY" check -c "$T/an.yaml" --threads 2 --row-scores "$T/s2b.csv" "$T/an.csv" > /dev/null
cmp -s "$T/s2a.csv" "$T/s2b.csv" && ok "row scores are identical run to run at 2 threads" || bad "row scores differ between runs"
grep -q "ANOMALIES" "$T/an2.txt" && grep -q "rows above the threshold" "$T/an2.txt" && ok "text report has the anomaly section" || bad "anomaly text: $(cat $T/an2.txt)"
"$ASSAY" check -c "$T/an.yaml" --threads 1 --row-scores - "$T/an.csv" > "$T/s1o.csv" 2> "$T/an1.txt"
cmp -s "$T/s1o.csv" "$T/s1.csv" && grep -q ANOMALIES "$T/an1.txt" && ok "--row-scores - writes the scores to stdout, the report to stderr" || bad "--row-scores - differs"
printf 'anomaly:\n  columns: [f0, f9]\n' > "$T/anbad.yaml"
"$ASSAY" check -c "$T/anbad.yaml" "$T/an.csv" 2> "$T/e.txt"; rc=$?
expect_eq "$rc" 2 "unknown anomaly column exits 2"
grep -q "anbad.yaml:2:17: anomaly.columns: no column 'f9'" "$T/e.txt" && ok "unknown anomaly column named with file:line:col" || bad "anomaly column error: $(cat $T/e.txt)"
printf 'anomaly: {columns: [f0, kind]}\n' > "$T/anstr.yaml"
"$ASSAY" check -c "$T/anstr.yaml" "$T/an.csv" 2> "$T/e.txt"; rc=$?
expect_eq "$rc" 2 "string anomaly column exits 2"
grep -q "column 'kind' is string" "$T/e.txt" && ok "string anomaly column is explained" || bad "string column error: $(cat $T/e.txt)"
printf 'asset: x\n' > "$T/anoff.yaml"
"$ASSAY" check -c "$T/anoff.yaml" --row-scores "$T/x.csv" "$T/an.csv" 2> "$T/e.txt"; rc=$?
expect_eq "$rc" 2 "--row-scores without anomaly.columns exits 2"
if [ -w /dev/full ]; then
  "$ASSAY" check -c "$T/an.yaml" --row-scores /dev/full "$T/an.csv" > /dev/null 2> "$T/e.txt"; rc=$?
  expect_eq "$rc" 2 "--row-scores on a full device exits 2"
  grep -q "row scores.*No space left on device" "$T/e.txt" && ok "--row-scores write error names the cause" || bad "row-scores write error: $(cat $T/e.txt)"
fi

# 13. forests belong to partitions: the same row scores for any --threads (many chunks)
{ cat "$T/an.yaml"; printf 'limits: {read_buffer: 64KiB}\n'; } > "$T/an64.yaml"
for t in 1 2 3; do
  "$ASSAY" check -c "$T/an64.yaml" --threads $t --row-scores "$T/p$t.csv" "$T/an.csv" > /dev/null
done
cmp -s "$T/p1.csv" "$T/p2.csv" && cmp -s "$T/p1.csv" "$T/p3.csv" \
  && ok "row scores are identical for 1, 2 and 3 threads (forests per partition, not per shard)" \
  || bad "row scores depend on the number of threads"

# 14. unique: repeats across chunks and shards have their values, from a pipe too; the
# memory cap is per rule and window, the same for any --threads, and says its size
python3 - "$T/ids.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("id,pad\n")
    for i in range(40000):
        f.write("id-%06d,%s\n" % (i, "x" * 40))
    for i in range(0, 40000, 997):          # repeats of early ids, in later chunks
        f.write("id-%06d,again\n" % i)
PY
printf 'limits: {read_buffer: 64KiB, samples: 3}\nrules:\n  - {column: id, check: unique}\n' > "$T/u.yaml"
cat "$T/ids.csv" | "$ASSAY" check -c "$T/u.yaml" --json --threads 2 - > "$T/u.json"
python3 - "$T/u.json" <<'PY' && ok "unique from a pipe at 2 threads: exact repeats, samples with their values" || bad "unique samples on a pipe: $(head -c 400 $T/u.json)"
import json, sys
r = json.load(open(sys.argv[1]))["rules"][0]
assert r["evaluated"] == 40000 + 41 and r["failed"] == 41, r
assert [s["value"] for s in r["samples"]] == ["id-000000", "id-000997", "id-001994"], r["samples"]
assert [s["row"] for s in r["samples"]] == [40001, 40002, 40003], r["samples"]
PY
printf 'limits: {read_buffer: 64KiB, unique_memory: 64KiB}\nrules:\n  - {column: id, check: unique}\n' > "$T/ucap.yaml"
for t in 1 2 7; do
  "$ASSAY" check -c "$T/ucap.yaml" --json --threads $t "$T/ids.csv" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["rules"][0]; print(r["evaluated"], r["failed"], r.get("note"))' > "$T/ucap$t.txt"
done
cmp -s "$T/ucap1.txt" "$T/ucap2.txt" && cmp -s "$T/ucap1.txt" "$T/ucap7.txt" \
  && ok "a capped unique set gives the same counts for 1, 2 and 7 threads" || bad "capped unique depends on threads: $(cat $T/ucap*.txt)"
grep -q "limits.unique_memory (64 KiB) reached after 3072 distinct values" "$T/ucap1.txt" \
  && grep -q "^40041 4 " "$T/ucap1.txt" \
  && ok "the cap's note says 64 KiB; repeats of the values it holds still count" || bad "unique cap note: $(cat $T/ucap1.txt)"

# 15. the config reference in docs/ is the one the binary prints
"$ASSAY" help config | cmp -s - "$ROOT/docs/config.md" \
  && ok "docs/config.md is what 'assay help config' prints" || bad "docs/config.md is stale: run 'build/src/assay help config > docs/config.md'"

# 16. compressed input: a .gz, a .zst, concatenated gzip members and compressed stdin
# give the report of the plain file; the format comes from the inner extension; a
# truncated file is an error naming it and the decompressed offset
znorm() { python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k,None) for k in ("seconds","files")]; print(json.dumps(d,sort_keys=True))'; }
zsame() { [ -s "$1" ] && cmp -s "$1" "$2"; }
python3 - "$T/o.csv" <<'PY'
import gzip, sys
d = open(sys.argv[1], "rb").read()
cut = d.index(b"\n", len(d) // 2) + 3          # the second member starts inside a row
open(sys.argv[1] + ".gz", "wb").write(gzip.compress(d, 6))
open(sys.argv[1] + ".2.gz", "wb").write(gzip.compress(d[:cut], 1) + gzip.compress(d[cut:], 9))
open(sys.argv[1] + ".cut.gz", "wb").write(gzip.compress(d, 6)[:200000])
PY
"$ASSAY" profile --json "$T/o.csv" | znorm > "$T/zp_plain.json"
"$ASSAY" profile --json "$T/o.csv.gz" | znorm > "$T/zp_gz.json"
zsame "$T/zp_plain.json" "$T/zp_gz.json" && ok "profile of x.csv.gz is the profile of x.csv" || bad "profile of x.csv.gz differs"
"$ASSAY" profile --json "$T/o.csv.2.gz" | znorm > "$T/zp_gz2.json"
zsame "$T/zp_plain.json" "$T/zp_gz2.json" && ok "two gzip members: the profile of the whole file" || bad "multi-member gzip profile differs"
ASSAY_NO_IO_URING=1 "$ASSAY" profile --json - < "$T/o.csv.gz" | znorm > "$T/zp_stdin.json"
zsame "$T/zp_plain.json" "$T/zp_stdin.json" && ok "gzip on stdin (read(2)): the same profile" || bad "gzip stdin profile differs"
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW "$T/o.csv.gz" | norm > "$T/zc_gz.json"
expect_eq "${PIPESTATUS[0]}" 1 "check of x.csv.gz exits 1 like x.csv"
"$ASSAY" check -c "$DATA/check.yaml" --json --now $NOW "$T/o.csv" | norm > "$T/zc_plain.json"
zsame "$T/zc_plain.json" "$T/zc_gz.json" && ok "check of x.csv.gz reports what x.csv does" || bad "check of x.csv.gz differs"
if command -v zstd >/dev/null; then
  zstd -q -3 -c "$T/o.csv" > "$T/o.csv.zst"
  "$ASSAY" profile --json "$T/o.csv.zst" | znorm > "$T/zp_zst.json"
  zsame "$T/zp_plain.json" "$T/zp_zst.json" && ok "profile of x.csv.zst is the profile of x.csv" || bad "profile of x.csv.zst differs"
  zstd -q -c "$T/o.ndjson" > "$T/o.ndjson.zst"
  "$ASSAY" profile --json "$T/o.ndjson.zst" > "$T/zp_nj.json"
  "$ASSAY" profile --json "$T/o.ndjson" | znorm > "$T/zp_nj_plain.json"
  grep -q '"format":"ndjson"' "$T/zp_nj.json" && znorm < "$T/zp_nj.json" > "$T/zp_nj_n.json" && zsame "$T/zp_nj_n.json" "$T/zp_nj_plain.json" \
    && ok "x.ndjson.zst is read as NDJSON (the inner extension) with x.ndjson's profile" || bad "x.ndjson.zst: $(head -c 200 $T/zp_nj.json)"
else
  bad "zstd (the command) is not installed: tools/install-deps.sh"
fi
"$ASSAY" profile --json "$T/o.csv.cut.gz" > /dev/null 2> "$T/zcut.err"
expect_eq "$?" 2 "a truncated .gz exits 2"
grep -q "o.csv.cut.gz: truncated gzip data after [0-9]* decompressed bytes" "$T/zcut.err" \
  && ok "the truncated .gz error names the file and the offset" || bad "truncated .gz: $(cat $T/zcut.err)"

# ---------------------------------------------------------------------------------
# 17. input a user expects: null tokens, delimiters, comment lines, other encodings
# 17a. null tokens: NA (quoted or not) is null with --null-values / source.null_values,
# a value (failing the type rule) without
printf 'id,amount,name\n1,10,a\n2,NA,b\n3,"NA",c\n4,,d\n' > "$T/na.csv"
printf 'columns: [{name: amount, type: int}]\nrules:\n  - {column: amount, check: not_null}\n  - {column: amount, check: type}\n' > "$T/na.yaml"
na_counts() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join("%s=%d" % (r["name"], r["failed"]) for r in d["rules"]), "nulls=%d" % [c for c in d["columns"] if c["name"]=="amount"][0]["nulls"])'; }
"$ASSAY" check -c "$T/na.yaml" --json "$T/na.csv" | na_counts > "$T/na0.txt"
expect_eq "$(cat "$T/na0.txt")" "amount_not_null=1 amount_type=2 nulls=1" "without null tokens NA is a value (2 type failures, 1 null)"
"$ASSAY" check -c "$T/na.yaml" --json --null-values NA,N/A "$T/na.csv" | na_counts > "$T/na1.txt"
expect_eq "$(cat "$T/na1.txt")" "amount_not_null=3 amount_type=0 nulls=3" "--null-values NA makes NA and \"NA\" null (not_null fails, type skips them)"
printf 'source: {null_values: [NA]}\ncolumns: [{name: amount, type: int}]\nrules:\n  - {column: amount, check: not_null}\n  - {column: amount, check: type}\n' > "$T/na2.yaml"
"$ASSAY" check -c "$T/na2.yaml" --json "$T/na.csv" | na_counts > "$T/na2.txt"
expect_eq "$(cat "$T/na2.txt")" "amount_not_null=3 amount_type=0 nulls=3" "source.null_values: [NA] does the same"
"$ASSAY" profile --json --null-values NA "$T/na.csv" | python3 -c 'import json,sys; print([c["nulls"] for c in json.load(sys.stdin)["columns"]])' > "$T/na3.txt"
expect_eq "$(cat "$T/na3.txt")" "[0, 3, 0]" "profile --null-values counts NA as null"
printf '{"id":1,"amount":"NA"}\n{"id":2,"amount":null}\n{"id":3,"amount":5}\n' > "$T/na.ndjson"
"$ASSAY" profile --json --null-values NA "$T/na.ndjson" | python3 -c 'import json,sys; print([c["nulls"] for c in json.load(sys.stdin)["columns"]])' > "$T/na4.txt"
expect_eq "$(cat "$T/na4.txt")" "[0, 2]" "NDJSON: the string \"NA\" is null when listed, JSON null always"
"$ASSAY" check -c "$T/na.yaml" --null-values "$(printf 'x%.0s' $(seq 70))" "$T/na.csv" 2> "$T/na5.err"
expect_eq "$?" 2 "a too long --null-values token exits 2"
grep -q "assay check: --null-values: null value 'xxxxxxxxxxxxxxxxxxxx...' is longer than 63 bytes" "$T/na5.err" && ok "the --null-values error says why" || bad "null-values error: $(cat "$T/na5.err")"
# 17b. NDJSON bad-row reasons name the column, the key that is not one, or the row
printf '{"a":1}\n{"a":2,"zz":"\xff"}\n{"a":3,"b":tru}\n{"a":1} x\n' > "$T/why.ndjson"
printf 'columns: [{name: b, type: bool}]\nrules:\n  - {column: a, check: not_null}\n' > "$T/why.yaml"
"$ASSAY" check -c "$T/why.yaml" --json "$T/why.ndjson" | python3 -c 'import json,sys; [print(s["reason"]) for s in json.load(sys.stdin)["bad_rows"]["samples"]]' > "$T/why.txt"
expect_eq "$(cat "$T/why.txt")" "invalid UTF-8 at byte 13 (in key 'zz', not a column)
JSON syntax error at byte 14 (in column 'b'): invalid literal (expected true, false or null)
JSON syntax error at byte 8 (in the row): text after the JSON object" "NDJSON bad-row reasons name the key, the column or the row"
# 17c. a closed stdin is named as such (exit 2), not "Invalid argument"
"$ASSAY" check -c "$T/na.yaml" - <&- > /dev/null 2> "$T/stdin.err"
expect_eq "$?" 2 "check - with stdin closed exits 2"
grep -q "^assay check: stdin is closed, so input '-' cannot be read" "$T/stdin.err" && ok "the error names stdin" || bad "closed stdin: $(cat "$T/stdin.err")"
"$ASSAY" profile - <&- > /dev/null 2> "$T/stdin2.err"
[ $? -eq 2 ] && grep -q "^assay profile: stdin is closed" "$T/stdin2.err" && ok "profile - with stdin closed exits 2 naming stdin" || bad "profile closed stdin: $(cat "$T/stdin2.err")"
# 17d. UTF-16, lone-CR line ends and a JSON array are refused (exit 2) with the command
# that converts them; the messages show no raw control bytes
printf 'id,amount\n1,2\n' | iconv -f UTF-8 -t UTF-16 > "$T/u16.csv"
"$ASSAY" profile "$T/u16.csv" > /dev/null 2> "$T/u16.err"
expect_eq "$?" 2 "a UTF-16 file exits 2"
grep -q "u16.csv looks like UTF-16 (little endian); assay reads UTF-8: convert it with iconv -f UTF-16 -t UTF-8" "$T/u16.err" && ok "the UTF-16 error names the file and iconv" || bad "utf-16: $(cat "$T/u16.err")"
printf 'id,amount\n1,2\n' | iconv -f UTF-8 -t UTF-16BE > "$T/u16be.csv"
"$ASSAY" check -c "$T/na.yaml" "$T/na.csv" "$T/u16be.csv" > /dev/null 2> "$T/u16be.err"
[ $? -eq 2 ] && grep -q "u16be.csv looks like UTF-16 (big endian)" "$T/u16be.err" && ok "a later file in UTF-16 (no BOM) is refused too" || bad "utf-16be: $(cat "$T/u16be.err")"
printf 'id,amount\r1,2\r3,4\r' > "$T/cr.csv"
"$ASSAY" profile "$T/cr.csv" > /dev/null 2> "$T/cr.err"
expect_eq "$?" 2 "a file with lone-CR line ends exits 2"
grep -q "cr.csv:1: lines end with a carriage return alone (\\\\r, classic Mac OS line ends).*tr '\\\\r' '\\\\n'" "$T/cr.err" && ! grep -q $'\r' "$T/cr.err" && ok "the lone-CR error says how to convert, with no raw CR" || bad "lone CR: $(cat -A "$T/cr.err")"
printf '[\n  {"id": 1},\n  {"id": 2}\n]\n' > "$T/arr.json"
"$ASSAY" profile "$T/arr.json" > /dev/null 2> "$T/arr.err"
expect_eq "$?" 2 "a JSON array file exits 2"
grep -q "arr.json:1: this file is one JSON array; assay reads one object per line (NDJSON): convert it with jq -c '.\[\]'" "$T/arr.err" && ok "the JSON array error gives the jq command" || bad "json array: $(cat "$T/arr.err")"
# 17e. delimiters: .tsv is tab-separated by default, --delimiter overrides, and a
# header of one field holding another separator gives a hint (a warning; with a rule
# on a missing column, the config error carries it)
printf 'id\tamount\n1\t2\n3\t4\n' > "$T/t.tsv"
cols() { python3 -c 'import json,sys; print(",".join(c["name"] for c in json.load(sys.stdin)["columns"]))'; }
expect_eq "$("$ASSAY" profile --json "$T/t.tsv" | cols)" "id,amount" ".tsv files are tab-separated by default"
cp "$T/t.tsv" "$T/t.csv"
expect_eq "$("$ASSAY" profile --json --delimiter tab "$T/t.csv" | cols)" "id,amount" "--delimiter tab on a .csv"
expect_eq "$("$ASSAY" profile --json --delimiter '\t' "$T/t.csv" | cols)" "id,amount" "--delimiter '\\t' is a tab too"
printf 'id;amount\n1;2\n' > "$T/semi.csv"
"$ASSAY" profile "$T/semi.csv" > /dev/null 2> "$T/semi.err"
expect_eq "$?" 0 "a one-column CSV is legal (exit 0)"
grep -q "^assay profile: warning: $T/semi.csv:1: every row has one field; the header contains semicolons: try --delimiter ';'" "$T/semi.err" && ok "the warning names the delimiter to try" || bad "delimiter hint: $(cat "$T/semi.err")"
"$ASSAY" check -c "$T/na.yaml" "$T/semi.csv" > /dev/null 2> "$T/semi2.err"
[ $? -eq 2 ] && grep -q "columns: no column 'amount' in the data; $T/semi.csv:1: every row has one field; the header contains semicolons: try --delimiter ';'" "$T/semi2.err" && ok "a missing column's error carries the delimiter hint" || bad "delimiter hint in error: $(cat "$T/semi2.err")"
expect_eq "$("$ASSAY" check -c "$T/na.yaml" --json --delimiter ';' "$T/semi.csv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])')" 1 "--delimiter ';' reads it"
"$ASSAY" profile --delimiter '"' "$T/semi.csv" > /dev/null 2> "$T/semi3.err"
[ $? -eq 2 ] && grep -q "assay profile: --delimiter: '\"' is the quote character" "$T/semi3.err" && ok "--delimiter equal to the quote exits 2" || bad "delimiter = quote: $(cat "$T/semi3.err")"
# 17f. comment lines: skipped (not rows, not bad rows), counted, line numbers kept
printf '# exported by x, "odd quote\nid,amount\n1,2\n# note "\n3,4,5\n#x\n' > "$T/cm.csv"
printf 'source: {comment: "#"}\nrules: [{column: amount, check: not_null}]\n' > "$T/cm.yaml"
"$ASSAY" check -c "$T/cm.yaml" --json "$T/cm.csv" 2> "$T/cm.err" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["rows"], [(s["line"], s["reason"]) for s in d["bad_rows"]["samples"]])' > "$T/cm.txt"
expect_eq "$(cat "$T/cm.txt")" "2 [(5, 'wrong field count: expected 2, found 3')]" "source.comment skips comment lines; a bad row keeps its line number"
grep -q "^assay check: 3 comment lines skipped (source.comment '#'): not rows" "$T/cm.err" && ok "skipped comment lines are counted" || bad "comment count: $(cat "$T/cm.err")"
expect_eq "$("$ASSAY" profile --json --comment '#' "$T/cm.csv" 2>/dev/null | cols)" "id,amount" "--comment '#' finds the header after comments"
printf '# c\n{"id":1}\n#{"id":2}\n{"id":3}\n' > "$T/cm.ndjson"
expect_eq "$("$ASSAY" profile --json --comment '#' "$T/cm.ndjson" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["rows"], d["bad_rows"])')" "2 0" "NDJSON comment lines are skipped too"
# 16g. column names from the data are shown escaped in messages (no raw CR)
printf '"a\rb",c\n1,2\n' > "$T/hc.csv"
"$ASSAY" check -c "$T/na.yaml" "$T/hc.csv" > /dev/null 2> "$T/hc.err"
grep -q "(columns: a\\\\rb, c)" "$T/hc.err" && ! grep -q $'\r' "$T/hc.err" && ok "a header name with a CR is shown as \\r" || bad "raw CR in message: $(cat -A "$T/hc.err")"

# 17h. wide inputs: memory grows linearly with the columns and stays under the documented
# bound (README "Wide inputs"); the sketches of a column grow with its values, so a
# column with three values costs a few KiB, not the 100+ KiB of full-size sketches.
# Peak RSS is a memory reading, not a timing; skipped under ASan (shadow memory).
python3 - "$T" <<'PY'
import random, sys
random.seed(7)
def write(path, ncols, nrows):
    with open(path, "w") as f:
        f.write(",".join("c%d" % i for i in range(ncols)) + "\n")
        for _ in range(nrows):
            f.write(",".join(("%.3f" % random.random()) if i % 3 == 0 else
                             ("s%d" % random.randint(0, 999)) if i % 3 == 1 else
                             str(random.randint(0, 10**6)) for i in range(ncols)) + "\n")
write(sys.argv[1] + "/w20k.csv", 20000, 3)
write(sys.argv[1] + "/w4k.csv", 4096, 200)
PY
printf 'limits: {max_fields: 100000}\n' > "$T/wide.yaml"
peak_kib() { python3 -c 'import resource,subprocess,sys
r = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)' "$@"; }
k20=$(peak_kib "$T/w20k.json" "$ASSAY" profile -c "$T/wide.yaml" --json "$T/w20k.csv")
k4=$(peak_kib "$T/w4k.json" "$ASSAY" profile --json "$T/w4k.csv")
expect_eq "$(python3 -c 'import json,sys; print(*[len(json.load(open(f))["columns"]) for f in sys.argv[1:]])' "$T/w20k.json" "$T/w4k.json")" "20000 4096" "wide inputs are profiled column by column"
if [ -n "${ASAN_OPTIONS:-}" ]; then
  ok "wide-input memory bound (not measured under ASan)"
else
  [ "$k20" -gt 0 ] && [ "$k20" -lt $((640 * 1024)) ] && ok "20,000 columns x 3 rows: peak RSS $((k20 / 1024)) MiB (bound 640)" || bad "20,000 columns: peak RSS ${k20} KiB"
  [ "$k4" -gt 0 ] && [ "$k4" -lt $((512 * 1024)) ] && ok "4,096 columns x 200 rows: peak RSS $((k4 / 1024)) MiB (bound 512)" || bad "4,096 columns x 200 rows: peak RSS ${k4} KiB"
fi
echo "$pass passed, $failn failed"
[ "$failn" -eq 0 ]
