#!/usr/bin/env bash
# Builds helm, for the chart tests (deploy/helm/), from the Go module proxy at the version pinned in go.mod next
# to this script, into
#   $FLINK_MANAGER_CACHE/helm/<key>/bin/helm
# where <key> hashes go.mod, go.sum, tools.go, the Go version and RECIPE: a pin change rebuilds, otherwise the
# script only prints where the binary is (tests/infra/kube/build.sh works the same way).
#
#   build.sh            build if needed, print the bin folder
#   build.sh --bin-dir  print the bin folder the current pins map to; exit 1 if it is not built
set -euo pipefail

HELM_VERSION=v4.3.2   # helm.sh/helm/v4 in go.mod
RECIPE=1              # bump when the build command below changes, so caches are rebuilt

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"
export GOMODCACHE="${GOMODCACHE:-$cache/go/mod}"
export GOCACHE="${GOCACHE:-$cache/go/build}"
export GOTOOLCHAIN=local
# Static, as helm's own release builds it; the same flags as the Kubernetes build, so compiled packages are shared.
export CGO_ENABLED=0

command -v go >/dev/null || { echo "go (1.26 or newer) is required to build helm" >&2; exit 1; }

go_version="$(go env GOVERSION)"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/tools.go" <(echo "$go_version recipe-$RECIPE") | sha256sum | cut -c1-16)"
home="$cache/helm/$HELM_VERSION-$key"
bin="$home/bin"

built() {
    [ -f "$home/.built" ] && [ -x "$bin/helm" ]
}

if [ "${1:-}" = "--bin-dir" ]; then
    echo "$bin"
    built
    exit
fi

mkdir -p "$cache/helm"
# One build at a time per cache: `make test` starts this in the background and calls it again before the tier that
# needs helm, which then waits here for the first build instead of compiling a second time.
exec 9>"$cache/helm/.lock"
flock 9

if built; then
    echo "helm $HELM_VERSION is built in $bin"
    exit 0
fi

echo "Building helm $HELM_VERSION with $go_version into $bin (module cache $GOMODCACHE, build cache $GOCACHE)"
began=$SECONDS
staging="$(mktemp -d "$cache/helm/.staging.XXXXXX")"
chmod 755 "$staging"
trap 'rm -rf "$staging"' EXIT

# What `helm version` reports (helm's Makefile sets the same variables; the module zip carries no commit).
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

cd "$here"
go build -trimpath -p "${HELM_BUILD_PARALLELISM:-2}" -ldflags "$ldflags" -o "$staging/bin/helm" helm.sh/helm/v4/cmd/helm

reported="$("$staging/bin/helm" version --short)"
case "$reported" in
    "$HELM_VERSION"*) ;;
    *) echo "helm does not report $HELM_VERSION: the version ldflags did not apply; it says: $reported" >&2; exit 1 ;;
esac
printf '%s\n' "helm=$HELM_VERSION" "go=$go_version" "seconds=$((SECONDS - began))" >"$staging/.built"

# Swap the finished folder in and drop the binaries of earlier pins.
for old in "$cache"/helm/v*; do
    if [ -d "$old" ] && [ "$old" != "$home" ]; then rm -rf "$old"; fi
done
rm -rf "$home"
mv "$staging" "$home"
trap - EXIT
echo "Built in $((SECONDS - began))s: $(du -sh "$bin" | cut -f1) in $bin"
