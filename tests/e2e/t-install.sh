#!/bin/sh
# make install into a DESTDIR puts there a stripped binary, nightshift(1)
# nightshift-spec(5) and nightshift-protocol(7) (mandoc -T lint clean; the
# second lists every key of the spec table), a bash completion that completes subcommands, options
# and run names from the database, the worker header emit.h (it compiles on
# its own) and the example configs (which validate); make uninstall takes
# away exactly those files.
. "$(dirname "$0")/lib.sh"

D=$T/dest
# -o: the binary under test is installed as it is, never rebuilt mid-suite.
P=/usr/local
make -C "$ROOT" -o "$NIGHTSHIFT_BUILD/nightshift" BUILD="$NIGHTSHIFT_BUILD" DESTDIR="$D" PREFIX="$P" install >"$T/install.out" 2>&1
is "make install exits 0" "$?" 0
bin=$D$P/bin/nightshift
check "the binary is installed, executable" test -x "$bin"
if command -v nm >/dev/null 2>&1; then
    like "it is stripped (no symbol table)" "$(nm "$bin" 2>&1)" "no symbols"
else
    ok "# SKIP stripped: nm is not installed"
fi
is "the installed binary runs" "$("$bin" --version)" "nightshift 0.1.0"
for page in man1/nightshift.1 man5/nightshift-spec.5 man7/nightshift-protocol.7; do
    check "$page is installed" test -s "$D$P/share/man/$page"
    if command -v mandoc >/dev/null 2>&1; then
        mandoc -T lint "$D$P/share/man/$page" >"$T/lint.out" 2>&1
        is "$page: mandoc -T lint is clean" "$?:$(cat "$T/lint.out")" "0:"
    else
        ok "# SKIP mandoc -T lint $page: mandoc is not installed"
    fi
done
spec5=$D$P/share/man/man5/nightshift-spec.5
for key in name command partitions.dates.from retry.backoff halt_when.failed_partitions \
    sla.deadline hooks.on_failure hooks.timeout metrics.textfile durability; do
    check "nightshift-spec(5) has $key" grep -qx "\\.B $(echo "$key" | sed 's/_/\\_/g; s/\./\\./g')" "$spec5"
done
like "it gives defaults" "$(grep -A1 '^\.B retry\.backoff$' "$spec5")" "default .fB1s"
like "and an example" "$(cat "$spec5")" "^\\.SH EXAMPLE"
check "the worker header is installed" test -s "$D$P/include/nightshift/emit.h"
# Issue 22: an installed user has no docs/ - the protocol is a manual page,
# and the Python helper sits beside emit.h.
like "issue 22: nightshift-protocol(7) names every report message" \
    "$(grep -c '^\.BI \(total\|progress\|checkpoint\|error\|error/\|log\) ' "$D$P/share/man/man7/nightshift-protocol.7")" "^6$"
check "issue 22: the Python worker helper is installed beside emit.h" test -s "$D$P/include/nightshift/nightshift_emit.py"
if command -v python3 >/dev/null 2>&1; then
    mkdir -p "$T/pyout"
    NIGHTSHIFT_REPORT_FD=1 python3 "$D$P/share/nightshift/examples/workers/count.py" 100 "$T/pyout" >"$T/py.out" 2>&1
    is "the installed Python example finds the installed helper" "$?" 0
    like "and reports" "$(cat "$T/py.out")" "^checkpoint row=100$"
fi
printf '#include <nightshift/emit.h>\nint main(void) { return 0; }\n' >"$T/use.c"
check "emit.h compiles on its own" cc -std=c11 -Wall -Werror -I"$D$P/include" -c -o "$T/use.o" "$T/use.c"
ex=$D$P/share/nightshift/examples
for y in backfill demo flaky-keys many timeout; do
    check "example $y.yaml validates where it is installed" "$bin" validate "$ex/$y.yaml"
done
check "the example workers stay executable" test -x "$ex/workers/backfill.sh"

# The completion, in bash, against the installed binary and a real database.
ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 >/dev/null 2>&1
comp() { # comp WORDS...: what completing the last word offers
    bash -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _nightshift
        printf "%s\n" "${COMPREPLY[@]}"' comp "$D$P/share/bash-completion/completions/nightshift" "$@"
}
is "subcommands: st -> status, stop" "$(comp "$bin" st | sort | tr '\n' ' ')" "status stop "
like "options of run" "$(comp "$bin" run --re)" "^--rerun$"
like "options of summary" "$(comp "$bin" summary --f)" "^--format$"
is "run names from the database (--db on the line)" "$(comp "$bin" status --db "$NIGHTSHIFT_DB" fl)" "flaky-keys"
is "help completes commands" "$(comp "$bin" help gc)" "gc"
is "no run names where none is wanted" "$(comp "$bin" status --db "$NIGHTSHIFT_DB" flaky-keys f)" ""

make -C "$ROOT" -o "$NIGHTSHIFT_BUILD/nightshift" BUILD="$NIGHTSHIFT_BUILD" DESTDIR="$D" PREFIX="$P" uninstall >"$T/uninstall.out" 2>&1
is "make uninstall exits 0" "$?" 0
is "no file is left" "$(find "$D" ! -type d)" ""
is "nightshift's own directories are gone" "$(cd "$D" && find . -name '*nightshift*')" ""
done_testing
