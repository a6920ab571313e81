#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's package `prometheus` (the e2e tier tests the alerts with
# `promtool test rules` and scrapes the operator with a real Prometheus). Idempotent: returns at once when both
# programs are on PATH. Needs apt-get, as root or through sudo.
#
# The package's own service, where systemd runs it, is left as the package sets it up; the tests start their
# own Prometheus on a free port with a configuration and storage of their own.
set -euo pipefail

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    echo "Prometheus is installed: $(promtool --version 2>&1 | head -1)"
    exit 0
fi

command -v apt-get >/dev/null || {
    echo "prometheus and promtool are needed (Debian's package \`prometheus\`): install them, or run on Debian/Ubuntu" >&2
    exit 1
}
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "installing the package \`prometheus\` needs root (or sudo)" >&2; exit 1; }
    sudo="sudo"
fi
echo "Installing Debian's package prometheus (prometheus, promtool)"
export DEBIAN_FRONTEND=noninteractive
$sudo flock /tmp/flink-manager-apt.lock apt-get update -qq
$sudo flock /tmp/flink-manager-apt.lock apt-get install -y -qq --no-install-recommends prometheus >/dev/null
echo "Installed: $(promtool --version 2>&1 | head -1)"
