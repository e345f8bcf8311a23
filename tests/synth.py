"""Synthetic surveillance videos with exact ground truth.

Objects are flat-coloured rectangles ("vehicles") or two-tone rectangles ("persons": upper/lower colour)
moving along piecewise-linear paths over a static textured background. Videos are rendered with numpy and
encoded with the ffmpeg binary from imageio-ffmpeg, so tests exercise real decoding.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

import imageio_ffmpeg
import numpy as np

# BGR values of clean palette colours
BGR = {
    "red": (40, 40, 220),
    "green": (50, 180, 50),
    "blue": (220, 90, 30),
    "yellow": (40, 220, 230),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "orange": (20, 130, 250),
    "purple": (160, 40, 130),
    "pink": (190, 150, 255),
    "brown": (30, 70, 120),
    "grey": (128, 128, 128),
}


@dataclass
class SynthObject:
    obj_id: int
    colour: str  # whole-object colour (or upper colour for persons)
    waypoints: list[tuple[float, float, float]]  # (t_s, cx_px, cy_px), t increasing; outside [t0, tN] absent
    size_px: tuple[int, int] = (40, 30)  # (w, h)
    lower_colour: str | None = None  # persons: colour of the lower half
    kind: str = "car"

    def position(self, t: float) -> tuple[float, float] | None:
        ts = [w[0] for w in self.waypoints]
        if t < ts[0] or t > ts[-1]:
            return None
        x = float(np.interp(t, ts, [w[1] for w in self.waypoints]))
        y = float(np.interp(t, ts, [w[2] for w in self.waypoints]))
        return x, y

    def box(self, t: float) -> tuple[float, float, float, float] | None:
        p = self.position(t)
        if p is None:
            return None
        w, h = self.size_px
        return (p[0] - w / 2, p[1] - h / 2, p[0] + w / 2, p[1] + h / 2)


@dataclass
class SynthVideo:
    path: Path
    width: int
    height: int
    fps: int
    duration_s: float
    objects: list[SynthObject] = field(default_factory=list)

    def gt_json(self) -> str:
        return json.dumps({"width": self.width, "height": self.height, "fps": self.fps,
                           "duration_s": self.duration_s, "objects": [asdict(o) for o in self.objects]})


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A static textured grey background (pavement-like), deterministic."""
    rng = np.random.default_rng(seed)
    base = np.full((height, width, 3), 110, np.uint8)
    noise = rng.integers(-12, 12, size=(height // 8 + 1, width // 8 + 1, 1))
    noise = np.kron(noise, np.ones((8, 8, 1), dtype=np.int64))[:height, :width]
    bg = np.clip(base.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    bg[height // 2 - 2: height // 2 + 2, :, :] = 150  # a painted line
    return bg


def render_frame(bg: np.ndarray, objects: list[SynthObject], t: float, rng: np.random.Generator | None) -> np.ndarray:
    img = bg.copy()
    for o in objects:
        b = o.box(t)
        if b is None:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in b)
        x0c, y0c = max(x0, 0), max(y0, 0)
        x1c, y1c = min(x1, img.shape[1]), min(y1, img.shape[0])
        if x1c <= x0c or y1c <= y0c:
            continue
        if o.lower_colour is None:
            img[y0c:y1c, x0c:x1c] = BGR[o.colour]
        else:
            mid = (y0 + y1) // 2
            img[y0c:max(min(mid, y1c), y0c), x0c:x1c] = BGR[o.colour]
            img[max(mid, y0c):y1c, x0c:x1c] = BGR[o.lower_colour]
    if rng is not None:  # mild sensor noise so the background model has something to ignore
        img = np.clip(img.astype(np.int16) + rng.integers(-3, 4, img.shape, dtype=np.int16), 0, 255).astype(np.uint8)
    return img


def write_video(video: SynthVideo, *, codec: str = "libx264", seed: int = 0, extra_args: tuple[str, ...] = ()) -> SynthVideo:
    """Render and encode `video`; writes a `<name>.gt.json` ground-truth file beside it."""
    video.path.parent.mkdir(parents=True, exist_ok=True)
    bg = background(video.width, video.height, seed)
    rng = np.random.default_rng(seed + 1)
    n = int(round(video.duration_s * video.fps))
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{video.width}x{video.height}", "-r", str(video.fps), "-i", "pipe:0", "-an", "-c:v", codec]
    if codec == "libx264":
        cmd += ["-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(video.fps * 2)]
    cmd += [*extra_args, str(video.path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(n):
        proc.stdin.write(render_frame(bg, video.objects, i / video.fps, rng).tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {video.path}")
    video.path.with_suffix(".gt.json").write_text(video.gt_json())
    return video


def crossing_scene(path: Path, duration_s: float = 6.0, fps: int = 25) -> SynthVideo:
    """Three objects: red car left->right, blue car right->left crossing it, a person (white top, black
    bottom) walking down. Exact ground truth."""
    w, h = 640, 360
    objs = [
        SynthObject(1, "red", [(0.5, 40, 140), (5.0, 600, 140)], (60, 34), kind="car"),
        SynthObject(2, "blue", [(0.8, 600, 200), (5.3, 40, 200)], (60, 34), kind="car"),
        SynthObject(3, "white", [(1.0, 320, 30), (5.5, 320, 330)], (22, 56), lower_colour="black", kind="person"),
    ]
    return write_video(SynthVideo(path, w, h, fps, duration_s, objs))
