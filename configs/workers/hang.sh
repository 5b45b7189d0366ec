#!/bin/sh
# hang.sh - one chunk of configs/timeout.yaml: all chunks finish quickly
# except the one whose {start} equals --hang, which never ends.
#
# The hanging one first starts a grandchild (`sleep 1000`, in the background,
# so in this same process group) and writes "WORKER_PID GRANDCHILD_PID" to
# OUT/pids-START (atomically), so a test can check that the timeout took the
# whole group down. With --ignore-term yes (the default) both ignore SIGTERM,
# so the runtime has to escalate to SIGKILL after stop_grace.
#
# usage: hang.sh --start N --hang N --out DIR [--ignore-term yes|no] [--pace S]
set -eu
. "$(dirname "$0")/lib.sh"

start='' hang='' out='' ignore_term=yes pace=0.2
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || ns_die "option $1 needs a value"
    case $1 in
    --start) start=$2 ;;
    --hang) hang=$2 ;;
    --out) out=$2 ;;
    --ignore-term) ignore_term=$2 ;;
    --pace) pace=$2 ;;
    *) ns_die "unknown option $1" ;;
    esac
    shift 2
done
[ -n "$start" ] || ns_die "--start is required"
[ -n "$out" ] || out=$(ns_demo_dir timeout)

ns_total 2
if [ "$start" != "$hang" ]; then
    ns_progress 1
    sleep "$pace"
    ns_progress 2
    exit 0
fi

mkdir -p "$out"
# SIG_IGN is inherited by children: the grandchild ignores TERM as well.
[ "$ignore_term" = yes ] && trap '' TERM
sleep 1000 &
grandchild=$!
printf '%s %s\n' "$$" "$grandchild" >"$out/pids-$start.tmp"
mv -f "$out/pids-$start.tmp" "$out/pids-$start"
ns_log warn "chunk $start is stuck (worker $$, grandchild $grandchild)"
ns_progress 1
while :; do
    sleep 1
done
