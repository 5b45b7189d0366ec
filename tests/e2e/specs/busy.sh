#!/bin/sh
# busy.sh: a worker for the counters test of issue 22. Key "busy" reports
# progress every 10 ms until $DIR/stop exists (it keeps the runtime's loop
# turning); keys a* fail with exit 3 and keys b* with exit 4 while $DIR/fail
# exists, and otherwise wait for $DIR/stop and succeed.
case $NIGHTSHIFT_PARTITION_KEY in
busy)
    i=0
    while [ ! -e "$DIR/stop" ]; do
        i=$((i + 1))
        echo "progress $i" >&3
        sleep 0.01
    done ;;
a*) [ -e "$DIR/fail" ] && { echo "cause A" >&2; exit 3; } ;;
b*) [ -e "$DIR/fail" ] && { echo "cause B" >&2; exit 4; } ;;
esac
while [ ! -e "$DIR/stop" ]; do sleep 0.05; done
