#!/usr/bin/env bash
# End to end on a fresh machine: build, start a master and two workers, run
# the sample word count, and compare its output with the truth pipeline
#   cat input/* | map | sort | reduce
# Prints PASS or FAIL and exits accordingly. Ports, as start.sh takes them:
# MASTER_PORT (6000, and its heartbeats on 5999), WORKER_PORTS ("6001 6002"),
# HTTP_PORT (8080); start.sh refuses, naming them, any that is busy.
set -euo pipefail
cd "$(dirname "$0")/.."

export MASTER_PORT=${MASTER_PORT:-6000}
MAPPER=exec/word_count/map.py
REDUCER=exec/word_count/reduce.py
OUT=output

# Shut down only a cluster this script started: if start.sh refused (a port
# in use), the cluster on it is someone else's.
started=
cleanup() { [ -z "$started" ] || bin/sendjob --shutdown "$MASTER_PORT" 2>/dev/null || true; }
trap cleanup EXIT

./start.sh
started=1
rm -rf "$OUT"
bin/sendjob --wait --timeout 2m --input-directory input --output-directory "$OUT" \
  --mapper-executable "$MAPPER" --reducer-executable "$REDUCER" \
  --num-mappers 4 --num-reducers 2 "$MASTER_PORT"

cat input/* | "$MAPPER" | LC_ALL=C sort | "$REDUCER" | LC_ALL=C sort > truth.txt
cat "$OUT"/* | LC_ALL=C sort > test.txt
if diff -u truth.txt test.txt; then
  echo "PASS: $(wc -l < test.txt) lines in $OUT/ match the truth pipeline"
else
  echo "FAIL: $OUT/ differs from the truth pipeline (diff above)"
  exit 1
fi
