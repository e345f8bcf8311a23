"""search, tubes, show, frame, count: thin commands over vsearch.query.engine and friends."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from vsearch.query import counting

from vsearch.synopsis import stills
from vsearch.query import similar as similar_lib
from vsearch.site import optional_site_config
from vsearch.cli import query_opts as q
from vsearch.cli.common import (CaseOpt, ConfigOpt, InvestigatorOpt, JsonOpt, ReasonOpt, RecipientOpt, StoreOpt,
                                check_output_file, guarded, out, print_json)
from vsearch.errors import QueryError
from vsearch.query.engine import QueryResult
from vsearch.query.search import execute
from vsearch.query.clock import parse_time_option
from vsearch.query.options import check_cameras, parse_line
from vsearch.catalogue.store import Store, sql_str
from vsearch.catalogue.tube_rows import tube_details
from vsearch.indexing.sources import sha256_file


_SHOWN_CAMERAS = 4


def print_coverage(res: QueryResult) -> None:
    c = res.coverage
    window = f"{c.window_from or 'start'} → {c.window_to or 'end'}"
    out.print(f"[bold]Coverage[/]: cameras {', '.join(c.cameras_requested) or '-'}; window {window}; "
              f"searched {len(c.searched)} file(s), {c.footage_searched_s / 3600:.3f} h; "
              f"detector/descriptors: {', '.join(c.descriptors) or '-'}", soft_wrap=True)
    for m in c.cameras_missing:
        out.print(f"  [red]not indexed[/]: camera {m}")
    for n in c.not_searched:
        out.print(f"  [red]NOT SEARCHED[/] {escape(n['path'])} ({n['status']}): {escape(n['reason'])}", soft_wrap=True)
    for g in c.gaps:
        out.print(f"  [yellow]gap[/] {escape(g['camera'])} {g['from_utc']} → {g['to_utc']}: {escape(g['reason'])}",
                  soft_wrap=True)
    for u in c.uncovered:
        out.print(f"  [yellow]no footage[/] {u['camera']} {u['from_utc']} → {u['to_utc']}", soft_wrap=True)
    by_term: dict[str, list[dict[str, object]]] = {}
    for m in c.not_measured:
        by_term.setdefault(str(m["term"]), []).append(m)
    for term, rows in by_term.items():  # a line per term: the cameras with their spans (--json lists them all)
        spans = [f"{escape(str(m['camera'] or 'every camera'))} {m['first_start_utc']} → {m['last_start_utc']}"
                 for m in rows[:_SHOWN_CAMERAS]]
        more = f" and {len(rows) - _SHOWN_CAMERAS} more camera(s)" if len(rows) > _SHOWN_CAMERAS else ""
        out.print(f"  [yellow]not measurable[/] {escape(term)} on {sum(int(m['objects']) for m in rows)} object(s) "
                  f"(starting {'; '.join(spans)}{more}): {rows[0]['reason']}; they are ranked on the other terms",
                  soft_wrap=True)


def _print_spec_notes(res: QueryResult) -> None:
    if res.spec.legal_notice:
        out.print(f"[bold yellow]note[/] {res.spec.legal_notice}", soft_wrap=True)
    if res.spec.unmeasurable:
        out.print(f"[yellow]understood but not measurable[/] (listed, not used to rank): "
                  f"{escape(', '.join(res.spec.unmeasurable))}", soft_wrap=True)
    if res.spec.read_as:
        out.print(f"[yellow]read as[/] (typing slips): {escape(', '.join(res.spec.read_as))}", soft_wrap=True)
    if res.spec.unknown_words:
        out.print(f"[yellow]not understood[/]: {escape(', '.join(res.spec.unknown_words))}", soft_wrap=True)


def search(text: q.Text = None, class_: q.Class = None, colour: q.Colour = None, upper: q.Upper = None,
           lower: q.Lower = None, direction: q.Direction = None, camera: q.Camera = None, from_: q.From = None,
           to: q.To = None, date: q.Date = None, zone: q.Zone = None, min_dwell: q.MinDwell = None,
           min_speed: q.MinSpeed = None, max_speed: q.MaxSpeed = None, like: q.Like = None, limit: q.Limit = 50,
           strict: q.Strict = False, tz: q.Tz = "Europe/Paris", case: CaseOpt = "", reason: ReasonOpt = "", investigator: InvestigatorOpt = None,
           recipient: RecipientOpt = None, store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None,
           clip_model: Annotated[Optional[str], typer.Option("--clip-model", help="open_clip model the index was "
                                                             "built with: scores unmapped words by CLIP.")] = None,
           clip_weights: Annotated[Optional[Path], typer.Option("--clip-weights", help="Its weights file.")] = None,
           clip_config: Annotated[Optional[Path], typer.Option("--clip-config", help="JSON config of a custom "
                                                               "open_clip architecture.")] = None,
           as_json: JsonOpt = False,
           as_csv: Annotated[bool, typer.Option("--csv", help="CSV of the hits on stdout.")] = False) -> None:
    """Search tubes by attributes and/or French/English text; ranked, explained, with a coverage report."""
    args = q.QueryArgs(text, class_, colour, upper, lower, direction, camera, from_, to, date, zone, min_dwell,
                       min_speed, max_speed, like, limit, tz, strict)
    st = Store(store, create=False)
    spec = args.spec(st)
    clip = similar_lib.embed_config(optional_site_config(config), clip_model, clip_weights, clip_config)
    with guarded("search", store, config, investigator, case, reason, recipient, args.params()) as rec:
        res = execute(st, spec, clip=clip)
        rec.result = {"hits": len(res.hits), "candidates": res.candidates,
                      "not_searched": len(res.coverage.not_searched), "tube_ids": [h.tube_id for h in res.hits]}
    if as_json:
        print_json(res.to_dict())
        return
    if as_csv:
        w = csv.writer(sys.stdout)
        w.writerow(["rank", "tube_id", "camera", "start_utc", "end_utc", "class", "colours", "upper", "lower",
                    "direction", "score", "why", "thumbnail", "source"])
        for i, h in enumerate(res.hits, 1):
            w.writerow([i, h.tube_id, h.camera, h.start_utc.isoformat(), h.end_utc.isoformat(), h.class_name,
                        " ".join(h.colours), " ".join(h.upper_colours), " ".join(h.lower_colours), h.direction,
                        h.score, h.why, h.thumb_path, h.source_path])
        return
    _print_spec_notes(res)
    t = Table("#", "camera", "time (local)", "dur", "class", "colours", "dir", "score", title=f"{len(res.hits)} hit(s)")
    zone_ = spec.tzinfo()
    for i, h in enumerate(res.hits, 1):
        cols = " ".join(h.colours)
        if h.upper_colours or h.lower_colours:
            cols = f"top {'/'.join(h.upper_colours) or '?'}, bottom {'/'.join(h.lower_colours) or '?'}"
        t.add_row(str(i), h.camera, h.start_utc.astimezone(zone_).strftime("%Y-%m-%d %H:%M:%S"),
                  f"{h.duration_s:.1f}s", h.class_name, cols, h.direction, f"{h.score:.2f}")
    out.print(t)
    for i, h in enumerate(res.hits, 1):
        out.print(f"  #{i} {h.tube_id}: {escape(h.why)}", soft_wrap=True, highlight=False)
        if h.thumb_path:
            out.print(f"      thumbnail {h.thumb_path}", soft_wrap=True, highlight=False)
    print_coverage(res)


def tubes(store: StoreOpt = Path("vsearch-data"), camera: q.Camera = None,
          limit: Annotated[Optional[int], typer.Option(help="At most this many.")] = None,
          with_boxes: Annotated[bool, typer.Option("--with-boxes", help="Include per-sample boxes/masks.")] = False,
          case: CaseOpt = "", reason: ReasonOpt = "", investigator: InvestigatorOpt = None,
          recipient: RecipientOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List tubes with all their attributes, boxes and thumbnails (per-object data about people: needs an
    authorised investigator, a case and a reason, and is logged like a search)."""
    st = Store(store, create=False)
    where = ("camera IN (" + ", ".join(sql_str(c) for c in camera) + ")") if camera else None
    params = {"camera": camera, "limit": limit, "with_boxes": with_boxes}
    with guarded("tubes", store, config, investigator, case, reason, recipient, params) as rec:
        rows = sorted(st.tubes_arrow(where).to_pylist(), key=lambda r: (r["start_utc"], r["tube_id"]))[:limit]
        rec.result = {"tubes": len(rows), "tube_ids": [r["tube_id"] for r in rows]}
    heavy = ("frame_index", "pts_s", "boxes_xyxy", "scores", "masks_rle")
    items = []
    for r in rows:
        d = {k: v for k, v in r.items() if with_boxes or k not in heavy}
        d["attributes"] = json.loads(d.pop("attributes_json") or "{}")
        d["thumb_path"] = st.file_ref(r["thumb_path"])
        items.append(d)
    if as_json:
        print_json(items)
        return
    t = Table("tube", "camera", "start (UTC)", "dur", "class", "colours", "upper", "lower", "dir", "dwell",
              title=f"{len(items)} tube(s)")
    for d in items:
        t.add_row(d["tube_id"], d["camera"], d["start_utc"].strftime("%H:%M:%S"),
                  f"{d['last_pts_s'] - d['first_pts_s']:.1f}s", d["class_name"], " ".join(d["colours"]),
                  " ".join(d["upper_colours"]), " ".join(d["lower_colours"]), d["direction8"], f"{d['dwell_s']:.0f}s")
    out.print(t)


