#!/usr/bin/env bash
# Builds the example job jar $FLINK_MANAGER_CACHE/jobs/flink-manager-example-job.jar with javac
# against the cached flink-dist jar (tests/infra/flink/install.sh). Idempotent: rebuilds only
# when the sources, this script or the Flink version change. Prints the jar's path.
set -euo pipefail

FLINK_VERSION=2.3.0
ENTRY_CLASS=io.flinkmanager.examples.StatefulCounterJob

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"
flink_dist="$cache/flink-$FLINK_VERSION/lib/flink-dist-$FLINK_VERSION.jar"
out="$cache/jobs"
jar="$out/flink-manager-example-job.jar"
stamp="$out/flink-manager-example-job.inputs"

if [ ! -f "$flink_dist" ]; then
    echo "$flink_dist is missing: run \`make infra-flink\` (tests/infra/flink/install.sh) first" >&2
    exit 1
fi

inputs="$(cd "$here" && { echo "flink $FLINK_VERSION"; sha256sum build.sh $(find src -type f | LC_ALL=C sort); })"
if [ -f "$jar" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
    echo "$jar"
    exit 0
fi

mkdir -p "$out"
work="$(mktemp -d "$out/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
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
echo "$jar"
