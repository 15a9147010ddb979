#!/usr/bin/env bash
# Runs the chaos scenarios (TestChaos, whose subtests play it without and
# with a combiner and through the shuffle, and TestChaosReferenceWorkers,
# reference-only workers frozen, killed and timed out) N times, each with a
# new random seed for which worker dies or freezes and when, and how long a
# connection flood holds the master; it prints "N passed, M failed" as its
# last line. A failed run's seed is printed; rerun it with
#   CHAOS_SEED=SEED go test -race -run 'TestChaos$|TestChaosReferenceWorkers' ./internal/e2e
# Usage: scripts/chaos.sh [N]   (default 10)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go test -race -c -o "$bin/e2e.test" ./internal/e2e || exit 1

passed=0 failed=0
for i in $(seq "$runs"); do
  seed=$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')
  if (cd internal/e2e && CHAOS_SEED=$seed "$bin/e2e.test" -test.run '^TestChaos$|^TestChaosReferenceWorkers$' -test.count=1 >"$bin/run.log" 2>&1); then
    passed=$((passed + 1))
    echo "run $i: ok (seed $seed)"
  else
    failed=$((failed + 1))
    echo "run $i: FAILED (seed $seed); last lines:"
    grep -v '^{' "$bin/run.log" | tail -20
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
