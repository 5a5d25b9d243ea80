#!/usr/bin/env bash
# Reproduces the figures of BENCHMARKS.md: the same synthesized EVTX files,
# in the same run, read by weft (dump and hunt) and by golang-evtx's
# evtxdump, libevtx's evtxexport and python-evtx's evtx_dump.py, on one core
# (taskset -c 0; Go follows the affinity mask) and on all cores; then weft's
# alert latency (a Go benchmark). Prints markdown tables.
#
#   testdata/gen/bench.sh                  # from anywhere in the clone
#   REPEAT=5 CORPUS=/tmp/c testdata/gen/bench.sh
#
# Needs: Go, /usr/bin/time, taskset, evtxexport (Debian: libevtx-utils),
# evtx_dump.py (Debian: python3-evtx). evtxdump is built from golang-evtx in
# the Go module cache. Wall time is the best of REPEAT runs; peak RSS is that
# run's (GNU time's "Maximum resident set size").
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

REPEAT=${REPEAT:-3}
CORPUS=${CORPUS:-$root/bench-corpus/compare}
# About 180 MiB in 16 files: big enough to measure, small enough to measure
# every tool several times.
GEN_ARGS=(-seed 2026 -hosts 16 -span 6h -rate 0.5 -attacks 16 -near-misses all -dir "$CORPUS")
# python-evtx reads a few hundred events a second: it gets one file.
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

results=$(mktemp)
# measure NAME CORES EVENTS BYTES CMD: runs CMD (a shell line, stdout to
# /dev/null) REPEAT times, keeps the fastest.
measure() {
	local name=$1 cores=$2 ev=$3 by=$4 cmd=$5 best="" rss="" pin=()
	[ "$cores" = 1 ] && pin=(taskset -c 0)
	for ((i = 0; i < REPEAT; i++)); do
		"${pin[@]}" /usr/bin/time -v -o "$bin/time.txt" sh -c "$cmd >/dev/null 2>>$bin/stderr.txt"
		local wall kb
		wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$bin/time.txt")
		kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$bin/time.txt")
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$wall rss=$kb; fi
	done
	echo "$name|$cores|$ev|$by|$best|$rss" >>"$results"
	echo "  $name, $cores core(s): ${best}s" >&2
}

ncpu=$(nproc)
for cores in 1 "$ncpu"; do
	measure "weft dump" "$cores" "$events" "$bytes" "$bin/weft dump $CORPUS"
	measure "weft hunt" "$cores" "$events" "$bytes" "$bin/weft hunt --json $CORPUS"
	measure "golang-evtx evtxdump" "$cores" "$events" "$bytes" "$bin/evtxdump ${evtx_files[*]}"
	measure "libevtx evtxexport" "$cores" "$events" "$bytes" "for f in ${evtx_files[*]}; do evtxexport -f xml \$f; done"
	measure "python-evtx evtx_dump.py" "$cores" "$py_events" "$py_bytes" "for f in ${py_files[*]}; do evtx_dump.py \$f; done"
done

echo
echo "| tool | cores | events | MiB | wall (s) | events/s | MB/s | peak RSS (MiB) | events/s vs evtxdump |"
echo "|---|---|---|---|---|---|---|---|---|"
python3 - "$results" <<'EOF'
import sys
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1])]
base = {r[1]: int(r[2]) / float(r[4]) for r in rows if r[0] == "golang-evtx evtxdump"}
for name, cores, ev, by, wall, rss in rows:
    ev, by, wall, rss = int(ev), int(by), float(wall), int(rss)
    rate = ev / wall
    print(f"| {name} | {cores} | {ev:,} | {by / 2**20:.0f} | {wall:.2f} | {rate:,.0f} | {by / 1e6 / wall:.1f} | {rss / 1024:.0f} | {rate / base[cores]:.2f}× |")
EOF

echo
echo "alert latency (go test -bench AlertLatency ./cmd/weft):" >&2
go test -run '^$' -bench 'AlertLatency' -benchtime "${REPEAT}x" ./cmd/weft | grep '^Benchmark'
rm -f "$results"
