#!/usr/bin/env bash
# The Alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager,
# 0.25): the encodings, the sink's table and bounds (against a port nothing listens
# on), a firing alert arriving with its labels, annotations and startsAt and being
# re-sent, its resolved record ending it, and an alert queued while Alertmanager is down
# arriving once it is up, and flush and close staying within their bounds against a
# peer that never answers. Alertmanager runs on loopback on free ports with clustering
# off and its storage in a temporary directory; waits are polls on conditions with
# bounded timeouts; only the PIDs started here are killed. Then `assay run` end to end:
# a stream whose incident is at its end leaves alerts firing in Alertmanager (the ids of
# the file sink's records), the grown stream resumed from the checkpoint resolves them,
# and a run against an Alertmanager that is down finishes every window, says so and
# counts the failed POSTs.
# Usage: alertmanager.sh PATH/TO/am_driver PATH/TO/assay
set -uo pipefail
DRIVER=$(readlink -f "$1")
ASSAY=$(readlink -f "$2")
AM_BIN=${ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
T=$(mktemp -d)
PIDS=()
cleanup() {
  local p end
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    end=$((SECONDS + 5))
    while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  [ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

if [ ! -x "$AM_BIN" ]; then
  echo "SKIP: $AM_BIN not installed (apt-get install prometheus-alertmanager)"
  exit 77
fi

# wait_for SECONDS CMD...: run CMD until it succeeds, at most SECONDS (polling 50 ms)
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  while ! "$@" 2>/dev/null; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}

free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cat > "$T/am.yml" <<'EOF'
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOF

# start_am NAME PORT: Alertmanager on 127.0.0.1:PORT; sets AM_PID.
start_am() {
  mkdir -p "$T/$1"
  "$AM_BIN" --config.file="$T/am.yml" --storage.path="$T/$1" \
    --web.listen-address="127.0.0.1:$2" --cluster.listen-address= \
    > "$T/$1.log" 2>&1 &
  AM_PID=$!
  PIDS+=("$AM_PID")
}
is_ready() {
  python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/-/ready", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}
# wait_am NAME PORT PID: until ready (at most 30 s), failing early if it exited.
wait_am() {
  local end=$((SECONDS + 30))
  while ! is_ready "$2"; do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "--- $1.log"; cat "$T/$1.log"; return 1
    fi
    [ $SECONDS -ge $end ] && { echo "--- $1.log"; cat "$T/$1.log"; return 1; }
    sleep 0.05
  done
}

# check_alerts PORT QUERY ID EXPECT: EXPECT = present (with every field checked) or
# absent: whether GET /api/v2/alerts?QUERY lists the alert whose annotations.id is ID.
check_alerts() {
  python3 - "$@" <<'EOF'
import datetime, json, sys, urllib.request
port, query, aid, expect = sys.argv[1:5]
url = f"http://127.0.0.1:{port}/api/v2/alerts" + (f"?{query}" if query else "")
with urllib.request.urlopen(url, timeout=5) as r:
    alerts = json.load(r)
mine = [a for a in alerts if a.get("annotations", {}).get("id") == aid]
if expect == "absent":
    if mine:
        sys.exit(f"still listed: {json.dumps(mine)}")
    sys.exit(0)
if len(mine) != 1:
    sys.exit(f"{len(mine)} alerts with id {aid} in {json.dumps(alerts)}")
a = mine[0]
want = {"alertname": "assay_rule_breach", "asset": "orders", "kind": "rule_breach",
        "subject": "email_not_null", "severity": "high", "column": "email",
        "rule": "email_not_null"}
if a["labels"] != want:
    sys.exit(f"labels {a['labels']} != {want}")
ann = a["annotations"]
if ann.get("title") != "Rule email_not_null breached on orders.email":
    sys.exit(f"title {ann.get('title')!r}")
if not ann.get("explanation", "").startswith("email_not_null failed 25 of 100 rows"):
    sys.exit(f"explanation {ann.get('explanation')!r}")
if ann.get("window") != "2026-01-01T00:10:00Z/2026-01-01T00:20:00Z":
    sys.exit(f"window {ann.get('window')!r}")
def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
if t(a["startsAt"]) != datetime.datetime(2026, 1, 1, 0, 10, tzinfo=datetime.timezone.utc):
    sys.exit(f"startsAt {a['startsAt']}")
if a["status"]["state"] != "active":
    sys.exit(f"state {a['status']}")
# No endsAt was sent: Alertmanager sets it to now + resolve_timeout (5m).
if t(a["endsAt"]) <= datetime.datetime.now(datetime.timezone.utc):
    sys.exit(f"endsAt {a['endsAt']} not in the future")
gen = sys.argv[5] if len(sys.argv) > 5 else ""
if a.get("generatorURL", "") != gen:
    sys.exit(f"generatorURL {a.get('generatorURL')!r} != {gen!r}")
EOF
}

# --- the encodings -----------------------------------------------------------
if "$DRIVER" encode > "$T/encode.out"; then
  if python3 - "$T/encode.out" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 4, lines
fire, fire_http, resolved, bare = lines
labels = {"alertname": "assay_rule_breach", "asset": "orders", "kind": "rule_breach",
          "subject": "email_not_null", "severity": "high", "column": "email",
          "rule": "email_not_null"}
assert fire["labels"] == labels, fire["labels"]
assert set(fire) == {"labels", "annotations", "startsAt"}, fire
assert set(fire["annotations"]) == {"title", "explanation", "window", "id"}, fire
assert fire["startsAt"] == "2026-01-01T00:10:00Z", fire
assert fire["annotations"]["window"] == "2026-01-01T00:10:00Z/2026-01-01T00:20:00Z", fire
aid = fire["annotations"]["id"]
assert len(aid) == 16 and all(c in "0123456789abcdef" for c in aid), aid
assert fire_http["generatorURL"] == f"http://127.0.0.1:8080/api/v1/alerts/{aid}", fire_http
assert "endsAt" not in fire_http, fire_http
assert resolved["endsAt"] == "2026-01-01T00:40:00Z", resolved
assert resolved["startsAt"] == "2026-01-01T00:10:00Z", resolved
assert resolved["labels"] == labels, resolved
assert resolved["annotations"]["window"] == "2026-01-01T00:30:00Z/2026-01-01T00:40:00Z", resolved
assert resolved["annotations"]["id"] == aid, resolved
assert bare["labels"] == {"alertname": "assay_volume", "kind": "volume", "subject": "rows",
                          "severity": "high"}, bare
EOF
  then ok "encodings: labels, annotations, startsAt, endsAt on resolve, generatorURL"
  else bad "encodings"; cat "$T/encode.out"; fi
else
  bad "am_driver encode"
fi

# --- the sink's table and bounds, Alertmanager down ---------------------------
DEAD=$(free_port)
if "$DRIVER" local "http://127.0.0.1:$DEAD" > "$T/local.out" 2>&1; then
  ok "table, bound and timing checks against a dead Alertmanager"
else
  bad "table, bound and timing checks against a dead Alertmanager"
fi
sed 's/^/    /' "$T/local.out"

# --- a peer that accepts connections and never answers -----------------------
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
while True: time.sleep(60)' > "$T/hang.port" &
PIDS+=("$!")
if wait_for 10 test -s "$T/hang.port" && \
   "$DRIVER" hang "http://127.0.0.1:$(cat "$T/hang.port")" > "$T/hang.out" 2>&1; then
  ok "flush and close bounded while Alertmanager hangs"
else
  bad "flush and close bounded while Alertmanager hangs"
fi
sed 's/^/    /' "$T/hang.out" 2>/dev/null

# --- firing, then resolved, against a live Alertmanager -----------------------
P1=$(free_port)
start_am am1 "$P1"
AM1=$AM_PID
if ! wait_am am1 "$P1" "$AM1"; then
  bad "Alertmanager did not become ready on port $P1"
  echo "passed $pass, failed $((failn))"
  exit 1
fi
ok "Alertmanager ready on 127.0.0.1:$P1"

if "$DRIVER" fire "http://127.0.0.1:$P1" > "$T/fire.out" 2>&1; then
  ok "firing alert delivered and re-sent"
else
  bad "firing alert delivered and re-sent"
fi
sed 's/^/    /' "$T/fire.out"
ID=$(sed -n 's/^id //p' "$T/fire.out")
if msg=$(check_alerts "$P1" "" "$ID" present "http://127.0.0.1:8080/api/v1/alerts/$ID" 2>&1); then
  ok "GET /api/v2/alerts lists $ID with its labels, annotations, startsAt, state active"
else
  bad "GET /api/v2/alerts: $msg"
fi
if msg=$(check_alerts "$P1" "active=true" "$ID" present \
           "http://127.0.0.1:8080/api/v1/alerts/$ID" 2>&1); then
  ok "GET /api/v2/alerts?active=true lists it"
else
  bad "GET /api/v2/alerts?active=true: $msg"
fi

if "$DRIVER" resolve "http://127.0.0.1:$P1" > "$T/resolve.out" 2>&1; then
  ok "resolved record delivered"
else
  bad "resolved record delivered"
fi
sed 's/^/    /' "$T/resolve.out"
RID=$(sed -n 's/^id //p' "$T/resolve.out")
if [ -n "$ID" ] && [ "$RID" == "$ID" ]; then ok "the resolved record has the firing one's id"
else bad "resolved id '$RID' != firing id '$ID'"; fi
# Alertmanager 0.25 leaves an alert whose endsAt has passed out of every listing.
for q in "" "active=true" "active=false" "active=true&silenced=true&inhibited=true&unprocessed=true"; do
  if msg=$(check_alerts "$P1" "$q" "$ID" absent 2>&1); then
    ok "GET /api/v2/alerts${q:+?$q} no longer lists it"
  else
    bad "GET /api/v2/alerts${q:+?$q}: $msg"
  fi
done

# --- queued while Alertmanager is down, delivered once it is up ----------------
P2=$(free_port)
"$DRIVER" retry "http://127.0.0.1:$P2" "$T/queued" > "$T/retry.out" 2>&1 &
DRV=$!
PIDS+=("$DRV")
if wait_for 30 test -f "$T/queued"; then
  ok "alert queued and POSTs failing while Alertmanager is down"
else
  bad "the driver did not report failing POSTs within 30 s"
fi
start_am am2 "$P2"
AM2=$AM_PID
if wait_am am2 "$P2" "$AM2"; then
  ok "Alertmanager started on 127.0.0.1:$P2"
else
  bad "Alertmanager did not become ready on port $P2"
fi
wait "$DRV"
rc=$?
sed 's/^/    /' "$T/retry.out"
if [ $rc -eq 0 ]; then ok "the queued alert was delivered after the retry"
else bad "retry driver exited $rc"; fi
ID2=$(sed -n 's/^id //p' "$T/retry.out")
if msg=$(check_alerts "$P2" "" "$ID2" present "" 2>&1); then
  ok "the retried alert is in Alertmanager with its labels, annotations and startsAt"
else
  bad "after the retry: $msg"
fi

# --- assay run end to end --------------------------------------------------------
# 12 windows of 60 s (100 rows/s); email nulls at 50 % in windows 4-5. The first run
# sees windows 0-5 (the incident at its end, so its alerts stay firing), the second the
# grown file: windows 6-11 are clean and resolve them (resolve_after 2).
"$ASSAY" gen --rows 72000 --rate 100 --seed 5 --faults "null_email=0.5@4-5" -o "$T/full.csv" || exit 2
head -n 36001 "$T/full.csv" > "$T/stream.csv"
runcfg() { # $1 alertmanager url, $2 state dir, $3 alerts file
  cat <<EOF
asset: orders
source: {file: $T/stream.csv}
columns: [{name: created_at, type: timestamp}]
event_time: created_at
window: {size: 60s, lateness: 5s}
rules:
  - {name: email_not_null, column: email, check: not_null, threshold: 0.05, severity: high}
alerts: {resolve_after: 2}
state: {dir: $2}
sinks:
  scores: {file: $T/scores-$(basename "$2").ndjson}
  alerts: [{file: $3}, {alertmanager: {url: "$1"}}]
EOF
}
# am_ids PORT: the annotations.id of every alert Alertmanager lists, sorted
am_ids() {
  python3 - "$1" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/alerts", timeout=5) as r:
    print("\n".join(sorted(a["annotations"]["id"] for a in json.load(r)
                           if a["labels"].get("asset") == "orders" and "kind" in a["labels"])))
EOF
}
file_ids() { # $1 alerts file, $2 state: ids of the records in that state, sorted
  python3 -c 'import json, sys
print("\n".join(sorted(json.loads(l)["id"] for l in open(sys.argv[1]) if json.loads(l)["state"] == sys.argv[2])))' "$1" "$2"
}
P3=$(free_port)
start_am am3 "$P3"
AM3=$AM_PID
if wait_am am3 "$P3" "$AM3"; then
  runcfg "http://127.0.0.1:$P3" "$T/st1" "$T/run.alerts" > "$T/run.yaml"
  if "$ASSAY" run -c "$T/run.yaml" --threads 2 2> "$T/run1.err"; then
    ok "assay run with an alertmanager sink exits 0"
  else bad "assay run: $(cat "$T/run1.err")"; fi
  FIRING=$(file_ids "$T/run.alerts" firing)
  if [ -n "$FIRING" ] && grep -q '"kind":"rule_breach"' "$T/run.alerts"; then
    ok "the incident fired $(echo "$FIRING" | wc -l) alerts into the file sink"
  else bad "no firing alerts in the file sink: $(cat "$T/run.alerts")"; fi
  if wait_for 15 test "$(am_ids "$P3")" == "$FIRING"; then
    ok "Alertmanager lists exactly the run's firing alerts (same ids)"
  else bad "Alertmanager lists '$(am_ids "$P3")', the run fired '$FIRING'"; fi
  RB=$(python3 -c 'import json, sys
print([json.loads(l)["id"] for l in open(sys.argv[1]) if json.loads(l)["kind"] == "rule_breach"][0])' "$T/run.alerts")
  if msg=$(python3 - "$P3" "$RB" <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/alerts", timeout=5) as r:
    a = [a for a in json.load(r) if a["annotations"]["id"] == sys.argv[2]][0]
want = {"alertname": "assay_rule_breach", "asset": "orders", "kind": "rule_breach",
        "subject": "email_not_null", "severity": "high", "column": "email",
        "rule": "email_not_null"}
assert a["labels"] == want, a["labels"]
assert a["startsAt"].startswith("2026-01-01T00:04:00"), a["startsAt"]
assert a["status"]["state"] == "active", a["status"]
assert a["annotations"]["explanation"].startswith("null rate of email rose from"), a["annotations"]
assert a["annotations"]["window"] == "2026-01-01T00:04:00Z/2026-01-01T00:05:00Z", a["annotations"]
EOF
  ); then ok "the rule breach in Alertmanager: labels, startsAt of window 4, active"
  else bad "rule breach in Alertmanager: $msg"; fi

  cp "$T/full.csv" "$T/stream.csv"
  if "$ASSAY" run -c "$T/run.yaml" --threads 2 2> "$T/run2.err"; then
    ok "the resumed run over the grown file exits 0"
  else bad "resumed run: $(cat "$T/run2.err")"; fi
  RESOLVED=$(file_ids "$T/run.alerts" resolved)
  expect_eq "$RESOLVED" "$FIRING" "the resumed run resolved every alert the first one fired"
  if wait_for 15 test -z "$(am_ids "$P3")"; then
    ok "Alertmanager no longer lists them (endsAt sent on resolve)"
  else bad "still listed after resolve: $(am_ids "$P3")"; fi
  if ! grep -q "cannot deliver\|POSTs failed" "$T/run1.err" "$T/run2.err"; then
    ok "no delivery complaints while Alertmanager is up"
  else bad "delivery complaints: $(cat "$T/run1.err" "$T/run2.err")"; fi
else
  bad "Alertmanager did not become ready on port $P3"
fi

# Alertmanager down: the run finishes every window, tells the user, counts the failures.
DEAD2=$(free_port)
runcfg "http://127.0.0.1:$DEAD2" "$T/st2" "$T/down.alerts" > "$T/down.yaml"
"$ASSAY" run -c "$T/down.yaml" --threads 2 2> "$T/down.err"
rc=$?
expect_eq "$rc" "0" "assay run with Alertmanager down exits 0"
windows() { python3 -c 'import json, sys
print(" ".join(sorted({json.loads(l)["window_start"] for l in open(sys.argv[1])})))' "$1"; }
expect_eq "$(windows "$T/scores-st2.ndjson")" "$(windows "$T/scores-st1.ndjson")" \
  "every window's score written while Alertmanager is down (as with it up)"
expect_eq "$(file_ids "$T/down.alerts" firing)" "$(file_ids "$T/run.alerts" firing)" \
  "the same alerts fire (same ids) with Alertmanager down"
if grep -q "alertmanager http://127.0.0.1:$DEAD2: cannot deliver alerts" "$T/down.err" &&
   grep -Eq "alertmanager http://127.0.0.1:$DEAD2: 0 POSTs delivered 0 alerts, [1-9][0-9]* POSTs failed \(last: .+\); [1-9][0-9]* alerts undelivered" "$T/down.err"; then
  ok "the run reports the failing sink once and the failed POSTs at the end"
else bad "down report: $(cat "$T/down.err")"; fi
expect_eq "$(grep -c 'cannot deliver alerts' "$T/down.err")" "1" "the failure is reported once, not per window"

echo "passed $pass, failed $failn"
[ $failn -eq 0 ]
