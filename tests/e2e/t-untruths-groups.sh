#!/bin/sh
# Issue 22, smaller untruths: failure groups split on the partition's own
# key. Seven partitions fail with one cause, "connection reset by peer";
# key "peer" gave "exit 3: connection reset by <key>", key "connection reset
# by peer" gave "exit 3: <key>", the other five "exit 3: connection reset by
# peer": three groups, so retry --signature missed some. Now one group. And
# a signature no longer repeats its prefix ("could not start: could not
# start: ...").
. "$(dirname "$0")/lib.sh"

cat >"$T/g.yaml" <<'YAML'
name: groups
shell: true
command: "echo 'connection reset by peer' >&2; exit 3"
partitions: {list: [peer, connection reset by peer, eu-west, eu-east, us-west, ap-south, sa-east]}
concurrency: 4
YAML
ns run "$T/g.yaml" --quiet >/dev/null 2>&1
is "the run failed" "$?" 1
is "issue 22: one cause is one failure group, whichever partition failed" \
    "$(sql "SELECT count(DISTINCT last_signature) || ' ' || max(last_signature) FROM partitions WHERE run_id = 1")" \
    "1 exit 3: connection reset by <key>"
like "status shows one group of seven" "$(ns status 1)" "7 +exit 3: connection reset by <key>"

cat >"$T/n.yaml" <<YAML
name: nocmd
command: [$T/no-such-worker]
partitions: {list: [a, b]}
YAML
ns run "$T/n.yaml" --quiet >/dev/null 2>&1
like "issue 22: could not start is said once in the signature" \
    "$(sql "SELECT DISTINCT last_signature FROM partitions WHERE run_id = 2")" \
    "^could not start: /[^:]*/no-such-worker: No such file or directory$"
done_testing
