"""synopsis and export: a query, then the derived exhibit."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import Progress

from vsearch.evidence import exhibits
from vsearch.cli import query_opts as q
from vsearch.cli.common import (CaseOpt, ConfigOpt, InvestigatorOpt, JsonOpt, ReasonOpt, RecipientOpt, StoreOpt,
                                err, guarded, out, print_json)
from vsearch.cli.search_cli import print_coverage
from vsearch.evidence.bundle import sha256_file
from vsearch.query.engine import tubes_for
from vsearch.query.search import execute
from vsearch.query.similar import embed_config
from vsearch.query.clock import get_tz
from vsearch.site import load_site_config, optional_site_config
from vsearch.catalogue.store import Store
from vsearch.synopsis.passages import PassageOptions
from vsearch.synopsis.render import SynopsisOptions


def synopsis(output: Annotated[Path, typer.Option("-o", "--output", help="Output video (.mp4); one file per "
                                                  "camera: out.<camera>.mp4 when several).")],
             text: q.Text = None, class_: q.Class = None, colour: q.Colour = None, upper: q.Upper = None,
             lower: q.Lower = None, direction: q.Direction = None, camera: q.Camera = None, from_: q.From = None,
             to: q.To = None, date: q.Date = None, zone: q.Zone = None, min_dwell: q.MinDwell = None,
             min_speed: q.MinSpeed = None, max_speed: q.MaxSpeed = None, like: q.Like = None,
             limit: q.Limit = None, strict: q.Strict = False, tz: q.Tz = "Europe/Paris",
             from_results: Annotated[Optional[Path], typer.Option("--from-results", help="Tubes of a saved "
                                                                  "`vsearch search --json` output.")] = None,
             passages: Annotated[bool, typer.Option("--passages", help="Cut the original to the matching spans "
                                                    "instead (non-matching objects masked).")] = False,
             max_collision: Annotated[float, typer.Option("--max-collision", help="Share of object-frames "
                                                          "allowed to overlap another object (0-1).")] = 0.05,
             density: Annotated[Optional[int], typer.Option(help="Most objects on screen at once "
                                                            "(default: as many as --max-collision allows).")] = None,
             max_duration: Annotated[Optional[float], typer.Option("--max-duration", help="Cap in seconds "
                                                                 "(collisions may then exceed the budget).")] = None,
             speed_up: Annotated[float, typer.Option("--speed-up", help="Play objects on screen longer than "
                                                     "--long-tube this many times faster.")] = 1.0,
             long_tube: Annotated[float, typer.Option("--long-tube", help="Seconds; see --speed-up.")] = 60.0,
             by_direction: Annotated[bool, typer.Option("--by-direction", help="Play each heading (east, south, "
                                                        "west, north, staying) in its own stretch: shorter, less "
                                                        "chronological.")] = False,
             padding: Annotated[float, typer.Option(help="Passages: seconds kept around each hit.")] = 2.0,
             mask: Annotated[str, typer.Option(help="Passages: grey | blur for non-matching objects.")] = "grey",
             case: CaseOpt = "", reason: ReasonOpt = "", investigator: InvestigatorOpt = None,
             recipient: RecipientOpt = None, store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None,
             as_json: JsonOpt = False) -> None:
    """Condense the matching objects into a short video (or cut the matching passages), with a source map."""
    args = q.QueryArgs(text, class_, colour, upper, lower, direction, camera, from_, to, date, zone, min_dwell,
                       min_speed, max_speed, like, limit, tz, strict)
    st = Store(store, create=False)
    params = {**args.params(), "passages": passages, "max_collision": max_collision, "density": density,
              "max_duration": max_duration, "speed_up": speed_up, "long_tube": long_tube,
              "by_direction": by_direction, "from_results": str(from_results) if from_results else None}
    with guarded("synopsis", store, config, investigator, case, reason, recipient, params) as rec:
        if from_results is not None:
            tubes, res = exhibits.tubes_from_results(st, from_results), None
        else:
            res = execute(st, args.spec(st), clip=embed_config(optional_site_config(config)))
            tubes = tubes_for(st, res.hits)
        with Progress(console=err, transient=True, disable=as_json) as bar:
            task = bar.add_task("rendering", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            if passages:
                made = exhibits.passages(st, tubes, output, PassageOptions(padding_s=padding, mask=mask,
                                                                           tz=get_tz(tz)), progress)
            else:
                opts = SynopsisOptions(max_collision=max_collision, density=density, max_duration_s=max_duration,
                                       speed_up=speed_up, long_tube_s=long_tube, by_direction=by_direction,
                                       tz=get_tz(tz))
                made = exhibits.synopsis(st, tubes, output, opts, progress)
        parts = [dataclasses.asdict(p) | {"entries": len(getattr(p, "entries", ()))} for p in made.parts]
        rec.result = {"objects": len(tubes), "files": [str(p.video_path) for p in made.parts]}
        rec.outputs = {str(p.video_path): sha256_file(p.video_path) for p in made.parts} | \
                      {str(p.sidecar_path): sha256_file(p.sidecar_path) for p in made.parts}
    if as_json:
        print_json({"parts": parts, "coverage": res.coverage.to_dict() if res else None})
        return
    for p in made.parts:
        if passages:
            out.print(f"[bold]{p.video_path}[/] ({p.camera}): {len(p.passages)} passage(s), "
                      f"{p.output_duration_s:.1f} s of video for a {p.source_span_s:.0f} s span; "
                      f"source map {p.sidecar_path}")
        else:
            m = p.metrics
            out.print(f"[bold]{p.video_path}[/] ({p.camera}): {m.objects} object(s), {m.synopsis_duration_s:.1f} s "
                      f"for a {m.source_span_s:.0f} s span — condensation {m.condensation_ratio:.1f}×, collision "
                      f"rate {m.collision_rate:.3f} (budget {m.max_collision:g}"
                      f"{'' if m.max_collision_met else ', NOT met: --max-duration too short'}), no synopsis "
                      f"within the budget is shorter than {m.lower_bound_s:.1f} s, chronological disorder "
                      f"{m.disorder:.2f}, label overlaps {m.label_overlaps} frame(s)"
                      + (f", {m.sped_up} long object(s) sped up ×{speed_up:g}" if m.sped_up else "")
                      + f"; source map {p.sidecar_path}", soft_wrap=True)
    if res is not None:
        print_coverage(res)


def export(case: CaseOpt, output: Annotated[Path, typer.Option("-o", "--output", help="Bundle folder to create.")],
           text: q.Text = None, class_: q.Class = None, colour: q.Colour = None, upper: q.Upper = None,
           lower: q.Lower = None, direction: q.Direction = None, camera: q.Camera = None, from_: q.From = None,
           to: q.To = None, date: q.Date = None, zone: q.Zone = None, min_dwell: q.MinDwell = None,
           min_speed: q.MinSpeed = None, max_speed: q.MaxSpeed = None, like: q.Like = None, limit: q.Limit = 50,
           strict: q.Strict = False, tz: q.Tz = "Europe/Paris",
           zip_: Annotated[bool, typer.Option("--zip", help="Also write <output>.zip.")] = False,
           no_synopsis: Annotated[bool, typer.Option("--no-synopsis", help="Skip the synopsis video.")] = False,
           no_passages: Annotated[bool, typer.Option("--no-passages", help="Skip the passages video.")] = False,
           reason: ReasonOpt = "", investigator: InvestigatorOpt = None, recipient: RecipientOpt = None,
           store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Write a signed evidentiary bundle for a query (spans in native format, videos, report, manifest)."""
    args = q.QueryArgs(text, class_, colour, upper, lower, direction, camera, from_, to, date, zone, min_dwell,
                       min_speed, max_speed, like, limit, tz, strict)
    st = Store(store, create=False)
    cfg = load_site_config(config)
    params = {**args.params(), "zip": zip_, "synopsis": not no_synopsis, "passages": not no_passages}
    with guarded("export", store, config, investigator, case, reason, recipient, params) as rec:
        res = execute(st, args.spec(st), clip=embed_config(cfg))
        req = exhibits.ExportRequest(case=case, reason=reason, investigator=rec.investigator,
                                     recipients=tuple(recipient or ()), with_synopsis=not no_synopsis,
                                     with_passages=not no_passages, zip=zip_)
        rep = exhibits.export(st, cfg, res, req, output, params)
        rec.result = {"objects": len(res.hits), "sources": len({h.source_id for h in res.hits}),
                      "not_searched": len(res.coverage.not_searched), "failed_spans": list(rep.failed_spans)}
        rec.outputs = {"manifest.json": rep.manifest_sha256} | ({str(rep.zip_path): rep.zip_sha256}
                                                               if rep.zip_path else {})
    if as_json:
        print_json({"bundle": str(rep.out_dir), "zip": str(rep.zip_path) if rep.zip_path else None,
                    "manifest_sha256": rep.manifest_sha256, "files": len(rep.files), "objects": len(res.hits),
                    "signer_fingerprint": rep.public_key_sha256, "failed_spans": list(rep.failed_spans)})
        return
    out.print(f"[bold]{rep.out_dir}[/]: {len(res.hits)} object(s), {len(rep.files)} files, manifest SHA-256 "
              f"{rep.manifest_sha256}, signed (key {rep.public_key_sha256[:16]}…)"
              + (f"; zip {rep.zip_path}" if rep.zip_path else ""), soft_wrap=True)
    for line in rep.failed_spans:
        err.print(f"[yellow]span NOT copied[/] (recorded in the bundle): {line}", soft_wrap=True, highlight=False)
    out.print(f"check it offline with: vsearch verify {rep.out_dir} --trusted-key {rep.public_key_sha256}   "
              f"(or see {rep.out_dir}/VERIFY.txt)", soft_wrap=True)
