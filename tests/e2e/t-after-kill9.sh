#!/bin/sh
# after: under kill -9. Each round starts `load` (after extract, same-key)
# and `extract` over 5 days, kills one of the two runtimes (or both) with
# SIGKILL at a random moment, resumes it, and checks that both runs end
# succeeded with every output exact (one file per job and day, written whole)
# and that no load day started before its extract day's last end. 5 rounds in
# make test; AFTER_KILL9_ROUNDS=20 for the long form.
. "$(dirname "$0")/lib.sh"

rounds=${AFTER_KILL9_ROUNDS:-5}
mkdir -p "$T/out"
job() {
    cat >"$T/$1.yaml" <<YAML
name: $1
params: {dir: "$T", round: "0"}
command: [sh, -c, 'f="\$2/out/\$3-\$0-\$1"; echo "\$0 \$1 start \$(date +%s.%N)" >>"\$2/times-\$3"; sleep $2; echo "\$1" >"\$f.tmp" && mv "\$f.tmp" "\$f"; echo "\$0 \$1 end \$(date +%s.%N)" >>"\$2/times-\$3"', $1, "{date}", "{dir}", "{round}"]
partitions: {dates: {from: "2026-11-01", to: "2026-11-05"}}
concurrency: $3
stop_grace: 1s
$4
YAML
}
job extract 0.15 2 ""
job load 0.05 5 "after:
  - {job: extract, partitions: same-key}"

pid_of() { sql "SELECT coalesce(runtime_pid, 0) FROM runs WHERE job = '$1' AND params LIKE '%round=$2%'"; }
random_ms() { awk -v s="$(date +%N)" -v max="$1" 'BEGIN { srand(s); print int(rand() * max) }'; }

bad=0
r=1
while [ "$r" -le "$rounds" ]; do
    ns run "$T/load.yaml" -p round=$r --detach >/dev/null 2>&1
    ns run "$T/extract.yaml" -p round=$r --detach >/dev/null 2>&1
    sleep "0.$(printf '%03d' "$(random_ms 900)")"
    case $(random_ms 3) in
    0) victims=extract ;;
    1) victims=load ;;
    *) victims="extract load" ;;
    esac
    for v in $victims; do
        p=$(pid_of "$v" "$r")
        [ "$p" -gt 0 ] && kill -9 "$p" 2>/dev/null
    done
    for v in $victims; do
        wait_for "round $r: $v's runtime gone" 10 sh -c "! kill -0 $(pid_of "$v" "$r") 2>/dev/null"
        ns run "$T/$v.yaml" -p round=$r --detach >/dev/null 2>&1
    done
    ns wait job:extract --timeout 30s >/dev/null 2>&1 || { diag "round $r: extract did not succeed"; bad=$((bad + 1)); }
    ns wait job:load --timeout 30s >/dev/null 2>&1 || { diag "round $r: load did not succeed"; bad=$((bad + 1)); }
    for j in extract load; do
        for d in 01 02 03 04 05; do
            [ "$(cat "$T/out/$r-$j-2026-11-$d" 2>/dev/null)" = "2026-11-$d" ] ||
                { diag "round $r: $j 2026-11-$d output missing or wrong"; bad=$((bad + 1)); }
        done
    done
    order=$(python3 - "$T/times-$r" <<'PY'
import sys
starts, ends = {}, {}
for line in open(sys.argv[1]):
    job, key, what, at = line.split()
    if job == "load" and what == "start":
        starts[key] = min(starts.get(key, 1e18), float(at))
    if job == "extract" and what == "end":
        ends[key] = max(ends.get(key, 0), float(at))
bad = [k for k in starts if k not in ends or starts[k] < ends[k]]
print("ok" if not bad else "load before extract: %s" % bad)
PY
)
    [ "$order" = ok ] || { diag "round $r ($victims killed): $order"; bad=$((bad + 1)); }
    r=$((r + 1))
done
is "$rounds rounds with runtimes killed -9: both runs succeeded, outputs exact, no load day before its extract day" "$bad" 0
is "nothing is left running" "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL")" 0
done_testing
