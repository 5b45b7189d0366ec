# lib.sh - report-protocol helpers for POSIX sh workers (sourced, not run).
#
#   . "$(dirname "$0")/lib.sh"
#   ns_total 1000; ns_progress 250; ns_checkpoint "line=250"
#   ns_log info "starting"; ns_error KEY "message" [PAYLOAD_FILE]
#
# Lines go to the report fd the runtime gave us ($NIGHTSHIFT_REPORT_FD, 3).
# Run by hand without it, they go to stderr so you can read them.
# The same can be done with "$NIGHTSHIFT_BIN" emit ...; these helpers only
# need printf, which keeps a tight loop cheap.

NS_FD=${NIGHTSHIFT_REPORT_FD:-2}
case $NS_FD in '' | *[!0-9]*) NS_FD=2 ;; esac

# ns_line TEXT: one protocol line; embedded newlines would start a new
# message, so they are turned into spaces.
ns_line() {
    printf '%s\n' "$(printf '%s' "$*" | tr '\n\r' '  ')" >&"$NS_FD"
}

ns_total() { printf 'total %d\n' "$1" >&"$NS_FD"; }
ns_progress() { printf 'progress %d\n' "$1" >&"$NS_FD"; }
# Report a checkpoint only once everything before it is durable.
ns_checkpoint() { ns_line "checkpoint $1"; }
ns_log() { ns_line "log $1 $2"; }

# ns_error KEY MESSAGE [PAYLOAD_FILE]: an error record; with a file, its bytes
# travel verbatim as the payload (error/LEN KEY MESSAGE, newline, LEN bytes).
ns_error() {
    _k=$(printf '%s' "${1:--}" | tr -s ' \t\n\r' '____')
    [ -n "$_k" ] || _k=-
    _m=$(printf '%s' "$2" | tr '\n\r' '  ')
    if [ $# -ge 3 ]; then
        _n=$(($(wc -c <"$3")))
        { printf 'error/%d %s %s\n' "$_n" "$_k" "$_m"; cat "$3"; } >&"$NS_FD"
    else
        printf 'error %s %s\n' "$_k" "$_m" >&"$NS_FD"
    fi
}

# ns_die MESSAGE: say why on stderr (the attempt log) and as a log line, exit 2.
ns_die() {
    printf '%s: %s\n' "${0##*/}" "$1" >&2
    ns_log error "$1"
    exit 2
}

# ns_is_uint VALUE: true for a non-empty string of digits.
ns_is_uint() {
    case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

# ns_demo_dir SUB: where the example jobs keep their data and output when no
# -p data=/out= names a place: per user, beside nightshift's database
# ($XDG_STATE_HOME/nightshift/demo/SUB, ~/.local/state/... when unset) - not
# a /tmp path shared by every user and every test.
ns_demo_dir() {
    printf '%s/nightshift/demo/%s\n' "${XDG_STATE_HOME:-$HOME/.local/state}" "$1"
}
