#!/usr/bin/env bash
# The one entry point behind the npm scripts: bootstraps Node, the npm
# dependencies and (when a cluster must be started here) the Docker engine,
# then runs the requested command.
#   run.sh test [vitest args]      the linter, then the tests (unit, self-tests, cluster suites)
#   run.sh conformance [args]      the conformance run: storage-conformance run (see --help)
#   run.sh tool NAME [args]        another subcommand of storage-conformance (storage-status, ...)
#   run.sh exec CMD [args]         any command with the project's Node on PATH
# The commands run in the directory they were called from (npm runs scripts in
# the project and says where it was called in INIT_CWD), so their paths are
# the caller's: --manifests k8s means ./k8s where you typed it.
source "$(dirname "$0")/lib.sh"
CALLER_DIR="${INIT_CWD:-$PWD}"
ACTIONLINT_VERSION=v1.7.12

# npm takes an option written before `--` for its own configuration and hands
# the script nothing (npm run conformance --static-only would start a live
# run): such an option is refused, with the spelling that works, exit 2.
case "${1:-}" in conformance|tool)
  for option in static-only disruptive cleanup kubeconfig manifests reports suite engine expect storage-class output-format namespace \
    database all-databases output dir keep-daily keep-weekly input replace cross-engine interval count rows keep writes run-id; do
    variable="npm_config_${option//-/_}"
    if [ -n "${!variable:-}" ]; then
      value="${!variable}"; [ "$value" = true ] && value="" || value=" $value"
      printf 'error: npm took --%s for itself and would not pass it on; write npm run %s -- --%s%s (npm passes options to a script only after --)\n' \
        "$option" "${npm_lifecycle_event:-conformance}" "$option" "$value" >&2
      exit 2
    fi
  done ;;
esac
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
  for a in "$@"; do case "$a" in --kubeconfig|--kubeconfig=*|--static-only|--cleanup|--help|-h|--project=unit) return 1 ;; esac; done
  # `test --project unit` (alone) needs no cluster either.
  case " $* " in *" --project unit "*) case " $* " in *" --project self-tests "*|*" --project cluster "*) ;; *) return 1 ;; esac ;; esac
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
      # The workflows and the Action they use (action.yml), by actionlint from the Go module proxy (built once, then cached).
      GOTOOLCHAIN=local go run "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" -color=false >&2 || die "actionlint found problems in .github/workflows (above)"
    else
      log "Go is not installed: the Go tests of images/node, images/writer and images/csi, and actionlint, are skipped (the offline image's build needs Go too)"
    fi
    # kustomize (built once from the Go module proxy when neither it nor kubectl is
    # installed) before the tests, so no unit test carries its first build.
    if command -v go >/dev/null || command -v kustomize >/dev/null || command -v kubectl >/dev/null; then
      bash scripts/ensure-kustomize.sh >/dev/null || die "kustomize could not be provided (above)"
    fi
    # The HTML report is tested in Debian's Chromium (test/unit/report-browser.test.ts); elsewhere that test says it is skipped.
    if is_debian_root && [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
    if wants_local_cluster "$@"; then bash scripts/ensure-docker.sh; fi
    exec node node_modules/vitest/vitest.mjs run "$@" ;;
  conformance)
    if wants_local_cluster "$@"; then bash scripts/ensure-docker.sh; fi
    # The project's own runs keep their reports in the project's reports/ (README), wherever npm was called.
    export SC_REPORTS_DIR="${SC_REPORTS_DIR:-$PROJECT_ROOT/reports}"
    cd "$CALLER_DIR" && exec node "$PROJECT_ROOT/bin/storage-conformance.js" run "$@" ;;
  tool)
    name="$1"; shift
    cd "$CALLER_DIR" && exec node "$PROJECT_ROOT/bin/storage-conformance.js" "$name" "$@" ;;
  exec) exec "$@" ;;
  *) die "unknown mode '$mode' (test, conformance, tool, exec)" ;;
esac
