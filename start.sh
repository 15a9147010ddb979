#!/usr/bin/env bash
# Builds the binaries into bin/, starts a master and two workers in the
# background, and returns once both workers have registered.
#   MASTER_PORT (6000), WORKER_PORTS ("6001 6002"), HTTP_PORT (8080) for the
#   status page, LOG_DIR (logs) override.
# Logs go to $LOG_DIR; the master's var/ is ./var. Stop everything with
#   bin/sendjob --shutdown "$MASTER_PORT"
set -euo pipefail
cd "$(dirname "$0")"

MASTER_PORT=${MASTER_PORT:-6000}
WORKER_PORTS=${WORKER_PORTS:-"6001 6002"}
HTTP_PORT=${HTTP_PORT:-8080}
LOG_DIR=${LOG_DIR:-logs}

go build -o bin/ ./master ./worker ./sendjob
mkdir -p "$LOG_DIR"

# On any failure below, stop what was started.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' ERR

bin/master --log-format json --http "localhost:$HTTP_PORT" "$MASTER_PORT" 2>"$LOG_DIR/master.log" &
pids+=($!)
echo "master pid $! on port $MASTER_PORT (log $LOG_DIR/master.log)"
echo "status page: http://localhost:$HTTP_PORT/"

# Wait for the master to answer before starting workers.
for _ in $(seq 100); do
  bin/sendjob --status "$MASTER_PORT" >/dev/null 2>&1 && break
  sleep 0.1
done
bin/sendjob --status "$MASTER_PORT" >/dev/null

n=0
for port in $WORKER_PORTS; do
  bin/worker --log-format json "$MASTER_PORT" "$port" 2>"$LOG_DIR/worker-$port.log" &
  pids+=($!)
  echo "worker pid $! on port $port (log $LOG_DIR/worker-$port.log)"
  n=$((n + 1))
done

# Wait until every worker is registered and alive.
for _ in $(seq 100); do
  live=$(bin/sendjob --status "$MASTER_PORT" | awk '$3 == "ready" || $3 == "busy"' | wc -l)
  if [ "$live" -ge "$n" ]; then
    echo "all $n workers registered"
    exit 0
  fi
  sleep 0.1
done
echo "start.sh: only $live of $n workers registered; see $LOG_DIR/" >&2
kill "${pids[@]}" 2>/dev/null
exit 1
