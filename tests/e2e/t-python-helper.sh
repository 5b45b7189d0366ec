#!/bin/sh
# Issue 22, installed docs: a small Python helper for workers beside emit.h
# (include/nightshift/nightshift_emit.py), with its example
# (configs/python.yaml, configs/workers/count.py). Run by nightshift, the
# example's progress, checkpoints, logs and error records (payloads with a
# NUL and a byte that is not UTF-8) arrive exact; a resumed attempt starts
# from its checkpoint. Outside nightshift every call is a no-op; arguments
# the protocol cannot carry raise ValueError.
. "$(dirname "$0")/lib.sh"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

ns run "$CONFIGS/python.yaml" -p out="$T/out" --quiet >"$T/run.out" 2>&1
is "issue 22: the Python example runs and succeeds" "$?" 0
is "every partition reported its progress and last checkpoint" \
    "$(sql "SELECT group_concat(progress || '/' || total || ' ' || CAST(checkpoint AS TEXT), ',') FROM partitions")" \
    "500/500 row=500,500/500 row=500,500/500 row=500,500/500 row=500"
is "five error records per partition (every 97th row)" "$(sql "SELECT count(*) FROM error_records")" 20
is "with the payload's bytes exact (a NUL, a byte that is not UTF-8)" \
    "$(sql "SELECT DISTINCT hex(payload) FROM error_records")" "6E2F6100FF"
is "its sums are right (1..500 without the multiples of 97)" "$(cat "$T/out/north.sum")" 123795
like "its warn log lines are events" "$(ns events 1)" "log +warn: partition north: 5 rows were not numbers"

# A resumed attempt gets its checkpoint back and starts after it.
mkdir -p "$T/resume"
NIGHTSHIFT_REPORT_FD=1 NIGHTSHIFT_CHECKPOINT=row=400 NIGHTSHIFT_PARTITION_KEY=k \
    python3 "$ROOT/configs/workers/count.py" 500 "$T/resume" >"$T/resume.out"
like "from a checkpoint it starts after it" "$(head -n 2 "$T/resume.out")" "log info partition k: from row 400"
is "and counts only what is left" "$(cat "$T/resume/k.sum")" "$(python3 -c 'print(sum(i for i in range(401, 501) if i % 97))')"

# The helper alone.
py() { PYTHONPATH="$ROOT/include/nightshift" python3 -c "import nightshift_emit as ns; $1"; }
is "outside nightshift a call is a no-op (False)" "$(env -u NIGHTSHIFT_REPORT_FD sh -c 'PYTHONPATH="$1/include/nightshift" python3 -c "import nightshift_emit as ns; print(ns.total(5))"' - "$ROOT")" False
is "under it, the exact lines" "$(NIGHTSHIFT_REPORT_FD=1 py 'ns.total(5); ns.progress(2); ns.log("warn", "two\nlines"); ns.error(None, "m")')" \
    "$(printf 'total 5\nprogress 2\nlog warn two lines\nerror - m')"
for bad in 'ns.progress(-1)' 'ns.checkpoint("a\nb")' 'ns.checkpoint("")' 'ns.error("a key", "m")' \
    'ns.log("loud", "m")' 'ns.error("k", "m", payload=bytes(1048577))' 'ns.log("info", "a" + chr(0) + "b")'; do
    NIGHTSHIFT_REPORT_FD=1 py "$bad" >/dev/null 2>"$T/err"
    like "refused with ValueError: $(printf '%s' "$bad" | tr '\\' '~')" "$(tail -n 1 "$T/err")" "^ValueError: "
done
done_testing
