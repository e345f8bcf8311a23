"""Query wording left after the seventh blind batch (bench/phrasings7.toml).

- a day of the month with no month: "on the 19th", "le 19 vers 22h" (before, "19th" was not understood and the
  time was searched on every day), and the night of two days, "the night of the 20th to the 21st" / "la nuit du 20
  au 21" (the night that starts on the first). A bare French number is a day only after "le"/"du" and before a
  time or a day part: "le 19" alone may be a bus line.
- "between 11 and midnight": before, 11:00 to midnight (the bare hour took the "am" of midnight); now 23:00.
- "en fin de journée", "late in the day": before, "journée"/"day" was not understood and no time was kept; the
  daytime (07:00-21:00) is a day part, so its second half is kept.
- loitering in casual words: "resté planté là", "pendant des plombes", "a good while", "depuis plus d'un quart
  d'heure", "une demi-heure environ" (a fraction of an hour said with no "pendant"); "a quarter of an hour ago".
- colours that also name a substance ("sand", "sable", "rouille", "olive"): before, "a lorry dropping sand" asked
  for a light brown lorry; now such a word is a colour only next to a noun, a colour, "couleur" or a clothing word.
- "white van with red lettering": before, red went on the van; the colour of writing or a logo is the writing's.
- "blouson cuir marron, sac banane": before, brown went to the bag across the comma; the jacket past its material
  word now wins.
- signalement abbreviations ("pant. jean", "bask. blanches", "sexe masc."), "poussée par", "quelqun", and a slip
  in the first word of a phrase ("twards the camera").
- probes on the same themes after reading the parser: a day number after its weekday ("mardi 17 vers 15h"), the
  night of two weekdays ("la nuit de jeudi à vendredi"), a substance colour past a material ("a caramel leather
  jacket": a guard, the substance rule first lost it), "bonnet" next to a vehicle (the car's bonnet, not a hat),
  "casq.", "sweat capuche", "for a bit", "attendait"; where on a plate ("reg ending 5TX", "plaque commençant par
  AB": the characters go with the plate), "20 bonnes minutes", "bonnes" (was read as "bonnets", a hat), "now",
  "out of sight", "fait le guet".
"""

from __future__ import annotations

import datetime as dt

import pytest

from test_query_wording import colours, parse
from vsearch.query.clock import get_tz


def _holds(spec, day: int, hour: int, minute: int = 0) -> bool:
    """Whether the spec's time window holds that instant of November 2026 (Paris time)."""
    when = dt.datetime(2026, 11, day, hour, minute, tzinfo=get_tz("Europe/Paris"))
    return spec.overlaps_time(when, when)


@pytest.mark.parametrize("text", ["bus on the 19th at about 10 pm", "bus le 19 vers 22h"])
def test_a_day_of_the_month_without_its_month(text: str) -> None:
    spec = parse(text)
    assert _holds(spec, 19, 22) and not _holds(spec, 20, 22) and not _holds(spec, 19, 18)
    assert spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["the night of the 20th to the 21st, a car", "dans la nuit du 20 au 21, une voiture"])
def test_the_night_of_two_days_is_the_night_after_the_first(text: str) -> None:
    spec = parse(text)
    assert _holds(spec, 20, 23) and _holds(spec, 21, 3)
    assert not _holds(spec, 20, 15) and not _holds(spec, 21, 12) and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["le bus 19", "un groupe de 19 personnes", "le 19 vers la gare", "the 3rd car",
                                  "au 1er étage"])
def test_a_bare_number_is_not_a_day(text: str) -> None:
    spec = parse(text)
    assert spec.time_from is None and spec.time_of_day_from is None, text


@pytest.mark.parametrize("text", ["a person Thursday night between 11 and midnight",
                                  "someone last night between 11 and midnight"])
def test_a_bare_hour_before_midnight_is_the_evening(text: str) -> None:
    spec = parse(text)
    assert spec.time_from.hour == 23 and spec.time_to.hour == 0, text


@pytest.mark.parametrize("text", ["late in the day, a cyclist", "en fin de journée, un cycliste"])
def test_the_end_of_the_day_is_a_time(text: str) -> None:
    spec = parse(text)
    assert (spec.time_of_day_from, spec.time_of_day_to) == (dt.time(14), dt.time(21))
    assert spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "seconds"), [
    ("quelqu'un qui traîne près du distributeur depuis plus d'un quart d'heure", 900),
    ("personne en manteau noir qui est restée là une demi-heure environ", 1800),
    ("someone who stayed half an hour", 1800),
])
def test_a_fraction_of_an_hour_is_how_long(text: str, seconds: int) -> None:
    spec = parse(text)
    assert spec.min_dwell_s == seconds and spec.unknown_words == (), text


def test_a_quarter_of_an_hour_ago_is_a_moment() -> None:
    spec = parse("a quarter of an hour ago")
    assert spec.min_dwell_s is None and spec.time_to is not None and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["homme en parka sombre resté planté devant la porte pendant des plombes",
                                  "sweat rouge, est resté planté là un bon moment",
                                  "red sweatshirt, stood there for a good while"])
def test_casual_loitering_words_are_understood(text: str) -> None:
    spec = parse(text)
    assert (spec.stationary or spec.min_dwell_s) and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["lorry dropping sand on the road", "camion qui perd du sable sur la route"])
def test_a_substance_is_not_a_colour(text: str) -> None:
    spec = parse(text)
    assert spec.colours == () and spec.vehicle_types == {"truck"}, text


@pytest.mark.parametrize(("text", "want"), [
    ("a sand jacket", {("brown", "upper", "light")}),
    ("pantalon couleur sable", {("brown", "lower", "light")}),
    ("a man in olive", {("green", "any", "dark")}),
    ("voiture crème", {("white", "any", "light")}),
])
def test_a_substance_colour_next_to_its_noun_stays_a_colour(text: str, want: set) -> None:
    assert colours(parse(text)) == want, text


