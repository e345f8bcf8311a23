"""Query wording left after the sixth blind batch (bench/phrasings6.toml).

- "late morning", "en début d'après-midi", "tôt ce matin", "towards the end of the afternoon": before, "early",
  "late", "en fin de" were grammar words and the whole day part was searched (a hard filter too wide, and "end"
  was not understood). They now keep the day part's first or second half ("mid": its middle half); elsewhere
  ("in her early 30s") they stay grammar words.
- hedges ("I think it was", "I reckon", "il me semble", "pas sûr mais je dirais"): before, not understood, and
  "il" of "il me semble" was refused as a pronoun of sex, taking the colour next to it along.
- "à contresens" was read as coming towards the camera; it is "the wrong way", understood but not measured.
- road places (motorway, slip road, hard shoulder, autoroute, bretelle, bande d'arrêt d'urgence), "the scene" /
  "les lieux": places, so "down the motorway" is along it and "left the scene" is leaving.
- truck slang (18-wheeler, semi), "utility vehicle", "subject"/"sujet", "pépin", colour tints (pinkish, orangey,
  rosâtre, bleuté), "engine running"/"moteur allumé", "pulling onto"/"s'engage sur", "ont pris la fuite",
  "for a good ten minutes", "sitting there".
- "bluish-grey hoodie": the hyphened colours share the hoodie (before, "bluish" went on the whole person).
- probes on the same themes after reading the parser: "greeny", "joining" (a road), "lugging", "over his
  shoulder", "munie de", "heavy"/"lourd" (the size of a thing after it too: "un camion lourd"; next to a person
  a body word, refused); a hedged second colour is an alternative ("a dark blue car, maybe black"); cycling
  clothes; the small hours, after lunch, first thing; "broken down" is stationary, not the direction down; road
  manoeuvres (wrong side of the road, towing).
"""

from __future__ import annotations

import datetime as dt

import pytest

from test_query_wording import colours, parse


@pytest.mark.parametrize(("text", "window"), [
    ("white van in the late morning", (dt.time(9), dt.time(12))),
    ("camionnette blanche en fin de matinée", (dt.time(9), dt.time(12))),
    ("a person in the early afternoon", (dt.time(12), dt.time(15))),
    ("quelqu'un en début d'après-midi", (dt.time(12), dt.time(15))),
    ("grey car mid-afternoon", (dt.time(13, 30), dt.time(16, 30))),
    ("voiture grise en milieu d'après-midi", (dt.time(13, 30), dt.time(16, 30))),
    ("a bus towards the end of the afternoon", (dt.time(15), dt.time(18))),
    ("un bus en fin d'après-midi", (dt.time(15), dt.time(18))),
    ("someone in the early evening", (dt.time(18), dt.time(21))),
    ("quelqu'un en début de soirée", (dt.time(18), dt.time(21))),
    ("a lorry early in the morning", (dt.time(6), dt.time(9))),
])
def test_early_and_late_keep_half_of_the_day_part(text: str, window: tuple) -> None:
    spec = parse(text)
    assert (spec.time_of_day_from, spec.time_of_day_to) == window and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["a lorry very early this morning", "un camion très tôt ce matin"])
def test_early_this_morning_is_today_before_nine(text: str) -> None:
    spec = parse(text)
    assert spec.time_from == dt.datetime(2026, 11, 21, 6, tzinfo=spec.time_from.tzinfo)
    assert spec.time_to.hour == 9 and spec.unknown_words == ()


def test_late_yesterday_evening_is_its_second_half() -> None:
    spec = parse("une moto tard hier soir")
    assert (spec.time_from.day, spec.time_from.hour) == (20, 21) and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["a motorbike late at night", "a man in his late 30s", "a late bus", "arrivé tard"])
def test_early_or_late_without_a_narrowable_day_part_changes_no_window(text: str) -> None:
    spec = parse(text)
    assert spec.time_of_day_from in (None, dt.time(22)) and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "want"), [
    ("I think it was a dark blue car", {("blue", "any", "dark")}),
    ("some sort of van, white I reckon", {("white", "any", None)}),
    ("une sorte de camionnette blanche il me semble", {("white", "any", None)}),
    ("not sure but I'd say the jacket was green", {("green", "upper", None)}),
    ("pas sûr mais je dirais que la veste était verte", {("green", "upper", None)}),
    ("je crois que c'était une voiture grise", {("grey", "any", None)}),
])
def test_hedges_are_fillers(text: str, want: set) -> None:
    spec = parse(text)
    assert colours(spec) == want and spec.unknown_words == () and spec.ignored_sensitive == (), text


