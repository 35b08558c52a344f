#!/usr/bin/env bash
# Fetches Debian's Prometheus for the test that has a real Prometheus scrape `heimsight serve`'s
# /metrics: the package is downloaded and unpacked into ~/.cache/heimsight-prometheus (not
# installed, so that no system service starts); the test runs its binary itself on loopback.
set -euo pipefail

dest="${HEIMSIGHT_PROMETHEUS_DIR:-$HOME/.cache/heimsight-prometheus}"
if [ -x "$dest/usr/bin/prometheus" ]; then
  exit 0
fi
echo "fetching Debian's Prometheus into $dest for the /metrics scrape test" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1); then
  $SUDO apt-get update -qq
  (cd "$tmp" && apt-get download prometheus >/dev/null)
fi
mkdir -p "$dest"
dpkg-deb -x "$tmp"/prometheus_*.deb "$dest"
"$dest/usr/bin/prometheus" --version >/dev/null
