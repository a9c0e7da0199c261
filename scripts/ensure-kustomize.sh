#!/usr/bin/env bash
# Prints a command that builds kustomizations: kustomize or kubectl from PATH,
# else the pinned kustomize built once from the Go module proxy into the cache.
source "$(dirname "$0")/lib.sh"
source "$PROJECT_ROOT/images/versions.env"
if command -v kustomize >/dev/null; then echo "kustomize build"; exit 0; fi
if command -v kubectl >/dev/null; then echo "kubectl kustomize"; exit 0; fi
bin="$CACHE_DIR/bin/kustomize-$KUSTOMIZE_VERSION"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || die "a kustomization.yaml needs kustomize: install kustomize or kubectl, or Go >= 1.22 to build it"
  log "building kustomize $KUSTOMIZE_VERSION from the Go module proxy"
  mkdir -p "$CACHE_DIR/bin"
  GOBIN="$CACHE_DIR/gobin.$$" CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2 \
    || die "building kustomize failed"
  mv "$CACHE_DIR/gobin.$$/kustomize" "$bin"; rm -rf "$CACHE_DIR/gobin.$$"
fi
echo "$bin build"
