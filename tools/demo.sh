#!/usr/bin/env bash
# The README's first command: install what is missing, build, then
#   1. generate 1M orders rows with realistic defects and check them (assay check);
#   2. generate a ten-minute event-time stream with incidents in known windows and run
#      it through assay run: one line per closed window on the terminal, score records,
#      alerts (each with its explanation), clean and quarantined rows in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build src/assay >/dev/null
mkdir -p out
rows=${ROWS:-1000000}
build/src/assay gen --rows "$rows" --seed 42 -o out/orders.csv
echo "generated out/orders.csv ($rows rows, $(du -h out/orders.csv | cut -f1))"
echo
set +e
build/src/assay check -c examples/orders.yaml --now 2026-11-23T00:00:00Z out/orders.csv
status=$?
set -e
echo
case $status in
  0) echo "demo: check exit status 0 - the data passed every rule" ;;
  1) echo "demo: check exit status 1 - the data failed rules (as the generated defects intend)" ;;
  *) echo "demo: check exit status $status - error"; exit "$status" ;;
esac

echo
echo "== assay run: a stream of 300,000 orders over ten minutes of event time"
echo "   (null emails in windows 3-4; none generated in window 6, so it holds only the rows"
echo "   that 2 s of disorder move into it; amounts x3 in windows 8-9)"
build/src/assay gen --rows 300000 --rate 500 --disorder 2s --seed 7 \
  --faults 'null_email=0.3@3-4,idle@6-6,amount_drift=3@8-9' -o out/stream.csv
rm -rf out/state out/scores.ndjson out/alerts.ndjson out/quarantine.ndjson out/clean.csv
build/src/assay run -c examples/stream.yaml
echo
echo "demo: $(wc -l < out/scores.ndjson) score records in out/scores.ndjson, e.g."
python3 - out/scores.ndjson <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    amount = next(c for c in r["columns"] if c["name"] == "amount")
    email = next(c for c in r["columns"] if c["name"] == "email")
    score = "  -  " if r["overall"] is None else "%5.1f" % r["overall"]
    print("  %s  rows %6d  score %s  email nulls %5.1f%%  amount p50 %7.2f" % (
        r["window_start"], r["rows"], score, 100 * email["null_rate"],
        amount["quantiles"]["p50"] if amount.get("quantiles") and amount["quantiles"]["p50"] is not None else float("nan")))
PY
echo "demo: $(wc -l < out/alerts.ndjson) alert records in out/alerts.ndjson (firing, then resolved):"
python3 - out/alerts.ndjson <<'PY'
import json, sys
for line in open(sys.argv[1]):
    a = json.loads(line)
    print("  %s  %-8s %-14s %-9s %s" % (a["window_start"], a["state"], a["kind"], a["severity"],
                                         a["title"] if a["state"] == "firing" else ""))
PY
echo "demo: $(($(wc -l < out/clean.csv) - 1)) lines of clean rows in out/clean.csv, $(wc -l < out/quarantine.ndjson) quarantined rows in out/quarantine.ndjson"
