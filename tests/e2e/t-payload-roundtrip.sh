#!/bin/sh
# Error-record payloads of arbitrary bytes (every byte value, NULs, newlines,
# terminal escape sequences, invalid UTF-8, 1 MiB) survive byte for byte, via
# raw error/LEN framing and via `nightshift emit --payload-file`: --raw,
# jsonl (base64) and csv all give them back; the text listing escapes them.
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs

D=$T/payloads
mkdir -p "$D"
i=0
while [ $i -lt 256 ]; do
    # shellcheck disable=SC2059 # the format is the octal escape
    printf "\\$(printf %03o $i)"
    i=$((i + 1))
done >"$D/all256"
printf 'a\0b\0\0c\0' >"$D/nuls"
printf 'line1\nline2\n\n\nerror/5 fake header\n' >"$D/newlines"
printf '\033]0;pwned\007' >"$D/osc"
printf '\033[2J\033[H' >"$D/clear"
printf '\377\376\300\200 bad \355\240\200 \342\200\256rtl' >"$D/badutf8"
printf '\r\b\177' >"$D/ctl"
head -c 1048576 /dev/urandom >"$D/big"
: >"$D/empty"
is "all256 has 256 bytes" "$(wc -c <"$D/all256" | tr -d ' ')" 256
is "big is 1 MiB" "$(wc -c <"$D/big" | tr -d ' ')" 1048576
names=$(cd "$D" && ls)
nfiles=$(echo "$names" | wc -l)

ns run "$SPECS/payloads.yaml" -p dir="$D" >"$T/run.out" 2>&1
is "run exits 0" "$?" 0
is "the partition succeeded" "$(sql "SELECT state FROM partitions WHERE run_id = 1")" succeeded
is "two records per file" "$(sql "SELECT count(*) FROM error_records WHERE run_id = 1")" $((nfiles * 2))
is "no malformed report lines (framing stayed in sync)" "$(sql "SELECT count(*) FROM events WHERE kind = 'protocol'")" 0
is "the progress line after the payloads was read" "$(sql "SELECT progress FROM partitions WHERE run_id = 1")" 1

ns errors 1 --format jsonl >"$T/errors.jsonl" 2>"$T/errors.err"
is "errors --format jsonl exits 0" "$?" 0
is "one jsonl line per record" "$(wc -l <"$T/errors.jsonl" | tr -d ' ')" $((nfiles * 2))
n=0
while IFS= read -r line; do
    n=$((n + 1))
    printf '%s' "$line" >"$T/line.json"
done <"$T/errors.jsonl"

for name in $names; do
    for how in raw emit; do
        id=$(sql "SELECT id FROM error_records WHERE run_id = 1 AND key = '$how-$name'")
        if [ -z "$id" ]; then
            fail "$how-$name: no record"
            continue
        fi
        ns errors 1 --raw "$id" >"$T/out.raw"
        rc=$?
        check "$how-$name: errors --raw exits 0 ($rc) and equals the original bytes" \
            sh -c "[ $rc -eq 0 ] && cmp -s '$D/$name' '$T/out.raw'"
        is "$how-$name: stored length" "$(sql "SELECT length(payload) FROM error_records WHERE id = $id")" \
            "$(wc -c <"$D/$name" | tr -d ' ')"
        grep -F "\"key\":\"$how-$name\"" "$T/errors.jsonl" >"$T/rec.json"
        is "$how-$name: one jsonl line" "$(wc -l <"$T/rec.json" | tr -d ' ')" 1
        sqlite3 :memory: "SELECT json_extract(readfile('$T/rec.json'), '\$.payload_b64')" >"$T/rec.b64"
        base64 -d <"$T/rec.b64" >"$T/rec.bin" 2>/dev/null
        check "$how-$name: jsonl payload_b64 decodes to the original bytes" cmp -s "$D/$name" "$T/rec.bin"
    done
done
is "the jsonl lines are all valid JSON" \
    "$(sqlite3 :memory: "SELECT count(*) FROM (SELECT value FROM json_each('[' || replace(trim(readfile('$T/errors.jsonl'), char(10)), char(10), ',') || ']') WHERE json_valid(value) OR json_type(value) = 'object')")" \
    $((nfiles * 2))

