#!/bin/sh
# make-screenshots.sh BIN - drives the console in tmux over the example runs
# and renders real PNG images into screenshots/ (make screenshots).
#
# Scenes: the runs list; a healthy live run (configs/demo.yaml, no failing
# chunk), its map and its timeline; a run with failures: the failures view,
# the error browser and the hostile record shown escaped; a 10 000-partition
# map (configs/many.yaml); the HTML morning report of the failed run
# (report-shot.sh).
# Each screen is `tmux capture-pane -e` (text with colours, a 256-colour
# pane) -> sgr2html.pl (HTML in the palette tests/unit/test-theme.c checks
# for contrast, read from tui/theme.c) -> headless Chromium -> PNG. Needs
# tmux, perl and chromium (Debian packages).
# Every step waits for what it needs on screen, with a deadline.
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in tmux perl chromium; do
    command -v "$tool" >/dev/null 2>&1 || { echo "make-screenshots: needs $tool" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-shots.XXXXXX")
db=$tmp/db/nightshift.db
sock=nss-$$
out=$root/screenshots
mkdir -p "$out"
pids=''
finish() {
    tmux -L "$sock" kill-server >/dev/null 2>&1 || true
    for p in $pids; do kill -TERM -- "-$p" 2>/dev/null || true; done
    for p in $pids; do
        _n=0
        while kill -0 -- "-$p" 2>/dev/null && [ $_n -lt 50 ]; do sleep 0.1; _n=$((_n + 1)); done
        kill -KILL -- "-$p" 2>/dev/null || true
    done
    sleep 0.2
    rm -rf "$tmp" 2>/dev/null || true
}
trap finish EXIT

cols=120 rows=36
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for TIMEOUT_S CMD...: polls CMD every 100 ms.
wait_for() {
    _deadline=$(($(now_ms) + $1 * 1000))
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$(now_ms)" -lt "$_deadline" ] || { echo "make-screenshots: timed out: $*" >&2; exit 1; }
        sleep 0.1
    done
}
screen_has() { tmux -L "$sock" capture-pane -p -t c | grep -Eq -- "$1"; }
keys() { tmux -L "$sock" send-keys -t c "$@"; }
sql() { sqlite3 -batch -cmd '.timeout 5000' "$db" "$@"; }
run_bg() { # NAME ARGS...: a detached runtime in its own process group
    _n=$1
    shift
    setsid "$bin" run "$@" --db "$db" >"$tmp/$_n.out" 2>&1 </dev/null &
    pids="$pids $!"
}

# shot NAME: the pane as a PNG.
shot() {
    {
        printf '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        printf 'body{margin:0;background:#000000}'
        printf 'pre{font-family:"DejaVu Sans Mono",monospace;font-size:14px;line-height:16px}'
        printf '</style></head><body>'
        tmux -L "$sock" capture-pane -e -p -t c | perl "$root/tests/screenshots/sgr2html.pl" "$root/tui/theme.c"
        printf '</body></html>\n'
    } >"$tmp/$1.html"
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=$((cols * 85 / 10 + 24)),$((rows * 16 + 24)) \
        --screenshot="$out/$1.png" "file://$tmp/$1.html" >/dev/null 2>&1
    echo "  SHOT   screenshots/$1.png"
}

mkdir -p "$tmp/db"
cd "$root/configs"
# 1. A healthy live run (no chunk fails for good), 2. a run with failures
# (finished), 3. ten thousand partitions, every 97th failing.
run_bg failing demo.yaml -p pace=0.02 -p out="$tmp/out-failing"
wait_for 60 sh -c "[ \"\$(sqlite3 '$db' \"select state from runs where id = 1\" 2>/dev/null)\" = failed ]"
run_bg healthy demo.yaml --rerun -p pace=0.4 -p fail_chunk=-1 -p flaky_chunk=-1 \
    -p out="$tmp/out-healthy"
wait_for 30 sh -c "[ \"\$(sqlite3 '$db' \"select count(*) from runs\" 2>/dev/null)\" = 2 ]"

tmux -L "$sock" -f /dev/null new-session -d -s c -x "$cols" -y "$rows" \
    "TERM=tmux-256color LANG=C.UTF-8 NIGHTSHIFT_CONSOLE_REFRESH_MS=100 '$bin' console --db '$db' 2"
tmux -L "$sock" set-option -t c status off >/dev/null
wait_for 10 screen_has '^Runs > run 2 demo'
# Let the sparkline gather half a minute of samples.
wait_for 120 sh -c "[ \"\$(sqlite3 '$db' \"select count(*) from samples where run_id = 2\" 2>/dev/null)\" -ge 7 ]"
wait_for 10 screen_has 'running +[^ ]+ +[0-9]+%'
shot run-healthy
keys m
wait_for 5 screen_has '^1/cell'
shot run-healthy-map
keys m T
wait_for 5 screen_has '^Runs > run 2 demo > timeline'
wait_for 5 screen_has '^ +1 +[|=>]'
shot timeline
keys q q
wait_for 5 screen_has '^ +1 demo'
keys j
shot runs

# The failed run: failures grouped by signature, errors, the hostile record.
keys Enter
wait_for 5 screen_has '^Runs > run 1 demo'
keys t t
wait_for 5 screen_has 'filter failed'
shot run-failed
keys F
wait_for 5 screen_has 'failed partitions by signature'
shot failures
keys Tab
wait_for 5 screen_has '\[records\]'
shot errors
keys / doc-99 Enter
wait_for 5 screen_has '/doc-99'
keys Enter
wait_for 5 screen_has 'payload as hex'
shot error-record
keys q q q

# Ten thousand partitions on one screen (a larger terminal: two per cell).
cols=160 rows=48
tmux -L "$sock" resize-window -t c -x "$cols" -y "$rows"
run_bg many many.yaml -p n=10000 -p fail_every=97
wait_for 30 sh -c "[ \"\$(sqlite3 '$db' \"select n_succeeded from runs where id = 3\" 2>/dev/null)\" -ge 3000 ]"
keys g Enter
wait_for 5 screen_has '^Runs > run 3 many'
keys m
wait_for 5 screen_has 'of 10000'
shot map-10000
# The morning report of the failed run, as a browser shows it.
"$root/tests/screenshots/report-shot.sh" "$bin" "$db" 1 "$out/report.png"
keys Q
