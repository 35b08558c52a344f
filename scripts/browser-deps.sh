#!/usr/bin/env bash
# Installs what the web UI's browser tests need when it is missing: Debian's Chromium and
# ChromeDriver (/usr/bin/chromium, /usr/bin/chromedriver). The tests start them themselves.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
echo "installing Chromium and ChromeDriver for the browser tests" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
