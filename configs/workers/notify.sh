#!/bin/sh
# notify.sh - a run hook: appends one line per call to LOGFILE with the event
# and every NIGHTSHIFT_* variable the runtime gave the hook (the run's
# figures), so you can see what a real notifier (mail, chat) would get.
#
# usage: notify.sh EVENT LOGFILE
set -eu
event=${1:?usage: notify.sh EVENT LOGFILE}
log=${2:?usage: notify.sh EVENT LOGFILE}
mkdir -p "$(dirname "$log")"
{
    printf '%s %s' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$event"
    env | grep '^NIGHTSHIFT_' | sort | tr '\n' ' '
    printf '\n'
} >>"$log"
