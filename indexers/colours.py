"""Named colours of pixels and crops: an 11-colour palette, and a tone per pixel (dark / light / colour cast).

Colours are named in CIELAB (OpenCV float conversion: L* 0-100, a*/b* signed): pixels with low chroma are
black/grey/white by lightness, the others by hue angle, with lightness separating brown from orange/yellow and
pink from red/purple. Hue is what survives shadows and lighting changes.

A witness says "navy", "light blue", "dark green", "silver": a hue alone cannot tell those apart, so each pixel
also gets a *tone* (`TONES`): "dark" (L* under `DARK_L`) or "light" (L* over `LIGHT_L`), and a black, grey or
white pixel with a faint hue (chroma between `CAST_CHROMA` and the palette's chroma threshold) a *cast*
(`CASTS`): the hue it leans to, relative to the frame's own cast (`scene_cast`): a navy coat in shadow is binned
black, but "black~blue" where the scene's greys are not bluish. Counts are kept jointly (palette colour × tone ×
cast, `N_CODES` bins); the palette share of a colour is the sum over the rest, so the palette fractions are
exactly what they were before tones existed, and tones and casts only add evidence for shades.

Another camera, another light: a street lamp makes a white car orange, a blue dusk makes a grey coat blue. The
colour of the light is estimated from the scene's brightest surfaces (`light_estimate`: white lines, walls, sky and
white vehicles are mostly neutral, and under a coloured light they take its colour) where the picture as a whole
agrees (a coloured light tints both, a coloured surface only one), and pixels are corrected for it
(`balance_lut`: a von Kries gain per channel in linear RGB) before they are named. A cast within `WB_DEADBAND`
of neutral (what auto white balance and daylight leave) is left alone, so footage from well-balanced cameras is
read exactly as before, and at most `WB_MAX_CHROMA` of a cast is removed, so a scene that is genuinely coloured
is not bleached.

A frame with no colour at all (`is_monochrome`: a camera in black-and-white / infrared mode, tinted or not) says
nothing of colours; the describe stage reads none from it.
"""

from __future__ import annotations

import cv2
import numpy as np

PALETTE_VERSION = "lab-11-tones-wb-v7"  # bump when the palette, tones or their rules change (re-indexes sources)
PALETTE = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
COLOUR_FR = {
    "black": "noir", "white": "blanc", "grey": "gris", "red": "rouge", "orange": "orange", "yellow": "jaune",
    "green": "vert", "blue": "bleu", "purple": "violet", "pink": "rose", "brown": "marron",
}
COLOUR_EN = {fr: en for en, fr in COLOUR_FR.items()} | {"gray": "grey", "brun": "brown", "grise": "grey"}
_HUES = ("red", "orange", "yellow", "green", "blue", "purple")  # the colour casts an achromatic pixel may have
TONES = ("", "dark", "light")  # lightness band; "" = mid
CASTS = ("", *(f"~{h}" for h in _HUES))  # the hue an achromatic pixel leans to; "" = none (or chromatic)
N_CODES = len(PALETTE) * len(TONES) * len(CASTS)

_CHROMA_MIN = 12.0  # below this a pixel is achromatic (black / grey / white)
CAST_CHROMA = 4.0  # an achromatic pixel with at least this chroma leans to a hue (camera noise is ~1-3)
# L* below which a colour is a dark shade, above which a light one. Hue-dependent: a fully saturated sRGB blue is
# only L* 32 and a yellow L* 97, so one threshold would call every blue "dark" and no yellow "light". Navy
# (0,0,128) is L* 15, royal blue L* 47, light blue (173,216,230) L* 84, silver (192,192,192) L* 78.
DARK_L = {"blue": 24.0, "purple": 28.0, "red": 32.0}
DARK_L_OTHER = 38.0
LIGHT_L = {"blue": 55.0, "purple": 55.0, "yellow": 88.0}
LIGHT_L_OTHER = 62.0
_IDX = {name: i for i, name in enumerate(PALETTE)}
_DARK_L_BY_INDEX = np.array([DARK_L.get(name, DARK_L_OTHER) for name in PALETTE])  # per palette index
_LIGHT_L_BY_INDEX = np.array([LIGHT_L.get(name, LIGHT_L_OTHER) for name in PALETTE])
_IS_ACHROMATIC = np.isin(np.arange(len(PALETTE)), [_IDX["black"], _IDX["white"], _IDX["grey"]])  # per palette index
# (hue from, hue to, name, lightness split, name below split): the palette's hue rules
_RULES = (
    (345.0, 360.0, "red", None, None), (0.0, 50.0, "red", None, None), (50.0, 75.0, "orange", 50.0, "brown"),
    (75.0, 110.0, "yellow", 55.0, "brown"), (110.0, 200.0, "green", None, None),
    (200.0, 300.0, "blue", None, None), (300.0, 345.0, "purple", None, None),
)


