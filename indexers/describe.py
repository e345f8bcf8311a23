"""Stage "describe": colours, thumbnail, best crops and attribute-model outputs of each tube.

Per frame it samples every tracked object (every `attr_every_s`): palette colours inside the object's
foreground mask (whole object, and upper/lower body, kept for persons), and the few sharpest, largest crops
(bounded: `max_crops` per track, longer side at most `crop_max_side_px`). When the track stage ends a track,
its `Tube` is built once, with its `TubeAttributes` (class by detector vote or by geometry, motion, colours,
footprint, attribute models on the kept crops), and the track's accumulators are dropped, so memory stays flat
in footage length. At the end of a source, tubes are numbered by start time and handed to the `SourceResult`
with their thumbnails and crops (which the embed stage reads).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vsearch.indexers.attributes import (
    AttributeModels,
    class_vote,
    crop_quality,
    edge_of,
    geometry_class,
    ground_points,
    motion_summary,
    pad_box,
    simplify_path,
)
from vsearch.indexers.colours import (
    N_CODES,
    PALETTE_VERSION,
    balance_lut,
    crops_colour_counts,
    fractions_from_counts,
    is_monochrome,
    light_estimate,
    palette_of,
    scene_cast,
    tone_fractions,
)
from vsearch.indexers.base import Detector, FrameContext, SourceResult
from vsearch.indexers.config import TubeConfig
from vsearch.indexers.track import TrackState
from vsearch.indexing.identity import StageIdentity
from vsearch.records import (
    CLASSES,
    Appearance,
    ColourFractions,
    Detections,
    Footprint,
    Frame,
    Motion,
    SourceRef,
    Tube,
    TubeAttributes,
)

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

OTHER = CLASSES.index("other")
# the light's colour is the median of the estimates of this many last sampled frames of the source: one camera
# keeps its light for seconds, and a white van or a red bus filling the frame's bright pixels for a moment does
# not tint the whole scene's colours
LIGHT_FRAMES = 31


@dataclass
class _Acc:
    """Per-track accumulators (aligned with nothing per-sample: running sums and a few crops)."""

    # per part (any, head, upper, lower): joint colour x tone shares summed over the sampled frames
    colours: dict[str, np.ndarray] = field(default_factory=dict)
    monochrome_samples: int = 0  # sampled frames with no colour at all (black-and-white mode): no colour read
    last_attr_pts_s: float = -1e18
    crops: list[tuple[float, float, np.ndarray]] = field(default_factory=list)  # (quality, pts_s, crop)


def _ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2 <= 1.0


class DescribeStage:
    """`ctx.tracks` -> described `Tube`s (with thumbnails and crops) in the `SourceResult` at the end."""

    name = "describe"

    def __init__(self, detector: Detector, config: TubeConfig | None = None, *, models: ModelSet | None = None,
                 pipeline_info: str = "") -> None:
        """`detector` says how classes were found (its name, or geometry when degraded); `pipeline_info` is the
        detect+track part of the summary recorded in `stage_info["tubes"]`."""
        self.detector = detector
        self.config = config or TubeConfig()
        self.models = models  # resolved, hash-verified model files (vsearch.models.resolve); None: no models
        self.pipeline_info = pipeline_info
        self._attr_models = AttributeModels(models)
        self._source: SourceRef | None = None
        self._acc: dict[int, _Acc] = {}
        self._tubes: list[Tube] = []
        self._crops: dict[int, list[np.ndarray]] = {}
        self._thumbs: dict[int, bytes] = {}

    def identity(self) -> tuple[StageIdentity, ...]:
        out = [StageIdentity("describe", "colours", version=PALETTE_VERSION)]
        for key in self._attr_models.keys:
            name, sha = self._attr_models.provenance(key)
            out.append(StageIdentity("describe", name, weights_sha256=sha))
        return tuple(out)

    def begin(self, source: SourceRef) -> None:
        self._source = source
        self._acc, self._tubes, self._crops, self._thumbs = {}, [], {}, {}
        self._scale = 1.0
        self._frame_wh = (source.analysis_width_px, source.analysis_height_px)
        self._lights: deque[np.ndarray] = deque(maxlen=LIGHT_FRAMES)

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        if self._source is None:
            raise RuntimeError("DescribeStage.process called before begin()")
        if ctx.detections is None or ctx.tracks is None or ctx.tracks.tracked is None:
            raise RuntimeError("the describe stage needs the detect and track stages before it")
        self._scale = frame.scale
        self._frame_wh = (frame.image.shape[1], frame.image.shape[0])
        for state in ctx.tracks.ended_before:
            self._finalise(state)
        tracked, fg_crops = ctx.tracks.tracked, ctx.detections.fg_crops
        due = [s for i in np.flatnonzero(tracked.track_ids >= 0)
               if (s := self._due(int(tracked.track_ids[i]), frame, tracked, int(i), fg_crops[i])) is not None]
        if due:
            # a black-and-white picture says nothing of colours; else those of every object on it, in one pass
            mono = is_monochrome(frame.image)
            counts = [{}] * len(due) if mono else self._colour_counts(frame.image, [(c, m) for _, _, c, m in due])
            for (acc, i, crop, _), parts in zip(due, counts):
                acc.monochrome_samples += mono
                self._accumulate(acc, frame, tracked, i, crop, parts)
        for state in ctx.tracks.ended:
            self._finalise(state)

    def finish(self, ctx: FrameContext) -> None:
        if ctx.tracks is not None:
            for state in ctx.tracks.ended:
                self._finalise(state)

    def end(self, result: SourceResult) -> None:
        tubes = sorted(self._tubes, key=lambda t: (t.first_pts_s, t.track_no))
        src = result.source.source_id
        for no, tube in enumerate(tubes, start=1):
            tube_id = f"{src[:16]}-{no:05d}"
            result.tubes.append(replace(tube, tube_id=tube_id, track_no=no))
            if tube.track_no in self._thumbs:
                result.thumbnails[tube_id] = self._thumbs[tube.track_no]
            result.tube_crops[tube_id] = self._crops.get(tube.track_no, [])
        result.stage_info["tubes"] = self.summary()
        self._tubes, self._crops, self._thumbs, self._acc = [], {}, {}, {}

    def take_finished(self) -> list[tuple[Tube, bytes | None, list[np.ndarray]]]:
        """The tubes finished so far, not yet numbered (tube_id ""), with thumbnail and crops, handed over and
        forgotten (a job committing a long source chunk by chunk numbers them itself); open tracks stay."""
        out = [(t, self._thumbs.pop(t.track_no, None), self._crops.pop(t.track_no, [])) for t in self._tubes]
        self._tubes = []
        return out

    def summary(self) -> str:
        """What `end` records in `stage_info["tubes"]`."""
        info = self.pipeline_info
        if self._attr_models.names:
            info += "+" + "+".join(self._attr_models.names)
        return info

    def _due(self, tid: int, frame: Frame, dets: Detections, i: int,
             fg: np.ndarray | None) -> tuple[_Acc, int, np.ndarray, np.ndarray] | None:
        """(accumulator, detection index, box crop, foreground mask) of a track due for a sample on this frame
        (every `attr_every_s`), None otherwise."""
        acc = self._acc.setdefault(tid, _Acc())
        if frame.pts_s - acc.last_attr_pts_s < self.config.attr_every_s:
            return None
        acc.last_attr_pts_s = frame.pts_s
        img = frame.image
        h, w = img.shape[:2]
        b = dets.boxes_xyxy[i]
        x0, y0 = max(0, int(b[0])), max(0, int(b[1]))
        x1, y1 = min(w, int(np.ceil(b[2]))), min(h, int(np.ceil(b[3])))
        crop = img[y0:y1, x0:x1]
        if crop.size == 0:
            return None
        mask = fg if fg is not None and fg.shape == crop.shape[:2] else _ellipse(*crop.shape[:2])
        return acc, i, crop, mask

    def _colour_counts(self, image: np.ndarray, crops: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
        """`crops_colour_counts` of a colour frame's crops under the source's light (white balanced)."""
        if (light := light_estimate(image)) is not None:
            self._lights.append(light)
        lut = balance_lut(np.median(np.stack(self._lights), axis=0)) if self._lights else None
        return crops_colour_counts(crops, person=True, cast_ref=scene_cast(image, lut=lut), lut=lut)

    def _accumulate(self, acc: _Acc, frame: Frame, dets: Detections, i: int, crop: np.ndarray,
                    parts: dict[str, np.ndarray]) -> None:
        for part, counts in parts.items():
            n = counts.sum()
            if n > 0:  # each sampled frame weighs the same, whatever the box size
                acc.colours[part] = acc.colours.get(part, np.zeros(N_CODES)) + counts / n
        b = dets.boxes_xyxy[i]
        h, w = frame.image.shape[:2]
        touches = edge_of(b, w, h, margin_frac=0.005) != "inside"
        q = crop_quality(crop, float(dets.scores[i]), touches)
        self._keep_crop(acc, q, frame, b)

    def _keep_crop(self, acc: _Acc, q: float, frame: Frame, box: np.ndarray) -> None:
        cfg = self.config
        near = [k for k, (_, t, _) in enumerate(acc.crops) if abs(t - frame.pts_s) < cfg.crop_min_gap_s]
        if near:
            k = near[0]
            if q <= acc.crops[k][0]:
                return
            del acc.crops[k]
        elif len(acc.crops) >= cfg.max_crops:
            k = int(np.argmin([c[0] for c in acc.crops]))
            if q <= acc.crops[k][0]:
                return
            del acc.crops[k]
        h, w = frame.image.shape[:2]
        x0, y0, x1, y1 = pad_box(box, w, h)
        crop = frame.image[y0:y1, x0:x1]
        f = min(1.0, cfg.crop_max_side_px / max(crop.shape[:2]))
        if f < 1.0:
            crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                              interpolation=cv2.INTER_AREA)
        acc.crops.append((q, frame.pts_s, np.ascontiguousarray(crop)))

    # --- end of a track ---

    def _finalise(self, state: TrackState) -> None:
        acc = self._acc.pop(state.track_id, None)
        built = self._build(state) if state.confirmed else None
        if built is None or acc is None:
            return
        tube, motion, footprint, votes = built
        crops = [c for _, _, c in sorted(acc.crops, key=lambda c: -c[0])]
        self._crops[state.track_id] = crops
        if crops:
            ok, jpeg = cv2.imencode(".jpg", crops[0], [cv2.IMWRITE_JPEG_QUALITY, self.config.thumbnail_jpeg_quality])
            if ok:
                self._thumbs[state.track_id] = jpeg.tobytes()
        person = tube.class_name == "person"
        src = self._source
        assert src is not None
        attributes = TubeAttributes(
            appearance=replace(_appearance(acc.colours, person), monochrome_samples=acc.monochrome_samples),
            motion=motion, footprint=footprint,
            models=self._attr_models.describe(tube.class_name, crops, _aspect(footprint)),
            class_votes=votes, first_seen_utc=src.wall_time(tube.first_pts_s),
            last_seen_utc=src.wall_time(tube.last_pts_s))
        self._tubes.append(replace(tube, attributes=attributes))

    def _build(self, s: TrackState) -> tuple[Tube, Motion, Footprint, tuple[tuple[str, float], ...]] | None:
        """The tube of a finished track (not yet described), its motion, footprint and class votes; None when
        the track is too short or never moved."""
        cfg = self.config
        src = self._source
        assert src is not None
        if len(s) < cfg.min_samples or s.pts_s[-1] - s.pts_s[0] < cfg.min_tube_s:
            return None
        fw, fh = self._frame_wh
        sizes = s.boxes_xyxy[:, 2:] - s.boxes_xyxy[:, :2]
        med_w, med_h = (float(v) for v in np.median(sizes, axis=0))
        gp = ground_points(s.boxes_xyxy)
        extent = float(np.hypot(*(gp.max(axis=0) - gp.min(axis=0))))
        if cfg.drop_static and extent < max(cfg.static_move_frac * min(med_w, med_h), 0.01 * fw):
            return None
        mo = motion_summary(s.pts_s, s.boxes_xyxy, fw, scale=self._scale)
        degraded = bool(getattr(self.detector, "degraded", False)) or bool(np.all(s.class_ids == OTHER))
        if degraded:
            class_name = geometry_class((med_w, med_h), (fw, fh), mo.speed_mean_px_s / self._scale)
            class_source, votes = "geometry", {class_name: 1.0}
        else:
            class_name, votes = class_vote(s.class_ids, s.scores)
            class_source = self.detector.name
        xy_norm = gp / np.array([fw, fh], np.float64)
        scale = self._scale
        motion = Motion(
            direction8=mo.direction8, horizontal=mo.horizontal, vertical=mo.vertical,
            speed_mean_px_s=mo.speed_mean_px_s, speed_max_px_s=mo.speed_max_px_s,
            speed_mean_fw_s=round(mo.speed_mean_px_s / (fw * scale), 4),
            speed_max_fw_s=round(mo.speed_max_px_s / (fw * scale), 4),
            dwell_s=round(float(s.pts_s[-1] - s.pts_s[0]), 3),
            stationary_max_s=mo.stationary_max_s, stationary_total_s=mo.stationary_total_s,
            entry_edge=edge_of(s.boxes_xyxy[0], fw, fh), exit_edge=edge_of(s.boxes_xyxy[-1], fw, fh),
            path=tuple((t, x, y) for t, x, y in simplify_path(s.pts_s, xy_norm)))
        footprint = Footprint(area_px=round(float(np.median(sizes[:, 0] * sizes[:, 1])) * scale * scale, 1),
                              size_px=(round(med_w * scale, 1), round(med_h * scale, 1)))
        tube = Tube(
            tube_id="", source_id=src.source_id, camera=src.camera, track_no=s.track_id,
            frame_index=s.frame_index, pts_s=s.pts_s, boxes_xyxy=s.boxes_xyxy, scores=s.scores,
            masks_rle=tuple(e if isinstance(e, str) else "" for e in s.extras),
            class_name=class_name, class_source=class_source,
        )
        return tube, motion, footprint, tuple(votes.items())


def _aspect(footprint: Footprint) -> float:
    w, h = footprint.size_px
    return h / w if w > 0 else float("nan")


def _appearance(joint: dict[str, np.ndarray], person: bool) -> Appearance:
    """Palette shares and tones of each part (head, upper and lower only for persons)."""
    parts = ("any", "head", "upper", "lower") if person else ("any",)
    pal = {p: _fractions(palette_of(joint[p]) if p in joint else None) for p in parts}
    tones = tuple((p, ColourFractions.from_pairs(tone_fractions(joint[p]).items())) for p in parts if p in joint)
    empty = ColourFractions()
    return Appearance(colours=pal["any"], upper=pal.get("upper", empty), lower=pal.get("lower", empty),
                      head=pal.get("head", empty), tones=tones, tones_measured=True)


def _fractions(counts: np.ndarray | None) -> ColourFractions:
    return ColourFractions() if counts is None else ColourFractions.from_pairs(fractions_from_counts(counts).items())
