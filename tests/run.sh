#!/usr/bin/env bash
# End-to-end tests of `assay run`: windows against an independent recount, identical
# records for any --threads, empty/late/bad rows, clean and quarantine outputs that
# partition the input, FlatBuffers decoded by flatc, checkpoints surviving SIGKILL at
# several points, SIGTERM, follow mode across rotation and truncation, stdin, and
# config errors. Streams are driven by event time from generated data; waits are on
# conditions with bounded timeouts; only the PIDs started here are killed.
# Usage: run.sh PATH/TO/assay
set -uo pipefail
ASSAY=$(readlink -f "$1")
ROOT=${ASSAY_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
T=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT
. "$ROOT/tests/lib.sh"
# wait_for SECONDS CMD...: run CMD until it succeeds, at most SECONDS (polling 20 ms)
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ! "$@" 2>/dev/null; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.02
  done
}
lines_at_least() { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

# A config for the recount's rule set (tests/exact_windows.py): $1 input, $2 window,
# $3 sinks (YAML lines), $4 extra top-level lines.
mkcfg() {
  cat <<EOF
asset: orders
source: {file: $1}
columns:
  - {name: order_id, type: int}
  - {name: amount, type: float}
  - {name: created_at, type: timestamp}
event_time: created_at
window: $2
limits: {read_buffer: 64KiB}
rules:
  - {name: order_id_unique, column: order_id, check: unique}
  - {name: email_not_null, column: email, check: not_null}
  - {name: email_shape, column: email, check: matches, pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+\$'}
  - {name: amount_in_range, column: amount, check: in_range, min: 0}
  - {name: amount_type, column: amount, check: type}
  - {name: currency_in_set, column: currency, check: in_set, values: [USD, EUR, GBP, JPY]}
  - {name: note_length, column: note, check: length, max: 500}
  - {name: row_count, check: row_count, min: 1}
sinks:
$3
$4
EOF
}

# compare.py SCORES EXACT: the records' rows, late_rows, bad_rows and rule counts equal
# the recount's, window by window
cat > "$T/compare.py" <<'PY'
import json, sys
from datetime import datetime
def us(s): return round(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1e6)
got = [json.loads(l) for l in open(sys.argv[1])]
want = [json.loads(l) for l in open(sys.argv[2])]
if len(got) != len(want):
    print("  %d windows, the recount has %d" % (len(got), len(want))); sys.exit(1)
bad = 0
for g, w in zip(got, want):
    x = {"window_start": us(g["window_start"]), "rows": g["rows"], "late_rows": g["late_rows"],
         "bad_rows": g["bad_rows"], "rules": {r["name"]: [r["evaluated"], r["failed"]] for r in g["rules"]}}
    if x != w:
        bad += 1
        if bad <= 3: print("  assay  ", x, "\n  recount", w)
if sum(w["late_rows"] for w in want) == 0 or sum(w["bad_rows"] for w in want) == 0:
    print("  the stream should have late and bad rows"); bad += 1
sys.exit(1 if bad else 0)
PY

FAULTS="bad_timestamp=0.005,duplicate_id=0.01,null_email=0.4@5-7,idle@10-11,negative_amount=0.01"
"$ASSAY" gen --rows 60000 --rate 50 --disorder 3s --late 0.02 --late-by 150s --faults "$FAULTS" -o "$T/s.csv"
"$ASSAY" gen --rows 60000 --rate 50 --disorder 3s --late 0.02 --late-by 150s --faults "$FAULTS" -o "$T/s.ndjson"

# 1. windows: per-window counts equal the recount; tumbling and hopping; CSV and NDJSON
for shape in "tumbling 60 60 5" "hopping 120 30 10"; do
  set -- $shape
  name=$1 size=$2 slide=$3 late=$4
  for fmt in csv ndjson; do
    mkcfg "s.$fmt" "{size: ${size}s, slide: ${slide}s, lateness: ${late}s}" \
      "  scores: {file: w-$name-$fmt.ndjson}" "" > "$T/w-$name-$fmt.yaml"
    "$ASSAY" run -c "$T/w-$name-$fmt.yaml" --threads 2
    expect_eq "$?" 0 "run ($name, $fmt) exits 0 at the end of the file"
    python3 "$ROOT/tests/exact_windows.py" "$T/s.$fmt" $size $slide $late > "$T/exact-$name-$fmt.ndjson"
    python3 "$T/compare.py" "$T/w-$name-$fmt.ndjson" "$T/exact-$name-$fmt.ndjson" \
      && ok "$name windows ($fmt): rows, late, bad and every rule's counts equal the recount" \
      || bad "$name windows ($fmt) differ from the recount"
  done
done

# 2. the same records, byte for byte, for 1, 2 and 7 threads (anomaly counts included)
mkcfg s.csv "{size: 60s, lateness: 5s}" "  scores: {file: t.ndjson}" \
  "anomaly: {columns: [amount, customer_id]}" > "$T/t.yaml"
for t in 1 2 7; do
  rm -f "$T/t.ndjson"
  "$ASSAY" run -c "$T/t.yaml" --threads $t && cp "$T/t.ndjson" "$T/t$t.ndjson"
done
cmp -s "$T/t1.ndjson" "$T/t2.ndjson" && cmp -s "$T/t1.ndjson" "$T/t7.ndjson" \
  && ok "identical score records for 1, 2 and 7 threads" || bad "score records differ between thread counts"
python3 - "$T/t1.ndjson" <<'PY' && ok "records carry each window's anomaly counts: every good on-time row scored or not ready" || bad "anomaly counts wrong"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
for r in rs:
    a = r["anomalies"]
    assert a["scored"] + a["not_ready"] == r["rows"] - r["bad_rows"], (r["window_start"], a)
    assert a["count"] <= a["judged"] <= a["scored"]
assert sum(r["anomalies"]["scored"] for r in rs) > 10000
assert sum(r["anomalies"]["count"] for r in rs) > 0
PY

# 3. empty windows are emitted (rows 0, overall null); records follow the documented shape
python3 - "$T/w-tumbling-csv.ndjson" <<'PY' && ok "an idle window is emitted empty (rows 0, overall null); ids unique; fields as documented" || bad "empty windows or record shape wrong"
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
empty = [r for r in rs if r["rows"] == 0]
# idle@10-11: window 10 has no rows; window 11 only the few that disorder moved back
assert [r["window_start"] for r in empty] == ["2026-01-01T00:10:00Z"], [r["window_start"] for r in empty]
w11 = [r for r in rs if r["window_start"] == "2026-01-01T00:11:00Z"][0]
assert 0 < w11["rows"] < 300, w11["rows"]
assert all(r["overall"] is None for r in empty)
assert all(r["overall"] is not None for r in rs if r["rows"])
assert len({r["id"] for r in rs}) == len(rs)
for k in ("type", "id", "asset", "window_start", "window_end", "rows", "late_rows", "bad_rows",
          "overall", "dimensions", "rules", "columns", "anomalies"):
    assert k in rs[0], k
assert rs[0]["type"] == "score" and rs[0]["asset"] == "orders"
c = {x["name"]: x for x in [r for r in rs if r["window_start"] == "2026-01-01T00:05:00Z"][0]["columns"]}
assert c["email"]["null_rate"] > 0.3, c["email"]  # the null spike in windows 5-7
for k in ("nulls", "null_rate", "distinct", "min", "max", "mean", "stddev", "quantiles"):
    assert k in c["amount"], k
PY

# 4. routes: clean and quarantine partition the input; clean bytes are the input's
mkcfg s.csv "{size: 60s, lateness: 5s}" "  scores: {file: r.ndjson}
  clean: {file: r-clean.csv}
  quarantine: [{file: r-q.ndjson}, {file: r-q.asyb, format: flatbuffers}]" "" \
  | sed 's/check: in_range, min: 0}/check: in_range, min: 0, action: block}/' > "$T/r.yaml"
"$ASSAY" run -c "$T/r.yaml" --threads 2
python3 - "$T/s.csv" "$T/r-clean.csv" "$T/r-q.ndjson" <<'PY' && ok "clean + quarantine = every input row once; clean bytes identical to the input's; reasons given" || bad "routes do not partition the input"
import csv, io, json, sys
raw = open(sys.argv[1], "rb").read()
rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
header, body = rows[0], rows[1:]
clean_raw = open(sys.argv[2], "rb").read()
clean = list(csv.reader(io.StringIO(clean_raw.decode(), newline="")))
assert clean[0] == header, "the clean CSV starts with the header once"
qs = [json.loads(l) for l in open(sys.argv[3])]
qrows = [next(csv.reader([q["value"]])) for q in qs]
assert sorted(map(tuple, clean[1:] + qrows)) == sorted(map(tuple, body)), "not a partition"
kinds = {tuple(q["rules"]) for q in qs}
assert ("amount_in_range",) in kinds and ("event_time",) in kinds, kinds
for q in qs:
    assert q["type"] == "quarantine" and q["reasons"] and q["source"]["line"] >= 2 and q["row"] >= 1
# clean bytes: the input's records, quarantined ones cut out, byte for byte in order
text = raw.decode()
phys = text.split("\n")
qlines = {q["source"]["line"] for q in qs}
reader = csv.reader(io.StringIO(text, newline=""))
want, prev = [], 0
for rec in reader:
    first, last = prev + 1, reader.line_num
    if first == 1 or first not in qlines:
        want.append("\n".join(phys[first - 1:last]) + "\n")
    prev = last
assert "".join(want).encode() == clean_raw, "clean bytes differ from the input's"
PY
python3 - "$T/s.csv" "$T/r-clean.csv" "$T/r-q.ndjson" <<'PY' && ok "each quarantined row's line number points at that row" || bad "quarantine line numbers wrong"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
for l in open(sys.argv[3]):
    q = json.loads(l)
    first = q["value"].split("\n")[0]
    assert lines[q["source"]["line"] - 1] == first, (q["source"], first[:60])
PY

# a blocking unique rule: repeats within a window leave the clean output for the
# quarantine, each naming the row it repeats and its own line
mkcfg s.csv "{size: 60s, lateness: 5s}" "  scores: {file: u.ndjson}
  clean: {file: u-clean.csv}
  quarantine: {file: u-q.ndjson}" "" \
  | sed 's/check: unique}/check: unique, action: block}/' > "$T/u.yaml"
"$ASSAY" run -c "$T/u.yaml" --threads 2
python3 - "$T/s.csv" "$T/u-clean.csv" "$T/u-q.ndjson" "$T/u.ndjson" <<'PY' && ok "a blocking unique rule quarantines each repeat with the row it repeats and its line" || bad "unique block routes wrong"
import csv, io, json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
lines = text.split("\n")
body = list(csv.reader(io.StringIO(text, newline="")))[1:]
clean = list(csv.reader(open(sys.argv[2], newline="")))[1:]
qs = [json.loads(l) for l in open(sys.argv[3])]
assert sorted(map(tuple, clean + [next(csv.reader([q["value"]])) for q in qs])) == sorted(map(tuple, body))
uq = [q for q in qs if "order_id_unique" in q["rules"]]
failed = sum(r["failed"] for w in map(json.loads, open(sys.argv[4])) for r in w["rules"] if r["name"] == "order_id_unique")
assert uq and len(uq) == failed, (len(uq), failed)
for q in uq:
    why = q["reasons"][q["rules"].index("order_id_unique")]
    m = re.fullmatch(r"unique: column 'order_id' value '([^']*)' repeats row (\d+)", why)
    assert m, why
    row = int(m[2])
    assert row < q["row"] and body[row - 1][0] == m[1] == body[q["row"] - 1][0], (why, q["row"])
    assert lines[q["source"]["line"] - 1] == q["value"].split("\n")[0], q["source"]
PY

# 5. FlatBuffers: flatc decodes what assay wrote, and it says what the JSON says
mkcfg s.csv "{size: 60s, lateness: 5s}" "  scores: [{file: fb.ndjson}, {file: fb.asyb, format: flatbuffers}]" "" > "$T/fb.yaml"
"$ASSAY" run -c "$T/fb.yaml"
if command -v flatc >/dev/null; then
  python3 - "$T/fb.asyb" "$T/fbparts" "$T/r-q.asyb" "$T/qparts" <<'PY'
import os, struct, sys
for src, dst in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    os.makedirs(dst, exist_ok=True)
    b = open(src, "rb").read(); i = k = 0
    while i < len(b):
        n = struct.unpack_from("<I", b, i)[0]
        open(os.path.join(dst, "%05d.bin" % k), "wb").write(b[i:i + 4 + n]); i += 4 + n; k += 1
PY
  (cd "$T/fbparts" && flatc --json --raw-binary --size-prefixed --strict-json "$ROOT/schemas/assay.fbs" -- *.bin) \
    && (cd "$T/qparts" && flatc --json --raw-binary --size-prefixed --strict-json "$ROOT/schemas/assay.fbs" -- *.bin) \
    && ok "flatc --json --raw-binary decodes every FlatBuffers record" || bad "flatc cannot decode the records"
  python3 - "$T/fb.ndjson" "$T/fbparts" "$T/r-q.ndjson" "$T/qparts" <<'PY' && ok "FlatBuffers records carry the JSON records' fields and values" || bad "FlatBuffers and JSON records differ"
import glob, json, math, sys
js = [json.loads(l) for l in open(sys.argv[1])]
fb = [json.load(open(p)) for p in sorted(glob.glob(sys.argv[2] + "/*.json"))]
assert len(js) == len(fb), (len(js), len(fb))
def close(a, b, tol=1e-9): return a == b or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=tol))
for j, f in zip(js, fb):
    assert f["body_type"] == "Score"
    s = f["body"]
    for k in ("id", "asset", "window_start", "window_end"):
        assert s.get(k) == j[k], k
    for k in ("rows", "late_rows", "bad_rows"):
        assert s.get(k, 0) == j[k], k
    # JSON rounds scores to 4 decimals
    assert close(s.get("overall"), j["overall"], 1e-4) if j["overall"] is not None else "overall" not in s
    assert {d["name"]: d["score"] for d in s.get("dimensions", [])}.keys() == j["dimensions"].keys()
    for d in s.get("dimensions", []):
        assert close(d["score"], j["dimensions"][d["name"]], 1e-4)
    assert [(r["name"], r.get("evaluated", 0), r.get("failed", 0)) for r in s["rules"]] == \
           [(r["name"], r["evaluated"], r["failed"]) for r in j["rules"]]
    for fc, jc in zip(s["columns"], j["columns"]):
        assert fc["name"] == jc["name"] and fc.get("nulls", 0) == jc.get("nulls", 0)
        if jc["type"] == "float" and jc.get("mean") is not None:
            assert close(fc["mean"], jc["mean"]) and close(fc["quantiles"]["p50"], jc["quantiles"]["p50"])