@pytest.mark.parametrize("text", ["voiture à contresens sur la bretelle", "un camion qui roule à contresens",
                                  "a lorry driving the wrong way down the motorway"])
def test_the_wrong_way_is_understood_not_a_motion(text: str) -> None:
    spec = parse(text)
    assert spec.motion == frozenset() and spec.direction is None and spec.unknown_words == (), text
    assert any("contresens" in u or "wrong way" in u for u in spec.unmeasurable)


@pytest.mark.parametrize("text", ["the vehicle left the scene heading north",
                                  "le véhicule a quitté les lieux en direction du nord"])
def test_leaving_the_scene_is_leaving(text: str) -> None:
    spec = parse(text)
    assert spec.motion == {"leaving"} and spec.direction == "N" and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "vtype"), [
    ("18-wheeler parked up", "truck"), ("a semi pulling onto the motorway", "truck"),
    ("white utility vehicle on the hard shoulder", "van"),
])
def test_truck_slang_and_utility_vehicles(text: str, vtype: str) -> None:
    spec = parse(text)
    assert spec.vehicle_types == {vtype} and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "motion"), [
    ("a semi pulling onto the motorway", {"entering"}), ("un poids lourd qui s'engage sur l'autoroute", {"entering"}),
    ("deux hommes ont pris la fuite à pied", {"leaving"}),
])
def test_joining_a_road_and_fleeing(text: str, motion: set) -> None:
    spec = parse(text)
    assert spec.motion == motion and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["semi-remorque garé moteur allumé", "18-wheeler parked with its engine running"])
def test_engine_running_is_understood_not_measured(text: str) -> None:
    spec = parse(text)
    assert spec.stationary and spec.unknown_words == (), text
    assert any("moteur" in u or "engine" in u for u in spec.unmeasurable)


@pytest.mark.parametrize("text", ["a van sitting there with the engine running for a good ten minutes",
                                  "une camionnette moteur allumé une bonne dizaine de minutes"])
def test_a_good_ten_minutes_is_ten_minutes(text: str) -> None:
    spec = parse(text)
    assert spec.min_dwell_s == 600 and spec.items == frozenset() and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "want"), [
    ("someone in a pinkish top", {("pink", "upper", None)}), ("un haut rosâtre", {("pink", "upper", None)}),
    ("an orangey van", {("orange", "any", None)}), ("a purplish coat", {("purple", "upper", None)}),
    ("personne en sweat à capuche gris bleuté", {("grey", "upper", None), ("blue", "upper", None)}),
    ("person in a bluish-grey hoodie", {("grey", "upper", None), ("blue", "upper", None)}),
])
def test_colour_tints(text: str, want: set) -> None:
    spec = parse(text)
    assert colours(spec) == want and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "items"), [
    ("subject carrying a black holdall", {"bag"}), ("sujet porteur d'un sac de sport", {"bag"}),
    ("un type avec un pépin", {"umbrella"}),
])
def test_report_words_for_a_person_and_an_umbrella(text: str, items: set) -> None:
    spec = parse(text)
    assert spec.classes == {"person"} and spec.items == items and spec.unknown_words == (), text


def test_the_subject_vehicle_is_not_a_person() -> None:
    assert parse("the subject vehicle").classes == {"car", "truck", "bus", "motorbike"}


@pytest.mark.parametrize("text", ["a greeny-blue coat", "a car joining the motorway", "person lugging a heavy suitcase",
                                  "a man with a holdall over his shoulder", "une personne munie d'un sac à dos",
                                  "un camion lourd", "une valise lourde"])
def test_probe_words_after_the_batch_are_understood(text: str) -> None:
    """Found by probes on the batch's themes after reading the parser (not blind)."""
    assert parse(text).unknown_words == (), text


@pytest.mark.parametrize(("text", "refused", "reported"), [
    ("un camion lourd", (), ("lourd",)), ("une valise lourde", (), ("lourde",)),
    ("a heavy suitcase", (), ("heavy",)), ("un homme grand", ("homme", "grand"), ()),
    ("a heavy man", ("heavy", "man"), ()),
])
def test_a_size_word_after_a_thing_is_its_size_next_to_a_person_a_body_word(text: str, refused: tuple,
                                                                            reported: tuple) -> None:
    spec = parse(text)
    assert spec.ignored_sensitive == refused and spec.unmeasurable == reported, text


def either(spec) -> set[tuple[str, str, str | None, str]]:
    return {(c.name, c.part, c.shade, c.either) for c in spec.colours}


@pytest.mark.parametrize("text", ["I think it was a dark blue car, maybe black", "a dark blue car, or maybe black",
                                  "je crois que c'était une voiture bleu foncé, peut-être noire",
                                  "une voiture bleu foncé, voire noire"])
