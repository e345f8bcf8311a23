"""Query wording found by the fourth blind phrasing batch (bench/phrasings4.toml): the general rules behind it.

Each test names the rule, not the phrase: colour lists with commas, what a person rides that no detector sees,
uniforms, number plates, ages said with numbers, a vehicle that is where someone goes, a bag on the back,
-ing words typed as spoken, and the words the batch showed missing.
"""

from __future__ import annotations

import datetime as dt

import pytest

from test_query_wording import NOW, PARIS, colours, parse  # the same clock ("now" a Saturday) and helpers
from vsearch.query.spelling import correct
from vsearch.query.text import parse_text


# --- colours ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["black, white and turquoise jacket", "veste noire, blanche et turquoise",
                                  "black, white, turquoise jacket"])
def test_a_colour_list_with_commas_shares_its_garment(text: str) -> None:
    """Before, the colours before the last comma were left on the whole object ("any")."""
    spec = parse(text)
    assert colours(spec) == {("black", "upper", None), ("white", "upper", None), ("blue", "upper", "light")}


def test_n_is_and_between_colours() -> None:
    spec = parse("black n white hoodie")
    assert colours(spec) == {("black", "upper", None), ("white", "upper", None)} and spec.unknown_words == ()


def test_a_worn_colour_is_not_pulled_into_a_list_without_a_conjunction() -> None:
    """"in red, blue cap": the comma alone does not make the worn red the cap's."""
    assert ("red", "head", None) not in colours(parse("someone in red, blue cap"))


# --- objects ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "reported"), [
    ("someone on an e-scooter going right", "e-scooter"),
    ("quelqu'un en trottinette qui part vers la droite", "trottinette"),
    ("a kid on a skateboard", "skateboard"),
    ("e-scooter going left", "e-scooter"),
])
def test_what_a_person_rides_unseen_by_the_detector_finds_the_person(text: str, reported: str) -> None:
    """Before, "e-scooter" and "trottinette" were bicycles (a hard class filter no e-scooter rider passes)."""
    spec = parse(text)
    assert spec.classes == {"person"} and reported in spec.unmeasurable and spec.unknown_words == ()


def test_the_colour_of_a_ride_is_not_the_persons() -> None:
    spec = parse("personne sur une trottinette rouge")
    assert spec.colours == () and spec.classes == {"person"}


@pytest.mark.parametrize("text", ["someone in a dark blue uniform", "quelqu'un en uniforme bleu marine"])
def test_a_uniform_is_reported_and_its_colour_is_the_persons(text: str) -> None:
    spec = parse(text)
    assert colours(spec) == {("blue", "any", "dark")} and spec.classes == {"person"}
    assert any("uniform" in w for w in spec.unmeasurable)


@pytest.mark.parametrize(("text", "cls"), [
    ("man running towards the tram", {"person"}),
    ("un homme qui court vers le bus", {"person"}),
    ("cyclist riding into a van", {"bicycle"}),
])
def test_a_vehicle_someone_goes_towards_is_a_place_not_the_object(text: str, cls: set[str]) -> None:
    spec = parse(text)
    assert spec.classes == cls and spec.vehicle_types == set() and spec.motion == set()


@pytest.mark.parametrize(("text", "vtype"), [("tram heading right", "bus"), ("bus towards the camera", "bus"),
                                              ("un bus qui vient vers la caméra", "bus")])
def test_a_vehicle_named_alone_stays_the_object(text: str, vtype: str) -> None:
    assert parse(text).vehicle_types == {vtype}


@pytest.mark.parametrize("text", ["un livreur avec un sac de livraison sur le dos", "personne avec un sac sur le dos",
                                  "someone with a bag on the back"])
def test_a_bag_on_the_back_is_a_backpack(text: str) -> None:
    assert parse(text).items == {"backpack"}


def test_a_bag_in_the_hand_stays_a_bag() -> None:
    assert parse("personne avec un sac à la main").items == {"bag"}


