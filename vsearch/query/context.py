"""Context rules of the query parser: words whose meaning depends on the words around them.

Each rule takes the matched units of `vsearch.query.text` (left to right) and re-reads some of them in place:
a negation and what it negates become one understood-but-not-measurable unit; "cab" is a taxi or the cab of the
lorry named with it; "from the right" moves left; French "jogging" is a tracksuit next to a colour; "short",
size words and French "type" depend on the noun they go with; setting-off and arriving verbs are motion only
when nothing more precise follows; people named with a two-wheeler are its riders; a plate word takes the
characters after it; ages said with numbers are refused; a vehicle someone goes towards is a place; a bag on the
back is a backpack.
"""

from __future__ import annotations

import re

from vsearch.query.lexicon import _CLOTHING_PREPS, _CONJ, _CONTENT_KINDS, Token, _Unit

TWO_WHEELERS = {"bicycle", "motorbike"}


_SCOPE_NOUNS = {"class", "garment", "item", "vehicle_part", "person_sensitive", "unmeasurable"}
_NEGATION_OR = {"or", "ou", "ni", "nor", "/"}


def apply_negation(units: list[_Unit], breaks: set[int]) -> None:
    """A negation and the terms it negates become one unit, understood but not measurable (no stored evidence
    says that a thing is absent, and a negated term must never be applied as if it were asked for).

    The scope is the first content term after the negation and at most 3 grammar words, not across a comma
    (`breaks`: indices of the tokens followed by one); a colour or a modifier carries it to its noun ("without a
    red hat"); "or"/"ni" adds the next noun ("sans sac ni valise"). A trailing "pas" joins the negation before it
    ("ne s'arrête pas"). A negation with nothing to negate stays not understood."""
    k = 0
    while k < len(units):
        if units[k].kind != "negation":
            k += 1
            continue
        end = _scope_end(units, k, breaks)
        if end is None:
            back = k - 1
            while back >= 0 and units[back].kind == "stop" and not _broken(units[back], breaks):
                back -= 1
            if back >= 0 and units[back].value == "negation" and units[back].kind == "unmeasurable" \
                    and not _broken(units[back], breaks):
                end, k = k, back
            else:
                k += 1
                continue
        first, last = units[k], units[end]
        units[k : end + 1] = [_Unit("unmeasurable", "negation", first.start, last.end, "both", "unmeasurable")]
        k += 1


def _scope_end(units: list[_Unit], k: int, breaks: set[int]) -> int | None:
    """Index of the last unit negated by the negation at `k`, or None when nothing is."""
    j = _next_term(units, k, breaks, also_skip="negation")
    if j is None:
        return None
    end = j
    while (nxt := _next_term(units, end, breaks, also_skip="negation")) is not None:
        between = units[end + 1 : nxt]
        describes = units[end].kind in ("colour", "shade", "unmeasurable") and all(  # "a red (striped) hat"
            u.kind == "negation" or (u.kind == "stop" and u.value in _CONJ) for u in between)  # "not red or blue"
        listed = units[end].kind in _SCOPE_NOUNS and any(  # "sans sac ni valise", "no hat or bag"
            u.kind == "negation" or (u.kind == "stop" and u.value in _NEGATION_OR) for u in between)
        if not (describes or listed) or units[nxt].kind not in _SCOPE_NOUNS | {"colour", "shade"}:
            break
        end = nxt
    return end


def _next_term(units: list[_Unit], k: int, breaks: set[int], also_skip: str = "") -> int | None:
    """The next content unit after `k`, past at most 3 grammar (or `also_skip`) words and no comma."""
    j = k + 1
    while j < len(units) and j - k <= 4 and not _broken(units[j - 1], breaks):
        if units[j].kind in _CONTENT_KINDS:
            return j
        if units[j].kind not in ("stop", also_skip):
            return None
        j += 1
    return None


def _broken(u: _Unit, breaks: set[int]) -> bool:
    return u.end - 1 in breaks


def _is_person(u: _Unit) -> bool:
    person_class = u.kind == "class" and u.value[0] == frozenset({"person"})  # type: ignore[index]
    return u.kind == "person_sensitive" or person_class


def _is_thing(u: _Unit) -> bool:
    """A noun that is not a person: a vehicle or bike class, a garment, a carried item."""
    return u.kind in ("garment", "item", "make") or (u.kind == "class" and not _is_person(u))


_CAMERA_WORDS = {"camera", "cameras", "cam", "cctv"}


