#!/bin/sh
# flaky.sh - one customer shard of configs/flaky-keys.yaml.
#
# Pretends to sync a shard: reports a few progress steps, then succeeds -
# except that the shard named by --flaky fails with exit 75 (EX_TEMPFAIL,
# "try again") on its first --fail-times attempts, and the shard named by
# --broken exits 2 ("bad input": retrying will not help) on every attempt.
# NIGHTSHIFT_ATTEMPT (1-based) tells the attempts apart.
#
# usage: flaky.sh --key KEY [--flaky KEY] [--fail-times N] [--broken KEY]
#                 [--steps N] [--pace SECONDS]
set -eu
. "$(dirname "$0")/lib.sh"

key='' flaky='' fail_times=2 broken='' steps=5 pace=0
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || ns_die "option $1 needs a value"
    case $1 in
    --key) key=$2 ;;
    --flaky) flaky=$2 ;;
    --fail-times) fail_times=$2 ;;
    --broken) broken=$2 ;;
    --steps) steps=$2 ;;
    --pace) pace=$2 ;;
    *) ns_die "unknown option $1" ;;
    esac
    shift 2
done
[ -n "$key" ] || ns_die "--key is required"
ns_is_uint "$fail_times" || ns_die "--fail-times must be an integer"
ns_is_uint "$steps" && [ "$steps" -gt 0 ] || ns_die "--steps must be a positive integer"
attempt=${NIGHTSHIFT_ATTEMPT:-1}
ns_is_uint "$attempt" || attempt=1

ns_total "$steps"
ns_log info "syncing shard $key (attempt $attempt)"
if [ "$key" = "$broken" ]; then
    ns_error "$key" "shard manifest is corrupt: checksum mismatch"
    echo "flaky.sh: $key: corrupt manifest, giving up" >&2
    exit 2
fi
i=0
while [ "$i" -lt "$steps" ]; do
    if [ "$key" = "$flaky" ] && [ "$attempt" -le "$fail_times" ] && [ "$i" -eq 2 ]; then
        ns_log warn "upstream for $key answered 503 (attempt $attempt of the flaky ones)"
        echo "flaky.sh: $key: 503 Service Unavailable, exiting 75 to be retried" >&2
        exit 75
    fi
    [ "$pace" = 0 ] || sleep "$pace"
    i=$((i + 1))
    ns_progress "$i"
done
ns_log info "shard $key in sync"
