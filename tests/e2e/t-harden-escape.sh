#!/bin/sh
# No raw control byte reaches a terminal (issue 10, item 7): `errors --format
# csv` on a tty escapes worker bytes (to a pipe they stay exact); error
# messages that echo spec values, keys files, file names, -p names and
# partition keys (validate, plan, run, retry) are escaped.
. "$(dirname "$0")/lib.sh"
ESC=$(printf '\033')
# raw_free FILE: true if FILE holds no ESC byte and no BEL.
raw_free() { [ "$(tr -dc '\033\007' <"$1" | wc -c)" -eq 0 ]; }
# on_tty FILE CMD...: runs CMD on a pseudo-terminal (script), output in FILE.
on_tty() {
    _f=$1
    shift
    script -qec "$*" /dev/null </dev/null >"$_f" 2>&1
}
command -v script >/dev/null || skip_all "script (util-linux) is needed for a pseudo-terminal"

cd "$T" || bail_out "no $T"
cat >hostile.yaml <<'EOF'
name: hostile-bytes
command: [sh, -c, 'printf "error k\033]0;pwned\007 m\033[2Jcleared\n" >&"$NIGHTSHIFT_REPORT_FD"']
partitions:
  list: [a]
EOF
ns run hostile.yaml >run.out 2>&1
is "the hostile run succeeds" "$?" 0
ns errors 1 --format csv >pipe.csv 2>&1
check "csv to a pipe is exact: the ESC bytes are there" grep -q "$ESC\\[2Jcleared" pipe.csv
on_tty tty.csv "'$NIGHTSHIFT' errors --db '$NIGHTSHIFT_DB' 1 --format csv"
check "csv on a terminal holds no raw ESC or BEL" raw_free tty.csv
like "... but the escaped bytes" "$(cat tty.csv)" 'k\\x1b\]0;pwned\\x07'
like "... in csv fields" "$(cat tty.csv)" '"m\\x1b\[2Jcleared"'
on_tty tty.txt "'$NIGHTSHIFT' errors --db '$NIGHTSHIFT_DB' 1"
check "text output on a terminal holds no raw ESC" raw_free tty.txt

# A spec value (validate echoes it).
printf 'name: esc\ncommand: [sh, -c, "exit 0"]\ntimeout: "\\e]0;pwned\\a5 minutes"\npartitions:\n  list: [a]\n' >bad.yaml
ns validate bad.yaml >v.out 2>&1
is "validate of a bad value exits 2" "$?" 2
check "its message holds no raw ESC" raw_free v.out
like "it shows the value escaped" "$(cat v.out)" 'timeout: "\\x1b\]0;pwned\\x075 minutes" is not a duration'
# A keys file with a duplicate hostile key (plan and run echo it).
printf 'name: esc\ncommand: [sh, -c, "exit 0"]\npartitions:\n  list: {file: keys.txt}\n' >keys.yaml
printf 'a\n\033[2Jb\n\033[2Jb\n' >keys.txt
ns plan keys.yaml >p.out 2>&1
is "plan with a duplicate key exits 2" "$?" 2
check "plan's message holds no raw ESC" raw_free p.out
like "it shows the key escaped" "$(cat p.out)" 'duplicate key "\\x1b\[2Jb"'
ns run keys.yaml >r.out 2>&1
is "run with it exits 2" "$?" 2
check "run's message holds no raw ESC" raw_free r.out
# A -p name.
ns plan hostile.yaml -p "$(printf 'x\033[2J')=1" >pn.out 2>&1
is "plan with an unknown hostile -p name exits 2" "$?" 2
check "its message holds no raw ESC" raw_free pn.out
like "it shows the name escaped" "$(cat pn.out)" 'unknown parameter "x\\x1b\[2J"'
ns run hostile.yaml -p "$(printf 'x\033[2J')=1" >rn.out 2>&1
is "run with it exits 2" "$?" 2
check "run's message holds no raw ESC" raw_free rn.out
# A file name.
ns validate "$(printf 'e\033[2Jvil.yaml')" >f.out 2>&1
is "validate of a missing hostile file name exits 2" "$?" 2
check "its message holds no raw ESC" raw_free f.out
like "it shows the name escaped" "$(cat f.out)" 'e\\x1b\[2Jvil.yaml: cannot open'
# A partition key (retry echoes it).
ns retry 1 "key:$(printf '\033[2J')" >k.out 2>&1
is "retry of an unknown hostile key exits 2" "$?" 2
check "its message holds no raw ESC" raw_free k.out
like "it shows the key escaped" "$(cat k.out)" 'no partition with key "\\x1b\[2J"'
# A spec whose file name holds ESC: the queued retry's message names it.
hname=$(printf 'h\033[2J.yaml')
printf 'name: hostile-name\ncommand: [sh, -c, "exit 3"]\npartitions:\n  list: [a]\n' >"$hname"
ns run "$hname" >/dev/null 2>&1
ns retry 2 0 >q.out 2>&1
is "a retry queued without a runtime exits 0" "$?" 0
check "its message (naming the spec file) holds no raw ESC" raw_free q.out
like "it shows the file name escaped" "$(cat q.out)" 'h\\x1b\[2J\.yaml'
# A bidi override in a key file is shown as <U+202E>.
printf 'a\n\342\200\256b\n\342\200\256b\n' >keys.txt
ns validate keys.yaml >b.out 2>&1
like "a bidi override shows as <U+202E>" "$(cat b.out)" 'duplicate key "<U\+202E>b"'
done_testing
