#!/usr/bin/env bash
# run.sh - "make run": the exporter on its embedded default configuration,
# reading seed-shaped access logs that tools/loggen appends live, with the
# dimension CSVs loggen writes.  Ctrl-C stops everything.
#
# The log is rotated by the real logrotate (copytruncate, as many gateways
# are set up; loggen appends with O_APPEND) whenever it passes ROTATE_SIZE,
# checked every 10 s, keeping one plain and one gzipped copy: the demo
# stays bounded (about 2 x ROTATE_SIZE + a small .gz, whatever the run
# time) and the status page shows the rotations.
#
#   GWLOG_RUN_DIR  where logs and CSVs go        (default /tmp/gwlog_run)
#   GWLOG_ADDR     --web.listen-address           (default :3913)
#   RATE           lines per second               (default 200, ~0.9 MB/s)
#   ROTATE_SIZE    logrotate's size threshold     (default 32M)
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${GWLOG_RUN_DIR:-/tmp/gwlog_run}
addr=${GWLOG_ADDR:-:3913}
rate=${RATE:-200}
size=${ROTATE_SIZE:-32M}
port=${addr##*:}

command -v logrotate >/dev/null || { echo "run.sh: logrotate missing (make deps-run)" >&2; exit 1; }
mkdir -p "$dir/dims"
rm -f "$dir"/access.log.*                   # a fresh log each run
: > "$dir/access.log"
cat > "$dir/logrotate.conf" <<CONF
$dir/access.log {
    size $size
    rotate 2
    copytruncate
    compress
    delaycompress
    missingok
    notifempty
}
CONF
chmod 0644 "$dir/logrotate.conf"            # logrotate refuses writable configs
rm -f "$dir/logrotate.state"

build/loggen --dims-dir="$dir/dims"
build/loggen --rate="$rate" --awkward --garbage=0.01 --output="$dir/access.log" &
gen=$!
( while sleep 10; do
      logrotate -s "$dir/logrotate.state" "$dir/logrotate.conf" \
          || echo "run.sh: logrotate failed" >&2
  done ) &
rot=$!
trap 'kill $gen $rot 2>/dev/null || true' EXIT INT TERM

echo "gwlog_exporter: metrics at http://127.0.0.1:$port/metrics, status page at http://127.0.0.1:$port/"
echo "  logs: $dir/access.log ($rate lines/s from tools/loggen), dimensions: $dir/dims"
echo "  rotated by logrotate (copytruncate) past $size: $dir/access.log.1, access.log.2.gz"
echo "  Ctrl-C stops it."
build/gwlog_exporter --input.path="$dir/access.log" --dims.dir="$dir/dims" \
    --web.listen-address="$addr"
