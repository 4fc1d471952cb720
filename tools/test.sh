#!/usr/bin/env bash
# The README's second command: every test. Builds with -Werror (gcc), runs the unit and
# integration tests, then again under ASan+UBSan (clang), then the libFuzzer targets
# over their corpora for a fixed number of runs.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh >/dev/null

run() { echo "+ $*"; "$@"; }

# 0. layout: clang-format with the repo's .clang-format is the single source of truth
echo "+ clang-format --dry-run --Werror (all C sources)"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

# 1. release build, warnings are errors
[ -d build-ci ] || run meson setup build-ci --buildtype=release -Dwerror=true >/dev/null
run ninja -C build-ci
run meson test -C build-ci --print-errorlogs --num-processes 2

# 2. ASan + UBSan build of every test (jemalloc off there)
[ -d build-asan ] || CC=clang CXX=clang++ run meson setup build-asan --buildtype=debug \
  -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false -Djemalloc=disabled >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 4

# 3. fuzz targets: a fixed number of runs over each seed corpus
[ -d build-fuzz ] || CC=clang CXX=clang++ run meson setup build-fuzz --buildtype=debugoptimized \
  -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Djemalloc=disabled >/dev/null
run meson test -C build-fuzz --suite fuzz --print-errorlogs --num-processes 2
echo "tools/test.sh: all suites passed"
