"""Fine vehicle type: the fusion on exact distributions, and YOLOX on real crops of real footage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import shared_path

from vsearch.indexers.attributes import AttributeModels, pad_box
from vsearch.models.resolve import resolve_models
from vsearch.indexers.vehicle_type import (
    FINE_TYPES,
    YoloxCropTyper,
    coco_opinion,
    fine_type_outputs,
    fuse,
    shape_opinion,
    type_model_opinion,
)


def onehot(name: str) -> np.ndarray:
    return np.eye(len(FINE_TYPES))[FINE_TYPES.index(name)]


def test_fuse_weights_opinions_and_says_which_took_part() -> None:
    dist, src = fuse({"yolox-nano": onehot("car"), "type-model": onehot("truck"), "shape": onehot("truck")})
    assert src == "yolox-nano+type-model+shape"
    assert dist == pytest.approx([0.6, 0, 0.4, 0])
    # absent opinions are left out and the rest renormalised
    dist, src = fuse({"type-model": onehot("van"), "shape": onehot("car")})
    assert src == "type-model+shape" and dist == pytest.approx([0.15 / 0.4, 0.25 / 0.4, 0, 0])
    with pytest.raises(ValueError):
        fuse({})


def test_type_model_alone_calling_a_car_a_truck_is_outvoted_by_yolox_and_shape() -> None:
    # the highway case: the type model says truck (p 0.7), YOLOX says car, the box is flat
    dist, _ = fuse({"yolox-nano": coco_opinion({2: 0.8, 5: 0.0, 7: 0.1}),
                    "type-model": type_model_opinion(np.array([0.2, 0.05, 0.7, 0.05])),
                    "shape": shape_opinion(0.7)})
    probs, labels = fine_type_outputs(dist, "x")
    assert dict(labels)["vehicle_type"] == "car" and dict(probs)["vehicle_type_p"] > 0.6
    assert sum(p for k, p in probs if k.startswith("vehicle_type_p_")) == pytest.approx(1.0, abs=2e-3)


def test_coco_truck_splits_into_truck_and_van_and_bus_stays_bus() -> None:
    assert coco_opinion({7: 0.9}) == pytest.approx([0, 0.45, 0.55, 0])
    assert coco_opinion({5: 0.5, 2: 0.0}) == pytest.approx(onehot("bus"))
    assert coco_opinion({2: 0.05, 7: 0.02}) is None  # YOLOX sees no vehicle: no opinion


def test_shape_opinion() -> None:
    assert shape_opinion(0.7) == pytest.approx(onehot("car"))
    assert shape_opinion(1.5) == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert shape_opinion(1.1).sum() == pytest.approx(1.0)


def _cars_on_real_frame() -> tuple[np.ndarray, list[np.ndarray]]:
    """A frame of the real highway clip and the boxes YOLOX (as a detector on the whole frame) calls cars."""
    from vsearch.indexers.detect import YoloxNano
    from vsearch.records import CLASSES, Frame

    clip = shared_path("footage", "highway", "video02.avi")
    models = shared_path("models")
    cap = cv2.VideoCapture(str(clip))
    cap.set(cv2.CAP_PROP_POS_MSEC, 3000)
    ok, img = cap.read()
    assert ok
    dets = YoloxNano.from_models_dir(models).detect(Frame(0, 3.0, img, 1.0))
    cars = [b for b, c, s in zip(dets.boxes_xyxy, dets.class_ids, dets.scores)
            if CLASSES[c] == "car" and s > 0.7]
    assert cars, "YOLOX finds no car on the reference frame"
    return img, cars


def test_yolox_on_real_car_crops_says_car() -> None:
    img, cars = _cars_on_real_frame()
    path = resolve_models().path("yolox-nano")
    assert path is not None
    typer = YoloxCropTyper(path)
    h, w = img.shape[:2]
    said = []
    for box in cars:
        x0, y0, x1, y1 = pad_box(box, w, h)
        op = typer.opinion([img[y0:y1, x0:x1]])
        said.append(None if op is None else FINE_TYPES[int(np.argmax(op))])
        if box[2] - box[0] >= 30:  # YOLOX sees vehicles of 30 px and more on a crop; tinier ones give no opinion
            assert said[-1] == "car", (box, op)
    assert set(said) <= {"car", None} and said.count("car") >= 2, said


def test_crops_tiled_on_one_input_are_each_matched_to_their_own_cell() -> None:
    """Four crops on one YOLOX input: the opinion is that of the crops' own vehicles, not of a neighbour cell."""
    img, cars = _cars_on_real_frame()
    h, w = img.shape[:2]
    big = [b for b in cars if b[2] - b[0] >= 30]
    crops = [img[y0:y1, x0:x1] for x0, y0, x1, y1 in (pad_box(b, w, h) for b in big)]
    typer = YoloxCropTyper(resolve_models().path("yolox-nano"))
    alone = typer.opinion(crops[:1])
    grey = np.full_like(crops[0], 114)  # an empty crop next to a car gives no opinion of its own
    assert typer.opinion([grey]) is None
    assert typer.opinion([grey, crops[0], grey, grey]) == pytest.approx(alone, abs=0.05)
    tiled = typer.opinion((crops * 4)[:4])
    assert tiled is not None and FINE_TYPES[int(np.argmax(tiled))] == "car"