# --- plates ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "plate"), [
    ("white van, plate AB-123-CD", "plate AB-123-CD"),
    ("fourgon blanc immatriculé AB-123-CD", "immatriculé AB-123-CD"),
    ("voiture grise immatriculée 1234 AB 56", "immatriculée 1234 AB 56"),
    ("silver car reg GX21 ABC", "reg GX21 ABC"),
    ("white van AB-123-CD", "AB-123-CD"),
])
def test_a_number_plate_is_understood_not_measured(text: str, plate: str) -> None:
    """Before, "immatriculé" and the plate's characters were not understood (and sent to CLIP as free text)."""
    spec = parse(text)
    assert plate in spec.unmeasurable and spec.unknown_words == ()
    assert spec.time_of_day_from is None and spec.min_dwell_s is None  # no digit became a time


# --- refused words ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "refused"), [
    ("woman in her 40s with a red umbrella", "40s"),
    ("someone in their early 30s", "30s"),
    ("man aged 40", "40"),
    ("homme de 40 ans", "40"),
    ("a 40-year-old in a red coat", "40-year-old"),
    ("une femme d'une quarantaine d'années", "quarantaine"),
    ("heavy-set man in a grey tracksuit", "heavy-set"),
    ("stocky bloke", "stocky"),
    ("un homme trapu", "trapu"),
    ("individu de forte corpulence", "forte"),
])
def test_ages_in_numbers_and_body_build_are_refused(text: str, refused: str) -> None:
    """Before, "in her 40s" asked for 40 seconds in view, "40 ans" left "40" unknown and "heavy-set",
    "quarantaine", "trapu" were not understood."""
    spec = parse(text)
    assert refused in spec.ignored_sensitive and spec.unknown_words == () and spec.min_dwell_s is None


def test_about_twenty_before_a_noun_is_a_count_not_an_age() -> None:
    spec = parse("une vingtaine de personnes")
    assert spec.ignored_sensitive == () and "vingtaine" in spec.unmeasurable and spec.classes == {"person"}


def test_a_duration_in_seconds_is_still_one() -> None:
    assert parse("person for 40s").min_dwell_s == 40.0


# --- spelling and grammar words --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [("goin", "going"), ("comin", "coming"), ("walkin'", "walking"),
                                              ("loiterin", "loitering")])
def test_an_ing_word_typed_as_spoken_is_read_as_the_word(typed: str, meant: str) -> None:
    assert correct(typed)[0] == meant  # type: ignore[index]


def test_a_dropped_g_sets_the_term_it_means() -> None:
    spec = parse("red hatchbak goin left, van loiterin")
    assert spec.direction == "left" and spec.stationary and spec.unknown_words == ()


@pytest.mark.parametrize("text", [
    "a van that stops, then sets off again", "une camionnette qui s'arrête puis repart",
    "car going really fast to the left", "Vehicle: white. Direction: right!!", "Véhicule : blanc. Sens : droite",
    "mec ac sweat moutarde et sac a dos", "voitur rouge ki part a gauche", "man with a wheelie suitcase",
])
def test_every_word_is_understood(text: str) -> None:
    assert parse(text).unknown_words == ()


@pytest.mark.parametrize("text", ["une femme qui pousse une poussette en direction de la caméra",
                                  "cyclist in the direction of the camera"])
def test_in_the_direction_of_the_camera_is_towards(text: str) -> None:
    spec = parse(text)
    assert spec.motion == {"towards"} and spec.unknown_words == ()


# --- found while probing the same themes after the batch (street scenes, times) ---------------------------------


@pytest.mark.parametrize(("text", "colour"), [("black cab stopped at the red light", ("black", "any", None)),
                                              ("taxi noir à l'arrêt au feu rouge", ("black", "any", None)),
                                              ("a car jumping the red light", None)])
def test_a_traffic_light_is_a_place_whose_colour_is_not_the_objects(text: str, colour: tuple | None) -> None:
    """Before, "a car jumping the red light" asked for a light red car, and "at the red light" refused "red"
    as a skin colour."""
    spec = parse(text)
    assert colours(spec) == ({colour} if colour else set()) and spec.ignored_sensitive == ()
    assert spec.unknown_words == () and spec.classes == {"car"}


