#!/bin/sh
# check-layout.sh [--print] - HOUSE.md's nevers, each one a grep over the tree.
#
# Rules (their names are what tests/layout-exceptions.txt lists):
#   sqlite            `sqlite3` appears only under runtime/store/ (code, not
#                     comments; runtime/, tui/ and the public headers)
#   output            only runtime/cli/, runtime/main.c and tui/cmd-console.c
#                     write to stdout or stderr or exit (printf, puts, putchar,
#                     perror, exit, _exit, err/warn, any use of stdout/stderr,
#                     write or dprintf to fd 1 or 2)
#   supervisor-header the supervisor's private header(s) (any .h in
#                     runtime/supervisor/) are included only there
#   exec-includes     runtime/exec/ includes nothing of supervisor or store
#   leaf-includes     runtime/spec/ and runtime/base/ include nothing of store,
#                     exec, supervisor or cli
#   public-only       tui/ and runtime/cli/ include no other wing's private
#                     header: they reach the runtime by include/nightshift/
#   file-length       no .c file in runtime/ or tui/ over 1000 lines
#   function-length   no function there over 120 lines (universal-ctags)
#   getopt            getopt_long in at most one file
# A wing's headers are its private ones (the .h files in its folder) and its
# public ones (the map below).
#
# tests/layout-exceptions.txt lists today's known violations, one per line:
# RULE PLACE. The check fails on a violation not listed, and on a listed one
# that no longer occurs: the list only shrinks, and never goes stale. A place
# is FILE:FUNCTION inside a function, FILE at file scope, and FILE -> HEADER
# for the include rules. --print writes the violations found in that form.
set -eu
cd "$(dirname "$0")/.."
EXCEPTIONS=tests/layout-exceptions.txt
MAX_FILE_LINES=1000
MAX_FUNCTION_LINES=120

# The public headers, by wing. "worker" is emit.h: a header-only library for
# workers, libc only, that the runtime never includes.
PUBLIC_HEADERS='
base        check.h escape.h json.h report.h signature.h util.h
spec        spec.h plan.h
store       store.h query.h query-report.h control.h checkpointer.h gc.h wake.h gate.h
            journal.h runs.h pools.h query-times.h deps.h catchup.h
exec        exec.h executor.h spool.h
supervisor  runtime.h
render      summary.h metrics.h export.h report-html.h compare.h grep.h
cli         cli.h control-cli.h
tui         tui.h
worker      emit.h
'

# Principled exceptions to `output`, for good (RULE PLACE: reason). They are
# checked like the listed ones: one that no longer occurs fails the check.
PRINCIPLED='
output runtime/base/check.c:ns_bug_at: the internal-error report (NS_BUG): the process is about to abort and no caller could do better with an error buffer
output runtime/base/util.c:ns_crashpoint: a test-only crash point (NIGHTSHIFT_CRASHPOINT): _exit after SIGKILL to itself, exactly as kill -9, nothing flushed
output tui/term.c:term_init: ncurses draws the console on stdout (newterm): the console is the one module that owns the terminal
'

print=false
[ "${1:-}" = --print ] && print=true

if ! command -v ctags >/dev/null || ! ctags --version 2>/dev/null | grep -q 'Universal Ctags'; then
    echo "check-layout: needs universal-ctags (.ci/install-deps installs it)" >&2
    exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-layout.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

