#!/bin/sh
# An operator who stops a runtime that waits for its end hook does not wait
# out hooks.timeout: SIGTERM ends the hook (TERM to its group, KILL after
# stop_grace), the hook's event says so, and the runtime exits promptly with
# the run's outcome already recorded.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/spec"
cat >"$T/spec/hook.yaml" <<YAML
name: hook-stop
partitions:
  list: [a, b]
command: ["true"]
stop_grace: 2s
hooks:
  on_success: ["sh", "-c", "echo \$\$ > $T/hook.pid; trap 'exit 0' TERM; sleep 120 & wait"]
  timeout: 10m
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/spec/hook.yaml"
rt=$SPAWNED
wait_for "the on_success hook runs" 30 test -s "$T/hook.pid"
hook=$(cat "$T/hook.pid")
is "the run's outcome is recorded before the hook ends" "$(sql "SELECT state FROM runs WHERE id = 1")" succeeded
t0=$(now_ms)
kill -s TERM "$rt"
wait_for "the runtime exits after SIGTERM" 20 pid_gone "$rt"
t1=$(now_ms)
diag "runtime exited $((t1 - t0)) ms after SIGTERM (hooks.timeout 10m, stop_grace 2s)"
check "the hook is gone" pid_gone "$hook"
like "the hook's event says the runtime was told to stop" \
    "$(sql "SELECT message FROM events WHERE kind = 'hook' ORDER BY id DESC LIMIT 1")" \
    "hook on_success was ended after .*: the runtime was told to stop"
is "the run stays succeeded" "$(sql "SELECT state FROM runs WHERE id = 1")" succeeded
done_testing
