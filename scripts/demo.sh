#!/usr/bin/env bash
# Set up, then run the main job on sample_clips/: index → search → synopsis → export → verify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
# Piped into a file or a log, tables get 120 columns (rich's default of 80 cuts the sources listing).
[ -t 1 ] || export COLUMNS="${COLUMNS:-120}"
OUT=${OUT:-demo-out}
STORE="$OUT/store"
mkdir -p "$OUT"
# A demo site config: one authorised investigator (searches and exports need one; see docs/legal.md).
cat > "$OUT/vsearch.toml" <<TOML
site_name = "vsearch demo"
retention_days = 30
[[investigators]]
id = "demo-opj"
name = "Demo Investigator"
authorisation_ref = "demo only"
valid_from = 2024-01-01
valid_until = 2099-12-31
TOML
export VSEARCH_CONFIG="$OUT/vsearch.toml" VSEARCH_INVESTIGATOR=demo-opj
ACCESS=(--case DEMO-2026-001 --reason "vsearch demo on the sample clip")

# The default detector, attribute and re-id models are built into the package: nothing to install.
echo "== vsearch models list   (which copy of each model is used, with its SHA-256; docs/models.md)"
vsearch models list
echo "== vsearch index sample_clips/"
vsearch index sample_clips --store "$STORE" --report "$OUT/index-report.json"
vsearch sources --store "$STORE"
echo "== vsearch search \"personne en haut rouge\""
vsearch search "personne en haut rouge" --limit 5 --store "$STORE" "${ACCESS[@]}"
echo "== vsearch search --class person --direction left --json > $OUT/results.json"
vsearch search --class person --direction left --store "$STORE" "${ACCESS[@]}" --json > "$OUT/results.json"
echo "== vsearch synopsis (people walking left) -o $OUT/synopsis.mp4"
vsearch synopsis --from-results "$OUT/results.json" -o "$OUT/synopsis.mp4" --store "$STORE" "${ACCESS[@]}"
echo "== vsearch export \"personne en haut rouge\" --strict -o $OUT/bundle   (only objects matching every term)"
rm -rf "$OUT/bundle" "$OUT/bundle.zip"
vsearch export "personne en haut rouge" --strict -o "$OUT/bundle" --zip --store "$STORE" "${ACCESS[@]}"
echo "== vsearch verify $OUT/bundle.zip"
vsearch verify "$OUT/bundle.zip" --store "$STORE"  # trusted: signed by this site's own key
vsearch audit verify --store "$STORE"
echo "Done. Open $OUT/bundle/report.html in a browser; the synopsis is $OUT/synopsis.mp4."
