#!/usr/bin/env bash
# Rebuild the checkpoint fuzzer's seed (tests/fuzz/corpus/checkpoint/open_windows) after
# the checkpoint format changes: run the fuzz hook's job (src/state/checkpoint.c,
# assay_checkpoint__fuzz) over 40 generated rows with source.follow, stop it with
# SIGTERM so its windows stay open in the checkpoint, and keep the sections (the file
# without its 16-byte header and 8-byte checksum, which the hook supplies).
# Usage: tools/checkpoint_seed.sh [PATH/TO/assay]
set -euo pipefail
ASSAY=$(readlink -f "${1:-build/src/assay}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
python3 - "$D/d.csv" <<'EOF'
import random, sys
random.seed(4)
with open(sys.argv[1], "w") as f:
    f.write("t,x,y\n")
    for i in range(40):
        s = i * 0.1
        x = "" if i % 97 == 0 else ("%.2f" % random.gauss(10, 2) if i % 13 else "7.00")
        f.write("2026-01-01T00:%02d:%06.3fZ,%s,%d\n" % (int(s // 60), s % 60, x, i % 5))
EOF
mkdir "$D/st"
cat > "$D/f.yaml" <<EOF
asset: f
source: {file: $D/d.csv, follow: true}
event_time: t
window: {size: 60s, slide: 30s}
columns: [{name: t, type: timestamp}, {name: x, type: float}]
rules: [{column: x, check: unique}, {column: x, check: not_null}]
limits: {samples: 3}
alerts: {drift: {columns: [x], baseline: 2}}
state: {dir: $D/st}
EOF
"$ASSAY" run -c "$D/f.yaml" 2> /dev/null &
pid=$!
# the start-up checkpoint exists at once; wait until the rows were read (the file
# grows no more, so one more interval's worth is enough), then stop
for _ in $(seq 100); do [ -s "$D/st/checkpoint.bin" ] && break; sleep 0.05; done
sleep 1
kill -TERM "$pid"
wait "$pid"
python3 - "$D/st/checkpoint.bin" "$ROOT/tests/fuzz/corpus/checkpoint/open_windows" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"ACKP", "not a checkpoint"
open(sys.argv[2], "wb").write(d[16:-8])
print(f"{sys.argv[2]}: {len(d) - 24} bytes, format {int.from_bytes(d[4:8], 'little')}")
EOF
