#!/usr/bin/env bash
# valgrind.sh - memcheck on the exporter (make valgrind).
#
#   tests/valgrind.sh [BUILD_DIR]
#
# 1. --one-shot over a loggen corpus (awkward JSON, garbage lines) with
#    the dimension CSVs: no memcheck error, no leak, and the same
#    exposition as without valgrind.
# 2. A live run with --state.dir: tail a file while lines are appended,
#    two scrapes (one gzip), a CSV reload, SIGTERM (final checkpoint):
#    no memcheck error, no leak.
# Exits 1 on any error or leak (valgrind --error-exitcode=1).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
exe=$build/gwlog_exporter
loggen=build/loggen
dir=$(mktemp -d /tmp/gwlog_valgrind.XXXXXX)
trap 'rm -rf "$dir"' EXIT
vg=(valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=all
    --errors-for-leak-kinds=definite,indirect,possible --track-origins=yes)

command -v valgrind >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends valgrind >/dev/null; }

"$loggen" --dims-dir="$dir/dims" >/dev/null
"$loggen" --lines=3000 --seed=11 --awkward --garbage=0.05 \
    --time=1768484243 --output="$dir/access.log"

echo "valgrind: --one-shot over 3000 lines"
"$exe" --one-shot --input.path="$dir/access.log" --dims.dir="$dir/dims" \
    > "$dir/plain.prom" 2>"$dir/plain.err"
"${vg[@]}" --log-file="$dir/oneshot.vg" "$exe" --one-shot \
    --input.path="$dir/access.log" --dims.dir="$dir/dims" > "$dir/vg.prom" \
    2>"$dir/oneshot.err" || { cat "$dir/oneshot.vg"; echo "valgrind: --one-shot FAILED"; exit 1; }
[ -s "$dir/oneshot.vg" ] && { cat "$dir/oneshot.vg"; exit 1; }
grep -v '^process_\|^gwlog_build_info\|^# \|_timestamp_seconds' "$dir/plain.prom" > "$dir/a"
grep -v '^process_\|^gwlog_build_info\|^# \|_timestamp_seconds' "$dir/vg.prom" > "$dir/b"
cmp -s "$dir/a" "$dir/b" || { echo "valgrind: expositions differ"; exit 1; }
echo "ok    --one-shot: no error, no leak, same exposition"

echo "valgrind: live run (tail, scrapes, CSV reload, SIGTERM)"
mkdir -p "$dir/state"
: > "$dir/live.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${vg[@]}" --log-file="$dir/live.vg" "$exe" \
    --web.listen-address=127.0.0.1:$port --input.path="$dir/live.log" \
    --dims.dir="$dir/dims" --state.dir="$dir/state" 2>"$dir/live.err" &
pid=$!
for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break
    sleep 0.2
done
head -n 1500 "$dir/access.log" >> "$dir/live.log"
sleep 1
curl -sf "http://127.0.0.1:$port/metrics" > "$dir/scrape1"
echo "1.2.3.4,x,y" >> "$dir/dims/gateway_cluster.csv"
tail -n 1500 "$dir/access.log" >> "$dir/live.log"
sleep 2
curl -sf --compressed "http://127.0.0.1:$port/metrics" > "$dir/scrape2"
curl -s -o /dev/null "http://127.0.0.1:$port/nope" || true
kill -TERM $pid
rc=0
wait $pid || rc=$?
if [ $rc -ne 0 ] || [ -s "$dir/live.vg" ]; then
    cat "$dir/live.vg"; tail -5 "$dir/live.err"
    echo "valgrind: live run FAILED (rc $rc)"; exit 1
fi
ok=$(grep -c '^gwlog_lines_total{result=' "$dir/scrape2" || true)
lines=$(awk -F' ' '/^gwlog_lines_total/ {s += $2} END {print s}' "$dir/scrape2")
[ "$lines" = 3000 ] || { echo "valgrind: live run counted $lines lines, want 3000"; exit 1; }
[ -s "$dir/state/checkpoint.a.gz" ] || [ -s "$dir/state/checkpoint.b.gz" ] \
    || { echo "valgrind: no checkpoint written"; exit 1; }
echo "ok    live run: no error, no leak, 3000 lines counted ($ok result series)"
