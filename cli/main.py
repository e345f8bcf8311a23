"""The `vsearch` command line: thin Typer commands over the library. Errors map to exit codes here only."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.exceptions import TyperException
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vsearch import __version__
from vsearch.errors import VsearchError
from vsearch.indexers.detect import DETECTOR_CHOICES
from vsearch.indexing.checkpoint import DEFAULT_CHUNK_S
from vsearch.indexing.control import StopControl, indexed_label, indexed_s, parse_deadline
from vsearch.indexing.control import status_summary
from vsearch.indexing.job import run_index
from vsearch.indexing.options import IndexOptions, with_site_defaults
from vsearch.indexing.rate import DEFAULT_MIN_FPS, rate_label
from vsearch.indexing.ray_executor import RayOptions
from vsearch.site import audit_log_for, optional_site_config
from vsearch.catalogue.store import Store
from vsearch.cli import audit_cli, evidence_cli, exhibit_cli, models_cli, search_cli
from vsearch.cli import serve_cli
from vsearch.cli.common import ConfigOpt, JsonOpt, StoreOpt
from vsearch.cli.progress import RichSink, stop_on_signals

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Offline forensic video search and synopsis for recorded CCTV footage.")
out = Console()
err = Console(stderr=True)



def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Video files, folders, or a manifest CSV (path,camera,start).")],
    camera: Annotated[Optional[str], typer.Option(help="Camera id for these files.")] = None,
    start: Annotated[Optional[str], typer.Option(help="Wall-clock start (ISO-8601) of a single file.")] = None,
    store: StoreOpt = Path("vsearch-data"),
    fps: Annotated[float, typer.Option(help="Analysis frame rate (frames/s sampled).", min=0.1)] = 5.0,
    width: Annotated[int, typer.Option(help="Analysis width in pixels.", min=64)] = 640,
    workers: Annotated[Optional[int], typer.Option(help="Files indexed in parallel (default 1; with --executor "
                                                   "ray, one per CPU of the cluster).", min=1)] = None,
    executor: Annotated[str, typer.Option(help="local | ray (index on a Ray cluster; docs/scale-out.md)")] = "local",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster to join: auto | "
                                                       "HOST:PORT (default: a local Ray for this run).")] = None,
    ray_gpus: Annotated[float, typer.Option("--ray-gpus", help="GPUs per Ray worker (e.g. 0.5).", min=0)] = 0.0,
    decoder: Annotated[str, typer.Option(help="auto | pyav | ffmpeg | decord")] = "auto",
    detector: Annotated[str, typer.Option(help=" | ".join(DETECTOR_CHOICES))] = "auto",
    models_dir: Annotated[Optional[Path], typer.Option("--models-dir", envvar="VSEARCH_MODELS",
                                                       help="Models folder searched first, before the installed "
                                                            "and built-in models (docs/models.md).")] = None,
    tz: Annotated[str, typer.Option(help="Time zone of start times given without an offset.")] = "Europe/Paris",
    report: Annotated[Optional[Path], typer.Option(help="Also write the JSON job report here.")] = None,
    clip_model: Annotated[Optional[str], typer.Option("--clip-model", help="open_clip model name, e.g. ViT-B-32.")] = None,
    clip_weights: Annotated[Optional[Path], typer.Option("--clip-weights", help="Local open_clip weights file.")] = None,
    clip_config: Annotated[Optional[Path], typer.Option("--clip-config", help="JSON config of a custom open_clip "
                                                        "architecture (with --clip-model).")] = None,
    gate: Annotated[str, typer.Option(help="Skip where nothing moves: off | motion (detector only around motion "
                                      "seen in the decoded frames) | packets (decode only where packet sizes grow) "
                                      "| auto (= motion; docs/overnight.md). Skipped stretches are listed in every "
                                      "search's coverage.")] = "auto",
    keep_existing: Annotated[bool, typer.Option("--keep-existing", help="Keep files already indexed with another "
                                                "pipeline (other models, versions or parameters) as they are, "
                                                "instead of indexing them again.")] = False,
    chunk: Annotated[float, typer.Option("--chunk", help="Seconds of footage committed at a time inside a file "
                                         "(a rerun resumes from the last one).", min=1.0)] = DEFAULT_CHUNK_S,
    deadline: Annotated[Optional[str], typer.Option(help="Stop by then, finishing the current chunk: 07:00 (next "
                                                    "such local time), +8h, or an ISO-8601 time.")] = None,
    priority: Annotated[Optional[list[str]], typer.Option(help="Index first the files whose path contains this, "
                                                          "or of this camera, or with footage in this time window "
                                                          "(CAMERA@14:00-16:00, local; @14:00-16:00: any camera) "
                                                          "(repeatable, in order); then newest first.")] = None,
    adapt_rate: Annotated[bool, typer.Option("--adapt-rate", help="With --deadline: lower the analysis rate of "
                                             "the files that would not fit, never below --min-fps (the rate used "
                                             "is recorded per file and named in coverage).")] = False,
    min_fps: Annotated[float, typer.Option("--min-fps", help="The lowest rate --adapt-rate may use.",
                                           min=0.1)] = DEFAULT_MIN_FPS,
    config: ConfigOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Index footage into the store (resumable: rerun to finish an interrupted job, even inside a file)."""
    ray = RayOptions.for_executor(executor, ray_address, ray_gpus)
    workers = workers if workers is not None else (0 if ray else 1)
    opts = IndexOptions(store=store, fps=fps, width_px=width, workers=workers, decoder=decoder, detector=detector,
                        ray=ray,
                        models_dir=models_dir, tz=tz, camera=camera, start=start, clip_model=clip_model,
                        clip_weights=clip_weights, clip_config=clip_config, gate=gate,
                        keep_existing=keep_existing, chunk_s=chunk,
                        priority=tuple(priority or ()), adapt_rate=adapt_rate, min_fps=min_fps)
    opts = with_site_defaults(opts, optional_site_config(config))
    control = StopControl(deadline_utc=parse_deadline(deadline, tz=tz) if deadline else None)
    with RichSink(err, quiet=quiet or as_json, deadline_utc=control.deadline_utc) as sink, \
            stop_on_signals(control, lambda name: err.print(
                f"[bold yellow]{name}[/]: stopping at the next chunk boundary (the current chunk is committed; "
                "rerun to continue)", highlight=False)):
        job = run_index(paths, opts, sink, audit=audit_log_for(store, config), control=control,
                        on_plan=None if as_json else lambda plan: [err.print(escape(line), highlight=False,
                                                                             soft_wrap=True) for line in plan.lines()])
    data = job.to_dict()
    if report:
        report.write_text(json.dumps(data, indent=2, sort_keys=True))
    if as_json:
        _print_json(data)
    else:
        c = job.counts
        out.print(f"[bold]Indexed[/] {len(job.files)} file(s): [green]{c['ok']} ok[/], [yellow]{c['partial']} partial[/], "
                  f"[red]{c['failed']} failed[/], {c['skipped']} skipped"
                  + (f", [yellow]{c['stopped'] + c['not started']} not done[/]" if job.not_done else "") + " — "
                  f"{job.footage_s / 3600:.3f} h of footage "
                  f"in {job.wall_s:.1f} s ({job.x_realtime:.1f}× real time). Report: "
                  f"{job.report_ref}")
        for f in job.files:
            if f["status"] in ("partial", "failed"):
                out.print(f"  {f['status']}: {escape(f['message'] or f['path'])}", soft_wrap=True, highlight=False)
        for f in job.not_done:
            out.print(f"  not done: {escape(str(f['path']))}: {escape(str(f['reason']))}", soft_wrap=True,
                      highlight=False)
    if job.failed:
        raise typer.Exit(1)


