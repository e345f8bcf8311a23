"""Multi-object tracking: ByteTrack-style two-stage association with a Kalman motion model and appearance.

Per frame: detections under `min_score` are dropped; the rest split into high and low confidence. Stage 1
matches confirmed and lost tracks to high detections on a cost that fuses IoU with appearance the BoT-SORT way
(appearance can only lower the cost, and only between nearby boxes whose appearance is close); stage 2 matches
the still-unmatched confirmed tracks to low detections on IoU alone; stage 3 matches tentative tracks to the
remaining high detections. Unmatched high detections above `new_track_score` start tentative tracks that are
confirmed on their second match. Tracks lost for longer than `max_lost_s` end; a track that had stopped when it
was lost is kept `max_lost_still_s` (a motion detector loses people who stand still, and finds them again at
the same place when they leave).

Appearance: the person re-identification embedding (person-reidentification-retail-0288, OpenVINO) for person
detections when the model is in the models directory, otherwise (and always for non-persons) a CIELAB colour
histogram of the box's foreground pixels. Time steps come from the frames' presentation times, so frame skips
and variable sampling are handled (the Kalman state is in units of a 25 fps reference frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from vsearch.records import CLASSES, Detections, Frame
from vsearch.indexers.colours import shrink_crop
from vsearch.models.descriptors import ReidDescriptor

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

TRACKER_VERSION = "bytetrack-app-v1"
REID_MODEL = "person-reidentification-retail-0288"
PERSON = CLASSES.index("person")
OTHER = CLASSES.index("other")


@dataclass(frozen=True)
class TrackerConfig:
    min_score: float = 0.2  # detections below are dropped
    high_score: float = 0.5  # stage-1 / stage-2 split
    new_track_score: float = 0.6  # an unmatched detection starts a track only above this
    match_cost: float = 0.8  # stage 1 gate on the fused cost (1 - IoU, appearance-lowered)
    low_match_cost: float = 0.5  # stage 2 gate (IoU only)
    tentative_match_cost: float = 0.7  # stage 3 gate
    max_lost_s: float = 1.2  # a moving track lost longer than this ends
    max_lost_still_s: float = 60.0  # ... a track that had stopped is kept this long
    still_heights_s: float = 0.15  # "stopped": Kalman speed under this many box heights per second
    buffer_per_step: float = 0.06  # stage 1/2 boxes are widened by this x (frame step in 25 fps frames) per side
    tentative_buffer: float = 0.1  # stage 3 (no velocity yet): 0.1 + this x step, so slow sampling still links
    revive_colour_dist: float = 0.35  # a track lost longer than max_lost_s comes back only if its colours agree
    appearance_dist: float = 0.25  # cosine distance under which re-id appearance counts (BoT-SORT 0.25)
    colour_dist: float = 0.12  # same for colour histograms (they separate less)
    proximity_cost: float = 0.5  # appearance counts only between boxes with 1 - IoU under this
    feature_ema: float = 0.9
    ref_fps: float = 25.0  # Kalman noise is specified per frame at this rate


@dataclass(frozen=True)
class TrackState:
    """A finished (or flushed) track: per-sample arrays of length T in analysis pixels, plus the caller's
    per-sample payloads (`extras`, whatever was passed to `update`). Frames the track was lost on and then
    bridged are filled by linear interpolation: score 0.0, extras None."""

    track_id: int
    confirmed: bool
    frame_index: np.ndarray  # (T,) int64
    pts_s: np.ndarray  # (T,) float64
    boxes_xyxy: np.ndarray  # (T, 4) float32
    scores: np.ndarray  # (T,) float32
    class_ids: np.ndarray  # (T,) int16
    extras: tuple[object, ...] = ()

    def __len__(self) -> int:
        return len(self.pts_s)


# --- Kalman filter on (cx, cy, aspect w/h, h) and their velocities ------------------------------------------

_WP, _WV = 1.0 / 20.0, 1.0 / 160.0  # ByteTrack / DeepSORT noise weights


def _xyah(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    w, h = b[:, 2] - b[:, 0], np.maximum(b[:, 3] - b[:, 1], 1e-3)
    return np.stack([b[:, 0] + w / 2, b[:, 1] + h / 2, w / h, h], axis=1)


def _xyxy(state: np.ndarray) -> np.ndarray:
    s = np.asarray(state, np.float64).reshape(-1, 8)
    h = s[:, 3]
    w = s[:, 2] * h
    return np.stack([s[:, 0] - w / 2, s[:, 1] - h / 2, s[:, 0] + w / 2, s[:, 1] + h / 2], axis=1)


def _kf_init(meas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = meas[3]
    mean = np.r_[meas, np.zeros(4)]
    std = np.array([2 * _WP * h, 2 * _WP * h, 1e-2, 2 * _WP * h, 10 * _WV * h, 10 * _WV * h, 1e-5, 10 * _WV * h])
    return mean, np.diag(std**2)


def _kf_predict(mean: np.ndarray, cov: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    f = np.eye(8)
    f[range(4), range(4, 8)] = dt
    h = mean[3]
    q = np.diag(np.array([_WP * h, _WP * h, 1e-2, _WP * h, _WV * h, _WV * h, 1e-5, _WV * h]) ** 2) * dt
    return f @ mean, f @ cov @ f.T + q


def _kf_update(mean: np.ndarray, cov: np.ndarray, meas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = mean[3]
    r = np.diag(np.array([_WP * h, _WP * h, 1e-1, _WP * h]) ** 2)
    proj_cov = cov[:4, :4] + r
    gain = np.linalg.solve(proj_cov, cov[:4, :]).T  # (8, 4)
    mean = mean + gain @ (meas - mean[:4])
    cov = cov - gain @ proj_cov @ gain.T
    return mean, cov


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) xyxy boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _buffered(boxes: np.ndarray, b: float) -> np.ndarray:
    """Boxes widened by `b` x their width/height on every side (C-BIoU), for IoU under large steps."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if b <= 0:
        return boxes
    wh = boxes[:, 2:] - boxes[:, :2]
    return np.concatenate([boxes[:, :2] - b * wh, boxes[:, 2:] + b * wh], axis=1)