def show(ref: Annotated[str, typer.Argument(help="tube:ID (or the bare id).")],
         store: StoreOpt = Path("vsearch-data"), case: CaseOpt = "", reason: ReasonOpt = "",
         investigator: InvestigatorOpt = None, recipient: RecipientOpt = None, config: ConfigOpt = None,
         as_json: JsonOpt = False) -> None:
    """Details of one tube: times, source file and offsets, attributes, path and thumbnail (per-object data:
    needs an authorised investigator, a case and a reason; logged)."""
    st = Store(store, create=False)
    tube_id = ref.removeprefix("tube:")
    with guarded("show", store, config, investigator, case, reason, recipient, {"tube_id": tube_id}) as audit_rec:
        info = tube_details(st, tube_id)
        if info is None:
            raise QueryError(f"{ref}: no such tube in {store}; list them with `vsearch tubes`")
        audit_rec.result = {"tube_ids": [tube_id]}
    attributes = info["attributes"]
    if as_json:
        print_json(info)
        return
    for k, v in info.items():
        if k != "attributes":
            out.print(f"[bold]{k}[/]: {v}", soft_wrap=True)
    for k, v in sorted(attributes.items()):
        if k != "path":
            out.print(f"  {k}: {v}", soft_wrap=True)


def frame(camera: Annotated[str, typer.Option(help="Camera id.")],
          at: Annotated[str, typer.Option(help="Wall-clock time (ISO-8601, or 14:00 with --date).")],
          output: Annotated[Path, typer.Option("-o", "--output", help="JPEG file to write.")],
          date: q.Date = None, tz: q.Tz = "Europe/Paris", case: CaseOpt = "", reason: ReasonOpt = "",
          investigator: InvestigatorOpt = None, store: StoreOpt = Path("vsearch-data"),
          config: ConfigOpt = None,
          force: Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")] = False,
          as_json: JsonOpt = False) -> None:
    """Write a still of a camera at a time (e.g. to draw a --zone on)."""
    check_output_file(output, force, "-o")
    st = Store(store, create=False)
    when = parse_time_option(at, date, tz, option="--at")
    with guarded("frame", store, config, investigator, case, reason, None, {"camera": camera, "at": when}) as rec:
        still = stills.still_at(st, camera, when)
        stills.write_jpeg(still, output)
        rec.result = {"source": still.source.path, "pts_s": still.pts_s}
        rec.outputs = {str(output): sha256_file(output)}
    info = {"output": str(output), "camera": camera, "time_utc": still.time_utc.isoformat(),
            "source": still.source.path, "pts_s": still.pts_s,
            "size_px": [int(still.image.shape[1]), int(still.image.shape[0])]}
    if as_json:
        print_json(info)
    else:
        out.print(f"wrote {output}: {camera} at {info['time_utc']} ({info['size_px'][0]}×{info['size_px'][1]}, "
                  f"{Path(still.source.path).name} @ {still.pts_s:.3f} s)")


