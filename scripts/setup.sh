#!/usr/bin/env bash
# Create ./.venv and install vsearch with its pinned dependencies (idempotent; nothing needs apt).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
stamp=.venv/.vsearch-installed
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  python -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | grep -v '^WARNING: Location' || true
  python -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
  python -c "import vsearch, av, lancedb, imageio_ffmpeg; imageio_ffmpeg.get_ffmpeg_exe()"
  echo "$want" > "$stamp"
fi
