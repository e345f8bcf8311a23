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


def lanes_scene(path: Path, duration_s: float = 6.0, fps: int = 10) -> SynthVideo:
    """Four objects of distinct colours on paths that never touch (so a motion detector sees each alone):
    red car east, blue car west, a person (green top, black bottom) walking north, an orange car going
    south-east. Exact ground truth."""
    w, h = 640, 360
    objs = [
        SynthObject(1, "red", [(1.0, 30, 60), (5.0, 610, 60)], (50, 28), kind="car"),
        SynthObject(2, "blue", [(1.5, 610, 300), (5.5, 30, 300)], (50, 28), kind="car"),
        SynthObject(3, "green", [(1.0, 500, 250), (3.0, 500, 100)], (22, 56), lower_colour="black", kind="person"),
        SynthObject(4, "orange", [(2.0, 80, 110), (5.5, 230, 225)], (40, 24), kind="car"),
    ]
    return write_video(SynthVideo(path, w, h, fps, duration_s, objs))


def parked_scene(path: Path, duration_s: float = 6.0, fps: int = 10) -> SynthVideo:
    """A white van parked for the whole clip (object 1, never moves) and a green car driving east."""
    w, h = 640, 360
    objs = [
        SynthObject(1, "white", [(0.0, 200, 250), (duration_s, 200, 250)], (90, 50), kind="truck"),
        SynthObject(2, "green", [(1.0, 30, 80), (5.0, 610, 80)], (50, 28), kind="car"),
    ]
    return write_video(SynthVideo(path, w, h, fps, duration_s, objs))


def stop_scene(path: Path, stop_s: float = 30.0, fps: int = 5) -> SynthVideo:
    """A person (red top, blue bottom) walks in from the left, stands still for `stop_s`, walks out right.
    Small and low-rate so a 40-s clip stays fast."""
    w, h = 320, 180
    t_stop = 4.0
    objs = [SynthObject(1, "red", [(1.0, 20, 100), (t_stop, 140, 100), (t_stop + stop_s, 140, 100),
                                   (t_stop + stop_s + 3.0, 300, 100)], (14, 36), lower_colour="blue",
                        kind="person")]
    return write_video(SynthVideo(path, w, h, fps, t_stop + stop_s + 4.0, objs))


def same_line_crossing_scene(path: Path, duration_s: float = 5.0, fps: int = 10) -> SynthVideo:
    """Two persons on the same horizontal line walking towards each other and passing through each other
    (full overlap at t = 2.5 s): yellow/blue top walking east, pink/black walking west."""
    w, h = 480, 270
    objs = [
        SynthObject(1, "yellow", [(0.5, 40, 140), (4.5, 440, 140)], (20, 52), lower_colour="blue", kind="person"),
        SynthObject(2, "pink", [(0.5, 440, 140), (4.5, 40, 140)], (20, 52), lower_colour="black", kind="person"),
    ]
    return write_video(SynthVideo(path, w, h, fps, duration_s, objs))


