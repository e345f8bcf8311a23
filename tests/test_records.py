"""Typed records between stages: immutable after construction, mapped to and from store rows in one place."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from vsearch.catalogue.tube_rows import attributes_as_dict, attributes_from_dict, record_to_tube, tube_to_record
from vsearch.errors import StoreError
from vsearch.records import (
    Appearance,
    ColourFractions,
    Footprint,
    ModelOutputs,
    Motion,
    Tube,
    TubeAttributes,
)

T0 = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.timezone.utc)


def _attributes() -> TubeAttributes:
    return TubeAttributes(
        appearance=Appearance(colours=ColourFractions(("green", "black"), (0.6, 0.4)),
                              upper=ColourFractions(("green",), (1.0,)), lower=ColourFractions(("black",), (1.0,))),
        motion=Motion(direction8="W", horizontal="left", vertical="none", speed_mean_px_s=50.0, speed_max_px_s=61.5,
                      speed_mean_fw_s=0.0781, speed_max_fw_s=0.0961, dwell_s=4.0, stationary_max_s=0.0,
                      stationary_total_s=0.0, entry_edge="right", exit_edge="left",
                      path=((3.0, 0.9, 0.6), (7.0, 0.1, 0.6))),
        footprint=Footprint(area_px=880.0, size_px=(22.0, 40.0)),
        models=ModelOutputs(model="person-attributes-recognition-crossroad-0230", weights_sha256="ab" * 32,
                            probabilities=(("has_backpack", 0.81), ("has_hat", 0.1))),
        class_votes=(("person", 1.0),), first_seen_utc=T0, last_seen_utc=T0 + dt.timedelta(seconds=4))


def _tube(**kw: object) -> Tube:
    n = 3
    return Tube(tube_id="abc-00001", source_id="a" * 64, camera="cam1", track_no=1,
                frame_index=np.arange(n), pts_s=np.arange(n, dtype=np.float64), boxes_xyxy=np.ones((n, 4), np.float32),
                scores=np.ones(n, np.float32), masks_rle=("",) * n, class_name="person", attributes=_attributes(),
                **kw)  # type: ignore[arg-type]


def test_tube_arrays_are_read_only_and_independent_of_the_callers() -> None:
    pts = np.arange(3, dtype=np.float64)
    t = dataclasses.replace(_tube(), pts_s=pts)
    pts[0] = 99.0  # the caller's array is not the record's
    assert t.pts_s[0] == 0.0
    for name in ("frame_index", "pts_s", "boxes_xyxy", "scores"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(t, name)[0] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.attributes = None  # type: ignore[misc]


def test_tube_arrays_must_agree_in_length() -> None:
    with pytest.raises(ValueError, match="disagree"):
        _tube().__class__(**{**{f.name: getattr(_tube(), f.name) for f in dataclasses.fields(Tube)},
                             "scores": np.ones(2, np.float32)})
    with pytest.raises(ValueError, match="masks"):
        dataclasses.replace(_tube(), masks_rle=("",))


@pytest.mark.parametrize("names,fractions,ok", [
    (("red", "blue"), (0.7, 0.3), True), ((), (), True),
    (("red",), (0.7, 0.3), False), (("red", "blue"), (0.3, 0.7), False),  # lengths differ / not largest first
])
def test_colour_fractions_are_validated(names, fractions, ok: bool) -> None:  # noqa: ANN001
    if ok:
        assert ColourFractions(names, fractions).names == names
    else:
        with pytest.raises(ValueError):
            ColourFractions(names, fractions)


def test_row_round_trip_gives_the_same_typed_tube() -> None:
    t = _tube()
    row = tube_to_record(t, lambda s: T0 + dt.timedelta(seconds=s), 2.0, "thumbs/x.jpg")
    assert row["colours"] == ["green", "black"] and row["upper_colours"] == ["green"]
    assert row["direction8"] == "W" and row["entry_edge"] == "right"
    back = record_to_tube(row)
    assert back.attributes == t.attributes
    assert np.array_equal(back.boxes_xyxy, t.boxes_xyxy) and back.masks_rle == t.masks_rle


def test_a_missing_or_renamed_field_is_an_error_not_a_silent_none() -> None:
    d = attributes_as_dict(_attributes())
    assert attributes_from_dict(d) == _attributes()
    renamed = dict(d)
    renamed["direction"] = renamed.pop("direction8")
    with pytest.raises(StoreError, match="tube abc: stored attributes lack 'direction8'"):
        attributes_from_dict(renamed, where="tube abc")


def test_an_undescribed_tube_is_not_stored() -> None:
    with pytest.raises(StoreError, match="no attributes"):
        tube_to_record(dataclasses.replace(_tube(), attributes=None), lambda s: T0, 1.0, "")
