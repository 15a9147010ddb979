#!/usr/bin/env -S python3 -S
# -S: no site module. These programs need only the standard library, and a
# worker starts one per input file; site, with .pth files that import
# packages, can cost more than the program itself on a small file.
"""Word count reducer.

Reads "key<TAB>value" lines from stdin, sorted so that all lines of one key
are contiguous, and writes one "key<TAB>sum" line per run of equal keys.
The key is everything before the first tab; the value is the integer at the
start of the rest of the line (0 if there is none).  Empty lines are
skipped.  Works on raw bytes, so non-UTF-8 input is handled.
"""
import sys

# Compiled on first use: importing re takes longer than a small reduce.
leading_int = None


def parse_value(raw):
    # int() is the fast path; it also takes "1_000", which the rule below
    # reads as 1, so such values go the slow way.
    if b"_" not in raw:
        try:
            return int(raw)
        except ValueError:
            pass
    global leading_int
    if leading_int is None:
        import re

        leading_int = re.compile(rb"[ \t\r\n\v\f]*([+-]?[0-9]+)")
    match = leading_int.match(raw)
    return int(match.group(1)) if match else 0


def main():
    # Buffered whatever PYTHONUNBUFFERED says.
    out = open(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False)
    current = None
    total = 0
    for line in sys.stdin.buffer:
        if line.endswith(b"\n"):
            line = line[:-1]
        if not line:
            continue
        key, _, value = line.partition(b"\t")
        if key != current:
            if current is not None:
                out.write(current + b"\t" + str(total).encode() + b"\n")
            current = key
            total = 0
        total += parse_value(value)
    if current is not None:
        out.write(current + b"\t" + str(total).encode() + b"\n")
    out.flush()


if __name__ == "__main__":
    main()
