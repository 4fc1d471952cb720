#!/usr/bin/env bash
# Cross-field rules end to end: every expr rule of tests/data/expr.yaml (the five
# documented examples and each operator and function) on generated data with nulls
# and invalid values, CSV and NDJSON, against an independent recount
# (tests/exact_expr.py); the same report for any thread count; samples that show
# every column read; errors with file:line:col and a caret. Usage: expr.sh PATH/TO/assay
set -uo pipefail
ASSAY=$1
ROOT=${ASSAY_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
DATA=$ROOT/tests/data
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$ROOT/tests/lib.sh"
NOW=2026-11-23T00:00:00Z
faults=bad_timestamp=0.01,bad_amount=0.01,null_email=0.02,long_note=0.01

"$ASSAY" gen --rows 150000 --seed 11 --shipping --faults "$faults" -o "$T/s.csv" || bad "gen csv"
"$ASSAY" gen --rows 150000 --seed 11 --shipping --faults "$faults" --format ndjson -o "$T/s.ndjson" \
  || bad "gen ndjson"

compare() { # report.json exact.json what
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
bad = 0
if r["rows"] != e["rows"]:
    print("  rows", r["rows"], "exact", e["rows"]); bad = 1
names = set()
for rule in r["rules"]:
    names.add(rule["name"])
    want = e[rule["name"]]
    got = [rule["evaluated"], rule["failed"], rule["unevaluated"]]
    if got != want:
        print("  %-18s assay %s exact %s" % (rule["name"], got, want)); bad = 1
    elif rule["failed"] == 0 or rule["failed"] == rule["evaluated"]:
        print("  %-18s passes or fails every row: the data should exercise both" % rule["name"]); bad = 1
missing = set(e) - names - {"rows"}
if missing:
    print("  not in the report:", sorted(missing)); bad = 1
sys.exit(bad)
PY
}

for f in s.csv s.ndjson; do
  "$ASSAY" check -c "$DATA/expr.yaml" --json --now $NOW --threads 2 "$T/$f" > "$T/$f.json"
  [ $? -eq 1 ] && ok "$f: check exits 1 (rules breached)" || bad "$f: exit code"
  python3 "$ROOT/tests/exact_expr.py" "$T/$f" > "$T/$f.exact"
  compare "$T/$f.json" "$T/$f.exact" && ok "$f: every expr rule's evaluated/failed/unevaluated equals the recount" \
    || bad "$f: recount differs"
done

# the same report (samples included) for 1 and 5 threads
norm() { python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k,None) for k in ("seconds","threads","files","format")]; print(json.dumps(d,sort_keys=True))'; }
"$ASSAY" check -c "$DATA/expr.yaml" --json --now $NOW --threads 1 "$T/s.csv" | norm > "$T/n1"
"$ASSAY" check -c "$DATA/expr.yaml" --json --now $NOW --threads 5 "$T/s.csv" | norm > "$T/n5"
cmp -s "$T/n1" "$T/n5" && ok "identical reports for 1 and 5 threads" || bad "reports differ between thread counts"

# samples name every column the expression reads, with the row's values
python3 - "$T/s.csv.json" <<'PY' && ok "samples show every column an expression reads" || bad "samples"
import json, sys
r = {x["name"]: x for x in json.load(open(sys.argv[1]))["rules"]}
s = r["total_matches"]["samples"]
assert s, "no samples"
for x in s:
    v = x["value"]
    assert v.startswith("total=") and ", quantity=" in v and ", unit_price=" in v, v
v = r["ship_after_order"]["samples"][0]["value"]
assert v.startswith("shipped_at=2") and ", created_at=2" in v, v
PY

# errors: file:line:col of the part at fault, and a caret under it
cat > "$T/bad.yaml" <<'Y'
rules:
  - name: when
    check: expr
    expr: "shipped_at >= 'soon'"
