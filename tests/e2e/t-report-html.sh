#!/bin/sh
# The HTML morning report and `compare`, on two real runs of one job: run 1
# (day=1) succeeds; run 2 (day=2) has a partition three times slower, a
# retry after a backoff, a partition that fails with hostile text, an error
# record, and a pause/resume by the operator. `summary 2 --format html` is
# checked as a file (self-contained: nothing it could fetch) and as rendered
# by headless Chromium with no network (one bar per attempt, the figures of
# `status --json` in the DOM, the comparison with run 1 flagged). Then
# `compare` in text and JSON; waits for a pool (a real pool-limited run) and
# for an upstream run (after:) recorded and drawn apart; and a
# 3 000-partition fixture that the report must aggregate and say so.
. "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || bail_out "chromium is needed (.ci/install-deps installs it)"

cat >"$T/work.sh" <<'SH'
day=$1 dir=$(dirname "$0") key=$NIGHTSHIFT_PARTITION_KEY
case $key in
slow) if [ "$day" = 2 ]; then sleep 1.5; else sleep 0.3; fi ;;
flaky)
    if [ ! -e "$dir/flaky.$day" ]; then : >"$dir/flaky.$day"; echo "first try fails" >&2; exit 1; fi
    sleep 0.1 ;;
bad)
    if [ "$day" = 2 ]; then
        echo "error k<1> <img src=x onerror=alert(1)> http://evil.example/x.png" >&3
        printf '<script>alert(1)</script> url(http://evil.example/a.css) \033[31mred\n' >&2
        exit 3
    fi
    sleep 0.1 ;;
hold) if [ "$day" = 2 ]; then while [ ! -e "$dir/release" ]; do sleep 0.05; done; else sleep 0.2; fi ;;
*) sleep 0.2 ;;
esac
exit 0
SH
cat >"$T/nightly.yaml" <<YAML
name: nightly
params: {day: "1"}
command: [sh, $T/work.sh, "{day}"]
partitions: {list: [a, b, slow, flaky, bad, hold]}
concurrency: 2
retry: {attempts: 2, backoff: 300ms}
YAML

ns run "$T/nightly.yaml" -p day=1 >"$T/run1.out" 2>&1
is "run 1 (day=1) succeeds" "$?" 0
ns compare 1 >"$T/cmp1.out" 2>&1
is "compare of the first run exits 0" "$?" 0
like "it has nothing to compare with" "$(cat "$T/cmp1.out")" "no earlier run of the job succeeded"

spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/nightly.yaml" -p day=2
wait_for "run 2 holds its last partition" 30 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 2 AND key = 'hold' AND state = 'running'\" 2>/dev/null)\" = 1"
ns pause 2 >/dev/null 2>&1
wait_for "the pause is applied" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM commands WHERE run_id = 2 AND verb = 'pause'\" 2>/dev/null)\" = applied"
ns resume 2 >/dev/null 2>&1
wait_for "the resume is applied" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM commands WHERE run_id = 2 AND verb = 'resume'\" 2>/dev/null)\" = applied"
: >"$T/release"
wait_for "run 2 ends" 60 pid_gone "$SPAWNED"
is "run 2 failed (the bad partition)" "$(sql "SELECT state FROM runs WHERE id = 2")" failed

# ---- the page as a file -----------------------------------------------------
ns summary 2 --format html >"$T/report.html" 2>"$T/report.err"
is "summary --format html exits 0" "$?" 0
like "it is an HTML page" "$(head -c 200 "$T/report.html")" "^<!DOCTYPE html>"
cat >"$T/offline.py" <<'PY'
# Fails (exit 1, naming it) on anything the page could fetch or run.
import sys
from html.parser import HTMLParser
FETCH_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "poster", "data", "background",
               "formaction", "manifest", "ping"}
