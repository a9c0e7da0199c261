#!/usr/bin/env bash
# Builds the offline node image from the Go module proxy and Debian packages
# only, and prints its name. Nothing is pulled from a registry. Cached: when an
# image for the same recipe exists, it prints its name and does nothing else.
#
#   storage-conformance/kubenode:HASH   the node (entrypoint `kubenode server`,
#                                       k3s compatible for @testcontainers/k3s)
# baked into it, imported into containerd at every start:
#   registry.k8s.io/pause:PAUSE_VERSION, docker.io/library/mysql:8.4 and
#   mysql:MYSQL_LINE (Oracle MySQL from Debian sid), docker.io/library/mariadb:MARIADB_LINE
#   (Debian's MariaDB), localhost/storage-conformance/{local-path-provisioner,busybox},
#   localhost/storage-conformance/coredns:COREDNS_VERSION (cluster DNS, as k3s),
#   localhost/storage-conformance/ledger-writer:LEDGER_WRITER_VERSION,
#   localhost/storage-conformance/bench:BENCH_IMAGE_TAG (fio, sysbench; deferred)
# and as processes of the node: the CSI driver conformance-csi and its sidecars
# (StorageClass conformance-csi, VolumeSnapshotClass conformance-csi-snapshots),
# and kube-router's network policy controller (NetworkPolicy enforcement).
# On the host's Docker only project names are tagged (storage-conformance/...).
source "$(dirname "$0")/lib.sh"
source "$PROJECT_ROOT/images/versions.env"
export DOCKER_BUILDKIT=0 CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local

