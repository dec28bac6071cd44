#!/usr/bin/env bash
# bench.sh - "make bench": runs tools/bench.py (see there).
exec python3 "$(dirname "$0")/bench.py" "$@"
