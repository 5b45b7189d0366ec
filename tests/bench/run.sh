#!/usr/bin/env bash
# run.sh - benchmarks for `make bench`: writes docs/benchmarks.md.
#
#   tests/bench/run.sh BIN        (BIN: the nightshift binary, e.g. build/nightshift)
#
# Measures, in one run on one machine, side by side (numbers and ratios, never
# pass/fail):
#   a. planning 100 000 partitions (`nightshift plan`) and the time until a
#      run has stored all 100 000 of them (polled in SQLite);
#   b. per-partition overhead: 2 000 partitions of `true` at concurrency 2
#      next to `xargs -P2 -n1 true` and GNU `parallel -j2 true`;
#   c. peak RSS (and wall time) of the runtime over a whole run of 100 000
#      partitions of `true` (build/tests/helpers/peakrss, wait4's ru_maxrss);
#   d./e. operator command latency and an idle runtime's CPU;
#   f. executor: slurm against a bare Slurm array (tests/bench/slurm.sh; needs
#      root and the Slurm packages, else a note says why it was skipped).
# Timing: hyperfine when installed, else BENCH_RUNS repetitions timed with
# `date +%s.%N`, median. Databases live in a temporary directory.
# Knobs: BENCH_RUNS (5), BENCH_PARALLEL_RUNS (1), BENCH_BIG (100000), BENCH_SMALL (2000),
# BENCH_FULL_TIMEOUT (600 s for c), BENCH_OUT (docs/benchmarks.md).
set -u -o pipefail

