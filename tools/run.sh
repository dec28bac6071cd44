#!/usr/bin/env bash
# run.sh - "make run": the exporter on its embedded default configuration,
# reading seed-shaped access logs that tools/loggen appends live, with the
# dimension CSVs loggen writes.  Ctrl-C stops both.
#
#   GWLOG_RUN_DIR  where logs and CSVs go        (default /tmp/gwlog_run)
#   GWLOG_ADDR     --web.listen-address           (default :3913)
#   RATE           lines per second               (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${GWLOG_RUN_DIR:-/tmp/gwlog_run}
addr=${GWLOG_ADDR:-:3913}
rate=${RATE:-200}
port=${addr##*:}

mkdir -p "$dir/dims"
: > "$dir/access.log"                       # a fresh log each run
build/loggen --dims-dir="$dir/dims"
build/loggen --rate="$rate" --awkward --garbage=0.01 --output="$dir/access.log" &
gen=$!
trap 'kill $gen 2>/dev/null || true' EXIT INT TERM

echo "gwlog_exporter: metrics at http://127.0.0.1:$port/metrics"
echo "  logs: $dir/access.log ($rate lines/s from tools/loggen), dimensions: $dir/dims"
echo "  Ctrl-C stops it."
build/gwlog_exporter --input.path="$dir/access.log" --dims.dir="$dir/dims" \
    --web.listen-address="$addr"
