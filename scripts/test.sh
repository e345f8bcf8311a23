#!/usr/bin/env bash
# Run the test suite on a fresh machine: installs everything it needs (venv, pinned packages, ffmpeg binary via
# the imageio-ffmpeg wheel, headless Chromium for the report test), then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser report test will fail in CI" >&2
fi
. .venv/bin/activate
mkdir -p test-artifacts
# -n auto: one worker per core; loadfile keeps a module's tests (and its module-scoped indexed stores) on one worker
exec python -m pytest -q -p no:cacheprovider -n auto --dist loadfile "$@"