def resolve_camera_numbers(units: list[_Unit]) -> None:
    """A number after "camera"/"caméra"/"cam" that is not a known camera name ("on camera 2") names a camera
    the store does not know: understood, not applied (give the camera's name, or --camera)."""
    for k, u in enumerate(units[1:], 1):
        prev = units[k - 1]
        if u.kind == "unknown" and str(u.value).isdigit() and prev.kind == "stop" and prev.value in _CAMERA_WORDS:
            u.kind, u.value, u.bucket = "unmeasurable", "camera", "unmeasurable"


def resolve_counts(units: list[_Unit]) -> None:
    """A number written in digits before a person or vehicle word is how many ("2 males", "3 vans"): understood,
    not measured (one hit is one object), like "two". Elsewhere a bare number stays not understood ("bus 38")."""
    for k, u in enumerate(units[:-1]):
        nxt = units[k + 1]
        if u.kind == "unknown" and str(u.value).isdigit() and nxt.kind in ("class", "person_sensitive", "rider"):
            u.kind, u.value, u.bucket = "unmeasurable", "count", "unmeasurable"


_COUNTABLE = {"un", "une", "le", "ce", "cet", "les", "des", "ces", "quel", "quelques"}  # "un type" = a guy


def resolve_body_words(units: list[_Unit]) -> None:
    """Words whose meaning depends on the noun they go with.

    "short": body height before a person word, other body words between ("a short man", "short chubby guy"),
    otherwise the garment ("en short"). A size word ("petit", "big") describes the body next to a person ("un grand
    type") and a thing otherwise ("petite citadine", "big red lorry": understood, not measured). French "type": a
    guy after an article, a number or a body word ("un type", "deux types", "grand type"), otherwise "of the kind"
    ("de type Transit"); French "genre": a gender next to a sex word ("genre masculin"), otherwise "like"
    ("genre Kangoo")."""
    for k, u in enumerate(units):
        if u.kind == "sensitive" and u.value == "short":
            j = k + 1
            while j < len(units) and units[j].kind == "sensitive":
                j += 1  # "short chubby guy", "short fat man"
            if j == len(units) or not _is_person(units[j]):
                u.kind, u.value, u.lang = "garment", ("lower", None), "both"
        elif u.kind == "sensitive" and u.value == "size":
            j = k + 1
            while j < len(units) and units[j].kind in ("colour", "shade", "unmeasurable", "sensitive") and not (
                    units[j].kind == "unmeasurable" and units[j].value == "object"):
                j += 1  # "petite citadine blanche", "small white hatchback", "big tall guy"
            # a thing, or an object no attribute measures ("un gros carton", "a big box"); in French also after the
            # thing ("un camion lourd", "une valise lourde")
            after_thing = k > 0 and _is_thing(units[k - 1])
            if after_thing or j < len(units) and (
                    _is_thing(units[j]) or units[j].kind == "unmeasurable" and units[j].value == "object"):
                u.kind, u.value, u.bucket = "unmeasurable", "size", "unmeasurable"
        elif u.kind == "sensitive" and u.value == "gender" and not any(
                0 <= j < len(units) and units[j].kind in ("sensitive", "person_sensitive") for j in (k - 1, k + 1)):
            u.kind, u.value, u.bucket = "stop", "genre", "stop"  # "genre Kangoo", "genre police": "like"
        elif u.kind == "stop" and u.value in ("type", "types") and k:
            prev = units[k - 1]
            if (prev.kind == "stop" and prev.value in _COUNTABLE) or prev.kind == "sensitive" or (
                    prev.kind == "unmeasurable" and prev.value == "count"):
                u.kind, u.lang = "person_sensitive", "fr"


_SUSPECT = {"suspect", "suspects", "suspecte", "suspectes", "subject", "subjects"}


def resolve_suspect_things(units: list[_Unit], tokens: list[Token]) -> None:
    """"suspect" next to a vehicle or a thing is an adjective ("the suspect vehicle", "un colis suspect",
    "voiture suspecte"), not a person."""
    for k, u in enumerate(units):
        if not (_is_person(u) and u.kind == "class" and " ".join(t.norm for t in tokens[u.start : u.end]) in _SUSPECT):
            continue
        side = [units[j] for j in (k - 1, k + 1) if 0 <= j < len(units)]
        if any(_is_thing(n) or (n.kind == "unmeasurable" and n.value == "object") for n in side):
            u.kind, u.value, u.bucket = "stop", "suspect", "stop"


