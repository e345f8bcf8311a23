"""The human-readable files of a bundle: VERIFY.txt (checks with standard tools) and report.html (offline view)."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from vsearch.evidence.layout import REPORT


def verify_text(manifest: Mapping[str, Any]) -> str:
    fp = manifest["signing"]["public_key_sha256"]
    head = manifest.get("audit_head") or {}
    return f"""\
How to verify this vsearch export bundle with standard tools
=============================================================
Case: {manifest['case']}    Site: {manifest['site_name']}    Software: vsearch {manifest['software']['version']}
Signing key fingerprint (SHA-256 of its DER SubjectPublicKeyInfo) - copy it into the case file:
    {fp}
This bundle is only as trustworthy as this key: check it against the fingerprint the site declared to you
independently (letter, court registry, phone), never against this file alone (step 3).

Run these commands inside this folder (unzip first if you received the .zip).

1. Every file is intact (all files except SHA256SUMS and signature.json are listed):
       sha256sum -c SHA256SUMS
   Every line must end in "OK".

2. The manifest was signed by the key in public_key.pem (OpenSSL 3 or later):
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.json.sig
   It must print "Signature Verified Successfully".

3. The key is the site's key:
       openssl pkey -pubin -in public_key.pem -outform DER | sha256sum
   must print the fingerprint above, and that fingerprint must be the one the site declared to you
   independently of this bundle (a forger could replace the key and re-sign everything).

4. The files are the ones listed in the signed manifest:
       python3 -c 'import json; [print(h + "  " + p) for p, h in sorted(json.load(open("manifest.json"))["files"].items())]' | sha256sum -c
   Every line must end in "OK".

5. The audit log: manifest.json "audit_head" is the signed head of the site's audit log when this export
   began (entry {head.get('seq', '-')}, SHA-256 {head.get('sha256', '-')}).
   Copy it into the case file too: later, `vsearch audit verify --anchor <this bundle>` at the site must
   find that very entry, or the log was rewritten after this export.

6. The originals: manifest.json gives, for each source recording, the SHA-256 of the whole original file;
   compare it with the original kept by the site:  sha256sum <original file>

Files in spans/ are stream copies (no re-encoding) of the originals, in their native container. A copy starts
at the keyframe at or before the requested start; manifest.json gives for each copy the requested span, the
span actually copied (source presentation time, in seconds), whether every video packet is byte-identical to
the original's, and the camera clock offset used to correct times (offset = camera clock - true UTC).
signature.json records when the bundle was signed (the exporting machine's clock).

With vsearch installed, the same checks run with:
    vsearch verify <this folder or its .zip> --trusted-key <the fingerprint the site declared>
It exits 0 only when the bundle is intact AND signed by that key; 5 when intact but signed by another key.
"""


# ---------------------------------------------------------------------------------------------- report.html
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;
vertical-align:top} td.h{font-family:monospace;font-size:11px;word-break:break-all}
.thumbs{display:flex;flex-wrap:wrap;gap:10px} figure.thumb{margin:0;width:164px;font-size:11px}
figure.thumb img{width:160px;height:auto;border:2px solid #333;display:block}
svg text{font-size:11px;font-family:system-ui,sans-serif} .meta{color:#444;font-size:13px}
"""
_MARK_COLOUR = "#d00000"


def _e(x: Any) -> str:
    return html.escape(x if isinstance(x, str) else json.dumps(x, sort_keys=True, ensure_ascii=False))


def _kv_table(d: Mapping[str, Any], cls: str) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in sorted(d.items()))
    return f'<table class="{cls}">{rows or "<tr><td>(none)</td></tr>"}</table>'


def _obj_time(o: Mapping[str, Any], which: str) -> dt.datetime:
    t = o[which]["corrected_utc"] or o[which]["camera_clock_utc"]
    return dt.datetime.fromisoformat(t.replace("Z", "+00:00"))