[ $# -eq 1 ] || { echo "usage: tests/bench/run.sh BIN" >&2; exit 2; }
case $1 in /*) BIN=$1 ;; *) BIN=$PWD/$1 ;; esac
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD
BUILD=$(dirname "$BIN")
PEAKRSS=$BUILD/tests/helpers/peakrss
RUNS=${BENCH_RUNS:-5}
PAR_RUNS=${BENCH_PARALLEL_RUNS:-1}
BIG=${BENCH_BIG:-100000}
SMALL=${BENCH_SMALL:-2000}
FULL_TIMEOUT=${BENCH_FULL_TIMEOUT:-600}
OUT=${BENCH_OUT:-$ROOT/docs/benchmarks.md}
[ -x "$BIN" ] || { echo "run.sh: $BIN is not executable (run make)" >&2; exit 2; }
[ -x "$PEAKRSS" ] || { echo "run.sh: $PEAKRSS missing (run make)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-bench.XXXXXX") || exit 2
RUNTIME_PID=''
cleanup() {
    [ -n "$RUNTIME_PID" ] && kill -s KILL "$RUNTIME_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
export NIGHTSHIFT_DB=$TMP/unused.db HOME=$TMP/home
mkdir -p "$HOME"

say() { printf '%s\n' "$*" >&2; }
# fmt NUMBER DECIMALS
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'; }
# ratio A B: A/B with two decimals, "-" if either is missing
ratio() {
    if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo -; fi
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", b - a }'; }

# spec FILE NAME N CONCURRENCY ARGV...: a range spec of N one-number partitions
spec() {
    local file=$1 name=$2 n=$3 c=$4 cmd=''
    shift 4
    for a in "$@"; do cmd="$cmd${cmd:+, }\"$a\""; done
    cat >"$file" <<YAML
name: $name
description: benchmark, $n partitions
command: [$cmd]
partitions:
  range: {start: 1, end: $n, size: 1}
concurrency: $c
retry: {attempts: 1}
stop_grace: 1s
log_limit: 4096
YAML
}

# bench NAME PREPARE COMMAND: median wall seconds of COMMAND (a shell string)
# over RUNS runs, PREPARE (a shell string, may be empty) before each, into
# $TMP/NAME.median; returns non-zero and keeps stderr in $TMP/NAME.err if a
# run failed.
bench() {
    local name=$1 prep=$2 cmd=$3 runs=${4:-$RUNS} t0 t1 i
    say "  $name: $cmd"
    : >"$TMP/$name.times"
    if command -v hyperfine >/dev/null; then
        if ! hyperfine --style none --runs "$runs" ${prep:+--prepare "$prep"} \
            --export-csv "$TMP/$name.csv" "$cmd" >/dev/null 2>"$TMP/$name.err"; then
            return 1
        fi
        awk -F, 'NR == 2 { print $4 }' "$TMP/$name.csv" >"$TMP/$name.median"
        return 0
    fi
    for ((i = 0; i < runs; i++)); do
        [ -z "$prep" ] || sh -c "$prep" || return 1
        t0=$(now)
        sh -c "$cmd" >/dev/null 2>"$TMP/$name.err" || return 1
        t1=$(now)
        elapsed "$t0" "$t1" >>"$TMP/$name.times"
    done
    median <"$TMP/$name.times" >"$TMP/$name.median"
}
# why NAME: the first line of a failed benchmark's stderr, for the notes
why() { head -n 1 "$TMP/$1.err" 2>/dev/null | cut -c 1-160; }
q() { printf '%q' "$1"; }

# --- machine ----------------------------------------------------------------
model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
cores=$(nproc)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
kernel=$(uname -sr)
debian=$(cat /etc/debian_version 2>/dev/null || echo "not Debian")
version=$("$BIN" --version 2>&1 | head -n 1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
timer=$(command -v hyperfine >/dev/null && echo "hyperfine, $RUNS runs, median" ||
    echo "date +%s.%N, $RUNS runs, median")
notes=()

# --- a. plan and store BIG partitions ---------------------------------------
say "a. plan and store $BIG partitions"
spec "$TMP/big-sleep.yaml" bench-store "$BIG" 1 sleep 1000
plan_s='' store_s='' store_runs=()
if bench plan "" "$(q "$BIN") plan $(q "$TMP/big-sleep.yaml") >/dev/null" 3; then
    plan_s=$(cat "$TMP/plan.median")
else
    notes+=("a. \`nightshift plan\` failed: $(why plan)")
fi
# The run stores its plan, starts one `sleep 1000` and is then stopped: the
# figure is the time from exec to the moment SQLite shows all partitions.
for ((i = 0; i < 3; i++)); do
    db=$TMP/store-$i.db
    t0=$(now)
    "$BIN" run "$TMP/big-sleep.yaml" --db "$db" >"$TMP/store.out" 2>&1 &
    RUNTIME_PID=$!
    t1=''
    while kill -0 "$RUNTIME_PID" 2>/dev/null; do
        n=$(sqlite3 -cmd '.timeout 100' "$db" 'SELECT count(*) FROM partitions' 2>/dev/null || echo 0)
        if [ "${n:-0}" -ge "$BIG" ]; then t1=$(now); break; fi
        [ "$(elapsed "$t0" "$(now)" | cut -d. -f1)" -lt 300 ] || break
        sleep 0.02
    done
    # graceful stop (SIGTERM), then make sure nothing is left
    kill -s TERM "$RUNTIME_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$RUNTIME_PID" 2>/dev/null || break; sleep 0.05; done
    kill -s KILL "$RUNTIME_PID" 2>/dev/null
    wait "$RUNTIME_PID" 2>/dev/null
    RUNTIME_PID=''
    for g in $(sqlite3 "$db" 'SELECT pgid FROM attempts WHERE pgid > 1' 2>/dev/null); do
        kill -s KILL -- "-$g" 2>/dev/null
    done
    if [ -z "$t1" ]; then
        notes+=("a. the run never showed $BIG stored partitions: $(head -n 1 "$TMP/store.out" | cut -c 1-160)")
        break
    fi
    store_runs+=("$(elapsed "$t0" "$t1")")
done
[ ${#store_runs[@]} -eq 0 ] || store_s=$(printf '%s\n' "${store_runs[@]}" | median)

# --- b. per-partition overhead ----------------------------------------------
say "b. $SMALL partitions of true at concurrency 2"
spec "$TMP/small.yaml" bench-small "$SMALL" 2 true
ns_s='' xargs_s='' par_s=''
if bench nightshift "rm -rf $(q "$TMP")/small.db*" \
    "$(q "$BIN") run $(q "$TMP/small.yaml") --db $(q "$TMP/small.db")"; then
    ns_s=$(cat "$TMP/nightshift.median")
else
    notes+=("b. \`nightshift run\` failed: $(why nightshift)")
fi
bench xargs "" "seq $SMALL | xargs -P2 -n1 true" && xargs_s=$(cat "$TMP/xargs.median")
if command -v parallel >/dev/null && parallel --version 2>/dev/null | grep -q 'GNU parallel'; then
    # parallel costs ~10x xargs per job: BENCH_PARALLEL_RUNS (default 1) runs only
    bench parallel "" "seq $SMALL | parallel --will-cite -j2 true" "$PAR_RUNS" &&
        par_s=$(cat "$TMP/parallel.median")
else
    notes+=("b. GNU parallel is not installed (Debian package \`parallel\`): not measured")
fi

# --- c. peak RSS over a whole BIG run ---------------------------------------
say "c. peak RSS, $BIG partitions of true at concurrency 4 (limit ${FULL_TIMEOUT}s)"
spec "$TMP/big-true.yaml" bench-rss "$BIG" 4 true
rss_kb='' full_s='' full_done=''
t0=$(now)
"$PEAKRSS" -o "$TMP/rss" timeout -s TERM -k 30 "$FULL_TIMEOUT" \
    "$BIN" run "$TMP/big-true.yaml" --db "$TMP/rss.db" >"$TMP/rss.out" 2>&1
rc=$?
t1=$(now)
rss_kb=$(cat "$TMP/rss" 2>/dev/null)
full_done=$(sqlite3 -cmd '.timeout 2000' "$TMP/rss.db" \
    "SELECT count(*) FROM partitions WHERE state = 'succeeded'" 2>/dev/null || echo 0)
if [ "$rc" -eq 0 ]; then
    full_s=$(elapsed "$t0" "$t1")
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    notes+=("c. the ${BIG}-partition run was stopped after ${FULL_TIMEOUT}s with ${full_done:-0} partitions done; the RSS is the peak until then")
else
    notes+=("c. \`nightshift run\` of $BIG partitions exited $rc: $(head -n 1 "$TMP/rss.out" | cut -c 1-160)")
    rss_kb=''
fi

# --- d. operator commands and an idle runtime -------------------------------
say "d. operator command latency (200 commands) and e. idle CPU with 2 paused workers (60 s)"
latency=$(NIGHTSHIFT_BUILD=$BUILD "$ROOT/tests/bench/control-latency.sh" 200 2>&1) ||
    notes+=("d. control-latency.sh failed: $(echo "$latency" | tail -n 1)")
idle=$("$ROOT/tests/bench/idle-cpu.sh" "$BIN" "${BENCH_IDLE_SECONDS:-60}" 2>&1) ||
    notes+=("e. idle-cpu.sh failed: $(echo "$idle" | tail -n 1)")

say "f. executor: slurm against a bare sbatch array (tests/bench/slurm.sh)"
slurm_md=$(NIGHTSHIFT_BUILD=$BUILD "$ROOT/tests/bench/slurm.sh" 2>"$TMP/slurm.err")
case $? in
0) ;;
77) notes+=("f. skipped: $(grep -m1 SKIP "$TMP/slurm.err" | sed 's/.*SKIP *//')") slurm_md='' ;;
*) notes+=("f. slurm.sh failed: $(tail -n 1 "$TMP/slurm.err")") slurm_md='' ;;
esac