find runtime tui -name '*.[ch]' | LC_ALL=C sort >"$tmp/files"
ls include/nightshift/*.h >>"$tmp/files"

# The code with comments removed and string and character literals emptied
# (so "printf" in a message or /* sqlite3 */ in a comment is not code),
# one line out per line in: FILE:LINE:CODE. #include lines keep their name.
# shellcheck disable=SC2046 # file names have no spaces
awk '
FNR == 1 { incomment = 0 }
{
    line = $0
    if (!incomment && line ~ /^[ \t]*#[ \t]*include/) {
        sub(/[ \t]*\/[\/*].*$/, "", line)
        print FILENAME ":" FNR ":" line
        next
    }
    out = ""; n = length(line); i = 1
    while (i <= n) {
        c = substr(line, i, 1)
        if (incomment) {
            if (c == "*" && substr(line, i + 1, 1) == "/") { incomment = 0; i += 2; out = out " " }
            else i++
            continue
        }
        two = substr(line, i, 2)
        if (two == "//") break
        if (two == "/*") { incomment = 1; i += 2; continue }
        if (c == "\"" || c == "\047") {
            out = out c; i++
            while (i <= n) {
                d = substr(line, i, 1)
                if (d == "\\") { i += 2; continue }
                if (d == c) break
                i++
            }
            out = out c; i++
            continue
        }
        out = out c; i++
    }
    print FILENAME ":" FNR ":" out
}' $(cat "$tmp/files") >"$tmp/code"

# Every function: FILE START END NAME.
# shellcheck disable=SC2046
ctags --fields=+ne --kinds-C=f -o - $(grep '\.c$' "$tmp/files") | awk -F'\t' '
{
    start = end = 0
    for (i = 4; i <= NF; i++) {
        if ($i ~ /^line:/) start = substr($i, 6)
        if ($i ~ /^end:/) end = substr($i, 5)
    }
    if (start && end) print $2, start, end, $1
}' >"$tmp/funcs"

# Violations as RULE<TAB>FILE<TAB>LINE<TAB>WHAT<TAB>DETAIL; LINE 0: the
# file itself. WHAT is part of the place (the header included), DETAIL not.
: >"$tmp/raw"
found() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$tmp/raw"; }

# code_matching ERE [PATH-ERE]: FILE<TAB>LINE<TAB>CODE of matching code lines.
code_matching() {
    grep -E "^${2:-[^:]*}:[0-9]+:.*$1" "$tmp/code" |
        sed -E 's/^([^:]*):([0-9]+):[[:space:]]*/\1\t\2\t/' || true
}

# 1. sqlite
code_matching '\bsqlite3' | while IFS="$(printf '\t')" read -r f l code; do
    case "$f" in runtime/store/*) continue ;; esac
    found sqlite "$f" "$l" "" "$code"
done

# 2. output
out_re='\b(printf|vprintf|puts|putchar|perror|exit|_exit|_Exit|quick_exit|err|errx|verr|verrx|warn|warnx|vwarn|vwarnx)[[:space:]]*\(|\b(stdout|stderr)\b|\b(write|dprintf)[[:space:]]*\([[:space:]]*(1|2|STDOUT_FILENO|STDERR_FILENO)\b'
code_matching "($out_re)" '(runtime|tui)/[^:]*' | while IFS="$(printf '\t')" read -r f l code; do
    case "$f" in runtime/cli/* | runtime/main.c | tui/cmd-console.c) continue ;; esac
    found output "$f" "$l" "" "$code"
done

# Includes: FILE<TAB>HEADER<TAB>WING-OF-HEADER ("" for system headers).
wing_of_dir() {
    case "$1" in
    runtime/*/*) d=${1#runtime/}; echo "${d%%/*}" ;;
    runtime/*) echo main ;;
    tui/*) echo tui ;;
    *) echo "" ;;
    esac
}
echo "$PUBLIC_HEADERS" | awk '
    NF && $1 !~ /\.h$/ { wing = $1; start = 2 }
    NF && $1 ~ /\.h$/ { start = 1 }
    NF { for (i = start; i <= NF; i++) print $i, wing }' >"$tmp/public"
for h in include/nightshift/*.h; do
    grep -q "^${h##*/} " "$tmp/public" ||
        found public-map "$h" 0 "" "a public header missing from check-layout.sh's map of wings"
done
grep -E '^[^:]*:[0-9]+:[[:space:]]*#[[:space:]]*include' "$tmp/code" |
    sed -E 's/^([^:]*):[0-9]+:[[:space:]]*#[[:space:]]*include[[:space:]]*([<"])([^">]*)[">].*/\1 \2 \3/' |
    while read -r f kind h; do
        wing=""
        case "$kind$h" in
        '"'nightshift/*) wing=$(awk -v h="${h#nightshift/}" '$1 == h { print $2 }' "$tmp/public") ;;
        '"'*)
            if [ -e "$(dirname "$f")/$h" ]; then
                wing=$(wing_of_dir "$(dirname "$f")/$h")
            else # found by the Makefile's -I of private headers
                for p in runtime/*/"$h" tui/"$h"; do [ -e "$p" ] && wing=$(wing_of_dir "$p"); done
            fi
            ;;
        esac
        printf '%s\t%s\t%s\n' "$f" "$h" "$wing"
    done >"$tmp/includes"

# 3-6. who includes what
while IFS="$(printf '\t')" read -r f h wing; do
    [ -n "$wing" ] || continue
    from=$(wing_of_dir "$f")
    case "$h" in nightshift/*) private=false ;; *) private=true ;; esac
    if $private && [ "$wing" = supervisor ] && [ "$from" != supervisor ]; then
        found supervisor-header "$f" 0 "-> $h" ""
    fi
    case "$from:$wing" in
    exec:supervisor | exec:store) found exec-includes "$f" 0 "-> $h" "" ;;
    spec:store | spec:exec | spec:supervisor | spec:cli | base:store | base:exec | base:supervisor | base:cli)
        found leaf-includes "$f" 0 "-> $h" "" ;;
    esac
    if $private && [ "$wing" != "$from" ]; then
        case "$from" in tui | cli) found public-only "$f" 0 "-> $h" "" ;; esac
    fi
done <"$tmp/includes"

# 7. sizes
grep -E '^(runtime|tui)/.*\.c$' "$tmp/files" | while read -r f; do
    n=$(wc -l <"$f")
    [ "$n" -le "$MAX_FILE_LINES" ] || found file-length "$f" 0 "" "$n lines (at most $MAX_FILE_LINES)"
done
grep -E '^(runtime|tui)/' "$tmp/funcs" | while read -r f start end name; do
    n=$((end - start + 1))
    [ "$n" -le "$MAX_FUNCTION_LINES" ] ||
        found function-length "$f" "$start" "" "$name: $n lines (at most $MAX_FUNCTION_LINES)"
done

# 8. one option parser
code_matching '\bgetopt_long\b' '(runtime|tui)/[^:]*' | cut -f1 | sort -u >"$tmp/getopt"
if [ "$(wc -l <"$tmp/getopt")" -gt 1 ]; then
    while read -r f; do found getopt "$f" 0 "" "getopt_long in $(wc -l <"$tmp/getopt") files"; done <"$tmp/getopt"
fi

# Places: FILE:FUNCTION for a line inside a function, else FILE; then WHAT.
awk -F'\t' -v OFS='\t' '
NR == FNR { split($0, a, " "); n++; ff[n] = a[1]; fs[n] = a[2]; fe[n] = a[3]; fn[n] = a[4]; next }
{
    place = $2
    if ($3 > 0)
        for (i = 1; i <= n; i++)
            if (ff[i] == $2 && fs[i] + 0 <= $3 + 0 && $3 + 0 <= fe[i] + 0) { place = $2 ":" fn[i]; break }
    if ($4 != "") place = place " " $4
    print $1 " " place, ($3 > 0 ? $2 ":" $3 ": " : "") $5
}' "$tmp/funcs" "$tmp/raw" | LC_ALL=C sort >"$tmp/found"
cut -f1 "$tmp/found" | LC_ALL=C sort -u >"$tmp/found.keys"

normalize() { sed -e 's/#.*//' -e 's/[[:space:]]\{1,\}/ /g' -e 's/^ //' -e 's/ $//' | grep -v '^$' || true; }
echo "$PRINCIPLED" | sed 's/: .*//' | normalize | LC_ALL=C sort -u >"$tmp/principled"
if $print; then
    LC_ALL=C comm -23 "$tmp/found.keys" "$tmp/principled" | awk '{ r = $1; $1 = ""; printf "%-18s%s\n", r, substr($0, 2) }'
    exit 0
fi
{ [ ! -f "$EXCEPTIONS" ] || cat "$EXCEPTIONS"; } | normalize | LC_ALL=C sort -u >"$tmp/known"
LC_ALL=C sort -u "$tmp/known" "$tmp/principled" >"$tmp/allowed"

status=0
LC_ALL=C comm -23 "$tmp/found.keys" "$tmp/allowed" >"$tmp/new"
LC_ALL=C comm -13 "$tmp/found.keys" "$tmp/allowed" >"$tmp/stale"
if [ -s "$tmp/new" ]; then
    status=1
    echo "check-layout: new violations (fix them; HOUSE.md's nevers):"
    while read -r key; do
        echo "  $key"
        awk -F'\t' -v k="$key" '$1 == k && $2 != "" { print "      " $2 }' "$tmp/found"
    done <"$tmp/new"
fi
if [ -s "$tmp/stale" ]; then
    status=1
    echo "check-layout: listed but no longer found (take them out of $EXCEPTIONS, or out of PRINCIPLED in $0):"
    sed 's/^/  /' "$tmp/stale"
fi
rules=$(grep -c '' "$tmp/found.keys" || true)
if [ "$status" -eq 0 ]; then
    echo "check-layout: ok ($(grep -c '' "$tmp/known") known violations left, $(grep -c '' "$tmp/principled") principled exceptions; $rules in all)"
fi
exit "$status"
