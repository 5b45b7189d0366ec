#!/bin/sh
# A hung Slurm command never freezes the runtime (issue 18 item 2), on a
# real single-node Slurm:
#   one running task is cancelled behind nightshift's back, then the run is
#   paused while `scontrol suspend` fails (as for a user without operator
#   rights) and its fallback `scancel --signal=STOP` hangs (a wrapper first
#   in the runtime's PATH). Then:
#   - `resume` is applied (its commands row answered, the run running again)
#     within 2 s of being issued, though the scancel still hangs;
#   - `status`, `pause` and `resume` never say "database is locked";
#   - the hung scancel is killed at its deadline (NIGHTSHIFT_SLURM_CMD_TIMEOUT_S,
#     shortened here) and that is a run event with the command's words;
#   - the run completes: every partition succeeded exactly once, and the
#     outputs equal a local run's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$CONFIGS" "$T/configs"
echo "executor: slurm" >>"$T/configs/backfill.yaml"

# The wrappers: while $T/hang exists, `scancel --signal=STOP` hangs and
# `scontrol suspend` is refused; everything else is the real command.
mkdir -p "$T/bin"
cat >"$T/bin/scancel" <<EOS
#!/bin/sh
if [ -e "$T/hang" ]; then
    case " \$* " in *" --signal=STOP "*) echo "\$\$ \$*" >>"$T/hung.log"; exec sleep 120 ;; esac
fi
exec $(command -v scancel) "\$@"
EOS
cat >"$T/bin/scontrol" <<EOS
#!/bin/sh
if [ -e "$T/hang" ] && [ "\$1" = suspend ]; then
    echo "Access/permission denied" >&2
    exit 1
fi
exec $(command -v scontrol) "\$@"
EOS
chmod +x "$T/bin/scancel" "$T/bin/scontrol"

run_of() { sql "SELECT max(id) FROM runs WHERE job = 'backfill'" 2>/dev/null; }
running_with_progress() {
    [ "$(sql "SELECT count(*) FROM partitions WHERE run_id = $1 AND state = 'running' AND progress >= 1" 2>/dev/null)" -ge 2 ]
}
no_lock_words() { ! grep -qi "database is locked" "$@"; }

P="-p from=2026-11-01 -p to=2026-11-06 -p pace=0.4 -p lines=2000 -p data=$T/data -p out=$T/out"
# shellcheck disable=SC2086
spawn backfill env PATH="$T/bin:$PATH" NIGHTSHIFT_SLURM_CMD_TIMEOUT_S=8 \
    "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/configs/backfill.yaml" $P
rt=$SPAWNED
R=
for _ in $(seq 1 900); do R=$(run_of); [ -n "$R" ] && running_with_progress "$R" && break; sleep 0.1; done
check "two partitions run with progress" running_with_progress "$R"

# Cancel one running task behind nightshift's back, then pause at once.
victim=$(sql "SELECT a.locator FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx
              WHERE a.run_id = $R AND a.outcome IS NULL AND p.state = 'running' ORDER BY a.idx DESC LIMIT 1")
like "a running task has a job id" "$victim" '^[0-9]+_[0-9]+$'
scancel "$victim"
touch "$T/hang"
ns pause "$R" >"$T/pause.out" 2>&1
is "pause exits 0" "$?" 0
check "pause does not say the database is locked" no_lock_words "$T/pause.out"
wait_for "the STOP fallback hangs" 20 test -s "$T/hung.log" && ok "scancel --signal=STOP hangs"
for i in 1 2 3; do
    ns status "$R" >"$T/status$i.out" 2>&1
    is "status $i exits 0 while scancel hangs" "$?" 0
    check "status $i does not say the database is locked" no_lock_words "$T/status$i.out"
    sleep 0.3
done
is "the run is paused" "$(sql "SELECT state FROM runs WHERE id = $R")" paused

# Resume while the scancel still hangs: applied within 2 s.
t0=$(now_ms)
ns resume "$R" >"$T/resume.out" 2>&1
rc=$?
resumed() {
    [ "$(sql "SELECT state FROM commands WHERE run_id = $R AND verb = 'resume' ORDER BY id DESC LIMIT 1")" = applied ] &&
        [ "$(sql "SELECT state FROM runs WHERE id = $R")" = running ]
}
wait_for "resume is applied" 60 resumed
took=$(($(now_ms) - t0))
diag "resume applied after $took ms (the STOP scancel still hung: $(test -e "$T/hung.log" && pgrep -f 'sleep 120' >/dev/null && echo yes || echo no))"
is "resume exits 0" "$rc" 0
check "resume does not say the database is locked" no_lock_words "$T/resume.out"
check "resume is applied within 2 s of being issued ($took ms)" test "$took" -le 2000
like "its commands row says so within 2 s" \
    "$(sql "SELECT applied_at - issued_at < 2.0 FROM commands WHERE run_id = $R AND verb = 'resume' ORDER BY id DESC LIMIT 1")" '^1$'

# The hung command is killed at its deadline, and the run says so.
killed_event() {
    [ -n "$(sql "SELECT id FROM events WHERE run_id = $R AND kind = 'executor' AND message LIKE '%scancel --full --signal=STOP%killed%'")" ]
}
wait_for "the hung scancel is killed and noted" 30 killed_event && ok "the hung scancel was killed, with its words in an event"
rm -f "$T/hang"

wait_for "the run finishes" 240 pid_gone "$rt"
wait "$rt"
is "the runtime exits 0" "$?" 0
is "the run succeeded" "$(sql "SELECT state FROM runs WHERE id = $R")" succeeded
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 6
is "exactly once: one succeeded attempt per partition" \
    "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $R AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 6
like "the task cancelled behind its back says so" \
    "$(sql "SELECT outcome || ': ' || message FROM attempts WHERE run_id = $R AND locator = '$victim'")" "^lost: .*cancelled outside nightshift"
"$NIGHTSHIFT" run --db "$T/local.db" "$CONFIGS/backfill.yaml" -p from=2026-11-01 -p to=2026-11-06 \
    -p pace=0 -p lines=2000 -p data="$T/data" -p out="$T/ref" >"$T/ref.out" 2>&1
is "the local reference exits 0" "$?" 0
for f in "$T"/ref/*.tsv; do
    check "output $(basename "$f") equals the local run's" cmp -s "$f" "$T/out/$(basename "$f")"
done
done_testing