@pytest.mark.parametrize("text", ["man in a grey suit", "homme en costume gris", "femme en tailleur gris"])
def test_a_suit_is_a_top_and_trousers(text: str) -> None:
    assert colours(parse(text)) == {("grey", "upper", None), ("grey", "lower", None)}


@pytest.mark.parametrize(("text", "refused"), [("mother with a buggy", "mother"), ("un père avec une poussette", "père"),
                                               ("dad pushing a pram", "dad")])
def test_family_words_say_a_person_and_are_refused(text: str, refused: str) -> None:
    spec = parse(text)
    assert spec.classes == {"person"} and refused in spec.ignored_sensitive and spec.items == {"pushchair"}


@pytest.mark.parametrize("text", ["car double-parked", "camionnette en double file"])
def test_double_parked_is_stationary(text: str) -> None:
    spec = parse(text)
    assert spec.stationary and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["delivery rider with a cube bag", "livreur avec un sac isotherme"])
def test_a_delivery_bag_is_worn_on_the_back(text: str) -> None:
    assert parse(text).items == {"backpack"}


@pytest.mark.parametrize(("text", "day"), [("last saturday", dt.date(2026, 11, 14)),
                                           ("samedi dernier", dt.date(2026, 11, 14)),
                                           ("saturday", dt.date(2026, 11, 21)),
                                           ("vendredi passé", dt.date(2026, 11, 20))])
def test_last_weekday_is_before_today(text: str, day: dt.date) -> None:
    """"last Saturday" said on a Saturday is a week ago; "Saturday" alone is today."""
    spec = parse(text)
    assert spec.time_from == dt.datetime.combine(day, dt.time(0), PARIS) and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "start"), [
    ("this morning around 7", dt.datetime(2026, 11, 21, 6, 45, tzinfo=PARIS)),
    ("hier soir vers 9", dt.datetime(2026, 11, 20, 20, 45, tzinfo=PARIS)),
    ("around 9 last night", dt.datetime(2026, 11, 20, 20, 45, tzinfo=PARIS)),
    ("last night at about 2", dt.datetime(2026, 11, 21, 1, 45, tzinfo=PARIS)),
])
def test_a_bare_hour_takes_am_pm_from_the_day_part_before_or_after_it(text: str, start: dt.datetime) -> None:
    spec = parse(text)
    assert spec.time_from == start and spec.unknown_words == ()


def test_a_bare_hour_without_a_day_part_stays_unread() -> None:
    assert parse("red car around 4").time_of_day_from is None


def test_french_cagoule_is_a_balaclava_english_cagoule_a_jacket() -> None:
    """Before, "un individu cagoulé" (in a balaclava) asked for a coat, read as English "cagoule"."""
    assert parse("un individu cagoulé").items == {"hat"}
    assert parse("man in a green cagoule").items == {"coat"}


@pytest.mark.parametrize(("text", "reported"), [("bus numéro 38", "numéro 38"), ("the number 38 bus", "number 38"),
                                                ("camionnette blanche sans inscription", "sans inscription")])
def test_a_route_number_and_markings_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == () and spec.vehicle_types


def test_bonhomme_is_a_person_word() -> None:
    spec = parse("bonhomme en bleu de travail")
    assert spec.classes == {"person"} and spec.ignored_sensitive == ("bonhomme",) and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "colour"), [("guy in a black North Face jacket", ("black", "upper", None)),
                                              ("suspect wearing a navy blue Nike hoodie", ("blue", "upper", "dark")),
                                              ("person in a red Adidas tracksuit", ("red", "upper", None))])
def test_a_clothing_brand_is_understood_and_the_colour_reaches_the_garment(text: str, colour: tuple) -> None:
    """Before, "North Face" set the compass direction north (a hard filter) and refused "Face"; "Nike" and
    "Adidas" were not understood."""
    spec = parse(text)
    assert colour in colours(spec) and spec.direction is None and spec.unknown_words == ()
    assert spec.ignored_sensitive in ((), ("guy",))


