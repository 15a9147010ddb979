#!/usr/bin/env -S python3 -S
# -S: no site module. These programs need only the standard library, and a
# worker starts one per input file; site, with .pth files that import
# packages, can cost more than the program itself on a small file.
"""Distributed grep mapper.

Prints "line<TAB>1" for every line of stdin that matches the regular
expression in the environment variable GREP_PATTERN (default: "the").
The match is a case-sensitive re.search() over the raw bytes of the line
(without its trailing newline), so the pattern may match anywhere in the
line, e.g. "the" also matches "other".  Non-UTF-8 input is handled.
"""
import os
import re
import sys

DEFAULT_PATTERN = b"the"


def main():
    raw_pattern = os.environb.get(b"GREP_PATTERN", DEFAULT_PATTERN)
    try:
        pattern = re.compile(raw_pattern)
    except re.error as err:
        sys.stderr.write("grep map: bad GREP_PATTERN: %s\n" % err)
        sys.exit(2)
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        if line.endswith(b"\n"):
            line = line[:-1]
        if pattern.search(line):
            out.write(line + b"\t1\n")
    out.flush()


if __name__ == "__main__":
    main()
