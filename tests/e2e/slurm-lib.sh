# slurm-lib.sh - a real single-node Slurm for one test file (sourced after lib.sh).
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/slurm-lib.sh"
#   slurm_start            # or exits 77 with "SKIP reason"
#   ... sbatch/squeue work; SLURM_CONF is exported ...
#   (slurm_stop runs from the EXIT trap)
#
# It installs nothing: the Debian packages slurmctld, slurmd, slurm-client and
# munge must be present (`make setup`), and it must run as root (slurmd starts
# jobs as their user; munged runs as user munge). Everything lives in a fresh
# directory under /tmp (munged, running as munge, must reach its socket
# there): slurm.conf, cgroup.conf, state, logs, pid files, its own munge
# socket. Nothing is written under /etc. Daemons run in the foreground as
# children of this shell and are stopped by pid: jobs cancelled, then slurmd,
# slurmctld and munged, each waited for.
#
# Only one Slurm can run on a machine (ports 6917/6918 here): test files take
# a lock (flock on /tmp/nightshift-slurm.lock) and wait for each other.
#
# Variables after slurm_start: SLURM_CONF, SLURM_DIR, SLURM_JOBCOMP (the
# jobcomp/filetxt file), SLURM_START_SECS (how long the start took),
# SLURM_NODE (the one node's name).
#
# Failures on demand (t-slurm-failover.sh): slurm_ctld_kill / slurm_ctld_start
# crash and restart the controller (same config and state directory);
# slurm_slurmd_stop / slurm_slurmd_start stop and start the node's daemon
# (its job steps live on: slurmstepd is not its child).

SLURM_DIR=''
SLURM_NODE=''
_slurm_pids=''
_slurm_munged='' _slurm_ctld='' _slurmd=''

# _slurm_pids_update: the daemons to stop, in stopping order (slurmd,
# slurmctld, munged), from the ones running now.
_slurm_pids_update() {
    _slurm_pids=$(echo "$_slurmd $_slurm_ctld $_slurm_munged" | awk '{ $1 = $1; print }')
}

# slurm_skip_unless_possible: exits 77 with the reason when Slurm cannot run here.
slurm_skip_unless_possible() {
    [ "$(id -u)" -eq 0 ] || skip_all "Slurm tests need root (slurmd, munged as user munge)"
    for _b in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue scontrol scancel flock; do
        command -v "$_b" >/dev/null 2>&1 || skip_all "$_b not installed (make setup installs slurmctld slurmd slurm-client munge)"
    done
    id munge >/dev/null 2>&1 || skip_all "no munge user (the munge package makes it)"
    [ -r /etc/munge/munge.key ] || skip_all "no /etc/munge/munge.key (mungekey --create)"
}

# _slurm_wait DESC SECONDS CMD...: like wait_for, but quiet; returns 1 at the deadline.
_slurm_wait() {
    _sd=$(($(now_ms) + $2 * 1000))
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$_sd" ] || return 1
        sleep 0.1
    done
}

_slurm_node_idle() { sinfo -h -N -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; }

# slurm_start: starts munged, slurmctld and slurmd; exports SLURM_CONF.
slurm_start() {
    slurm_skip_unless_possible
    _tl=$(now_ms)
    exec 9>/tmp/nightshift-slurm.lock
    flock -w 280 9 || bail_out "another Slurm test held /tmp/nightshift-slurm.lock for 280 s"
    _t0=$(now_ms)
    [ $((_t0 - _tl)) -lt 1000 ] || diag "waited $(((_t0 - _tl) / 1000)) s for another Slurm test"
    if pgrep -x slurmctld >/dev/null 2>&1 || pgrep -x slurmd >/dev/null 2>&1; then
        skip_all "a Slurm is already running on this machine (one at a time)"
    fi
    SLURM_DIR=$(mktemp -d /tmp/nightshift-slurm.XXXXXX) || bail_out "mktemp"
    chmod 755 "$SLURM_DIR"
    mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool" "$SLURM_DIR/log" "$SLURM_DIR/run"
    install -d -o munge -g munge -m 0755 "$SLURM_DIR/munge"
    _host=$(hostname -s)
    SLURM_NODE=$_host
    _node=$(/usr/sbin/slurmd -C | head -n 1)
    SLURM_JOBCOMP=$SLURM_DIR/log/jobcomp.txt
    SLURM_CONF=$SLURM_DIR/slurm.conf
    export SLURM_CONF
    cat >"$SLURM_CONF" <<EOF
ClusterName=nightshift-test
SlurmctldHost=$_host(127.0.0.1)
SlurmctldPort=6917
SlurmdPort=6918
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/socket,cred_expire=10
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool/%n
SlurmctldPidFile=$SLURM_DIR/run/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/run/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/cgroup
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1,sched_interval=2
MinJobAge=3600
KillWait=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_JOBCOMP
MaxArraySize=1001
$_node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$_host Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$SLURM_DIR/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
ConstrainCores=no
ConstrainRAMSpace=no
EOF
    trap '_rc=$?; slurm_stop "$([ $_rc -eq 0 ] || echo keep)"; (exit $_rc); cleanup' EXIT
    runuser -u munge -- /usr/sbin/munged -F --socket="$SLURM_DIR/munge/socket" \
        --pid-file="$SLURM_DIR/munge/munged.pid" --log-file="$SLURM_DIR/munge/munged.log" \
        --seed-file="$SLURM_DIR/munge/munged.seed" >"$SLURM_DIR/log/munged.out" 2>&1 &
    _slurm_munged=$!
    _slurm_pids_update
    _slurm_wait munge 10 sh -c "munge -S '$SLURM_DIR/munge/socket' -n | unmunge -S '$SLURM_DIR/munge/socket'" ||
        bail_out "munged did not start: $(tail -n 3 "$SLURM_DIR/munge/munged.log" 2>/dev/null)"
    /usr/sbin/slurmctld -D -i >"$SLURM_DIR/log/slurmctld.out" 2>&1 &
    _slurm_ctld=$!
    _slurm_pids_update
    _slurm_wait slurmctld 20 scontrol ping ||
        bail_out "slurmctld did not start: $(tail -n 3 "$SLURM_DIR/log/slurmctld.log" 2>/dev/null)"
    /usr/sbin/slurmd -D >"$SLURM_DIR/log/slurmd.out" 2>&1 &
    _slurmd=$!
    _slurm_pids_update
    _slurm_wait "node idle" 30 _slurm_node_idle ||
        bail_out "the node did not become idle: $(tail -n 3 "$SLURM_DIR/log/slurmd.log" 2>/dev/null)"
    SLURM_START_SECS=$(echo "$_t0 $(now_ms)" | awk '{ printf "%.1f", ($2 - $1) / 1000 }')
    diag "slurm started in ${SLURM_START_SECS}s ($SLURM_DIR)"
}