BAD_TAGS = {"script", "link", "img", "iframe", "object", "embed", "image", "use", "audio",
            "video", "source", "base", "frame", "meta-refresh"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad, self.in_style, self.tags = [], False, 0
    def handle_starttag(self, tag, attrs):
        self.tags += 1
        if tag in BAD_TAGS:
            self.bad.append("element <%s>" % tag)
        if tag == "style":
            self.in_style = True
        for k, v in attrs:
            if k == "href" and tag == "a" and v and v.startswith("#"):
                continue  # a link within the page
            if k in FETCH_ATTRS or k.startswith("on"):
                self.bad.append("attribute %s= on <%s>" % (k, tag))
            if k == "style" and v and ("url(" in v or "@import" in v):
                self.bad.append("url( in a style attribute")
            if tag == "meta" and k == "http-equiv":
                self.bad.append("meta http-equiv")
    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
    def handle_data(self, d):
        if self.in_style and ("url(" in d or "@import" in d or "http" in d or "@font-face" in d):
            self.bad.append("a URL in the style sheet")
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
if p.bad or p.tags < 20:
    print("; ".join(p.bad) or "too few elements: %d" % p.tags)
    sys.exit(1)
PY
check "the page references nothing outside itself (no src, href, url(, script, on* handler)" \
    python3 "$T/offline.py" "$T/report.html"
check "the worker's <script> is text, escaped" grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/report.html"
check "the error record's <img> is text, escaped" grep -q '&lt;img src=x onerror=alert(1)&gt;' "$T/report.html"
esc=$(printf '\033')
check "no raw escape byte in the page" sh -c "! grep -q '$esc' '$T/report.html'"
check "dark and light themes and print" sh -c "grep -q 'prefers-color-scheme:dark' '$T/report.html' && grep -q '@media print' '$T/report.html'"

# ---- the page in a browser, with no network ----------------------------------
render() { # render FILE OUT: the DOM after Chromium loaded FILE, offline
    _net="unshare -n"
    $_net true 2>/dev/null || _net=""
    timeout 90 $_net chromium --headless --no-sandbox --disable-gpu --disable-extensions \
        --no-first-run --proxy-server=127.0.0.1:9 --host-resolver-rules='MAP * ~NOTFOUND' \
        --user-data-dir="$T/chromium" --dump-dom "file://$1" >"$2" 2>"$T/chromium.err"
}
render "$T/report.html" "$T/dom.html"
is "headless Chromium renders it" "$?" 0
check "the DOM has the timeline" grep -q 'class="timeline"' "$T/dom.html"
check "the rendered page references nothing outside either" python3 "$T/offline.py" "$T/dom.html"
attempts=$(sql "SELECT count(*) FROM attempts WHERE run_id = 2")
is "one bar per attempt ($attempts)" "$(grep -o 'class="bar [a-z]*"' "$T/dom.html" | wc -l | tr -d ' ')" "$attempts"
is "the failed attempts are drawn failed (bad twice, flaky once)" \
    "$(grep -o 'class="bar failed"' "$T/dom.html" | wc -l | tr -d ' ')" 3
check "the retry's backoff is drawn as a wait" grep -q 'class="wait"' "$T/dom.html"
like "concurrency 2: the packing finds 2 worker slots" "$(cat "$T/dom.html")" 'data-slots="2"'
cat >"$T/overlap.py" <<'PY'
# No two attempts' bars overlap on one slot's row (1 px of rounding allowed).
import re, sys
rows = {}
for x, y, w in re.findall(r'<rect class="bar [a-z]+" x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)"',
                          open(sys.argv[1], encoding="utf-8").read()):
    rows.setdefault(y, []).append((float(x), float(x) + float(w)))
for y, bars in rows.items():
    bars.sort()
    for (a0, a1), (b0, b1) in zip(bars, bars[1:]):
        if b0 < a1 - 1:
            print("row y=%s: %.1f-%.1f overlaps %.1f-%.1f" % (y, a0, a1, b0, b1))
            sys.exit(1)
sys.exit(0 if rows else 1)
PY
check "no two bars overlap on a slot's row" python3 "$T/overlap.py" "$T/dom.html"
like "a bar's hover text names its partition and time" "$(cat "$T/dom.html")" "<title>partition 2 \\[slow\\] attempt 1, slot [0-9]+: succeeded, 1\\.[0-9]s \\([0-9:]+ to [0-9:]+\\)</title>"
like "the operator's pause is on the timeline" "$(cat "$T/dom.html")" "command [0-9]+: pause \{\} by [^ ]+ \(cli\): applied"
ns status 2 --json >"$T/status.json"
cat >"$T/figures.py" <<'PY'
# Each figure of `status --json` the page shows is in the DOM with the same value.
import json, re, sys
status = json.load(open(sys.argv[1]))
dom = open(sys.argv[2], encoding="utf-8").read()
bad = 0
for name in ["id", "job", "state", "total", "succeeded", "failed", "skipped", "records_done",
             "error_records", "failure_group_partitions"]:
    m = re.search(r'data-figure="%s"[^>]*>([^<]*)<' % name, dom)
    got, want = (m.group(1) if m else None), str(status[name])
    if got != want:
        print("figure %s: page %r, status --json %r" % (name, got, want)); bad = 1
m = re.search(r'data-figure="elapsed_seconds" data-value="([0-9.]+)"', dom)
if not m or abs(float(m.group(1)) - status["elapsed_seconds"]) > 1:
    print("elapsed: page %r, status --json %r" % (m and m.group(1), status["elapsed_seconds"])); bad = 1
sys.exit(bad)
PY
check "the DOM carries the figures status --json gives" python3 "$T/figures.py" "$T/status.json" "$T/dom.html"
like "the comparison is with run 1, the last successful run" "$(cat "$T/dom.html")" \
    "Run 2 against run 1 \(succeeded, the last run of the job that succeeded before it\)"
like "the slow partition is flagged (at least 2x)" \
    "$(grep -o '<tr class="flag">.*' "$T/dom.html" | head -n 3)" "<td>slow</td>"

# ---- compare ---------------------------------------------------------------
ns compare 2 >"$T/cmp.out" 2>&1
is "compare 2 exits 0" "$?" 0
c=$(cat "$T/cmp.out")
like "it compares with run 1, the last success" "$c" "run 2 nightly \(failed\) against run 1 \(succeeded\), the last run of the job that succeeded before it"
like "wall times" "$c" "wall time +[0-9.hms]+ against [0-9.hms]+ \([0-9.]+x\)"
like "the partitions in both (bad failed: not compared)" "$c" "partitions +5 in both; 0 only in run 2, 0 only in run 1"
like "flagged: counted in the singular when it is one (slow; the others may be noise)" "$c" \
    "^flagged +(1 partition took|[02-9][0-9]* partitions took) at least 2x their earlier time\$"
like "slow is flagged, listed first" "$(echo "$c" | sed -n '/^flagged first/{n;n;p}')" "^ +>=2x +2 +1\\.[0-9]+s +0\\.[0-9]+s +[0-9.]+x +slow"
ns compare 2 --json >"$T/cmp.json"
cat >"$T/cmp.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
slow = [p for p in d["partitions"] if p["key"] == "slow"][0]
others = [p for p in d["partitions"] if p["key"] != "slow" and p["flagged"]]
ok = (d["schema"] == "nightshift.compare/1" and d["run"] == 2 and d["baseline"] == 1
      and d["baseline_is_last_success"] and d["matched"] == 5 and slow["flagged"]
      and slow["seconds"] >= 2 * slow["baseline_seconds"] and d["flagged"] == 1 + len(others))
print(json.dumps(d)[:400])
sys.exit(0 if ok else 1)
PY
check "compare --json: baseline 1, slow flagged with its seconds" python3 "$T/cmp.py" "$T/cmp.json"
ns compare 2 1 --json >"$T/cmp21.json"
like "an explicit baseline is not called the last success" "$(cat "$T/cmp21.json")" '"baseline":1,"baseline_is_last_success":false'
ns compare 2 nosuchjob >/dev/null 2>&1
check "an unknown baseline is an error" test $? -ne 0

# ---- the whole night: every run of the period on one page --------------------------
ns summary --since 1h --format html >"$T/night.html" 2>"$T/night.err"
is "summary --since 1h --format html exits 0" "$?" 0
is "a section per run of the period (runs 1 and 2)" "$(grep -o '<section class="run" id="run-[0-9]*"' "$T/night.html" | sed 's/.*run-//; s/"//' | sort | tr '\n' ' ')" "1 2 "
is "one bar per attempt of both runs" "$(grep -o 'class="bar [a-z]*"' "$T/night.html" | wc -l | tr -d ' ')" "$(sql "SELECT count(*) FROM attempts")"
like "the night's own report heads it, escaped" "$(cat "$T/night.html")" '<pre class="night-text">nightshift summary: 2 runs since '
check "the night's page references nothing outside itself (links only within it)" \
    python3 "$T/offline.py" "$T/night.html"

# ---- queued on the executor (Slurm) is drawn apart ------------------------------
sh "$ROOT/tests/bench/report-fixture.sh" "$T/queued.db" 300 10
"$NIGHTSHIFT" summary 1 --db "$T/queued.db" --format html >"$T/queued.html"
queued=$(sqlite3 "$T/queued.db" "SELECT count(*) FROM attempts WHERE run_id = 1 AND ended_at - duration > started_at + 0.5")
check "the fixture has attempts that were queued ($queued)" test "$queued" -gt 0
is "each queue wait is its own mark, apart from the running bar" "$(grep -c '<rect class="queued"' "$T/queued.html")" "$queued"
like "its hover text says how long" "$(cat "$T/queued.html")" "partition 3 attempt 1: queued on the executor 2\\.0s"
is "still one bar per attempt" "$(grep -c 'class="bar ' "$T/queued.html")" "$(sqlite3 "$T/queued.db" "SELECT count(*) FROM attempts WHERE run_id = 1")"

# ---- held for a pool: shaded apart from running time ---------------------------
# Concurrency 2 but a pool of 1 slot: every attempt but the first is held
# for the slot until the one before it ends, and carries that wait.
cat >"$T/pooled.yaml" <<YAML
name: pooled
command: [sh, -c, "sleep 0.3"]
partitions: {list: [a, b, c, d]}
concurrency: 2
pools: {one: {slots: 1}}
uses: {one: 1}
YAML
"$NIGHTSHIFT" run --db "$T/pooled.db" "$T/pooled.yaml" >"$T/pooled.out" 2>&1
is "the pool-limited run succeeds" "$?" 0
pq() { sqlite3 "$T/pooled.db" "$1"; }
is "3 of its 4 attempts were held for the pool" "$(pq "SELECT count(*) FROM attempts WHERE waited_for = 'pool' AND waited_s > 0")" 3
is "each wait began while the slot's holder ran and ended at its start, after that one ended" \
    "$(pq "SELECT count(*) FROM attempts a JOIN attempts p ON p.id = a.id - 1 WHERE a.waited_for = 'pool' AND a.started_at - a.waited_s < p.ended_at AND a.started_at >= p.ended_at")" 3
"$NIGHTSHIFT" summary 1 --db "$T/pooled.db" --format html >"$T/pooled.html"
render "$T/pooled.html" "$T/pooled-dom.html"
is "Chromium renders it" "$?" 0
is "each pool wait is its own mark, apart from the running bars" "$(grep -o '<rect class="held-pool"' "$T/pooled-dom.html" | wc -l | tr -d ' ')" 3
is "still one bar per attempt" "$(grep -o 'class="bar [a-z]*"' "$T/pooled-dom.html" | wc -l | tr -d ' ')" 4
like "its hover text says what held it, and how long" "$(cat "$T/pooled-dom.html")" \
    "<title>partition 1 attempt 1: held for pool slots 0\\.[0-9]s before it started</title>"
like "the legend names each kind of wait" "$(cat "$T/pooled-dom.html")" \
    'class="held-pool"></span>held for pool slots<span class="held-window"></span>held by the run.s window<span class="held-upstream"></span>held for an upstream run'
check "the pooled page is self-contained too" python3 "$T/offline.py" "$T/pooled-dom.html"

# Held for an upstream run: "down" (2 slots) starts first and waits for
# "up" (one partition at a time, 0.5 s each) key by key; both its slots
# were free from its start, so each attempt waited from then.
cat >"$T/up.yaml" <<YAML
name: up
command: [sh, -c, "sleep 0.5"]
partitions: {list: [a, b]}
concurrency: 1
YAML
cat >"$T/down.yaml" <<YAML
name: down
command: [sh, -c, "sleep 0.1"]
partitions: {list: [a, b]}
concurrency: 2
after:
  - {job: up, partitions: same-key}
YAML
"$NIGHTSHIFT" run --db "$T/after.db" "$T/down.yaml" --detach >/dev/null 2>&1
wait_for "down waits for up" 10 sh -c "'$NIGHTSHIFT' status --db '$T/after.db' 1 --json | grep -q 'waiting for a run of up'"
"$NIGHTSHIFT" run --db "$T/after.db" "$T/up.yaml" >/dev/null 2>&1
"$NIGHTSHIFT" wait --db "$T/after.db" 1 >/dev/null 2>&1
is "down succeeds after up" "$?" 0
aq() { sqlite3 -cmd ".timeout 5000" "$T/after.db" "$1"; }
is "both its attempts were held for the upstream, from down's start to their own" \
    "$(aq "SELECT count(*) FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job = 'down' AND a.waited_for = 'upstream' AND abs(a.started_at - a.waited_s - r.started_at) < 0.3")" 2
"$NIGHTSHIFT" summary 1 --db "$T/after.db" --format html >"$T/after.html"
is "each upstream wait is its own mark" "$(grep -c '<rect class="held-upstream"' "$T/after.html")" 2
like "its hover text says so" "$(cat "$T/after.html")" "partition 1 attempt 1: held for an upstream run [0-9.]+s before it started"

# ---- above 2 000 partitions: aggregated, and said ------------------------------
sh "$ROOT/tests/bench/report-fixture.sh" "$T/big.db" 3000 10
"$NIGHTSHIFT" summary 1 --db "$T/big.db" --format html >"$T/big.html"
is "the 3000-partition report is written" "$?" 0
check "it aggregates" grep -q 'data-mode="aggregate"' "$T/big.html"
check "failed time stays visible under a majority of successes" grep -q '<rect class="failed"' "$T/big.html"
check "and says so" grep -q 'too many to draw one bar per attempt, so this is an aggregate' "$T/big.html"
is "no bar per attempt" "$(grep -c 'class="bar ' "$T/big.html")" 0
check "the aggregated page is self-contained too" python3 "$T/offline.py" "$T/big.html"
done_testing