def tone_key(colour: str, tone: str) -> str:
    """The stored name of a (palette colour, tone or cast) share: "blue:dark", "grey:light", "black~blue"."""
    return f"{colour}{tone}" if tone.startswith("~") else f"{colour}:{tone}"


def scene_cast(frame_bgr: np.ndarray, side_px: int = 64, lut: np.ndarray | None = None) -> tuple[float, float]:
    """The frame's own colour cast (mean CIELAB a*, b* of its achromatic pixels, on a thumbnail): what a camera's
    white balance adds to every grey of the scene. Casts of object pixels are read relative to it, so a grey coat
    in a scene where every grey leans blue is grey, not "light blue". (0, 0) when the frame has no grey. `lut`:
    the frame's white balance (`balance_lut`), applied first, so this is the cast left after it."""
    lab = _lab(_thumbnail(frame_bgr, side_px), lut)
    grey = np.hypot(lab[:, 1], lab[:, 2]) < _CHROMA_MIN
    if not grey.any():
        return 0.0, 0.0
    return float(np.mean(lab[grey, 1])), float(np.mean(lab[grey, 2]))


# A picture whose every pixel (but a few: 99.9th percentile) has less chroma than this carries no colour: a camera
# in black-and-white mode (infrared at night), or a grey re-encode. Its greys say nothing of an object's colour
# (under infrared a dark coat can look white), so no colour is read from it. Such frames decode to chroma ~0.1-0.2;
# the palest daylight footage measured (intel car-detection, a grey car park) stays above 3 in every frame.
MONOCHROME_CHROMA = 1.5


# A tinted black-and-white picture (an infrared camera whose encoder or NVR gives its greys a green, blue or sepia
# tint) has chroma, but all of it in one hue that only scales with lightness: every pixel's (a*, b*) lies on one
# half-line from neutral. Colour footage spreads across hues (a red coat and a blue car are on opposite sides, a
# green tree off the axis), so it is monochrome when, across the dominant hue, no pixel (99.9th percentile) strays
# more than `MONOCHROME_CHROMA` and, backwards along it, none goes beyond that either.


def is_monochrome(frame_bgr: np.ndarray, side_px: int = 160) -> bool:
    """True when the frame has no colour at all, or one tint only (`MONOCHROME_CHROMA`), read on a thumbnail."""
    lab = _lab(_thumbnail(frame_bgr, side_px))
    if len(lab) == 0:
        return True
    ab = lab[:, 1:].astype(np.float64)
    if float(np.percentile(np.hypot(ab[:, 0], ab[:, 1]), 99.9)) < MONOCHROME_CHROMA:
        return True
    axis = ab.mean(axis=0)
    if np.hypot(*axis) < MONOCHROME_CHROMA:  # chroma in every direction: colour
        return False
    axis /= np.hypot(*axis)
    along, across = ab @ axis, ab[:, 0] * axis[1] - ab[:, 1] * axis[0]
    return (float(np.percentile(np.abs(across), 99.9)) < MONOCHROME_CHROMA
            and float(np.percentile(-along, 99.9)) < MONOCHROME_CHROMA)


