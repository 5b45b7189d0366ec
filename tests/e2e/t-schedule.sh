#!/bin/sh
# Scheduling: `schedule` prints a systemd service + timer that
# systemd-analyze accepts and a crontab line whose command really runs the
# job; relative dates in -p are resolved once, when the run is created, and
# stored (a resumed run keeps its date); two `run`s of one command started
# at once never make two runs or two attempts of a partition.
. "$(dirname "$0")/lib.sh"

export TZ=UTC
cat >"$T/nightly.yaml" <<YAML
name: nightly
params: {day: ~, pace: "0"}
command: [sh, -c, 'echo "progress 1" >&3; [ -n "\$NIGHTSHIFT_CHECKPOINT" ] && exit 0; echo "checkpoint half" >&3; sleep "\$0"', "{pace}"]
partitions: {dates: {from: "{day}", to: "{day}"}}
YAML

ns schedule "$T/nightly.yaml" -p day=yesterday --on-calendar "*-*-* 02:30:00" >"$T/schedule.out" 2>&1
is "schedule exits 0" "$?" 0
awk -v dir="$T" '/^# ---- / { f = dir "/" $3; next } f { print > f }' "$T/schedule.out"
check "it printed a service" test -s "$T/nightshift-nightly.service"
check "and a timer" test -s "$T/nightshift-nightly.timer"
like "the timer fires on the calendar given" "$(cat "$T/nightshift-nightly.timer")" "^OnCalendar=\\*-\\*-\\* 02:30:00$"
like "the service runs the job with absolute paths and the word yesterday" \
    "$(cat "$T/nightshift-nightly.service")" "^ExecStart=\"/[^\"]*/nightshift\" \"run\" \"--db\" \"$NIGHTSHIFT_DB\" \"--quiet\" \"$T/nightly.yaml\" \"-p\" \"day=yesterday\"$"
if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify --man=no "$T/nightshift-nightly.service" "$T/nightshift-nightly.timer" >"$T/verify.out" 2>&1
    is "systemd-analyze verify accepts the units" "$?" 0
    is "without a warning" "$(cat "$T/verify.out")" ""
else
    ok "# SKIP systemd-analyze verify: systemd-analyze is not installed here"
fi
cronline=$(sed -n '/^# ---- crontab/{n;p}' "$T/schedule.out")
like "the crontab line runs at 02:30" "$cronline" "^30 2 \\* \\* \\* '/"
ns schedule "$T/nightly.yaml" -p day=today --on-calendar "Mon *-*-* 02:00" --only cron >"$T/nocron.out"
like "a calendar with no crontab equivalent says so" "$(cat "$T/nocron.out")" "no crontab equivalent of OnCalendar=Mon"
ns schedule "$T/nightly.yaml" --only cron --cron '15 4 * * 1-5' -p day=today >"$T/cron2.out"
like "--cron gives the fields" "$(cat "$T/cron2.out")" "^15 4 \\* \\* 1-5 '"

# The crontab command itself, run by sh as cron would (the clock at a known day).
day0=$(date -u -d '2026-11-23 01:00' +%s)
cmd=$(echo "$cronline" | cut -d' ' -f6-)
NIGHTSHIFT_TEST_NOW=$day0 sh -c "$cmd"
is "the crontab command ran the job (exit 0)" "$?" 0
is "the run stored the resolved date, not the word" "$(sql "SELECT params FROM runs WHERE id = 1")" "day=2026-11-22
pace=0"
is "its partition is that day" "$(sql "SELECT key FROM partitions WHERE run_id = 1")" 2026-11-22

# A run killed mid-way resumes with its date, whatever the day it resumes.
NIGHTSHIFT_TEST_NOW=$day0 spawn crashy "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/nightly.yaml" -p day=today -p pace=30
wait_for "the run has checkpointed" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 2 AND checkpoint IS NOT NULL\")\" = 1"
kill -9 "$SPAWNED"
wait_for "the runtime is dead" 10 pid_gone "$SPAWNED"
is "run 2 is for 2026-11-23" "$(sql "SELECT key FROM partitions WHERE run_id = 2")" 2026-11-23
NIGHTSHIFT_TEST_NOW=$((day0 + 86400)) ns run "$T/nightly.yaml" -p day=2026-11-23 -p pace=30 >"$T/resume.out" 2>&1
is "resumed a day later by its date, it exits 0" "$?" 0
is "it resumed run 2 (no new run)" "$(sql "SELECT count(*) FROM runs")" 2
is "run 2 kept its day" "$(sql "SELECT params FROM runs WHERE id = 2" | head -n 1)" day=2026-11-23
is "its partition resumed from the checkpoint" "$(sql "SELECT CAST(resumed_from AS TEXT) FROM attempts WHERE run_id = 2 AND n = 2")" half
NIGHTSHIFT_TEST_NOW=$((day0 + 86400)) ns run "$T/nightly.yaml" -p day=today -p pace=0 >"$T/next.out" 2>&1
is "the next day's 'today' is a new run for the new day" "$(sql "SELECT key FROM partitions WHERE run_id = 3")" 2026-11-24

# Two starts at once, three times over: one run, one attempt, one refusal.
for i in 1 2 3; do
    ns run "$T/nightly.yaml" -p day=2026-10-0$i -p pace=0.5 >"$T/a$i.out" 2>&1 &
    a=$!
    ns run "$T/nightly.yaml" -p day=2026-10-0$i -p pace=0.5 >"$T/b$i.out" 2>&1 &
    b=$!
    wait "$a"
    ra=$?
    wait "$b"
    rb=$?
    is "overlap $i: one run for the day" "$(sql "SELECT count(*) FROM runs WHERE params LIKE 'day=2026-10-0$i%'")" 1
    is "overlap $i: one attempt of its partition" "$(sql "SELECT count(*) FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.params LIKE 'day=2026-10-0$i%'")" 1
    is "overlap $i: one start succeeds, the other is refused (exit 3)" "$(echo "$ra $rb" | tr ' ' '\n' | sort | tr '\n' ' ')" "0 3 "
    like "overlap $i: the refusal names the live runtime" "$(cat "$T/a$i.out" "$T/b$i.out")" "already being driven by a live runtime"
done
ns schedule "$T/nightly.yaml" --only nonsense >/dev/null 2>&1
is "a bad --only is a usage error" "$?" 2
done_testing