def riders(units: list[_Unit]) -> bool:
    """People named with a two-wheeler and no other vehicle ("person on a bike", "moto avec deux personnes") ride
    it: they are inside its box, so only the two-wheeler is wanted. Not when a conjunction lists them as two
    kinds of object ("pedestrians and cyclists")."""
    people = [k for k, u in enumerate(units) if u.kind == "class" and _is_person(u)]
    bikes = [k for k, u in enumerate(units) if u.kind == "class" and not _is_person(u)]
    if not people or not bikes or any(not units[k].value[0] <= TWO_WHEELERS for k in bikes):  # type: ignore[index]
        return False
    return not any(u.kind == "stop" and u.value in _CONJ for u in units[min(people + bikes) : max(people + bikes)])


def resolve_motion_verbs(units: list[_Unit]) -> None:
    """A verb of setting off or arriving ("part", "arrive", "sets off") is "leaving" / "entering" on its own, and
    only says the object moves when a direction or another motion follows it within 3 words ("qui part vers la
    gauche", "qui arrive vers la caméra")."""
    for k, u in enumerate(units):
        if u.kind != "motion_verb":
            continue
        ahead = [v for v in units[k + 1 : k + 4] if v.kind != "stop"][:1]
        if ahead and ahead[0].kind in ("direction", "motion"):
            u.kind, u.value, u.bucket = "stop", _STOP_VERB, "stop"
        else:
            u.kind = "motion"


_STOP_VERB = "<verb>"  # the value of a motion verb read as a grammar word (no term)


_CAB_OWNERS = {"truck", "van", "bus"}  # fine types that have a cab


def resolve_vehicle_parts(units: list[_Unit]) -> None:
    """"Cab" is the cab of the lorry, van or bus named within 4 units of it ("lorry with a blue cab", "HGV, red
    cab"): a vehicle part, whose colour is the vehicle's. Otherwise it is a taxi ("black cab"). "Bonnet" within 4
    units of a vehicle is its bonnet (a part), otherwise a woolly hat."""
    for k, u in enumerate(units):
        if u.kind != "vehicle_part" or u.value not in ("cab", "bonnet"):
            continue
        near = [v for v in units[max(0, k - 4) : k] + units[k + 1 : k + 5] if v.kind == "class"]
        if u.value == "bonnet":  # "car with a red bonnet"; otherwise a woolly hat ("homme au bonnet noir")
            worn = any(v.kind in ("person_sensitive", "garment") or v.kind == "class" and "person" in v.value[0]
                       for v in units[max(0, k - 4) : k])  # type: ignore[index]  # "a man in a red bonnet ... car"
            vehicle = not worn and any("person" not in v.value[0] for v in near)  # type: ignore[index]
            u.kind, u.value = ("vehicle_part", "part") if vehicle else ("garment", ("head", "hat"))
        elif any(v.value[1] in _CAB_OWNERS for v in near):  # type: ignore[index]
            u.value = "part"
        else:
            u.kind, u.value = "class", (frozenset({"car"}), "car")


_OPPOSITE = {"left": "right", "right": "left"}


def resolve_sides(units: list[_Unit]) -> None:
    """Where an object comes from or goes through, as the on-screen direction it moves in: "from the right" moves
    left; "par la droite" moves left when it enters ("entre par la droite") and right otherwise ("sort par la
    droite", "passe par la droite")."""
    entering = any(u.kind in ("motion", "motion_verb") and u.value == "entering" for u in units)
    for u in units:
        if u.kind == "side":
            how, side = str(u.value).split()
            origin = how == "from" or entering
            u.kind, u.value = "direction", _OPPOSITE[side] if origin else side


def resolve_jogging(units: list[_Unit]) -> None:
    """"Jogging" is a tracksuit next to a colour or a shade, or after "en"/"in" ("jogging noir", "en jogging",
    "black jogging"); otherwise a way of moving ("a man jogging past"), understood but not measured."""
    for k, u in enumerate(units):
        if u.kind != "unmeasurable" or u.value != "jogging":
            continue
        around = [units[j] for j in (k - 1, k + 1) if 0 <= j < len(units)]
        worn = any(v.kind in ("colour", "shade") for v in around) or (
            k and units[k - 1].kind == "stop" and units[k - 1].value in _CLOTHING_PREPS)
        if worn:
            u.kind, u.value, u.bucket = "garment", ("suit", None), "mapped"
        else:
            u.value = "gait"


_BACK = {"sur le dos", "sur son dos", "dans le dos", "on the back", "on their back", "on his back", "on her back",
         "on back"}


