"""Presentation helpers of the review UI: coverage bar shares, timeline positions, coverage sentence."""

from __future__ import annotations

import datetime as dt

import pytest

from vsearch.web import i18n, views


def _cov(**kw: object) -> dict:
    base = {"cameras_requested": [], "cameras_indexed": ["cam1"], "cameras_missing": [], "window_from": None,
            "window_to": None, "searched": [{"path": "a.mp4"}], "not_searched": [], "gaps": [], "uncovered": [],
            "descriptors": [], "footage_searched_s": 60.0}
    return {**base, **kw}


@pytest.mark.parametrize("cov, expected", [
    (_cov(), [("searched", 100.0)]),
    (_cov(gaps=[{"from_utc": "2026-11-20T13:00:00+00:00", "to_utc": "2026-11-20T13:00:20+00:00"}],
          uncovered=[{"from_utc": "2026-11-20T14:00:00+00:00", "to_utc": "2026-11-20T14:00:20+00:00"}]),
     [("searched", 60.0), ("gaps", 20.0), ("uncovered", 20.0)]),
    (_cov(not_searched=[{"path": "b.mp4", "duration_s": 40.0}], footage_searched_s=60.0),
     [("searched", 60.0), ("unreadable", 40.0)]),
    (_cov(footage_searched_s=0.0, searched=[]), []),
])
def test_coverage_bar_shares(cov: dict, expected: list[tuple[str, float]]) -> None:
    assert [(s.kind, s.pct) for s in views.coverage_bar(cov)] == expected


T0 = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.timezone.utc)


def _hit(tube_id: str, camera: str, start_s: float, end_s: float) -> dict:
    return {"tube_id": tube_id, "camera": camera, "class_name": "person",
            "start_utc": (T0 + dt.timedelta(seconds=start_s)).isoformat(),
            "end_utc": (T0 + dt.timedelta(seconds=end_s)).isoformat()}


def test_timeline_places_hits_by_time_per_camera() -> None:
    res = {"hits": [_hit("b", "cam2", 50, 60), _hit("a", "cam1", 0, 10)], "coverage": _cov()}
    tl = views.timeline(res)
    assert [line.camera for line in tl.cameras] == ["cam1", "cam2"]
    (a,), (b,) = tl.cameras[0].marks, tl.cameras[1].marks
    assert (a.left_pct, a.width_pct, a.rank) == (0.0, 16.67, 2)
    assert (b.left_pct, b.width_pct, b.rank) == (83.33, 16.67, 1)
    assert views.timeline({"hits": [], "coverage": _cov()}) is None


def test_timeline_spans_the_requested_window() -> None:
    res = {"hits": [_hit("a", "cam1", 30, 40)],
           "coverage": _cov(window_from="2026-11-20T13:00:00+00:00", window_to="2026-11-20T13:01:40+00:00")}
    (m,) = views.timeline(res).cameras[0].marks
    assert (m.left_pct, m.width_pct) == (30.0, 10.0)


@pytest.mark.parametrize("lang, needles", [
    ("fr", ["1 fichier(s) fouillé(s)", "60 s d'images", "jamais indexées : cam9"]),
    ("en", ["Searched 1 file(s)", "60 s of footage", "never indexed: cam9"]),
])
def test_coverage_sentence(lang: str, needles: list[str]) -> None:
    text = i18n.coverage_sentence(_cov(cameras_missing=["cam9"]), lang)
    assert all(n in text for n in needles), text
    assert "mesurable" not in text  # every term measured on every object: nothing said


@pytest.mark.parametrize("lang, needle", [("fr", "non mesurable sur certains objets : colour=red (3)"),
                                          ("en", "not measurable on some objects: colour=red (3)")])
def test_coverage_sentence_names_terms_not_measurable_on_some_objects(lang: str, needle: str) -> None:
    blind = [{"term": "colour=red", "camera": c, "objects": n, "first_start_utc": None, "last_start_utc": None,
              "reason": "-"}
             for c, n in (("cam1", 1), ("cam2", 2))]
    assert needle in i18n.coverage_sentence(_cov(not_measured=blind), lang)
