#!/usr/bin/env bash
# Reproduces the figures of BENCHMARKS.md: the same synthesized EVTX files,
# in the same run, read by weft (dump and hunt) and by golang-evtx's
# evtxdump, libevtx's evtxexport and python-evtx's evtx_dump.py, on one core
# (taskset -c 0; Go follows the affinity mask) and on all cores; then weft's
# alert latency (a Go benchmark). Prints a markdown table and the latency.
#
#   testdata/gen/bench.sh                  # from anywhere in the clone
#   REPEAT=5 CORPUS=/tmp/c testdata/gen/bench.sh
#
# Needs: Go, /usr/bin/time, taskset, evtxexport (Debian: libevtx-utils),
# evtx_dump.py (Debian: python3-evtx). evtxdump is built from golang-evtx in
# the Go module cache. Every tool runs REPEAT rounds; the table keeps each
# tool's fastest round (wall time), with that round's CPU time (user + sys)
# and peak RSS (GNU time's "Maximum resident set size").
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

REPEAT=${REPEAT:-3}
CORPUS=${CORPUS:-$root/bench-corpus/compare}
# About 180 MiB in 16 files: big enough to measure, small enough to measure
# every tool several times.
GEN_ARGS=(-seed 2026 -hosts 16 -span 6h -rate 0.5 -attacks 16 -near-misses all -dir "$CORPUS")
# python-evtx reads a few hundred events a second: it gets one file (none
# with PY_FILES=0, for a corpus of one large file).
PY_FILES=${PY_FILES:-1}

for tool in /usr/bin/time taskset evtxexport evtx_dump.py python3; do
	command -v "$tool" >/dev/null || { echo "bench.sh: $tool not found" >&2; exit 1; }
done

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
echo "building weft and golang-evtx's evtxdump" >&2
go build -o "$bin/weft" ./cmd/weft
# evtxdump's main package needs its version constants, which its makefile
# writes; and its module's dependencies, which weft's go.sum does not list.
evtx=$(go list -m -f '{{.Dir}}' github.com/0xrawsec/golang-evtx)
evtxver=$(go list -m -f '{{.Version}}' github.com/0xrawsec/golang-evtx)
mkdir "$bin/evtxdump-src"
cp "$evtx/tools/evtxdump/evtxdump.go" "$bin/evtxdump-src/"
printf 'package main\n\nconst (\n\tVersion  = "%s"\n\tCommitID = "module cache"\n)\n' "$evtxver" >"$bin/evtxdump-src/version.go"
(cd "$bin/evtxdump-src" && go mod init evtxdumpbench >/dev/null 2>&1 &&
	go mod edit -require "github.com/0xrawsec/golang-evtx@$evtxver" &&
	GOFLAGS=-mod=mod go build -o "$bin/evtxdump" . 2>/dev/null)

if [ ! -f "$CORPUS/manifest.json" ]; then
	echo "generating the corpus: go run ./testdata/gen ${GEN_ARGS[*]}" >&2
	go run ./testdata/gen "${GEN_ARGS[@]}"
