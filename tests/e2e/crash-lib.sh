# crash-lib.sh - what the crash tests share (sourced after lib.sh):
# t-harden-crashpoints.sh, t-harden-kill9.sh and the soak (make soak).
#
#   crash_spec DIR NPARTS STEPS    writes DIR/crash.yaml: NPARTS partitions of
#                                  marker.sh, STEPS steps each, an error record
#                                  and a checkpoint a step, partition 1 retried once
#   crash_invariants DB DIR NPARTS STEPS LABEL
#                                  checks, as one TAP line, everything that
#                                  must hold once the run has succeeded (no
#                                  worker left, alive or zombie, included)

crash_spec() {
    cat >"$1/crash.yaml" <<YAML
name: crash
command: [sh, $ROOT/tests/e2e/specs/marker.sh, "$1/w", "$3", errors, "1"]
partitions: {range: {start: 1, end: $2}}
concurrency: 3
stop_grace: 1s
retry: {attempts: 3, backoff: 10ms, jitter: 0}
YAML
    mkdir -p "$1/w"
}

# crash_facts DB STEPS: the facts, one "name=value" a line, for DB's run 1.
crash_facts() {
    sqlite3 -bail -batch -cmd '.timeout 5000' "$1" <<SQL
SELECT 'state=' || state FROM runs WHERE id = 1;
SELECT 'runs=' || count(*) FROM runs;
SELECT 'succeeded_partitions=' || count(*) FROM partitions WHERE state = 'succeeded';
SELECT 'succeeded_attempts=' || count(*) FROM attempts WHERE outcome = 'succeeded';
SELECT 'partitions_with_one_success=' || count(*) FROM (SELECT idx FROM attempts WHERE outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1);
SELECT 'live_attempts=' || count(*) FROM attempts WHERE outcome IS NULL;
SELECT 'overlapping_attempts=' || count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE b.started_at < a.ended_at;
SELECT 'checkpoints_backwards=' || count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND b.n > a.n WHERE CAST(coalesce(b.resumed_from, '0') AS INTEGER) < CAST(coalesce(a.resumed_from, '0') AS INTEGER);
SELECT 'final_checkpoints_not_done=' || count(*) FROM partitions WHERE CAST(coalesce(checkpoint, '0') AS INTEGER) <> $2;
SELECT 'error_records=' || count(*) FROM error_records;
SELECT 'duplicate_error_records=' || count(*) FROM (SELECT idx, key FROM error_records GROUP BY idx, key HAVING count(*) > 1);
SELECT 'counters_differ=' || (SELECT count(*) FROM runs r WHERE r.id = 1 AND (
    r.n_succeeded <> (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'succeeded') OR
    r.n_failed <> (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'failed') OR
    r.n_pending <> (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'pending') OR
    r.n_running <> (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'running') OR
    r.n_retry_wait <> (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'retry_wait') OR
    r.error_records <> (SELECT count(*) FROM error_records WHERE run_id = 1) OR
    r.error_records <> (SELECT coalesce(sum(error_records), 0) FROM partitions WHERE run_id = 1)));
SELECT 'pending_commands=' || count(*) FROM commands WHERE state = 'pending';
SELECT 'integrity=' || group_concat(integrity_check) FROM pragma_integrity_check;
SQL
}

# crash_zombies DB: processes of DB's attempts (by process group) that are
# zombies now, dead and unreaped by a parent that is not init: a runtime
# that does not reap its children. (Workers of a killed runtime belong to
# init once it is gone; whether init reaps them is not nightshift's to
# decide - a container's init may be slow to.)
crash_zombies() {
    _groups=" $(sqlite3 "$1" "SELECT group_concat(pgid, ' ') FROM attempts WHERE pgid > 1" 2>/dev/null) "
    _z=0
    for _st in /proc/[0-9]*/stat; do
        # pid (comm) state ppid pgrp ...: the fields after the last ')'.
        _f=$(sed 's/.*) //' "$_st" 2>/dev/null) || continue
        set -- $_f
        [ "${1:-}" = Z ] && [ "${2:-1}" != 1 ] || continue
        case $_groups in *" ${3:-x} "*) _z=$((_z + 1)) ;; esac
    done
    echo "$_z"
}

crash_invariants() {
    _db=$1 _dir=$2 _n=$3 _steps=$4 _label=$5
    _want="state=succeeded
runs=1
succeeded_partitions=$_n
succeeded_attempts=$_n
partitions_with_one_success=$_n
live_attempts=0
overlapping_attempts=0
checkpoints_backwards=0
final_checkpoints_not_done=0
error_records=$((_n * _steps))
duplicate_error_records=0
counters_differ=0
pending_commands=0
integrity=ok
overlap_markers=0
stray_workers=0
zombies=0"
    _got="$(crash_facts "$_db" "$_steps" 2>&1)
overlap_markers=$(cat "$_dir/w/markers" 2>/dev/null | grep -c OVERLAP)
stray_workers=$(pgrep -f "[m]arker.sh $_dir/w" | wc -l)
zombies=$(crash_zombies "$_db")"
    if [ "$_got" = "$_want" ]; then
        ok "$_label: every invariant holds"
    else
        fail "$_label: an invariant is broken"
        printf '%s\n' "$_want" >"$_dir/want"
        printf '%s\n' "$_got" >"$_dir/got"
        diff "$_dir/want" "$_dir/got" | sed 's/^/# /'
    fi
}