def count(text: q.Text = None, class_: q.Class = None, camera: q.Camera = None, from_: q.From = None,
          to: q.To = None, date: q.Date = None, tz: q.Tz = "Europe/Paris",
          line: Annotated[Optional[str], typer.Option("--line", help='Counting line "x1,y1 x2,y2" for flows.')] = None,
          store: StoreOpt = Path("vsearch-data"), as_json: JsonOpt = False) -> None:
    """Counts per camera, hour and class, and flows across a line (aggregates only: open without an
    investigator, and not logged; per-object lists need `search` or `tubes`)."""
    st = Store(store, create=False)
    spec = q.QueryArgs(text, class_, cameras=camera, time_from=from_, time_to=to, date=date, tz=tz).spec(st)
    rep = counting.count(st, spec, parse_line(line, option="--line") if line else None)
    if as_json:
        print_json(rep.to_dict())
        return
    out.print(f"[bold]{rep.total}[/] object(s). By camera: {rep.by_camera}. By class: {rep.by_class}.")
    t = Table("hour (local)", "objects")
    for h, n in rep.by_hour.items():
        t.add_row(h, str(n))
    out.print(t)
    for cam, f in rep.flows.items():
        out.print(f"flow across the line on {cam}: left→right {f.get('+1', 0)}, right→left {f.get('-1', 0)}")


