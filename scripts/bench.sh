#!/usr/bin/env bash
# Benchmarks word count on generated text: the truth pipeline
#   cat input/* | map.py | LC_ALL=C sort | reduce.py
# against a job on a master and two workers running the same executables.
# Checks that both give the same counts and prints the times, the job's
# phases, the 2-core floor (the mapper's and reducer's own CPU time over
# the cores), a `sort -S 1G` baseline for the group phase and peak memory.
#
#   scripts/bench.sh [SIZE]       SIZE of the input: 100M (default), 1G, ...
#   scripts/bench.sh recover      a master's start on a journal of 10,000
#                                 ended jobs (BenchmarkRecover10000Jobs)
#   scripts/bench.sh shapes       three shapes of input, one after the other:
#                                 1000 files of 5 KB, one 32 MB file, 100M
#                                 in 64 files; a summary line each at the end
#
# Environment: ROUNDS (1), how many times to run the whole benchmark, with
# the median job/floor at the end (runs on a shared machine vary by
# 10-20%); BENCH_DIR (/tmp/mapreduce-bench) scratch directory;
# MASTER_PORT (6100) and WORKER_PORTS ("6101 6102"); NUM_MAPPERS (8) and
# NUM_REDUCERS (4); COMBINER, a combiner executable for the job (not used if
# unset); FILES (64) and SEED (1) for the input; WORKER_FLAGS, flags for the
# workers (--shuffle=false for the reference path; PORT in them stands for
# each worker's port: --cpuprofile /tmp/cpu-PORT); MASTER_FLAGS, flags for
# the master (--cpuprofile /tmp/cpu-master); JOB_FLAGS, flags added to
# the job's sendjob (--split-per-file for a map process per file); MAPPER and
# REDUCER, the job's programs (word count's by default; /bin/cat for an
# identity job).
#
# The input goes to $BENCH_DIR/input-SIZE and is reused while the generator
# and its flags are unchanged (see input-SIZE.stamp). Everything else of a
# run (the master's var/, output/, logs, truth.txt) is in $BENCH_DIR/run-SIZE,
# wiped at the start of the run. Exits 1 if the job's output differs from the
# truth pipeline's.
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
repo=$PWD

if [ "${1:-}" = recover ]; then
  # A master's start on a journal of 10,000 ended jobs: read, replayed and
  # rebuilt into its scheduler (the README's figure; target: under 1 s).
  exec go test -run '^$' -bench BenchmarkRecover10000Jobs -benchtime 5x ./internal/scheduler
fi
if [ "${1:-}" = shapes ]; then
  summary=()
  for shape in "5000K 1000" "32M 1" "100M 64"; do
    read -r shape_size shape_files <<<"$shape"
    FILES=$shape_files "$0" "$shape_size" | tee /dev/stderr >"${TMPDIR:-/tmp}/bench-shape.$$"
    summary+=("$(tail -n 1 "${TMPDIR:-/tmp}/bench-shape.$$")")
  done
  rm -f "${TMPDIR:-/tmp}/bench-shape.$$"
  printf '%s\n' "${summary[@]}"
  exit 0
fi

if [ "${ROUNDS:-1}" -gt 1 ]; then
  # ROUNDS runs of the whole benchmark, one after the other (each measures
  # its own pipeline, floor and job: the ratios pair measurements made
  # minutes apart at most); each round's summary, then the median job/floor.
  summary=()
  for _ in $(seq "$ROUNDS"); do
    ROUNDS=1 "$0" "$@" | tee /dev/stderr >"${TMPDIR:-/tmp}/bench-round.$$"
    summary+=("$(tail -n 1 "${TMPDIR:-/tmp}/bench-round.$$")")
  done
  rm -f "${TMPDIR:-/tmp}/bench-round.$$"
  printf '%s\n' "${summary[@]}"
  # median_of WHAT SED: the median, least and most of the number SED
  # finds in each round's summary.
  median_of() {
    printf '%s\n' "${summary[@]}" | sed -n "$2" | sort -n |
      awk -v what="$1" '{ v[NR] = $1 } END { if (NR) printf "%s over %d rounds: median %s, least %s, most %s\n", what, NR, v[int((NR + 1) / 2)], v[1], v[NR] }'
  }
  median_of "job/floor" 's/.*job\/floor \([0-9.]*\)).*/\1/p'
  # What the machine allowed: the programs alone, two at a time, against
  # the floor (which takes them to scale perfectly over the cores). Rounds
  # in which this is high measured a busy host more than the job.
  median_of "programs side by side/floor" 's/.*programs side by side \([0-9.]*\) of the floor.*/\1/p'
  exit 0
