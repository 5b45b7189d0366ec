#!/bin/sh
# issue 22 item 4: one answer for a partition's attempts. After an
# operator's retry (a fresh budget) status and the console say the same
# `attempt i/n`: i attempts started, of n allowed so far (docs/cli.md).
. "$(dirname "$0")/lib.sh"

ns run "$CONFIGS/flaky-keys.yaml" -p broken=ap-south -p pace=0 >"$T/run1.out" 2>&1
is "the run fails: ap-south is broken (exit 2, no retry)" "$?" 1
ns run "$CONFIGS/flaky-keys.yaml" -p broken=ap-south -p pace=0 --retry-failed >"$T/run2.out" 2>&1
is "retried with a fresh budget, it fails again" "$?" 1
is "ap-south: 2 attempts started, 1 in the current budget of 3" \
    "$(sql "SELECT attempts_total || ' ' || attempts || ' ' || max_attempts FROM partitions WHERE key = 'ap-south'")" "2 1 3"
like "status: attempt 2/4" "$(ns status 1 | grep ' ap-south ')" ' ap-south +attempt 2/4 '
console_start 120 40 1
wait_screen "console: the run view" 5 '^Runs > run 1 flaky-keys'
like "console: ATT 2/4, the same" "$(screen | grep -E '^ +[0-9]+ ap-south ')" ' failed .* 2/4 '
done_testing
