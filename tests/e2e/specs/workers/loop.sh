#!/bin/sh
# loop.sh - a test worker that runs until told otherwise, steered by files
# in DIR so a test can pause, kill, fail or finish it at will.
#
# Every 0.1 s: one step (progress N, checkpoint "step=N"). It resumes from
# its checkpoint. At each step it looks in DIR:
#   release-KEY or release-all   finish with exit 0
#   fail-KEY (holds a code)      exit with that code ("kill": die of SIGKILL)
# and, once at start, ignore-term: ignore SIGTERM (only SIGKILL ends it).
# and it finishes by itself after --steps steps (0 = never).
# It appends "KEY ATTEMPT FROM_STEP" to DIR/starts at each start and
# "KEY ATTEMPT done" to DIR/done when it succeeds, so duplicates show.
#
# usage: loop.sh --key KEY --dir DIR [--steps N]
set -eu
key='' dir='' steps=0
while [ $# -gt 0 ]; do
    case $1 in
    --key) key=$2 ;;
    --dir) dir=$2 ;;
    --steps) steps=$2 ;;
    *) echo "loop.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
fd=${NIGHTSHIFT_REPORT_FD:-2}
attempt=${NIGHTSHIFT_ATTEMPT:-1}
i=0
case ${NIGHTSHIFT_CHECKPOINT:-} in step=*) i=${NIGHTSHIFT_CHECKPOINT#step=} ;; esac
mkdir -p "$dir"
echo "$key $attempt $i" >>"$dir/starts"
if [ -e "$dir/ignore-term" ]; then
    trap 'echo "loop.sh: $key: SIGTERM ignored at step $i" >&2' TERM
else
    trap 'echo "loop.sh: $key: SIGTERM at step $i" >&2; exit 143' TERM
fi
while :; do
    if [ -e "$dir/release-$key" ] || [ -e "$dir/release-all" ]; then
        break
    fi
    if [ -e "$dir/fail-$key" ]; then
        code=$(cat "$dir/fail-$key")
        echo "loop.sh: $key: failing with $code at step $i" >&2
        [ "$code" = kill ] && kill -KILL $$
        exit "$code"
    fi
    [ "$steps" -gt 0 ] && [ "$i" -ge "$steps" ] && break
    sleep 0.1 || : # a TERM to the group may end the sleep
    i=$((i + 1))
    printf 'progress %d\ncheckpoint step=%d\n' "$i" "$i" >&"$fd"
done
echo "$key $attempt done" >>"$dir/done"