def resolve_worn_on_back(units: list[_Unit]) -> None:
    """A bag carried on the back is a backpack ("un sac de livraison sur le dos", "bag on the back"): "on the
    back" within 4 words after the bag, past grammar words and what describes the bag."""
    for k, u in enumerate(units):
        if u.kind != "item" or u.value != "bag":
            continue
        for v in units[k + 1 : k + 5]:
            if v.kind == "stop" and v.value in _BACK:
                u.value = "backpack"
                break
            if v.kind not in ("stop", "unmeasurable", "colour", "shade"):
                break


# "towards the tram", "vers le bus", "getting into a car", "following a van": where the object named before goes
# or what it goes with, not a second object to search for
_DESTINATION_PREPS = {"towards", "toward", "to", "into", "onto", "vers", "got on", "gets on", "getting on", "get on",
                      "boarded", "boards", "boarding", "got off", "gets off", "getting off", "en direction de", "en direction du",
                      "en direction des", "in the direction of", "getting into", "getting out of", "gets into",
                      "gets out of", "got into", "got out of", "climbing into", "looking into", "peering into",
                      "following", "follows", "followed", "chasing", "between", "among", "behind", "derriere",
                      "monte dans", "montent dans", "montant dans", "descend de", "descend d'", "descendent de",
                      "descendant de", "regarde dans", "regardant dans", "qui suit", "qui suivent", "suivant",
                      "suivent", "poursuit", "entre les", "entre des", "parmi"}
_ARTICLE_WORDS = {"the", "a", "an", "le", "la", "l'", "les", "un", "une", "des", "du", "son", "sa", "ses", "their"}


_OVERTAKING = {"overtaking", "overtakes", "overtook", "depasse", "depassant", "depassent"}  # understood manoeuvres


def resolve_destinations(units: list[_Unit], tokens: list[Token]) -> None:
    """A vehicle named after "towards"/"vers"/"into"/"following"/"monte dans" (and an article), once another
    object has been named, is a place the object goes to or a thing it goes with ("man running towards the tram",
    "someone getting into a black car", "voiture rouge qui suit une camionnette blanche"): understood, not
    measured, not a class to search for, and its colour is not the object's."""
    for k, u in enumerate(units):
        if u.kind != "class" or _is_person(u):
            continue
        j = k - 1  # past articles and what describes the vehicle ("getting into a small black car")
        while j >= 0 and (units[j].kind in ("colour", "shade") or (
                units[j].kind == "unmeasurable" and tokens[units[j].end - 1].norm not in _OVERTAKING) or (
                units[j].kind == "stop" and units[j].value in _ARTICLE_WORDS)):
            j -= 1
        named_before = any(v.kind in ("class", "person_sensitive", "rider", "make") for v in units[:max(j, 0)])
        prep = j >= 0 and units[j].kind == "stop" and units[j].value in _DESTINATION_PREPS
        overtaking = j >= 0 and units[j].kind == "unmeasurable" and tokens[units[j].end - 1].norm in _OVERTAKING
        if (prep or overtaking) and named_before:  # "cyclist overtaking a bus": the bus is not searched for
            u.kind, u.value, u.bucket = "unmeasurable", "place", "unmeasurable"


_PLATE_RE = re.compile(r"[a-z]{2}-?\d{3}-?[a-z]{2}|[a-z]{2}\d{2}[a-z]{3}")  # French SIV "AB-123-CD", UK "AB12CDE"


def resolve_plates(units: list[_Unit], tokens: list[Token]) -> None:
    """A number plate and its characters are one understood-but-not-measured phrase: a plate word (or a marking
    word: "numéro", "route") takes the characters typed after it, up to 4 tokens with a digit or of 1-3 capitals
    ("plate AB 123 CD", "immatriculée 1234 AB 56", "bus numéro 38"); a token shaped like a French or UK plate
    ("AB-123-CD", "GX21ABC") is one on its own."""
    for k, u in enumerate(units):
        if u.kind == "unmeasurable" and u.value in ("plate", "make"):  # also "bus numéro 38", "route 38"
            end = k
            lead = _plate_lead(units, tokens, k + 1) if u.value == "plate" else 0  # "reg ending 5TX"
            if lead and k + lead + 1 < len(units) and units[k + lead + 1].kind == "unknown" \
                    and _plate_chars(tokens[units[k + lead + 1].start].text):
                end = k + lead
            while end + 1 < len(units) and end + 1 - k <= 4 + lead and units[end + 1].kind == "unknown" \
                    and _plate_chars(tokens[units[end + 1].start].text):
                end += 1
            if end > k:
                units[k : end + 1] = [_Unit("unmeasurable", u.value, u.start, units[end].end, u.lang, "unmeasurable")]
    for u in units:
        if u.kind == "unknown" and _PLATE_RE.fullmatch(tokens[u.start].norm):
            u.kind, u.value, u.bucket = "unmeasurable", "plate", "unmeasurable"