qj = [json.loads(l) for l in open(sys.argv[3])]
qf = [json.load(open(p))["body"] for p in sorted(glob.glob(sys.argv[4] + "/*.json"))]
assert len(qj) == len(qf)
for j, f in zip(qj, qf):
    assert bytes(f["value"]).decode() == j["value"] and f["rules"] == j["rules"] and f["row"] == j["row"]
PY
else
  bad "flatc is not installed (tools/install-deps.sh installs flatbuffers-compiler)"
fi

# 6. checkpoints: SIGKILL at several points, restarts; a restart cuts the file sinks
# back to where the checkpoint marked them, so every output ends byte for byte the
# uninterrupted run's (a record or row torn by the kill is cut off with the rest)
"$ASSAY" gen --rows 200000 --rate 100 --disorder 3s --faults duplicate_id=0,bad_timestamp=0.002 -o "$T/k.csv"
mkcfg k.csv "{size: 60s, lateness: 5s}" "  scores: {file: k.ndjson}
  clean: {file: k-clean.csv}
  quarantine: {file: k-q.ndjson}" "state: {dir: kstate, interval: 1ms}
anomaly: {columns: [amount, customer_id]}" \
  | sed 's/check: in_range, min: 0}/check: in_range, min: 0, action: block}/' > "$T/k.yaml"
