#!/bin/sh
# slurm.sh - executor: slurm against bare Slurm, on a real single-node Slurm
# (tests/e2e/slurm-lib.sh starts it; needs root and the Debian packages).
#
#   NIGHTSHIFT_BUILD=build tests/bench/slurm.sh [ROUNDS]
#
# Measures, in one run, alternating (numbers, never pass/fail):
#   a. wall time of 100 partitions of `true` at concurrency 2 through
#      `nightshift run` with executor: slurm, next to a bare
#      `sbatch --array=0-99%2` of a `true` script, timed from submission until
#      squeue shows none of its tasks left (polled every 250 ms: more often
#      would load the controller it measures); ROUNDS (3) times each, median;
#   b. the runtime's CPU (utime + stime from /proc) over 30 s while 1000
#      tasks of one run are queued on Slurm (2 running, 998 pending).
# Prints a markdown section on stdout (make bench puts it in
# docs/benchmarks.md); progress on stderr. Exits 77 when Slurm cannot run.
exec 3>&1 1>&2 # the report on fd 3; everything else (TAP lines of the helpers) on stderr
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/slurm-lib.sh"
ROUNDS=${1:-3}
slurm_start >&2

say() { printf '%s\n' "$*" >&2; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
drained() { [ -z "$(squeue -h -t PD,R,S,CG,CF -o %i 2>/dev/null)" ]; }

printf '#!/bin/sh\ntrue\n' >"$T/true.sh"
chmod +x "$T/true.sh"
cat >"$T/hundred.yaml" <<EOS
name: hundred
command: ["true"]
partitions: {range: {start: 1, end: 100}}
concurrency: 2
executor: slurm
EOS

bare='' ns_t=''
r=0
while [ $r -lt "$ROUNDS" ]; do
    r=$((r + 1))
    say "round $r: bare sbatch --array=0-99%2"
    t0=$(now_ms)
    sbatch --parsable --array=0-99%2 --output=/dev/null --chdir="$T" "$T/true.sh" >/dev/null
    while ! drained; do sleep 0.25; done
    b=$(secs "$t0" "$(now_ms)")
    say "round $r: nightshift run, executor: slurm"
    t0=$(now_ms)
    "$NIGHTSHIFT" run --db "$T/bench-$r.db" --quiet "$T/hundred.yaml" >"$T/ns-$r.out" 2>&1 ||
        say "nightshift run exited $?: $(tail -n 2 "$T/ns-$r.out")"
    n=$(secs "$t0" "$(now_ms)")
    ok=$(sqlite3 "$T/bench-$r.db" "SELECT count(*) FROM partitions WHERE state = 'succeeded'")
    say "  bare ${b}s, nightshift ${n}s ($ok succeeded)"
    bare="$bare $b" ns_t="$ns_t $n"
done
bm=$(echo "$bare" | tr ' ' '\n' | grep . | median)
nm=$(echo "$ns_t" | tr ' ' '\n' | grep . | median)
ratio=$(awk -v a="$nm" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')

say "b. runtime CPU with 1000 tasks queued on Slurm"
cat >"$T/thousand.yaml" <<EOS
name: thousand
command: [sleep, "600"]
partitions: {range: {start: 1, end: 1000}}
concurrency: 2
stop_grace: 1s
executor: slurm
EOS
"$NIGHTSHIFT" run --db "$T/queued.db" --quiet "$T/thousand.yaml" >"$T/queued.out" 2>&1 &
rt=$!
t0=$(now_ms)
while [ "$(squeue -h -r -t PD,R -o %i 2>/dev/null | wc -l)" -lt 1000 ] ||
    [ "$(sqlite3 "$T/queued.db" "SELECT count(*) FROM attempts WHERE label GLOB 'job *'" 2>/dev/null)" -lt 2 ]; do
    [ $(($(now_ms) - t0)) -lt 120000 ] || break
    sleep 0.1
done
queued_in=$(secs "$t0" "$(now_ms)")
ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$rt/stat"; }
rss() { awk '/VmRSS/ { print $2 }' "/proc/$rt/status"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
sleep 30
c1=$(ticks)
kb=$(rss)
ms=$(( (c1 - c0) * 1000 / hz ))
pending=$(squeue -h -r -t PD -o %i | wc -l)
running=$(squeue -h -r -t R -o %i | wc -l)
t0=$(now_ms)
"$NIGHTSHIFT" stop --db "$T/queued.db" --now 1 >/dev/null 2>&1
while ! pid_gone "$rt"; do sleep 0.05; done
wait "$rt" 2>/dev/null
stop_s=$(secs "$t0" "$(now_ms)")
cpu=$(awk -v ms="$ms" 'BEGIN { printf "%.2f", ms / 300 }')

cat >&3 <<EOM
## executor: slurm against a bare Slurm array

tests/bench/slurm.sh on a single-node Slurm 22.05 started by tests/e2e/slurm-lib.sh
(loopback, \`sched_interval=2\`, \`batch_sched_delay=0\`; 2 CPUs, so 2 tasks at a time).
Wall time from submission until the last task has ended; the bare array is timed by
polling squeue every 250 ms, nightshift by its own exit (every partition recorded in SQLite,
noticed by its once-a-second squeue). The machine's 2 cores were shared with other work, and
Slurm starts array tasks on its 1-second backfill tick, so single rounds vary by seconds.
$ROUNDS rounds each, alternating; median.

| 100 × \`true\`, 2 at a time | rounds (s) | median (s) | ratio to bare |
|---|---|---:|---:|
| bare \`sbatch --array=0-99%2\` |$bare | $bm | 1.00 |
| \`nightshift run\`, executor: slurm, concurrency 2 |$ns_t | $nm | $ratio |

A run of 1000 partitions of \`sleep 600\` at concurrency 2: one sbatch for all 1000
($queued_in s until Slurm listed them and the first two ran), then 30 s of steady state
with $running running and $pending pending. The runtime polls squeue once a second for the
whole run and stats the running tasks' spool files four times a second.

| 1000 tasks queued on Slurm | value |
|---|---:|
| runtime CPU | $cpu % of one core ($ms ms over 30 s) |
| runtime RSS | $((kb / 1024)) MiB |
| \`stop --now\` until the runtime exited | $stop_s s |

Measured at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC').
An earlier build that submitted with \`--export=NONE\` took 58 s for the same 100 tasks (2.2x):
Slurm 22.05 spends ~0.2-1 s more per task on a job without an exported environment here; the
launcher builds the worker's environment itself, so nightshift submits with Slurm's default.
EOM
ok "measured"
done_testing
