#!/usr/bin/env bash
# bench/peer/compare.sh - assay against DuckDB on the same file, in the same run.
#
#   bench/peer/compare.sh [--rows N] [--threads N] [--runs K] [--assay PATH]
#                         [--json OUT] [FILE]
#
# Both sides do the same work on FILE (generated with `assay gen --rows N --seed 1`
# into the scratch directory when not given, and reused from there):
#   - assay:  `assay check -c bench/peer/peer.yaml --json --threads N FILE`; the JSON
#             holds the column profile and the four rule counts. Wall time of the process.
#   - DuckDB: one SQL query over read_csv(FILE) with `SET threads = N`
#             (bench/peer/duckdb_run.mjs timed); wall time of the query, CSV read included.
# Then, untimed, DuckDB computes exact answers (count(DISTINCT), quantile_disc); they are
# cached next to the file (keyed by path, size and mtime). The timed pair runs K times
# (default 3), interleaved, and the minimum of each side is reported with the ratio
# DuckDB / assay.
#
# Scratch directory: ${TMPDIR:-/tmp}/assay-peer (ASSAY_PEER_DIR overrides). The npm
# package @duckdb/node-api (a bundled native DuckDB) is installed there when missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rows=10000000
threads=2
runs=3
assay=""
json_out=""
file=""

usage() {
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit "${1:-2}"
}
while [ $# -gt 0 ]; do
    case "$1" in
    --rows) rows=${2:?--rows needs a value}; shift 2 ;;
    --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --assay) assay=${2:?--assay needs a path}; shift 2 ;;
    --json) json_out=${2:?--json needs a path}; shift 2 ;;
    -h | --help) usage 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$file" ] || { echo "compare.sh: one FILE only" >&2; exit 2; }; file=$1; shift ;;
    esac
done
for v in rows threads runs; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --$v must be a positive integer, got '${!v}'" >&2; exit 2; }
done

# The assay binary: --assay, else the first built one among the usual build directories.
if [ -z "$assay" ]; then
    for b in build-peer build build-ci; do
        if [ -x "$root/$b/src/assay" ]; then assay="$root/$b/src/assay"; break; fi
    done
fi
if [ -z "$assay" ] || [ ! -x "$assay" ]; then
    echo "compare.sh: no assay binary (build it: meson setup build && ninja -C build, or pass --assay PATH)" >&2
    exit 2
fi
command -v node >/dev/null || { echo "compare.sh: node (>= 18) is needed for the DuckDB side" >&2; exit 2; }

dir=${ASSAY_PEER_DIR:-${TMPDIR:-/tmp}/assay-peer}
mkdir -p "$dir"

# DuckDB for Node, into the scratch directory, only when missing.
if [ ! -d "$dir/node_modules/@duckdb/node-api" ]; then
    echo "installing @duckdb/node-api into $dir ..." >&2
    npm install --silent --no-audit --no-fund --prefix "$dir" @duckdb/node-api >&2
fi

# The input.
if [ -z "$file" ]; then
    file="$dir/orders-$rows.csv"
    if [ ! -s "$file" ]; then
        echo "generating $file ($rows rows, seed 1) ..." >&2
        "$assay" gen --rows "$rows" --seed 1 -o "$file.tmp"
        mv "$file.tmp" "$file"
    fi
fi
[ -r "$file" ] || { echo "compare.sh: cannot read $file" >&2; exit 2; }
file=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

work=$(mktemp -d "$dir/run.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Exact answers (untimed), cached per file version.
key=$(printf '%s %s %s' "$file" "$(stat -c %s "$file")" "$(stat -c %Y "$file")" | sha1sum | cut -c1-16)
exact="$dir/exact-$key.json"
if [ ! -s "$exact" ]; then
    echo "computing exact answers with DuckDB (untimed, once per file) ..." >&2
    node "$here/duckdb_run.mjs" exact --file "$file" --threads "$threads" --modules "$dir" >"$exact.tmp"
    mv "$exact.tmp" "$exact"
fi

# Bring the file into the page cache so that neither side pays the first disk read.
cat "$file" >/dev/null

assay_walls=""
duck_walls=""
duck_proc_walls=""
for i in $(seq 1 "$runs"); do
    t0=$(now)
    rc=0
    "$assay" check -c "$here/peer.yaml" --json --threads "$threads" "$file" >"$work/assay.json" || rc=$?
    t1=$(now)
    # exit 1 means "a rule breached", which this data is made to do
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "compare.sh: assay check failed (exit $rc)" >&2
        exit 2
    fi
    assay_walls+=" $(elapsed "$t0" "$t1")"

    t0=$(now)
    node "$here/duckdb_run.mjs" timed --file "$file" --threads "$threads" --modules "$dir" >"$work/duckdb.json"
    t1=$(now)
    duck_proc_walls+=" $(elapsed "$t0" "$t1")"
    duck_walls+=" $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).query_seconds.toFixed(3))' "$work/duckdb.json")"
    echo "run $i/$runs: assay$(echo "$assay_walls" | awk '{print " " $NF}') s, DuckDB query$(echo "$duck_walls" | awk '{print " " $NF}') s" >&2
done

echo "file: $file ($(stat -c %s "$file") bytes), threads: $threads, assay: $assay"
echo ""
node "$here/duckdb_run.mjs" report --assay "$work/assay.json" --duckdb "$work/duckdb.json" \
    --exact "$exact" --assay-walls "$assay_walls" --duckdb-walls "$duck_walls" \
    --duckdb-process-walls "$duck_proc_walls" ${json_out:+--json "$json_out"}
