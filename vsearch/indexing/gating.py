"""Which parts of a file the indexing stages skip because nothing moves there (`--gate`), and how that is recorded.

Two gates:

- ``motion`` (`vsearch.indexers.motion_gate`): a motion cue on the decoded analysis frames reduced to 160 px grey;
  the detector, tracker and describers run only on the spans around motion. Everything is still decoded once.
- ``packets`` (`vsearch.indexers.activity`): packet sizes of the compressed stream, read before decoding; only the
  active spans are decoded. Cheaper, but packet sizes follow exposure and texture as much as motion (it lost 19 of
  27 tubes on a car park clip, docs/benchmarks.md), so it is for footage where it has been checked.

``auto`` means `DEFAULT_GATE`, chosen with bench/bench_index.py: a gate becomes the default only if it loses no
tube against ungated indexing on all the evaluation footage (docs/benchmarks.md, "Motion gating").

Skipped stretches are written with the source's gaps (reasons `NO_MOTION`, `activity.NO_ACTIVITY`), so every
search's coverage report names them, but they do not make a file partial (`unreadable`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from vsearch.errors import UsageError
from vsearch.indexers import activity
from vsearch.indexers.motion_gate import NO_MOTION, MotionGate, MotionGateConfig
from vsearch.indexing.checkpoint import Checkpoint
from vsearch.indexing.prefetch import Peekable
from vsearch.indexing.rate import is_reduced_rate
from vsearch.records import Frame, Gap, VideoInfo

GATES = ("auto", "off", "motion", "packets")
# What "auto" means: motion, which lost no tube against ungated indexing on any evaluation clip (docs/benchmarks.md,
# "Motion gating": vtest, car-detection, one-by-one, highway, TUD-Stadtmitte, carsparse, carquiet).
DEFAULT_GATE = "motion"
SKIP_REASONS = (NO_MOTION, activity.NO_ACTIVITY)


def resolve_gate(name: str) -> str:
    """`name` with "auto" replaced by the default; a UsageError for an unknown gate."""
    if name not in GATES:
        raise UsageError(f"--gate must be one of {', '.join(GATES)}; got {name!r}")
    return DEFAULT_GATE if name == "auto" else name


def gate_params(gate: str) -> dict[str, object] | None:
    """What the gate adds to the index parameters (the pipeline identity); None when off, so that ungated stores
    keep their parameters."""
    gate = resolve_gate(gate)
    if gate == "motion":
        return {"gate": MotionGateConfig().to_params()}
    if gate == "packets":
        return {"gating": activity.ACTIVITY_VERSION}  # the key older stores were written with
    return None


def covers(stored_params: dict[str, object], current_params: dict[str, object]) -> bool:
    """Rows indexed without a gate analysed every sampled frame: a gated pipeline takes them as they are."""
    return "gate" in current_params and "gate" not in stored_params and "gating" not in stored_params


def unreadable(gaps: Iterable[Gap]) -> list[Gap]:
    """The gaps that are unreadable footage: not stretches a gate skipped on purpose, nor spans analysed at a
    rate lowered by `--adapt-rate` (limits of the analysis, listed with the gaps so that coverage names them)."""
    return [g for g in gaps if g.reason not in SKIP_REASONS and not is_reduced_rate(g)]


class FileGate:
    """One file's gate: the decode spans (packets), the frame filter (motion), and the skipped stretches found
    by this run, clipped so that a resumed run and its checkpoint never record the same stretch twice."""

    def __init__(self, gate: str, path: object, info: VideoInfo, *, end_s: float | None,
                 resume: Checkpoint | None, busy: Callable[[], bool] | None = None) -> None:
        self.gate = resolve_gate(gate)
        self.from_s = resume.indexed_to_s if resume is not None else info.start_pts_s
        self.scan = activity.scan_activity(path, info) if self.gate == "packets" else None  # type: ignore[arg-type]
        self.motion = MotionGate(end_s=end_s, busy=busy) if self.gate == "motion" else None
        self._decoded: Peekable[Frame] | None = None

    @property
    def decode_spans(self) -> tuple[tuple[float, float], ...] | None:
        return self.scan.spans if self.scan is not None and self.scan.gated else None

    def frames(self, frames: Iterable[Frame]) -> Iterator[Frame] | Iterable[Frame]:
        self._decoded = Peekable(frames)
        return self._decoded if self.motion is None else self.motion.filter(self._decoded)

    def upcoming(self) -> Frame | None:
        """The frame expected out of `frames` after the one just taken: the next decoded frame, unless the motion
        gate holds frames it has not decided on (then None). The motion gate may still hold back that frame (the
        start of an idle stretch): a guess for the look-ahead, which loses nothing when it is wrong."""
        if self._decoded is None or (self.motion is not None and self.motion.undecided):
            return None
        return self._decoded.peek()

    def skipped(self, hi_s: float = float("inf")) -> list[Gap]:
        """Stretches skipped by this run in [from_s, hi_s)."""
        if self.motion is not None:
            return self.motion.skipped_between(self.from_s, hi_s)
        if self.scan is not None and self.scan.gated:
            return [Gap(max(a, self.from_s), min(b, hi_s), activity.NO_ACTIVITY) for a, b in self.scan.idle
                    if min(b, hi_s) > max(a, self.from_s)]
        return []

    def note(self) -> str | None:
        """One line for the source's warnings: how much was skipped, by which gate."""
        gaps = self.skipped()
        if not gaps:
            return None
        total = sum(g.end_s - g.start_s for g in gaps)
        how = (f"motion gate ({MotionGateConfig().to_params()['version']}): not analysed" if self.motion is not None
               else f"activity gating ({activity.ACTIVITY_VERSION}): not decoded")
        return (f"{how}: {len(gaps)} idle stretch(es), {total:.1f} s (listed in the gaps, reason "
                f"{gaps[0].reason!r}; not unreadable)")


__all__ = ["DEFAULT_GATE", "FileGate", "GATES", "SKIP_REASONS", "gate_params", "resolve_gate", "unreadable"]
