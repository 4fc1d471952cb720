#!/usr/bin/env bash
# Run a libFuzzer target for a fixed number of runs over its seed corpus. New inputs go
# to a scratch directory (libFuzzer writes into the first corpus it is given), so the
# checked-in corpus stays as committed. Usage: run.sh TARGET CORPUS_DIR [RUNS]
set -euo pipefail
target=$1 corpus=$2 runs=${3:-20000}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
exec "$target" -runs="$runs" -max_len=8192 -rss_limit_mb=2048 -timeout=20 \
  -artifact_prefix="$scratch/" "$scratch" "$corpus"
