"""The tube stage: detect -> track -> per-track colour, thumbnail and crops -> `Tube` records with attributes.

Memory stays flat in footage length: per-track accumulators live only while the track is active; when the
tracker ends a track it is turned into a `Tube` (small arrays + attributes) and its accumulators are dropped.
Crops kept for the embedding stage are bounded (K per track, longer side at most `crop_max_side_px`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vsearch.indexers import masks as mask_rle
from vsearch.indexers.attributes import (
    PALETTE,
    AttributeModels,
    class_vote,
    crop_colour_counts,
    crop_quality,
    edge_of,
    fractions_from_counts,
    geometry_class,
    ground_points,
    motion_summary,
    pad_box,
    simplify_path,
)
from vsearch.indexers.base import Detector, FrameContext, SourceResult
from vsearch.indexers.track import TRACKER_VERSION, Tracker, TrackerConfig, TrackState
from vsearch.records import CLASSES, Detections, Frame, SourceRef, Tube

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

OTHER = CLASSES.index("other")


@dataclass(frozen=True)
class TubeConfig:
    min_tube_s: float = 1.0  # shorter tracks are dropped
    min_samples: int = 3
    drop_static: bool = True  # drop tubes that never move (parked cars seen by a model detector)
    static_move_frac: float = 0.5  # "never moves": ground points stay within this fraction of the box's short side
    max_crops: int = 4  # crops kept per tube for the embedding stage
    crop_max_side_px: int = 256
    crop_min_gap_s: float = 0.5  # kept crops at least this far apart in time
    attr_every_s: float = 0.2  # colour/thumbnail sampling period per track
    thumbnail_jpeg_quality: int = 85
    detect_on_activity: bool = False  # model detectors: skip detection on frames where nothing changes
    activity_fraction: float = 0.002  # fraction of changed pixels (64-px-wide grey thumbnail) that is activity
    background_masks: bool = True  # detectors without masks: foreground from a small MOG2 model
    reset_after_jump_s: float = 3.0  # a pts jump longer than this (activity gating skipped an idle stretch, or an
    # unreadable gap) ends every track and resets the detector's and the mask model's backgrounds


@dataclass
class _Acc:
    """Per-track accumulators (aligned with nothing per-sample: running sums and a few crops)."""

    colours: np.ndarray = field(default_factory=lambda: np.zeros(len(PALETTE)))
    upper: np.ndarray = field(default_factory=lambda: np.zeros(len(PALETTE)))
    lower: np.ndarray = field(default_factory=lambda: np.zeros(len(PALETTE)))
    last_attr_pts_s: float = -1e18
    crops: list[tuple[float, float, np.ndarray]] = field(default_factory=list)  # (quality, pts_s, crop)


class _Foreground:
    """A small MOG2 background model (longer side 320 px) giving foreground masks to detectors that have none."""

    def __init__(self) -> None:
        self._mog = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
        self._mask: np.ndarray | None = None

    def apply(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        f = min(1.0, 320.0 / max(h, w))
        small = cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else image
        fg = self._mog.apply(small) == 255  # 127 = shadow: not foreground
        self._mask = cv2.resize(fg.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)

    def crop(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray | None:
        return None if self._mask is None else self._mask[y0:y1, x0:x1]


def _ellipse(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 0.5 - w / 2) / (w / 2)) ** 2 + ((yy + 0.5 - h / 2) / (h / 2)) ** 2 <= 1.0


class TubeStage:
    """Stage "tubes": one `Tube` per tracked moving object, with attributes, thumbnail and crops."""

    name = "tubes"

    def __init__(self, detector: Detector, *, models: ModelSet | None = None, config: TubeConfig | None = None,
                 tracker_config: TrackerConfig | None = None, use_reid: bool = False) -> None:
        self.detector = detector
        self.config = config or TubeConfig()
        self.tracker_config = tracker_config or TrackerConfig()
        self.models = models  # resolved, hash-verified model files (vsearch.models.resolve); None: no models
        self._use_reid = use_reid
        self._attr_models = AttributeModels(models)
        self._reid = None
        self._source: SourceRef | None = None

    # --- stage protocol ---

    def begin(self, source: SourceRef) -> None:
        reid_xml = self.models.path("reid-0288") if self.models is not None else None
        if self._use_reid and self._reid is None and reid_xml is not None:
            from vsearch.indexers.track import ReidEncoder

            self._reid = ReidEncoder(reid_xml)
        self._source = source
        self.detector.reset()
        self._tracker = Tracker(self.tracker_config, reid=self._reid)
        self._acc: dict[int, _Acc] = {}
        self._tubes: list[Tube] = []
        self._crops: dict[int, list[np.ndarray]] = {}
        self._thumbs: dict[int, bytes] = {}
        self._scale = 1.0
        self._frame_wh = (source.analysis_width_px, source.analysis_height_px)
        self._fg = _Foreground() if self.config.background_masks else None
        self._prev_small: np.ndarray | None = None
        self._last_pts_s: float | None = None
        self.frames_detected = 0

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        if self._source is None:
            raise RuntimeError("TubeStage.process called before begin()")
        self._scale = frame.scale
        self._frame_wh = (frame.image.shape[1], frame.image.shape[0])
        if self._last_pts_s is not None and frame.pts_s - self._last_pts_s > self.config.reset_after_jump_s:
            self._jump()
        self._last_pts_s = frame.pts_s
        dets = self._detect(frame)
        if dets.masks is None and self._fg is not None:
            self._fg.apply(frame.image)
        rles, fg_crops = self._masks(dets, frame)
        tracked = self._tracker.update(dets, frame, extras=rles)
        for i in np.flatnonzero(tracked.track_ids >= 0):
            self._accumulate(int(tracked.track_ids[i]), frame, tracked, int(i), fg_crops[i])
        confirmed = self._tracker.confirmed_ids()
        ctx.tracked = tracked[np.isin(tracked.track_ids, list(confirmed))]
        for state in self._tracker.pop_finished():
            self._finalise(state)

    def end(self, result: SourceResult) -> None:
        for state in self._tracker.finish():
            self._finalise(state)
        tubes = sorted(self._tubes, key=lambda t: (t.first_pts_s, t.track_no))
        src = result.source.source_id
        for no, tube in enumerate(tubes, start=1):
            tube_id = f"{src[:16]}-{no:05d}"
            result.tubes.append(replace(tube, tube_id=tube_id, track_no=no))
            if tube.track_no in self._thumbs:
                result.thumbnails[tube_id] = self._thumbs[tube.track_no]
            result.tube_crops[tube_id] = self._crops.get(tube.track_no, [])
        info = f"{self.detector.name}+{TRACKER_VERSION}+{self._tracker.appearance}"
        if self._attr_models.names:
            info += "+" + "+".join(self._attr_models.names)
        result.stage_info[self.name] = info
        self._tubes, self._crops, self._thumbs, self._acc = [], {}, {}, {}

    def _jump(self) -> None:
        """Frames are missing for a while: end the tracks (nothing links across) and relearn backgrounds."""
        for state in self._tracker.finish():
            self._finalise(state)
        self.detector.reset()
        self._fg = _Foreground() if self.config.background_masks else None
        self._prev_small = None

    # --- per frame ---

    def _detect(self, frame: Frame) -> Detections:
        cfg = self.config
        if cfg.detect_on_activity and not getattr(self.detector, "degraded", False):
            img = frame.image
            small = cv2.cvtColor(cv2.resize(img, (64, max(1, round(64 * img.shape[0] / img.shape[1]))),
                                            interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY).astype(np.int16)
            prev, self._prev_small = self._prev_small, small
            idle = prev is not None and np.mean(np.abs(small - prev) > 12) < cfg.activity_fraction
            if idle and self._tracker.active_count == 0:
                return Detections.empty(frame.index, frame.pts_s, self.detector.name)
        self.frames_detected += 1
        return self.detector.detect(frame)

    def _masks(self, dets: Detections, frame: Frame) -> tuple[list[str], list[np.ndarray | None]]:
        h, w = frame.image.shape[:2]
        rles: list[str] = []
        crops: list[np.ndarray | None] = []
        for i, b in enumerate(dets.boxes_xyxy):
            x0, y0 = max(0, int(b[0])), max(0, int(b[1]))
            x1, y1 = min(w, int(np.ceil(b[2]))), min(h, int(np.ceil(b[3])))
            if dets.masks is not None:
                m = dets.masks[i, y0:y1, x0:x1]
            elif self._fg is not None:
                m = self._fg.crop(x0, y0, x1, y1)
            else:
                m = None
            if m is None or m.size == 0:
                rles.append("")
                crops.append(None)
                continue
            rles.append(mask_rle.encode(m))
            crops.append(m if m.mean() >= 0.05 else None)  # a model box whose object stopped moving
        return rles, crops

    def _accumulate(self, tid: int, frame: Frame, dets: Detections, i: int, fg: np.ndarray | None) -> None:
        cfg = self.config
        acc = self._acc.setdefault(tid, _Acc())
        if frame.pts_s - acc.last_attr_pts_s < cfg.attr_every_s:
            return
        acc.last_attr_pts_s = frame.pts_s
        img = frame.image
        h, w = img.shape[:2]
        b = dets.boxes_xyxy[i]
        x0, y0 = max(0, int(b[0])), max(0, int(b[1]))
        x1, y1 = min(w, int(np.ceil(b[2]))), min(h, int(np.ceil(b[3])))
        crop = img[y0:y1, x0:x1]
        if crop.size == 0:
            return
        mask = fg if fg is not None and fg.shape == crop.shape[:2] else _ellipse(*crop.shape[:2])
        whole, upper, lower = crop_colour_counts(crop, mask, person=True)
        for total, part in ((acc.colours, whole), (acc.upper, upper), (acc.lower, lower)):
            s = part.sum()
            if s > 0:
                total += part / s
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
        tube = self._build(state, acc) if state.confirmed else None
        if tube is None or acc is None:
            return
        self._tubes.append(tube)
        crops = [c for _, _, c in sorted(acc.crops, key=lambda c: -c[0])]
        self._crops[state.track_id] = crops
        if crops:
            ok, jpeg = cv2.imencode(".jpg", crops[0], [cv2.IMWRITE_JPEG_QUALITY, self.config.thumbnail_jpeg_quality])
            if ok:
                self._thumbs[state.track_id] = jpeg.tobytes()
        models = self._attr_models.describe(tube.class_name, crops)
        if models:
            tube.attributes["models"] = models

    def _build(self, s: TrackState, acc: _Acc | None) -> Tube | None:
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
        person = class_name == "person"
        colours = acc.colours if acc is not None else np.zeros(len(PALETTE))
        xy_norm = gp / np.array([fw, fh], np.float64)
        scale = self._scale
        attrs: dict[str, object] = {
            "colours": fractions_from_counts(colours),
            "upper_colours": fractions_from_counts(acc.upper) if person and acc is not None else {},
            "lower_colours": fractions_from_counts(acc.lower) if person and acc is not None else {},
            "direction8": mo.direction8, "horizontal": mo.horizontal, "vertical": mo.vertical,
            "speed_mean_px_s": mo.speed_mean_px_s, "speed_max_px_s": mo.speed_max_px_s,
            "speed_mean_fw_s": round(mo.speed_mean_px_s / (fw * scale), 4),
            "speed_max_fw_s": round(mo.speed_max_px_s / (fw * scale), 4),
            "dwell_s": round(float(s.pts_s[-1] - s.pts_s[0]), 3),
            "stationary_max_s": mo.stationary_max_s, "stationary_total_s": mo.stationary_total_s,
            "entry_edge": edge_of(s.boxes_xyxy[0], fw, fh), "exit_edge": edge_of(s.boxes_xyxy[-1], fw, fh),
            "path": simplify_path(s.pts_s, xy_norm),
            "area_px": round(float(np.median(sizes[:, 0] * sizes[:, 1])) * scale * scale, 1),
            "size_px": [round(med_w * scale, 1), round(med_h * scale, 1)],
            "models": {},
            "class_votes": votes,
            "first_seen_utc": src.wall_time(float(s.pts_s[0])).isoformat(),
            "last_seen_utc": src.wall_time(float(s.pts_s[-1])).isoformat(),
        }
        return Tube(
            tube_id="", source_id=src.source_id, camera=src.camera, track_no=s.track_id,
            frame_index=s.frame_index, pts_s=s.pts_s, boxes_xyxy=s.boxes_xyxy, scores=s.scores,
            masks_rle=tuple(e if isinstance(e, str) else "" for e in s.extras),
            class_name=class_name, class_source=class_source, attributes=attrs,
        )