def similar(tube: Annotated[Optional[str], typer.Option("--tube", help="tube:ID or ID of the example.")] = None,
            image: Annotated[Optional[Path], typer.Option("--image", help="Example image (a crop of the object).")] = None,
            camera: q.Camera = None, from_: q.From = None, to: q.To = None, date: q.Date = None,
            limit: Annotated[int, typer.Option(help="Number of hits.", min=1)] = 20, tz: q.Tz = "Europe/Paris",
            clip_model: Annotated[Optional[str], typer.Option("--clip-model", help="open_clip model the index "
                                                              "was built with (for --image).")] = None,
            clip_weights: Annotated[Optional[Path], typer.Option("--clip-weights", help="Its weights file.")] = None,
            clip_config: Annotated[Optional[Path], typer.Option("--clip-config", help="JSON config of a custom "
                                                                "open_clip architecture.")] = None,
            case: CaseOpt = "", reason: ReasonOpt = "", investigator: InvestigatorOpt = None,
            recipient: RecipientOpt = None, store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None,
            as_json: JsonOpt = False) -> None:
    """More like this: tubes that look like an example tube or image, across cameras (no biometrics)."""
    if (tube is None) == (image is None):
        raise QueryError("give exactly one of --tube ID or --image FILE")
    st = Store(store, create=False)
    scope = similar_lib.Scope(
        cameras=check_cameras(camera or (), st.cameras()),
        time_from=parse_time_option(from_, date, tz, option="--from") if from_ else None,
        time_to=parse_time_option(to, date, tz, option="--to") if to else None, limit=limit)
    params = {"tube": tube, "image": str(image) if image else None, "cameras": camera, "from": from_, "to": to,
              "limit": limit, "clip_model": clip_model}
    with guarded("search", store, config, investigator, case, reason, recipient, params) as rec:
        if tube is not None:
            hits = similar_lib.like_tube(st, tube.removeprefix("tube:"), scope)
        else:
            cfg = similar_lib.embed_config(optional_site_config(config), clip_model, clip_weights, clip_config)
            hits = similar_lib.like_image(st, image, scope, cfg)
        rec.result = {"hits": len(hits), "tube_ids": [h.tube_id for h in hits]}
    if as_json:
        print_json({"hits": [h.to_dict() for h in hits]})
        return
    t = Table("#", "tube", "camera", "time (UTC)", "class", "score", "ranked by", title=f"{len(hits)} similar")
    for i, h in enumerate(hits, 1):
        t.add_row(str(i), h.tube_id, h.camera, h.start_utc.strftime("%Y-%m-%d %H:%M:%S"), h.class_name,
                  f"{h.score:.3f}", h.descriptor)
    out.print(t)
    for i, h in enumerate(hits, 1):
        if h.thumb_path:
            out.print(f"  #{i} thumbnail {h.thumb_path}", soft_wrap=True, highlight=False)
