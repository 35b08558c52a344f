#!/usr/bin/env bash
# Creates (once) a Python virtualenv with the OpenTelemetry SDK and OTLP exporters pinned in
# heimsight-cli/tests/otel_sdk/requirements.txt, and prints the path of its python.
#
# The venv lives outside the clone: $HEIMSIGHT_VENV, default ~/.cache/heimsight-venv. It is
# rebuilt when the requirements change. Needs python3 with the venv module (Debian:
# python3-venv), which is installed with apt when missing and possible.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/heimsight-cli/tests/otel_sdk/requirements.txt"
venv="${HEIMSIGHT_VENV:-$HOME/.cache/heimsight-venv}"
stamp="$venv/.heimsight-requirements"

if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2 && $sudo_cmd apt-get install -y -qq python3 python3-venv >&2
  else
    echo "python3 with the venv module is needed for the OpenTelemetry SDK tests" >&2
    exit 1
  fi
fi

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$stamp"; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  cp "$req" "$stamp"
fi
echo "$venv/bin/python"
