"""The query engine (`vsearch.query.engine.run_query`) on a small real store indexed from a synthetic clip."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

import synth
from conftest import index_motion_only
from vsearch.catalogue.tube_rows import attributes_as_dict
from vsearch.query.coverage import coverage
from vsearch.query.engine import COLOUR_MIN, run_query, search_filter
from vsearch.query.options import QueryOptions
from vsearch.query.spec import COLOURS, ColourTerm, QuerySpec
from vsearch.query.text import build_query
from vsearch.catalogue.store import Store

NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)
START = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.timezone.utc)  # 14:00 in Paris


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("engine")
    car, person = (56, 30), (22, 56)
    objs = [  # everything enters after the motion detector's 2-s warm-up, on rows that never touch
        synth.SynthObject(1, "red", [(2.5, 30, 40), (6.5, 610, 40)], car, kind="car"),
        synth.SynthObject(2, "red", [(2.5, 30, 120), (6.5, 610, 120)], car, kind="car"),  # twin of 1: same score
        synth.SynthObject(3, "green", [(3.0, 610, 230), (8.0, 30, 230)], person, lower_colour="black", kind="person"),
        synth.SynthObject(4, "yellow", [(3.0, 30, 315), (9.0, 610, 315)], person, lower_colour="black",
                          kind="person"),  # its ground point runs along y = 0.95
    ]
    clip = synth.write_video(synth.SynthVideo(root / "footage" / "cam1.mp4", 640, 360, 10, 12.0, objs)).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START.isoformat()}))
    index_motion_only(clip.parent, root / "store")
    st = Store(root / "store", create=False)
    assert st.ensure_scalar_indices()  # the engine must give the same answers with the indices
    return st


def query(store: Store, text: str = "", **opts: object) -> list:
    spec = build_query(text, QueryOptions(**opts), now=NOW, cameras=store.cameras())  # type: ignore[arg-type]
    return run_query(store, spec).hits


def test_twin_tubes_rank_deterministically_by_score_then_time_then_id(store: Store) -> None:
    first = query(store, "voiture rouge")
    assert len(first) == 2
    for _ in range(3):
        assert [h.tube_id for h in query(store, "red car")] == [h.tube_id for h in first]
    keys = [(-h.score, h.start_utc, h.tube_id) for h in first]
    assert keys == sorted(keys)
    every = query(store)  # no constraint: all tubes, all score 1.0, by start time then id
    assert [(h.start_utc, h.tube_id) for h in every] == sorted((h.start_utc, h.tube_id) for h in every)


def test_colours_on_one_part_are_alternatives_and_parts_are_anded(store: Store) -> None:
    def colours(hits: list) -> set[str]:
        return {h.upper_colours[0] for h in hits}

    assert colours(query(store, upper=("green", "yellow"))) == {"green", "yellow"}
    assert colours(query(store, upper=("green",), lower=("black",))) == {"green"}
    assert query(store, upper=("green",), lower=("red",)) == []
    hit = query(store, upper=("yellow", "blue"))[0]
    assert [t.term for t in hit.terms] == ["colour upper=blue|yellow"]
    assert hit.terms[0].detail.startswith("yellow covers")  # the alternative that matched is explained
    assert hit.score == pytest.approx(hit.terms[0].score, abs=1e-4)


@pytest.mark.parametrize("text", ["person in a green or yellow top", "quelqu'un en haut vert ou jaune"])
def test_colours_joined_by_or_are_one_term_matched_by_the_best(store: Store, text: str) -> None:
    """A witness unsure of the colour ("green or yellow top") asks for either: one term, matched in full by the
    green person and by the yellow one alike, not two terms each half missed."""
    hits = query(store, text)
    persons = [h for h in hits if h.class_name == "person"]
    assert len(persons) == 2
    for h in persons:
        colour = [t for t in h.terms if t.term.startswith("colour")]
        assert [t.term for t in colour] == ["colour upper=green|yellow"]
        assert colour[0].status == "matched"
    assert persons[0].score == pytest.approx(persons[1].score, abs=0.05)


@pytest.mark.parametrize("part", ["any", "upper", "lower"])
def test_colour_prefilter_is_exact(store: Store, part: str) -> None:
    """The SQL pre-filter on the colour lists keeps exactly the tubes whose stored fraction passes COLOUR_MIN."""
    key = {"any": "colours", "upper": "upper_colours", "lower": "lower_colours"}[part]
    tubes = store.tubes()
    for name in COLOURS:
        spec = QuerySpec(colours=(ColourTerm(name, part, hard=True),))
        assert "array_has_any" in (search_filter(spec) or "")
        want = {t.tube_id for t in tubes
                if (attributes_as_dict(t.attributes).get(key) or {}).get(name, 0.0) >= COLOUR_MIN}
        assert {h.tube_id for h in run_query(store, spec).hits} == want, name


def test_items_and_speed_bounds(store: Store) -> None:
    """Items need the attribute model (absent with the motion detector): every person is listed, the item
    "not measurable" for each (no error, no empty list). Speed bounds in frame widths and in source pixels per
    second select the same tubes (640-px source)."""
    hits = query(store, "personne avec un sac")
    assert len(hits) == 2 and all(h.class_name == "person" for h in hits)
    assert all([(t.term, t.status, t.score) for t in h.terms][-1] == ("item=bag", "not measurable", None) for h in hits)
    fast = {h.tube_id for h in query(store, min_speed="0.2fw/s")}
    assert fast and fast == {h.tube_id for h in query(store, min_speed="128px/s")}
    slow = {h.tube_id for h in query(store, max_speed="0.2fw/s")}
    assert not fast & slow and len(fast | slow) == len(query(store))


def test_zone_entered_stayed_crossed(store: Store) -> None:
    strip = "0.5,0.9 1,0.9 1,1 0.5,1"
    [entered] = query(store, zones=(f"entered:{strip}",))
    assert entered.upper_colours[0] == "yellow"
    assert [t.term for t in entered.terms] == ["zone entered"]
    assert [h.tube_id for h in query(store, zones=(f"stayed>=1.5:{strip}",))] == [entered.tube_id]
    assert query(store, zones=(f"stayed>=8:{strip}",)) == []  # it spends about 3 s there
    assert [h.tube_id for h in query(store, zones=("crossed:0.5,0.85 0.5,1",))] == [entered.tube_id]
    assert query(store, zones=("crossed:0.05,0.85 0.05,0.88",)) == []  # a segment nobody crosses


def test_coverage_reports_uncovered_window_parts_and_missing_cameras(store: Store) -> None:
    spec = QuerySpec(cameras=("cam1", "cam9"), time_from=START - dt.timedelta(minutes=1),
                     time_to=START + dt.timedelta(minutes=1))
    cov = run_query(store, spec).coverage
    assert cov.cameras_missing == ["cam9"]
    assert [Path(s["path"]).name for s in cov.searched] == ["cam1.mp4"]
    spans = [(u["camera"], u["from_utc"][11:19], u["to_utc"][11:19]) for u in cov.uncovered]
    assert spans[0] == ("cam1", "12:59:00", "13:00:00")
    assert spans[1][0] == "cam1" and "13:00:11" <= spans[1][1] <= "13:00:12" and spans[1][2] == "13:01:00"
    assert spans[2] == ("cam9", "12:59:00", "13:01:00")
    outside = QuerySpec(time_from=START + dt.timedelta(hours=1), time_to=START + dt.timedelta(hours=2))
    res = run_query(store, outside)
    assert res.hits == [] and res.coverage.searched == []
    assert [u["camera"] for u in res.coverage.uncovered] == ["cam1"]


def test_coverage_lists_gaps_inside_the_window_only(store: Store) -> None:
    src = store.sources()[0]
    gappy = dataclasses.replace(src, gaps_json=json.dumps([
        {"start_s": 4.0, "end_s": 5.0, "reason": "corrupt packets"},
        {"start_s": 10.0, "end_s": 11.0, "reason": "corrupt packets"}]))
    spec = QuerySpec(time_from=START, time_to=START + dt.timedelta(seconds=8))
    cov = coverage(store, spec, [gappy])
    assert [(g["from_utc"][11:19], g["to_utc"][11:19], g["reason"]) for g in cov.gaps] == [
        ("13:00:04", "13:00:05", "corrupt packets")]
    assert cov.searched[0]["start_utc"] == src.start_utc.isoformat()


SHADES_BGR = {"navy": (100, 35, 20), "royal": (200, 70, 30), "sky": (235, 195, 150), "bluish-grey": (150, 138, 128)}


@pytest.fixture(scope="module")
def shades_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, str]]:
    """Four cars in four blues and a bluish grey on a real decoded video; tube id -> shade name."""
    root = tmp_path_factory.mktemp("shades")
    objs = [synth.SynthObject(k, name, [(2.5 + k, 30, 40 + 70 * k), (6.5 + k, 610, 40 + 70 * k)], (56, 30),
                              kind="car") for k, name in enumerate(SHADES_BGR)]
    clip = synth.write_video_palette(synth.SynthVideo(root / "footage" / "cam1.mp4", 640, 360, 10, 12.0, objs),
                                     SHADES_BGR).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START.isoformat()}))
    index_motion_only(clip.parent, root / "store")
    st = Store(root / "store", create=False)
    tubes = sorted(st.tubes_arrow().to_pylist(), key=lambda r: r["first_pts_s"])
    assert len(tubes) == len(SHADES_BGR)
    return st, {t["tube_id"]: name for t, name in zip(tubes, SHADES_BGR)}


@pytest.mark.parametrize("text,first", [("navy car", "navy"), ("dark blue car", "navy"),
                                        ("voiture bleu marine", "navy"), ("light blue car", "sky"),
                                        ("voiture bleu clair", "sky")])
def test_shades_rank_by_stored_tones(shades_store: tuple[Store, dict[str, str]], text: str, first: str) -> None:
    """Navy, royal and sky blue are all palette "blue": the stored tones rank the asked shade first, and a grey
    with a bluish cast is never the light blue one."""
    st, shade_of = shades_store
    hits = query(st, text)
    assert shade_of[hits[0].tube_id] == first, [(shade_of[h.tube_id], h.score) for h in hits]
    if "light" in text or "clair" in text:
        grey = next(h for h in hits if shade_of[h.tube_id] == "bluish-grey")
        assert grey.score < hits[0].score and [t.status for t in grey.terms if t.term.startswith("colour")] != ["matched"]


def test_plain_blue_matches_every_shade_of_blue(shades_store: tuple[Store, dict[str, str]]) -> None:
    st, shade_of = shades_store
    status = {shade_of[h.tube_id]: [t.status for t in h.terms if t.term.startswith("colour")] for h in query(st, "blue car")}
    assert status == {"navy": ["matched"], "royal": ["matched"], "sky": ["matched"], "bluish-grey": ["not matched"]}


def test_box_shape_and_growth_of_every_candidate_match_the_per_tube_definition() -> None:
    """The vectorised box statistics the vehicle-type and towards/away terms read equal the plain per-tube
    definitions (median height/width; log of the last over the first samples' mean height), tubes of 0-11
    samples mixed."""
    import numpy as np
    import pyarrow as pa

    from vsearch.catalogue.soft_columns import box_aspect, box_growth, box_sizes

    rng = np.random.default_rng(1)
    n = rng.integers(0, 12, 300)
    boxes = []
    for k in n:
        b = rng.uniform(0, 100, (k, 4))
        b[:, 2:] = b[:, :2] + rng.uniform(1, 50, (k, 2))
        boxes.append(b.astype(np.float32))
    table = pa.table({"boxes_xyxy": pa.array([b.ravel().tolist() for b in boxes], pa.list_(pa.float32())),
                      "n_samples": pa.array(n, pa.int32())})
    aspect, growth = box_aspect(box_sizes(table)), box_growth(box_sizes(table))
    for i, (k, b) in enumerate(zip(n, boxes)):
        b = b.astype(np.float64)
        h = b[:, 3] - b[:, 1]
        near = dict(rel=1e-5, abs=1e-5)  # computed in float32, the stored box precision
        assert np.isnan(aspect[i]) if k == 0 else aspect[i] == pytest.approx(np.median(h / (b[:, 2] - b[:, 0])), **near)
        m = min(3, k // 2)
        assert np.isnan(growth[i]) if k < 4 else growth[i] == pytest.approx(np.log(h[k - m:].mean() / h[:m].mean()),
                                                                             **near)


def test_vehicle_type_explanation_names_where_the_number_came_from() -> None:
    """A detector class, the fused type (YOLOX + type model + shape) or, in older stores, the type model alone:
    the explanation says which one gave the score, from the same evaluation (it used to name the model for all)."""
    import pyarrow as pa

    from vsearch.catalogue.soft_columns import column_of
    from vsearch.query.terms import Candidates, VehicleTypeTerm

    said, p, fused = (column_of("models", k)[0] for k in ("vehicle_type", "vehicle_type_p", "vehicle_type_p_truck"))
    table = pa.table({"class_name": ["car", "car", "truck"], "box_aspect": [1.6, 1.6, 1.0],
                      said: pa.array(["truck", "truck", None], pa.string()),
                      p: pa.array([0.8, 0.8, None], pa.float64()), fused: pa.array([0.6, None, None], pa.float64())})
    term = VehicleTypeTerm("truck", required=False)
    ev = term.evaluate(Candidates(table))
    texts = [term.explain(float(ev.score[i]), float(ev.value[i]), ev.choice_at(i)) for i in range(3)]
    assert "fused type" in texts[0] and "box shape at half weight" in texts[0]
    assert "vehicle-attributes model" in texts[1] and "fused" not in texts[1]
    assert texts[2].endswith("(detector class)") and ev.score[2] == 1.0
    assert ev.score[0] != ev.score[1]  # the fused number, not the type model's, where the store has it
