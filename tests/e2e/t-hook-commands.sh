#!/bin/sh
# Commands sent while the runtime waits for its end hook are answered at
# once (issue 18, item 8): the runtime refuses them with the reason instead
# of leaving them "not decided after 5s" for a runtime that is not coming.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/spec"
cat >"$T/spec/fails.yaml" <<YAML
name: hook-cmd
partitions:
  list: [a]
command: ["false"]
retry: {attempts: 1}
hooks:
  on_failure: ["sh", "-c", "echo \$\$ > $T/hook.pid; sleep 8"]
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/spec/fails.yaml"
rt=$SPAWNED
wait_for "the on_failure hook runs" 30 test -s "$T/hook.pid"
is "the run has ended failed" "$(sql "SELECT state FROM runs WHERE id = 1")" failed
for verb in pause resume stop "retry 1 key:a"; do
    t0=$(now_ms)
    # shellcheck disable=SC2086
    out=$(ns $(echo "$verb" | cut -d' ' -f1) 1 $(echo "$verb" | cut -s -d' ' -f3-) 2>&1)
    took=$(($(now_ms) - t0))
    like "$verb is answered: refused with the reason" "$out" "the run has ended \\(failed\\) and its runtime is running its end hook"
    check "$verb was decided within 1 s (${took} ms)" test "$took" -le 1000
done
is "no command is left pending" "$(sql "SELECT count(*) FROM commands WHERE state = 'pending'")" 0
wait_for "the runtime exits after its hook" 30 pid_gone "$rt"
is "the run stays failed" "$(sql "SELECT state FROM runs WHERE id = 1")" failed
done_testing