# --- the report ---------------------------------------------------------------
ms_per() { [ -n "$1" ] && awk -v s="$1" -v n="$2" 'BEGIN { printf "%.3f", s * 1000 / n }'; }
cell() { if [ -n "$1" ]; then fmt "$1" "$2"; else echo "not measured"; fi; }
per_ns=$(ms_per "$ns_s" "$SMALL") per_xargs=$(ms_per "$xargs_s" "$SMALL") per_par=$(ms_per "$par_s" "$SMALL")
mkdir -p "$(dirname "$OUT")"
{
    echo "# Benchmarks"
    echo
    echo "Measured by \`make bench\` (tests/bench/run.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Numbers, not assertions: they describe this machine on this day."
    echo
    echo "| machine | |"
    echo "|---|---|"
    echo "| CPU | ${model:-unknown} |"
    echo "| cores | $cores |"
    echo "| memory | $mem |"
    echo "| kernel | $kernel |"
    echo "| Debian | $debian |"
    echo "| nightshift | $version (commit $commit) |"
    echo "| timing | $timer |"
    echo
    echo "## a. Planning and storing $BIG partitions"
    echo
    echo "A \`range\` spec of $BIG one-number partitions. *Plan* is \`nightshift plan SPEC >/dev/null\`;"
    echo "*store* is the time from starting \`nightshift run\` until SQLite holds all $BIG partition"
    echo "rows (polled every 20 ms; the run is then stopped)."
    echo
    echo "| step | seconds | µs per partition | ratio to plan |"
    echo "|---|---:|---:|---:|"
    echo "| plan | $(cell "$plan_s" 3) | $( [ -n "$plan_s" ] && fmt "$(awk -v s="$plan_s" -v n="$BIG" 'BEGIN { print s * 1e6 / n }')" 2 || echo -) | $(ratio "$plan_s" "$plan_s") |"
    echo "| plan + store | $(cell "$store_s" 3) | $( [ -n "$store_s" ] && fmt "$(awk -v s="$store_s" -v n="$BIG" 'BEGIN { print s * 1e6 / n }')" 2 || echo -) | $(ratio "$store_s" "$plan_s") |"
    echo
    echo "## b. Per-partition overhead: $SMALL × \`true\` at concurrency 2"
    echo
    echo "Wall time of the whole batch divided by $SMALL. nightshift records every attempt, state"
    echo "change and the attempt log in SQLite; xargs and parallel record nothing."
    echo
    echo "| tool | seconds | ms per partition | ratio to xargs |"
    echo "|---|---:|---:|---:|"
    echo "| \`nightshift run\` (concurrency: 2) | $(cell "$ns_s" 3) | ${per_ns:--} | $(ratio "$ns_s" "$xargs_s") |"
    echo "| \`seq $SMALL \| xargs -P2 -n1 true\` | $(cell "$xargs_s" 3) | ${per_xargs:--} | $(ratio "$xargs_s" "$xargs_s") |"
    echo "| \`seq $SMALL \| parallel -j2 true\` ($PAR_RUNS run(s)) | $(cell "$par_s" 3) | ${per_par:--} | $(ratio "$par_s" "$xargs_s") |"
    echo
    echo "## c. Peak RSS of the runtime for $BIG partitions"
    echo
    echo "\`nightshift run\` of $BIG partitions of \`true\` at concurrency 4, under"
    echo "\`build/tests/helpers/peakrss\` (ru_maxrss from wait4: the largest of the runtime and its"
    echo "workers, which for \`true\` is the runtime)."
    echo
    echo "| measure | value |"
    echo "|---|---:|"
    echo "| peak RSS | $( [ -n "$rss_kb" ] && echo "$(fmt "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" 1) MiB" || echo "not measured") |"
    echo "| bytes per partition | $( [ -n "$rss_kb" ] && fmt "$(awk -v k="$rss_kb" -v n="$BIG" 'BEGIN { print k * 1024 / n }')" 0 || echo -) |"
    echo "| wall time | $( [ -n "$full_s" ] && echo "$(fmt "$full_s" 1) s" || echo "-") |"
    echo "| partitions per second | $( [ -n "$full_s" ] && fmt "$(awk -v s="$full_s" -v n="$BIG" 'BEGIN { print n / s }')" 0 || echo -) |"
    echo
    echo "## d. Operator command latency"
    echo
    echo "tests/bench/control-latency.sh: pause/resume alternated on a live run, 200 commands per"
    echo "mode (see the script for what each line measures)."
    echo
    echo '```'
    echo "$latency"
    echo '```'
    echo
    echo "## e. CPU of an idle runtime"
    echo
    echo "tests/bench/idle-cpu.sh: a runtime whose 2 workers are paused (SIGSTOP), measured from"
    echo "/proc/PID/stat (utime + stime). The runtime wakes 20 times a second to look for operator"
    echo "commands (PRAGMA data_version) and writes a heartbeat once a second."
    echo
    echo '```'
    echo "$idle"
    echo '```'
    if [ -n "$slurm_md" ]; then
        echo
        echo "$slurm_md"
    fi
    if [ ${#notes[@]} -gt 0 ]; then
        echo
        echo "## Notes"
        echo
        for n in "${notes[@]}"; do echo "- $n"; done
    fi
} >"$OUT"
say "wrote $OUT"
