#!/usr/bin/env -S python3 -S
# -S: no site module. These programs need only the standard library, and a
# worker starts one per input file; site, with .pth files that import
# packages, can cost more than the program itself on a small file.
"""Distributed grep reducer.

Reads "line<TAB>count" records, sorted so that equal lines are contiguous,
and prints "line<TAB>total" for each distinct matching line, i.e. how many
times that exact line occurred in the input.  The key is everything before
the LAST tab, so matched lines that themselves contain tabs are kept whole.
Works on raw bytes.
"""
import re
import sys

LEADING_INT = re.compile(rb"[ \t\r\n\v\f]*([+-]?[0-9]+)")


def parse_value(raw):
    match = LEADING_INT.match(raw)
    return int(match.group(1)) if match else 0


def main():
    out = sys.stdout.buffer
    current = None
    total = 0
    for line in sys.stdin.buffer:
        if line.endswith(b"\n"):
            line = line[:-1]
        if not line:
            continue
        key, sep, value = line.rpartition(b"\t")
        if not sep:
            # No tab at all: treat the whole line as the key with count 0.
            key, value = value, b""
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
