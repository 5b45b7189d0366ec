#!/bin/sh
# Issue 22 item 9: `nightshift attempts RUN --format tsv|jsonl`, the job log a
# GNU parallel user keeps with --joblog - one row per attempt (partition,
# key, attempt, start, end, duration, outcome, exit, signal, executor, where,
# log bytes), on a real run with a failure, a retry and keys holding a tab
# and a backslash; TSV escapes them (\t \\), JSONL matches docs/json.md.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

cat >"$T/j.yaml" <<YAML
name: joblog
shell: true
params: {marks: "$T"}
command: >-
  case "\$NIGHTSHIFT_PARTITION_KEY" in
  flaky) [ -e "\$NIGHTSHIFT_P_MARKS/flaky.once" ] || { : >"\$NIGHTSHIFT_P_MARKS/flaky.once"; echo first try; exit 3; }; echo again;;
  doomed) echo no luck; exit 4;;
  killed) kill -TERM \$\$;;
  esac; exit 0
partitions:
  list: ["tab\there", 'back\slash', flaky, doomed, killed]
retry: {attempts: 2, backoff: 0.1s}
YAML
ns run "$T/j.yaml" --quiet >"$T/run.out" 2>&1
is "the run fails (doomed and killed fail twice)" "$?" 1

ns attempts 1 >"$T/a.tsv" 2>"$T/a.err"
is "attempts exits 0" "$?" 0
is "the header names the columns" "$(head -n 1 "$T/a.tsv")" \
    "$(printf 'partition\tkey\tattempt\tstart\tend\tduration\toutcome\texit\tsignal\texecutor\twhere\tlog_bytes')"
is "one row per attempt in the database" "$(($(wc -l <"$T/a.tsv") - 1))" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")"
is "every row has 12 fields (the tab in a key is escaped)" \
    "$(awk -F '\t' 'NR > 1 && NF != 12' "$T/a.tsv" | wc -l)" 0
row() { K=$1 N=$2 awk -F '\t' '$2 == ENVIRON["K"] && $3 == ENVIRON["N"]' "$T/a.tsv"; }
is "the tab in a key is written backslash-t" "$(row 'tab\there' 1 | cut -f 1,2,3,7,8)" "$(printf '0\ttab\\there\t1\tsucceeded\t0')"
is "the backslash in a key is doubled" "$(row 'back\\slash' 1 | cut -f 1,7)" "$(printf '1\tsucceeded')"
is "the flaky partition: a failure (exit 3), then a retry that succeeded" \
    "$(row flaky 1 | cut -f 3,7,8,9; row flaky 2 | cut -f 3,7,8,9)" \
    "$(printf '1\tfailed\t3\t\n2\tsucceeded\t0\t')"
is "the doomed one failed twice with exit 4" "$(row doomed 1 | cut -f 7,8; row doomed 2 | cut -f 7,8)" "$(printf 'failed\t4\nfailed\t4')"
is "the killed one: the signal, no exit code" "$(row killed 1 | cut -f 7,8,9)" "$(printf 'signalled\t\t15')"
is "times and duration agree (end - start = duration, to the millisecond)" \
    "$(awk -F '\t' 'NR > 1 { d = $5 - $4 - $6; if (d > 0.002 || d < -0.002) bad++ } END { print bad + 0 }' "$T/a.tsv")" 0
is "where it ran: the worker's pid, as the database has it" "$(row flaky 2 | cut -f 10,11)" \
    "$(printf 'local\t%s' "$(sql "SELECT label FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = 'flaky' AND a.n = 2")")"
is "log bytes: 'first try' and a newline" "$(row flaky 1 | cut -f 12)" 10
is "the rows come in the order the attempts started" \
    "$(awk -F '\t' 'NR > 2 && $4 < last { bad++ } NR > 1 { last = $4 } END { print bad + 0 }' "$T/a.tsv")" 0

ns attempts 1 --format jsonl >"$T/a.jsonl"
is "attempts --format jsonl exits 0" "$?" 0
is "each line matches nightshift.attempt/1 in docs/json.md" \
    "$(python3 "$ROOT/tests/e2e/json-md-check.py" "$ROOT/docs/json.md" nightshift.attempt/1 "$T/a.jsonl" jsonl)" ok
is "the keys come back exactly" \
    "$(python3 -c 'import json, sys; print(sorted(set(json.loads(l)["key"] for l in open(sys.argv[1]))) == sorted(["tab\there", "back\\slash", "flaky", "doomed", "killed"]))' "$T/a.jsonl")" True
is "the retry in JSON" \
    "$(python3 -c 'import json, sys; print([(d["attempt"], d["outcome"], d["exit_code"], d["signal"]) for d in map(json.loads, open(sys.argv[1])) if d["key"] == "flaky"])' "$T/a.jsonl")" \
    "[(1, 'failed', 3, None), (2, 'succeeded', 0, None)]"

ns attempts 1 --format csv >/dev/null 2>"$T/bad.err"
is "an unknown format is a usage error" "$?" 2
ns attempts 9 >/dev/null 2>&1
is "no such run exits 3" "$?" 3
done_testing
