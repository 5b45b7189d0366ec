#!/bin/sh
# The launch contract: the worker's environment (NIGHTSHIFT_* variables,
# parameters, spec env), stdin /dev/null, only fds 0-3, an empty signal mask
# and default dispositions (even when the runtime's caller ignored SIGINT),
# its own process group; `shell: true` runs /bin/sh -c TEXT with parameters
# only in the environment.
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
mkdir -p "$T/out" "$T/sh"

# The caller's NIGHTSHIFT_* (a nested run, stale variables) must not leak;
# SIGINT ignored and an extra fd open in the caller must not reach workers.
(
    trap '' INT
    exec 7>"$T/leak.fd"
    NIGHTSHIFT_RUN_ID=999 NIGHTSHIFT_PARTITION=42 NIGHTSHIFT_LEAK=yes NIGHTSHIFT_P_OUT=/nowhere \
        NIGHTSHIFT_CHECKPOINT=stale UNRELATED_VAR=kept GREETING=from-the-caller \
        "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/env.yaml" -p out="$T/out" -p greeting=hello
) >"$T/run.out" 2>&1
is "the run exits 0" "$?" 0
is "alpha took 2 attempts, beta 1" "$(sql "SELECT group_concat(key || ':' || attempts_total, ' ') FROM partitions WHERE run_id = 1")" "alpha:2 beta:1"

# envvar FILE NAME: the value of NAME in an env(1) dump ('<unset>' if absent).
envvar() { grep -q "^$2=" "$1" && sed -n "s/^$2=//p" "$1" | head -1 || echo '<unset>'; }
E1=$T/out/alpha.1.env E2=$T/out/alpha.2.env EB=$T/out/beta.1.env
for f in "$E1" "$E2" "$EB"; do [ -s "$f" ] || bail_out "no environment dump $f"; done
is "NIGHTSHIFT_RUN_ID" "$(envvar "$E1" NIGHTSHIFT_RUN_ID)" 1
is "NIGHTSHIFT_JOB" "$(envvar "$E1" NIGHTSHIFT_JOB)" env-contract
is "NIGHTSHIFT_PARTITION (alpha)" "$(envvar "$E1" NIGHTSHIFT_PARTITION)" 0
is "NIGHTSHIFT_PARTITION (beta)" "$(envvar "$EB" NIGHTSHIFT_PARTITION)" 1
is "NIGHTSHIFT_PARTITION_KEY" "$(envvar "$EB" NIGHTSHIFT_PARTITION_KEY)" beta
is "NIGHTSHIFT_ATTEMPT 1" "$(envvar "$E1" NIGHTSHIFT_ATTEMPT)" 1
is "NIGHTSHIFT_ATTEMPT 2" "$(envvar "$E2" NIGHTSHIFT_ATTEMPT)" 2
is "NIGHTSHIFT_CHECKPOINT is set and empty on a fresh attempt" "$(grep -c '^NIGHTSHIFT_CHECKPOINT=$' "$E1")" 1
is "NIGHTSHIFT_CHECKPOINT is the token on the retry" "$(envvar "$E2" NIGHTSHIFT_CHECKPOINT)" tok-alpha-1
is "NIGHTSHIFT_REPORT_FD" "$(envvar "$E1" NIGHTSHIFT_REPORT_FD)" 3
bin=$(envvar "$E1" NIGHTSHIFT_BIN)
check "NIGHTSHIFT_BIN ($bin) is an absolute executable" sh -c "case '$bin' in /*) test -x '$bin' ;; *) false ;; esac"
check "NIGHTSHIFT_BIN is the binary that ran" cmp -s "$bin" "$NIGHTSHIFT"
is "NIGHTSHIFT_P_KEY" "$(envvar "$EB" NIGHTSHIFT_P_KEY)" beta
is "NIGHTSHIFT_P_INDEX" "$(envvar "$EB" NIGHTSHIFT_P_INDEX)" 1
is "NIGHTSHIFT_P_OUT (run parameter, not the caller's)" "$(envvar "$EB" NIGHTSHIFT_P_OUT)" "$T/out"
is "NIGHTSHIFT_P_GREETING" "$(envvar "$EB" NIGHTSHIFT_P_GREETING)" hello
is "spec env with {param} expanded" "$(envvar "$EB" GREETING)" "hello, beta #1"
is "spec env replaces the caller's variable of that name (one entry, the spec's)" "$(grep '^GREETING=' "$T/out/beta.1.rawenv")" "GREETING=hello, beta #1"
is "spec env with {{ }} literal braces" "$(envvar "$EB" PLAIN)" "literal {braces}"
is "the caller's other variables are kept" "$(envvar "$EB" UNRELATED_VAR)" kept
is "the caller's NIGHTSHIFT_LEAK does not leak" "$(envvar "$EB" NIGHTSHIFT_LEAK)" '<unset>'
names=$(grep -o '^NIGHTSHIFT_[A-Za-z0-9_]*' "$EB" | sort | tr '\n' ' ')
is "exactly the contract's NIGHTSHIFT_* variables" "$names" \
    "NIGHTSHIFT_ATTEMPT NIGHTSHIFT_ATTEMPT_TOKEN NIGHTSHIFT_BIN NIGHTSHIFT_CHECKPOINT NIGHTSHIFT_DB NIGHTSHIFT_JOB NIGHTSHIFT_PARTITION NIGHTSHIFT_PARTITION_KEY NIGHTSHIFT_P_GREETING NIGHTSHIFT_P_INDEX NIGHTSHIFT_P_KEY NIGHTSHIFT_P_OUT NIGHTSHIFT_REPORT_FD NIGHTSHIFT_RUN_ID NIGHTSHIFT_RUN_TOKEN "