"$ASSAY" run -c "$T/k.yaml" && for f in k.ndjson k-clean.csv k-q.ndjson; do mv "$T/$f" "$T/ref-$f"; done
rm -rf "$T/kstate"
kills=0
for at in 1 2 5 9 14 20 27; do
  "$ASSAY" run -c "$T/k.yaml" & pid=$!; PIDS+=($pid)
  if wait_for 60 lines_at_least "$T/k.ndjson" $at; then
    kill -9 $pid 2>/dev/null && kills=$((kills+1))
  fi
  wait $pid 2>/dev/null
done
"$ASSAY" run -c "$T/k.yaml"
expect_eq "$?" 0 "the run after $kills SIGKILLs finishes"
[ "$kills" -ge 5 ] && ok "killed $kills times while running" || bad "only $kills kills landed"
same=0
for f in k.ndjson k-clean.csv k-q.ndjson; do cmp -s "$T/ref-$f" "$T/$f" && same=$((same+1)); done
expect_eq "$same" 3 "after SIGKILLs and restarts the score, clean and quarantine files equal the uninterrupted run's byte for byte"
python3 - "$T/k.csv" "$T/k-clean.csv" "$T/k-q.ndjson" <<'PY' && ok "clean + quarantine hold every input row exactly once" || bad "rows lost or repeated after restarts"
import csv, json, sys
body = [tuple(r) for r in csv.reader(open(sys.argv[1], newline=""))][1:]
out = [tuple(r) for r in csv.reader(open(sys.argv[2], newline=""))][1:]
q = [tuple(next(csv.reader([json.loads(l)["value"]]))) for l in open(sys.argv[3])]
assert sorted(out + q) == sorted(body), (len(out), len(q), len(body))
PY
# a crash torn in the middle of a record: the restart cuts the garbage off with the
# rest of what followed the checkpoint
rm -rf "$T/kstate" "$T/k.ndjson" "$T/k-clean.csv" "$T/k-q.ndjson"
"$ASSAY" run -c "$T/k.yaml" & pid=$!; PIDS+=($pid)
wait_for 60 lines_at_least "$T/k.ndjson" 3 && kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
printf '{"type":"score","id":"torn' >> "$T/k.ndjson"; printf '123,45' >> "$T/k-clean.csv"
"$ASSAY" run -c "$T/k.yaml"
cmp -s "$T/ref-k.ndjson" "$T/k.ndjson" && cmp -s "$T/ref-k-clean.csv" "$T/k-clean.csv" \
  && ok "a torn record after the checkpoint is cut off by the restart" || bad "a torn record survived the restart"