@app.command()
def sources(store: StoreOpt = Path("vsearch-data"), as_json: JsonOpt = False) -> None:
    """List catalogued files with hash, camera, times and status (file-level facts, no per-object data: open
    without an investigator, not logged)."""
    rows = Store(store, create=False).sources()
    if as_json:
        _print_json([r.to_dict() for r in rows])
        return
    t = Table("camera", "start (UTC)", "length", "status", "indexed", "tubes", "detector", "rate", "file",
              "sha256")
    for r in rows:
        params = json.loads(r.params_json or "{}")
        t.add_row(r.camera, r.start_utc.strftime("%Y-%m-%d %H:%M:%S") if r.start_utc else "-",
                  f"{r.duration_s:.0f}s" if r.duration_s else "-", r.status,
                  indexed_label(r), str(r.n_tubes),
                  str(params.get("detector", "-")), rate_label(params.get("fps"), r.gaps, indexed_s(r)),
                  Path(r.path).name, r.sha256[:10] + "…")
    out.print(t)


@app.command()
def status(store: StoreOpt = Path("vsearch-data"), as_json: JsonOpt = False) -> None:
    """Summarise what is indexed, partial and failed (counts only: open without an investigator, not logged)."""
    s = status_summary(Store(store, create=False))
    if as_json:
        _print_json(s)
        return
    out.print(f"[bold]{s['store']}[/]: {s['sources']} — {s['footage_hours']} h of footage, "
              f"cameras: {', '.join(s['cameras']) or '-'}")
    out.print(f"rows: {s['tables']}")
    job = s["running_job"]
    if job:
        state = "running" if job["alive"] else "not running (its process is gone: killed?)"
        where = (f", in {escape(str(job.get('current')))} up to t = {job.get('indexed_to_s') or 0:.0f} s"
                 if job.get("current") else "")
        out.print(f"job {job['job_id']} (pid {job['pid']}) {state}: {job['files_done']}/{job['n_files']} file(s) "
                  f"done{where}" + (f"; deadline {job['deadline_utc']}" if job.get("deadline_utc") else ""),
                  soft_wrap=True, highlight=False)
    for p in s["in_progress"]:
        spans = p["indexed_spans_s"]  # stretches (a window indexed first) or one from the start
        from_start = len(spans) <= 1 and spans[0][0] <= (p["start_pts_s"] or 0.0) + 1e-6
        done = (f"indexed up to t = {p['indexed_to_s']:.1f} s" if from_start
                else "indexed " + ", ".join(f"{a:.1f}–{b:.1f} s" for a, b in spans))
        out.print(f"  in progress: {escape(p['path'])}: {done}"
                  + (f" of {p['duration_s']:.1f} s" if p["duration_s"] else ""), soft_wrap=True, highlight=False)
    for p in s["problems"]:
        out.print(f"  [yellow]{p['status']}[/] {escape(p['path'])}: {escape(p['error'])}", soft_wrap=True)