# csv: a header and one row per record (parsed as CSV, not counted as lines).
ns errors 1 --format csv >"$T/errors.csv"
is "errors --format csv exits 0" "$?" 0
is "csv has one row per record" \
    "$(sqlite3 :memory: ".import --csv $T/errors.csv e" "SELECT count(*) FROM e")" $((nfiles * 2))
is "csv payload of raw-osc decodes" \
    "$(sqlite3 :memory: ".import --csv $T/errors.csv e" "SELECT payload_b64 FROM e WHERE key = 'raw-osc'" | base64 -d | od -An -c | tr -s ' ')" \
    "$(od -An -c <"$D/osc" | tr -s ' ')"

# Text listing: no terminal control byte reaches the output, the OSC
# sequence (in a message and in a payload) is shown escaped.
ns errors 1 >"$T/errors.txt"
is "errors (text) exits 0" "$?" 0
check "text listing has no ESC byte" sh -c "! LC_ALL=C grep -q \"\$(printf '\\033')\" '$T/errors.txt'"
check "text listing has no BEL byte" sh -c "! LC_ALL=C grep -q \"\$(printf '\\007')\" '$T/errors.txt'"
check "text listing has no CR, BS or DEL byte" sh -c "! LC_ALL=C grep -q \"\$(printf '[\\r\\b\\177]')\" '$T/errors.txt'"
check "text listing has no NUL byte" sh -c "[ \$(tr -d '\\000' <'$T/errors.txt' | wc -c) -eq \$(wc -c <'$T/errors.txt') ]"
check "the OSC sequence in a message is shown literally" grep -qF 'title \x1b]0;pwned\x07 here' "$T/errors.txt"
check "the OSC payload is shown literally" grep -F 'raw-osc' "$T/errors.txt" -q
like "raw-osc line shows the escaped payload" "$(grep -F 'emit-osc' "$T/errors.txt")" '\\x1b\]0;pwned\\x07'
# The same on a pseudo-terminal (script(1) gives errors a tty for stdout).
if script -qec "true" /dev/null >/dev/null 2>&1; then
    script -qec "'$NIGHTSHIFT' errors --db '$NIGHTSHIFT_DB' 1" /dev/null >"$T/errors.tty" 2>&1
    check "on a pty: no ESC byte from the records" sh -c "! LC_ALL=C grep -q \"\$(printf '\\033]0;pwned')\" '$T/errors.tty'"
    check "on a pty: no BEL byte" sh -c "! LC_ALL=C grep -q \"\$(printf '\\007')\" '$T/errors.tty'"
    check "on a pty: the OSC sequence shown literally" grep -qF '\x1b]0;pwned\x07' "$T/errors.tty"
    script -qec "'$NIGHTSHIFT' errors --db '$NIGHTSHIFT_DB' 1 --raw 1" /dev/null >"$T/raw.tty" 2>&1
    like "--raw refuses a terminal" "$(cat "$T/raw.tty")" "redirect"
else
    diag "script(1) unusable here: pty checks skipped"
fi

# --group: the raw and emit messages normalise to two signatures (numbers
# and hex masked), plus the OSC message.
ns errors 1 --group >"$T/group.txt"
is "errors --group exits 0" "$?" 0
diag "$(cat "$T/group.txt")"
is "a 7-digit number masks like a 4-digit one (offset 1048576 ~ offset 1234)" \
    "$(sql "SELECT signature FROM error_records WHERE key = 'raw-big'")" \
    "$(sql "SELECT signature FROM error_records WHERE key = 'raw-nuls'")"
is "one group per signature" "$(sql "SELECT count(DISTINCT signature) FROM error_records WHERE run_id = 1")" 3
like "raw records grouped with their count" "$(cat "$T/group.txt")" "^ +$((nfiles - 1)) +1  bad record at offset <n>"
like "emit records grouped with their count" "$(cat "$T/group.txt")" "^ +$nfiles +1  checksum <[a-z]+> mismatch in record <n>"
like "the OSC message is its own group, escaped" "$(cat "$T/group.txt")" "^ +1 +1  title .x1b.*pwned.x07 here"
check "group output has no ESC/BEL byte" sh -c "! LC_ALL=C grep -q \"\$(printf '[\\033\\007]')\" '$T/group.txt'"
like "the biggest group is first" "$(sed -n 2p "$T/group.txt")" "^ +$nfiles "
ns status 1 >/dev/null
is "status works" "$?" 0
done_testing