@pytest.mark.parametrize(("text", "refused"), [("IC1 male, approx 6ft, black puffer", "6ft"),
                                               ("man about 6 foot tall", "foot"), ("homme d'environ 1m80", "1m80"),
                                               ("5 foot 10 man in a red coat", "10")])
def test_a_height_in_numbers_is_refused(text: str, refused: str) -> None:
    spec = parse(text)
    assert refused in spec.ignored_sensitive and spec.unknown_words == () and spec.min_dwell_s is None


@pytest.mark.parametrize(("text", "reported"), [("jean troué", "troué"), ("ripped jeans", "ripped"),
                                                ("sweat gris chiné", "chiné"), ("personne avec des écouteurs", "écouteurs"),
                                                ("deux personnes qui discutent", "discutent"),
                                                ("a couple holding hands", "holding hands")])
def test_textures_headphones_and_talking_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == ()


def test_young_people_are_people() -> None:
    spec = parse("bande de jeunes")
    assert spec.classes == {"person"} and spec.ignored_sensitive == ("jeunes",)


@pytest.mark.parametrize("text", ["un vélo en libre-service", "velib", "Boris bike"])
def test_shared_bikes_are_bicycles(text: str) -> None:
    spec = parse(text)
    assert spec.classes == {"bicycle"} and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "cls", "colour"), [
    ("someone getting into a black car", {"person"}, None),
    ("individu qui descend d'un fourgon", {"person"}, None),
    ("quelqu'un qui monte dans une voiture", {"person"}, None),
    ("a red car following a white van", {"car"}, ("red", "any", None)),
    ("une voiture rouge qui suit une camionnette blanche", {"car"}, ("red", "any", None)),
    ("moto qui slalome entre les voitures", {"motorbike"}, None),
])
def test_a_vehicle_someone_boards_follows_or_passes_is_not_the_object(text: str, cls: set, colour: tuple | None) -> None:
    """Before, both kinds were searched for and the second vehicle's colour was put on the first."""
    spec = parse(text)
    assert spec.classes == cls and colours(spec) == ({colour} if colour else set()) and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["a bus pulling up at the stop", "person pacing up and down",
                                  "individu qui fait les cent pas", "lorry stuck in traffic"])
def test_pulling_up_and_pacing_are_stopping_not_moving_up(text: str) -> None:
    """Before, "up" set the on-screen direction up, a hard filter."""
    spec = parse(text)
    assert spec.stationary and spec.direction is None and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "reported"), [("une voiture qui roule au pas", "roule au pas"),
                                                ("slow moving car", "slow moving"),
                                                ("a motorbike weaving through traffic", "weaving through traffic"),
                                                ("car with its boot open", "boot open"),
                                                ("someone loitering by the cash machine", "cash machine")])
def test_speed_vehicle_features_and_cash_machines_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["runner in black leggings", "une coureuse en legging noir", "a postman",
                                  "un pompier", "construction worker", "a paramedic"])
def test_people_named_by_what_they_do_are_persons(text: str) -> None:
    spec = parse(text)
    assert spec.classes == {"person"} and spec.unknown_words == () and spec.ignored_sensitive == ()


@pytest.mark.parametrize(("text", "refused"), [("someone with a ponytail", "ponytail"),
                                               ("man with dreadlocks", "dreadlocks"),
                                               ("une femme avec une queue de cheval", "queue"),
                                               ("élève en uniforme", "élève"), ("a priest", "priest"),
                                               ("un moine", "moine"), ("kid in a school uniform", "kid")])
def test_hair_styles_pupils_and_religious_roles_are_refused(text: str, refused: str) -> None:
    spec = parse(text)
    assert refused in spec.ignored_sensitive and spec.classes == {"person"} and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["jacket: red, trousers: black", "top red, bottoms black", "red top; black bottoms"])
def test_a_colour_after_its_garment_in_a_report_list_stays_with_it(text: str) -> None:
    """Before, "jacket: red, trousers: black" put the red on the trousers (the next noun in English order, across
    the comma)."""
    assert {(c.name, c.part) for c in parse(text).colours} == {("red", "upper"), ("black", "lower")}