# a sink replaced since the checkpoint is appended to, with a notice saying so
rm -rf "$T/kstate" "$T/k.ndjson" "$T/k-clean.csv" "$T/k-q.ndjson"
"$ASSAY" run -c "$T/k.yaml" & pid=$!; PIDS+=($pid)
wait_for 60 lines_at_least "$T/k.ndjson" 3 && kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
mv "$T/k-q.ndjson" "$T/k-q.old"
"$ASSAY" run -c "$T/k.yaml" 2> "$T/rot.err"
expect_eq "$?" 0 "a run whose quarantine file was moved away resumes"
grep -q "k-q.ndjson was replaced or shortened since the checkpoint: appending to it" "$T/rot.err" \
  && ok "the replaced sink is named in a notice" || bad "no notice for a replaced sink: $(cat "$T/rot.err")"
cmp -s "$T/ref-k.ndjson" "$T/k.ndjson" && ok "the other sinks still end as the uninterrupted run's" || bad "scores differ after a replaced quarantine sink"
printf 'garbage' > "$T/kstate/checkpoint.bin"
"$ASSAY" run -c "$T/k.yaml" 2> "$T/ck.err"
expect_eq "$?" 2 "a corrupt checkpoint exits 2"
grep -q "checkpoint.bin: not an assay checkpoint; move it away to start over, or run with --from-beginning" "$T/ck.err" \
  && ok "the corrupt checkpoint error says what to do" || bad "checkpoint error: $(cat "$T/ck.err")"