def _timeline_svg(objects: Sequence[Mapping[str, Any]]) -> str:
    if not objects:
        return '<p class="timeline-empty">No objects.</p>'
    cams = sorted({o["camera"] for o in objects})
    t0 = min(_obj_time(o, "start") for o in objects)
    t1 = max(_obj_time(o, "end") for o in objects)
    span_s = max((t1 - t0).total_seconds(), 1.0)
    left, width, row_h = 140, 820, 34
    height = 30 + row_h * len(cams)
    parts = [f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}" '
             f'role="img" aria-label="timeline of objects per camera">']
    for i, cam in enumerate(cams):
        y = 20 + i * row_h
        parts.append(f'<text x="4" y="{y + row_h / 2 + 4:.1f}">{_e(cam)}</text>'
                     f'<rect x="{left}" y="{y + 4}" width="{width}" height="{row_h - 8}" fill="#eee"/>')
    for k in range(5):
        x = left + width * k / 4
        t = t0 + dt.timedelta(seconds=span_s * k / 4)
        parts.append(f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height}" stroke="#999" stroke-width="0.5"/>'
                     f'<text x="{x - 30:.1f}" y="11">{t.strftime("%H:%M:%S")}</text>')
    lanes: dict[str, list[float]] = {}  # camera -> end x of the last mark in each lane (overlaps stack)
    placed = []
    for o in sorted(objects, key=lambda o: (o["camera"], _obj_time(o, "start"))):
        x0 = left + width * (_obj_time(o, "start") - t0).total_seconds() / span_s
        w = max(width * (_obj_time(o, "end") - _obj_time(o, "start")).total_seconds() / span_s, 4.0)
        ends = lanes.setdefault(o["camera"], [])
        lane = next((i for i, end in enumerate(ends) if end < x0), len(ends))
        ends[lane:lane + 1] = [x0 + w]
        placed.append((o, x0, w, lane))
    for o, x0, w, lane in placed:
        n = len(lanes[o["camera"]])
        h = (row_h - 12) / n
        y = 20 + cams.index(o["camera"]) * row_h + 6 + lane * h
        parts.append(f'<rect class="mark" data-object-id="{_e(o["object_id"])}" x="{x0:.1f}" y="{y:.1f}" '
                     f'width="{w:.1f}" height="{max(h - 1, 2):.1f}" fill="{_MARK_COLOUR}"><title>'
                     f'{_e(o["object_id"])} {_e(o["label"])} {_e(o["start"]["camera_clock_utc"])}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(manifest: Mapping[str, Any], files: Mapping[str, str]) -> str:
    """Self-contained offline HTML (no scripts, no network; thumbnails are relative files of the bundle)."""
    objs = manifest["objects"]
    corrected = all(o["start"]["corrected_utc"] for o in objs)
    thumbs = "".join(
        f'<figure class="thumb" data-object-id="{_e(o["object_id"])}"><img src="{_e(o["thumbnail"]["file"])}" '
        f'alt="object {_e(o["object_id"])}"><figcaption>{_e(o["object_id"])}<br>{_e(o["camera"])} · '
        f'{_e(o["label"])}<br>{_e(o["start"]["corrected_utc"] or o["start"]["camera_clock_utc"])}</figcaption>'
        f'</figure>' for o in objs if o["thumbnail"])
    src_rows = "".join(
        f'<tr><td>{_e(s["camera"])}</td><td>{_e(s["file_name"])}</td><td class="h">{_e(s["sha256"])}</td>'
        f'<td>{s["size_bytes"]}</td><td>{_e(s["camera_clock_offset_s"])}</td></tr>' for s in manifest["sources"])
    span_rows = "".join(
        f'<tr><td>{_e(sp["file"])}</td><td>{sp["requested_start_s"]}–{sp["requested_end_s"]}</td>'
        f'<td>{sp["copy_start_in_source_s"]}–{sp["copy_end_in_source_s"]}</td>'
        f'<td>{_e(sp["packets_identical_to_source"])}</td></tr>'
        for s in manifest["sources"] for sp in s["spans"])
    failed_rows = "".join(
        f'<tr><td>{_e(s["file_name"])}</td><td>{f["requested_start_s"]}–{f["requested_end_s"]}</td>'
        f'<td>{_e(f["error"])}</td></tr>' for s in manifest["sources"] for f in s.get("failed_spans", []))
    missing_objs = ", ".join(_e(o["object_id"]) for o in objs if o.get("span_copy_error"))
    failed_html = "" if not failed_rows else (
        f'<h2 class="failed">Spans NOT copied</h2><p>The native copy of these spans could not be made; the '
        f'objects they hold are listed in the manifest without a span copy: {missing_objs or "(none)"}. The '
        f'originals are unchanged and can be copied by other means.</p><table class="failed-spans"><tr><th>source'
        f'</th><th>requested</th><th>why</th></tr>{failed_rows}</table>')
    file_rows = "".join(f'<tr><td>{_e(rel)}</td><td class="h">{h}</td></tr>'
                        for rel, h in sorted(files.items()) if rel != REPORT)
    model_rows = "".join(  # pipeline components (stage, name, version, weights) or, for v1 sources, bare names
        f'<tr><td>{_e(" ".join(str(m[k]) for k in ("stage", "name", "version") if m.get(k)))}</td>'
        f'<td class="h">{_e(m.get("weights_sha256", m.get("sha256", "")))}</td></tr>' for m in manifest["models"])
    inv = manifest["investigator"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'">
<title>vsearch export – case {_e(manifest['case'])}</title><style>{_CSS}</style></head>
<body>
<h1>vsearch export – case {_e(manifest['case'])}</h1>
<p class="meta">Site: {_e(manifest['site_name'])} · Investigator: {_e(inv['name'])} ({_e(inv['id'])}, {_e(inv['authorisation_ref'])})
· Reason: {_e(manifest['reason'])} · Software: vsearch {_e(manifest['software']['version'])}
· Signing key SHA-256: <span class="h">{_e(manifest['signing']['public_key_sha256'])}</span></p>
<h2>Query</h2>{_kv_table(manifest['query'], 'query')}
<h2>Timeline ({'UTC, corrected for camera clock offsets' if corrected else 'camera clock, offsets not all known'})</h2>
{_timeline_svg(objs)}
<h2>Objects ({len(objs)})</h2><div class="thumbs">{thumbs}</div>
<h2>Coverage</h2>{_kv_table(manifest['coverage'], 'coverage')}
<h2>Parameters</h2>{_kv_table(manifest['parameters'], 'parameters')}
<h2>Sources (originals)</h2><table class="sources"><tr><th>camera</th><th>file</th><th>SHA-256 of the original</th>
<th>bytes</th><th>clock offset (s)</th></tr>{src_rows}</table>
<h2>Span copies (source seconds: requested, copied)</h2><table class="spans"><tr><th>file</th><th>requested</th>
<th>copied</th><th>packets identical</th></tr>{span_rows}</table>
{failed_html}
<h2>Audit log anchor</h2>{_kv_table({k: v for k, v in (manifest.get('audit_head') or {}).items()
                                      if k in ('log', 'seq', 'sha256', 'time_utc', 'public_key_sha256')}, 'audit')}
<h2>Models</h2><table class="models">{model_rows or '<tr><td>(none)</td></tr>'}</table>
<h2>File hashes (SHA-256)</h2><table class="hashes">{file_rows}</table>
<p class="meta">Check this bundle as described in VERIFY.txt. The manifest (manifest.json) is signed; this page is
a convenience view of it.</p>
</body></html>
"""