# White balance (see the module docstring). Two estimates of the light, in linear RGB: the mean of the brightest
# `WB_BRIGHT_SHARE` of a thumbnail's unclipped pixels (a clipped pixel has lost its colour), and the mean of the
# whole thumbnail (grey world). A coloured light tints both; a coloured surface tints only one (a beige facade is
# the brightest thing of a neutral street, green grass the bulk of a scene whose whites are white), so the cast
# taken is their agreement: the smaller of their CIELAB chromas (as a surface of that colour would have), when
# their hues are within 60 degrees, else none. Measured 2026-12-03 on the evaluation clips (bright / grey world):
# 1-9 / 5-18 on the 5 cameras as recorded, ~45 / ~45 under a 3200 K lamp (bench/eval_robust.py warm), 6-20 /
# 7-18 under an 8000 K blue cast. Up to `WB_DEADBAND` nothing is corrected (what auto white balance leaves), from
# twice that the whole cast is, up to `WB_MAX_CHROMA`, in between a share growing linearly (no jump in colours
# between frames whose light is near the band).
WB_BRIGHT_SHARE = 0.05
WB_CLIPPED = 250  # 8-bit value from which a channel is clipped
WB_DEADBAND = 10.0  # chroma of a cast left as it is
WB_MAX_CHROMA = 40.0  # most chroma of a cast removed
WB_HUE_AGREE = 60.0  # degrees between the two estimates' hues for them to agree
_LUMA_BGR = np.array([0.0722, 0.7152, 0.2126])  # Rec. 709 luminance weights, BGR order


def _to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0.04045, ((v + 0.055) / 1.055) ** 2.4, v / 12.92)


def _to_srgb(v: np.ndarray) -> np.ndarray:
    return np.where(v > 0.0031308, 1.055 * np.power(v, 1 / 2.4) - 0.055, 12.92 * v)


_LINEAR_8BIT = _to_linear(np.arange(256) / 255.0)  # linear value of each 8-bit sRGB value


def light_estimate(frame_bgr: np.ndarray, side_px: int = 96) -> np.ndarray | None:
    """The colour of the scene's light: (2, 3) linear BGR, each row of luminance 1: the brightest unclipped
    pixels, and the whole frame (grey world); None when the frame is too dark or too clipped to say (fewer than
    20 bright unclipped pixels)."""
    px = _thumbnail(frame_bgr, side_px).reshape(-1, 3)
    lin_all = _LINEAR_8BIT[px]
    lin = lin_all[px.max(axis=1) < WB_CLIPPED]
    if len(lin) < 20 / WB_BRIGHT_SHARE:
        return None
    luma = lin @ _LUMA_BGR
    lights = np.stack([lin[luma >= np.quantile(luma, 1.0 - WB_BRIGHT_SHARE)].mean(axis=0), lin_all.mean(axis=0)])
    y = lights @ _LUMA_BGR
    return None if y.min() <= 1e-3 or lights.min() <= 0 else lights / y[:, None]


def _chroma_hue(light: np.ndarray) -> tuple[float, float]:
    """CIELAB chroma and hue (degrees) of a surface of the light's colour, at its strongest channel's level."""
    enc = _to_srgb(np.clip(light / light.max(), 0.0, 1.0)).astype(np.float32).reshape(1, 1, 3)
    lab = cv2.cvtColor(enc, cv2.COLOR_BGR2LAB).reshape(3)
    return float(np.hypot(lab[1], lab[2])), float(np.degrees(np.arctan2(lab[2], lab[1])))


def balance_lut(light: np.ndarray | None) -> np.ndarray | None:
    """Per-channel 8-bit value -> corrected value in 0-1 ((256, 3) float32, BGR) that removes the cast the two
    estimates of `light` (as `light_estimate` gives) agree on, keeping the strongest channel (white stays white);
    None when there is nothing to correct (the pixels are then read exactly as recorded)."""
    if light is None:
        return None
    (c_bright, h_bright), (c_world, h_world) = _chroma_hue(light[0]), _chroma_hue(light[1])
    agree = abs((h_bright - h_world + 180.0) % 360.0 - 180.0) <= WB_HUE_AGREE
    cast = min(c_bright, c_world) if agree else 0.0
    removed = min(cast, WB_MAX_CHROMA) * float(np.clip((cast - WB_DEADBAND) / WB_DEADBAND, 0.0, 1.0))
    if removed <= 0.0:
        return None
    gains = (light[0].max() / light[0]) ** (removed / c_bright)  # a share of the bright surfaces' correction
    lin = _to_linear(np.arange(256) / 255.0)[:, None] * gains[None, :]
    return _to_srgb(np.clip(lin, 0.0, 1.0)).astype(np.float32)