"$ASSAY" run -c "$T/k.yaml" --from-beginning 2>/dev/null
expect_eq "$?" 0 "--from-beginning ignores a bad checkpoint"
sed 's/min: 1}/min: 2}/' "$T/k.yaml" > "$T/k2.yaml"
"$ASSAY" run -c "$T/k2.yaml" 2> "$T/ck2.err"
grep -q "written for another config" "$T/ck2.err" && ok "a checkpoint of another config is refused" || bad "changed config: $(cat "$T/ck2.err")"

# 7. follow: a growing file, rotated and truncated, then SIGTERM (finish, flush,
# checkpoint, exit 0); a restart goes on from the checkpoint
"$ASSAY" gen --rows 9000 --rate 20 -o "$T/all.csv"
python3 - "$T/all.csv" "$T/part" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
h, body = lines[0], [l for l in lines[1:] if l]
# notes may hold newlines inside quotes: cut only between whole records
import csv, io
recs = list(csv.reader(io.StringIO(open(sys.argv[1]).read(), newline="")))
def dump(path, rs):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n"); w.writerow(recs[0]); w.writerows(rs)
n = len(recs) - 1
# uneven parts: the third is shorter than the second, so its truncation shows in the size
for i, (a, b) in enumerate(((1, 3001), (3001, 7001), (7001, n + 1))):
    dump("%s%d.csv" % (sys.argv[2], i), recs[a:b])
