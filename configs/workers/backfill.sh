#!/bin/sh
# backfill.sh - one day of the overnight backfill (configs/backfill.yaml).
#
# Reads DATA/events-DATE.csv (generated deterministically from the date if it
# is missing), keeps the well-formed rows and writes them cleaned to
# OUT/DATE.tsv; every malformed line becomes an error record whose payload is
# the raw line, byte for byte.
#
# Reports: total (lines), progress every 200 lines, and every N lines a
# checkpoint "line=L,bytes=B" - sent only after the first B bytes of output
# (everything for lines 1..L) have been flushed and fsync'ed. A later attempt
# gets that token back in NIGHTSHIFT_CHECKPOINT, truncates the output to B
# bytes and carries on at line L+1, so no row is written twice.
# Output grows in OUT/DATE.tsv.partial and is renamed to OUT/DATE.tsv at the
# end, so a complete file never holds a partial day.
#
# usage: backfill.sh --date YYYY-MM-DD --data DIR --out DIR [--lines N]
#                    [--pace SECONDS] [--checkpoint-every N] [--crash-at LINE]
#   --pace              sleep after every 200 lines (to watch the console)
#   --crash-at LINE     on attempt 1, exit 75 right after LINE (tests resume)
# Exit: 0 done, 2 bad arguments or input, 75 simulated crash (retryable).
set -eu
. "$(dirname "$0")/lib.sh"

date='' data='' out='' lines=3000 pace=0 every=500 crash_at=0 fsync=yes
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || ns_die "option $1 needs a value"
    case $1 in
    --date) date=$2 ;;
    --data) data=$2 ;;
    --out) out=$2 ;;
    --lines) lines=$2 ;;
    --pace) pace=$2 ;;
    --checkpoint-every) every=$2 ;;
    --crash-at) crash_at=$2 ;;
    --fsync) fsync=$2 ;;
    *) ns_die "unknown option $1" ;;
    esac
    shift 2
done
case $date in
[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]) ;;
*) ns_die "--date must be YYYY-MM-DD, got '$date'" ;;
esac
[ -n "$data" ] || data=$(ns_demo_dir backfill/events)
[ -n "$out" ] || out=$(ns_demo_dir backfill/out)
ns_is_uint "$lines" && [ "$lines" -gt 0 ] || ns_die "--lines must be a positive integer"
ns_is_uint "$every" && [ "$every" -gt 0 ] || ns_die "--checkpoint-every must be a positive integer"
ns_is_uint "$crash_at" || ns_die "--crash-at must be an integer"
attempt=${NIGHTSHIFT_ATTEMPT:-1}
ns_is_uint "$attempt" || attempt=1

mkdir -p "$data" "$out"
events=$data/events-$date.csv
partial=$out/$date.tsv.partial
final=$out/$date.tsv

# --- 1. the input: generate it once, atomically -----------------------------
# A Park-Miller generator seeded by the date: the same date gives the same
# file with any awk (products stay below 2^53, so doubles are exact).
# About 1 line in 200 is malformed, in one of five ways (1 in 1000 each).
if [ ! -s "$events" ]; then
    tmp=$events.tmp.$$
    LC_ALL=C awk -v date="$date" -v lines="$lines" '
    BEGIN {
        seed = date; gsub(/[^0-9]/, "", seed)
        x = seed % 2147483646 + 1
        split("view click cart purchase refund", kind, " ")
        for (i = 1; i <= lines; i++) {
            x = (x * 16807) % 2147483647
            sec = int((i - 1) * 86400 / lines)
            ts = sprintf("%sT%02d:%02d:%02dZ", date, int(sec / 3600), int(sec % 3600 / 60), sec % 60)
            line = sprintf("%s,u%04d,%s,%d.%02d", ts, x % 5000, kind[int(x / 7) % 5 + 1],
                           int(x / 11) % 300, int(x / 13) % 100)
            bad = int(x / 17) % 1000
            if (bad == 0)      line = substr(line, 1, 27)                  # truncated
            else if (bad == 1) sub(/[0-9]+\.[0-9][0-9]$/, "NaN", line)      # bad amount
            else if (bad == 2) line = "??" substr(line, 3)                 # bad timestamp
            else if (bad == 3) line = line ",extra"                        # extra field
            else if (bad == 4) line = substr(line, 1, 21) "\001\377\376" substr(line, 25) # binary junk
            print line
        }
    }' >"$tmp"
    mv -f "$tmp" "$events"
    ns_log info "generated $events ($lines lines)"