def test_attribute_models_store_fused_type_with_provenance_and_keep_the_raw_type() -> None:
    img, cars = _cars_on_real_frame()
    h, w = img.shape[:2]
    x0, y0, x1, y1 = pad_box(cars[0], w, h)
    out = AttributeModels(resolve_models()).describe("car", [img[y0:y1, x0:x1]], 0.8)
    probs, labels = dict(out.probabilities), dict(out.labels)
    assert labels["vehicle_type"] == "car" and labels["vehicle_type_from"] == "yolox-nano+type-model+shape"
    assert labels["vehicle_attr_type"] in ("car", "bus", "truck", "van") and 0 < probs["vehicle_attr_type_p"] <= 1
    assert probs["vehicle_type_p"] == max(probs[f"vehicle_type_p_{t}"] for t in FINE_TYPES)
    assert out.model == "vehicle-attributes-recognition-barrier-0039" and len(out.weights_sha256) == 64


def test_no_model_no_type() -> None:
    out = AttributeModels(None).describe("car", [np.zeros((40, 60, 3), np.uint8)], 0.8)
    assert not out  # "not measurable", never a type from the box shape alone


# -- query time: the box shape read against the same camera's other vehicles ----------------------------------
def _vehicles(cameras: list[str], classes: list[str], aspects: list[float], p_van: list[float]):  # noqa: ANN202
    import pyarrow as pa

    from vsearch.catalogue.soft_columns import column_of

    cols = {k: column_of("models", k)[0] for k in ("vehicle_type", "vehicle_type_p", "vehicle_type_p_van")}
    return pa.table({"camera": cameras, "class_name": classes, "box_aspect": pa.array(aspects, pa.float64()),
                     cols["vehicle_type"]: pa.array(["car"] * len(cameras)),
                     cols["vehicle_type_p"]: pa.array([0.8] * len(cameras), pa.float64()),
                     cols["vehicle_type_p_van"]: pa.array(p_van, pa.float64())})


def _reference(t):  # noqa: ANN001, ANN202
    from vsearch.query.camera_reference import CameraReference, median_shapes

    return CameraReference(*median_shapes(t))


def test_camera_reference_is_the_median_vehicle_shape_of_each_camera_with_enough_vehicles() -> None:
    classes = ["car", "car", "truck", "car", "car", "car", "person", "car"]
    t = _vehicles(["a", "a", "a", "a", "b", "b", "a", "c"], classes, [0.7, 0.8, 1.4, 0.9, 1.0, 1.1, 2.5, 0.8], [0.1] * 8)
    ref = _reference(t)
    # camera a: 4 vehicles (the person's tall box is no vehicle); b: 2 and c: 1, too few to say what is typical
    assert ref.shape_cameras.to_pylist() == ["a"] and ref.median_aspect.tolist() == pytest.approx([0.85])
    got = ref.typical_aspect(t.column("camera"))
    assert got[[0, 6]] == pytest.approx([0.85, 0.85]) and np.isnan(got[[4, 5, 7]]).all()


def test_a_car_much_taller_than_its_cameras_cars_is_van_evidence_and_says_so() -> None:
    """pvb-2002 and YOLOX-Nano call 25-45 px vans cars: a box 1.2x as tall for its width as the camera's median
    vehicle raises the van score (a little), the explanation quotes the ratio; a box of the camera's usual shape,
    a camera with too few vehicles and a top-down camera where every car is tall are left alone."""
    from vsearch.query.terms import REL_TALL_WEIGHT, Candidates, VehicleTypeTerm

    # camera "road": cars at 0.8 and one tall "car" at 0.96 (1.2x); camera "few": 2 vehicles; "above": a car park
    # seen from above, every car at 1.2-1.5 (tall in absolute terms, typical there)
    cams = ["road"] * 5 + ["few"] * 2 + ["above"] * 4
    aspects = [0.8, 0.8, 0.78, 0.8, 0.96, 0.8, 1.2, 1.2, 1.25, 1.25, 1.5]
    t = _vehicles(cams, ["car"] * 11, aspects, [0.2] * 11)
    term = VehicleTypeTerm("van", required=False)
    assert term.reference == {"shape"}
    alone = term.evaluate(Candidates(t))  # no reference: the stored type alone
    ev = term.evaluate(Candidates(t, _reference(t)))
    assert alone.score == pytest.approx([0.2] * 11)
    tall = (0.96 / 0.8 - 1.0) / (1.3 - 1.0)
    assert ev.score[4] == pytest.approx(0.2 + REL_TALL_WEIGHT * tall * 0.8)
    assert ev.score[:4] == pytest.approx([0.2] * 4) and ev.score[5:7] == pytest.approx([0.2, 0.2])
    assert ev.score[10] > 0.2 and ev.score[7:10] == pytest.approx([0.2] * 3)  # 1.5 / 1.25: tall there too
    said = term.explain(ev.score[4], ev.value[4], ev.choice_at(4), ev.extra_at(4))
    assert "1.20x as tall for its width as this camera's typical vehicle" in said and f"p={ev.score[4]:.2f}" in said
    assert "typical vehicle" not in term.explain(ev.score[0], ev.value[0], ev.choice_at(0), ev.extra_at(0))


def test_a_detector_class_still_decides_and_car_never_reads_the_camera() -> None:
    from vsearch.query.terms import Candidates, VehicleTypeTerm

    t = _vehicles(["road"] * 4, ["car", "car", "car", "truck"], [0.8, 0.8, 0.8, 1.4], [0.1] * 4)
    ref = _reference(t)
    ev = VehicleTypeTerm("van", required=False).evaluate(Candidates(t, ref))
    assert ev.score[3] == 0.0 and np.isnan(ev.extra_at(3))  # the detector said truck: not a van, whatever the shape
    assert not VehicleTypeTerm("car", required=False).reference