PY
cat > "$T/f.yaml" <<EOF
asset: orders
source: {file: live.csv, follow: true}
columns: [{name: created_at, type: timestamp}, {name: order_id, type: int}]
event_time: created_at
window: {size: 60s, idle: 1h}
rules: [{column: email, check: not_null}]
sinks: {scores: {file: f.ndjson}, clean: {file: f-clean.csv}, quarantine: {file: f-q.ndjson}}
state: {dir: fstate, interval: 100ms}
EOF
cp "$T/part0.csv" "$T/live.csv"
(cd "$T" && exec "$ASSAY" run -c f.yaml) & pid=$!; PIDS+=($pid)
wait_for 30 lines_at_least "$T/f-clean.csv" 3000 && ok "follow: the rows written so far are read" || bad "follow did not read the file"
mv "$T/live.csv" "$T/live.csv.1"                       # rotation: a new file at the path
cp "$T/part1.csv" "$T/live.csv"
wait_for 30 lines_at_least "$T/f-clean.csv" 7000 && ok "follow: after a rotation the new file is read" || bad "follow missed the rotated file"
: > "$T/live.csv"                                      # truncation: read it again from the start
cat "$T/part2.csv" > "$T/live.csv"
want=$(python3 -c "import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1],newline='')))-1)" "$T/all.csv")
count_clean() { python3 -c "import csv,sys; print(sum(1 for r in csv.reader(open(sys.argv[1],newline='')) if r[0]!='order_id') + sum(1 for _ in open(sys.argv[2])))" "$T/f-clean.csv" "$T/f-q.ndjson"; }
clean_has() { [ "$(count_clean)" -ge "$1" ]; }
wait_for 30 clean_has "$want" && ok "follow: after a truncation the file is read again from its start" || bad "follow missed rows after the truncation ($(count_clean) of $want)"
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "SIGTERM: finish, flush, checkpoint and exit 0"
[ -s "$T/fstate/checkpoint.bin" ] && ok "SIGTERM wrote a checkpoint" || bad "no checkpoint after SIGTERM"
python3 - "$T/all.csv" "$T/f-clean.csv" "$T/f.ndjson" "$T/f-q.ndjson" <<'PY' && ok "follow: every row of the three files reached clean or quarantine once, in order; windows closed as event time moved on" || bad "follow lost or repeated rows"
import csv, json, sys
want = [r for r in csv.reader(open(sys.argv[1], newline=""))][1:]
got = [r for r in csv.reader(open(sys.argv[2], newline="")) if r[0] != "order_id"]
q = [next(csv.reader([json.loads(l)["value"]])) for l in open(sys.argv[4])]
qs = {tuple(r) for r in q}
assert got == [r for r in want if tuple(r) not in qs], (len(got), len(want))
assert len(got) + len(q) == len(want) and all(json.loads(l)["rules"] == ["event_time"] for l in open(sys.argv[4]))
rs = [json.loads(l) for l in open(sys.argv[3])]
assert len(rs) >= 5 and sum(r["rows"] for r in rs) > 7000
PY

# 8. stdin: a pipe runs to its end, windows as from the file
mkcfg - "{size: 60s, lateness: 5s}" "  scores: {file: in.ndjson}" "" > "$T/in.yaml"
(cd "$T" && cat s.csv | "$ASSAY" run -c in.yaml --threads 2)
python3 "$T/compare.py" "$T/in.ndjson" "$T/exact-tumbling-csv.ndjson" \
  && ok "stdin: the same per-window counts as the recount" || bad "stdin windows differ"

