#!/bin/sh
# An attempt's escaped grandchildren are ended when that attempt ends, not
# only at the end of the run (issue 10, item 6): attempt 1 leaves a `setsid`
# grandchild (which keeps the attempt's token) and exits 75 (retry); when
# attempt 2 starts, the grandchild is gone, and attempt 1's record says it
# was ended. NIGHTSHIFT_ATTEMPT_TOKEN is in the worker's environment.
# Partition b runs beside a the whole time: a live sibling worker is not
# taken for an escapee (the check skips the workers it knows).
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/w"
cat >"$T/worker.sh" <<EOF2
#!/bin/sh
if [ "\$NIGHTSHIFT_PARTITION_KEY" = b ]; then
    while [ ! -e "$T/w/seen" ]; do sleep 0.02; done
    exit 0
fi
echo "\$NIGHTSHIFT_ATTEMPT_TOKEN" >"$T/w/token-\$NIGHTSHIFT_ATTEMPT"
if [ "\$NIGHTSHIFT_ATTEMPT" = 1 ]; then
    setsid sh -c 'echo \$\$ >"$T/w/escapee"; exec sleep 300' </dev/null >/dev/null 2>&1 &
    while [ ! -s "$T/w/escapee" ]; do sleep 0.02; done
    exit 75
fi
p=\$(cat "$T/w/escapee")
if kill -0 "\$p" 2>/dev/null; then echo alive >"$T/w/seen"; else echo gone >"$T/w/seen"; fi
exit 0
EOF2
cat >"$T/escapee.yaml" <<YAML
name: escapee
command: [sh, "$T/worker.sh"]
partitions:
  list: [a, b]
concurrency: 2
retry: {attempts: 2, backoff: 500ms, jitter: 0}
on_exit: {75: retry}
YAML
ns run "$T/escapee.yaml" >"$T/run.out" 2>&1
rc=$?
pid=$(cat "$T/w/escapee" 2>/dev/null)
[ -n "$pid" ] && echo "$pid" >>"$T/.pgids" # cleanup ends it if it survived
is "the run succeeds" "$rc" 0
is "attempt 2 did not run beside attempt 1's escaped grandchild" "$(cat "$T/w/seen")" gone
check "the grandchild is gone" pid_gone "$pid"
like "attempt 1's record says it was ended" "$(sql "SELECT message FROM attempts WHERE n = 1 AND idx = 0")" "ended 1 process that outlived it outside its process group"
is "the sibling ran once, beside it, and succeeded" "$(sql "SELECT count(*) || ' ' || group_concat(outcome) || ' ' || group_concat(message LIKE '%outlived%') FROM attempts WHERE idx = 1")" "1 succeeded 0"
like "the token names the attempt" "$(cat "$T/w/token-2")" '^[0-9a-f]{16}\.1\.[0-9a-f]{16}\.0\.2$'
done_testing
