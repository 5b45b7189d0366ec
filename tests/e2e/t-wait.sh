#!/bin/sh
# `nightshift wait RUN [--timeout D]` exits as `run` would: 0 succeeded, 1
# failed, 4 stopped; 5 when --timeout passes first; 3 for no such run, 2 for
# a bad --timeout. The end is seen through the waiter FIFO the runtime pokes
# when it commits the final state: with the slow poll at 10 minutes, wait
# still ends within seconds. A runtime killed -9 under a waiting `wait` is
# said on stderr (with the command that resumes the run) and waited out: once
# a new runtime finishes the run, wait exits with its outcome.
. "$(dirname "$0")/lib.sh"

cat >"$T/hold.yaml" <<YAML
name: hold
params: {gate: "$T/gate", bad: none}
command: [sh, -c, 'while [ ! -e "\$1" ]; do sleep 0.05; done; [ "\$2" != "\$3" ]', sh, "{gate}", "{key}", "{bad}"]
partitions: {list: [a, b]}
retry: {attempts: 1}
stop_grace: 1s
concurrency: 2
YAML

runtime_pid() { sql "SELECT runtime_pid FROM runs WHERE id = $1"; }
# reaped PID: the exit status of a spawned process that ended; one still
# running is killed first (its status then says so: 137), never waited on.
reaped() {
    pid_gone "$1" || kill -9 "$1"
    wait "$1"
}

# 1. succeeded -> 0, through the hint alone (slow poll: 10 minutes).
ns run "$T/hold.yaml" --detach >/dev/null 2>&1
is "run 1 starts in the background" "$?" 0
spawn w1 env NIGHTSHIFT_POLL_MS=600000 "$NIGHTSHIFT" wait --db "$NIGHTSHIFT_DB" 1
w1=$SPAWNED
sleep 0.3
check "wait blocks while the run runs" kill -0 "$w1"
: >"$T/gate"
t0=$(now_ms)
wait_for "wait ends when run 1 succeeds" 10 pid_gone "$w1"
reaped "$w1"
is "wait exits 0 for a run that succeeded" "$?" 0
check "and within 3 s of the release, without its 10-minute poll" test $(($(now_ms) - t0)) -lt 3000
is "it says how the run ended" "$(cat "$T/w1.out")" "run 1 succeeded"
is "its waiter FIFO is gone" "$(ls -A "$NIGHTSHIFT_DB.d/run-1.waiters" | wc -l)" 0
ns wait 1 >/dev/null
is "wait on a run that has ended returns at once, 0" "$?" 0

# 2. failed -> 1.
rm -f "$T/gate"
ns run "$T/hold.yaml" -p bad=b --detach >/dev/null 2>&1
spawn w2 "$NIGHTSHIFT" wait --db "$NIGHTSHIFT_DB" job:hold
w2=$SPAWNED
: >"$T/gate"
wait_for "wait ends when run 2 fails" 10 pid_gone "$w2"
reaped "$w2"
is "wait exits 1 for a run that failed" "$?" 1
is "with the reason" "$(cat "$T/w2.out")" "run 2 failed: 1 of 2 partitions failed"

# 3. timeout -> 5, then stopped -> 4.
rm -f "$T/gate"
ns run "$T/hold.yaml" -p bad=x --detach >/dev/null 2>&1
out=$(ns wait 3 --timeout 0.5s 2>&1)
is "wait --timeout exits 5 when the run has not ended" "$?" 5
is "and says so" "$out" "nightshift: wait: run 3 had not ended after 0.5s (--timeout)"
spawn w3 "$NIGHTSHIFT" wait --db "$NIGHTSHIFT_DB" 3 --timeout 1m
w3=$SPAWNED
ns stop 3 >/dev/null 2>&1
wait_for "wait ends when run 3 is stopped" 10 pid_gone "$w3"
reaped "$w3"
is "wait exits 4 for a stopped run" "$?" 4
like "with the state" "$(cat "$T/w3.out")" "^run 3 stopped"

# 4. the runtime dies under a waiting `wait`: said on stderr, waited out.
rm -f "$T/gate"
ns run "$T/hold.yaml" -p bad=y --detach >/dev/null 2>&1
spawn w4 env NIGHTSHIFT_POLL_MS=100 "$NIGHTSHIFT" wait --db "$NIGHTSHIFT_DB" 4
w4=$SPAWNED
wait_for "run 4's attempts run" 10 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 4 AND state = 'running'\")\" = 2 ]"
kill -9 "$(runtime_pid 4)"
wait_for "wait says that no runtime drives run 4" 10 grep -q "no runtime drives it" "$T/w4.out"
like "naming the command that resumes it" "$(cat "$T/w4.out")" \
    "^nightshift: wait: run 4 is running but no runtime drives it: waiting until one resumes it \(\`nightshift run --db [^ ]*nightshift.db [^ ]*hold.yaml -p bad=y -p gate=.*\`\)$"
sleep 0.3
check "and goes on waiting" kill -0 "$w4"
ns run "$T/hold.yaml" -p bad=y --detach >/dev/null 2>&1
wait_for "wait sees the new runtime" 10 grep -q "a runtime drives it again" "$T/w4.out"
: >"$T/gate"
wait_for "wait ends when the resumed run ends" 15 pid_gone "$w4"
reaped "$w4"
is "wait exits as the resumed run ended (0)" "$?" 0
is "each change was said once" "$(grep -c "runtime" "$T/w4.out")" 2

# 5. usage and missing runs.
ns wait 99 >/dev/null 2>&1
is "wait on a run that does not exist exits 3" "$?" 3
out=$(ns wait 1 --timeout soon 2>&1)
is "a --timeout that is no duration exits 2" "$?" 2
is "and says so" "$out" 'nightshift: wait: --timeout: "soon" is not a duration (examples: 90s, 30m, 2h)'
like "wait --help lists exit 5" "$(ns wait --help)" "5 +wait: the run had not ended when --timeout passed"
done_testing
