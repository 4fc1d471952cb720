#!/usr/bin/env bash
# Run a libFuzzer target for a fixed number of runs over its seed corpus. New inputs go
# to a scratch directory (libFuzzer writes into the first corpus it is given), so the
# checked-in corpus stays as committed. Usage: run.sh TARGET CORPUS_DIR [RUNS]
#
# The mutation seed is fixed (FUZZ_SEED, default 1) so that a CI run on unchanged code
# repeats the last one; explore with another seed or more runs, e.g.
#   FUZZ_SEED=$RANDOM tests/fuzz/run.sh build-fuzz/tests/fuzz/fuzz_sketch tests/fuzz/corpus/sketch 2000000
# A crashing input is printed in base64, so a CI log is enough to reproduce it:
#   base64 -d > crash <<< '...'; build-fuzz/tests/fuzz/fuzz_NAME crash
set -uo pipefail
target=$1 corpus=$2 runs=${3:-20000}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/new" "$scratch/art"
"$target" -runs="$runs" -seed="${FUZZ_SEED:-1}" -max_len=8192 -rss_limit_mb=2048 -timeout=20 \
  -artifact_prefix="$scratch/art/" "$scratch/new" "$corpus"
rc=$?
for f in "$scratch"/art/*; do
  [ -e "$f" ] || continue
  echo "fuzz input that failed ($(basename "$f"), $(stat -c %s "$f") bytes), base64:"
  base64 -w 0 "$f"
  echo
done
exit $rc
