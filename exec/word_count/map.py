#!/usr/bin/env -S python3 -S
# -S: no site module. These programs need only the standard library, and a
# worker starts one per input file; site, with .pth files that import
# packages, can cost more than the program itself on a small file.
"""Word count mapper.

Reads text from stdin and writes one "word<TAB>1" line per
whitespace-separated word.  Works on raw bytes so input that is not valid
UTF-8 passes through unchanged.  "Whitespace" is the ASCII set used by
bytes.split(): space, \\t, \\n, \\r, \\v and \\f.
"""
import sys


def main():
    # Buffered whatever PYTHONUNBUFFERED says: one write per word would be a
    # system call per word.
    out = open(sys.stdout.fileno(), "wb", buffering=1 << 16, closefd=False)
    for line in sys.stdin.buffer:
        words = line.split()
        if words:
            out.write(b"\t1\n".join(words) + b"\t1\n")
    out.flush()


if __name__ == "__main__":
    main()
