#!/bin/sh
# run.sh - `make bench`: tests/bench/bench.py measures every row of the scale
# table side by side and writes docs/benchmarks.md (see bench.py for what each
# row is and the knobs: BENCH_QUICK=1 for a short smoke run, BENCH_RUNS,
# BENCH_OUT, BENCH_BASELINE).
#
#   tests/bench/run.sh BIN        (BIN: the nightshift binary, e.g. build/nightshift)
set -eu
[ $# -eq 1 ] || { echo "usage: tests/bench/run.sh BIN" >&2; exit 2; }
BUILD=$(cd "$(dirname "$1")" && pwd)
exec python3 "$(dirname "$0")/bench.py" "$BUILD"
