#!/bin/sh
# payloads.sh DIR - for each file F in DIR (sorted), reports
#   error/LEN raw-F <message> + the bytes of F   (raw framing on fd 3)
#   emit error emit-F <message> --payload-file F (the emit subcommand)
# The message of the raw record of a file named "osc" carries an OSC title
# sequence, so the text listing's escaping can be checked.
set -eu
dir=$1
fd=${NIGHTSHIFT_REPORT_FD:?}
for f in "$dir"/*; do
    name=$(basename "$f")
    len=$(wc -c <"$f")
    len=$((len + 0))
    msg="bad record at offset $len"
    [ "$name" = osc ] && msg=$(printf 'title \033]0;pwned\007 here')
    { printf 'error/%d raw-%s %s\n' "$len" "$name" "$msg"; cat "$f"; } >&"$fd"
    n=$((${n:-0} + 1))
    "$NIGHTSHIFT_BIN" emit error "emit-$name" "checksum 0x$(printf %04x $((n * 4099)))" mismatch in record "$n" --payload-file "$f"
done
# something after the payloads, so framing errors would show up as malformed lines
echo "progress 1" >&"$fd"
