#!/usr/bin/env bash
# Makes sure a Docker engine answers. On Debian as root it installs docker.io and
# starts dockerd when none runs; elsewhere it says what to install.
source "$(dirname "$0")/lib.sh"

docker_answers() { command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; }

if docker_answers; then exit 0; fi
if [ -n "${DOCKER_HOST:-}" ]; then
  die "DOCKER_HOST=$DOCKER_HOST does not answer ('docker info' failed); start that engine or unset DOCKER_HOST"
fi
is_debian_root || die "no Docker engine answers. Install Docker Engine (https://docs.docker.com/engine/install/) and start it, or set DOCKER_HOST"

apt_install docker.io
if ! pgrep -x dockerd >/dev/null; then
  log "starting dockerd (log: $CACHE_DIR/dockerd.log)"
  # setsid: the engine must outlive this script and the test run that started it.
  setsid nohup dockerd >>"$CACHE_DIR/dockerd.log" 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do
  if docker_answers; then log "dockerd is up"; exit 0; fi
  sleep 0.5
done
die "dockerd did not answer within 30 s; last lines of $CACHE_DIR/dockerd.log:
$(tail -n 20 "$CACHE_DIR/dockerd.log" 2>/dev/null)"