def test_an_intensifier_between_a_colour_and_its_shade() -> None:
    """Before, "bleu très foncé" was blue and a separate black."""
    assert colours(parse("voiture bleu très foncé")) == {("blue", "any", "dark")}


@pytest.mark.parametrize(("text", "colour"), [("teal van", "blue"), ("fourgon bleu canard", "blue"),
                                              ("magenta top", "pink"), ("brownish car", "brown"),
                                              ("bronze car", "brown"), ("copper coloured car", "orange")])
def test_more_colour_names(text: str, colour: str) -> None:
    spec = parse(text)
    assert {c.name for c in spec.colours} == {colour} and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["une 308 grise", "Peugeot 208 bleue", "a black Audi A4", "une C3 blanche"])
def test_car_models_with_digits_are_cars(text: str) -> None:
    """Before, "une 308 grise" left "308" unknown, no class, and the grey on nothing."""
    spec = parse(text)
    assert "car" in spec.classes and len(spec.colours) == 1 and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["qqn en noir", "qq1 avec un sac", "pers en sweat noir"])
def test_text_message_person_words(text: str) -> None:
    spec = parse(text)
    assert spec.classes == {"person"} and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "reported"), [("personne assise sur un banc", "banc"),
                                                ("individu escaladant une grille", "grille"),
                                                ("homme qui fume une cigarette", "cigarette"),
                                                ("un individu qui tag un mur", "tag"), ("rixe", "rixe"),
                                                ("vélo sans lumière", "sans lumière")])
def test_street_furniture_cigarettes_and_fights_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["the vehicle, a silver Ford Focus, left at speed", "the van left the car park"])
def test_left_after_a_noun_before_a_place_or_speed_is_leaving(text: str) -> None:
    """Before, "left" there was the on-screen direction left, a hard filter."""
    spec = parse(text)
    assert spec.motion == {"leaving"} and spec.direction is None


@pytest.mark.parametrize("text", ["van turning left at the junction", "red car going left", "car left"])
def test_left_as_a_direction_stays_one(text: str) -> None:
    assert parse(text).direction == "left"


@pytest.mark.parametrize("text", ["the suspect fled on a black moped", "individu qui prend la fuite",
                                  "un scooter qui s'enfuit"])
def test_fleeing_is_leaving(text: str) -> None:
    spec = parse(text)
    assert spec.motion == {"leaving"} and spec.unknown_words == ()


def test_a_light_on_a_roof_is_not_a_light_colour() -> None:
    """Before, "a taxi, black, with a light on the roof" also asked for white."""
    assert colours(parse("possibly a taxi, black, with a light on the roof")) == {("black", "any", None)}
    assert colours(parse("a light van")) == {("white", "any", None)}


@pytest.mark.parametrize(("text", "window"), [("around lunchtime", (dt.time(11, 30), dt.time(14, 30))),
                                              ("à l'heure du déjeuner", (dt.time(11, 30), dt.time(14, 30))),
                                              ("en fin de matinée", (dt.time(9), dt.time(12))),
                                              ("en début d'après-midi", (dt.time(12), dt.time(15)))])
def test_lunchtime_and_parts_of_day_parts(text: str, window: tuple) -> None:
    spec = parse(text)
    assert (spec.time_of_day_from, spec.time_of_day_to) == window and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["can you find the red car", "show me all people with backpacks",
                                  "I saw a man in a dark hoodie", "je cherche une voiture rouge",
                                  "montrez-moi les camionnettes blanches", "the car was either dark blue or black"])
def test_the_wording_of_a_request_is_grammar(text: str) -> None:
    assert parse(text).unknown_words == ()


@pytest.mark.parametrize(("text", "reported"), [("at dusk", "at dusk"), ("à la tombée de la nuit", "tombée"),
                                                ("a bloke with a limp", "limp")])
