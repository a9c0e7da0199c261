#!/usr/bin/env bash
# build-rootfs.sh NAME PACKAGE[,PACKAGE...] [SUITE]
# Builds a minimal Debian root filesystem (SUITE, default bookworm) with
# debootstrap and imports it as the Docker image storage-conformance/rootfs-NAME:HASH
# (HASH covers the suite and the package list). Prints the image name. Cached:
# a second call does nothing. The packages' exact versions are in the image's
# /etc/storage-conformance-packages.txt.
source "$(dirname "$0")/lib.sh"

name="$1"; packages="$2"
suite="${3:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
hash=$(printf '%s\n' "$suite" "$packages" | sha256sum | cut -c1-12)
image="storage-conformance/rootfs-$name:$hash"

if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
# The Debian archive keyring: debootstrap checks the Release signature with it (Ubuntu does not install it by default).
apt_install debootstrap debian-archive-keyring
tarball="$CACHE_DIR/rootfs/$name-$hash.tar"
if [ ! -s "$tarball" ]; then
  work=$(mktemp -d "$CACHE_DIR/debootstrap.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  log "debootstrap $suite ($packages) into $work"
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" >"$work/log" 2>&1 \
    || die "debootstrap failed for $name; last lines:
$(tail -n 20 "$work/log")"
  # What the image really contains, for the reports: package=version lines.
  chroot "$work/root" dpkg-query -W -f '${Package}=${Version}\n' >"$work/root/etc/storage-conformance-packages.txt"
  # A database package's postinst may initialise a data directory: the images
  # start empty, like the official ones, and carry no package caches.
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/var/lib/mysql/"*
  mkdir -p "$CACHE_DIR/rootfs"
  tar -C "$work/root" --numeric-owner -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
docker import --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
log "imported $image ($(du -h "$tarball" | cut -f1))"
echo "$image"