@app.command()
def migrate(store: StoreOpt = Path("vsearch-data"), as_json: JsonOpt = False) -> None:
    """Bring a store written by an older vsearch to the current schema (back it up first)."""
    st = Store(store, create=False, allow_heavy_migration=True)
    if as_json:
        _print_json({"store": st.uri, "schema_version": st.schema_version(), "applied": st.migrated})
        return
    for line in st.migrated:
        out.print(f"migrated {escape(line)}", soft_wrap=True, highlight=False)
    if not st.migrated:
        out.print(f"{escape(st.uri)}: already at schema v{st.schema_version()}, nothing to do")


app.add_typer(models_cli.app, name="models")
app.add_typer(audit_cli.app, name="audit")
app.command()(search_cli.search)
app.command()(search_cli.similar)
app.command()(search_cli.tubes)
app.command()(search_cli.show)
app.command()(search_cli.frame)
app.command()(search_cli.count)
app.command()(exhibit_cli.synopsis)
app.command()(exhibit_cli.export)
app.command()(evidence_cli.verify)
app.command()(evidence_cli.lock)
app.command()(evidence_cli.purge)
app.command()(serve_cli.serve)


@app.callback(invoke_without_command=True)
def _root(version: Annotated[bool, typer.Option("--version", help="Show the version.")] = False) -> None:
    if version:
        out.print(f"vsearch {__version__}")
        raise typer.Exit()


def main() -> None:
    """Entry point: the one place where library errors become messages and exit codes."""
    os.umask(0o077)  # the store holds person-derived data (crops, stills, boxes): nothing readable by others
    try:
        rc = app(standalone_mode=False)
    except VsearchError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(130)
    except TyperException as e:  # option parsing: bad value, missing argument, unknown option (exit 2)
        e.show()
        sys.exit(e.exit_code)
    sys.exit(rc if isinstance(rc, int) else 0)
