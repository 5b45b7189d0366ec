#!/bin/sh
# RUN is never read two ways (issue 18 item 5): a job may be named with
# digits (`name: '2'` is valid), so a bare "2" that is both run 2 and job
# "2" is refused with a message naming run:2 and job:2, and nothing is done
# to either run; run:N and job:NAME say which; a bare word that names only
# a job ("99", when there is no run 99) finds that job.
. "$(dirname "$0")/lib.sh"

spec() { # spec FILE NAME: a one-partition job that succeeds
    printf 'name: "%s"\ncommand: [true]\npartitions: {list: [a]}\n' "$2" >"$1"
}
spec "$T/a.yaml" a
spec "$T/two.yaml" 2
spec "$T/ninety-nine.yaml" 99
ns run "$T/a.yaml" >/dev/null 2>&1
ns run --rerun "$T/a.yaml" >/dev/null 2>&1
ns run "$T/two.yaml" >/dev/null 2>&1
ns run "$T/ninety-nine.yaml" >/dev/null 2>&1
is "four runs: a, a, 2, 99" "$(sql "SELECT group_concat(r, ' ') FROM (SELECT id || '=' || job AS r FROM runs ORDER BY id)")" "1=a 2=a 3=2 4=99"

# "2" is run 2 (job a) and job "2" (run 3): refused, both forms named.
ns status 2 >"$T/st.out" 2>"$T/st.err"
is "status 2 is refused (exit 2)" "$?" 2
like "it names both readings" "$(cat "$T/st.err")" '^nightshift: status: "2" is both run 2 and job "2" \(whose newest run is 3\): say run:2 or job:2$'
is "and shows nothing" "$(cat "$T/st.out")" ""
like "status run:2 is run 2 of job a" "$(ns status run:2)" '^run 2  a'
like "status job:2 is run 3 of job 2" "$(ns status job:2)" '^run 3  2'
like "a bare job name made of digits that is no run id finds the job" "$(ns status 99 2>&1)" '^run 4  99'
like "status 1 (only a run id) is run 1" "$(ns status 1)" '^run 1  a'
like "summary takes the forms too" "$(ns summary job:2 --format json)" '"run_id": ?3'

# An operator verb with the ambiguous word acts on neither run.
ns pause 2 >/dev/null 2>"$T/pause.err"
is "pause 2 is refused (exit 2)" "$?" 2
like "with the same message" "$(cat "$T/pause.err")" 'say run:2 or job:2$'
is "no command was recorded for any run" "$(sql "SELECT count(*) FROM commands")" 0
ns pause job:2 >/dev/null 2>&1
is "pause job:2 is refused for want of a runtime (exit 1)" "$?" 1
is "and recorded against run 3, job 2's" "$(sql "SELECT group_concat(run_id) FROM commands")" 3
ns retry run:2 --failed >/dev/null 2>&1
is "retry run:2 --failed is recorded against run 2" "$(sql "SELECT group_concat(run_id) FROM (SELECT run_id FROM commands ORDER BY id)")" "3,2"

# Malformed and missing forms.
ns status run:x >/dev/null 2>"$T/x.err"
is "run:x is a usage error" "$?" 2
like "it says run:N wants an id" "$(cat "$T/x.err")" 'run:N wants a run id'
ns status run:9 >/dev/null 2>&1
is "run:9 (no such run) is exit 3" "$?" 3
ns status job:nope >/dev/null 2>&1
is "job:nope (no such job) is exit 3" "$?" 3
ns status job:1 >/dev/null 2>&1
is "job:1 is not run 1" "$?" 3
done_testing
