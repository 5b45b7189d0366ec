#!/bin/sh
# Every JSON document validates strictly (Python's json on the raw bytes,
# decoded as UTF-8 with errors raised, NaN and duplicate keys refused), carries its documented
# "schema" and fields (docs/json.md), never holds a raw C1 control or bidi
# override, and keeps a worker message with an invalid byte distinguishable
# from one with U+00FF: status --json, status --json (runs), errors --format
# jsonl, audit --json.
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

PATH=$NIGHTSHIFT_BUILD:$PATH ns run "$SPECS/json-bytes.yaml" --quiet >"$T/run.out" 2>&1
is "the run fails (two partitions fail)" "$?" 1

# validate FILE DOCUMENT [jsonl]: strict parse; prints "ok" or the problem.
cat >"$T/validate.py" <<'PY'
import json, sys
path, doc = sys.argv[1], sys.argv[2]
lines = sys.argv[3:] == ["jsonl"]
raw = open(path, "rb").read()
def bad_const(c):
    raise ValueError("non-standard constant " + c)
def no_dups(pairs):
    keys = [k for k, _ in pairs]
    dups = sorted(set(k for k in keys if keys.count(k) > 1))
    if dups:
        raise ValueError("duplicate keys %s" % dups)
    return dict(pairs)
try:
    text = raw.decode("utf-8", errors="strict")
    for ch in ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
               "\u2069", "\u200b", "\u2028", "\u2029"):
        if ch in text:
            raise ValueError("raw U+%04X in the output" % ord(ch))
    if any(0x80 <= ord(c) <= 0x9f or (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f for c in text):
        raise ValueError("a raw control character in the output")
    if not text.endswith("\n") or "\r" in text:
        raise ValueError("lines must end with LF")
    docs = [json.loads(l, parse_constant=bad_const, object_pairs_hook=no_dups) for l in text.splitlines()] if lines \
        else [json.loads(text, parse_constant=bad_const, object_pairs_hook=no_dups)]
    for d in docs:
        if d.get("schema") != "nightshift.%s/1" % doc:
            raise ValueError("schema is %r" % d.get("schema"))
    print("ok")
except Exception as e:
    print("invalid: %s" % e)
PY
validate() { python3 "$T/validate.py" "$@"; }
# field FILE EXPR: a Python expression over the parsed document d (or the
# list of lines ds).
field() {
    python3 -c 'import json,sys
raw = open(sys.argv[1], "rb").read().decode()
ds = [json.loads(l) for l in raw.splitlines()]
d = ds[0]
print(eval(sys.argv[2]))' "$@"
}

# --- status RUN --json ------------------------------------------------------
ns status 1 --json >"$T/status.json"
is "status --json exits 0" "$?" 0
is "status --json is strict JSON, schema nightshift.status/1" "$(validate "$T/status.json" status)" ok
is "every documented run field is there" \
    "$(field "$T/status.json" 'sorted(set(["schema","id","job","params","state","state_reason","runtime_alive","runtime_pid","heartbeat_at","concurrency","executor","total","done","pending","queued","running","retry_wait","paused","succeeded","failed","skipped","records_done","records_total","error_records","throughput","record_rate","eta_seconds","projected_finish","sla_deadline","sla_max_duration","sla_state","created_at","started_at","finished_at","elapsed_seconds","spec_path","failure_group_partitions","failure_groups","partitions","partitions_truncated","waiting","waiting_total"]) - set(d))')" "[]"
is "counts sum to the total" "$(field "$T/status.json" 'd["pending"]+d["running"]+d["retry_wait"]+d["paused"]+d["succeeded"]+d["failed"]+d["skipped"] == d["total"] == 3')" True
is "a finished run has no ETA and no finish time (null, not 0)" \
    "$(field "$T/status.json" '(d["eta_seconds"], d["projected_finish"], d["runtime_alive"])')" "(None, None, False)"
is "two failure groups, each of one failed partition" \
    "$(field "$T/status.json" 'sorted((g["partitions"], g["failed"], g["retry_wait"]) for g in d["failure_groups"])')" "[(1, 1, 0), (1, 1, 0)]"
is "the groups' count is the database's (failed + retry_wait by signature)" \
    "$(field "$T/status.json" 'd["failure_group_partitions"]')" \
    "$(sql "SELECT count(*) FROM partitions WHERE run_id = 1 AND state IN ('failed', 'retry_wait')")"
is "the bidi key comes back as U+202E, escaped in the bytes" \
    "$(field "$T/status.json" '[p["key"] for p in d["partitions"] if p["index"] == 2] == ["r\u202eev"]')" True
check "the raw output has \\u202e, not the override itself" grep -q 'r\\u202eev' "$T/status.json"
is "an invalid byte in the last message: U+FFFD in the text, the bytes in last_message_b64" \
    "$(field "$T/status.json" '[(p["last_message"].endswith("broken \ufffd here"), __import__("base64").b64decode(p["last_message_b64"]).endswith(b"broken \xff here")) for p in d["partitions"] if p["key"] == "bad"]')" \
    "[(True, True)]"

# --- status --json (the runs list) -----------------------------------------
ns status --json >"$T/runs.json"
is "status --json (runs) is strict JSON, schema nightshift.runs/1" "$(validate "$T/runs.json" runs)" ok
is "one run, with the summary's fields" "$(field "$T/runs.json" '(len(d["runs"]), d["runs"][0]["id"], d["runs"][0]["failed"])')" "(1, 1, 2)"

# --- errors --format jsonl ---------------------------------------------------
ns errors 1 --format jsonl >"$T/errors.jsonl"
is "errors --format jsonl exits 0" "$?" 0
is "every line is strict JSON, schema nightshift.error/1" "$(validate "$T/errors.jsonl" error jsonl)" ok
is "the documented columns, partition_key included" \
    "$(field "$T/errors.jsonl" 'sorted(set(["schema","id","partition","partition_key","attempt_id","at","key","message","signature","payload_b64"]) - set(ds[0]))')" "[]"
is "byte 0xFF and U+00FF stay distinguishable" \
    "$(field "$T/errors.jsonl" 'ascii([(x["key"], x["message"], x.get("message_b64")) for x in ds])')" \
    "[('rec-ff', 'bad \\ufffd byte', 'YmFkIP8gYnl0ZQ=='), ('rec-y', 'bad \\xff byte', None)]"
is "message_b64 round-trips the exact bytes" \
    "$(field "$T/errors.jsonl" '__import__("base64").b64decode(ds[0]["message_b64"]) == b"bad \xff byte"')" True
is "the stored bytes are the worker's" "$(sql "SELECT hex(message) FROM error_records WHERE key = 'rec-ff'")" \
    "$(printf 'bad \377 byte' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"

# --- audit --json ------------------------------------------------------------
ns pause 1 >/dev/null 2>&1
is "pause with no runtime is refused (and recorded)" "$?" 1
ns audit 1 --json >"$T/audit.json"
is "audit --json is strict JSON, schema nightshift.audit/1" "$(validate "$T/audit.json" audit)" ok
is "the refused pause, with its fields" \
    "$(field "$T/audit.json" '(d["run_id"], [(c["verb"], c["state"], c["source"], type(c["args"]).__name__, c["latency_ms"] is not None) for c in d["commands"]])')" \
    "(1, [('pause', 'refused', 'cli', 'dict', True)])"

# --- every document against docs/json.md (issue 22 item 8) -------------------
ns summary 1 --format json >"$T/summary.json"
is "summary --format json exits 0" "$?" 0
ns events 1 --json >"$T/events.jsonl"
is "events --json exits 0" "$?" 0
ns summary --since 1h --format json >"$T/night.json"
is "summary --since --format json exits 0" "$?" 0
ns plan "$SPECS/json-bytes.yaml" --json >"$T/plan.jsonl"
is "plan --json exits 0" "$?" 0
md() { python3 "$ROOT/tests/e2e/json-md-check.py" "$ROOT/docs/json.md" "$@"; }
is "status --json matches json.md" "$(md nightshift.status/1 "$T/status.json")" ok
is "status --json (runs) matches json.md" "$(md nightshift.runs/1 "$T/runs.json")" ok
is "errors --format jsonl matches json.md" "$(md nightshift.error/1 "$T/errors.jsonl" jsonl)" ok
is "audit --json matches json.md" "$(md nightshift.audit/1 "$T/audit.json")" ok
is "summary --format json matches json.md" "$(md nightshift.summary/1 "$T/summary.json")" ok
is "events --json matches json.md" "$(md nightshift.event/1 "$T/events.jsonl" jsonl)" ok
is "summary --since --format json matches json.md" "$(md nightshift.night/1 "$T/night.json")" ok
is "summary --since: strict JSON, the run and its failure groups with the bytes kept" \
    "$(validate "$T/night.json" night) $(field "$T/night.json" '(len(d["runs"]), sorted(g["partitions"] for g in d["failure_groups"]), [g["example"]["key"] for g in d["failure_groups"] if g["example"]["key"] != "bad"])')" \
    "ok (1, [1, 1], ['r\u202eev'])"
is "plan --json matches json.md" "$(md nightshift.plan/1 "$T/plan.jsonl" jsonl)" ok
ns pool set jsonpool 2 --rate 5/s >/dev/null && ns pool set jsonpool2 1 >/dev/null
ns pool --json >"$T/pools.json"
is "pool --json is strict JSON, schema nightshift.pools/1" "$(validate "$T/pools.json" pools)" ok
is "pool --json matches json.md" "$(md nightshift.pools/1 "$T/pools.json")" ok
ns pool audit --json >"$T/pool-audit.json"
is "pool audit --json is strict JSON, schema nightshift.pool-audit/1" "$(validate "$T/pool-audit.json" pool-audit)" ok
is "pool audit --json matches json.md" "$(md nightshift.pool-audit/1 "$T/pool-audit.json")" ok
is "each is strict JSON too" "$(validate "$T/summary.json" summary) $(validate "$T/events.jsonl" event jsonl) $(validate "$T/plan.jsonl" plan jsonl)" "ok ok ok"
is "plan: a schema and a numeric index on every line" \
    "$(field "$T/plan.jsonl" '[(x["schema"], x["index"]) for x in ds]')" \
    "[('nightshift.plan/1', 0), ('nightshift.plan/1', 1), ('nightshift.plan/1', 2)]"
is "summary: params is the object status gives" \
    "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["params"] == json.load(open(sys.argv[2]))["params"] == {})' "$T/summary.json" "$T/status.json")" True
is "events: an attempt's end, structured (outcome, exit code, states, attempt)" \
    "$(field "$T/events.jsonl" '[(x["partition"], x["attempt"], x["outcome"], x["exit_code"], x["signal"], x["from_state"], x["to_state"]) for x in ds if x["kind"] == "attempt_end"]')" \
    "[(0, 1, 'failed', 2, None, 'running', 'failed'), (1, 1, 'succeeded', 0, None, 'running', 'succeeded'), (2, 1, 'failed', 3, None, 'running', 'failed')]"
is "events: an attempt's start moves its partition from pending to running" \
    "$(field "$T/events.jsonl" 'sorted(set((x["attempt"], x["from_state"], x["to_state"]) for x in ds if x["kind"] == "attempt_start"))')" \
    "[(1, 'pending', 'running')]"
is "events: the run's own state change" \
    "$(field "$T/events.jsonl" '[(x["partition"], x["from_state"], x["to_state"]) for x in ds if x["kind"] == "run_state" and x["to_state"]]')" \
    "[(None, 'running', 'failed')]"

done_testing
