#!/usr/bin/env bash
# Prints, for each EVTX file (or folder) given, what weft dump and weft hunt
# cost on it side by side, in one run: CPU time (user + sys), wall time and
# peak RSS, with hunt's ratios to dump. Hunt runs with the seed rule and,
# when RULES names a folder (default: Elastic's Windows rules beside the
# clone, if present), with those rules too. Used for the hunt figures of
# BENCHMARKS.md (issue 21: hunt at the reader's speed, bounded memory).
#
#   testdata/gen/bench-hunt.sh FILE...
#   WEFT=/tmp/weft-old testdata/gen/bench-hunt.sh FILE   # another build
#   RULES= REPEAT=3 testdata/gen/bench-hunt.sh FILE      # seed rule only, 3 rounds
#   EXTRA='--sort' testdata/gen/bench-hunt.sh FILE       # more hunt flags
#
# Inputs come from testdata/gen, written outside the clone, e.g. 1 GiB and
# 3 GiB of Sysmon events:
#
#   go run ./testdata/gen -seed 2026 -hosts 8 -span 24h -rate 1.45 -attacks 8 -out /tmp/s1g.evtx
#   go run ./testdata/gen -seed 2026 -hosts 8 -span 24h -rate 4.35 -attacks 8 -out /tmp/s3g.evtx
#
# Every command runs REPEAT rounds (default 1) and keeps its round with the
# least CPU time: on a shared machine CPU time wanders much less than wall
# time, so compare the CPU columns and the ratios, which are within one run.
# Needs Go (unless WEFT is set) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

[ $# -ge 1 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-hunt.sh: /usr/bin/time (GNU time) not found" >&2; exit 1; }
REPEAT=${REPEAT:-1}
RULES=${RULES-$root/../shared/corpus/elastic-rules/windows}
EXTRA=${EXTRA:-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "${WEFT:-}" ]; then
	echo "building weft" >&2
	go build -o "$tmp/weft" ./cmd/weft
	WEFT=$tmp/weft
fi

# measure NAME CMD...: runs CMD REPEAT times with stdout to /dev/null and
# prints "cpu wall rss_mib alerts" of the round with the least CPU time.
measure() {
	local best="" i
	for ((i = 0; i < REPEAT; i++)); do
		/usr/bin/time -f '%U %S %e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || {
			echo "bench-hunt.sh: $* failed:" >&2
			tail -5 "$tmp/err" >&2
			exit 1
		}
		local line alerts
		line=$(awk '{printf "%.2f %.2f %.0f", $1 + $2, $3, $4 / 1024}' "$tmp/time")
		# hunt --json writes one alert per line.
		alerts=$(wc -l <"$tmp/out")
		line="$line $alerts"
		if [ -z "$best" ] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
			best=$line
		fi
	done
	echo "$best"
}

printf '| input | command | CPU (s) | wall (s) | peak RSS (MiB) | alerts | CPU vs dump | wall vs dump |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for input in "$@"; do
	size=$(du -sm --apparent-size "$input" | cut -f1)
	name="$(basename "$input") (${size} MiB)"
	read -r dcpu dwall drss _ < <(measure "$WEFT" dump "$input")
	printf '| %s | weft dump | %s | %s | %s | - | 1.00x | 1.00x |\n' "$name" "$dcpu" "$dwall" "$drss"
	runs=("seed rule|")
	if [ -n "$RULES" ] && [ -d "$RULES" ]; then
		runs+=("--rules $(basename "$RULES")|--rules $RULES")
	fi
	for run in "${runs[@]}"; do
		label=${run%%|*}
		# shellcheck disable=SC2086 # EXTRA and the rules flag are word lists
		read -r cpu wall rss alerts < <(measure "$WEFT" hunt --json --quiet $EXTRA ${run#*|} "$input")
		printf '| %s | weft hunt %s %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$label" "$EXTRA" "$cpu" "$wall" "$rss" "$alerts" \
			"$(awk -v a="$cpu" -v b="$dcpu" 'BEGIN { printf "%.2fx", a / b }')" \
			"$(awk -v a="$wall" -v b="$dwall" 'BEGIN { printf "%.2fx", a / b }')"
	done
done
