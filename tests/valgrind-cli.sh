#!/bin/sh
# valgrind-cli.sh BINARY - the CLI paths under valgrind (make valgrind):
# validate, plan, run (a small run with a retry, error records and a
# payload), status, errors (text, jsonl, csv), logs, events, audit, summary,
# metrics, retry and set without a runtime, emit, and the usual error paths
# (a bad spec, an unknown run, an unknown partition). Every invocation must
# be free of memory errors and of definite or indirect leaks
# (--errors-for-leak-kinds=definite,indirect); "still reachable" at exit is
# allowed. Prints one line per command and "N clean, N dirty".
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v valgrind >/dev/null || { echo "valgrind-cli: valgrind is not installed (.ci/install-deps)"; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-vg.XXXXXX")
export HOME=$T NIGHTSHIFT_DB=$T/db/ns.db
clean=0 dirty=0
vg() {
    _name=$1
    shift
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --log-file="$T/vg.log" "$BIN" "$@" >"$T/out" 2>&1 </dev/null
    _rc=$?
    if [ "$_rc" -eq 99 ] || [ -s "$T/vg.log" ]; then
        dirty=$((dirty + 1))
        echo "DIRTY $_name (exit $_rc)"
        sed 's/^/    /' "$T/vg.log" | head -40
    else
        clean=$((clean + 1))
        echo "clean $_name (exit $_rc)"
    fi
}
cat >"$T/job.yaml" <<'YAML'
name: vg
command: [sh, -c, 'echo "total 2" >&3; echo "progress 1" >&3; printf "error/3 k1 bad one\n\001\002\003\n" >&3; echo "checkpoint one" >&3; echo out; [ "$NIGHTSHIFT_ATTEMPT" -gt 1 ] || [ "$NIGHTSHIFT_PARTITION_KEY" != b ] || exit 75']
partitions:
  list: [a, b, c]
retry: {attempts: 2, backoff: 10ms, jitter: 0}
on_exit: {75: retry}
YAML
printf 'name: bad\ncommand: [true]\ntimeout: soon\npartitions: {list: [a]}\n' >"$T/bad.yaml"
vg "validate" validate "$T/job.yaml"
vg "validate a bad spec" validate "$T/bad.yaml"
vg "plan" plan "$T/job.yaml"
vg "plan --json" plan "$T/job.yaml" --json
vg "run" run "$T/job.yaml"
vg "run again (already succeeded)" run "$T/job.yaml"
vg "status" status
vg "status RUN" status 1
vg "status --json" status 1 --json
vg "errors" errors 1
vg "errors --format jsonl" errors 1 --format jsonl
vg "errors --format csv" errors 1 --format csv
vg "errors --group" errors 1 --group
vg "errors --partition 99 (unknown)" errors 1 --partition 99
vg "logs" logs 1 0
vg "events" events 1
vg "audit" audit 1
vg "summary" summary 1
vg "metrics" metrics 1
vg "retry without a runtime" retry 1 --failed
vg "set without a runtime" set 1 concurrency=2
vg "set concurrency=0" set 1 concurrency=0
vg "status of an unknown run" status 99
vg "emit outside a worker" emit progress 3
vg "--help" --help
echo "$clean clean, $dirty dirty"
rm -rf "$T"
[ "$dirty" -eq 0 ]