fi
read -r events bytes files alerts < <(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(m["events"], sum(f["bytes"] for f in m["files"]), len(m["files"]), len(m["alerts"]))' "$CORPUS/manifest.json")
mapfile -t evtx_files < <(ls "$CORPUS"/*.evtx)
py_files=("${evtx_files[@]:0:$PY_FILES}")
read -r py_events py_bytes < <(python3 -c '
import json, os, sys
m = json.load(open(sys.argv[1])); names = {os.path.basename(p) for p in sys.argv[2:]}
fs = [f for f in m["files"] if f["path"] in names]
print(sum(f["records"] for f in fs), sum(f["bytes"] for f in fs))' "$CORPUS/manifest.json" "${py_files[@]}")

echo "corpus: $CORPUS: $files files, $events events, $((bytes / 1048576)) MiB, $alerts attacks; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

results="$bin/results"
# run NAME CORES EVENTS BYTES CMD: runs CMD (a shell line, stdout to
# /dev/null) once under GNU time and records wall and CPU seconds and peak
# RSS.
run() {
	local name=$1 cores=$2 ev=$3 by=$4 cmd=$5 pin=()
	[ "$cores" = 1 ] && pin=(taskset -c 0)
	"${pin[@]}" /usr/bin/time -v -o "$bin/time.txt" sh -c "$cmd >/dev/null 2>>$bin/stderr.txt"
	awk -F': ' -v name="$name" -v cores="$cores" -v ev="$ev" -v by="$by" '
		/User time/ {cpu += $2} /System time/ {cpu += $2}
		/Elapsed \(wall clock\)/ {n = split($2, p, ":"); for (i = 1; i <= n; i++) wall = wall * 60 + p[i]}
		/Maximum resident set size/ {rss = $2}
		END {printf "%s|%s|%s|%s|%s|%s|%s\n", name, cores, ev, by, wall, cpu, rss}' "$bin/time.txt" >>"$results"
	echo "  $name, $cores core(s): $(tail -1 "$results" | cut -d'|' -f5)s wall" >&2
}

# Other work on the machine comes and goes: every tool runs once per round,
# in turn, so that each sees the same mix; the report keeps each tool's
# fastest round.
ncpu=$(nproc)
for ((round = 1; round <= REPEAT; round++)); do
	echo "round $round of $REPEAT (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
	for cores in 1 "$ncpu"; do
		run "weft dump" "$cores" "$events" "$bytes" "$bin/weft dump $CORPUS"
		run "weft dump --decoder golang-evtx" "$cores" "$events" "$bytes" "$bin/weft dump --decoder golang-evtx $CORPUS"
		run "weft hunt" "$cores" "$events" "$bytes" "$bin/weft hunt --json $CORPUS"
		run "golang-evtx evtxdump" "$cores" "$events" "$bytes" "$bin/evtxdump ${evtx_files[*]}"
		run "libevtx evtxexport" "$cores" "$events" "$bytes" "for f in ${evtx_files[*]}; do evtxexport -f xml \$f; done"
		if [ "$PY_FILES" -gt 0 ]; then
			run "python-evtx evtx_dump.py" "$cores" "$py_events" "$py_bytes" "for f in ${py_files[*]}; do evtx_dump.py \$f; done"
		fi
	done
done

echo
echo "| tool | cores | events | MiB | wall (s) | events/s | MB/s | CPU (s) | events/CPU-s | peak RSS (MiB) | vs evtxdump, events/s | vs evtxdump, events/CPU-s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
python3 - "$results" <<'EOF2'
import sys
best = {}
for line in open(sys.argv[1]):
    name, cores, ev, by, wall, cpu, rss = line.rstrip("\n").split("|")
    r = (name, cores, int(ev), int(by), float(wall), float(cpu), int(rss))
    if (name, cores) not in best or r[4] < best[name, cores][4]:
        best[name, cores] = r
base = {c: (ev / wall, ev / cpu) for (n, c), (_, _, ev, by, wall, cpu, rss) in best.items() if n == "golang-evtx evtxdump"}
for cores in sorted({c for _, c in best}, key=int):
    for (name, c), (_, _, ev, by, wall, cpu, rss) in best.items():
        if c != cores:
            continue
        rate, eff = ev / wall, ev / cpu
        print(f"| {name} | {c} | {ev:,} | {by / 2**20:.0f} | {wall:.2f} | {rate:,.0f} | {by / 1e6 / wall:.1f} | {cpu:.2f} | {eff:,.0f} | {rss / 1024:.0f} | {rate / base[c][0]:.2f}× | {eff / base[c][1]:.2f}× |")
EOF2

echo
echo "alert latency (go test -run '^\$' -bench AlertLatency -benchtime ${REPEAT}x ./cmd/weft):" >&2
if ! out=$(go test -run '^$' -bench 'AlertLatency' -benchtime "${REPEAT}x" ./cmd/weft 2>&1); then
	echo "$out" >&2
	exit 1
fi
echo "$out" | grep '^Benchmark'
