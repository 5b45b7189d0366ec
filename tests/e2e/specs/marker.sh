#!/bin/sh
# marker.sh DIR STEPS [errors [RETRY_IDX]]: a worker for crash tests. Holds an exclusive lock on
# DIR/lock-<index> while it runs and writes an OVERLAP marker if another live
# attempt of the same partition holds it (two live attempts would be a bug).
# Appends "start" and "done" markers to DIR/markers; resumes from its
# checkpoint (the step it reached); reports progress and a checkpoint a step.
# With "errors", one error record (key r<step>) before each checkpoint; the
# partition RETRY_IDX exits 75 (retry) on its first attempt, before any step.
dir=$1 steps=$2 errors=${3:-} retry_idx=${4:--1}
idx=$NIGHTSHIFT_PARTITION
exec 9>"$dir/lock-$idx"
if ! flock -n 9; then
    echo "OVERLAP $idx $NIGHTSHIFT_ATTEMPT $$" >>"$dir/markers"
    flock 9
fi
echo "start $idx $NIGHTSHIFT_ATTEMPT $$ from=${NIGHTSHIFT_CHECKPOINT:-0}" >>"$dir/markers"
[ "$idx" = "$retry_idx" ] && [ "$NIGHTSHIFT_ATTEMPT" = 1 ] && exit 75
i=${NIGHTSHIFT_CHECKPOINT:-0}
echo "total $steps" >&3
while [ "$i" -lt "$steps" ]; do
    i=$((i + 1))
    sleep 0.05
    echo "progress $i" >&3
    [ "$errors" = errors ] && echo "error r$i bad record $i of partition $idx" >&3
    echo "checkpoint $i" >&3
done
echo "done $idx $NIGHTSHIFT_ATTEMPT $$" >>"$dir/markers"