def gt_detections(video: SynthVideo, frame, kind_to_class: dict[str, int] | None = None):  # noqa: ANN001
    """Exact ground-truth `Detections` of `video` at a decoded `vsearch.records.Frame` (analysis pixels, boxes
    clipped to the frame, box-filled masks, score 1, track_ids = object ids; an oracle detector for tests).
    Class ids follow `kind_to_class` (object kind -> index into CLASSES), "other" when not given."""
    from vsearch.records import CLASSES, Detections

    ih, iw = frame.image.shape[:2]
    boxes, classes, ids = [], [], []
    for o in video.objects:
        b = o.box(frame.pts_s)
        if b is None:
            continue
        x0, y0, x1, y1 = (min(max(v / frame.scale, 0.0), lim) for v, lim in zip(b, (iw, ih, iw, ih)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        boxes.append((x0, y0, x1, y1))
        classes.append((kind_to_class or {}).get(o.kind, CLASSES.index("other")))
        ids.append(o.obj_id)
    masks = np.zeros((len(boxes), ih, iw), bool)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        masks[i, int(round(y0)):int(round(y1)), int(round(x0)):int(round(x1))] = True
    return Detections(boxes_xyxy=np.asarray(boxes, np.float32).reshape(-1, 4), scores=np.ones(len(boxes), np.float32),
                      class_ids=np.asarray(classes, np.int16), frame_index=frame.index, pts_s=frame.pts_s,
                      masks=masks, track_ids=np.asarray(ids, np.int64), source="ground-truth")


def hue_palette(n: int = 12, value: float = 0.9) -> list[tuple[int, int, int]]:
    """`n` fully saturated BGR colours at evenly spaced hues (0°, 360/n°, ...): well separated from each
    other and from the grey background, white and black."""
    import colorsys

    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb(i / n, 1.0, value)
        out.append((int(round(b * 255)), int(round(g * 255)), int(round(r * 255))))
    return out


def write_video_palette(video: SynthVideo, palette: dict[str, tuple[int, int, int]], *, seed: int = 0,
                        noise: bool = True, gop: int | None = None) -> SynthVideo:
    """Like `write_video` but with colours looked up in `palette` (name -> BGR) and only the objects present
    at each time drawn (fast for long videos with many objects). Sensor noise cycles through 8 fields."""
    video.path.parent.mkdir(parents=True, exist_ok=True)
    bg = background(video.width, video.height, seed)
    rng = np.random.default_rng(seed + 1)
    fields = [rng.integers(-3, 4, bg.shape, dtype=np.int16) for _ in range(8)] if noise else []
    n = int(round(video.duration_s * video.fps))
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
           "-s", f"{video.width}x{video.height}", "-r", str(video.fps), "-i", "pipe:0", "-an", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(gop or video.fps * 2), str(video.path)]
    spans = sorted((o.waypoints[0][0], o.waypoints[-1][0], k) for k, o in enumerate(video.objects))
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(n):
        t = i / video.fps
        img = bg.copy()
        for t0, t1, k in spans:
            if t0 > t:
                break
            if t > t1:
                continue
            o = video.objects[k]
            x0, y0, x1, y1 = (int(round(v)) for v in o.box(t))  # type: ignore[misc]
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, video.width), min(y1, video.height)
            if x1 > x0 and y1 > y0:
                img[y0:y1, x0:x1] = palette[o.colour]
        if fields:
            img = np.clip(img.astype(np.int16) + fields[i % 8], 0, 255).astype(np.uint8)
        proc.stdin.write(img.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed writing {video.path}")
    video.path.with_suffix(".gt.json").write_text(video.gt_json())
    return video


def synopsis_scene(path: Path) -> tuple[SynthVideo, dict[str, tuple[int, int, int]]]:
    """10 minutes, 320x180 at 5 fps, 12 flat-coloured objects with colours `h00`..`h11` of `hue_palette(12)`.

    Objects 0-5 (hues 0°-150°) are meant as the 'matching' ones, 6-11 (180°-330°) as non-matching. Object 7
    follows object 1 closely along the same row; object 11 parks for 7 minutes (it would ghost into a
    plain temporal median). Returns the video and the palette (name -> BGR)."""
    palette = {f"h{i:02d}": c for i, c in enumerate(hue_palette(12))}
    rows = [20, 48, 76, 104, 132, 160]
    objs = []
    for k, t0 in enumerate([20, 110, 200, 290, 380, 470]):  # matching: left -> right, 25-35 s
        dur = 25 + 2 * k
        objs.append(SynthObject(k, f"h{k:02d}", [(t0, 20, rows[k]), (t0 + dur, 300, rows[k])], (24, 18)))
    objs.append(SynthObject(6, "h06", [(60, 300, 90), (90, 20, 105)], (24, 18)))
    objs.append(SynthObject(7, "h07", [(111, 5, 48), (141, 285, 48)], (20, 16)))  # trails object 1
    objs.append(SynthObject(8, "h08", [(240, 160, 20), (270, 160, 160)], (18, 24)))
    objs.append(SynthObject(9, "h09", [(330, 300, 150), (358, 20, 30)], (24, 18)))
    objs.append(SynthObject(10, "h10", [(540, 20, 100), (575, 300, 80)], (24, 18)))
    objs.append(SynthObject(11, "h11", [(95, 300, 150), (100, 260, 150), (520, 260, 150), (525, 300, 150)],
                            (24, 18)))  # parked
    return write_video_palette(SynthVideo(path, 320, 180, 5, 600.0, objs), palette), palette


def busy_scene(path: Path, duration_s: float = 3600.0, n_objects: int = 360, *, width: int = 640,
               height: int = 360, fps: int = 10, seed: int = 0, write: bool = True) -> SynthVideo:
    """Long 'busy' footage: `n_objects` cars/persons crossing the frame along straight lines at random
    times (each 15-45 s), colours from `hue_palette(12)` (names `h00`..`h11`). `write=False` only rebuilds
    the ground truth (same seed) of a video written before."""
    rng = np.random.default_rng(seed)
    palette = {f"h{i:02d}": c for i, c in enumerate(hue_palette(12))}
    objs = []
    for k in range(n_objects):
        dur = float(rng.uniform(15, 45))
        t0 = float(rng.uniform(0, duration_s - dur - 1))
        size = (int(rng.integers(30, 60)), int(rng.integers(18, 34))) if rng.random() < 0.5 else (
            int(rng.integers(10, 18)), int(rng.integers(26, 44)))
        y0, y1 = rng.uniform(0.1, 0.9, 2) * height
        xs = (0.05 * width, 0.95 * width) if rng.random() < 0.5 else (0.95 * width, 0.05 * width)
        objs.append(SynthObject(k, f"h{int(rng.integers(12)):02d}", [(t0, xs[0], y0), (t0 + dur, xs[1], y1)],
                                size, kind="car" if size[0] > size[1] else "person"))
    video = SynthVideo(path, width, height, fps, duration_s, objs)
    return write_video_palette(video, palette, seed=seed, gop=fps * 4) if write else video


def tubes_from_truth(video: SynthVideo, source_id: str, camera: str, analysis_fps: float = 5.0) -> list:
    """`vsearch.records.Tube`s made from the ground truth: a sample every 1/analysis_fps s while the object
    is present (source frames exist at k/fps), boxes in source pixels (analysis = source size), full-box
    masks. Not described (`attributes` None): the object's colour is in `video.objects[...].colour`."""
    from vsearch.indexers.masks import encode
    from vsearch.records import Tube

    tubes = []
    step = max(1, int(round(video.fps / analysis_fps)))
    n = int(round(video.duration_s * video.fps))
    for o in video.objects:
        t0, t1 = o.waypoints[0][0], o.waypoints[-1][0]
        frames = [i for i in range(int(np.ceil(t0 * video.fps)), min(n - 1, int(np.floor(t1 * video.fps))) + 1)
                  if i % step == 0]
        if not frames:
            continue
        boxes = np.array([o.box(i / video.fps) for i in frames], np.float32)
        rles = tuple(encode(np.ones((max(1, int(round(b[3] - b[1]))), max(1, int(round(b[2] - b[0])))), bool))
                     for b in boxes)
        tubes.append(Tube(tube_id=f"{source_id[:16]}-{o.obj_id:05d}", source_id=source_id, camera=camera,
                          track_no=o.obj_id, frame_index=np.array(frames, np.int64),
                          pts_s=np.array(frames, np.float64) / video.fps, boxes_xyxy=boxes,
                          scores=np.ones(len(frames), np.float32), masks_rle=rles, class_name=o.kind,
                          class_source="geometry"))
    return tubes


def query_eval_scene(path: Path) -> SynthVideo:
    """72 s, 640x360 at 10 fps: ten objects of known class, colours, direction and timing on paths that never
    touch, for evaluating searches (bench/eval_queries.py). Everything enters after 3 s (the motion
    detector's background needs 2 s). Object 8 (yellow top, black bottom) stops for 30 s; object 9 (orange
    car) ends inside the bottom-right zone x >= 0.7, y >= 0.85 (ground point = bottom centre of the box)."""
    car, person = (56, 30), (22, 56)
    objs = [
        SynthObject(1, "red", [(3.0, 30, 40), (8.0, 610, 40)], car, kind="car"),  # east
        SynthObject(2, "blue", [(4.0, 610, 100), (9.0, 30, 100)], car, kind="car"),  # west
        SynthObject(3, "white", [(12.0, 30, 160), (17.0, 610, 160)], car, kind="car"),  # east
        SynthObject(4, "black", [(20.0, 610, 40), (25.0, 30, 40)], car, kind="car"),  # west
        SynthObject(5, "white", [(10.0, 600, 30), (16.0, 600, 320)], person, lower_colour="black",
                    kind="person"),  # south (down)
        SynthObject(6, "red", [(26.0, 30, 270), (32.0, 610, 270)], person, lower_colour="blue", kind="person"),
        SynthObject(7, "green", [(24.0, 610, 200), (30.0, 30, 200)], person, lower_colour="grey", kind="person"),
        SynthObject(8, "yellow", [(33.0, 20, 150), (36.0, 300, 150), (66.0, 300, 150), (70.0, 620, 150)],
                    person, lower_colour="black", kind="person"),  # stops 30 s
        SynthObject(9, "orange", [(40.0, 30, 330), (46.0, 560, 330)], car, kind="car"),  # east, into the zone
        SynthObject(10, "blue", [(50.0, 30, 100), (55.0, 610, 100)], car, kind="car"),  # east
    ]
    return write_video(SynthVideo(path, 640, 360, 10, 72.0, objs))