is "NIGHTSHIFT_DB is the run's database" "$(envvar "$EB" NIGHTSHIFT_DB)" "$NIGHTSHIFT_DB"
is "stdin is /dev/null" "$(cat "$T/out/beta.1.stdin")" /dev/null
read -r pid pgid _ <"$T/out/beta.1.ids"
is "the attempt is its own process group (pgid == pid)" "$pgid" "$pid"
is "the stored pgid is the worker's" "$(sql "SELECT pgid FROM attempts WHERE run_id = 1 AND idx = 1")" "$pid"
read -r pid1 pgid1 _ <"$T/out/alpha.1.ids"
is "the other attempts too" "$pgid1" "$pid1"
check "attempts get different groups" test "$pgid1" != "$pgid"

# shell: true - /bin/sh -c TEXT; open fds and signal state, seen from inside.
(
    trap '' INT QUIT
    exec 7>"$T/leak.fd"
    cd "$T/sh" && "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/shell.yaml" -p out="$T/sh"
) >"$T/shell.out" 2>&1
is "the shell run exits 0" "$?" 0
is "three partitions succeeded" "$(sql "SELECT n_succeeded FROM runs WHERE job = 'shell-contract'")" 3
is "argv is /bin/sh -c TEXT" "$(sed -n '1,2p' "$T/sh/0/cmdline" | tr '\n' ' ')" "/bin/sh -c "
# shellcheck disable=SC2016 # literal shell text
like "TEXT is the spec's command, unexpanded" "$(sed -n 3p "$T/sh/0/cmdline")" '^d="\$NIGHTSHIFT_P_OUT/\$NIGHTSHIFT_PARTITION";'
# shellcheck disable=SC2016
is "a key full of shell syntax arrives intact in the environment" "$(cat "$T/sh/1/key")" 'x; touch pwned-$(id -u) #'
is "a key that looks like a placeholder too" "$(cat "$T/sh/2/key")" '{key}'
check "and nothing was injected" sh -c "! ls '$SPECS' '$T/sh' '$T' | grep -q pwned"
# ls lists /proc/self/fd with one more descriptor of its own (the directory,
# the highest number): everything below it is what the worker inherited.
is "only fds 0 1 2 3 are open in the worker (caller had fd 7 open)" "$(sort -n "$T/sh/0/fds" | sed '$d' | tr '\n' ' ')" "0 1 2 3 "
is "the signal mask is empty" "$(sed -n 's/^SigBlk:[[:space:]]*//p' "$T/sh/0/sig")" 0000000000000000
ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "$T/sh/0/sig")
is "no standard signal (1-31) is ignored: the caller's ignored INT and QUIT are reset" "$((0x$ign & 0x7fffffff))" 0
# 32 and 33 are glibc's internal signals (thread cancellation, setxid); its
# posix_spawn leaves them ignored in the child. Every signal a program may
# use, real-time ones from SIGRTMIN (34) on included, has its default.
is "no signal but glibc's internal 32 and 33 is ignored" "$((0x$ign & ~0x180000000))" 0
done_testing