# Dot files are not inputs (the only one is a .gitignore), and npm never packs
# .gitignore: counting them gave an installed package another hash than its
# clone, and so a needless half-hour build of an image the machine already had.
recipe_hash=$(cd "$PROJECT_ROOT" && find images scripts/build-offline-image.sh scripts/build-project-images.sh scripts/build-rootfs.sh scripts/lib.sh -type f ! -name '.*' -print0 \
  | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
NODE_IMAGE="storage-conformance/kubenode:$recipe_hash"
if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then echo "$NODE_IMAGE"; exit 0; fi

command -v go >/dev/null || die "Go is needed to build the offline cluster image; install Go >= 1.24 (https://go.dev/dl/) or set K3S_IMAGE to an image you can pull"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[ "$go_minor" -ge 24 ] || die "Go $(go env GOVERSION) is too old to build Kubernetes $KUBERNETES_VERSION; install Go >= 1.24"
apt_install busybox-static gcc libc6-dev

started=$(date +%s)
ctx="$CACHE_DIR/build/$recipe_hash"
rm -rf "$ctx"; mkdir -p "$ctx"/{node/bin,node/cni,node/images,node/manifests,roots}
trap 'rm -rf "$ctx"; kill $(jobs -p) 2>/dev/null || true' EXIT

# The Debian roots (debootstrap: downloads and dpkg, cached per package list)
# build in the background while Go compiles; each is awaited where it is used.
apt_install debootstrap debian-archive-keyring
mysql_packages=mysql-server,mysql-client,gosu,tzdata,openssl,ca-certificates
start_root() { # start_root NAME PACKAGES [SUITE]: bash build-rootfs.sh in the background
  local name="$1"
  ( bash "$PROJECT_ROOT/scripts/build-rootfs.sh" "$@" >"$ctx/roots/$name.image" 2>"$ctx/roots/$name.log"; echo $? >"$ctx/roots/$name.rc" ) &
}
await_root() { # await_root NAME: prints the image, or fails with the build's log
  local name="$1"
  while [ ! -f "$ctx/roots/$name.rc" ]; do sleep 0.2; done
  cat "$ctx/roots/$name.log" >&2
  [ "$(cat "$ctx/roots/$name.rc")" = 0 ] || return 1
  cat "$ctx/roots/$name.image"
}
start_root mariadb mariadb-server,mariadb-client,mariadb-backup,ca-certificates
start_root mysql "$mysql_packages" "$MYSQL_DEBIAN_SUITE"
# xfsprogs and e2fsprogs: the CSI driver's mkfs, xfs_growfs, resize2fs;
# ipset: kube-router's network policy controller (with iptables).
start_root node iptables,runc,ca-certificates,mount,util-linux,procps,kmod,conntrack,iproute2,ethtool,socat,nftables,xfsprogs,e2fsprogs,ipset
# The bench image's root (fio, sysbench) too: build-project-images.sh finds it cached.
start_root bench fio,sysbench,ca-certificates "$MYSQL_DEBIAN_SUITE"

# go_build OUT MODULE@VERSION PACKAGE [TAGS] [LDFLAGS]: builds a command of a
# module from the proxy. `go install pkg@version` refuses modules whose go.mod has
# replace or exclude directives (containerd's does), so each module gets a small
# wrapper module that requires exactly that version. Cached per package, version,
# tags and extra linker flags (e.g. -X for a version string).
go_build() {
  local out="$1" module="$2" pkg="$3" tags="${4:-}" ldflags="${5:-}"
  local key="$module $pkg $tags"
  [ -z "$ldflags" ] || key+=" $ldflags"
  local cached="$CACHE_DIR/bin/$(printf '%s' "$key" | sha256sum | cut -c1-16)"
  if [ ! -x "$cached" ]; then
    local wrapper="$CACHE_DIR/gomod/$(printf '%s' "$module" | tr '/@' '__')"
    log "go build $pkg ($module)"
    mkdir -p "$wrapper" "$CACHE_DIR/bin"
    if [ ! -f "$wrapper/go.mod" ]; then
      (cd "$wrapper" && go mod init storage-conformance.local/build >/dev/null 2>&1)
    fi
    (cd "$wrapper" && go get "$pkg@${module#*@}" >/dev/null 2>&1 && go build -ldflags="-s -w${ldflags:+ $ldflags}" ${tags:+-tags "$tags"} -o "$cached.tmp" "$pkg") \
      || die "building $pkg from $module failed; rerun in $wrapper: go get $pkg@${module#*@} && go build $pkg"
    mv "$cached.tmp" "$cached"
  fi
  cp "$cached" "$out"
}

# 1. Binaries.
log "building kubenode (Kubernetes $KUBERNETES_VERSION components, multicall)"
minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
(cd "$PROJECT_ROOT/images/node" && go build -ldflags="-s -w$version_flags" -o "$ctx/node/bin/kubenode" ./cmd/kubenode) \
  || die "building kubenode failed (see above)"
ln -s kubenode "$ctx/node/bin/kubectl"
# The lazy storage layer (images/lazyfs): what a power cut drops.
(cd "$PROJECT_ROOT/images/lazyfs" && go build -ldflags='-s -w' -o "$ctx/node/bin/lazyfs" ./cmd/lazyfs) \
  || die "building lazyfs failed (see above)"

# --- The CSI storage class `conformance-csi` (issue 24) ----------------------
# The driver (images/csi) and the Kubernetes CSI sidecars, binaries of the node
# that kubenode supervises (images/node/cmd/kubenode/csi.go); the snapshot CRDs
# copied from external-snapshotter's client module at the same version.
[ "$go_minor" -ge 26 ] || die "Go $(go env GOVERSION) is too old for the CSI sidecars (their go.mod says go 1.26.0); install Go >= 1.26"
log "building the CSI driver conformance-csi $CSI_DRIVER_VERSION and the CSI sidecars"
(cd "$PROJECT_ROOT/images/csi" && go build -ldflags="-s -w -X storage-conformance.local/csi/pkg/driver.Version=$CSI_DRIVER_VERSION" -o "$ctx/node/bin/conformance-csi" ./cmd/conformance-csi) \
  || die "building the CSI driver failed (see above)"
go_build "$ctx/node/bin/csi-provisioner" "github.com/kubernetes-csi/external-provisioner/v6@$CSI_PROVISIONER_VERSION" github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner
go_build "$ctx/node/bin/csi-snapshotter" "github.com/kubernetes-csi/external-snapshotter/v8@$CSI_SNAPSHOTTER_VERSION" github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter
go_build "$ctx/node/bin/snapshot-controller" "github.com/kubernetes-csi/external-snapshotter/v8@$CSI_SNAPSHOTTER_VERSION" github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller
go_build "$ctx/node/bin/csi-resizer" "github.com/kubernetes-csi/external-resizer/v2@$CSI_RESIZER_VERSION" github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer
snapshot_client_dir=$(go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@$CSI_SNAPSHOTTER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$snapshot_client_dir/config/crd" ] || die "no CRDs in external-snapshotter/client/v8@$CSI_SNAPSHOTTER_VERSION (go mod download said: ${snapshot_client_dir:-nothing})"
{
  cat "$PROJECT_ROOT/images/csi/manifests/conformance-csi.yaml"
  for kind in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
    echo "# From github.com/kubernetes-csi/external-snapshotter/client/v8@$CSI_SNAPSHOTTER_VERSION config/crd"
    cat "$snapshot_client_dir/config/crd/snapshot.storage.k8s.io_$kind.yaml"
  done
} >"$ctx/node/manifests/conformance-csi.yaml"
# Applied by kubenode once those CRDs are served (not by the *.yaml glob).
mkdir -p "$ctx/node/manifests/conformance-csi"
cp "$PROJECT_ROOT"/images/csi/manifests/late/*.yaml "$ctx/node/manifests/conformance-csi/"
# --- end of the CSI storage class --------------------------------------------
# --- NetworkPolicy enforcement (issue 25) -------------------------------------
# kube-router's own command, run by kubenode with only its network policy
# controller (images/node/cmd/kubenode/netpol.go); a binary of its own because
# its go.mod pins client-go v0.29 and kubenode's v0.34.
log "building kube-router $KUBE_ROUTER_VERSION (network policy controller)"
go_build "$ctx/node/bin/kube-router" "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router "" \
  "-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
# --- end of NetworkPolicy enforcement -----------------------------------------
for cmd in containerd containerd-shim-runc-v2 ctr; do
  go_build "$ctx/node/bin/$cmd" "github.com/containerd/containerd/v2@$CONTAINERD_VERSION" "github.com/containerd/containerd/v2/cmd/$cmd" no_btrfs
done
for plugin in main/bridge main/loopback ipam/host-local meta/portmap; do
  go_build "$ctx/node/cni/$(basename $plugin)" "github.com/containernetworking/plugins@$CNI_PLUGINS_VERSION" "github.com/containernetworking/plugins/plugins/$plugin"
done
mkdir -p "$ctx/local-path-provisioner"
go_build "$ctx/local-path-provisioner/local-path-provisioner" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner

# 2. The images the cluster runs, saved as tarballs baked into the node.
k8s_dir=$(cd "$PROJECT_ROOT/images/node" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
mkdir -p "$ctx/pause"
gcc -Os -static -DVERSION="$PAUSE_VERSION" -o "$ctx/pause/pause" "$k8s_dir/build/pause/linux/pause.c"
mkdir -p "$ctx/busybox/root/bin"
cp /bin/busybox "$ctx/busybox/root/bin/busybox"
for applet in sh mkdir rm rmdir chmod chown ls cat mv cp du df find stat test; do ln -s busybox "$ctx/busybox/root/bin/$applet"; done
busybox_version=$(dpkg-query -W -f '${Version}' busybox-static)

build_image() { # build_image TAG DIR [ARGS...]
  local tag="$1" dir="$2"; shift 2
  # The legacy builder (no buildx needed) warns on every call; show its output only on failure.
  docker build -q "$@" -t "$tag" "$dir" >"$ctx/docker-build.log" 2>&1 \
    || die "docker build of $tag failed:
$(tail -n 20 "$ctx/docker-build.log")"
}
cp "$PROJECT_ROOT"/images/pause/Dockerfile "$ctx/pause/"
cp "$PROJECT_ROOT"/images/busybox/Dockerfile "$ctx/busybox/"
cp "$PROJECT_ROOT"/images/local-path-provisioner/Dockerfile "$ctx/local-path-provisioner/"
build_image "registry.k8s.io/pause:$PAUSE_VERSION" "$ctx/pause"
build_image "localhost/storage-conformance/busybox:debian" "$ctx/busybox" --label "org.opencontainers.image.version=$busybox_version"
build_image "localhost/storage-conformance/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION" "$ctx/local-path-provisioner"
# save_as TARBALL IMAGE NAME...: saves IMAGE for the node's containerd under
# the NAMEs only. The names (mysql:8.4, the design's image) are never tagged in
# the host's Docker, so a real image of that name there is never replaced.
save_as() {
  local tarball="$1" image="$2"; shift 2
  local dir="$ctx/save.$$" tags
  tags=$(printf '"%s",' "$@"); tags="[${tags%,}]"
  rm -rf "$dir"; mkdir -p "$dir"
  docker save "$image" | tar -x -C "$dir"
  # docker save writes the legacy archive: RepoTags in manifest.json (what
  # containerd's import reads) and the repositories file.
  sed -i -E "s#\"RepoTags\":\[[^]]*\]#\"RepoTags\":$tags#" "$dir/manifest.json"
  rm -f "$dir/repositories"
  tar -C "$dir" -cf "$tarball" .
  rm -rf "$dir"
}
# upstream_version DEBIAN_VERSION: 1:10.11.14-0+deb12u2 -> 10.11.14
upstream_version() { local v="${1#*:}"; v="${v%%-*}"; echo "${v%%+*}"; }

# MariaDB (Debian bookworm) behind the official mariadb image's contract: the
# second engine, `mariadb:MARIADB_LINE` in the node.
mariadb_rootfs=$(await_root mariadb) || die "the MariaDB root could not be built (above)"
mariadb_version=$(upstream_version "$(docker run --rm "$mariadb_rootfs" dpkg-query -W -f '${Version}' mariadb-server)")
case "$mariadb_version" in "$MARIADB_LINE".*) ;; *) die "Debian $DEBIAN_SUITE has MariaDB $mariadb_version, not the $MARIADB_LINE line images/versions.env pins" ;; esac
build_image "storage-conformance/mariadb:$mariadb_version" "$PROJECT_ROOT/images/mariadb" --build-arg "ROOTFS=$mariadb_rootfs" \
  --label "org.opencontainers.image.title=MariaDB $mariadb_version (Debian $DEBIAN_SUITE) behind the official mariadb image's contract" \
  --label "org.opencontainers.image.version=$mariadb_version"
# Only --engine mariadb runs it: the node imports it after it is Ready (images/deferred/).
mkdir -p "$ctx/node/images/deferred"
save_as "$ctx/node/images/deferred/mariadb.tar" "storage-conformance/mariadb:$mariadb_version" "mariadb:$MARIADB_LINE"

# fio and sysbench (Debian MYSQL_DEBIAN_SUITE: sysbench's client library speaks
# MySQL 9's caching_sha2_password) for the performance suite, imported after
# the node is Ready like the second engine.
await_root bench >/dev/null || die "the bench image's root could not be built (above)"
bash "$PROJECT_ROOT/scripts/build-project-images.sh" bench >/dev/null
save_as "$ctx/node/images/deferred/bench.tar" "localhost/storage-conformance/bench:$BENCH_IMAGE_TAG" "localhost/storage-conformance/bench:$BENCH_IMAGE_TAG"

# Oracle MySQL Server from Debian's unstable suite, the default engine: the
# design's `mysql:8.4` in the node (Debian packages no 8.4; sid has the
# MYSQL_LINE). sid moves and keeps only current versions: when it has no
# MYSQL_LINE release, the node serves MariaDB under the mysql names instead,
# and says so in its labels (the reports' header shows it).
mysql_engine=mysql
if mysql_rootfs=$(await_root mysql); then
  mysql_version=$(upstream_version "$(docker run --rm "$mysql_rootfs" dpkg-query -W -f '${Version}' mysql-server-core)")
else
  mysql_version=none
fi
case "$mysql_version" in
  "$MYSQL_LINE".*)
    build_image "storage-conformance/mysql:$mysql_version" "$PROJECT_ROOT/images/mysql" --build-arg "ROOTFS=$mysql_rootfs" \
      --label "org.opencontainers.image.title=Oracle MySQL Server $mysql_version (Debian $MYSQL_DEBIAN_SUITE) behind the official mysql image's contract" \
      --label "org.opencontainers.image.version=$mysql_version"
    save_as "$ctx/node/images/mysql.tar" "storage-conformance/mysql:$mysql_version" "mysql:8.4" "mysql:$MYSQL_LINE" ;;
  *)
    log "WARNING: Debian $MYSQL_DEBIAN_SUITE has no MySQL $MYSQL_LINE (found: $mysql_version); the node serves MariaDB $mariadb_version as mysql:8.4"
    mysql_engine="mariadb (fallback: Debian $MYSQL_DEBIAN_SUITE has no MySQL $MYSQL_LINE)"
    mysql_version="$mariadb_version"
    save_as "$ctx/node/images/mysql.tar" "storage-conformance/mariadb:$mariadb_version" "mysql:8.4" "mysql:$MYSQL_LINE" ;;
esac
docker save -o "$ctx/node/images/pause.tar" "registry.k8s.io/pause:$PAUSE_VERSION"
docker save -o "$ctx/node/images/busybox.tar" "localhost/storage-conformance/busybox:debian"
docker save -o "$ctx/node/images/local-path-provisioner.tar" "localhost/storage-conformance/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION"
cp "$PROJECT_ROOT/images/local-path-provisioner/local-path-storage.yaml" "$ctx/node/manifests/local-storage.yaml"
# Applied after local-storage.yaml (names sort): it uses that file's namespace and RBAC.
cp "$PROJECT_ROOT/images/local-path-provisioner/storage-lazyfs.yaml" "$ctx/node/manifests/storage-lazyfs.yaml"

# Cluster DNS, as k3s ships it, and the ledger writer that reaches MySQL by its Service name.
mkdir -p "$ctx/coredns"
go_build "$ctx/coredns/coredns" "github.com/coredns/coredns@$COREDNS_VERSION" github.com/coredns/coredns
cp "$PROJECT_ROOT/images/coredns/Dockerfile" "$ctx/coredns/"
build_image "localhost/storage-conformance/coredns:$COREDNS_VERSION" "$ctx/coredns"
bash "$PROJECT_ROOT/scripts/build-project-images.sh" writer >/dev/null
docker save -o "$ctx/node/images/coredns.tar" "localhost/storage-conformance/coredns:$COREDNS_VERSION"
docker save -o "$ctx/node/images/ledger-writer.tar" "localhost/storage-conformance/ledger-writer:$LEDGER_WRITER_VERSION"
sed "s|storage-conformance/coredns:.*|storage-conformance/coredns:$COREDNS_VERSION|" "$PROJECT_ROOT/images/coredns/coredns.yaml" >"$ctx/node/manifests/coredns.yaml"

# 3. The node.
node_rootfs=$(await_root node) || die "the node's root could not be built (above)"
cp "$PROJECT_ROOT/images/node/Dockerfile" "$ctx/node/"
build_image "$NODE_IMAGE" "$ctx/node" --build-arg "ROOTFS=$node_rootfs" \
  --label "storage-conformance.kubernetes-version=$KUBERNETES_VERSION" \
  --label "storage-conformance.containerd-version=$CONTAINERD_VERSION" \
  --label "storage-conformance.csi-driver-version=$CSI_DRIVER_VERSION" \
  --label "storage-conformance.csi-sidecars=csi-provisioner $CSI_PROVISIONER_VERSION, csi-snapshotter and snapshot-controller $CSI_SNAPSHOTTER_VERSION, csi-resizer $CSI_RESIZER_VERSION" \
  --label "storage-conformance.network-policy=kube-router $KUBE_ROUTER_VERSION (network policy controller only)" \
  --label "storage-conformance.recipe=$recipe_hash" \
  --label "storage-conformance.mysql-engine=$mysql_engine" \
  --label "storage-conformance.mysql-version=$mysql_version" \
  --label "storage-conformance.mariadb-version=$mariadb_version"
docker tag "$NODE_IMAGE" storage-conformance/kubenode:latest
log "built $NODE_IMAGE in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$NODE_IMAGE"