# where on the plate the characters typed next are: "plate ending 5TX", "plaque commençant par AB"
_PLATE_LEADS = [tuple(p.split()) for p in (
    "ending in", "ending with", "ending", "ends in", "ends with", "starting with", "starting", "starts with",
    "beginning with", "begins with", "with", "partial", "commencant par", "commence par", "qui commence par",
    "finissant par", "finit par", "qui finit par", "se terminant par", "qui se termine par", "partielle", "en")]


def _plate_lead(units: list[_Unit], tokens: list[Token], k: int) -> int:
    """How many units at `k` are a phrase of `_PLATE_LEADS` (each word its own unit, or matched as one)."""
    if k >= len(units):
        return 0
    for lead in sorted(_PLATE_LEADS, key=len, reverse=True):
        n, j = 0, k
        words = []
        while j < len(units) and len(words) < len(lead):
            words += [t.norm for t in tokens[units[j].start : units[j].end]]
            j += 1
            n += 1
        if tuple(words) == lead:
            return n
    return 0


def _plate_chars(text: str) -> bool:
    return text.isalnum() and (any(c.isdigit() for c in text) or (text.isupper() and len(text) <= 3)) or \
        bool(_PLATE_RE.fullmatch(text.lower()))


_DAY_PARTS = {"period", "dayperiod"}


def resolve_period_parts(units: list[_Unit], tokens: list[Token]) -> None:
    """"early", "late", "en fin de" narrow the day part named within 3 words after them ("late morning", "in the
    early afternoon", "tôt ce matin", "tard hier soir", "towards the end of the afternoon"); anywhere else they are grammar words
    ("in her early 30s", "late", "fin de la rue"). "day"/"journée" is a day part only so narrowed."""
    for k, u in enumerate(units):
        if u.kind != "period_part":
            continue
        ahead = [v for v in units[k + 1 : k + 4] if v.kind not in ("stop", "day", "weekday")][:1]  # "tard hier soir"
        if not (ahead and ahead[0].kind in _DAY_PARTS):
            u.kind, u.value, u.bucket = "stop", " ".join(t.norm for t in tokens[u.start : u.end]), "stop"
        elif ahead[0].value == "bare day":  # "en fin de journée", "late in the day": the daytime's half
            ahead[0].value = "day"
    for u in units:  # "day" with nothing narrowing it ("all day", "the other day") sets no time
        if u.kind == "period" and u.value == "bare day":
            u.kind, u.value, u.bucket = "stop", " ".join(t.norm for t in tokens[u.start : u.end]), "stop"


_DECADE_RE = re.compile(r"\d0'?s")  # "40s", "40's"
_AGE_LEADS = {"their", "early", "mid", "late"}  # "in their 40s", "in her early 30s"
_AGED_NUMBER_RE = re.compile(r"\d{1,3}(?:[.,]\d{1,2})?(?:-years?-old|-yo|yo|ans)?")
# a height in one token: "6ft", "5ft10in", "5'10", "1m80", "1.80m", "180cm"
_HEIGHT_RE = re.compile(r"\d(?:ft|foot|feet)\d{0,2}(?:in)?|\d'\d{1,2}|[12]m\d{2}|[12][.,]\d{2}m|\d{3}cm")


