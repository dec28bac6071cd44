#!/usr/bin/env bash
# bench.sh - "make bench": --one-shot ingest throughput on seed-shaped
# 4-5 KB lines, as a ratio to `wc -l` on the same file (page cache warm),
# measured in one run, medians of RUNS runs.
#
#   BENCH_DIR   scratch directory       (default /tmp/gwlog_bench)
#   BENCH_LINES lines in the corpus     (default 200000, about 900 MB)
#   RUNS        runs per measurement    (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${BENCH_DIR:-/tmp/gwlog_bench}
lines=${BENCH_LINES:-200000}
runs=${RUNS:-5}
mkdir -p "$dir/dims"
log=$dir/access.log

if [ ! -s "$log" ] || [ "$(wc -l < "$log")" -ne "$lines" ]; then
    rm -f "$log"
    build/loggen --dims-dir="$dir/dims"
    build/loggen --lines="$lines" --seed=42 --output="$log"
fi
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null                      # warm the page cache

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() {                                  # prints nanoseconds of one run
    local t0 t1
    t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N)
    echo $((t1 - t0))
}

wc_s=$(for i in $(seq "$runs"); do timeit wc -l "$log"; done | median)
ex_s=$(for i in $(seq "$runs"); do
    timeit build/gwlog_exporter --one-shot --input.path="$log" \
        --dims.dir="$dir/dims"
done | median)

awk -v b="$bytes" -v n="$lines" -v w="$wc_s" -v e="$ex_s" 'BEGIN {
    w /= 1e9; e /= 1e9
    printf "corpus: %d lines, %.1f MB, %.0f bytes/line\n", n, b/1e6, b/n
    printf "wc -l:             %8.3f s  %8.1f MB/s\n", w, b/1e6/w
    printf "gwlog --one-shot:  %8.3f s  %8.1f MB/s  %9.0f lines/s\n", e, b/1e6/e, n/e
    printf "ratio to wc -l:    %8.1fx\n", e/w
}'
