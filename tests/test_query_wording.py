"""Query wording found by the third blind phrasing batch (bench/phrasings3.toml): the general rules behind it.

Each test names the rule, not the phrase: typing slips, vehicle parts, where an object comes from, two-piece
garments, police and report shorthand, time windows that end now, nights past midnight. The negation rules are
tested in test_querytext.py.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from vsearch.query.spec import ColourTerm
from vsearch.query.spelling import correct
from vsearch.query.text import parse_text

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 21, 10, tzinfo=PARIS)  # a Saturday


def parse(text: str):
    return parse_text(text, now=NOW, tz="Europe/Paris")


def colours(spec) -> set[tuple[str, str, str | None]]:
    return {(c.name, c.part, c.shade) for c in spec.colours}


# --- typing slips ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [
    ("jaket", "jacket"), ("jakcet", "jacket"), ("jackket", "jacket"), ("stoped", "stopped"),
    ("trousres", "trousers"), ("umbrela", "umbrella"), ("camionette", "camionnette"), ("voitrue", "voiture"),
])
def test_a_letter_missing_swapped_or_doubled_is_read_as_the_word(typed: str, meant: str) -> None:
    assert correct(typed)[0] == meant  # type: ignore[index]


@pytest.mark.parametrize("word", ["block", "write", "tracks", "moved", "means", "marked", "parent", "paris", "cap"])
def test_a_real_word_one_letter_changed_or_added_is_not_guessed(word: str) -> None:
    """"block" is not "black", "moved" is not "moped": changed and added letters, and short words, stay unknown."""
    assert correct(word) is None


def test_a_slip_sets_the_term_it_means() -> None:
    spec = parse("red jaket, van stoped")
    assert colours(spec) >= {("red", "upper", None)} and "coat" in spec.items
    assert spec.stationary and spec.unknown_words == ()
    assert spec.read_as == ("jaket → jacket", "stoped → stopped")  # what was read is reported, in JSON too
    assert spec.to_dict()["read_as"] == ["jaket → jacket", "stoped → stopped"]
    assert spec == parse("red jacket, van stopped")  # the same query as the words meant


# --- vehicles ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "vtype", "colour"), [
    ("lorry with a blue cab", "truck", "blue"),
    ("HGV, red cab", "truck", "red"),
    ("PL à cabine rouge", "truck", "red"),
    ("camion à bâche verte", "truck", "green"),
    ("white van with a red roof", "van", "red"),
])
def test_a_vehicle_part_gives_its_colour_to_the_vehicle(text: str, vtype: str, colour: str) -> None:
    """Before, "cab" after a lorry made a taxi (two fine types); "cabine", "bâche" were not understood."""
    spec = parse(text)
    assert spec.vehicle_types == {vtype} and ("any", colour) in {(c.part, c.name) for c in spec.colours}
    assert spec.unknown_words == ()


def test_cab_alone_is_a_taxi() -> None:
    spec = parse("black cab")
    assert spec.classes == {"car"} and spec.vehicle_types == {"car"} and colours(spec) == {("black", "any", None)}


@pytest.mark.parametrize(("text", "classes", "vtypes"), [
    ("VL gris", {"car"}, {"car"}),
    ("PL blanc", {"car", "truck", "bus"}, {"truck"}),
    ("VU blanc", {"car", "truck", "bus"}, {"van"}),
    ("2RM noir", {"motorbike"}, set()),
])
def test_french_police_shorthand_names_the_vehicle(text: str, classes: set[str], vtypes: set[str]) -> None:
    spec = parse(text)
    assert spec.classes == classes and spec.vehicle_types == vtypes and spec.unknown_words == ()


def test_lower_case_vu_is_still_seen() -> None:
    """"VU" in capitals is a utility van; "vu" is the past participle of "voir" (a grammar word)."""
    spec = parse("voiture vu partant vers la droite")
    assert spec.vehicle_types == {"car"} and spec.direction == "right" and spec.unknown_words == ()


# --- where from ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "direction"), [
    ("minibus coming into view from the right", "left"),
    ("bus qui entre dans le champ par la droite", "left"),
    ("cyclist in from the left", "right"),
    ("voiture qui sort par la droite", "right"),
    ("moto qui arrive de la gauche", "right"),
])
def test_where_an_object_comes_from_is_the_opposite_direction(text: str, direction: str) -> None:
    """Before, "from the right" was read as moving right."""
    spec = parse(text)
    assert spec.direction == direction and spec.unknown_words == ()


# --- garments -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "want"), [
    ("mec en survet noir", {("black", "upper", None), ("black", "lower", None)}),
    ("black tracksuit", {("black", "upper", None), ("black", "lower", None)}),
    ("sweat gris, jogging noir", {("grey", "upper", None), ("black", "lower", None)}),
    ("grey hoodie and black tracksuit", {("grey", "upper", None), ("black", "lower", None)}),
])
def test_a_tracksuit_is_a_top_and_bottoms_unless_a_top_is_named(text: str, want: set) -> None:
    spec = parse(text)
    assert colours(spec) == want and spec.classes == {"person"} and spec.unknown_words == ()


def test_jogging_is_running_unless_worn() -> None:
    spec = parse("person jogging past the shop")
    assert spec.colours == () and "jogging" in spec.unmeasurable


def test_a_colour_after_in_a_is_worn() -> None:
    """"cyclist in a yellow hi-vis": the article between "in" and the colour does not make it a person's colour
    (before, "yellow" was refused as describing the person)."""
    spec = parse("cyclist in a yellow hi-vis")
    assert spec.colours == (ColourTerm("yellow", "upper"),) and spec.ignored_sensitive == ()


@pytest.mark.parametrize(("text", "want"), [
    ("blk hoodie", {("black", "upper", None)}), ("WHT van", {("white", "any", None)}),
    ("gry trackies", {("grey", "lower", None)}),
])
def test_colour_shorthand_of_reports(text: str, want: set) -> None:
    assert colours(parse(text)) == want


@pytest.mark.parametrize(("text", "reported"), [
    ("a car without plates", "without plates"), ("red hatchback, tinted windows", "tinted windows"),
    ("bin lorry reversing", "reversing"), ("fourgon de police", "police"), ("van w/ ladder", "ladder"),
    ("voiture qui fait demi-tour", "fait demi-tour"),
])
def test_vehicle_features_livery_and_manoeuvres_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "vtypes", "items"), [
    ("bin lorry", {"truck"}, set()), ("camion poubelle", {"truck"}, set()), ("man in a hard hat", set(), {"hat"}),
])
def test_named_kinds_of_lorry_and_hat(text: str, vtypes: set, items: set) -> None:
    spec = parse(text)
    assert spec.vehicle_types == vtypes and spec.items == items and spec.unknown_words == ()


# --- refused words ----------------------------------------------------------------------------------------------------


def test_uk_identity_codes_are_refused() -> None:
    spec = parse("IC3 male in a blue puffer jacket")
    assert {"IC3", "male"} <= set(spec.ignored_sensitive) and colours(spec) == {("blue", "upper", None)}


def test_people_named_by_their_role_are_persons() -> None:
    spec = parse("agent de sécurité en gilet jaune")
    assert spec.classes == {"person"} and colours(spec) == {("yellow", "upper", None)} and spec.unknown_words == ()


# --- shorthand and grammar ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["white t shirt", "woman w/ pram", "bloke hanging about by the entrance", "black car with two men in it",
                                  "dark grey Golf last seen heading right", "dame qui tire une valise"])
def test_every_word_is_understood(text: str) -> None:
    assert parse(text).unknown_words == ()


@pytest.mark.parametrize(("text", "reported"), [
    ("2 males on a black moped", "2"), ("two people fighting", "fighting"), ("van with its hazards on", "hazards"),
    ("heading towards the town centre", "town centre"),
])
def test_counts_behaviour_and_places_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == ()


def test_a_bare_number_elsewhere_stays_not_understood() -> None:
    assert parse("bus 38").unknown_words == ("38",) and parse("after 3").unknown_words == ("after", "3")


@pytest.mark.parametrize("text", ["black BMW speeding off", "the van made off", "a car that sped off"])
def test_making_off_is_leaving(text: str) -> None:
    spec = parse(text)
    assert spec.motion == {"leaving"} and spec.unknown_words == ()


def test_depuis_with_a_bound_is_a_time_in_view() -> None:
    """"depuis plus de 10 minutes" is a dwell; "depuis 20 minutes" a period ending now; "depuis 14h" a clock."""
    assert parse("voiture stationnée depuis plus de 10 minutes").min_dwell_s == 600
    assert parse("depuis 20 minutes").time_from == NOW - dt.timedelta(minutes=20)
    assert parse("depuis 14h").time_of_day_from == dt.time(14)


def test_w_slash_o_is_a_negation() -> None:
    spec = parse("person w/o bag")
    assert spec.items == set() and spec.unmeasurable == ("w/o bag",)


# --- time -----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "minutes"), [
    ("in the last 20 minutes", 20), ("over the past hour", 60), ("dans les 20 dernières minutes", 20),
    ("depuis 20 minutes", 20), ("la dernière heure", 60), ("within the last 2 hours", 120),
    ("in the last half hour", 30), ("dans la dernière demi-heure", 30),
])
def test_a_recent_period_ends_now(text: str, minutes: int) -> None:
    """Before, "in the last 20 minutes" asked for 20 minutes in view (a dwell), and French forms were unknown."""
    spec = parse(text)
    assert (spec.time_from, spec.time_to) == (NOW - dt.timedelta(minutes=minutes), NOW)
    assert spec.min_dwell_s is None and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "start"), [
    ("last night after midnight", dt.datetime(2026, 11, 21, 0, tzinfo=PARIS)),
    ("cette nuit vers 2h", dt.datetime(2026, 11, 21, 1, 45, tzinfo=PARIS)),
    ("cette nuit vers 23h", dt.datetime(2026, 11, 20, 22, 45, tzinfo=PARIS)),
])
def test_a_night_clock_past_midnight_is_on_the_next_day(text: str, start: dt.datetime) -> None:
    assert parse(text).time_from == start


@pytest.mark.parametrize(("text", "start"), [
    ("around half nine this morning", dt.time(9, 15)),
    ("approx 5.45pm", dt.time(17, 30)),
    ("env. 17h45", dt.time(17, 30)),
])
def test_spoken_and_abbreviated_clock_times(text: str, start: dt.time) -> None:
    spec = parse(text)
    when = spec.time_from.astimezone(PARIS).time() if spec.time_from else spec.time_of_day_from
    assert when == start and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "window"), [
    ("between half past 4 and 5pm", (dt.time(16, 30), dt.time(17))),
    ("between 2 and half past 3 pm", (dt.time(14), dt.time(15, 30))),
    ("between quarter to 4 and half past four pm", (dt.time(15, 45), dt.time(16, 30))),
])
def test_a_range_with_spoken_clock_times_takes_am_pm_from_its_end(text: str, window: tuple) -> None:
    spec = parse(text)
    assert (spec.time_of_day_from, spec.time_of_day_to) == window and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["pendant plus de 5 minutes", "for over 5 minutes", "for more than 5 minutes"])
def test_two_duration_prefixes(text: str) -> None:
    spec = parse(text)
    assert spec.min_dwell_s == 300 and spec.unknown_words == ()
