#!/usr/bin/env bash
# Measures the speed goals (issue 21) as a user meets them, and writes JSON:
#   static        npm run -s conformance -- --static-only (the design's manifests), N runs
#   unit          npm run test:unit, N runs
#   conformance   npm run conformance (warm: images built), N runs
#   test          CI=true npm test (as .ci/run does), N runs
#   cold          npm run conformance with nothing cached: the caches, the node
#                 images and node_modules removed first (slow; only when named)
# Usage: bash scripts/bench.sh [--runs N] [--out FILE] GOAL...   (default goals: static unit)
# Each figure is min / median / max wall seconds with its exit codes, and the
# conditions it depends on (CPUs, load average before and after, Node, commit).
# Run it on a machine with nothing else running: the cluster goals are timings.
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"
runs=3 out="" goals=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    static|unit|conformance|test|cold) goals+=("$1"); shift ;;
    *) die "unknown argument '$1' (goals: static unit conformance test cold; --runs N, --out FILE)" ;;
  esac
done
[ ${#goals[@]} -gt 0 ] || goals=(static unit)
out="${out:-$PROJECT_ROOT/bench/results-$(date -u +%Y%m%dT%H%M%SZ).json}"
mkdir -p "$(dirname "$out")"
bash scripts/run.sh exec true >/dev/null   # bootstrap Node and node_modules once, outside the timing

# time_runs NAME N COMMAND...: prints a JSON object of the runs' wall times
time_runs() {
  local name="$1" n="$2"; shift 2
  local secs=() codes=() load_before load_after start code
  load_before="$(cut -d' ' -f1 /proc/loadavg)"
  for _ in $(seq 1 "$n"); do
    start=$(date +%s%N)
    if "$@" >"$PROJECT_ROOT/bench/last-$name.log" 2>&1; then code=0; else code=$?; fi
    secs+=("$(awk -v ns=$(( $(date +%s%N) - start )) 'BEGIN { printf "%.3f", ns / 1e9 }')")
    codes+=("$code")
  done
  load_after="$(cut -d' ' -f1 /proc/loadavg)"
  local sorted=($(printf '%s\n' "${secs[@]}" | sort -n))
  printf '{"goal":"%s","runs":%d,"min_s":%s,"median_s":%s,"max_s":%s,"seconds":[%s],"exit_codes":[%s],"load_before":%s,"load_after":%s}' \
    "$name" "$n" "${sorted[0]}" "${sorted[$((n / 2))]}" "${sorted[$((n - 1))]}" \
    "$(IFS=,; echo "${secs[*]}")" "$(IFS=,; echo "${codes[*]}")" "$load_before" "$load_after"
}

results=()
for goal in "${goals[@]}"; do
  log "measuring $goal"
  case "$goal" in
    static) results+=("$(time_runs static $((runs < 10 ? 10 : runs)) npm run -s conformance -- --static-only)") ;;
    unit) results+=("$(time_runs unit "$runs" npm run test:unit)") ;;
    conformance) results+=("$(time_runs conformance "$runs" npm run conformance)") ;;
    test) results+=("$(time_runs test "$runs" env CI=true npm test)") ;;
    cold)
      cold() {
        docker ps -aq --filter label=app.kubernetes.io/managed-by=storage-conformance | xargs -r docker rm -f >/dev/null
        docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(storage-conformance|localhost/storage-conformance|registry.k8s.io/pause)' | xargs -r docker rmi -f >/dev/null
        rm -rf "$CACHE_DIR/bin" "$CACHE_DIR/gomod" "$CACHE_DIR/rootfs" "$CACHE_DIR/build" node_modules "$(go env GOCACHE 2>/dev/null || echo /nonexistent)" "$(go env GOMODCACHE 2>/dev/null || echo /nonexistent)"
        npm run conformance
      }
      results+=("$(time_runs cold 1 cold)") ;;
  esac
done
{
  printf '{"measured_at":"%s","commit":"%s","cpus":%d,"node":"%s","kernel":"%s","goals":[%s]}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(nproc)" \
    "$(bash scripts/run.sh exec node --version)" "$(uname -r)" "$(IFS=,; echo "${results[*]}")"
} >"$out"
log "wrote $out"
cat "$out"
