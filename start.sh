#!/usr/bin/env bash
# Builds the binaries into bin/, starts a master and two workers in the
# background, and returns once both workers have registered.
#   MASTER_PORT (6000), WORKER_PORTS ("6001 6002"), HTTP_PORT (8080) for the
#   status page, LOG_DIR (logs) override.
# Every message is authenticated with the secret in .mapreduce-secret (made
# here, mode 0600, if missing; $MAPREDUCE_SECRET_FILE names another), which
# bin/sendjob finds by itself.
# Logs are appended to in $LOG_DIR; the master's var/ is ./var. Every port
# (the master's TCP port and PORT-1 for UDP heartbeats, the workers', the
# status page's) must be free, or nothing starts and it exits 1 naming the
# port. Stop everything with
#   bin/sendjob --shutdown "$MASTER_PORT"
set -euo pipefail
cd "$(dirname "$0")"

MASTER_PORT=${MASTER_PORT:-6000}
WORKER_PORTS=${WORKER_PORTS:-"6001 6002"}
HTTP_PORT=${HTTP_PORT:-8080}
LOG_DIR=${LOG_DIR:-logs}

# Every port this cluster needs must be free before anything starts: a
# master that cannot bind dies quietly in its log, and workers would join
# whatever cluster holds the port. A TCP port is free when it can be
# listened on as our programs listen (Go sets SO_REUSEADDR): one whose only
# sockets are in TIME-WAIT, left by a cluster just stopped, is free; one
# with a listener is not.
busy=$(python3 - "$MASTER_PORT" "$HTTP_PORT" $WORKER_PORTS <<'EOF_PY'
import socket, sys
master, http, workers = int(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
needs = [("tcp", master, "the master's port (MASTER_PORT)"),
         ("udp", master - 1, "the master's heartbeat port (MASTER_PORT-1, UDP)"),
         ("tcp", http, "the status page (HTTP_PORT)")]
needs += [("tcp", p, "a worker's port (WORKER_PORTS)") for p in workers]
for proto, port, what in needs:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    try:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        if proto == "tcp":
            s.listen()
    except OSError as e:
        print(f"port {port} ({what}) is in use: {e.strerror}")
    finally:
        s.close()
EOF_PY
)
if [ -n "$busy" ]; then
  echo "start.sh: nothing started:" >&2
  echo "$busy" | sed 's/^/  /' >&2
  echo "  Another cluster may be running; choose other ports with MASTER_PORT, WORKER_PORTS and HTTP_PORT." >&2
  exit 1
fi

go build -o bin/ ./master ./worker ./sendjob
mkdir -p "$LOG_DIR"

# The cluster's shared secret: 256 random bits, readable by this user only.
SECRET_FILE=${MAPREDUCE_SECRET_FILE:-.mapreduce-secret}
if [ ! -e "$SECRET_FILE" ]; then
  # mktemp makes a new file of mode 0600 that no one else made first; mv -n
  # keeps a secret another start made meanwhile.
  tmp=$(mktemp "$SECRET_FILE.XXXXXX")
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp" && mv -n "$tmp" "$SECRET_FILE"
  rm -f "$tmp"
  echo "made a secret in $SECRET_FILE"
fi
auth=(--secret-file "$SECRET_FILE")

# On any failure below, stop what was started.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null' ERR

# Logs are appended to, so that an earlier run's stay readable. They are
# this user's alone: the master's holds the status page's token.
for f in "$LOG_DIR/master.log" $(for port in $WORKER_PORTS; do echo "$LOG_DIR/worker-$port.log"; done); do
  (umask 077 && echo "{\"message\":\"--- start.sh at $(date -Is) ---\"}" >>"$f")
  chmod 600 "$f"
done
# The processes' output goes to their logs, and their stdin is /dev/null:
# they must not hold this script's stdout, or `./start.sh | tee log` would
# wait for them to exit.
bin/master "${auth[@]}" --log-format json --http "localhost:$HTTP_PORT" "$MASTER_PORT" </dev/null >>"$LOG_DIR/master.log" 2>&1 &
master=$!
pids+=($master)
echo "master pid $! on port $MASTER_PORT (log $LOG_DIR/master.log)"

# Wait for our master to answer before starting workers; if it died (a port
# taken meanwhile), say so rather than talk to whoever answers.
for _ in $(seq 100); do
  kill -0 "$master" 2>/dev/null || { echo "start.sh: the master exited; see $LOG_DIR/master.log" >&2; tail -3 "$LOG_DIR/master.log" >&2; exit 1; }
  bin/sendjob "${auth[@]}" --status "$MASTER_PORT" >/dev/null 2>&1 && break
  sleep 0.1
done
bin/sendjob "${auth[@]}" --status "$MASTER_PORT" >/dev/null
# The page's address with its token, as the master logged it.
echo "status page: $(grep -o '"addr":"http://[^"]*' "$LOG_DIR/master.log" | tail -1 | cut -d'"' -f4)"

n=0
for port in $WORKER_PORTS; do
  bin/worker "${auth[@]}" --log-format json "$MASTER_PORT" "$port" </dev/null >>"$LOG_DIR/worker-$port.log" 2>&1 &
  pids+=($!)
  echo "worker pid $! on port $port (log $LOG_DIR/worker-$port.log)"
  n=$((n + 1))
done

# Wait until every worker is registered and alive.
for _ in $(seq 100); do
  live=$(bin/sendjob "${auth[@]}" --status "$MASTER_PORT" | awk '$3 == "ready" || $3 == "busy"' | wc -l)
  if [ "$live" -ge "$n" ]; then
    echo "all $n workers registered"
    exit 0
  fi
  sleep 0.1
done
echo "start.sh: only $live of $n workers registered; see $LOG_DIR/" >&2
kill "${pids[@]}" 2>/dev/null
exit 1
