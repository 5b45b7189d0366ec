#!/bin/sh
# Prometheus metrics: a running job keeps its textfile (metrics.textfile in
# the spec) fresh - written whole and renamed, valid for promtool, refreshed
# while it runs - and `nightshift metrics` prints the same families for the
# newest run of every job; the figures equal the database's. Issue 22 item 7:
# the ecosystem's conventions - label nightshift_job (never job), per-job
# series with the run id only in nightshift_run_info, records as a _total
# counter, durations as a histogram, no computed records/s.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || skip_all "promtool not installed (Debian package prometheus)"

mkdir -p "$T/out"
cat >"$T/m.yaml" <<YAML
name: metered
params: {hold: "$T/hold", out: "$T/out"}
command: [sh, $ROOT/tests/e2e/specs/report.sh, "12", "0.05"]
partitions: {list: [hold, a, bad, err, c]}
concurrency: 2
on_exit: {2: fail}
env: {HOLD: "{hold}"}
halt_when: {failed_partitions: 50%}
sla: {max_duration: 1h}
metrics: {textfile: "{out}/nightshift.prom"}
YAML
prom=$T/out/nightshift.prom
val() { # val FILE SERIES-REGEX: the value of the first matching sample
    grep -E "^$2 " "$1" | head -n 1 | awk '{ print $2 }'
}
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/m.yaml"
wait_for "the textfile appears while the run runs" 20 test -s "$prom"
wait_for "it shows a live runtime" 20 grep -q '^nightshift_runtime_up{nightshift_job="metered"} 1$' "$prom"
cp "$prom" "$T/live.prom"
check "the live file passes promtool check metrics" sh -c "promtool check metrics <'$T/live.prom' >'$T/lint.out' 2>&1"
[ -s "$T/lint.out" ] && diag "$(cat "$T/lint.out")"
like "partitions by state, a running one among them" "$(cat "$T/live.prom")" 'nightshift_partitions\{nightshift_job="metered",state="running"\} [12]'
like "an ETA or none yet, never negative" "$(grep -c '^nightshift_eta_seconds{.*} -' "$T/live.prom")" '^0$'
first=$(val "$prom" 'nightshift_records_done_total\{nightshift_job="metered"\}')
wait_for "the file is refreshed while the partition is held (records grow past $first)" 30 sh -c \
    "test \"\$(grep '^nightshift_records_done_total{' '$prom' | awk '{ print \$2 }')\" -gt '$first'"
like "checkpoint lag is measured while running" "$(cat "$prom")" 'nightshift_checkpoint_lag_seconds\{nightshift_job="metered"\} [0-9.e+-]+'
like "queue depth is there" "$(cat "$prom")" 'nightshift_queue_depth\{nightshift_job="metered"\} [0-9]+'
is "no temporary file is left beside it" "$(ls "$T/out" | grep -v '^nightshift.prom$' | grep -c tmp)" 0
: >"$T/hold"
wait_for "the runtime ends" 60 pid_gone "$SPAWNED"
check "the final file passes promtool" sh -c "promtool check metrics <'$prom'"
like "the final file says the run failed" "$(cat "$prom")" 'nightshift_run_state\{nightshift_job="metered",state="failed"\} 1'
like "and names the run in its one per-run series" "$(cat "$prom")" 'nightshift_run_info\{nightshift_job="metered",run="1"\} 1'
like "and that no runtime drives it" "$(cat "$prom")" 'nightshift_runtime_up\{nightshift_job="metered"\} 0'

ns metrics 1 >"$T/cli.prom" 2>"$T/cli.err"
is "nightshift metrics exits 0" "$?" 0
check "its output passes promtool" sh -c "promtool check metrics <'$T/cli.prom'"
for st in succeeded failed skipped pending; do
    is "partitions{state=$st} equals the database" \
        "$(val "$T/cli.prom" "nightshift_partitions\\{nightshift_job=\"metered\",state=\"$st\"\\}")" \
        "$(sql "SELECT count(*) FROM partitions WHERE state = '$st'")"