def test_a_hedged_second_colour_is_an_alternative(text: str) -> None:
    """Before, "maybe black" asked for black as well as dark blue (or "voire" was not understood)."""
    spec = parse(text)
    assert either(spec) == {("blue", "any", "dark", "black|dark blue"), ("black", "any", None, "black|dark blue")}
    assert spec.unknown_words == (), text


def test_a_hedged_colour_after_an_article_is_not_a_person() -> None:
    """Before, "a grey, possibly silver, saloon" refused "grey" as naming a person ("un noir")."""
    spec = parse("a grey, possibly silver, saloon")
    assert either(spec) == {("grey", "any", None, "grey|light grey"), ("grey", "any", "light", "grey|light grey")}
    assert spec.ignored_sensitive == ()


@pytest.mark.parametrize(("text", "want"), [
    ("red jacket, maybe a black cap", {("red", "upper", None, ""), ("black", "head", None, "")}),
    ("red top, probably black jeans", {("red", "upper", None, ""), ("black", "lower", None, "")}),
])
def test_a_hedge_before_another_garment_names_that_garment(text: str, want: set) -> None:
    assert either(parse(text)) == want


@pytest.mark.parametrize(("text", "want"), [
    ("a cyclist in a red cycling jersey and black bib shorts", {("red", "upper", None), ("black", "lower", None)}),
    ("un cycliste en cuissard noir et maillot jaune", {("yellow", "upper", None), ("black", "lower", None)}),
    ("a cyclist in black lycra", {("black", "any", None)}),
    ("he was wearing what looked like a grey hoodie", {("grey", "upper", None)}),
    ("suspect described as wearing a dark top", {("black", "upper", None)}),
])
def test_cycling_clothes_and_described_as(text: str, want: set) -> None:
    spec = parse(text)
    assert colours(spec) == want and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "items"), [
    ("someone with a bag on his back", {"backpack"}), ("une personne chargée de sacs de courses", {"bag"}),
    ("someone with a carrier bag in each hand", {"bag"}), ("l'individu tenait un parapluie noir", {"umbrella"}),
])
def test_more_ways_of_carrying(text: str, items: set) -> None:
    spec = parse(text)
    assert spec.items == items and spec.unknown_words == (), text


def test_vetetiste_is_a_cyclist() -> None:
    assert parse("un vététiste en rouge").classes == {"bicycle"}


@pytest.mark.parametrize(("text", "window"), [
    ("in the small hours", (dt.time(22), dt.time(6))), ("in the early hours of the morning", (dt.time(22), dt.time(6))),
    ("au petit matin", (dt.time(6), dt.time(12))), ("just after lunch", (dt.time(12, 30), dt.time(15, 30))),
    ("juste après le déjeuner", (dt.time(12, 30), dt.time(15, 30))),
])
def test_more_day_parts(text: str, window: tuple) -> None:
    """Before, "small"/"petit" were refused as body words and "after lunch" was not understood."""
    spec = parse(text)
    assert (spec.time_of_day_from, spec.time_of_day_to) == window and spec.unknown_words == () \
        and spec.ignored_sensitive == (), text


def test_first_thing_this_morning_is_its_first_half() -> None:
    spec = parse("first thing this morning")
    assert (spec.time_from.hour, spec.time_to.hour, spec.time_from.day) == (6, 9, 21) and spec.unknown_words == ()


def test_the_early_hours_of_this_morning_are_the_night_that_ended_this_morning() -> None:
    spec = parse("a van in the early hours of this morning")
    assert (spec.time_from.day, spec.time_from.hour, spec.time_to.day, spec.time_to.hour) == (20, 22, 21, 6)


@pytest.mark.parametrize("text", ["a white transit broken down on the hard shoulder", "un poids lourd en panne sur la BAU"])
def test_broken_down_is_stationary_not_the_direction_down(text: str) -> None:
    """Before, "broken down" set the on-screen direction down (a hard filter) and "panne" was not understood."""
    spec = parse(text)
    assert spec.stationary and spec.direction is None and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["a car on the wrong side of the road", "une voiture qui prend l'autoroute à contresens",
                                  "a car towing a white caravan", "une voiture qui tracte une caravane blanche",
                                  "a pair of cyclists riding side by side", "a lorry jackknifed across the carriageway"])
def test_road_manoeuvres_are_understood_not_measured(text: str) -> None:
    spec = parse(text)
    assert spec.unknown_words == () and spec.colours == () and spec.unmeasurable, text


def test_a_tractor_is_a_truck() -> None:
    assert parse("a tractor on the road").vehicle_types == {"truck"}
