#!/bin/sh
# hostile.sh MODE OUT - a worker that misbehaves in the way MODE says.
#   garbage       unknown verbs (one an OSC escape sequence), bad numbers,
#                 random bytes and 200 KiB lines
#                 on the report fd, a good "progress 7" between them; exit 0
#   flood         50 MiB to stdout and 1000 bytes to stderr; exit 0
#   segv          kill -SEGV itself
#   kill9         kill -9 itself
#   ignoreterm    ignores SIGTERM and never ends (the timeout's SIGKILL ends it)
#   bgchild       leaves `sleep 300` running in its process group, pid in
#                 OUT/bgchild.pid; exit 0
#   closefd3      closes the report fd at once, then reports (fails); exit 0
#   closedstdout  closes stdout, then writes to it; exit 0
mode=$1 out=$2
fd=${NIGHTSHIFT_REPORT_FD:?}
long() { head -c 204800 /dev/zero | tr '\0' x; }
case $mode in
garbage)
    printf 'frobnicate 1\n\033]0;pwned\007 x\nprogress abc\nprogress -3\ntotal\ntotal 1e9\nlog loud hi\ncheckpoint\nerror\nerror/xyz k m\n' >&"$fd"
    head -c 4096 /dev/urandom >&"$fd"
    long >&"$fd"
    printf '\nprogress 7\n' >&"$fd"
    long >&"$fd" # the last line has no newline
    exit 0
    ;;
flood)
    head -c 52428800 /dev/zero
    head -c 1000 /dev/zero >&2
    exit 0
    ;;
segv) kill -SEGV $$ ;;
kill9) kill -9 $$ ;;
ignoreterm)
    trap '' TERM
    echo "$$" >"$out/ignoreterm.pid"
    while :; do sleep 0.1; done
    ;;
bgchild)
    sleep 300 &
    echo "$!" >"$out/bgchild.pid"
    exit 0
    ;;
closefd3)
    eval "exec $fd>&-"
    { echo "progress 1" >&"$fd"; } 2>/dev/null
    "$NIGHTSHIFT_BIN" emit progress 1 2>/dev/null
    echo "emit without a report fd exited $?"
    exit 0
    ;;
closedstdout)
    exec >&-
    echo "into the void" 2>/dev/null
    echo "stdout write failed as expected" >&2
    exit 0
    ;;
esac
exit 99
