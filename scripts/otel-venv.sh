#!/usr/bin/env bash
# Creates (once) a Python virtualenv with the test peers pinned in
# heimsight-cli/tests/otel_sdk/requirements.txt (the OpenTelemetry SDK and OTLP exporters, the
# aiosmtpd SMTP server, the pyte terminal emulator, Schemathesis), and prints the path of its
# python.
#
# The venv lives outside the clone: $HEIMSIGHT_VENV, default
# ~/.cache/heimsight-venv-<hash of the requirements>, so clones or worktrees with different
# requirements never rebuild (and delete) each other's venv; a lock file serializes concurrent
# runs. Needs python3 with the venv module (Debian: python3-venv), which is installed with apt
# when missing and possible.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/heimsight-cli/tests/otel_sdk/requirements.txt"
hash="$(sha256sum "$req" | cut -c1-12)"
venv="${HEIMSIGHT_VENV:-$HOME/.cache/heimsight-venv-$hash}"
stamp="$venv/.heimsight-requirements"

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2 && $sudo_cmd apt-get install -y -qq python3 python3-venv >&2
  else
    echo "python3 with the venv module is needed for the tests against Python peers" >&2
    exit 1
  fi
fi

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv/bin/python"