# 9. without event_time: arrival time; the whole file lands in the current window(s)
sed '/^event_time:/d' "$T/w-tumbling-csv.yaml" | sed 's/w-tumbling-csv.ndjson/pt.ndjson/' > "$T/pt.yaml"
(cd "$T" && "$ASSAY" run -c pt.yaml)
python3 - "$T/pt.ndjson" "$T/s.csv" <<'PY' && ok "processing time: every row in the windows of the wall clock, none late, none bad" || bad "processing-time windows wrong"
import csv, json, sys, time
rs = [json.loads(l) for l in open(sys.argv[1])]
n = sum(1 for _ in csv.reader(open(sys.argv[2], newline=""))) - 1
assert 1 <= len(rs) <= 2 and sum(r["rows"] for r in rs) == n, (len(rs), n)
assert all(r["late_rows"] == 0 and r["bad_rows"] == 0 for r in rs)
from datetime import datetime
start = datetime.fromisoformat(rs[0]["window_start"].replace("Z", "+00:00")).timestamp()
assert abs(start - time.time()) < 600
PY

# 10. errors: exit 2, one line naming file:line:col and the key
printf 'source: {file: x.csv}\nevent_time: created_at\nwindow: {size: 60s}\nrules: [{column: email, check: not_null}]\n' > "$T/e1.yaml"
"$ASSAY" gen --rows 10 -o "$T/x.csv"
sed -i 's/created_at/order_id/' "$T/e1.yaml"
"$ASSAY" run -c "$T/e1.yaml" 2> "$T/e1.err"
expect_eq "$?" 2 "event_time on a non-timestamp column exits 2"
grep -q "e1.yaml:2:13: event_time: column 'order_id' is int" "$T/e1.err" && ok "event_time error names file:line:col" || bad "event_time error: $(cat "$T/e1.err")"
# (every key of the design is implemented now: none is left to be rejected as "later")
# the HTTP surface refuses to start half-configured: a missing token file, a busy port
printf 'source: {file: x.csv}\nhttp: {listen: 127.0.0.1:0, token_file: nope}\n' > "$T/e4.yaml"
"$ASSAY" run -c "$T/e4.yaml" 2> "$T/e4.err"; rc=$?
[ $rc -eq 2 ] && grep -q "http.token_file: cannot read $T/nope: No such file" "$T/e4.err" && ok "a missing http.token_file exits 2 naming it" || bad "token_file: rc $rc $(cat "$T/e4.err")"
python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' > "$T/port" & busy=$!
wait_for 10 test -s "$T/port"
printf 'source: {file: x.csv}\nhttp: {listen: 127.0.0.1:%s}\n' "$(cat "$T/port")" > "$T/e5.yaml"
"$ASSAY" run -c "$T/e5.yaml" 2> "$T/e5.err"; rc=$?
kill $busy; wait $busy 2>/dev/null
[ $rc -eq 2 ] && grep -q "http.listen: cannot listen on 127.0.0.1:$(cat "$T/port")" "$T/e5.err" && ok "a busy http.listen port exits 2 naming it" || bad "busy port: rc $rc $(cat "$T/e5.err")"
printf 'source: {file: x.csv}\nwindow: {size: 60s, slide: 40s}\n' > "$T/e3.yaml"
"$ASSAY" run -c "$T/e3.yaml" 2> "$T/e3.err"
grep -q "e3.yaml:2:28: window.slide: window.size (1m) must be a multiple of the slide (40s)" "$T/e3.err" && ok "window shape error names file:line:col" || bad "window error: $(cat "$T/e3.err")"
printf 'source: {file: x.csv}\nsinks: {scores: {file: /nonexistent/dir/s.ndjson}}\n' > "$T/e4.yaml"
"$ASSAY" run -c "$T/e4.yaml" 2> "$T/e4.err"
expect_eq "$?" 2 "an unwritable sink exits 2"
grep -q "/nonexistent/dir/s.ndjson: cannot open for writing" "$T/e4.err" && ok "the sink error names the path" || bad "sink error: $(cat "$T/e4.err")"
"$ASSAY" run -c "$T/e1.yaml" extra 2>/dev/null
expect_eq "$?" 2 "run takes no file arguments"

echo "run.sh: $pass passed, $failn failed"
[ "$failn" -eq 0 ]
