#!/bin/sh
# many.sh - the near-instant worker of configs/many.yaml: reports one unit of
# progress and exits; with --fail-every N > 0, partitions whose index is
# N-1 modulo N exit 1, so the console's partition map has something to show.
#
# usage: many.sh INDEX [FAIL_EVERY]
fd=${NIGHTSHIFT_REPORT_FD:-2}
printf 'total 1\nprogress 1\n' >&"$fd"
n=${2:-0}
[ "$n" -gt 0 ] 2>/dev/null && [ $(($1 % n)) -eq $((n - 1)) ] && exit 1
exit 0
