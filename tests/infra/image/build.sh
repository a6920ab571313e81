#!/usr/bin/env bash
# Builds the operator's image from deploy/Dockerfile with engine.sh (Docker where its daemon answers, else podman),
# tagged localhost/flink-manager:<key> and with the image deploy/deployment.yaml names.
#
# The base (deploy/Dockerfile's only build argument): $FLINK_MANAGER_IMAGE_BASE when set; with Docker, the
# Dockerfile's default (the public Python image); with podman, a Debian bookworm root filesystem with python3 and
# python3-venv (BASE_PACKAGES) made by mmdebstrap from Debian's packages, kept as
#   $FLINK_MANAGER_CACHE/image/base-<suite>-<base key>.tar   and imported as localhost/flink-manager-base:<...>.
# <base key> hashes the mmdebstrap recipe; <key> hashes the base, deploy/Dockerfile, .dockerignore and every file of
# the build context. Either is rebuilt only when its key changes; otherwise the script only reports.
#
#   build.sh         build what is missing (installing podman, runc and mmdebstrap when needed), then print the
#                    image, its size and its Python packages
#   build.sh --tag   print the image the current inputs map to; exit 1 if it is not built
set -euo pipefail

SUITE=bookworm
# python3 and its venv module for deploy/Dockerfile; the CA certificates and netbase that the public Python image
# has too (so https artifact URLs verify the same way on both bases).
BASE_PACKAGES=python3,python3-venv,ca-certificates,netbase
RECIPE=1   # bump when a build command below changes, so the caches are rebuilt
KEEP=4     # images of other keys kept (other checkouts sharing the cache may be building them)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"
engine="$here/engine.sh"
folder="$cache/image"
repository=localhost/flink-manager

# The base's recipe, which is also its cache key: Debian's essential packages and BASE_PACKAGES from mmdebstrap's
# default mirrors (for a stable release, with its updates and security updates); no documentation, manual pages
# or translations.
mmdebstrap_args=(
    --variant=essential --include="$BASE_PACKAGES"
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*'
    "$SUITE" -
)
base_key="$(printf '%s\n' "${mmdebstrap_args[@]}" "recipe-$RECIPE" | sha256sum | cut -c1-16)"
base_tar="$folder/base-$SUITE-$base_key.tar"
debian_base="localhost/flink-manager-base:$SUITE-$base_key"

# What .dockerignore lets into the build context (keep the two in step): files by content, links by target.
context_digest() {
    cd "$root"
    local paths=(pyproject.toml README.md operator crds)
    local prune=(\( -name __pycache__ -o -name '*.egg-info' \) -prune -o)
    {
        find "${paths[@]}" "${prune[@]}" -type f ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
        find "${paths[@]}" "${prune[@]}" -type l -printf '%p -> %l\n' | sort
    } | sha256sum | cut -c1-16
}

if ! name="$("$engine" --name 2>/dev/null)"; then
    if [ "${1:-}" = --tag ]; then
        echo "no container engine: run \`make image\`" >&2
        exit 1
    fi
    "$engine" --install
    name="$("$engine" --name)"
fi

if [ -n "${FLINK_MANAGER_IMAGE_BASE:-}" ]; then
    base="$FLINK_MANAGER_IMAGE_BASE"
elif [ "$name" = docker ]; then
    base=""   # deploy/Dockerfile's default
else
    base="$debian_base"
fi
key="$(cat "$root/deploy/Dockerfile" "$root/.dockerignore" <(echo "base=$base context=$(context_digest) recipe-$RECIPE") \
    | sha256sum | cut -c1-16)"
image="$repository:$key"

present() {
    "$engine" image inspect --format '{{.Id}}' "$1" >/dev/null 2>&1
}

if [ "${1:-}" = --tag ]; then
    echo "$image"
    present "$image"
    exit
fi

