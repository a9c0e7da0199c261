#!/usr/bin/env bash
# Times the static check as a user runs it, process start included:
#   npm run -s conformance -- --static-only --manifests fixtures/bench-dozen
# Prints min / median / max wall time over RUNS runs (default 10), with the
# conditions the figure depends on (CPUs, load average before and after, Node).
# Each run's reports go to a temporary folder, removed on exit.
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"
runs="${1:-10}"
dir="${2:-fixtures/bench-dozen}"
bash scripts/run.sh exec true >/dev/null   # bootstrap once, outside the timing
reports="$(mktemp -d "${TMPDIR:-/tmp}/sc-bench-static.XXXXXX")"
trap 'rm -rf "$reports"' EXIT
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
times=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  npm run -s conformance -- --static-only --manifests "$dir" --reports "$reports/$i" >/dev/null 2>&1 || true
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
  rm -rf "${reports:?}/$i"
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "static check of $(ls "$dir"/*.yaml | wc -l) files, $runs runs: min ${sorted[0]} ms, median ${sorted[$((runs / 2))]} ms, max ${sorted[$((runs - 1))]} ms"
echo "conditions: $(nproc) CPUs, load average $load_before before and $(cut -d' ' -f1-3 /proc/loadavg) after, Node $(bash scripts/run.sh exec node --version)"
