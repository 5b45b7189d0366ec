# control-lib.sh - helpers for the operator-command tests (t-control-*.sh),
# sourced after lib.sh.
#
# SPECS is tests/e2e/specs; D is the steering directory of loop.sh workers.

SPECS=$ROOT/tests/e2e/specs
D=$T/d
mkdir -p "$D"

# live_pids RUN: pids of the run's live attempts (outcome IS NULL).
live_pids() { sql "SELECT pid FROM attempts WHERE run_id = $1 AND outcome IS NULL ORDER BY pid"; }

# proc_state PID: field 3 of /proc/PID/stat (R, S, T, Z...); empty if gone.
# The name (field 2) may hold spaces, so cut after its closing parenthesis.
proc_state() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

# stopped_state PID: like proc_state, but a shell caught by SIGSTOP inside
# vfork() - it sits in D until its child execs, and that child is stopped
# (T) - counts as T: nothing of it can run.
stopped_state() {
    _s=$(proc_state "$1")
    if [ "$_s" = D ] && ps -e -o ppid=,stat= | awk -v p="$1" '$1 == p && $2 ~ /^T/ { f = 1 } END { exit !f }'; then
        _s=T
    fi
    echo "$_s"
}

# group_states PGID: the state letter of every live (non-zombie) process in
# the group, as stopped_state sees it.
group_states() {
    for _g in $(ps -e -o pgid=,pid=,stat= | awk -v g="$1" '$1 == g && $3 !~ /^Z/ { print $2 }'); do
        printf '%s' "$(stopped_state "$_g")"
    done
}

# workers_all RUN ERE: true if the run has live attempts and every process of
# every live attempt's group has a state letter matching ERE (e.g. '^T+$').
# Zombies are left out: a child that exited just as its group was stopped
# stays Z until its (stopped) parent reaps it.
workers_all() {
    _pids=$(live_pids "$1")
    [ -n "$_pids" ] || return 1
    for _p in $_pids; do
        _st=$(group_states "$_p")
        printf '%s\n' "$_st" | grep -Eq -- "$2" || return 1
        stopped_state "$_p" | grep -Eq -- "$2" || return 1
    done
}

# q SQL: sql for conditions (wait_for sh -c can't see functions).
# run_state RUN / count_sql SQL: one value.
run_state() { sql "SELECT state FROM runs WHERE id = $1"; }

# sql_is SQL VALUE: true when the query returns VALUE (for wait_for).
sql_is() { [ "$(sql "$1" 2>/dev/null)" = "$2" ]; }
# sql_true SQL: true when the query returns 1.
sql_true() { sql_is "$1" 1; }

# wait_final RUN SECS: waits for the run to reach a final state.
wait_final() {
    wait_for "run $1 finishes" "$2" sql_true "SELECT state IN ('succeeded','failed','stopped') FROM runs WHERE id = $1"
}

# status_field RUN PATH: one field of `status RUN --json` (a JSON path).
status_field() {
    _j=$(ns status "$1" --json | sed "s/'/''/g")
    sql "SELECT json_extract('$_j', '$2')"
}

# stays_false SECS DESC CMD...: ok if CMD stays false for SECS seconds (a
# "nothing happens" check: the observation window is the point, not a guess).
stays_false() {
    _secs=$1 _d=$2
    shift 2
    _deadline=$(($(now_ms) + _secs * 1000))
    while [ "$(now_ms)" -lt "$_deadline" ]; do
        if "$@" >/dev/null 2>&1; then
            fail "$_d"
            return 1
        fi
        sleep 0.05
    done
    ok "$_d"
}

# out_rc CMD...: CMD's stdout and stderr on one line, then " rc=STATUS".
out_rc() {
    _o=$("$@" 2>&1)
    _rc=$?
    printf '%s rc=%s\n' "$(printf '%s' "$_o" | tr '\n' ' ')" "$_rc"
}