# slurm_stop: cancels every job, waits for the queue to drain, then ends the
# daemons by pid (slurmd, slurmctld, munged), each waited for.
slurm_stop() {
    [ -n "$SLURM_DIR" ] || return 0
    _t0=$(now_ms)
    if [ -n "$_slurm_pids" ] && scontrol ping >/dev/null 2>&1; then
        scancel --quiet --user=root >/dev/null 2>&1
        _slurm_wait "queue empty" 20 sh -c '[ -z "$(squeue -h -t PD,R,S,CG,CF -o %i 2>/dev/null)" ]'
    fi
    for _p in $_slurm_pids; do
        kill -s TERM "$_p" 2>/dev/null
        _slurm_wait "daemon $_p ends" 15 pid_gone "$_p" || kill -s KILL "$_p" 2>/dev/null
        wait "$_p" 2>/dev/null
    done
    diag "slurm stopped in $(echo "$_t0 $(now_ms)" | awk '{ printf "%.1f", ($2 - $1) / 1000 }')s"
    if [ "${_failed:-0}" -eq 0 ] && [ "${1:-}" != keep ]; then rm -rf "$SLURM_DIR"; else diag "kept $SLURM_DIR"; fi
    SLURM_DIR=''
    _slurm_pids=''
    _slurm_munged='' _slurm_ctld='' _slurmd=''
}

# slurm_ctld_kill: kill -9 of slurmctld (a crash: no state saved on the way
# out), waited for.
slurm_ctld_kill() {
    [ -n "$_slurm_ctld" ] || return 0
    kill -s KILL "$_slurm_ctld" 2>/dev/null
    wait "$_slurm_ctld" 2>/dev/null
    _slurm_ctld=''
    _slurm_pids_update
}

# slurm_ctld_start: slurmctld again, with the same config and state directory
# (it recovers its jobs from there); returns once it answers.
slurm_ctld_start() {
    /usr/sbin/slurmctld -D -i >>"$SLURM_DIR/log/slurmctld.out" 2>&1 &
    _slurm_ctld=$!
    _slurm_pids_update
    _slurm_wait slurmctld 20 scontrol ping ||
        bail_out "slurmctld did not restart: $(tail -n 3 "$SLURM_DIR/log/slurmctld.log" 2>/dev/null)"
}

# slurm_slurmd_stop: TERM to slurmd, waited for (KILL after 15 s). Running
# job steps keep running: slurmstepd outlives it.
slurm_slurmd_stop() {
    [ -n "$_slurmd" ] || return 0
    kill -s TERM "$_slurmd" 2>/dev/null
    _slurm_wait "slurmd ends" 15 pid_gone "$_slurmd" || kill -s KILL "$_slurmd" 2>/dev/null
    wait "$_slurmd" 2>/dev/null
    _slurmd=''
    _slurm_pids_update
}

# slurm_slurmd_start: slurmd again; returns once it answers locally (the
# node's state is the controller's business: a node set down stays down
# until resumed).
slurm_slurmd_start() {
    /usr/sbin/slurmd -D >>"$SLURM_DIR/log/slurmd.out" 2>&1 &
    _slurmd=$!
    _slurm_pids_update
    _slurm_wait slurmd 30 scontrol show slurmd ||
        bail_out "slurmd did not restart: $(tail -n 3 "$SLURM_DIR/log/slurmd.log" 2>/dev/null)"
}
