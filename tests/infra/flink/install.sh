#!/usr/bin/env bash
# Installs the Apache Flink 2.3.0 runtime (JobManager and TaskManager jars) into
# $FLINK_MANAGER_CACHE/flink-2.3.0, a FLINK_HOME-like layout, from the PyPI wheel
# `apache-flink-libraries` (the same jars as the binary distribution). Idempotent:
# returns at once when that version is already installed.
set -euo pipefail

FLINK_VERSION=2.3.0
# Digest of apache_flink_libraries-2.3.0-py2.py3-none-any.whl as served by PyPI.
WHEEL_SHA256=38ece876553286b3a285cf344c2d2038f8a7ca10da5df54d5107250386d64151

# Bumped whenever the unpacked layout changes, so existing caches are refreshed.
LAYOUT=2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${FLINK_MANAGER_CACHE:-$root/.cache}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$cache/pip}"
home="$cache/flink-$FLINK_VERSION"
marker="$home/.installed"
python="$root/.venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$WHEEL_SHA256 layout-$LAYOUT" ]; then
    echo "Flink $FLINK_VERSION is installed in $home"
    exit 0
fi

command -v java >/dev/null || { echo "java (17) is required to run Flink" >&2; exit 1; }

# Unpack into a fresh directory and swap it in, so an interrupted run never leaves half an install.
mkdir -p "$cache"
staging="$(mktemp -d "$cache/flink-$FLINK_VERSION.staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

wheels="$PIP_CACHE_DIR/downloads"
wheel="$wheels/apache_flink_libraries-$FLINK_VERSION-py2.py3-none-any.whl"
mkdir -p "$wheels"
if [ ! -f "$wheel" ] || [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$WHEEL_SHA256" ]; then
    echo "Downloading apache-flink-libraries==$FLINK_VERSION (329 MB) into $wheels"
    requirements="$staging/requirements.txt"
    echo "apache-flink-libraries==$FLINK_VERSION --hash=sha256:$WHEEL_SHA256" >"$requirements"
    # The wheel is only unpacked, never installed: it would add 329 MB to the virtualenv.
    "$python" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
            --dest "$wheels" -r "$requirements"
    rm "$requirements"
fi

"$python" - "$wheel" "$staging" <<'PY'
import pathlib
import shutil
import sys
import zipfile

wheel, target = sys.argv[1], pathlib.Path(sys.argv[2])
# lib/ (flink-dist, log4j, table, connectors), bin/bash-java-utils.jar (memory flags), plugins/.
wanted = ("pyflink/lib/", "pyflink/bin/", "pyflink/plugins/")
with zipfile.ZipFile(wheel) as archive:
    for member in archive.infolist():
        if member.is_dir() or not member.filename.startswith(wanted):
            continue
        destination = target / member.filename.removeprefix("pyflink/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as source, destination.open("wb") as sink:
            shutil.copyfileobj(source, sink)

# The default config.yaml of the distribution (it carries the JVM flags Java 17 needs) is inside flink-dist.
(target / "conf").mkdir()
with zipfile.ZipFile(next((target / "lib").glob("flink-dist-*.jar"))) as dist:
    (target / "conf" / "config.yaml").write_bytes(dist.read("config.yaml"))
PY
cp "$here/log4j.properties" "$staging/conf/log4j.properties"
echo "$WHEEL_SHA256 layout-$LAYOUT" >"$staging/.installed"
rm -rf "$home"
mv "$staging" "$home"
trap - EXIT
echo "Flink $FLINK_VERSION is installed in $home"
