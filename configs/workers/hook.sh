#!/bin/sh
# hook.sh - the example jobs' end hooks: records the NIGHTSHIFT_* variables
# the hook got in OUT/hook-KIND.env (OUT empty: the job's per-user default,
# ns_demo_dir DEFAULT).
#
# usage: hook.sh OUT DEFAULT KIND
. "$(dirname "$0")/lib.sh"
out=${1:-$(ns_demo_dir "$2")}
mkdir -p "$out" && env | grep ^NIGHTSHIFT_ | sort >"$out/hook-$3.env"
