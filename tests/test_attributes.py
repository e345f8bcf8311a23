"""Pure attribute functions on exact synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest
import synth

from vsearch.indexers.attributes import (
    AttributeModels,
    class_vote,
    edge_of,
    geometry_class,
    motion_summary,
    simplify_path,
)
from vsearch.indexers.colours import (
    COLOUR_FR,
    PALETTE,
    crop_colour_counts,
    named_colours,
    palette_of,
    tone_fractions,
)
from vsearch.indexers.carried import CARRIED, crop_item_scores
from vsearch.models.resolve import resolve_models
from vsearch.records import CLASSES


def patch(bgr, n: int = 50) -> np.ndarray:  # noqa: ANN001
    return np.zeros((n, n, 3), np.uint8) + np.array(bgr, np.uint8)


@pytest.mark.parametrize("name", sorted(synth.BGR))
def test_palette_colours_are_named(name: str) -> None:
    assert list(named_colours(patch(synth.BGR[name]))) == [name]


@pytest.mark.parametrize("name", ["red", "green", "blue", "yellow", "orange", "purple"])
def test_colour_name_survives_shadow_and_noise(name: str) -> None:
    rng = np.random.default_rng(0)
    shaded = np.clip(patch(synth.BGR[name]).astype(np.float64) * 0.75 + rng.normal(0, 6, (50, 50, 3)), 0, 255)
    assert next(iter(named_colours(shaded.astype(np.uint8)))) == name


def test_fractions_sorted_and_sum_to_one() -> None:
    img = np.concatenate([patch(synth.BGR["red"], 30)[:, :10], patch(synth.BGR["white"], 30)], axis=1)
    fr = named_colours(img)
    assert list(fr) == ["white", "red"] and sum(fr.values()) == pytest.approx(1.0, abs=1e-3)
    assert fr["red"] == pytest.approx(0.25, abs=0.01)
    assert named_colours(np.zeros((0, 3), np.uint8)) == {}
    assert set(COLOUR_FR) == set(PALETTE) and COLOUR_FR["red"] == "rouge"


def test_person_upper_lower_on_foreground_only() -> None:
    crop = patch(synth.BGR["grey"], 40).copy()
    crop[:, 10:30][:20] = synth.BGR["red"]
    crop[:, 10:30][20:] = synth.BGR["blue"]
    mask = np.zeros((40, 40), bool)
    mask[:, 10:30] = True
    parts = {k: palette_of(v) for k, v in crop_colour_counts(crop, mask, person=True).items()}
    whole, upper, lower = parts["any"], parts["upper"], parts["lower"]
    assert whole[PALETTE.index("grey")] == 0  # background outside the mask is ignored
    assert PALETTE[int(np.argmax(upper))] == "red" and PALETTE[int(np.argmax(lower))] == "blue"
    assert PALETTE[int(np.argmax(parts["head"]))] == "red"  # the top 12 % of the box: the headwear


@pytest.mark.parametrize("bgr,palette,tone", [
    ((45, 28, 25), "black", "black:dark black~blue"),  # navy in shadow: binned black, but it leans blue
    ((80, 30, 20), "blue", "blue:dark"),  # navy
    ((200, 60, 30), "blue", ""),  # a saturated mid blue (L* 33): neither dark nor light
    ((235, 190, 140), "blue", "blue:light"),  # light blue
    ((40, 40, 40), "black", "black:dark"),  # true black: no cast
    ((185, 185, 188), "grey", "grey:light"),  # silver
    ((35, 90, 35), "green", "green:dark"),
])
def test_tones_tell_shades_apart_within_one_palette_colour(bgr, palette, tone) -> None:  # noqa: ANN001
    counts = crop_colour_counts(patch(bgr, 20), None, person=False)["any"]
    assert PALETTE[int(np.argmax(palette_of(counts)))] == palette
    assert sorted(tone_fractions(counts)) == tone.split()


def line_track(dx: float, dy: float, seconds: float = 4.0, fps: float = 5.0):  # noqa: ANN201
    t = np.arange(0, seconds + 1e-9, 1 / fps)
    cx, cy = 300 + dx * t / seconds, 200 + dy * t / seconds
    boxes = np.stack([cx - 10, cy - 25, cx + 10, cy + 25], axis=1)
    return t, boxes


@pytest.mark.parametrize("dx,dy,d8,h,v", [
    (200, 0, "E", "right", "none"), (-200, 0, "W", "left", "none"), (0, -200, "N", "none", "up"),
    (0, 200, "S", "none", "down"), (150, -150, "NE", "right", "up"), (-150, 150, "SW", "left", "down"),
    (150, 150, "SE", "right", "down"), (-150, -150, "NW", "left", "up"), (3, -2, "none", "none", "none"),
])
def test_directions(dx: float, dy: float, d8: str, h: str, v: str) -> None:
    m = motion_summary(*line_track(dx, dy), frame_w=640)
    assert (m.direction8, m.horizontal, m.vertical) == (d8, h, v)


def test_speed_and_stationary() -> None:
    t, boxes = line_track(200, 0)  # 50 px/s analysis
    m = motion_summary(t, boxes, 640, scale=2.0)
    assert m.speed_mean_px_s == pytest.approx(100.0, rel=0.1) and m.stationary_max_s == 0.0
    t2 = np.arange(0, 20, 0.2)
    x = np.interp(t2, [0, 4, 14, 18], [100, 300, 300, 500])
    b2 = np.stack([x - 10, np.full_like(x, 175), x + 10, np.full_like(x, 225)], axis=1)
    m2 = motion_summary(t2, b2, 640)
    assert m2.stationary_max_s == pytest.approx(10.0, abs=0.8)
    assert m2.speed_max_px_s == pytest.approx(50.0, rel=0.15)


def test_edges_and_path() -> None:
    assert edge_of(np.array([0, 50, 20, 100]), 640, 360) == "left"
    assert edge_of(np.array([600, 300, 640, 359]), 640, 360) == "right"
    assert edge_of(np.array([300, 100, 320, 150]), 640, 360) == "inside"
    t = np.linspace(0, 10, 101)
    xy = np.stack([np.linspace(0.1, 0.9, 101), np.full(101, 0.5)], axis=1)
    path = simplify_path(t, xy)
    assert path == [[0.0, 0.1, 0.5], [10.0, 0.9, 0.5]]  # a straight line keeps its two ends
    xy[50, 1] = 0.7
    assert len(simplify_path(t, xy)) > 2


@pytest.mark.parametrize("size,speed,expected", [
    ((22, 56), 60.0, "person"), ((22, 56), 400.0, "bicycle"), ((60, 34), 120.0, "car"),
    ((300, 100), 50.0, "bus"), ((200, 140), 50.0, "truck"), ((30, 30), 10.0, "other"),
])
def test_geometry_classifier(size, speed: float, expected: str) -> None:  # noqa: ANN001
    assert geometry_class(size, (640, 360), speed) == expected


def test_class_vote() -> None:
    ids = np.array([CLASSES.index("car")] * 3 + [CLASSES.index("truck")] * 2)
    cls, votes = class_vote(ids, np.array([0.9, 0.9, 0.9, 0.5, 0.5]))
    assert cls == "car" and list(votes) == ["car", "truck"] and votes["car"] == pytest.approx(2.7 / 3.7, abs=1e-3)


def test_attribute_models_never_report_sex_or_hair() -> None:
    models = AttributeModels(resolve_models())  # the built-in person and vehicle attribute models
    person = patch(synth.BGR["blue"], 80)
    person[:40] = synth.BGR["red"]
    out = models.describe("person", [person])
    assert set(dict(out.probabilities)) == {"has_bag", "has_backpack", "has_hat", "has_longsleeves", "has_longpants",
                                            "has_coat_jacket", *CARRIED.values()} and out.labels == ()
    assert all(0.0 <= p <= 1.0 for p in dict(out.probabilities).values())
    car = models.describe("car", [patch(synth.BGR["red"], 72)])
    labels = dict(car.labels)
    assert labels["vehicle_colour"] == "red" and labels["vehicle_type"] in ("car", "bus", "truck", "van")


def test_carried_item_must_lie_in_the_persons_reach() -> None:
    """A handbag at the hip and an umbrella over the head count; a suitcase standing a body width away does not."""
    own = np.array([100.0, 100.0, 140.0, 200.0])  # the person's box, 40 x 100
    boxes = np.array([[130, 150, 150, 170], [95, 60, 145, 95], [190, 160, 220, 200]], np.float64)
    scores = np.zeros((3, 80))
    scores[0, 26], scores[1, 25], scores[2, 28] = 0.8, 0.7, 0.9  # handbag, umbrella, suitcase
    got = dict(zip(CARRIED.values(), crop_item_scores(boxes, scores, own)))
    assert got == {"coco_backpack": 0.0, "has_umbrella": 0.7, "coco_handbag": 0.8, "has_suitcase": 0.0}


def test_casts_are_read_against_the_scenes_own_cast() -> None:
    """A grey that leans blue like every grey of its (blue-balanced) frame is plain grey; the same pixels in a
    neutral frame lean blue."""
    from vsearch.indexers.colours import scene_cast

    bluish_grey = patch((150, 138, 128), 20)
    frame = np.zeros((90, 160, 3), np.uint8) + np.array((140, 128, 118), np.uint8)  # a blue-balanced scene
    ref = scene_cast(frame)
    assert ref[1] < -3  # b* negative: blue
    assert tone_fractions(crop_colour_counts(bluish_grey, None, person=False)["any"]) == {"grey~blue": 1.0}
    assert tone_fractions(crop_colour_counts(bluish_grey, None, person=False, cast_ref=ref)["any"]) == {}
    assert scene_cast(np.zeros((10, 10, 3), np.uint8) + np.array((0, 0, 255), np.uint8)) == (0.0, 0.0)  # no grey


@pytest.mark.parametrize("skin", [(120, 150, 200), (60, 90, 140), (40, 60, 100)])  # light, medium, dark complexions
def test_a_face_is_not_read_as_a_hat_colour(skin) -> None:  # noqa: ANN001
    """The head part (top 12 % of a person box) leaves skin-like pixels out: a bare head gives no red/orange/brown
    headwear, a red hat above the same face still reads red."""
    crop = patch(synth.BGR["blue"], 48).copy()  # 48 px: not resized, so the head is exactly rows 0-5
    crop[:6] = skin
    bare = palette_of(crop_colour_counts(crop, None, person=True)["head"])
    assert bare.sum() == 0
    crop[:3] = (30, 30, 200)  # a red hat
    hat = palette_of(crop_colour_counts(crop, None, person=True)["head"])
    assert PALETTE[int(np.argmax(hat))] == "red" and hat.sum() > 0
