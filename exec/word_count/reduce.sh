#!/usr/bin/env bash
# Word count reducer (bash/awk version of reduce.py).
# Reads "key<TAB>value" lines with equal keys contiguous and prints
# "key<TAB>sum" for each run of equal keys.  The key is the text before the
# first tab; empty lines are skipped.
set -euo pipefail
export LC_ALL=C

awk -F '\t' '
$0 == "" { next }
{
    key = $1
    value = substr($0, length(key) + 2) + 0
    if (have && key == current) {
        total += value
    } else {
        if (have) printf "%s\t%d\n", current, total
        current = key
        total = value
        have = 1
    }
}
END { if (have) printf "%s\t%d\n", current, total }
'
