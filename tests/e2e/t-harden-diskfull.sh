#!/bin/sh
# A fatal database error (issue 10, item 4): the database's filesystem fills
# up ("database or disk is full") while a worker floods error records and
# another one sleeps. The runtime exits 3 with the reason, but first ends
# both workers (none is left running unrecorded); once there is room again,
# the next `run` resumes the same run, reconciles the abandoned attempts as
# interrupted, and finishes. A small tmpfs in a private mount namespace
# (unshare -rm) plays the full disk.
. "$(dirname "$0")/lib.sh"
unshare -rm true 2>/dev/null || skip_all "no user namespaces here (unshare -rm)"
mkdir -p "$T/small" "$T/w"
cat >"$T/worker.sh" <<EOF2
#!/bin/sh
# filler floods 64 KiB error records, sleeper waits; both until w/calm exists.
echo \$\$ >>"$T/w/pids"
if [ "\$NIGHTSHIFT_PARTITION_KEY" = filler ]; then
    i=0
    while [ ! -e "$T/w/calm" ]; do
        i=\$((i + 1))
        printf "error/65536 r%d filling\n" "\$i"
        head -c 65536 /dev/zero
        echo
    done >&3
else
    while [ ! -e "$T/w/calm" ]; do sleep 0.1; done
fi
EOF2
cat >"$T/full.yaml" <<YAML
name: full
command: [sh, "$T/worker.sh"]
partitions:
  list: [filler, sleeper]
concurrency: 2
stop_grace: 1s
YAML
DB=$T/small/ns.db
unshare -rm sh -c '
    mount -t tmpfs -o size=3m none "$2" || exit 90
    "$1" run --db "$3" "$4" >"$5/run1.out" 2>&1
    echo $? >"$5/rc1"
    "$1" status --db "$3" 1 >"$5/status1" 2>&1
    "$1" status --db "$3" 1 --json >"$5/status1.json" 2>&1
    "$1" summary --db "$3" 1 >"$5/summary1" 2>&1
    n=0; for p in $(cat "$5/w/pids"); do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo "$n" >"$5/left"
    mount -o remount,size=200m none "$2" 2>/dev/null || mount -o remount,size=200m "$2"
    touch "$5/w/calm"
    "$1" run --db "$3" "$4" >"$5/run2.out" 2>&1
    echo $? >"$5/rc2"
    sqlite3 "$3" "SELECT state FROM runs WHERE id = 1" >"$5/state"
    sqlite3 "$3" "SELECT count(*) FROM runs" >"$5/runs"
    sqlite3 "$3" "SELECT group_concat(outcome, \" \") FROM (SELECT outcome FROM attempts WHERE n = 1 ORDER BY idx)" >"$5/outcomes"
    sqlite3 "$3" "PRAGMA integrity_check" >"$5/integrity"
' sh "$NIGHTSHIFT" "$T/small" "$DB" "$T/full.yaml" "$T"
is "the first runtime exits 3" "$(cat "$T/rc1")" 3
like "it says the disk is full" "$(cat "$T/run1.out")" "database or disk is full"
like "and that it ended the running attempts" "$(cat "$T/run1.out")" "2 running attempts were ended"
# issue 22 (a small item): status says why the runtime stopped, from the
# last words it wrote in room taken at its start - not "killed or crashed".
like "status says why the runtime stopped" "$(cat "$T/status1")" \
    "NO RUNTIME is driving it \(its runtime stopped: .*database or disk is full.*\)"
like "the summary says it too" "$(cat "$T/summary1")" "stopped +its runtime stopped: .*database or disk is full"
like "status --json: runtime_exit" "$(cat "$T/status1.json")" '"runtime_exit":"[^"]*database or disk is full'
is "no worker was left running ($(wc -l <"$T/w/pids") started)" "$(cat "$T/left")" 0
is "the next run exits 0" "$(cat "$T/rc2")" 0
like "it resumed the run" "$(cat "$T/run2.out")" "resumed it"
is "the run succeeded" "$(cat "$T/state")" succeeded
is "it is the same run" "$(cat "$T/runs")" 1
is "the abandoned attempts were reconciled as interrupted" "$(cat "$T/outcomes")" "interrupted interrupted"
is "integrity_check" "$(cat "$T/integrity")" ok
done_testing
