#!/bin/sh
# Issue 22 item 7: a real Prometheus (the Debian package) scrapes what
# `run --metrics-textfile` wrote - served on loopback by a tiny HTTP server,
# found through a file_sd target - with the default honor_labels: false. The
# job's name comes back under nightshift_job (Prometheus keeps `job` for its
# own scrape job, so nothing is renamed exported_job), the per-job series
# carry no run id, and the duration histogram aggregates with
# histogram_quantile.
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || skip_all "prometheus not installed (Debian package prometheus)"
command -v python3 >/dev/null || skip_all "python3 not installed"

mkdir -p "$T/www" "$T/tsdb"
cat >"$T/j.yaml" <<YAML
name: nightly-etl
command: [sh, $ROOT/tests/e2e/specs/report.sh, "4", "0"]
partitions: {list: [a, b, bad, c]}
on_exit: {2: fail}
YAML
ns run "$T/j.yaml" --metrics-textfile "$T/www/metrics" >"$T/run.out" 2>&1
is "the run ends failed (one partition exits 2)" "$?" 1
check "the textfile is there" test -s "$T/www/metrics"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_port=$(free_port)
prom_port=$(free_port)
spawn http python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$T/www"
http_pid=$SPAWNED
printf '[{"targets": ["127.0.0.1:%s"], "labels": {"env": "test"}}]\n' "$http_port" >"$T/targets.json"
cat >"$T/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: node-textfile
    file_sd_configs: [{files: ["$T/targets.json"], refresh_interval: 1s}]
YAML
spawn prometheus prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port"
prom_pid=$SPAWNED

# query EXPR: the instant vector as sorted lines "label=value,... VALUE"
# (labels without __name__), through the HTTP API on loopback.
query() {
    python3 - "$prom_port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(sys.argv[2]))
with urllib.request.urlopen(url, timeout=5) as r:
    body = json.load(r)
lines = []
for s in body["data"]["result"]:
    m = s["metric"]
    labels = ",".join("%s=%s" % (k, m[k]) for k in sorted(m) if k != "__name__")
    lines.append("%s %s" % (labels, s["value"][1]))
print("\n".join(sorted(lines)))
PY
}
has_sample() { [ -n "$(query "$1" 2>/dev/null)" ]; }
wait_for "Prometheus scraped the textfile" 25 has_sample 'nightshift_run_state{state="failed"} == 1'

is "the scrape is up" "$(query 'up{job="node-textfile"}' | awk '{ print $2 }')" 1
is "the run state comes back under nightshift_job, the scrape job under job" \
    "$(query 'nightshift_run_state{state="failed"}')" \
    "env=test,instance=127.0.0.1:$http_port,job=node-textfile,nightshift_job=nightly-etl,state=failed 1"
is "nothing was renamed exported_job" "$(query 'count({exported_job!=""})')" ""
is "the label's values, read back" "$(python3 -c '
import json, sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/api/v1/label/nightshift_job/values" % sys.argv[1], timeout=5) as r:
    print(" ".join(json.load(r)["data"]))' "$prom_port")" "nightly-etl"
is "records are a counter of the job" "$(query 'nightshift_records_done_total' | awk '{ print $2 }')" \
    "$(sql "SELECT records_done FROM runs")"
is "job-level series carry no run id (only nightshift_run_info does)" \
    "$(query 'label_replace(count by (__name__) ({__name__=~"nightshift_.+", run!=""}), "family", "$1", "__name__", "(.+)")')" \
    "family=nightshift_run_info 1"
is "the run id is in nightshift_run_info" "$(query 'nightshift_run_info' | grep -o 'run=[0-9]*')" "run=1"
is "the histogram aggregates: the median partition took under a second" \
    "$(query 'histogram_quantile(0.5, sum by (le) (nightshift_partition_duration_seconds_bucket)) < 1' | awk '{ print ($NF > 0) }')" 1

kill -s TERM "$prom_pid" "$http_pid"
wait_for "Prometheus stops" 15 pid_gone "$prom_pid"
wait_for "the HTTP server stops" 5 pid_gone "$http_pid"
done_testing