@pytest.mark.parametrize("text", ["white van with red lettering on the side",
                                  "camionnette blanche avec un lettrage rouge sur le côté"])
def test_the_colour_of_lettering_is_not_the_vehicle(text: str) -> None:
    assert colours(parse(text)) == {("white", "any", None)}, text


def test_a_colour_goes_to_its_garment_past_a_material_before_a_comma() -> None:
    spec = parse("blouson cuir marron, sac banane")
    assert colours(spec) == {("brown", "upper", None)} and spec.items >= {"coat", "bag"}


def test_signalement_abbreviations() -> None:
    spec = parse("indiv. de sexe masc., vêtu veste noire, pant. jean, bask. blanches")
    assert spec.unknown_words == () and {"long_trousers", "coat"} <= spec.items
    assert "masc" in spec.ignored_sensitive and any("bask" in u for u in spec.unmeasurable)


@pytest.mark.parametrize("text", ["personne en fauteuil roulant poussée par un homme",
                                  "quelqun en veste grise"])
def test_more_french_words(text: str) -> None:
    spec = parse(text)
    assert spec.unknown_words == () and spec.classes == {"person"}, text


def test_a_slip_in_the_first_word_of_a_phrase() -> None:
    spec = parse("walking twards the camera")
    assert spec.motion == {"towards"} and spec.read_as == ("twards → towards the camera",)


# --- probes on the same themes, written after reading the parser (not blind) -------------------------------------


@pytest.mark.parametrize("text", ["mardi 17 vers 15h, un bus", "a bus on Tuesday the 17th around 3pm"])
def test_a_day_number_after_its_weekday(text: str) -> None:
    spec = parse(text)
    assert _holds(spec, 17, 15) and not _holds(spec, 10, 15) and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["dans la nuit de jeudi à vendredi, une moto", "a motorbike the night of Thursday to Friday"])
def test_the_night_of_two_weekdays(text: str) -> None:
    spec = parse(text)
    assert _holds(spec, 19, 23) and _holds(spec, 20, 3) and not _holds(spec, 20, 23) and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "want"), [
    ("a caramel leather jacket", {("brown", "upper", "light")}),
    ("veste cuir caramel", {("brown", "upper", "light")}),
])
def test_a_substance_colour_past_a_material_is_the_garment_s(text: str, want: set) -> None:
    assert colours(parse(text)) == want, text


@pytest.mark.parametrize(("text", "want", "hat"), [
    ("car with a red bonnet", {("red", "any", None)}, False),
    ("van with a white bonnet", {("white", "any", None)}, False),
    ("homme au bonnet noir", {("black", "head", None)}, True),
    ("a man in a red bonnet", {("red", "head", None)}, True),
])
def test_a_bonnet_next_to_a_vehicle_is_its_bonnet(text: str, want: set, hat: bool) -> None:
    spec = parse(text)
    assert colours(spec) == want and ("hat" in spec.items) == hat, text


def test_more_report_shorthand() -> None:
    spec = parse("pant. noir, sweat capuche gris, casq. noir")
    assert colours(spec) == {("black", "lower", None), ("grey", "upper", None), ("black", "head", None)}
    assert spec.unknown_words == () and "hat" in spec.items


@pytest.mark.parametrize("text", ["stood around for a bit", "attendait devant la porte"])
def test_more_waiting_words(text: str) -> None:
    spec = parse(text)
    assert spec.stationary and spec.unknown_words == (), text


@pytest.mark.parametrize(("text", "plate"), [
    ("reg ending 5TX", "reg ending 5TX"),
    ("plate begins with AB", "plate begins with AB"),
    ("Peugeot 308 grise, plaque commençant par AB", "plaque commençant par AB"),
])
def test_where_on_the_plate_goes_with_the_plate(text: str, plate: str) -> None:
    spec = parse(text)
    assert plate in spec.unmeasurable and spec.unknown_words == (), text


def test_good_minutes_are_minutes() -> None:
    spec = parse("a traîné là pendant 20 bonnes minutes")
    assert spec.min_dwell_s == 1200 and spec.items == frozenset() and spec.unknown_words == ()


def test_bonnes_is_not_a_bonnet() -> None:
    assert "hat" not in parse("de bonnes chaussures").items


@pytest.mark.parametrize(("text", "motion"), [("subject now out of sight", {"leaving"}),
                                              ("un mec qui fait le guet", set())])
def test_radio_and_lookout_words(text: str, motion: set) -> None:
    spec = parse(text)
    assert spec.motion == motion and spec.unknown_words == (), text


def test_parked_typed_without_its_accent() -> None:
    spec = parse("une voiture noire garee devant")
    assert spec.stationary and spec.unknown_words == ()
    assert not parse("devant la gare").stationary


@pytest.mark.parametrize("text", ["parked all day", "the other day, a red car"])
def test_day_alone_sets_no_time(text: str) -> None:
    spec = parse(text)
    assert spec.time_of_day_from is None and spec.time_from is None and spec.unknown_words == (), text


@pytest.mark.parametrize("text", ["during the day, a white van", "en journée, une camionnette blanche"])
def test_during_the_day_is_the_daytime(text: str) -> None:
    spec = parse(text)
    assert (spec.time_of_day_from, spec.time_of_day_to) == (dt.time(7), dt.time(21)) and spec.unknown_words == ()


def test_a_bonnet_worn_by_a_person_near_a_car_is_a_hat() -> None:
    spec = parse("a man in a red bonnet getting into a car")
    assert colours(spec) == {("red", "head", None)} and "hat" in spec.items
