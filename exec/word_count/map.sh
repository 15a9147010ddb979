#!/usr/bin/env bash
# Word count mapper (bash/awk version of map.py).
# Prints "word<TAB>1" for every whitespace-separated word on stdin.
# \r, \v and \f are turned into spaces first so that the word splitting
# matches Python's bytes.split() (space, \t, \n, \r, \v, \f).
set -euo pipefail
export LC_ALL=C

tr '\r\v\f' '   ' | awk '{ for (i = 1; i <= NF; i++) printf "%s\t1\n", $i }'
