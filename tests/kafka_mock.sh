#!/usr/bin/env bash
# The mock-cluster launcher (tools/kafka_mock.c) against real clients: kcat produces to
# and consumes from a topic it created (every message back, per partition), metadata
# shows a leader move, a broker taken down refuses connections and serves again once
# up, pushed request errors and bad commands are answered, and quit ends the process.
# Waits are bounded; only the launcher's PID is killed.
# Usage: kafka_mock.sh PATH/TO/assay-kafka-mock
set -uo pipefail
MOCK=$(readlink -f "$1")
T=$(mktemp -d)
MOCK_PID=
cleanup() {
  if [ -n "$MOCK_PID" ]; then
    kill "$MOCK_PID" 2>/dev/null
    wait "$MOCK_PID" 2>/dev/null
  fi
  rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"
if ! command -v kcat >/dev/null; then
  echo "SKIP: kcat not installed (apt-get install kcat)"
  exit 77
fi

mkfifo "$T/in"
"$MOCK" --brokers 3 --topic orders:3 < "$T/in" > "$T/out" 2> "$T/err" &
MOCK_PID=$!
exec 3> "$T/in"   # keep its stdin open; commands go through fd 3
n_lines() { wc -l < "$T/out"; }
# cmd LINE: send one command, wait (at most 10 s) for its one-line answer, print it
cmd() {
  local before; before=$(n_lines)
  echo "$1" >&3
  local end=$((SECONDS + 10))
  while [ "$(n_lines)" -le "$before" ]; do
    [ $SECONDS -ge $end ] && { echo "timeout"; return; }
    sleep 0.02
  done
  sed -n "$((before + 1))p" "$T/out"
}
end=$((SECONDS + 10))
until grep -q '^bootstrap ' "$T/out" || [ $SECONDS -ge $end ]; do sleep 0.02; done
BOOT=$(sed -n 's/^bootstrap //p' "$T/out")
if [ -n "$BOOT" ]; then ok "bootstrap $BOOT"; else bad "no bootstrap line: $(cat "$T/err")"; exit 1; fi

# produce 300 keyed messages, read them back
seq 1 300 | sed 's/.*/k&:v&/' | kcat -P -b "$BOOT" -t orders -K: 2> "$T/p.err"
kcat -C -b "$BOOT" -t orders -e -q -f '%p %k %s\n' > "$T/c.out" 2> "$T/c.err"
if [ "$(wc -l < "$T/c.out")" -eq 300 ] && [ "$(cut -d' ' -f3 "$T/c.out" | sort -u | wc -l)" -eq 300 ] &&
   [ "$(cut -d' ' -f1 "$T/c.out" | sort -u | tr '\n' ' ')" == "0 1 2 " ]; then
  ok "kcat produced 300 messages and consumed all of them from 3 partitions"
else
  bad "consume: $(wc -l < "$T/c.out") messages; $(head -c 300 "$T/c.err")"
fi

leader_of() { # $1 partition
  kcat -L -b "$BOOT" -t orders 2>/dev/null | sed -n "s/.*partition $1, leader \([0-9-]*\),.*/\1/p"
}
r=$(cmd "leader orders 0 2")
if [ "$r" == "ok" ] && [ "$(leader_of 0)" == "2" ]; then ok "leader move shows in metadata"
else bad "leader move: answer '$r', leader '$(leader_of 0)'"; fi
r=$(cmd "leader orders 0 3")
[ "$(leader_of 0)" == "3" ] && ok "and moves again" || bad "second leader move: $(leader_of 0)"

# all brokers down: metadata fails; up again: it works
r=$(cmd "down -1")
if [ "$r" == "ok" ] && ! timeout 20 kcat -L -b "$BOOT" -m 2 > /dev/null 2>&1; then
  ok "brokers down refuse clients"
else bad "down: answer '$r', metadata still answered"; fi
r=$(cmd "up -1")
if [ "$r" == "ok" ] && timeout 20 kcat -L -b "$BOOT" -t orders > /dev/null 2>&1; then ok "brokers up serve again"
else bad "up: answer '$r'"; fi

# pushed errors: the next produce request fails once, kcat's retry delivers
r=$(cmd "errors Produce 1 NOT_LEADER_FOR_PARTITION")
echo "k:after-error" | kcat -P -b "$BOOT" -t orders -p 1 -K: 2> "$T/p2.err"
kcat -C -b "$BOOT" -t orders -p 1 -e -q -f '%s\n' > "$T/c2.out" 2>/dev/null
if [ "$r" == "ok" ] && grep -qx "after-error" "$T/c2.out"; then ok "a pushed produce error is retried through"
else bad "errors: answer '$r'; $(tail -2 "$T/c2.out")"; fi
r=$(cmd "rtt 1 5"); [ "$r" == "ok" ] && ok "rtt accepted" || bad "rtt: $r"
r=$(cmd "coordinator group g1 2"); [ "$r" == "ok" ] && ok "coordinator move accepted" || bad "coordinator: $r"
r=$(cmd "topic more 4"); [ "$r" == "ok" ] && kcat -L -b "$BOOT" -t more 2>/dev/null | grep -q "4 partitions" &&
  ok "topic created at runtime with 4 partitions" || bad "topic: $r"

# bad commands get an error answer and the launcher goes on
for c in "bogus" "down 9" "errors NoSuchApi 1 REQUEST_TIMED_OUT" "errors Produce 2 A B C" "leader orders x 1"; do
  r=$(cmd "$c")
  case "$r" in error:*) ok "'$c' -> $r" ;; *) bad "'$c' answered '$r'" ;; esac
done

r=$(cmd "quit")
end=$((SECONDS + 10))
while kill -0 "$MOCK_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
wait "$MOCK_PID"; rc=$?
MOCK_PID=
if [ "$r" == "ok" ] && [ $rc -eq 0 ]; then ok "quit ends it with status 0"; else bad "quit: '$r', rc $rc"; fi
exec 3>&-
echo "kafka_mock: $pass passed, $failn failed"
[ $failn -eq 0 ]
