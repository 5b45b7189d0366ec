#!/bin/sh
# Attempt logs are created on the worker's first byte of output, in shard
# directories of a thousand partitions: 1 203 partitions of which only the
# multiples of 400 print leave exactly 4 log files (in shards 0 and 1), each
# with its bytes; a silent attempt has its path recorded but no file, and
# `nightshift logs` prints nothing for it, says why and exits 0.
. "$(dirname "$0")/lib.sh"

cat >"$T/lazy.yaml" <<'YAML'
name: lazy
command: [sh, -c, 'if [ $(( {start} % 400 )) -eq 0 ]; then echo "out {start}"; echo "err {start}" >&2; fi']
partitions:
  range: {start: 0, end: 1202, size: 1}
concurrency: 4
YAML
ns run "$T/lazy.yaml" >"$T/run.out" 2>&1
is "the run exits 0" "$?" 0
is "1203 partitions succeeded" "$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded'")" 1203
run_dir=$NIGHTSHIFT_DB.d/run-1
is "4 log files in all" "$(find "$run_dir" -type f | wc -l)" 4
is "in shard directories 0 and 1" "$(find "$run_dir" -type f | sed "s|^$run_dir/||" | sort | tr '\n' ' ')" \
    "0/p000000-a1.log 0/p000400-a1.log 0/p000800-a1.log 1/p001200-a1.log "
is "every attempt records its log path" "$(sql "SELECT count(*) FROM attempts WHERE log_path LIKE '%/run-1/' || (idx / 1000) || '/p' || printf('%06d', idx) || '-a1.log'")" 1203
out=$(ns logs 1 1200 2>"$T/logs.err")
is "logs of a partition that printed: exit 0" "$?" 0
is "its bytes, stdout and stderr" "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "err 1200 out 1200 "
out=$(ns logs 1 7 2>"$T/logs7.err")
is "logs of a silent attempt: exit 0" "$?" 0
is "prints nothing" "$out" ""
like "and says why on stderr" "$(cat "$T/logs7.err")" "no log file: the attempt printed nothing"
done_testing
