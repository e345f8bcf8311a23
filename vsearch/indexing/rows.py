"""The `sources` rows an indexing run writes for one file: while it is partly indexed (one a committed chunk), and
when it is done (ok, partial, failed).

Every row of a file carries the same facts: what the file is (path, size, SHA-256), what the probe read from it
(container, codec, size, rate, start), where it sits in time (camera, start and end UTC, how the start was found)
and what indexed it (parameters, pipeline identity, job). `file_fields` gathers them once per run; the rows
below add only what the run has reached.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from vsearch.catalogue.store import SourceRow
from vsearch.errors import SourceError
from vsearch.indexers.base import SourceResult
from vsearch.indexing import checkpoint as ckpt
from vsearch.indexing import gating, rate
from vsearch.indexing.checkpoint import NOT_YET, SPAN_DONE, gaps_json
from vsearch.indexing.sources import SourceSpec, resolve
from vsearch.records import Gap, SourceRef

UTC = dt.timezone.utc


def base_row(path: Path, sha: str, params: str, job_id: str, identity: str | None) -> dict[str, object]:
    """What every row of the file holds before it is even probed (a failed probe's row has these only)."""
    st = path.stat()
    return {"source_id": sha, "path": str(path.resolve()), "size_bytes": st.st_size, "mtime_ns": st.st_mtime_ns,
            "sha256": sha, "params_json": params, "job_id": job_id, "indexed_utc": dt.datetime.now(UTC),
            "identity_json": identity}


def file_fields(ref: SourceRef, base: dict[str, object], *, end_s: float | None, origin: str,
                offset: float | None) -> dict[str, object]:
    """The row fields fixed for the whole run: `base` with what the probe and the clock resolution found."""
    info = ref.info
    return dict(camera=ref.camera, container=info.container, codec=info.codec, width_px=info.width_px,
                height_px=info.height_px, fps_num=info.fps.numerator, fps_den=info.fps.denominator,
                duration_s=info.duration_s, start_pts_s=info.start_pts_s, start_utc=ref.start_utc,
                end_utc=ref.wall_time(end_s) if end_s is not None else None, start_origin=origin,
                clock_offset_s=offset, analysis_width_px=ref.analysis_width_px,
                analysis_height_px=ref.analysis_height_px, **base)


def partial_row(ck: ckpt.Checkpoint, fixed: dict[str, object], *, decoder: str, start_s: float,
                end_s: float | None, stop_reason: str | None) -> SourceRow:
    """The row committed with a chunk: how far the file is indexed (`ck`), and the stretches not indexed yet
    listed as gaps (why: rerun to continue, or the deadline or signal that stopped the job)."""
    why = NOT_YET if stop_reason in (None, rate.RATE_CHANGE, SPAN_DONE) else stop_reason
    todo_gaps = [Gap(a, b if b is not None else (end_s or a), why)
                 for a, b in ckpt.missing(ck.indexed(start_s), start_s, end_s)]
    return SourceRow(status="partial", error="", frames_decoded=ck.frames_decoded,
                     frames_sampled=ck.frames_sampled, gaps_json=gaps_json([*ck.gaps, *todo_gaps]),
                     decoder=decoder, n_tubes=ck.tubes, indexed_to_s=ck.indexed_to_s,
                     checkpoint_json=ck.to_json(), **fixed)


def finished_row(result: SourceResult, *, decoder: str, sampled: int, n_tubes: int, end_pts: float,
                 fixed: dict[str, object], ref: SourceRef, path: Path) -> SourceRow:
    """The `sources` row of a file whose every stretch is indexed."""
    bad = gating.unreadable(result.gaps)  # stretches a gate skipped are listed, but they are not unreadable
    status = "ok" if not bad else "partial"
    if result.frames_decoded == 0:
        status = "failed"
    message = gap_message(result.gaps)
    if status == "failed":
        message = f"{path}: no frame could be decoded" + (f" ({message})" if message else "")
    return SourceRow(
        status=status, error=message if status == "failed" else "", frames_decoded=result.frames_decoded,
        frames_sampled=sampled, gaps_json=gaps_json(result.gaps), decoder=decoder,
        detector="; ".join(result.stage_info[k] for k in ("tubes", "embed") if k in result.stage_info),
        stage_info_json=json.dumps(result.stage_info, sort_keys=True), warnings_json=json.dumps(result.warnings),
        n_tubes=n_tubes, indexed_to_s=end_pts, checkpoint_json=None,
        **{**fixed, "end_utc": ref.wall_time(end_pts)},
    )


def gap_message(gaps: list[Gap]) -> str:
    """The unreadable stretches of a file, in a line (gated stretches are not named: nothing moved there)."""
    return "; ".join(f"gap {g.start_s:.2f}-{g.end_s:.2f} s: {g.reason}" for g in gating.unreadable(gaps))


def known_identity(spec: SourceSpec, tz: str) -> dict[str, object]:
    """Camera and start of an unreadable file, where the user gave them, so coverage can place it in time."""
    try:
        camera, start, origin, offset = resolve(spec, None, tz=tz)
    except SourceError:
        return {"camera": spec.camera or spec.path.parent.name}
    return {"camera": camera, "start_utc": start, "start_origin": origin, "clock_offset_s": offset}


__all__ = ["base_row", "file_fields", "finished_row", "gap_message", "known_identity", "partial_row"]
