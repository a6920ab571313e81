#!/usr/bin/env bash
# Builds the real Kubernetes control plane the tests run (kube-apiserver,
# kube-controller-manager, kubectl) and etcd from the Go module proxy, at the
# versions pinned in go.mod next to this script, into
#   $FLINK_MANAGER_CACHE/kube/<key>/bin/
# where <key> hashes go.mod, go.sum, tools.go, the Go version and RECIPE: a pin
# change rebuilds, otherwise the script only prints where the binaries are.
#
#   build.sh            build if needed, print the bin folder
#   build.sh --bin-dir  print the bin folder the current pins map to; exit 1 if it is not built
set -euo pipefail

KUBE_VERSION=v1.37.2   # k8s.io/kubernetes in go.mod
ETCD_VERSION=v3.7.0    # go.etcd.io/etcd/server/v3 in go.mod (what that Kubernetes release pins)
RECIPE=1               # bump when the build command below changes, so caches are rebuilt

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"
export GOMODCACHE="${GOMODCACHE:-$cache/go/mod}"
export GOCACHE="${GOCACHE:-$cache/go/build}"
# The machine's own Go builds it (go.mod asks for 1.26.0); never fetch another toolchain.
export GOTOOLCHAIN=local
# Static binaries, as the Kubernetes release builds them; also spares a C compiler.
export CGO_ENABLED=0

command -v go >/dev/null || { echo "go (1.26 or newer) is required to build the Kubernetes binaries" >&2; exit 1; }

go_version="$(go env GOVERSION)"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/tools.go" <(echo "$go_version recipe-$RECIPE") | sha256sum | cut -c1-16)"
home="$cache/kube/$KUBE_VERSION-$key"
bin="$home/bin"
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

built() {
    [ -f "$home/.built" ] && for name in "${binaries[@]}"; do [ -x "$bin/$name" ] || return 1; done
}

if [ "${1:-}" = "--bin-dir" ]; then
    echo "$bin"
    built
    exit
fi

mkdir -p "$cache/kube"
# One build at a time per cache (two test runs starting together must not both compile).
exec 9>"$cache/kube/.lock"
flock 9

if built; then
    echo "Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION are built in $bin"
    exit 0
fi

echo "Building Kubernetes $KUBE_VERSION (kube-apiserver, kube-controller-manager, kubectl) and etcd $ETCD_VERSION"
echo "  with $go_version into $bin (module cache $GOMODCACHE, build cache $GOCACHE)"
began=$SECONDS
staging="$(mktemp -d "$cache/kube/.staging.XXXXXX")"
chmod 755 "$staging"
trap 'rm -rf "$staging"' EXIT

# What `kubectl version` and GET /version report; the module zips carry no commit, so gitCommit stays empty.
minor="${KUBE_VERSION#v1.}"
minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $package.gitVersion=$KUBE_VERSION -X $package.gitMajor=1 -X $package.gitMinor=$minor"
    ldflags+=" -X $package.gitTreeState=clean -X $package.gitCommit= -X $package.buildDate=$build_date"
done

cd "$here"
# One invocation, so the packages the four programs share are compiled once; -p 2 matches the machine.
go build -trimpath -p "${KUBE_BUILD_PARALLELISM:-2}" -ldflags "$ldflags" -o "$staging/bin/" \
    go.etcd.io/etcd/server/v3 \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kubectl
# `go build -o dir/` names a program after its import path without the major version: server/v3 -> server.
mv "$staging/bin/server" "$staging/bin/etcd"

# Read the whole output first: `| grep -q` would close the pipe early, and under pipefail kubectl's SIGPIPE fails it.
reported="$("$staging/bin/kubectl" version --client)"
case "$reported" in
    *"Client Version: $KUBE_VERSION"*) ;;
    *) echo "kubectl does not report $KUBE_VERSION: the version ldflags did not apply; it says: $reported" >&2; exit 1 ;;
esac
printf '%s\n' "kubernetes=$KUBE_VERSION" "etcd=$ETCD_VERSION" "go=$go_version" "seconds=$((SECONDS - began))" >"$staging/.built"

# Swap the finished folder in and drop the binaries of earlier pins (a few hundred MB each).
for old in "$cache"/kube/v*; do
    if [ -d "$old" ] && [ "$old" != "$home" ]; then rm -rf "$old"; fi
done
rm -rf "$home"
mv "$staging" "$home"
trap - EXIT
echo "Built in $((SECONDS - began))s: $(du -sh "$bin" | cut -f1) in $bin"
