#!/bin/sh
# demo.sh - one chunk of the README demo (configs/demo.yaml): "re-index"
# documents START..END, reporting progress as it goes.
#
# Deterministic from START: each chunk takes 10..30 x pace seconds (1-3 s), the chunk whose
# start is a multiple of 7000 skips a few "documents" as error records (one
# of them hostile: terminal escape sequences, a carriage return and a bidi
# override in message and payload, to show that the console escapes them),
# chunk --fail-chunk fails for good (exit 2) and chunk --flaky-chunk fails
# once with exit 75 and then succeeds.
#
# usage: demo.sh --start N --end N [--pace SECONDS] [--fail-chunk N]
#                [--flaky-chunk N] [--tmp DIR]
set -eu
. "$(dirname "$0")/lib.sh"

start='' end='' pace=0.1 fail_chunk=-1 flaky_chunk=-1 tmp=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || ns_die "option $1 needs a value"
    case $1 in
    --start) start=$2 ;;
    --end) end=$2 ;;
    --pace) pace=$2 ;;
    --fail-chunk) fail_chunk=$2 ;;
    --flaky-chunk) flaky_chunk=$2 ;;
    --tmp) tmp=$2 ;;
    *) ns_die "unknown option $1" ;;
    esac
    shift 2
done
ns_is_uint "$start" && ns_is_uint "$end" && [ "$end" -ge "$start" ] ||
    ns_die "--start and --end must be integers, start <= end"
attempt=${NIGHTSHIFT_ATTEMPT:-1}
ns_is_uint "$attempt" || attempt=1

total=$((end - start + 1))
steps=20
# 10..30 pace-units of work, spread deterministically over the chunks.
# shellcheck disable=SC2017 # integer chunk number on purpose
units=$((10 + (start / 1000 * 13) % 21))
ns_total "$total"

# sleep pace * units / steps per step, computed by awk (sh has no fractions).
nap=$(awk -v p="$pace" -v u="$units" -v s="$steps" 'BEGIN { printf "%.3f", p * u / s }')
payload=$(mktemp "$tmp/nightshift-demo.XXXXXX")
trap 'rm -f "$payload"' EXIT

# What it prints (not reports) goes to its log: `nightshift logs demo 0`.
echo "chunk $start: re-indexing documents $start..$end (attempt $attempt, index ${DEMO_INDEX:-documents})"
i=1
while [ "$i" -le "$steps" ]; do
    sleep "$nap"
    done_n=$((total * i / steps))
    ns_progress "$done_n"

    if [ "$i" -eq 10 ] && [ $((start % 7000)) -eq 0 ]; then
        doc=$((start + 17))
        printf '{"id":%d,"title":"Quarterly report","lang":"xx"}' "$doc" >"$payload"
        ns_error "doc-$doc" "unsupported language 'xx'" "$payload"
        doc=$((start + 42))
        printf '{"id":%d,"body":""}' "$doc" >"$payload"
        ns_error "doc-$doc" "empty body" "$payload"
        # The hostile one: OSC "set window title", "clear screen", a carriage
        # return and U+202E RIGHT-TO-LEFT OVERRIDE, in message and payload.
        doc=$((start + 99))
        printf '{"id":%d,"title":"\033]0;pwned\007\033[2Jreport\rfdp.exe\342\200\256"}' \
            "$doc" >"$payload"
        if [ -n "${NIGHTSHIFT_BIN:-}" ]; then
            # The same record through `nightshift emit`, as a script would.
            "$NIGHTSHIFT_BIN" emit error "doc-$doc" \
                "$(printf 'title has control bytes \033[31mRED\033[0m \033]0;pwned\007')" \
                --payload-file "$payload"
        else
            ns_error "doc-$doc" \
                "$(printf 'title has control bytes \033[31mRED\033[0m \033]0;pwned\007')" "$payload"
        fi
    fi
    if [ "$i" -eq 12 ] && [ "$start" -eq "$fail_chunk" ]; then
        ns_log error "index shard for $start..$end is read-only"
        echo "demo.sh: chunk $start: index shard is read-only (exit 2, not retryable)" >&2
        exit 2
    fi
    if [ "$i" -eq 6 ] && [ "$start" -eq "$flaky_chunk" ] && [ "$attempt" -eq 1 ]; then
        ns_log warn "connection reset by peer while indexing $start..$end"
        echo "demo.sh: chunk $start: connection reset by peer (exit 75, retryable)" >&2
        exit 75
    fi
    i=$((i + 1))
done
ns_log info "indexed documents $start..$end"
echo "chunk $start: $total documents re-indexed"
