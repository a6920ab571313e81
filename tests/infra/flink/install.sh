#!/usr/bin/env bash
# Installs real Apache Flink versions (default: every version of tests/infra/flink/versions.py) into
# $FLINK_MANAGER_CACHE/flink-<version>, from their hash-pinned distributions on PyPI: see install.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="$root/.venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"
cd "$root"
exec "$python" -m tests.infra.flink.install "$@"
