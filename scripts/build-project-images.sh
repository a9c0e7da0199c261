#!/usr/bin/env bash
# The images the suite itself runs in a cluster, built here, never pulled:
#   writer  localhost/storage-conformance/ledger-writer:LEDGER_WRITER_VERSION
#           (images/writer, one static Go binary FROM scratch)
#   bench   localhost/storage-conformance/bench:BENCH_IMAGE_TAG
#           (fio and sysbench from Debian MYSQL_DEBIAN_SUITE, images/bench)
# Each is built only when the host's Docker lacks it; prints each image's name.
# The offline node bakes them in (build-offline-image.sh calls this); on any
# other k3s node (the upstream rancher/k3s image) the suite imports them into
# the node's containerd (src/cluster/project-images.ts).
# Usage: build-project-images.sh writer|bench...
source "$(dirname "$0")/lib.sh"
source "$PROJECT_ROOT/images/versions.env"
export DOCKER_BUILDKIT=0 CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local

[ $# -gt 0 ] || die "usage: build-project-images.sh writer|bench..."
build() { # build TAG DIR [ARGS...]: docker build, its output shown only on failure
  local tag="$1" dir="$2" out; shift 2
  out=$(docker build -q "$@" -t "$tag" "$dir" 2>&1) || die "docker build of $tag failed:
$(printf '%s\n' "$out" | tail -n 20)"
}

# The image is built again when its sources changed, whatever its tag says.
source_hash() { (cd "$PROJECT_ROOT" && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12); }
current() { # current IMAGE HASH: the host has IMAGE, built from sources of HASH
  [ "$(docker image inspect -f '{{index .Config.Labels "storage-conformance.source"}}' "$1" 2>/dev/null)" = "$2" ]
}

for which in "$@"; do
  case "$which" in
    writer)
      image="localhost/storage-conformance/ledger-writer:$LEDGER_WRITER_VERSION"
      hash=$(source_hash images/writer scripts/build-project-images.sh)
      if ! current "$image" "$hash"; then
        command -v go >/dev/null || die "Go is needed to build the ledger writer ($image); install Go >= 1.24 (https://go.dev/dl/)"
        dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
        log "building $image"
        (cd "$PROJECT_ROOT/images/writer" && go build -ldflags='-s -w' -o "$dir/ledger-writer" ./cmd/ledger-writer) \
          || die "building ledger-writer failed (see above)"
        cp "$PROJECT_ROOT/images/writer/Dockerfile" "$dir/"
        build "$image" "$dir" --label "storage-conformance.source=$hash"
        rm -rf "$dir"; trap - EXIT
      fi ;;
    bench)
      image="localhost/storage-conformance/bench:$BENCH_IMAGE_TAG"
      hash=$(source_hash images/bench images/versions.env scripts/build-rootfs.sh scripts/build-project-images.sh)
      if ! current "$image" "$hash"; then
        # sysbench's client library from MYSQL_DEBIAN_SUITE speaks MySQL 9's caching_sha2_password.
        log "building $image"
        rootfs=$(bash "$PROJECT_ROOT/scripts/build-rootfs.sh" bench fio,sysbench,ca-certificates "$MYSQL_DEBIAN_SUITE")
        versions=$(docker run --rm "$rootfs" dpkg-query -W -f '${Package}=${Version} ' fio sysbench)
        build "$image" "$PROJECT_ROOT/images/bench" --build-arg "ROOTFS=$rootfs" \
          --label "org.opencontainers.image.title=fio and sysbench (Debian $MYSQL_DEBIAN_SUITE)" \
          --label "org.opencontainers.image.version=${versions% }" --label "storage-conformance.source=$hash"
      fi ;;
    *) die "no project image named '$which' (writer, bench)" ;;
  esac
  echo "$image"
done
