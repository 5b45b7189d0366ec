#!/bin/sh
# t-theme.sh - the console's themes (issue 21): --theme and NIGHTSHIFT_THEME
# choose default, light or monochrome; an unknown name is refused (exit 2);
# NO_COLOR gives monochrome, where states are told by attribute (and their
# word), never by colour. Checked on what tmux received (capture-pane -e)
# in a 256-colour pane: the title bar's colours are the theme's, the pairs
# tests/unit/test-theme.c measures at >= 4.5:1.
. "$(dirname "$0")/lib.sh"

"$FIXTURE" "$NIGHTSHIFT_DB" 200 20 || bail_out "fixture"

out=$("$NIGHTSHIFT" console --db "$NIGHTSHIFT_DB" --theme solarized </dev/null 2>&1)
is "an unknown theme: exit 2" "$?" 2
like "... in words" "$out" 'nightshift: console: unknown theme "solarized" \(default, light, monochrome\)'
NIGHTSHIFT_THEME=bogus "$NIGHTSHIFT" console --db "$NIGHTSHIFT_DB" </dev/null >/dev/null 2>&1
is "an unknown NIGHTSHIFT_THEME: exit 2" "$?" 2

sgr() { tmx capture-pane -e -p -t c; }

CONSOLE_ENV="TERM=tmux-256color"
console_start 100 30 1
wait_screen "default theme: the run" 5 '^ +8 part-000008 +failed'
like "default: the title bar is black on teal (38;5;16 on 48;5;37)" "$(sgr | head -n 1)" '38;5;16.*48;5;37|48;5;37.*38;5;16'
like "default: a failed state in bold red 196" "$(sgr | grep -m1 'part-000008')" '1;38;5;196m[^ ]*failed|38;5;196.*failed'
tmx kill-server

console_start 100 30 1 --theme light
wait_screen "light theme: the run" 5 '^ +8 part-000008 +failed'
like "light: the title bar is white on dark blue (231 on 24)" "$(sgr | head -n 1)" '38;5;231.*48;5;24|48;5;24.*38;5;231'
like "light: succeeded in dark green 28" "$(sgr | grep -m1 'part-.*succeeded')" '38;5;28m[^ ]*succeeded'
tmx kill-server

NIGHTSHIFT_THEME=light
export NIGHTSHIFT_THEME
CONSOLE_ENV="TERM=tmux-256color NIGHTSHIFT_THEME=light NO_COLOR=1"
console_start 100 30 1
wait_screen "NO_COLOR: the run" 5 '^ +8 part-000008 +failed'
check "NO_COLOR beats NIGHTSHIFT_THEME: no colour at all" \
    sh -c "! tmux -L '$TMUX_SOCK' capture-pane -e -p -t c | grep -Eq '\\[[0-9;]*(3[0-7]|38;5|4[0-7]|48;5)[;m]'"
like "monochrome: the title bar in reverse" "$(sgr | head -n 1)" '\[7m'
like "monochrome: failed told by reverse bold" "$(sgr | grep -m1 'part-000008')" '\[1;7m[^ ]*failed|\[7;1m[^ ]*failed'
like "monochrome: retry_wait told by underline" "$(sgr | grep -m1 'part-.*retry_wait')" '\[4m[^ ]*retry_wait'
keys Q
wait_for "the console exits" 5 console_exited
done_testing