def resolve_ages(units: list[_Unit], tokens: list[Token]) -> None:
    """Ages and heights said with numbers are refused like age and body words: a decade after a possessive or
    "early/mid/late" ("in her 40s" is not 40 seconds), a number next to an age or height word ("aged 40", "40 ans",
    "40 years old", "6 foot", "180 cm") or shaped like one ("40-year-old", "6ft", "5'10", "1m80"). French "une
    quarantaine" is an age, except before a noun, where it is how many ("une vingtaine de personnes")."""
    for k, u in enumerate(units):
        prev = units[k - 1] if k else None
        text = tokens[u.start].norm
        if u.kind in ("duration", "unknown") and u.end - u.start == 1 and _DECADE_RE.fullmatch(text) and prev and (
                prev.kind in ("sensitive", "person_sensitive") or (prev.kind == "stop" and prev.value in _AGE_LEADS)):
            u.kind, u.value = "sensitive", "age"
        elif u.kind == "unknown" and re.fullmatch(r"\d{1,3}-years?-old", text):
            u.kind, u.value = "sensitive", "age"
        elif u.kind == "unknown" and _HEIGHT_RE.fullmatch(text):
            u.kind, u.value = "sensitive", "height"
        elif u.kind in ("unknown", "unmeasurable") and _AGED_NUMBER_RE.fullmatch(text) and any(
                v.kind == "sensitive" and v.value in ("age", "height") for v in units[max(k - 1, 0) : k + 2]
                if v is not u):
            u.kind, u.value = "sensitive", "age"
        elif u.kind == "sensitive" and u.value == "decade":
            after = [v for v in units[k + 1 : k + 3] if not (v.kind == "stop" and v.value in ("de", "d'"))][:1]
            if after and after[0].kind in ("class", "person_sensitive", "rider", "item", "make"):
                u.kind, u.value, u.bucket = "unmeasurable", "count", "unmeasurable"


# verbs and phrases after which "left" is the side moved to ("turning left", "to the left" is a phrase of its own)
_MOVING_BEFORE_LEFT = {"going", "heading", "turning", "turned", "turns", "turn", "moving", "driving", "walking",
                       "riding", "goes", "went", "moves", "drives", "walks", "rides", "heads", "veers", "veering",
                       "veered", "bearing", "pulls", "pulled", "pulling", "travelling", "traveling", "off", "then"}


def resolve_left_as_leaving(units: list[_Unit], tokens: list[Token]) -> None:
    """English "left" is also the past of "leave": after a noun or a comma rather than a verb of moving, and
    followed by a place or a way of moving ("the Focus left at speed", "the van left the car park"), it is
    leaving, not the on-screen direction (a hard filter)."""
    for k, u in enumerate(units):
        if u.kind != "direction" or u.end - u.start != 1 or tokens[u.start].norm != "left" or not k:
            continue
        prev = units[k - 1]
        if prev.kind == "stop" and prev.value in _MOVING_BEFORE_LEFT:
            continue
        nxt = next((v for v in units[k + 1 :] if not (v.kind == "stop" and v.value in _ARTICLE_WORDS)), None)
        if nxt is not None and nxt.kind == "unmeasurable" and nxt.value in ("gait", "place"):
            u.kind, u.value = "motion", "leaving"


_ALONG = {"up", "down"}


def resolve_along(units: list[_Unit], tokens: list[Token]) -> None:
    """English "up"/"down" before a road or a place ("up the street", "down a one-way street") is along it, not
    the on-screen direction up/down (a hard filter)."""
    for k, u in enumerate(units):
        if u.kind != "direction" or u.end - u.start != 1 or tokens[u.start].norm not in _ALONG:
            continue
        nxt = next((v for v in units[k + 1 :] if not (v.kind == "stop" and v.value in _ARTICLE_WORDS)), None)
        if nxt is not None and nxt.kind == "unmeasurable" and nxt.value == "place":
            u.kind, u.value, u.bucket = "stop", "along", "stop"


# after "right" these make it "just" ("right next to the door", "right after 3pm"), not the side
_AFTER_RIGHT_AS_JUST = {"next to", "in front of", "outside", "by the", "behind", "near", "at", "there", "here", "away",
                        "now", "inside", "past", "through", "along"}
_ITEM_KINDS = {"item"}


def resolve_right_and_left_words(units: list[_Unit], tokens: list[Token]) -> None:
    """English "right" before "next to", "in front of", a time... is "just", not the direction right; "left"
    right after a carried item ("a bag left on the pavement") is left behind: understood, not measured. Both
    would otherwise be an on-screen direction, a hard filter."""
    for k, u in enumerate(units):
        if u.kind != "direction" or u.end - u.start != 1:
            continue
        word = tokens[u.start].norm
        nxt = units[k + 1] if k + 1 < len(units) else None
        moved = k and units[k - 1].kind == "stop" and units[k - 1].value in _MOVING_BEFORE_LEFT  # "going right at"
        if word == "right" and not moved and nxt is not None and (nxt.kind == "time" or (
                nxt.kind == "stop" and nxt.value in _AFTER_RIGHT_AS_JUST)):
            u.kind, u.value, u.bucket = "stop", "just", "stop"
        elif word == "left" and k and units[k - 1].kind in _ITEM_KINDS:
            u.kind, u.value, u.bucket = "unmeasurable", "behaviour", "unmeasurable"
