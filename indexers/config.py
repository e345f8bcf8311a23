"""Parameters of the detect, track and describe stages (one record: they are tuned together)."""

from __future__ import annotations

from dataclasses import dataclass


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
