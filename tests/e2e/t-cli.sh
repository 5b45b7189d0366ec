#!/bin/sh
# CLI conventions, for every command `nightshift --help` lists: `help CMD`
# prints exactly what `CMD --help` prints (one table: options, exit codes),
# `CMD --version` works, an unknown option is exit 2; each command is in
# docs/cli.md, nightshift(1) and the README's list (which equals --help's);
# the exit codes the helps name are documented, and some are checked true;
# durations take only what docs/spec.md allows.
. "$(dirname "$0")/lib.sh"

cmds=$(ns --help | awk '/^  [a-z]/ { print $1 }')
check "--help lists commands" test -n "$cmds"
for c in $cmds; do
    a=$(ns "$c" --help 2>&1)
    ra=$?
    b=$(ns help "$c" 2>&1)
    rb=$?
    is "$c: help $c = $c --help" "$b" "$a"
    is "$c: --help exits 0" "$ra/$rb" "0/0"
    like "$c: the help starts with its usage" "$a" "^usage: nightshift $c"
    like "$c: the help lists exit codes" "$a" "^Exit status:"
    is "$c: --version" "$(ns "$c" --version 2>&1)" "nightshift 0.1.0"
    ns "$c" --no-such-option >/dev/null 2>&1
    is "$c: an unknown option is exit 2" "$?" 2
    check "$c: in docs/cli.md" grep -q "nightshift $c" "$ROOT/docs/cli.md"
    check "$c: in nightshift(1)" grep -q "^\\.B nightshift $c" "$ROOT/docs/nightshift.1"
    # Every option the help names is one the parser takes (--help after it: exit 0).
    # (A file, not a pipe: the checks must count in this shell.)
    echo "$a" | sed -n 's/^  *\(-[a-z], \)\{0,1\}\(--[a-z][a-z-]*\)\( [A-Z][A-Z=]*\)\{0,1\}.*/\2\3/p' >"$T/opts"
    [ "$c" = emit ] && : >"$T/opts" # emit's options come after its message (docs/protocol.md)
    while read -r opt arg; do
        if [ -n "$arg" ]; then ns "$c" "$opt" 1 --help >/dev/null 2>&1; else ns "$c" "$opt" --help >/dev/null 2>&1; fi
        is "$c: $opt (in its help) is accepted" "$?" 0
    done <"$T/opts"
    for code in $(echo "$a" | sed -n '/^Exit status:/,$p' | awk '/^  [0-9]  / { print $1 }'); do
        check "$c: exit $code is documented in docs/cli.md" grep -q "^| $code | " "$ROOT/docs/cli.md"
    done
done
is "the README's command list is --help's" \
    "$(sed -n '/^## Commands/,/^## /p' "$ROOT/README.md" | grep '^  [a-z]')" \
    "$(ns --help | grep '^  [a-z]')"
ns help no-such-command >/dev/null 2>&1
is "help for an unknown command is exit 2" "$?" 2
is "--version alone" "$(ns --version)" "nightshift 0.1.0"
is "a -p value --version is a value, not the flag" "$(ns plan "$CONFIGS/flaky-keys.yaml" -p flaky=--version 2>&1 | grep -c 'nightshift 0.1.0')" 0

# Exit codes, true: 0, 1, 2, 3.
cat >"$T/ok.yaml" <<YAML
name: ok
params: {fail: none}
command: [sh, $ROOT/tests/e2e/specs/report.sh, "1", "0"]
partitions: {list: [a, "{fail}"]}
on_exit: {2: fail}
YAML
ns run "$T/ok.yaml" >/dev/null 2>&1
is "a run that succeeds: 0" "$?" 0
ns run "$T/ok.yaml" -p fail=bad >/dev/null 2>&1
is "a run with a failed partition: 1" "$?" 1
ns status no-such-run >/dev/null 2>&1
is "status of no such run: 3" "$?" 3
ns logs 1 999 >/dev/null 2>"$T/logs.err"
is "logs for a partition that does not exist: 3" "$?" 3
like "with a sentence that says so" "$(cat "$T/logs.err")" "run 1 has no partition 999"
for c in summary metrics events audit errors; do
    ns "$c" 42 >/dev/null 2>&1
    is "$c of no such run: 3" "$?" 3
done

# Durations: what docs/spec.md says, nothing else.
for d in 1e2s 0x1fs inf 1.s .5s "10 s"; do
    printf 'name: d\ncommand: [true]\npartitions: {list: [a]}\ntimeout: "%s"\n' "$d" >"$T/d.yaml"
    ns validate "$T/d.yaml" >/dev/null 2>"$T/d.err"
    is "timeout: $d is refused (exit 2)" "$?" 2
    like "timeout: $d is reported as not a duration" "$(cat "$T/d.err")" "timeout: \"$d\" is not a duration"
done
for d in 1.5s 500ms 1h30m 45; do
    printf 'name: d\ncommand: [true]\npartitions: {list: [a]}\ntimeout: "%s"\n' "$d" >"$T/d.yaml"
    ns validate "$T/d.yaml" >/dev/null 2>&1
    is "timeout: $d is accepted" "$?" 0
done
done_testing