fi

size=${1:-100M}
bench_dir=${BENCH_DIR:-/tmp/mapreduce-bench}
master_port=${MASTER_PORT:-6100}
worker_ports=${WORKER_PORTS:-"6101 6102"}
num_mappers=${NUM_MAPPERS:-8}
num_reducers=${NUM_REDUCERS:-4}
combiner=${COMBINER:-}
mapper=${MAPPER:-$repo/exec/word_count/map.py}
reducer=${REDUCER:-$repo/exec/word_count/reduce.py}
sendjob=$repo/bin/sendjob

if ! [[ $size =~ ^[0-9]+[KMGkmg]?$ ]]; then
  echo "usage: scripts/bench.sh [SIZE]   (SIZE like 100M or 1G)" >&2
  exit 2
fi
# A combiner given as a relative path is relative to where we were started.
if [[ $combiner == */* && $combiner != /* ]]; then
  combiner=$caller_dir/$combiner
fi

# A pyenv shim in front of python3 (as on this project's machines) costs
# about 80 ms a start: the pipeline pays it twice, the workers once per input
# file. Put the interpreter itself first on PATH, for both sides (the workers
# inherit our environment), so that the benchmark measures the server.
PATH="$(dirname "$(python3 -c 'import sys; print(sys.executable)')"):$PATH"
export PATH

now() { date +%s.%N; }
# seconds_since T0: the seconds from T0 to now, to 1/100 s.
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# ms_since T0: the milliseconds from T0 to now.
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# ratio A B: A/B to 1/100.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# peak_rss PID: the process's peak resident memory (VmHWM), in MiB.
peak_rss() { awk '/^VmHWM:/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$1/status"; }
# cpu_ticks PID: the process's own CPU time and that of its children it has
# waited for (utime stime cutime cstime), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15, $16 + $17 }' "/proc/$1/stat"; }
# running PID...: whether any of the processes runs (a zombie does not).
running() {
  local pid state
  for pid in "$@"; do
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != Z ] && return 0
  done
  return 1
}
# show NAME VALUE: one aligned line of the report.
show() { printf '%-32s %s\n' "$1:" "$2"; }

echo "building bin/" >&2
go build -o bin/ ./master ./worker ./sendjob

# --- Input, generated once per size and flags -------------------------------
files=${FILES:-64}
input=$bench_dir/input-$size
[ "$files" = 64 ] || input=$input-x$files
gen_flags=(--bytes "$size" --files "$files" --seed "${SEED:-1}")
stamp="gentext ${gen_flags[*]} $(sha256sum internal/gentext/main.go | cut -c1-16)"
mkdir -p "$bench_dir"
if [ "$(cat "$input.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "generating $size of input in $input" >&2
  rm -rf "$input" "$input.stamp"
  go run ./internal/gentext --out "$input" "${gen_flags[@]}"
  echo "$stamp" >"$input.stamp"
else
  echo "reusing the input in $input" >&2
fi
input_bytes=$(stat -c %s "$input"/* | awk '{ n += $1 } END { print n }')
input_files=$(ls "$input" | wc -l)

run=$bench_dir/run-$(basename "$input" | sed 's/^input-//')
rm -rf "$run"
mkdir -p "$run"
cd "$run"

# --- The truth pipeline ---------------------------------------------------
echo "running the truth pipeline" >&2
t0=$(now)
cat "$input"/* | "$mapper" | LC_ALL=C sort | "$reducer" >truth.txt
pipeline_wall=$(seconds_since "$t0")

# --- The 2-core floor -----------------------------------------------------
# The programs' own CPU time: the mapper over all the input, the reducer
# over all its sorted output, each run once on its own; over the cores, no
# job can take less.
# cpu_seconds IN OUT CMD...: runs CMD with stdin IN and stdout OUT and
# prints its CPU time (user + system, its children's included) in seconds.
cpu_seconds() {
  local in=$1 out=$2
  shift 2
  ("$@" <"$in" >"$out"; times) | awk 'NR == 2 {
    split($0, t, /[ ms]+/); printf "%.2f", t[1] * 60 + t[2] + t[3] * 60 + t[4] }'
}
echo "measuring the programs' CPU time for the floor" >&2
map_cpu=$(cpu_seconds <(cat "$input"/*) map.out "$mapper")
LC_ALL=C sort map.out >map.sorted
reduce_cpu=$(cpu_seconds map.sorted /dev/null "$reducer")
cores=$(nproc)
floor=$(awk -v m="$map_cpu" -v r="$reduce_cpu" -v c="$cores" 'BEGIN { printf "%.2f", (m + r) / c }')

# --- The programs side by side ----------------------------------------------
# The floor takes the cores to scale perfectly. How near this machine
# comes: the mapper over the input cut in one part per core, the parts run
# side by side, then the reducer likewise over the sorted map output; the
# wall time of both. No job's programs can run better than this (it has no
# interpreter starts beyond one per core and stage, and no work of ours).
echo "running the programs side by side, one per core" >&2
# side_by_side FILE CMD: CMD over FILE cut at line ends into $cores parts,
# all at once; prints the wall time.
side_by_side() {
  local file=$1 cmd=$2 t part
  rm -f part-*
  split -n "l/$cores" "$file" part-
  t=$(now)
  for part in part-*; do "$cmd" <"$part" >/dev/null & done
  wait
  seconds_since "$t"
  rm -f part-*
}
cat "$input"/* >input.all
side_wall=$(awk -v a="$(side_by_side input.all "$mapper")" -v b="$(side_by_side map.sorted "$reducer")" 'BEGIN { printf "%.2f", a + b }')
rm input.all map.out map.sorted

# --- The cluster ----------------------------------------------------------
master_pid=
worker_pids=()

# stop_cluster shuts down our master (and through it the workers), and
# kills whatever of ours is still running after 5 seconds.
stop_cluster() {
  [ -n "$master_pid" ] || return 0
  if running "$master_pid"; then
    "$sendjob" --shutdown "$master_port" 2>/dev/null || true
  fi
  for _ in $(seq 50); do
    running "$master_pid" "${worker_pids[@]}" || break
    sleep 0.1
  done
  kill "$master_pid" "${worker_pids[@]}" 2>/dev/null || true
  wait "$master_pid" "${worker_pids[@]}" 2>/dev/null || true
  master_pid=
}
trap stop_cluster EXIT

# count_live: how many workers the master lists as ready or busy.
count_live() {
  "$sendjob" --status "$master_port" 2>/dev/null | awk '$3 == "ready" || $3 == "busy"' | wc -l
}

if "$sendjob" --status "$master_port" >/dev/null 2>&1; then
  echo "bench.sh: something already answers on port $master_port; set MASTER_PORT" >&2
  exit 1
fi
echo "starting a master on $master_port and workers on $worker_ports in $run" >&2
# --keep-intermediates: the group baseline below reads the map outputs in var/.
"$repo/bin/master" --log-format json --keep-intermediates ${MASTER_FLAGS:-} "$master_port" 2>master.log &
master_pid=$!
for _ in $(seq 100); do
  "$sendjob" --status "$master_port" >/dev/null 2>&1 && break
  running "$master_pid" || { tail master.log >&2; exit 1; }
  sleep 0.1
done
for port in $worker_ports; do
  # --keep-intermediates: with --shuffle, the group baseline below reads
  # the runs the map tasks kept.
  flags=${WORKER_FLAGS:-}
  "$repo/bin/worker" --log-format json --local-dir "$run/local-$port" --keep-intermediates ${flags//PORT/$port} \
    "$master_port" "$port" 2>"worker-$port.log" &
  worker_pids+=($!)
done
for _ in $(seq 100); do
  [ "$(count_live)" -ge "${#worker_pids[@]}" ] && break
  sleep 0.1
done
if [ "$(count_live)" -lt "${#worker_pids[@]}" ]; then
  echo "bench.sh: not every worker registered; see $run/*.log" >&2
  exit 1
fi

# --- The job --------------------------------------------------------------
job_args=(--wait --num-mappers "$num_mappers" --num-reducers "$num_reducers"
  --input-directory "$input" --output-directory "$run/output"
  --mapper-executable "$mapper" --reducer-executable "$reducer")
if [ -n "$combiner" ]; then
  job_args+=(--combiner-executable "$combiner")
fi
# shellcheck disable=SC2206 # flags split on blanks, as on a command line
job_args+=(${JOB_FLAGS:-})
echo "running the job: sendjob ${job_args[*]} $master_port" >&2
# The CPU time of the job: the master's, the workers' own, and their
# programs' (children a worker has waited for), from before to after it.
declare -A ticks_before
for pid in "$master_pid" "${worker_pids[@]}"; do
  ticks_before[$pid]=$(cpu_ticks "$pid")
done
# busy_ticks: the machine's busy CPU time since boot, all processes and the
# kernel's own threads (writeback, for one), and the time the host took
# from this virtual machine's CPUs (steal), in clock ticks.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat; }
read -r busy_before steal_before <<<"$(busy_ticks)"
t0=$(now)
if ! "$sendjob" "${job_args[@]}" "$master_port" >sendjob.log 2>&1; then
  cat sendjob.log >&2
  exit 1
fi
job_wall=$(seconds_since "$t0")
read -r busy_after steal_after <<<"$(busy_ticks)"
hz=$(getconf CLK_TCK)
cpu_master=0 cpu_workers=0 cpu_programs=0
for pid in "$master_pid" "${worker_pids[@]}"; do
  read -r own0 kids0 <<<"${ticks_before[$pid]}"
  read -r own1 kids1 <<<"$(cpu_ticks "$pid")"
  if [ "$pid" = "$master_pid" ]; then
    cpu_master=$((own1 - own0))
  else
    cpu_workers=$((cpu_workers + own1 - own0))
    cpu_programs=$((cpu_programs + kids1 - kids0))
  fi
done
# job_cpu: "programs P s + workers W s + master M s = T s, U of the cores".
job_cpu=$(awk -v p="$cpu_programs" -v w="$cpu_workers" -v m="$cpu_master" -v hz="$hz" \
  -v wall="$job_wall" -v c="$(nproc)" 'BEGIN {
    t = (p + w + m) / hz
    printf "programs %.2f s + workers %.2f s + master %.2f s = %.2f s; %.0f%% of %d cores over the job",
      p / hz, w / hz, m / hz, t, (wall > 0 ? 100 * t / (wall * c) : 0), c }')
# What else kept the machine busy meanwhile: the kernel's threads (writing
# dirty pages back, for one) and anything else that ran.
# The host's steal is time the job wanted the CPUs and did not get them.
machine_cpu=$(awk -v b="$((busy_after - busy_before))" -v p="$cpu_programs" -v w="$cpu_workers" -v m="$cpu_master" \
  -v s="$((steal_after - steal_before))" -v hz="$hz" 'BEGIN {
    printf "%.2f s busy, %.2f s of it outside the job'"'"'s processes; %.2f s taken by the host (steal)", b / hz, (b - p - w - m) / hz, s / hz }')
job_id=$(sed -n 's/^job \([0-9]*\) done: output.*/\1/p' sendjob.log)

# Peak memory, now that the job is over and before the shutdown.
master_rss=$(peak_rss "$master_pid")
worker_rss=()
for pid in "${worker_pids[@]}"; do
  worker_rss+=("$(peak_rss "$pid")")
done

# The phases from the master's record of the job: each phase runs from its
# first attempt's start to its last attempt's end; the merge is the gap
# between the last sort (or combine) and the first reduce; the group phase
# runs from the first sort to the first reduce.
"$sendjob" --status --json "$master_port" "$job_id" >job.json
phases=$(python3 - job.json <<'EOF'
import json, re, sys
from datetime import datetime

with open(sys.argv[1]) as f:
    job = json.load(f)["jobs"][0]

def seconds(stamp):
    """Seconds since the epoch of an RFC 3339 time with up to 9 decimals."""
    m = re.fullmatch(r"(.{19})(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    zone = "+00:00" if m[3] == "Z" else m[3]
    return datetime.fromisoformat(m[1] + zone).timestamp() + float("0." + (m[2] or "0"))

# Each phase's first start and last end, in the record's order: map, sort,
# combine (with a combiner), reduce.
span = {}
for t in job["tasks"]:
    for a in t["attempts"]:
        first, last = span.get(t["phase"], (float("inf"), float("-inf")))
        first = min(first, seconds(a["start"]))
        if "end" in a:
            last = max(last, seconds(a["end"]))
        span[t["phase"]] = (first, last)
reduce_start = span["reduce"][0]
# A job that ran the shuffle between workers has no sort phase: its map
# tasks sort, its reduce tasks merge, and the master only chooses the
# reducers' key ranges between the two ("partition").
grouping = [end for n, (_, end) in span.items() if n not in ("map", "reduce")]
for name, (first, last) in span.items():
    if name == "reduce":
        # The merge: from the end of the phases between map and reduce to
        # the first reduce.
        print("merge" if grouping else "partition", "%.2f" % (reduce_start - max(grouping or [span["map"][1]])))
    print(name, "%.2f" % (last - first))
group_start = span["sort"][0] if "sort" in span else span["map"][1]
print("group", "%.2f" % (reduce_start - group_start))
print("shuffled", job.get("counters", {}).get("mapreduce", {}).get("map_output_bytes", 0))
print("master", "%.2f" % (seconds(job["ended"]) - seconds(job["started"])))
EOF
)
declare -A phase
steps=() # the phases and the merge, in order
while read -r name seconds; do
  phase[$name]=$seconds
  case $name in group | master | shuffled) ;; *) steps+=("$name") ;; esac
done <<<"$phases"
# The group phase's parts, e.g. "sort + merge".
group_parts=$(printf '%s\n' "${steps[@]}" | grep -vx 'map\|reduce' | paste -sd+ | sed 's/+/ + /g')

# --- One-file jobs: the fixed cost of a job --------------------------------
# Five jobs over the first sample input file alone (1 mapper, 1 reducer),
# each timed from sendjob's start to its return; the median is reported.
echo "running 5 one-file jobs" >&2
one_file=$(ls -d "$repo"/input/* | head -n 1)
mkdir -p one-file-input
cp "$one_file" one-file-input/
one_file_walls=()
for i in 1 2 3 4 5; do
  t0=$(now)
  "$sendjob" --wait --num-mappers 1 --num-reducers 1 --input-directory "$run/one-file-input" \
    --output-directory "$run/one-file-output-$i" --mapper-executable "$mapper" \
    --reducer-executable "$reducer" "$master_port" >>sendjob.log 2>&1
  one_file_walls+=("$(ms_since "$t0")")
done
one_file_median=$(printf '%s\n' "${one_file_walls[@]}" | sort -n | sed -n 3p)

stop_cluster

# --- The baseline for the group phase: one sort of all the map outputs ------
echo "sorting the map outputs with sort -S 1G" >&2
if [ -n "$(ls -A "var/job-$job_id/mapper-output" 2>/dev/null)" ]; then
  cat "var/job-$job_id/mapper-output"/* >map-outputs.txt
else # the shuffle's runs in the workers' local directories, written out
  # (each is a counted run: records "COUNT LINE", docs/protocol.md)
  LC_ALL=C awk '{ n = $1; sub(/^[0-9]+ /, ""); for (i = 0; i < n; i++) print }' local-*/job-"$job_id"/map-* >map-outputs.txt
fi
t0=$(now)
LC_ALL=C sort -S 1G map-outputs.txt >baseline-sorted.txt
baseline_wall=$(seconds_since "$t0")
rm map-outputs.txt baseline-sorted.txt

# --- The identity job's target: one sort of the same bytes ------------------
# With /bin/cat as mapper and reducer the job is a sort of its input: the
# target (issue 19) is to take at most what GNU sort with both cores takes
# over the same files, and for the outputs, read in order, to equal its.
identity=""
if [ "$(basename "$mapper")" = cat ] && [ "$(basename "$reducer")" = cat ]; then
  echo "sorting the input with sort --parallel=2 -S 1G" >&2
  t0=$(now)
  LC_ALL=C sort --parallel=2 -S 1G "$input"/* >identity-sorted.txt
  identity_wall=$(seconds_since "$t0")
  # The reducers' outputs, input_0 to input_R-1, in that order.
  if for r in $(seq 0 $((num_reducers - 1))); do cat "output/input_$r"; done | cmp -s - identity-sorted.txt; then
    same="the same bytes"
  else
    same="DIFFERENT bytes"
  fi
  rm identity-sorted.txt
  identity="job ${job_wall} s vs ${identity_wall} s for LC_ALL=C sort --parallel=2 -S 1G over the input ($(ratio "$job_wall" "$identity_wall")x); outputs in order: $same"
  [ "$same" = "the same bytes" ] || result=MISMATCH
fi

# --- Check ----------------------------------------------------------------
LC_ALL=C sort truth.txt >truth.sorted
cat output/* | LC_ALL=C sort >test.sorted
if cmp -s truth.sorted test.sorted && [ "${result:-}" != MISMATCH ]; then
  result=MATCH
else
  result=MISMATCH
fi

# --- Report ---------------------------------------------------------------
job_ratio=$(ratio "$job_wall" "$pipeline_wall")
floor_ratio=$(ratio "$floor" "$pipeline_wall")
job_floor=$(ratio "$job_wall" "$floor")
show "machine" "$(nproc) cores, $(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
show "input" "$input_bytes bytes in $input_files files ($size)"
show "job" "$num_mappers mappers, $num_reducers reducers, ${#worker_pids[@]} workers${combiner:+, combiner $combiner}"
show "pipeline wall" "$pipeline_wall s"
show "job wall" "$job_wall s (sendjob start to return; master: ${phase[master]} s)"
show "job/pipeline" "$job_ratio"
show "$cores-core floor" "$floor s (mapper $map_cpu s + reducer $reduce_cpu s of CPU over $cores cores; floor/pipeline $floor_ratio)"
show "job/floor" "$job_floor"
show "programs side by side" "$side_wall s ($cores at a time, each over a part of the input; $(ratio "$side_wall" "$floor") of the floor, job/this $(ratio "$job_wall" "$side_wall"))"
show "job CPU" "$job_cpu"
show "machine CPU over the job" "$machine_cpu"
show "master CPU per GB shuffled" "$(awk -v m="$cpu_master" -v hz="$hz" -v b="${phase[shuffled]}" 'BEGIN {
  if (b > 0) printf "%.3f s (%.2f s over %.0f MB of map output)", m / hz / (b / 1e9), m / hz, b / 1e6; else print "n/a" }')"
for name in "${steps[@]}"; do
  show "  $name" "${phase[$name]} s"
done
show "group ($group_parts)" "${phase[group]} s"
show "group baseline" "$baseline_wall s (LC_ALL=C sort -S 1G over the map outputs)"
[ -z "$identity" ] || show "identity target" "$identity"
show "one-file job" "$one_file_median ms (median of 5: $(basename "$one_file"), $(stat -c %s "$one_file") bytes)"
show "master's journal" "$(awk -F'"appends":' '/journal: what it cost/ && index($0, "\"job\":'"$job_id"',") { split($2, a, ","); n = a[1]; match($0, /"synced_ms":[0-9.]+/); ms = substr($0, RSTART + 12, RLENGTH - 12) } END { if (n) printf "%d synced appends, %.1f ms in all (%.2f%% of the job)", n, ms, ms / 10 / '"$job_wall"'; else print "n/a" }' master.log)"
show "master peak RSS" "$master_rss"
i=0
for port in $worker_ports; do
  show "worker $port peak RSS" "${worker_rss[$i]}"
  i=$((i + 1))
done
show "output" "$result ($(wc -l <test.sorted) words)"
echo "bench $size in $input_files files: job ${job_wall}s vs pipeline ${pipeline_wall}s (${job_ratio}x), $cores-core floor ${floor}s (${floor_ratio}x; job/floor ${job_floor}), programs side by side $(ratio "$side_wall" "$floor") of the floor, map ${phase[map]}s, group ${phase[group]}s vs sort ${baseline_wall}s, $result"
[ "$result" = MATCH ]
