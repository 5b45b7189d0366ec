#!/bin/sh
# Operator commands travel on wake-up hints (runtime/store/wake.c), the slow poll
# only covers a lost hint. With the fallback poll set to 10 minutes
# (NIGHTSHIFT_POLL_MS, for the runtime and the CLI alike), a pause and a
# resume are still applied and their verdicts seen within the CLI's 20 s
# timeout: only the hints can have carried them (the commands hint wakes the
# runtime, the waiter FIFO wakes the waiting CLI). Then, with the hints made
# impossible, a runtime with a short poll still applies commands (the
# fallback).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

spawn runtime env NIGHTSHIFT_POLL_MS=600000 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" \
    "$SPECS/loop.yaml" -p dir="$D"
wait_for "two attempts running" 20 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 1 AND state = 'running'"
ok "the run is live (its fallback poll: 10 minutes)"
data=$NIGHTSHIFT_DB.d
check "the runtime listens on its commands FIFO" test -p "$data/run-1.wake"

for verb in pause resume pause resume; do
    out=$(NIGHTSHIFT_POLL_MS=600000 ns "$verb" 1 --timeout 20 2>&1)
    is "$verb: applied through the hints alone (exit 0)" "$?" 0
    like "$verb: the verdict" "$out" "^run 1: $verb applied"
done
is "each waiting CLI removed its FIFO" "$(ls -A "$data/run-1.waiters" | wc -l)" 0
# A waiter FIFO left by a CLI killed while waiting is removed by the runtime
# at its next verdict (nobody reads it any more).
mkfifo "$data/run-1.waiters/999999999"
out=$(NIGHTSHIFT_POLL_MS=600000 ns pause 1 --timeout 20 2>&1)
is "a stale waiter FIFO does not disturb a command" "$?" 0
is "the runtime removed the stale waiter FIFO" "$(ls -A "$data/run-1.waiters" | wc -l)" 0
ns stop --now 1 >/dev/null
wait_final 1 20
ok "run 1 stopped"

# The fallback: a second run whose commands FIFO is gone once it has
# started, and whose waiters directory cannot be made (a plain file there).
mkdir -p "$D/2"
spawn runtime2 env NIGHTSHIFT_POLL_MS=200 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" --rerun \
    "$SPECS/loop.yaml" -p dir="$D/2"
wait_for "run 2 has two attempts running" 20 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 2 AND state = 'running'"
ok "run 2 is live (its fallback poll: 200 ms)"
rm -f "$data/run-2.wake"
rm -rf "$data/run-2.waiters"
: >"$data/run-2.waiters"
out=$(ns pause 2 --timeout 20 2>&1)
is "pause without hints: applied by the fallback poll (exit 0)" "$?" 0
like "pause without hints: the verdict" "$out" "^run 2: pause applied"
is "run 2 is paused" "$(run_state 2)" paused
is "nobody wrote into the plain file" "$(stat -c %s "$data/run-2.waiters")" 0
ns stop --now 2 >/dev/null
wait_final 2 20
ok "run 2 stopped"
done_testing