def test_light_of_the_scene_and_a_limp_are_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert any(reported in w for w in spec.unmeasurable) and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "start"), [
    ("le 20 novembre vers 14h", dt.datetime(2026, 11, 20, 13, 45, tzinfo=PARIS)),
    ("20 nov", dt.datetime(2026, 11, 20, tzinfo=PARIS)),
    ("20th of November", dt.datetime(2026, 11, 20, tzinfo=PARIS)),
    ("November 20th at 2pm", dt.datetime(2026, 11, 20, 13, 45, tzinfo=PARIS)),
    ("le 1er mai 2026", dt.datetime(2026, 5, 1, tzinfo=PARIS)),
    ("le 25 décembre", dt.datetime(2025, 12, 25, tzinfo=PARIS)),  # the latest 25 December not after today
])
def test_a_day_with_its_month_name_is_a_date(text: str, start: dt.datetime) -> None:
    spec = parse(text)
    assert spec.time_from == start and spec.unknown_words == ()


def test_a_month_name_needs_a_day_number() -> None:
    """"may" alone is a verb, "31 février" no day."""
    assert parse("may have been a van").time_from is None and parse("may have been a van").unknown_words == ()
    assert parse("31 février").time_from is None


@pytest.mark.parametrize("text", ["earlier today", "tout à l'heure"])
def test_earlier_today_is_today(text: str) -> None:
    spec = parse(text)
    assert spec.time_from == dt.datetime(2026, 11, 21, tzinfo=PARIS) and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "reported"), [("neither a hat nor a bag", "neither a hat nor a bag"),
                                                ("person not carrying anything", "not carrying anything"),
                                                ("someone empty-handed", "empty-handed"),
                                                ("personne les mains vides", "les mains vides")])
def test_saying_nothing_is_carried_is_understood_and_asks_for_nothing(text: str, reported: str) -> None:
    """Before, "neither a hat nor a bag" asked for a hat ("neither" was not a negation)."""
    spec = parse(text)
    assert spec.items == set() and reported in spec.unmeasurable and spec.unknown_words == ()


def test_a_convertible_with_the_roof_down_is_not_moving_down() -> None:
    """Before, "down" set the on-screen direction down, a hard filter."""
    spec = parse("a convertible with the roof down")
    assert spec.direction is None and any("roof down" in w for w in spec.unmeasurable)


@pytest.mark.parametrize(("text", "cls"), [("a Deliveroo rider", {"bicycle", "motorbike"}),
                                           ("the driver", {"car", "truck", "bus", "motorbike"}),
                                           ("a driver in a red jacket", {"person"})])
def test_a_rider_alone_is_a_two_wheeler_and_a_driver_a_vehicle(text: str, cls: set) -> None:
    """Before, "a Deliveroo rider" named no class at all (every object)."""
    assert parse(text).classes == cls


@pytest.mark.parametrize(("text", "vtype"), [("skip lorry", "truck"), ("curtain-sider lorry", "truck"),
                                             ("a car transporter", "truck"), ("a single-decker bus", "bus"),
                                             ("a National Express coach", "bus"), ("a sports car", "car"),
                                             ("fourgon cellulaire", "van")])
def test_more_vehicle_kinds(text: str, vtype: str) -> None:
    spec = parse(text)
    assert spec.vehicle_types == {vtype} and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "cls"), [("cyclist overtaking a bus", {"bicycle"}),
                                           ("a car overtaking a lorry", {"car"}),
                                           ("une moto qui dépasse un camion", {"motorbike"})])
def test_a_vehicle_being_overtaken_is_not_the_object(text: str, cls: set) -> None:
    spec = parse(text)
    assert spec.classes == cls and any(w in spec.unmeasurable for w in ("overtaking", "dépasse"))


@pytest.mark.parametrize("text", ["a bike going the wrong way up a one-way street", "person walking up the street",
                                  "bus heading down the road"])
def test_up_or_down_a_street_is_along_it_not_a_screen_direction(text: str) -> None:
    """Before, "up"/"down" there set the on-screen direction, a hard filter."""
    spec = parse(text)
    assert spec.direction is None and spec.unknown_words == ()


def test_going_up_alone_is_still_the_direction() -> None:
    assert parse("car going up").direction == "up"


@pytest.mark.parametrize(("text", "motion"), [("véhicule qui entre sur le parking", {"entering"}),
                                              # as "est sorti de l'immeuble", "went out", "leaving the shop"
                                              ("someone coming out of the shop", {"leaving"}),
                                              ("a man who came out of the building", {"leaving"}),
                                              ("a man chasing another man", set())])
