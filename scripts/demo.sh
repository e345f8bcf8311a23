#!/usr/bin/env bash
# Set up, then run the main job on sample_clips/: index → sources (→ search → synopsis → export as they land).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
OUT=${OUT:-demo-out}
STORE="$OUT/store"
mkdir -p "$OUT"
echo "== vsearch index sample_clips/ (store: $STORE)"
vsearch index sample_clips --store "$STORE" --report "$OUT/index-report.json" || true
echo "== vsearch sources"
vsearch sources --store "$STORE"
