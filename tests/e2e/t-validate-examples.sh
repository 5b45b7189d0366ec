#!/bin/sh
# Every example spec in configs/ validates and plans; plans are deterministic
# and have the expected partitions; a broken spec is reported as
# file:line:column naming the key.
. "$(dirname "$0")/lib.sh"

# spec -> partitions the default parameters give, and one key of the plan
expect() {
    case $1 in
    backfill) echo "14 2026-11-14" ;;
    flaky-keys) echo "8 eu-west" ;;
    timeout) echo "8 8" ;;
    demo) echo "56 55999" ;;
    many) echo "10000 10000" ;;
    chain-extract | chain-load) echo "3 2026-11-03" ;;
    *) echo "" ;;
    esac
}

for spec in "$CONFIGS"/*.yaml; do
    name=$(basename "$spec" .yaml)
    out=$(ns validate "$spec" 2>&1)
    rc=$?
    is "validate $name exits 0" "$rc" 0
    [ "$rc" -eq 0 ] || diag "$out"
    is "validate $name prints one line" "$(printf '%s\n' "$out" | grep -c .)" 1

    ns plan "$spec" >"$T/$name.plan" 2>"$T/$name.err"
    is "plan $name exits 0" "$?" 0
    ns plan "$spec" >"$T/$name.plan2" 2>&1
    check "plan $name is deterministic" cmp -s "$T/$name.plan" "$T/$name.plan2"

    # shellcheck disable=SC2046 # two words on purpose
    set -- $(expect "$name")
    if [ $# -eq 2 ]; then
        lines=$(grep -c . "$T/$name.plan")
        # one line per partition, plus at most a few lines of header
        check "plan $name lists $1 partitions (got $lines lines)" \
            test "$lines" -ge "$1" -a "$lines" -le $(($1 + 3))
        check "plan $name mentions key $2" grep -q -- "$2" "$T/$name.plan"
    else
        diag "no expectations for configs/$name.yaml: add them to expect()"
    fi
done

# Parameters reach the plan: fewer days, fewer partitions.
n=$(ns plan "$CONFIGS/backfill.yaml" -p from=2026-02-27 -p to=2026-03-01 | grep -c '2026-0[23]-')
is "plan backfill -p from/to spans 3 days across February's end" "$n" 3
n=$(ns plan "$CONFIGS/many.yaml" -p n=25 | grep -c .)
check "plan many -p n=25 has 25 partitions (got $n lines)" test "$n" -ge 25 -a "$n" -le 28

# A broken spec: each problem as FILE:LINE:COLUMN: message naming the key.
cat >"$T/bad.yaml" <<'YAML'
name: bad
command: [true]
partitions:
  list: [a, b]
concurrency: lots
colour: blue
YAML
err=$(ns validate "$T/bad.yaml" 2>&1)
rc=$?
check "validate bad.yaml exits non-zero" test "$rc" -ne 0
like "concurrency is reported with its position" "$err" 'bad\.yaml:5:[0-9]+: .*concurrency'
like "the unknown key is reported with its position" "$err" 'bad\.yaml:6:[0-9]+: .*colour'

done_testing
