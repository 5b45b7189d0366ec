#!/usr/bin/env python3
"""count.py - the example worker in Python (configs/python.yaml): counts the
lines of one generated input file, reporting with nightshift_emit.py (the
helper installed beside emit.h). Lines that are not numbers are skipped as
error records with the raw line as payload; it checkpoints every 100 lines
and resumes from $NIGHTSHIFT_CHECKPOINT.

usage: count.py LINES OUT_DIR
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside an installed helper
here = os.path.dirname(os.path.abspath(__file__))
# Where nightshift_emit.py is: beside this file, in the source tree, or
# installed ($PREFIX/include/nightshift, the examples in $PREFIX/share/nightshift).
sys.path[:0] = [here] + [os.path.join(here, *[".."] * up, "include", "nightshift") for up in (2, 4)]
import nightshift_emit as ns  # noqa: E402

lines, out = int(sys.argv[1]), sys.argv[2]
if not out:  # per user, beside nightshift's database (workers/lib.sh's ns_demo_dir)
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    out = os.path.join(state, "nightshift", "demo", "python")
key = os.environ.get("NIGHTSHIFT_PARTITION_KEY", "x")
token = os.environ.get("NIGHTSHIFT_CHECKPOINT", "")  # empty on a first attempt
start = int(token.split("=")[1]) if token.startswith("row=") else 0
os.makedirs(out, exist_ok=True)
ns.total(lines)
ns.log("info", f"partition {key}: from row {start}")
total_sum = bad = 0
for i in range(start + 1, lines + 1):
    raw = b"n/a\x00\xff" if i % 97 == 0 else str(i).encode()
    if not raw.isdigit():
        ns.error(f"row-{i}", "not a number", payload=raw)
        bad += 1
    else:
        total_sum += int(raw)
    if i % 100 == 0 or i == lines:
        ns.checkpoint(f"row={i}")
        ns.progress(i)
with open(os.path.join(out, f"{key}.sum"), "w") as f:
    f.write(f"{total_sum}\n")
if bad:
    ns.log("warn", f"partition {key}: {bad} rows were not numbers")
ns.log("info", f"partition {key}: done")
