#!/usr/bin/env bash
# Builds the example job jar $FLINK_MANAGER_CACHE/jobs/flink-<version>/flink-manager-example-job.jar with javac
# against that version's cached flink-dist jar (tests/infra/flink/install.sh), for each version given (default:
# the newest of tests/infra/flink/versions.py). One source compiles against every version from 1.18 to 2.3.
# Idempotent: rebuilds only when the sources, this script or the Flink version change. Prints each jar's path.
set -euo pipefail

NEWEST=2.3.0
ENTRY_CLASS=io.flinkmanager.examples.StatefulCounterJob

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"

build() {
    local version="$1"
    local flink_dist="$cache/flink-$version/lib/flink-dist-$version.jar"
    local out="$cache/jobs/flink-$version"
    local jar="$out/flink-manager-example-job.jar"
    local stamp="$out/flink-manager-example-job.inputs"
    if [ ! -f "$flink_dist" ]; then
        echo "$flink_dist is missing: run \`make infra-flink\` (tests/infra/flink/install.sh $version) first" >&2
        return 1
    fi
    local inputs
    inputs="$(cd "$here" && { echo "flink $version"; sha256sum build.sh $(find src -type f | LC_ALL=C sort); })"
    if [ -f "$jar" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
        echo "$jar"
        return 0
    fi
    mkdir -p "$out"
    local work
    work="$(mktemp -d "$out/build.XXXXXX")"
    mkdir -p "$work/classes"
    javac --release 17 -Xlint:all -Werror -encoding UTF-8 -cp "$flink_dist" -d "$work/classes" \
        $(find "$here/src/main/java" -name '*.java' | LC_ALL=C sort)
    cat >"$work/MANIFEST.MF" <<MANIFEST
Main-Class: $ENTRY_CLASS
Entry-Class: $ENTRY_CLASS
Implementation-Title: flink-manager-example-job
Implementation-Version: 1.0.0
MANIFEST
    # Fixed timestamps keep the jar (and so its sha256) identical across rebuilds of the same sources.
    jar --create --file "$work/job.jar" --manifest "$work/MANIFEST.MF" --date 2026-01-01T00:00:00Z -C "$work/classes" .
    mv "$work/job.jar" "$jar"
    echo "$inputs" >"$stamp"
    rm -rf "$work"
    echo "$jar"
}

for version in "${@:-$NEWEST}"; do
    build "$version"
done
