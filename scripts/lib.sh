# Shared helpers for the bootstrap scripts. Sourced, never run.
# shellcheck shell=bash
set -euo pipefail

PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Slow artefacts (Node, Go builds, rootfs tarballs) live outside the clone so a
# fresh clone on the same machine reuses them.
CACHE_DIR="${STORAGE_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/storage-conformance}"
mkdir -p "$CACHE_DIR"

log() { printf '[%s] %s\n' "$(basename "${BASH_SOURCE[1]:-$0}" .sh)" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "${BASH_SOURCE[1]:-$0}" .sh)" "$*" >&2; exit 1; }

is_debian_root() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

APT_UPDATED=""
apt_install() {
  is_debian_root || die "missing packages: $*; install them with your package manager (Debian: apt-get install $*)"
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
