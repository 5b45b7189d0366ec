#!/bin/sh
# A hanging partition hits its timeout: SIGTERM to its process group, SIGKILL
# after stop_grace, and its grandchild dies with it. The others succeed.
. "$(dirname "$0")/lib.sh"

ns run "$CONFIGS/timeout.yaml" -p out="$T/out" >"$T/run.out" 2>&1
is "the run exits 1 (a partition failed)" "$?" 1
is "chunk 5 timed out" "$(sql "SELECT a.outcome FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = '5-5'")" timed_out
is "it was SIGKILLed (it ignores SIGTERM)" "$(sql "SELECT signal FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = '5-5'")" 9
dur=$(sql "SELECT cast(duration * 1000 AS int) FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = '5-5'")
check "it lasted timeout + stop_grace (2 s + 1 s), got ${dur} ms" test "$dur" -ge 2900 -a "$dur" -lt 5000
is "the other 7 succeeded" "$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded'")" 7
read -r worker grandchild <"$T/out/pids-5"
check "the worker ($worker) is gone" pid_gone "$worker"
check "its grandchild ($grandchild) is gone too" pid_gone "$grandchild"

# A worker that obeys SIGTERM ends within the grace period.
ns run "$CONFIGS/timeout.yaml" -p out="$T/out2" -p ignore_term=no >"$T/run2.out" 2>&1
is "run exits 1" "$?" 1
is "the polite worker ended on SIGTERM" "$(sql "SELECT a.outcome || ':' || coalesce(a.signal, a.exit_code) FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE a.run_id = 2 AND p.key = '5-5'")" "timed_out:15"
read -r worker grandchild <"$T/out2/pids-5"
check "its grandchild is gone" pid_gone "$grandchild"
done_testing
