# crash-lib.sh - what the crash tests share (sourced after lib.sh):
# t-harden-crashpoints.sh, t-harden-kill9.sh and the soak (make soak).
#
#   crash_spec DIR NPARTS STEPS [JOB]
#                                  writes DIR/crash.yaml: job JOB (default
#                                  crash), NPARTS partitions of marker.sh
#                                  (markers in DIR/w), STEPS steps each, an
#                                  error record and a checkpoint a step,
#                                  partition 1 retried once
#   crash_invariants DB DIR NPARTS STEPS LABEL [JOB]
#                                  checks, as one TAP line, everything that
#                                  must hold once the run of JOB (default
#                                  crash) has succeeded (no worker left,
#                                  alive or zombie, included)
#   neighbour_start NAME DB DIR NPARTS STEPS
#                                  starts (spawn) a run of job NAME, written
#                                  by crash_spec into DIR, on DB; its runtime
#                                  is never armed with a crash point nor
#                                  killed; its pid in the variable SPAWNED,
#                                  its output in $T/neighbour-K-NAME.out
#
# Every fact is scoped to the run of its job: neighbour runs of other jobs
# may share the database (issue 18) and must not blur the crash run's checks.

crash_spec() {
    cat >"$1/crash.yaml" <<YAML
name: ${4:-crash}
command: [sh, $ROOT/tests/e2e/specs/marker.sh, "$1/w", "$3", errors, "1"]
partitions: {range: {start: 1, end: $2}}
concurrency: 3
stop_grace: 1s
retry: {attempts: 3, backoff: 10ms, jitter: 0}
YAML
    mkdir -p "$1/w"
}

# crash_facts DB STEPS JOB: the facts, one "name=value" a line, for the
# newest run of JOB in DB (run 0, none at all, when JOB has no run).
crash_facts() {
    _r=$(sqlite3 -bail -batch -cmd '.timeout 5000' "$1" "SELECT coalesce(max(id), 0) FROM runs WHERE job = '$3'" 2>/dev/null)
    sqlite3 -bail -batch -cmd '.timeout 5000' "$1" <<SQL
SELECT 'state=' || state FROM runs WHERE id = ${_r:-0};
SELECT 'runs=' || count(*) FROM runs WHERE job = '$3';
SELECT 'succeeded_partitions=' || count(*) FROM partitions WHERE run_id = ${_r:-0} AND state = 'succeeded';
SELECT 'succeeded_attempts=' || count(*) FROM attempts WHERE run_id = ${_r:-0} AND outcome = 'succeeded';
SELECT 'partitions_with_one_success=' || count(*) FROM (SELECT idx FROM attempts WHERE run_id = ${_r:-0} AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1);
SELECT 'live_attempts=' || count(*) FROM attempts WHERE run_id = ${_r:-0} AND outcome IS NULL;
SELECT 'overlapping_attempts=' || count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE a.run_id = ${_r:-0} AND b.started_at < a.ended_at;
SELECT 'checkpoints_backwards=' || count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND b.n > a.n WHERE a.run_id = ${_r:-0} AND CAST(coalesce(b.resumed_from, '0') AS INTEGER) < CAST(coalesce(a.resumed_from, '0') AS INTEGER);
SELECT 'final_checkpoints_not_done=' || count(*) FROM partitions WHERE run_id = ${_r:-0} AND CAST(coalesce(checkpoint, '0') AS INTEGER) <> $2;
SELECT 'error_records=' || count(*) FROM error_records WHERE run_id = ${_r:-0};
SELECT 'duplicate_error_records=' || count(*) FROM (SELECT idx, key FROM error_records WHERE run_id = ${_r:-0} GROUP BY idx, key HAVING count(*) > 1);
SELECT 'counters_differ=' || (SELECT count(*) FROM runs r WHERE r.id = ${_r:-0} AND (
    r.n_succeeded <> (SELECT count(*) FROM partitions WHERE run_id = r.id AND state = 'succeeded') OR
    r.n_failed <> (SELECT count(*) FROM partitions WHERE run_id = r.id AND state = 'failed') OR
    r.n_pending <> (SELECT count(*) FROM partitions WHERE run_id = r.id AND state = 'pending') OR
    r.n_running <> (SELECT count(*) FROM partitions WHERE run_id = r.id AND state = 'running') OR
    r.n_retry_wait <> (SELECT count(*) FROM partitions WHERE run_id = r.id AND state = 'retry_wait') OR
    r.error_records <> (SELECT count(*) FROM error_records WHERE run_id = r.id) OR
    r.error_records <> (SELECT coalesce(sum(error_records), 0) FROM partitions WHERE run_id = r.id)));
SELECT 'signature_counts_differ=' || (
    (SELECT group_concat(signature || ':' || n || ':' || p, ',') FROM (SELECT signature, count(*) AS n, count(DISTINCT idx) AS p FROM error_records WHERE run_id = ${_r:-0} GROUP BY signature ORDER BY signature))
    IS NOT (SELECT group_concat(signature || ':' || records || ':' || partitions, ',') FROM (SELECT * FROM error_signatures WHERE run_id = ${_r:-0} AND records > 0 ORDER BY signature)) OR
    (SELECT group_concat(idx || ':' || signature || ':' || n, ',') FROM (SELECT idx, signature, count(*) AS n FROM error_records WHERE run_id = ${_r:-0} GROUP BY idx, signature ORDER BY idx, signature))
    IS NOT (SELECT group_concat(idx || ':' || signature || ':' || records, ',') FROM (SELECT * FROM error_signature_parts WHERE run_id = ${_r:-0} ORDER BY idx, signature)));
SELECT 'pending_commands=' || count(*) FROM commands WHERE run_id = ${_r:-0} AND state = 'pending';
SELECT 'integrity=' || group_concat(integrity_check) FROM pragma_integrity_check;
SQL
}

