#!/bin/sh
# hold.sh: a worker for the follow tests of issue 22. Prints nothing until
# the file $HOLD_DIR/$KEY exists, then one line; exits with the number in
# that file (empty: 0).
while [ ! -e "$HOLD_DIR/$KEY" ]; do sleep 0.05; done
echo "$KEY wrote after the hold"
code=$(cat "$HOLD_DIR/$KEY")
exit "${code:-0}"
