#!/usr/bin/env python3
"""Word count mapper.

Reads text from stdin and writes one "word<TAB>1" line per
whitespace-separated word.  Works on raw bytes so input that is not valid
UTF-8 passes through unchanged.  "Whitespace" is the ASCII set used by
bytes.split(): space, \\t, \\n, \\r, \\v and \\f.
"""
import sys


def main():
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        for word in line.split():
            out.write(word + b"\t1\n")
    out.flush()


if __name__ == "__main__":
    main()