# crash_zombies DB JOB: processes of the attempts of JOB's newest run in DB
# (by process group) that are zombies now, dead and unreaped by a parent that is not init: a runtime
# that does not reap its children. (Workers of a killed runtime belong to
# init once it is gone; whether init reaps them is not nightshift's to
# decide - a container's init may be slow to.)
crash_zombies() {
    _groups=" $(sqlite3 -cmd '.timeout 5000' "$1" "SELECT group_concat(pgid, ' ') FROM attempts WHERE pgid > 1 AND run_id = (SELECT max(id) FROM runs WHERE job = '$2')" 2>/dev/null) "
    # One pass over every /proc/PID/stat (cat skips those that vanish; a
    # loop forking sed per process took 0.4 s, too slow for a check after
    # every neighbour run): pid (comm) state ppid pgrp ..., the fields
    # after the last ')'.
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v groups="$_groups" '
        { sub(/.*\) /, ""); if ($1 == "Z" && $2 != 1 && index(groups, " " $3 " ")) z++ }
        END { print z + 0 }'
}

crash_invariants() {
    _db=$1 _dir=$2 _n=$3 _steps=$4 _label=$5 _job=${6:-crash}
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
signature_counts_differ=0
pending_commands=0
integrity=ok
overlap_markers=0
stray_workers=0
zombies=0"
    _got="$(crash_facts "$_db" "$_steps" "$_job" 2>&1)
overlap_markers=$(cat "$_dir/w/markers" 2>/dev/null | grep -c OVERLAP)
stray_workers=$(pgrep -f "[m]arker.sh $_dir/w" | wc -l)
zombies=$(crash_zombies "$_db" "$_job")"
    if [ "$_got" = "$_want" ]; then
        ok "$_label: every invariant holds"
    else
        fail "$_label: an invariant is broken"
        printf '%s\n' "$_want" >"$_dir/want"
        printf '%s\n' "$_got" >"$_dir/got"
        diff "$_dir/want" "$_dir/got" | sed 's/^/# /'
    fi
}

neighbour_start() {
    mkdir -p "$3"
    crash_spec "$3" "$4" "$5" "$1"
    # env -u: whatever the caller exports, a neighbour is never armed.
    _neighbour_k=$((${_neighbour_k:-0} + 1))
    spawn "neighbour-$_neighbour_k-$1" env -u NIGHTSHIFT_CRASHPOINT "$NIGHTSHIFT" run --db "$2" "$3/crash.yaml"
}