def test_entering_a_car_park_and_other_wording(text: str, motion: set) -> None:
    spec = parse(text)
    assert spec.motion == motion and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "refused"), [("a person on a mobility scooter", "mobility"),
                                               ("a blind person with a white cane", "blind"),
                                               ("personne avec une canne blanche", "canne"),
                                               ("someone with a walking frame", "frame")])
def test_health_aids_are_refused_like_a_wheelchair(text: str, refused: str) -> None:
    """Before, "a mobility scooter" was a motorbike and "a white cane" asked for nothing but reported white."""
    spec = parse(text)
    assert refused in spec.ignored_sensitive and spec.classes == {"person"} and spec.colours == ()


@pytest.mark.parametrize(("text", "reported"), [("a person with a guitar case", "guitar case"),
                                                ("someone with a Tesco bag", "Tesco"), ("un skateur", "skateur")])
def test_more_objects_brands_and_rides(text: str, reported: str) -> None:
    spec = parse(text)
    assert reported in spec.unmeasurable and spec.unknown_words == () and spec.classes == {"person"}


@pytest.mark.parametrize("text", ["veste bleue marine", "veste kakie"])
def test_a_fine_colour_name_with_a_feminine_ending_is_still_one_colour(text: str) -> None:
    """Before, "veste bleue marine" asked for blue and for navy (two terms); "kakie" was not understood."""
    spec = parse(text)
    assert len(spec.colours) == 1 and spec.colours[0].shade == "dark" and spec.unknown_words == ()


@pytest.mark.parametrize(("text", "reported"), [("in the top left corner", "top left corner"),
                                                ("en haut à gauche de l'image", "en haut à gauche"),
                                                ("on the left side of the frame", "left side of the frame")])
def test_a_position_in_the_picture_is_not_a_direction_nor_a_garment(text: str, reported: str) -> None:
    """Before, "top"/"haut" asked for a person (a garment word) and "left" filtered on the direction left."""
    spec = parse(text)
    assert spec.direction is None and spec.classes == set() and reported in spec.unmeasurable


@pytest.mark.parametrize("text", ["on camera 2", "sur la caméra 3", "cam 4"])
def test_an_unknown_camera_number_is_understood_not_applied(text: str) -> None:
    spec = parse(text)
    assert spec.cameras == () and spec.unknown_words == () and len(spec.unmeasurable) == 1


def test_a_known_camera_number_is_still_the_camera() -> None:
    assert parse_text("red car on camera 2", now=NOW, cameras=["2"]).cameras == ("2",)


def test_an_english_possessive_is_the_noun() -> None:
    spec = parse("person holding a child's hand")
    assert spec.ignored_sensitive == ("child's",) and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["a man standing right next to the door", "car parked right in front of the shop",
                                  "right after 3pm", "right outside the entrance"])
def test_right_meaning_just_is_not_the_direction_right(text: str) -> None:
    """Before, "right next to the door" filtered on the on-screen direction right."""
    assert parse(text).direction is None


@pytest.mark.parametrize("text", ["van going right at the junction", "car turning right", "bus to the right"])
def test_right_after_a_verb_of_moving_is_still_the_direction(text: str) -> None:
    assert parse(text).direction == "right"


@pytest.mark.parametrize(("text", "reported"), [("a bag left on the pavement", "left"),
                                                ("un sac abandonné", "abandonné"), ("unattended bag", "unattended")])
def test_a_bag_left_behind_is_understood_not_measured(text: str, reported: str) -> None:
    spec = parse(text)
    assert spec.direction is None and reported in spec.unmeasurable and spec.unknown_words == ()


@pytest.mark.parametrize("text", ["person heading up the stairs", "bus going down the hill", "person bending down",
                                  "looking down at a phone"])
def test_up_and_down_stairs_hills_and_bending_are_not_screen_directions(text: str) -> None:
    spec = parse(text)
    assert spec.direction is None and spec.unknown_words == ()
