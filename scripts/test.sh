#!/usr/bin/env bash
# The project's tests: formatting, vet, every test with the race detector,
# and a short chaos repeat. CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  echo "NOTE: no Chromium here: the status page's browser tests (TestStatusPageBrowser, TestJobPageBrowser) will be skipped."
fi
go test -race -count=1 ./...
# Fuzz budgets are counts, not durations: a duration races Go's fuzz
# coordinator at its end on a loaded machine and fails with a bare "context
# deadline exceeded" (golang/go#75804, fixed in Go 1.27).
go test -run "^$" -fuzz 'FuzzDecode$' -fuzztime "${FUZZ_EXECS:-200000x}" ./protocol
go test -run "^$" -fuzz 'FuzzAuthOpen$' -fuzztime "${FUZZ_EXECS:-200000x}" ./protocol
scripts/chaos.sh "${CHAOS_RUNS:-3}"