def _thumbnail(frame_bgr: np.ndarray, side_px: int) -> np.ndarray:
    h, w = frame_bgr.shape[:2]
    f = side_px / max(h, w, 1)
    return cv2.resize(frame_bgr, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


def _lab(bgr_pixels: np.ndarray, lut: np.ndarray | None = None) -> np.ndarray:
    """(N, 3) float32 CIELAB (L* 0-100, a*, b*) of an (N, 3) or (H, W, 3) uint8 BGR array; `lut`: a white balance
    (`balance_lut`) applied first."""
    px = np.asarray(bgr_pixels, np.uint8).reshape(1, -1, 3)  # one row: OpenCV's vector path (7x faster than a
    if px.shape[1] == 0:  # column of pixels), the same floats for every 24-bit colour (tests/test_colour_batch.py)
        return np.zeros((0, 3), np.float32)
    rgb = px.astype(np.float32) / 255.0 if lut is None else lut[px, np.arange(3)]
    return cv2.cvtColor(rgb, cv2.COLOR_BGR2LAB).reshape(-1, 3)


def colour_codes(bgr_pixels: np.ndarray, cast_ref: tuple[float, float] = (0.0, 0.0),
                 lut: np.ndarray | None = None) -> np.ndarray:
    """Joint code `(palette index * len(TONES) + tone index) * len(CASTS) + cast index` of every pixel of an
    (N, 3) or (H, W, 3) uint8 BGR array, as (N,) int. `cast_ref`: the scene's cast (`scene_cast`), subtracted
    before an achromatic pixel's cast is read (the palette itself does not depend on it); `lut`: the frame's
    white balance (`balance_lut`)."""
    return _codes(_lab(bgr_pixels, lut), cast_ref)


def _codes(lab: np.ndarray, cast_ref: tuple[float, float]) -> np.ndarray:
    """`colour_codes` of pixels already in CIELAB ((N, 3), as `_lab` gives)."""
    if len(lab) == 0:
        return np.zeros(0, np.int64)
    lum, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    out = np.full(len(lab), _IDX["grey"], np.int64)
    out[lum < 30] = _IDX["black"]
    out[lum > 78] = _IDX["white"]
    chromatic = chroma >= _CHROMA_MIN + np.where(lum < 25, 6.0, 0.0)  # dark pixels need more chroma
    for lo, hi, name, split, below in _RULES:
        sel = chromatic & (hue >= lo) & (hue < hi)
        out[sel] = _IDX[name]
        if split is not None:
            out[sel & (lum < split)] = _IDX[below]
    light_reddish = chromatic & ((hue >= 300.0) | (hue < 30.0)) & (lum > 62.0)
    out[light_reddish] = _IDX["pink"]
    tone = np.zeros(len(lab), np.int64)
    tone[lum < _DARK_L_BY_INDEX[out]] = TONES.index("dark")
    tone[lum > _LIGHT_L_BY_INDEX[out]] = TONES.index("light")
    da, db = a - cast_ref[0], b - cast_ref[1]
    cast = _IS_ACHROMATIC[out] & ~chromatic & (np.hypot(da, db) >= CAST_CHROMA)
    cast_hue = np.degrees(np.arctan2(db, da)) % 360.0
    cast_name = np.zeros(len(lab), np.int64)
    for lo, hi, name, _, _ in _RULES:
        cast_name[(cast_hue >= lo) & (cast_hue < hi)] = _HUES.index(name)
    cast_idx = np.where(cast, CASTS.index("~red") + cast_name, 0)
    return (out * len(TONES) + tone) * len(CASTS) + cast_idx


def palette_indices(bgr_pixels: np.ndarray) -> np.ndarray:
    """Palette index (into `PALETTE`) of every pixel, as (N,) int."""
    return colour_codes(bgr_pixels) // (len(TONES) * len(CASTS))


def palette_of(code_counts: np.ndarray) -> np.ndarray:
    """Joint (colour × tone × cast) counts -> (11,) palette counts."""
    return np.asarray(code_counts, np.float64).reshape(len(PALETTE), -1).sum(axis=1)


def palette_counts(bgr_pixels: np.ndarray) -> np.ndarray:
    """(11,) float64 pixel counts per `PALETTE` entry."""
    return np.bincount(palette_indices(bgr_pixels), minlength=len(PALETTE)).astype(np.float64)


def fractions_from_counts(counts: np.ndarray, min_fraction: float = 0.02) -> dict[str, float]:
    """Palette counts -> {name: fraction} sorted by fraction descending, dropping entries under `min_fraction`."""
    total = float(np.sum(counts))
    if total <= 0:
        return {}
    frac = np.asarray(counts, np.float64) / total
    order = np.argsort(-frac, kind="stable")
    return {PALETTE[i]: round(float(frac[i]), 4) for i in order if frac[i] >= min_fraction}


def tone_fractions(code_counts: np.ndarray, min_fraction: float = 0.02) -> dict[str, float]:
    """Joint counts -> {tone key: share of all the part's pixels} for the dark / light / cast bins (mid-tone
    bins are the palette share minus these), largest first, dropping entries under `min_fraction`."""
    counts = np.asarray(code_counts, np.float64).reshape(len(PALETTE), len(TONES), len(CASTS))
    total = float(counts.sum())
    if total <= 0:
        return {}
    shares = {tone_key(PALETTE[p], TONES[t]): counts[p, t].sum() / total
              for p in range(len(PALETTE)) for t in range(1, len(TONES))}
    shares |= {tone_key(PALETTE[p], CASTS[c]): counts[p, :, c].sum() / total
               for p in range(len(PALETTE)) for c in range(1, len(CASTS))}
    out = {k: round(float(v), 4) for k, v in shares.items() if v >= min_fraction}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def named_colours(bgr_pixels: np.ndarray, min_fraction: float = 0.02) -> dict[str, float]:
    """Fractions of the basic palette among `bgr_pixels` ((N, 3) or image), sorted descending (English names;
    `COLOUR_FR` maps them to French)."""
    return fractions_from_counts(palette_counts(bgr_pixels), min_fraction)


def shrink_crop(crop_bgr: np.ndarray, mask: np.ndarray | None, max_side: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Downscale a crop (and its mask) so its longer side is at most `max_side` pixels: colour statistics
    do not need more, and it bounds the per-object cost."""
    h, w = crop_bgr.shape[:2]
    f = min(1.0, max_side / max(h, w))
    if f < 1.0:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        crop_bgr = cv2.resize(crop_bgr, size, interpolation=cv2.INTER_AREA)
        if mask is not None:
            mask = cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    return crop_bgr, mask


# body parts of a person box, as (from, to) fractions of its height: the head (headwear; skin-like pixels left
# out) is the top 12 %, the
# upper body 12-50 %, the lower body 50-95 % (feet left out: they carry the ground's colour)
PERSON_PARTS = {"head": (0.0, 0.12), "upper": (0.12, 0.5), "lower": (0.5, 0.95)}


def crop_colour_counts(crop_bgr: np.ndarray, mask: np.ndarray | None, person: bool, max_side: int = 48,
                       cast_ref: tuple[float, float] = (0.0, 0.0),
                       lut: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Joint colour × tone counts (`N_CODES`) of a box crop's foreground pixels: {"any": whole object, and for
    persons "head", "upper", "lower" (`PERSON_PARTS`)}. `palette_of` turns one into palette counts.

    `mask` is the crop's bool foreground (None = whole box). The crop is first shrunk so its longer side is at
    most `max_side` (speed; colours are area fractions). `cast_ref`: the frame's `scene_cast`; `lut`: its white
    balance (`balance_lut`)."""
    return crops_colour_counts([(crop_bgr, mask)], person, max_side, cast_ref, lut)[0]


def crops_colour_counts(crops: list[tuple[np.ndarray, np.ndarray | None]], person: bool, max_side: int = 48,
                        cast_ref: tuple[float, float] = (0.0, 0.0),
                        lut: np.ndarray | None = None) -> list[dict[str, np.ndarray]]:
    """`crop_colour_counts` of every (crop, mask) of one frame (one `cast_ref` and `lut`), in one pass: the shrunk
    crops' pixels are converted and coded together and counted per crop and part with offset bincounts. Every pixel's
    code depends on that pixel alone, so the counts are those of one call per crop, exactly; one pass costs a
    few numpy calls per frame instead of some sixty per object (the describers' largest Python cost on busy
    footage)."""
    pixels, fgs, part_of, sizes = [], [], [], []
    for crop_bgr, mask in crops:
        h, w = crop_bgr.shape[:2]
        if h == 0 or w == 0:
            sizes.append(0)
            continue
        if mask is not None and mask.shape != (h, w):  # pixels are pooled: a misfit would shift every later crop's
            raise ValueError(f"foreground mask {mask.shape} does not fit its crop {(h, w)}")
        small, mask = shrink_crop(crop_bgr, mask, max_side)
        sh, sw = small.shape[:2]
        pixels.append(small.reshape(-1, 3))
        fgs.append(np.ones(sh * sw, bool) if mask is None else mask.reshape(-1).astype(bool, copy=False))
        # body part of each row (-1: none, the feet), by the row's position in the shrunk crop
        rows = np.arange(sh) / sh
        row_part = np.full(sh, -1, np.int64)
        for k, (lo, hi) in enumerate(PERSON_PARTS.values()):
            row_part[(rows >= lo) & (rows < hi)] = k
        part_of.append(np.repeat(row_part, sw))
        sizes.append(sh * sw)
    n_crops = len(crops)
    any_counts = np.zeros((n_crops, N_CODES))
    part_counts = np.zeros((n_crops, len(PERSON_PARTS), N_CODES))
    if pixels:
        lab = _lab(np.concatenate(pixels), lut)
        codes = _codes(lab, cast_ref)
        crop_no = np.repeat(np.arange(n_crops), sizes)
        fg = np.concatenate(fgs)
        any_counts = np.bincount(crop_no[fg] * N_CODES + codes[fg], minlength=n_crops * N_CODES)
        any_counts = any_counts.reshape(n_crops, N_CODES).astype(np.float64)
        if person:
            part = np.concatenate(part_of)
            # the face would read as a red or orange hat: only headwear colours are wanted in the head part
            sel = fg & (part >= 0) & ~((part == 0) & _skin_like(lab))
            slot = (crop_no[sel] * len(PERSON_PARTS) + part[sel]) * N_CODES + codes[sel]
            part_counts = np.bincount(slot, minlength=n_crops * len(PERSON_PARTS) * N_CODES)
            part_counts = part_counts.reshape(n_crops, len(PERSON_PARTS), N_CODES).astype(np.float64)
    out = []
    for c in range(n_crops):
        counts = {"any": any_counts[c]}
        if person:
            counts |= {part: part_counts[c, k] for k, part in enumerate(PERSON_PARTS)}
        out.append(counts)
    return out


# skin-like pixels (any complexion: hue 20-75 deg, weak to moderate chroma, mid lightness), left out of the head
# part only, so a face does not count as a red, orange or brown hat; nothing about them is stored
_SKIN_HUE = (20.0, 75.0)
_SKIN_CHROMA = (8.0, 35.0)
_SKIN_L = (20.0, 85.0)


def _skin_like(lab: np.ndarray) -> np.ndarray:
    """bool per pixel of (N, 3) CIELAB pixels."""
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
    return ((hue >= _SKIN_HUE[0]) & (hue <= _SKIN_HUE[1]) & (chroma >= _SKIN_CHROMA[0]) & (chroma <= _SKIN_CHROMA[1])
            & (lab[..., 0] >= _SKIN_L[0]) & (lab[..., 0] <= _SKIN_L[1]))
