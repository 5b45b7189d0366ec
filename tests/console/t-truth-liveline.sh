#!/bin/sh
# issue 22 (a small item): the live progress line of `run` on a terminal
# fits its width. Too long, it wrapped, and each refresh (\r, clear to end
# of line) left its wrapped head behind: a screenful of stale lines. In a
# 50-column tmux pane the line stays one row, refresh after refresh.
. "$(dirname "$0")/lib.sh"

cat >"$T/slow.yaml" <<YAML
name: slow
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "10", "0.3"]
partitions: {list: [a, b, c, d]}
concurrency: 2
YAML
{
    echo '#!/bin/sh'
    echo "\"$NIGHTSHIFT\" run --db \"$NIGHTSHIFT_DB\" \"$T/slow.yaml\""
    echo 'echo "rc=$?"'
    echo 'exec sleep 3600'
} >"$T/run.sh"
chmod +x "$T/run.sh"
tmx new-session -d -s c -x 50 -y 20 "$T/run.sh"
wait_screen "the live line appears" 15 '^\[running\]'
most=0 longest=0 i=0
while [ $i -lt 15 ]; do # 3 s of refreshes (5 a second)
    n=$(screen | grep -c '^\[running\]\|done, \|, ETA ')
    [ "$n" -gt "$most" ] && most=$n
    l=$(screen | grep '^\[running\]' | head -n 1)
    [ ${#l} -gt "$longest" ] && longest=${#l}
    sleep 0.2
    i=$((i + 1))
done
is "one live line on screen at every look" "$most" 1
check "it fits the 50 columns ($longest)" test "$longest" -lt 50
wait_screen "the run ends" 30 '^rc=0'
check "no live line is left behind" sh -c "! tmux -L '$TMUX_SOCK' capture-pane -p -t c | grep -q '^\[running\]'"
done_testing