fi
total=$(($(wc -l <"$events")))
ns_total "$total"

# --- 2. where to start: the checkpoint, if it still matches the output ------
start=0 bytes=0
cp=${NIGHTSHIFT_CHECKPOINT:-}
if [ -n "$cp" ]; then
    cp_line=${cp#line=}
    cp_line=${cp_line%%,*}
    cp_bytes=${cp##*,bytes=}
    have=-1
    # Killed between the last checkpoint and the rename: the finished file
    # is the partial one under its final name.
    if [ ! -f "$partial" ] && [ -f "$final" ] && [ "$cp_line" = "$total" ]; then
        mv -f "$final" "$partial"
    fi
    [ -f "$partial" ] && have=$(($(wc -c <"$partial")))
    if ns_is_uint "$cp_line" && ns_is_uint "$cp_bytes" && [ "$cp_line" -le "$total" ] &&
        [ "$have" -ge "$cp_bytes" ]; then
        start=$cp_line bytes=$cp_bytes
        # Drop whatever was written after the checkpoint (POSIX dd truncates
        # of= at seek= unless conv=notrunc).
        dd if=/dev/null of="$partial" bs=1 seek="$bytes" 2>/dev/null
        ns_log info "resuming after line $start (keeping $bytes bytes of output)"
    else
        ns_log warn "checkpoint '$cp' does not match $partial; starting over"
    fi
fi
[ "$start" -gt 0 ] || : >"$partial"

# --- 3. the work: one awk pass, protocol lines on its stdout ----------------
# LC_ALL=C: length() counts bytes, which error/LEN needs.
rc=0
LC_ALL=C awk -v date="$date" -v src="${events##*/}" -v out="$partial" -v skip="$start" \
    -v bytes="$bytes" -v every="$every" -v pace="$pace" -v crash="$crash_at" \
    -v attempt="$attempt" -v fsync="$fsync" '
    function durable() {
        fflush(out)
        if (fsync == "yes") system("sync -- \"" out "\" 2>/dev/null")
    }
    NR <= skip { next }
    {
        n = split($0, f, ",")
        why = ""
        if (n != 4)
            why = "expected 4 fields, got " n
        else if (f[1] !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z$/ || substr(f[1], 1, 10) != date)
            why = "bad timestamp"
        else if (f[2] !~ /^u[0-9]+$/)
            why = "bad user id"
        else if (f[4] !~ /^[0-9]+\.[0-9][0-9]$/)
            why = "bad amount"
        if (why != "") {
            printf "error/%d %s:%d %s\n%s", length($0), src, NR, why, $0
        } else {
            cents = f[4]; sub(/\./, "", cents)
            row = date "\t" substr(f[1], 12, 2) "\t" f[2] "\t" f[3] "\t" (cents + 0)
            print row >> out   # appends: the file was truncated above
            bytes += length(row) + 1
        }
        if (NR % 200 == 0) {
            print "progress " NR
            fflush()
            if (pace + 0 > 0) system("sleep " (pace + 0))
        }
        if (NR % every == 0) {
            durable()
            print "checkpoint line=" NR ",bytes=" bytes
            fflush()
        }
        if (crash > 0 && attempt == 1 && NR == crash) {
            print "log error simulated crash after line " NR
            crashed = 1
            exit 75
        }
    }
    END {
        if (crashed) exit 75
        durable()
        close(out)
        print "progress " (NR > skip ? NR : skip)
    }' <"$events" >&"$NS_FD" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

# --- 4. publish the day atomically ------------------------------------------
mv -f "$partial" "$final"
ns_log info "wrote $(($(wc -l <"$final"))) rows to $final"
