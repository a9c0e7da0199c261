#!/usr/bin/env bash
# The one entry point behind the npm scripts: bootstraps Node, the npm
# dependencies and (when a cluster must be started here) the Docker engine,
# then runs the requested command.
#   run.sh test [vitest args]      the linter, then the tests (unit, self-tests, cluster suites)
#   run.sh conformance [args]      the conformance run (see --help)
#   run.sh tool NAME [args]        an operator command (storage-status, ...)
#   run.sh exec CMD [args]         any command with the project's Node on PATH
source "$(dirname "$0")/lib.sh"
cd "$PROJECT_ROOT"

PATH="$(bash scripts/ensure-node.sh):$PATH"
export PATH

# npm ci when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2 || die "npm ci failed"
fi

mode="${1:-test}"; shift || true
wants_local_cluster() {
  # A cluster is started here unless one is named or only static checks run.
  [ -z "${KUBECONFIG:-}" ] || return 1
  for a in "$@"; do case "$a" in --kubeconfig|--kubeconfig=*|--static-only|--cleanup|--help|-h) return 1 ;; esac; done
  return 0
}
case "$mode" in
  test)
    # The linter and the formatter's check first (Biome, biome.json): a second, no cluster needed.
    node node_modules/@biomejs/biome/bin/biome check --error-on-warnings . >&2 || die "the linter or the formatter found problems (above); 'npm run lint -- --write' formats and applies the safe fixes"
    # The Go tests of the images' programs (the node's join, CNI and config logic; the
    # ledger writer's; the CSI driver's, csi-sanity among them, on real loop devices
    # where the machine has them and this runs as root), with the image build's
    # settings so they share its build cache.
    if command -v go >/dev/null; then
      # csi-sanity makes xfs and ext4 filesystems: as root on Debian with loop devices, bring the tools.
      if [ -e /dev/loop-control ] && is_debian_root; then apt_install xfsprogs e2fsprogs; fi
      for module in images/node images/writer images/csi; do
        (cd "$module" && CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local go test ./... >&2) || die "go test failed in $module (above)"
      done
    else
      log "Go is not installed: the Go tests of images/node, images/writer and images/csi are skipped (the offline image's build needs Go too)"
    fi
    # kustomize (built once from the Go module proxy when neither it nor kubectl is
    # installed) before the tests, so no unit test carries its first build.
    if command -v go >/dev/null || command -v kustomize >/dev/null || command -v kubectl >/dev/null; then
      bash scripts/ensure-kustomize.sh >/dev/null || die "kustomize could not be provided (above)"
    fi
    if wants_local_cluster "$@"; then bash scripts/ensure-docker.sh; fi
    exec node node_modules/vitest/vitest.mjs run "$@" ;;
  conformance)
    if wants_local_cluster "$@"; then bash scripts/ensure-docker.sh; fi
    exec node src/cli/conformance.ts "$@" ;;
  tool)
    name="$1"; shift
    exec node "src/cli/$name.ts" "$@" ;;
  exec) exec "$@" ;;
  *) die "unknown mode '$mode' (test, conformance, tool, exec)" ;;
esac
