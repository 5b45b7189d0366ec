#!/bin/sh
# steady.sh STEPS PACE [FAIL_KEYS...]: reports progress STEPS times, PACE
# seconds apart; exits 2 if its key is among FAIL_KEYS; reports one error
# record per step when ERRORS_PER_STEP=1.
steps=$1 pace=$2
shift 2
echo "total $steps" >&3
i=0
while [ "$i" -lt "$steps" ]; do
    i=$((i + 1))
    sleep "$pace"
    echo "progress $i" >&3
    [ "${ERRORS_PER_STEP:-0}" = 1 ] && echo "error r$i bad record $i" >&3
done
for k in "$@"; do
    [ "$k" = "$NIGHTSHIFT_PARTITION_KEY" ] && { echo "log error key $k is poisoned" >&3; exit 2; }
done
exit 0
