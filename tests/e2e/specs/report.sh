#!/bin/sh
# report.sh STEPS PACE: a worker for the report tests (summary, metrics).
# Resumes from its checkpoint (the step reached); reports progress every
# step and a checkpoint every 4th; key "bad" exits 2 after its first step;
# key "err" reports one error record per step; key "slow" sleeps 3x PACE;
# key "err" writes an escape sequence in its messages; key "hold" waits
# after step 6 until the file $HOLD exists (when HOLD is set).
steps=$1 pace=$2
key=$NIGHTSHIFT_PARTITION_KEY
i=${NIGHTSHIFT_CHECKPOINT:-0}
[ "$key" = slow ] && pace=$(awk "BEGIN { print $pace * 3 }")
echo "total $steps" >&3
while [ "$i" -lt "$steps" ]; do
    i=$((i + 1))
    sleep "$pace"
    echo "progress $i" >&3
    [ "$key" = err ] && printf 'error rec-%d row %d: bad \033[31mfield\033[0m at offset %d\n' "$i" "$i" $((i * 7)) >&3
    [ $((i % 4)) -eq 0 ] && echo "checkpoint $i" >&3
    [ "$key" = bad ] && { echo "log error bad input in $key" >&3; exit 2; }
    if [ "$key" = hold ] && [ "$i" -eq 6 ] && [ -n "${HOLD:-}" ]; then
        while [ ! -e "$HOLD" ]; do sleep 0.05; done
    fi
done
exit 0
