#!/usr/bin/env bash
# The container engine that builds and runs the operator's image: Docker where its daemon answers, else podman
# with the settings of containers.conf beside this script and its storage under $FLINK_MANAGER_CACHE/containers/.
# FLINK_MANAGER_CONTAINER_ENGINE=docker|podman skips the choice.
#
#   engine.sh ARGS...   run `docker ARGS` or `podman ARGS`
#   engine.sh --name    print docker or podman (exit 1 when neither is usable)
#   engine.sh --install without a Docker daemon: install podman, runc and slirp4netns from Debian's packages
#                       where missing (as root)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"
# podman and runc run the image; slirp4netns gives a container its own network that still reaches the host's
# loopback (the e2e tier's API server, Flink and jar server listen there).
PODMAN_PACKAGES=(podman runc slirp4netns)

choose() {
    case "${FLINK_MANAGER_CONTAINER_ENGINE:-}" in
        docker | podman)
            command -v "$FLINK_MANAGER_CONTAINER_ENGINE" >/dev/null || return 1
            echo "$FLINK_MANAGER_CONTAINER_ENGINE"
            return
            ;;
        "") ;;
        *) echo "FLINK_MANAGER_CONTAINER_ENGINE=$FLINK_MANAGER_CONTAINER_ENGINE: use docker or podman" >&2; return 1 ;;
    esac
    # A docker client without a daemon (`docker info` fails) does not count.
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
        echo docker
    elif command -v podman >/dev/null; then
        echo podman
    else
        return 1
    fi
}

case "${1:-}" in
    --name)
        choose
        exit
        ;;
    --install)
        if [ "$(choose 2>/dev/null)" = docker ]; then
            exit 0
        fi
        missing=()
        for package in "${PODMAN_PACKAGES[@]}"; do
            command -v "$package" >/dev/null || missing+=("$package")
        done
        if [ "${#missing[@]}" = 0 ]; then
            exit 0
        fi
        if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
            echo "no container engine: install Docker, or ${PODMAN_PACKAGES[*]} (Debian: apt-get install ${missing[*]})" >&2
            exit 1
        fi
        echo "Installing ${missing[*]} from Debian's packages"
        flock /tmp/flink-manager-apt.lock apt-get update -qq
        DEBIAN_FRONTEND=noninteractive flock /tmp/flink-manager-apt.lock apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        exit 0
        ;;
esac

engine="$(choose)" || { echo "no container engine: run \`$0 --install\` (or \`make image\`)" >&2; exit 1; }
if [ "$engine" = docker ]; then
    # BuildKit: deploy/Dockerfile mounts a build secret.
    export DOCKER_BUILDKIT=1
    exec docker "$@"
fi
export CONTAINERS_CONF="$here/containers.conf"
store="$cache/containers"
mkdir -p "$store/tmp"
exec podman --root "$store/storage" --runroot "$store/run" --tmpdir "$store/tmp" "$@"
