#!/usr/bin/env bash
# run.sh - runs each libFuzzer target for a set time (make fuzz).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# Seeds come from tests/fuzz/corpus/TARGET (never written); new inputs go
# to BUILD_DIR/corpus/TARGET, the log to BUILD_DIR/TARGET.log, a crash to
# BUILD_DIR/crash-TARGET-*.  Prints libFuzzer's final figures per target
# and exits 1 when any target found something.
set -u
cd "$(dirname "$0")/../.."
build=$1 secs=$2
shift 2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fail=0
printf '%-10s %6s %10s %8s %6s %6s %7s\n' target secs execs exec/s cov ft corpus
for t in "$@"; do
    mkdir -p "$build/corpus/$t"
    "$build/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$build/crash-$t-" \
        "$build/corpus/$t" "tests/fuzz/corpus/$t" >"$build/$t.log" 2>&1
    rc=$?
    # The last status line: "#N DONE|pulse|NEW cov: C ft: F corp: K/.. exec/s: E"
    last=$(grep -E '^#[0-9]+' "$build/$t.log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$build/$t.log")
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    printf '%-10s %6s %10s %8s %6s %6s %7s\n' "$t" "$secs" "${execs:-?}" \
        "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
    if [ $rc -ne 0 ]; then
        echo "fuzz_$t: FAILED (rc $rc), see $build/$t.log and $build/crash-$t-*"
        grep -m5 -E 'ERROR|SUMMARY|runtime error' "$build/$t.log"
        fail=1
    fi
done
exit $fail
