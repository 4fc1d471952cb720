#!/usr/bin/env bash
# The README's first command: install what is missing, build, generate a sample of
# orders data with realistic defects, and check it against examples/orders.yaml.
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
  0) echo "demo: exit status 0 - the data passed every rule" ;;
  1) echo "demo: exit status 1 - the data failed rules (as the generated defects intend)" ;;
  *) echo "demo: exit status $status - error"; exit "$status" ;;
esac
