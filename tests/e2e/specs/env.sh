#!/bin/sh
# env.sh OUT KEY - writes what this attempt was given into OUT/KEY.ATTEMPT.*:
#   .env    the environment (env(1))
#   .rawenv the environment exactly as exec gave it (a shell drops duplicates)
#   .stdin  what fd 0 points to
#   .ids    "PID PGID SID" of this worker
# Key alpha reports checkpoint tok-alpha-1 and fails (exit 75) on attempt 1.
out=$1 key=$2
base=$out/$key.$NIGHTSHIFT_ATTEMPT
env >"$base.env"
tr '\0' '\n' </proc/$$/environ >"$base.rawenv"
readlink /proc/$$/fd/0 >"$base.stdin"
# /proc/PID/stat: "pid (comm) state ppid pgrp session ..."
sed 's/^\([0-9]*\) (.*) [A-Za-z] [0-9-]* \([0-9-]*\) \([0-9-]*\) .*/\1 \2 \3/' /proc/$$/stat >"$base.ids"
if [ "$key" = alpha ] && [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then
    "$NIGHTSHIFT_BIN" emit checkpoint tok-alpha-1
    exit 75
fi
exit 0
