#!/bin/sh
# changing.sh KEY BROKEN OUT [EXTRA...] - exit 2 for KEY = BROKEN unless
# OUT/fixed exists; records "KEY ATTEMPT ARGS" in OUT/ran.
key=$1 broken=$2 out=$3
echo "$key $NIGHTSHIFT_ATTEMPT $*" >>"$out/ran"
if [ "$key" = "$broken" ] && [ ! -e "$out/fixed" ]; then
    echo "cannot process $key" >&2
    exit 2
fi
exit 0
