#!/usr/bin/env bash
# The README's first command: install what is missing, build, then show assay's main
# job end to end - the Kafka sidecar:
#   1. librdkafka's mock cluster comes up on loopback (tools/kafka_mock.c: a real Kafka
#      protocol server, three brokers) with the topics of examples/kafka.yaml;
#   2. ten minutes of generated orders with incidents in known windows (null emails in
#      windows 3-4, amounts x3 in windows 7-8, ending a minute before now) are produced
#      into `orders` with kcat, keyed by customer;
#   3. `assay run -c examples/kafka.yaml` consumes them as a sidecar in its consumer
#      group: one line per closed window on the terminal; the last windows close by the
#      wall clock once every partition is silent (window.idle);
#      meanwhile /api/v1/status and /metrics answer on http://127.0.0.1:9464 (the live
#      page is at /);
#   4. SIGTERM: assay flushes, checkpoints, commits and leaves the group;
#   5. kcat reads the alerts back from `orders.dq.alerts`, and counts the other topics.
# ROWS (default 60000) sets the stream's size; the event rate follows, so it stays ten
# minutes long; SKIP_DEPS=1 skips the package check. The mock cluster ends with this
# script.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_DEPS:-}" ] || tools/install-deps.sh
[ -d build ] || meson setup build --buildtype=release >/dev/null
ninja -C build src/assay tools/assay-kafka-mock >/dev/null
mkdir -p out
rows=${ROWS:-60000}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== 1. the mock cluster"
coproc MOCK { exec build/tools/assay-kafka-mock --brokers 3 --topic orders:4 \
  --topic orders.dq.scores:1 --topic orders.dq.alerts:1 --topic orders.quarantine:4 \
  --topic orders.clean:8; }
pids+=("$MOCK_PID")
read -r word boot <&"${MOCK[0]}"
[ "$word" = bootstrap ] || { echo "demo: the mock cluster did not start" >&2; exit 2; }
export ASSAY_BROKERS=$boot
echo "   bootstrap $boot: topics orders (4 partitions), orders.dq.scores, orders.dq.alerts,"
echo "   orders.quarantine, orders.clean"

echo "== 2. $rows generated orders over ten minutes of event time, produced with kcat"
start=$(date -u -d "-11 min" +%Y-%m-%dT%H:%M:00Z)
build/src/assay gen --rows "$rows" --rate "$((rows / 600))" --disorder 2s --seed 7 \
  --format ndjson --start "$start" \
  --faults 'null_email=0.3@3-4,amount_drift=3@7-8' -o out/orders.ndjson
python3 - out/orders.ndjson > out/orders.keyed <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    try:
        key = str(json.loads(line).get("customer_id"))
    except ValueError:
        key = "none"
    sys.stdout.write(key + "\t" + line)
PY
kcat -P -b "$boot" -t orders -K $'\t' -z lz4 < out/orders.keyed
echo "   $(wc -l < out/orders.ndjson) messages from $start on"

echo "== 3. assay run -c examples/kafka.yaml (the sidecar)"
rm -rf out/kafka-state
build/src/assay run -c examples/kafka.yaml &
assay_pid=$!
pids+=("$assay_pid")
# the last window ends about a minute before now: once every partition has been silent
# for window.idle (10 s), the watermark follows the clock and it closes; wait for the
# alerts topic to hold the resolved alerts of the last incident (bounded)
want=$(( $(date +%s) + 120 ))
scores=0
while [ "$(date +%s)" -lt "$want" ]; do
  scores=$(kcat -C -b "$boot" -t orders.dq.scores -e -q -f 'x\n' 2>/dev/null | wc -l)
  [ "$scores" -ge 11 ] && break
  sleep 1
done

echo "== 3b. the HTTP surface (http://127.0.0.1:9464/ is the live page while it runs)"
curl -s http://127.0.0.1:9464/api/v1/status | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("   /api/v1/status: %d rows, %d bad, %d late, %d windows, %d alerts active" % (
      s["rows"], s["bad_rows"], s["late_rows"], s["windows"], s["alerts_active"]))
' || echo "   (the HTTP surface did not answer)"
curl -s http://127.0.0.1:9464/metrics | grep -E '^assay_(quality_score|rows_total|alerts_fired_total) ' | sed 's/^/   \/metrics: /'

echo "== 4. SIGTERM"
kill -TERM "$assay_pid"
status=0
wait "$assay_pid" || status=$?
echo "   assay exited $status after $scores score records"
[ "$status" -eq 0 ] || exit "$status"

echo "== 5. the alert topic, read back with kcat"
kcat -C -b "$boot" -t orders.dq.alerts -e -q -f '%s\n' | python3 -c '
import json, sys
for line in sys.stdin:
    a = json.loads(line)
    print("   %s  %-8s %-14s %-9s %s" % (a["window_start"], a["state"], a["kind"],
          a["severity"], a["title"] if a["state"] == "firing" else ""))
'
kcat -C -b "$boot" -t orders.dq.scores -e -q -f '%s\n' | python3 -c '
import json, sys
rs = [json.loads(l) for l in sys.stdin]
print("   orders.dq.scores: %d windows counting %d rows (%d of them late)" % (
      len(rs), sum(r["rows"] + r["late_rows"] for r in rs), sum(r["late_rows"] for r in rs)))
'
for t in orders orders.clean orders.quarantine; do
  echo "   $t: $(kcat -C -b "$boot" -t "$t" -e -q -f 'x\n' | wc -l) messages"
done
echo "   a quarantined message with its dead-letter headers:"
kcat -C -b "$boot" -t orders.quarantine -p 0 -c 1 -e -q \
  -f '     key %k\n     headers %h\n     value %s\n' | cut -c1-200
