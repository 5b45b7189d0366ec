"""nightshift_emit - report to nightshift from a worker written in Python.

The Python twin of emit.h: copy this file beside your worker (it needs only
the standard library). Each function writes one message to the fd named by
$NIGHTSHIFT_REPORT_FD (docs/protocol.md, nightshift-protocol(7)):

    total N | progress N | checkpoint TOKEN | error KEY MESSAGE |
    error/LEN KEY MESSAGE \\n <LEN payload bytes> \\n | log LEVEL MESSAGE

    import nightshift_emit as ns
    ns.total(1000)
    for i, row in enumerate(rows, 1):
        if bad(row):
            ns.error(row_id, "bad date", payload=raw_bytes)
        if i % 500 == 0:
            flush_output_durably()
            ns.checkpoint(f"row={i}")     # comes back in NIGHTSHIFT_CHECKPOINT
            ns.progress(i)                # the absolute count, not a delta
    ns.log("info", "done")

Outside nightshift (no NIGHTSHIFT_REPORT_FD) every call is a no-op that
returns False, so the same worker runs by hand. An argument the protocol
cannot carry raises ValueError. Each message is one os.write (a line of up
to PIPE_BUF bytes is atomic, as with emit.h).
"""

import os

COUNT_MAX = 10**15  # the most a partition may report
CHECKPOINT_MAX = 4096
PAYLOAD_MAX = 1024 * 1024
LEVELS = ("debug", "info", "warn", "error")


def _fd():
    value = os.environ.get("NIGHTSHIFT_REPORT_FD", "")
    return int(value) if value.isdigit() else None


def _bytes(text):
    return text if isinstance(text, bytes) else str(text).encode("utf-8", "surrogateescape")


def _write(data):
    fd = _fd()
    if fd is None:
        return False
    while data:
        data = data[os.write(fd, data):]
    return True


def _one_line(text):
    """Newlines and CRs would start a new message: they become spaces."""
    return _bytes(text).replace(b"\n", b" ").replace(b"\r", b" ")


def _count(what, n):
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= COUNT_MAX:
        raise ValueError(f"{what} must be a whole number from 0 to {COUNT_MAX}, not {n!r}")
    return _write(b"%s %d\n" % (what.encode(), n))


def total(n):
    """The partition has n items: the denominator of progress and ETA."""
    return _count("total", n)


def progress(n):
    """n items are done in this partition: the absolute count, not a delta."""
    return _count("progress", n)


def checkpoint(token):
    """A resume point, once your output up to it is durable: 1..4096 bytes,
    no newline and no NUL; the next attempt gets it in NIGHTSHIFT_CHECKPOINT."""
    t = _bytes(token)
    if not 0 < len(t) <= CHECKPOINT_MAX or b"\n" in t or b"\0" in t or t.endswith(b"\r"):
        raise ValueError("a checkpoint is 1 to 4096 bytes without a newline or a NUL")
    return _write(b"checkpoint " + t + b"\n")


def error(key, message="", payload=None):
    """One bad input record skipped: key without whitespace (None: none),
    the message, and optionally the raw record (bytes, at most 1 MiB)."""
    k = _bytes(key) if key else b"-"
    if any(c <= 0x20 or c == 0x7F for c in k):
        raise ValueError(f"an error key has no whitespace or control characters: {key!r}")
    msg = _one_line(message)
    if payload is None:
        return _write(b"error " + k + b" " + msg + b"\n")
    p = _bytes(payload)
    if len(p) > PAYLOAD_MAX:
        raise ValueError(f"a payload is at most {PAYLOAD_MAX} bytes, not {len(p)}")
    return _write(b"error/%d " % len(p) + k + b" " + msg + b"\n" + p + b"\n")


def log(level, message):
    """A line for the run's event log; warn and error ones are a failure's cause."""
    if level not in LEVELS:
        raise ValueError(f"a log level is one of {', '.join(LEVELS)}, not {level!r}")
    msg = _one_line(message)
    if b"\0" in msg:
        raise ValueError("a log message holds no NUL")
    return _write(b"log " + level.encode() + b" " + msg + b"\n")
