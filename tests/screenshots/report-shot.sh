#!/bin/sh
# report-shot.sh BIN DB RUN OUT.png - the HTML morning report of RUN
# (`summary --format html`) rendered by headless Chromium into a PNG, for
# the README (make-screenshots.sh calls it; it runs alone too). The page's
# height is measured first (--dump-dom has no layout, so a tall window is
# cropped to the page by Chromium's own full-page screenshot size).
set -eu
bin=$1 db=$2 run=$3 out=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-report-shot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$bin" summary "$run" --db "$db" --format html >"$tmp/report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$tmp/chromium" \
    --window-size=1100,2600 --screenshot="$out" "file://$tmp/report.html" >/dev/null 2>&1
echo "  SHOT   $(basename "$(dirname "$out")")/$(basename "$out")"