def _assign(cost: np.ndarray, gate: float) -> list[tuple[int, int]]:
    if cost.size == 0:
        return []
    c = np.where(cost > gate, gate + 1e3, cost)
    rows, cols = linear_sum_assignment(c)
    return [(int(r), int(k)) for r, k in zip(rows, cols) if cost[r, k] <= gate]


# --- appearance ------------------------------------------------------------------------------------------------


def colour_histogram(crop_bgr: np.ndarray, mask: np.ndarray | None = None, max_side: int = 32) -> np.ndarray:
    """L2-normalised sqrt CIELAB histogram (8x8 a*b* bins + 4 lightness bins, 68-d) of a crop's foreground."""
    h, w = crop_bgr.shape[:2]
    if h == 0 or w == 0:
        return np.zeros(68, np.float32)
    crop_bgr, mask = shrink_crop(crop_bgr, mask, max_side)
    lab = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2LAB).reshape(-1, 3)  # uint8: L 0-255, a/b offset 128
    if mask is not None and mask.any():
        lab = lab[mask.reshape(-1)]
    ab = (np.clip(lab[:, 1].astype(np.int64) - 64, 0, 127) // 16) * 8 + np.clip(lab[:, 2].astype(np.int64) - 64, 0, 127) // 16
    hist = np.r_[np.bincount(ab, minlength=64), 0.5 * np.bincount(lab[:, 0] // 64, minlength=4)].astype(np.float32)
    hist = np.sqrt(hist)
    return hist / max(float(np.linalg.norm(hist)), 1e-9)


# --- tracker ---------------------------------------------------------------------------------------------------


@dataclass
class _Track:
    track_id: int
    mean: np.ndarray
    cov: np.ndarray
    class_id: int
    last_pts_s: float
    hits: int = 1
    lost: bool = False
    hist: np.ndarray | None = None
    reid: np.ndarray | None = None
    frame_index: list[int] = field(default_factory=list)
    pts_s: list[float] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    class_ids: list[int] = field(default_factory=list)
    extras: list[object] = field(default_factory=list)
    gap: list[tuple[int, float]] = field(default_factory=list)  # (frame_index, pts_s) of frames missed since the last match

    @property
    def confirmed(self) -> bool:
        return self.hits >= 2

    def to_state(self) -> TrackState:
        return TrackState(
            track_id=self.track_id, confirmed=self.confirmed,
            frame_index=np.asarray(self.frame_index, np.int64), pts_s=np.asarray(self.pts_s, np.float64),
            boxes_xyxy=np.asarray(self.boxes, np.float32).reshape(-1, 4), scores=np.asarray(self.scores, np.float32),
            class_ids=np.asarray(self.class_ids, np.int16), extras=tuple(self.extras),
        )


def _ema(old: np.ndarray | None, new: np.ndarray | None, alpha: float) -> np.ndarray | None:
    if new is None:
        return old
    if old is None:
        return new
    v = alpha * old + (1 - alpha) * new
    return v / max(float(np.linalg.norm(v)), 1e-9)


class Tracker:
    """Tracks detections frame by frame. `update` returns a new `Detections` whose `track_ids` name the track
    each detection joined (tentative tracks included; -1 for detections that joined none); the input is never
    modified. Ended tracks are collected with `pop_finished()`; `finish()` ends all the rest."""

    def __init__(self, config: TrackerConfig | None = None, *, models: ModelSet | None = None,
                 reid: ReidDescriptor | None = None) -> None:
        self.config = config or TrackerConfig()
        self.reid = reid if reid is not None else ReidDescriptor.from_models(models)
        self._tracks: list[_Track] = []
        self._finished: list[TrackState] = []
        self._next_id = 1

    @property
    def appearance(self) -> str:
        return f"{REID_MODEL}+colour-hist" if self.reid is not None else "colour-hist"

    @property
    def active_count(self) -> int:
        return len(self._tracks)

    def confirmed_ids(self) -> set[int]:
        return {t.track_id for t in self._tracks if t.confirmed}

    def _features(self, dets: Detections, frame: Frame) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        img = frame.image
        hh, ww = img.shape[:2]
        hists, crops, person_rows = [], [], []
        for i, b in enumerate(dets.boxes_xyxy):
            x0, y0 = max(0, int(b[0])), max(0, int(b[1]))
            x1, y1 = min(ww, int(np.ceil(b[2]))), min(hh, int(np.ceil(b[3])))
            crop = img[y0:y1, x0:x1]
            mask = None if dets.masks is None else dets.masks[i, y0:y1, x0:x1]
            hists.append(colour_histogram(crop, mask))
            if self.reid is not None and dets.class_ids[i] == PERSON and crop.size > 0:
                crops.append(crop)
                person_rows.append(i)
        reids: list[np.ndarray | None] = [None] * len(dets)
        if crops:
            for i, v in zip(person_rows, self.reid.embed(crops)):
                reids[i] = v
        return hists, reids

    def _app_dist(self, tracks: list[_Track], hists: list[np.ndarray], reids: list, cols: list[int]) -> np.ndarray:
        """(T, D) appearance distance scaled so that 1 = 'no evidence' (BoT-SORT gating)."""
        cfg = self.config
        d = np.ones((len(tracks), len(cols)))
        for r, t in enumerate(tracks):
            for c, j in enumerate(cols):
                if t.reid is not None and reids[j] is not None:
                    dist = 1.0 - float(t.reid @ reids[j])
                    d[r, c] = dist if dist < cfg.appearance_dist else 1.0
                elif t.hist is not None:
                    dist = 1.0 - float(t.hist @ hists[j])
                    d[r, c] = dist / cfg.colour_dist * cfg.appearance_dist if dist < cfg.colour_dist else 1.0
        return d

    def update(self, dets: Detections, frame: Frame, extras: list[object] | None = None) -> Detections:
        """Advance all tracks to `frame` and associate `dets` (analysis pixels). `extras[i]`, if given, is stored
        with the track sample made from detection i (the tube stage passes its per-sample mask here)."""
        cfg = self.config
        if extras is not None and len(extras) != len(dets):
            raise ValueError(f"extras has {len(extras)} items, detections have {len(dets)}")
        pts = float(frame.pts_s)
        step = 1.0
        for t in self._tracks:
            step = max((pts - t.last_pts_s) * cfg.ref_fps, 0.0) or 1.0
        for t in self._tracks:
            dt = max((pts - t.last_pts_s) * cfg.ref_fps, 0.0)
            t.mean, t.cov = _kf_predict(t.mean, t.cov, dt)
            t.last_pts_s = pts
        keep = np.flatnonzero(dets.scores >= cfg.min_score)
        hists, reids = self._features(dets[keep], frame) if len(keep) else ([], [])
        boxes = dets.boxes_xyxy[keep]
        scores = dets.scores[keep]
        cls = dets.class_ids[keep].astype(np.int64)
        high = [i for i in range(len(keep)) if scores[i] >= cfg.high_score]
        low = [i for i in range(len(keep)) if scores[i] < cfg.high_score]
        assigned: dict[int, _Track] = {}

        def cost_for(tracks: list[_Track], cols: list[int], use_app: bool, buf: float) -> np.ndarray:
            pred = _xyxy(np.array([t.mean for t in tracks])) if tracks else np.zeros((0, 4))
            iou = iou_matrix(_buffered(pred, buf), _buffered(boxes[cols], buf))
            iou_d = 1.0 - (iou * scores[cols][None, :] if use_app else iou)  # stages 1 and 3 fuse the score
            if use_app and len(tracks) and len(cols):
                app = self._app_dist(tracks, hists, reids, cols)
                app[iou_d > cfg.proximity_cost] = 1.0
                iou_d = np.minimum(iou_d, app)
            t_cls = np.array([t.class_id for t in tracks])[:, None] if tracks else np.zeros((0, 1))
            clash = (t_cls != cls[cols][None, :]) & (t_cls != OTHER) & (cls[cols][None, :] != OTHER)
            for r, t in enumerate(tracks):  # long-lost (stopped) tracks: only an object that looks the same
                if t.lost and pts - t.pts_s[-1] > cfg.max_lost_s and t.hist is not None:
                    dist = 1.0 - np.array([float(t.hist @ hists[j]) for j in cols])
                    clash[r] |= dist > cfg.revive_colour_dist
            return np.where(clash, 2.0, iou_d)

        def take(tracks: list[_Track], cols: list[int], gate: float, use_app: bool,
                 buf: float) -> tuple[list[_Track], list[int]]:
            pairs = _assign(cost_for(tracks, cols, use_app, buf), gate)
            for r, c in pairs:
                assigned[cols[c]] = tracks[r]
            used_r = {r for r, _ in pairs}
            used_c = {c for _, c in pairs}
            return [t for r, t in enumerate(tracks) if r not in used_r], [j for c, j in enumerate(cols) if c not in used_c]

        pool = [t for t in self._tracks if t.confirmed]
        tentative = [t for t in self._tracks if not t.confirmed]
        buf = min(cfg.buffer_per_step * step, 0.4)
        pool, high_left = take(pool, high, cfg.match_cost, True, buf)
        take([t for t in pool if not t.lost], low, cfg.low_match_cost, False, buf)
        tent_buf = min(0.1 + cfg.tentative_buffer * step, 0.8)
        tentative_left, high_left = take(tentative, high_left, cfg.tentative_match_cost, True, tent_buf)

        out_ids = np.full(len(dets), -1, np.int64)
        for j, t in assigned.items():
            self._record(t, j, keep, dets, boxes, scores, cls, hists, reids, extras)
            out_ids[keep[j]] = t.track_id
        for j in high_left:
            if scores[j] < cfg.new_track_score:
                continue
            mean, cov = _kf_init(_xyah(boxes[j])[0])
            t = _Track(self._next_id, mean, cov, int(cls[j]), pts, hits=0)
            self._next_id += 1
            self._tracks.append(t)
            self._record(t, j, keep, dets, boxes, scores, cls, hists, reids, extras, init=True)
            out_ids[keep[j]] = t.track_id
        matched = set(id(t) for t in assigned.values())
        for t in self._tracks:
            if id(t) not in matched and t.frame_index[-1] != dets.frame_index:
                t.lost = True
                if t.confirmed:
                    t.gap.append((int(dets.frame_index), pts))
        self._expire(pts, tentative_left)
        return replace(dets, track_ids=out_ids)

    def _record(self, t: _Track, j: int, keep: np.ndarray, dets: Detections, boxes: np.ndarray, scores: np.ndarray,
                cls: np.ndarray, hists: list, reids: list, extras: list | None, init: bool = False) -> None:
        if not init:
            t.mean, t.cov = _kf_update(t.mean, t.cov, _xyah(boxes[j])[0])
        if t.gap and t.boxes:  # a bridged gap (occlusion, missed detections, a stop): interpolate the boxes
            b0, b1 = t.boxes[-1], np.asarray(boxes[j], np.float32)
            p0, p1 = t.pts_s[-1], float(dets.pts_s)
            for fi, p in t.gap:
                w = (p - p0) / max(p1 - p0, 1e-9)
                t.frame_index.append(fi)
                t.pts_s.append(p)
                t.boxes.append(((1 - w) * b0 + w * b1).astype(np.float32))
                t.scores.append(0.0)
                t.class_ids.append(t.class_ids[-1])
                t.extras.append(None)
        t.gap = []
        t.hits += 1
        t.lost = False
        if t.class_id == OTHER and cls[j] != OTHER:
            t.class_id = int(cls[j])
        t.hist = _ema(t.hist, hists[j], self.config.feature_ema)
        t.reid = _ema(t.reid, reids[j], self.config.feature_ema)
        t.frame_index.append(int(dets.frame_index))
        t.pts_s.append(float(dets.pts_s))
        t.boxes.append(np.asarray(boxes[j], np.float32))
        t.scores.append(float(scores[j]))
        t.class_ids.append(int(cls[j]))
        t.extras.append(None if extras is None else extras[int(keep[j])])

    def _expire(self, pts: float, tentative_unmatched: list[_Track]) -> None:
        cfg = self.config
        dead = {id(t) for t in tentative_unmatched if t.hits <= 1 and t.pts_s[-1] < pts}
        alive = []
        for t in self._tracks:
            gone = pts - t.pts_s[-1]
            speed_s = float(np.hypot(t.mean[4], t.mean[5])) * cfg.ref_fps
            still = speed_s < cfg.still_heights_s * max(float(t.mean[3]), 1.0)
            limit = cfg.max_lost_still_s if still and t.confirmed else cfg.max_lost_s
            if id(t) in dead or (t.lost and gone > limit):
                self._finished.append(t.to_state())
            else:
                alive.append(t)
        self._tracks = alive

    def open_since_s(self) -> float | None:
        """Presentation time of the first sample of the oldest open track (None: no track open)."""
        starts = [t.pts_s[0] for t in self._tracks if t.pts_s]
        return min(starts) if starts else None

    def pop_finished(self) -> list[TrackState]:
        """Tracks that ended since the last call (tentative ones included, `confirmed=False`)."""
        out, self._finished = self._finished, []
        return out

    def finish(self) -> list[TrackState]:
        """End every track (end of the source) and return all not yet popped."""
        for t in self._tracks:
            self._finished.append(t.to_state())
        self._tracks = []
        return self.pop_finished()
