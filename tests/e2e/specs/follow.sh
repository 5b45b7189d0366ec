#!/bin/sh
# follow.sh: a worker for the follow tests. Writes a few lines to stdout - an
# escape sequence, a UTF-8 character cut in two writes 0.3 s apart - then
# waits until the file $HOLD exists and writes one more.
echo "line one"
printf 'colour \033[31mred\033[0m\n'
printf 'caf\303'
sleep 0.3
printf '\251 split\n'
while [ ! -e "$HOLD" ]; do sleep 0.05; done
echo "line after hold"