mkdir -p "$folder"
# One build at a time per cache (two test runs starting together must not both build).
exec 9>"$folder/.lock"
flock 9

began=$SECONDS
if present "$image"; then
    echo "The image $image is built (cached)"
else
    if [ "$base" = "$debian_base" ] && ! present "$base"; then
        if [ ! -s "$base_tar" ]; then
            if ! command -v mmdebstrap >/dev/null; then
                echo "Installing mmdebstrap from Debian's packages"
                flock /tmp/flink-manager-apt.lock apt-get update -qq
                DEBIAN_FRONTEND=noninteractive flock /tmp/flink-manager-apt.lock apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
            fi
            echo "Making the base: Debian $SUITE with $BASE_PACKAGES (mmdebstrap) into $base_tar"
            staging="$(mktemp "$folder/.base.XXXXXX")"
            trap 'rm -f "$staging"' EXIT
            mmdebstrap --quiet "${mmdebstrap_args[@]}" >"$staging"
            chmod 644 "$staging"
            mv "$staging" "$base_tar"
            trap - EXIT
            echo "Made the base in $((SECONDS - began))s: $(du -h "$base_tar" | cut -f1)"
            # Bases of earlier recipes go (a root filesystem is 150 MB).
            for old in "$folder"/base-*.tar; do
                if [ "$old" != "$base_tar" ]; then rm -f "$old"; fi
            done
        fi
        echo "Importing $base_tar as $base"
        "$engine" import --quiet "$base_tar" "$base" >/dev/null
        for old in $("$engine" images --format '{{.Repository}}:{{.Tag}}' localhost/flink-manager-base); do
            if [ "$old" != "$base" ]; then "$engine" rmi "$old" >/dev/null 2>&1 || true; fi
        done
    fi
    echo "Building $image from deploy/Dockerfile${base:+ on $base}"
    building=$SECONDS
    build=(build --file "$root/deploy/Dockerfile" --tag "$image")
    if [ -n "$base" ]; then build+=(--build-arg "BASE=$base"); fi
    # pip in the build trusts what this machine trusts (a TLS-inspecting proxy's CA, say): the bundle is a build
    # secret, never part of the image.
    bundle="${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}"
    if [ -s "$bundle" ]; then build+=(--secret "id=pip-cert,src=$bundle"); fi
    # podman's RUN steps share the host's network (this machine has no bridge networking to give them).
    if [ "$name" = podman ]; then build+=(--network=host); fi
    "$engine" "${build[@]}" "$root"
    # Images of older keys beyond the newest $KEEP go, and layers nothing has used for a day (the newer ones are
    # the build cache: deploy/Dockerfile installs the dependencies in a layer of their own).
    for old in $("$engine" images --format '{{.Repository}}:{{.Tag}}' "$repository" | { grep -v ":$key\$" || true; } \
            | tail -n "+$((KEEP + 1))"); do
        "$engine" rmi "$old" >/dev/null 2>&1 || true
    done
    "$engine" image prune --force --filter until=24h >/dev/null
    echo "Built $image in $((SECONDS - began))s (the image itself: $((SECONDS - building))s)"
fi

# The image deploy/deployment.yaml runs, so that a local cluster (kind, minikube) can be given this build.
deployed="$(sed -n 's/^ *image: *//p' "$root/deploy/deployment.yaml" | head -n 1)"
if [ -n "$deployed" ]; then "$engine" tag "$image" "$deployed"; fi

size="$("$engine" image inspect --format '{{.Size}}' "$image")"
echo "  image:    $image (also $deployed)"
echo "  base:     ${base:-the default of deploy/Dockerfile}"
echo "  size:     $((size / 1000000)) MB"
echo "  packages: $("$engine" run --rm --network=none --read-only --entrypoint python3 "$image" -c '
import importlib.metadata as m
print(" ".join(sorted((f"{d.name}=={d.version}" for d in m.distributions()), key=str.lower)))')"