done
is "attempts by outcome" "$(val "$T/cli.prom" 'nightshift_attempts_total\{nightshift_job="metered",outcome="failed"\}')" "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'failed'")"
is "error records" "$(val "$T/cli.prom" 'nightshift_error_records\{nightshift_job="metered"\}')" "$(sql "SELECT error_records FROM runs")"
is "records done" "$(val "$T/cli.prom" 'nightshift_records_done_total\{nightshift_job="metered"\}')" "$(sql "SELECT records_done FROM runs")"
is "success ratio: 4 of 5 finished" "$(val "$T/cli.prom" 'nightshift_partition_success_ratio\{nightshift_job="metered"\}')" 0.8
is "error budget: 1 failed of a 50% (2.5) budget" "$(val "$T/cli.prom" 'nightshift_error_budget_burn_ratio\{nightshift_job="metered",budget="failed_partitions"\}')" 0.4
is "SLA missed: the run failed, so no deadline was met (issue 22 item 6)" "$(val "$T/cli.prom" 'nightshift_sla_state\{nightshift_job="metered",state="missed"\}')" 1
is "no ETA for a finished run" "$(grep -c '^nightshift_eta_seconds{' "$T/cli.prom")" 0
is "durations as a histogram: count of finished partitions" "$(val "$T/cli.prom" 'nightshift_partition_duration_seconds_count\{nightshift_job="metered"\}')" 5
is "its +Inf bucket holds them all" "$(val "$T/cli.prom" 'nightshift_partition_duration_seconds_bucket\{nightshift_job="metered",le="\+Inf"\}')" 5
is "the histogram's type" "$(grep -c '^# TYPE nightshift_partition_duration_seconds histogram$' "$T/cli.prom")" 1
is "no quantile of a summary is left" "$(grep -c 'quantile=' "$T/cli.prom")" 0
is "buckets are cumulative (each at least the one before)" "$(grep '^nightshift_partition_duration_seconds_bucket{' "$T/cli.prom" | awk '{ if ($2 < last) bad++; last = $2 } END { print bad + 0 }')" 0
is "no sample has Prometheus's own job label" "$(grep -v '^#' "$T/cli.prom" | grep -c -e '{job=' -e ',job=')" 0
is "only nightshift_run_info carries the run id" "$(grep -v '^#' "$T/cli.prom" | grep 'run="' | grep -vc '^nightshift_run_info{')" 0
is "records done is a counter named _total" "$(grep -c '^# TYPE nightshift_records_done_total counter$' "$T/cli.prom")" 1
is "no computed records per second (rate() does that)" "$(grep -c 'records_per_second' "$T/cli.prom")" 0
is "the last partition success is the database's" "$(val "$T/cli.prom" 'nightshift_last_partition_success_timestamp_seconds\{nightshift_job="metered"\}' | cut -d. -f1)" "$(sql "SELECT cast(max(finished_at) AS int) FROM partitions WHERE state = 'succeeded'")"
is "the live file and the CLI agree on the final figures" \
    "$(grep -v -e _seconds -e '^#' "$prom" | grep -v per_second | sort)" \
    "$(grep -v -e _seconds -e '^#' "$T/cli.prom" | grep -v per_second | sort)"

# A second job, and --metrics-textfile: every job's newest run, each family once.
cat >"$T/other.yaml" <<YAML
name: other
command: [sh, $ROOT/tests/e2e/specs/report.sh, "2", "0"]
partitions: {list: [x, y]}
YAML
ns run "$T/other.yaml" --metrics-textfile "$T/other.prom" >/dev/null 2>&1
is "the other job succeeds" "$?" 0
like "--metrics-textfile writes there" "$(cat "$T/other.prom")" 'nightshift_run_state\{nightshift_job="other",state="succeeded"\} 1'
like "and the job's last success time" "$(cat "$T/other.prom")" 'nightshift_job_last_success_timestamp_seconds\{nightshift_job="other"\} [0-9]'
ns metrics >"$T/all.prom"
check "all jobs pass promtool" sh -c "promtool check metrics <'$T/all.prom'"
is "each family is declared once" "$(grep -c '^# TYPE nightshift_partitions ' "$T/all.prom")" 1
is "both jobs are there" "$(grep '^nightshift_run_info{' "$T/all.prom" | sed 's/.*nightshift_job="\([^"]*\)".*/\1/' | sort | tr '\n' ' ')" "metered other "
ns metrics 42 >/dev/null 2>&1
is "metrics of a missing run exits 3" "$?" 3
done_testing