Y
"$ASSAY" check -c "$T/bad.yaml" "$T/s.csv" > /dev/null 2> "$T/err"
rc=$?
want="assay check: $T/bad.yaml:4:26: rules.when.expr: cannot compare timestamp with string
    shipped_at >= 'soon'
                  ^~~~~~"
[ $rc -eq 2 ] && [ "$(cat "$T/err")" == "$want" ] && ok "type error: position, message and caret" \
  || { bad "type error message (rc $rc)"; cat "$T/err"; }
cat > "$T/syntax.yaml" <<'Y'
rules:
  - {name: s, check: expr, expr: "status = 'a' and and"}
Y
"$ASSAY" check -c "$T/syntax.yaml" "$T/s.csv" > /dev/null 2> "$T/err"
grep -q "syntax.yaml:2:52: rules\[0\].expr: expected a value, found the keyword 'and'" "$T/err" \
  && ok "syntax error at config load names the position" || { bad "syntax error"; cat "$T/err"; }
cat > "$T/nocol.yaml" <<'Y'
rules:
  - {name: s, check: expr, expr: "totl > 1"}
Y
"$ASSAY" check -c "$T/nocol.yaml" "$T/s.csv" > /dev/null 2> "$T/err"
grep -q "no column 'totl' in the data (did you mean 'total'?)" "$T/err" && ok "unknown column suggests the closest" \
  || { bad "unknown column"; cat "$T/err"; }
cat > "$T/noexpr.yaml" <<'Y'
rules:
  - {name: s, check: expr}
Y
"$ASSAY" check -c "$T/noexpr.yaml" "$T/s.csv" > /dev/null 2> "$T/err"
grep -q "check 'expr' needs expr" "$T/err" && ok "expr is required" || { bad "missing expr"; cat "$T/err"; }
cat > "$T/col.yaml" <<'Y'
rules:
  - {name: s, check: expr, column: total, expr: "total > 1"}
Y
"$ASSAY" check -c "$T/col.yaml" "$T/s.csv" > /dev/null 2> "$T/err"
grep -q "column: not valid for check 'expr'" "$T/err" && ok "column is rejected on expr rules" || { bad "column on expr"; cat "$T/err"; }

# --suggest-rules proposes the orderings of timestamp columns the data always keeps
python3 - "$T/ord.csv" <<'PY'
import random, sys
from datetime import datetime, timedelta
random.seed(1)
t0 = datetime(2026, 1, 1)
with open(sys.argv[1], "w") as f:
    f.write("id,created_at,paid_at,shipped_at,other\n")
    for i in range(500):
        c = t0 + timedelta(seconds=60 * i)
        p = c + timedelta(minutes=random.randint(0, 30))
        s = "" if i % 7 == 0 else (p + timedelta(hours=random.randint(1, 50))).isoformat() + "Z"
        o = (t0 + timedelta(days=random.randint(0, 10))).isoformat() + "Z"
        f.write(f"{i},{c.isoformat()}Z,{p.isoformat()}Z,{s},{o}\n")
PY
"$ASSAY" profile --suggest-rules "$T/ord.csv" > "$T/sugg.yaml"
got=$(grep -c "check: expr" "$T/sugg.yaml")
grep -q "# shipped_at >= created_at in all 428 rows where both are timestamps" "$T/sugg.yaml" \
  && grep -q "expr: 'paid_at >= created_at'" "$T/sugg.yaml" && [ "$got" -eq 3 ] \
  && ok "--suggest-rules proposes the three orderings, with evidence, and not the random column" \
  || { bad "--suggest-rules orderings ($got)"; grep -A1 "check: expr" "$T/sugg.yaml"; }
"$ASSAY" check -c "$T/sugg.yaml" "$T/ord.csv" > /dev/null
[ $? -eq 0 ] && ok "the suggested config passes on its data" || bad "suggested config fails on its data"

echo "$pass passed, $failn failed"
[ $failn -eq 0 ]
