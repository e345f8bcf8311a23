"""Time and duration expressions in query text: "entre 14h et 14h05", "after 2pm", "vers 14h", "03/05",
"plus de 30 secondes", "in the last 20 minutes". Each match is a `_Unit` of kind time, date, duration or recent
(a period that ends now)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from vsearch.query import vocabulary
from vsearch.query.clock import parse_clock, parse_date_option
from vsearch.query.lexicon import Token, _key, _starts_with, _Unit

AROUND_MIN = 15  # "vers 14h" / "around 2pm" / "à 14h" = 13:45 to 14:15
SHORTLY_MIN = 60  # "shortly after midnight" / "peu avant 14h": the hour after / before the clock

# "depuis" only with a bound ("depuis plus de 10 minutes"): "depuis 14h" is a clock time, "depuis 20 minutes" a
# period that ends now
_DURATION_PREFIXES = [_key(p) for p in ("plus de", "plus d'", "au moins", "pendant", "durant", "depuis plus de",
                                        "depuis plus d'", "depuis au moins", "more than", "at least", "over", "for", "longer than",
                                        "plus longtemps que", "during")]
_ABOUT = {"about", "around", "roughly", "approximately", "approx", "environ", "env", "some"}  # "for about 10 min"
# fractions of an hour said in words after a duration prefix ("for half an hour", "pendant trois quarts d'heure")
_HOUR_PARTS = {tuple(p.split()): seconds for p, seconds in (
    ("half an hour", 1800), ("a half hour", 1800), ("half hour", 1800), ("une demi heure", 1800),
    ("demi heure", 1800), ("a quarter of an hour", 900), ("quarter of an hour", 900), ("un quart d' heure", 900),
    ("quart d' heure", 900), ("trois quarts d' heure", 2700), ("three quarters of an hour", 2700))}  # as tokenised
# "une dizaine de minutes": about ten, said with or without a duration prefix
_GOOD = {"bonnes", "bons", "longues", "longs"}  # "20 bonnes minutes": at least that
_PART_LEADS = {"a", "un", "une", "half"}  # how a fraction of an hour said on its own begins
_ABOUT_N = {"dizaine": 10, "quinzaine": 15, "vingtaine": 20, "trentaine": 30}
_DURATION_UNIT = {"s": 1, "sec": 1, "secs": 1, "seconde": 1, "secondes": 1, "second": 1, "seconds": 1,
                  "min": 60, "mins": 60, "mn": 60, "minute": 60, "minutes": 60}
_DURATION_HOURS = {"h": 3600, "heure": 3600, "heures": 3600, "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600}
_CLOCK_SUFFIX = {"h", "heure", "heures", "pm", "am", "p.m", "a.m", "o'clock"}
_NUM_RE = re.compile(r"^\d+(?:[.,]\d+)?$")
_RANGE_START = {"entre": "fr", "between": "en", "de": "fr", "from": "en"}
_RANGE_JOIN = {"et": "fr", "and": "en", "a": "fr", "to": "en", "until": "en", "till": "en", "-": "both"}
_AFTER = {("apres",): "fr", ("after",): "en", ("depuis",): "fr", ("since",): "en", ("a", "partir", "de"): "fr",
          ("from",): "en", ("des",): "fr", ("passe",): "fr", ("later", "than"): "en"}
_BEFORE = {("avant",): "fr", ("before",): "en", ("jusqu'", "a"): "fr", ("until",): "en", ("till",): "en",
           ("up", "to"): "en", ("earlier", "than"): "en"}
_AROUND = {("vers",): "fr", ("around",): "en", ("about",): "en", ("environ",): "fr", ("a",): "fr", ("at",): "en",
           ("aux", "alentours", "de"): "fr", ("autour", "de"): "fr", ("approx",): "en", ("approximately",): "en",
           ("roughly",): "en", ("circa",): "en", ("env",): "fr", ("vers", "environ"): "fr", ("at", "about"): "en",
           ("at", "around"): "en", ("a", "peu", "pres"): "fr"}
_SHORTLY_AFTER = {("shortly", "after"): "en", ("just", "after"): "en", ("soon", "after"): "en", ("peu", "apres"): "fr",
                  ("juste", "apres"): "fr", ("un", "peu", "apres"): "fr", ("sitot", "apres"): "fr"}
_SHORTLY_BEFORE = {("shortly", "before"): "en", ("just", "before"): "en", ("peu", "avant"): "fr",
                   ("juste", "avant"): "fr", ("un", "peu", "avant"): "fr"}


@dataclass
class _Clock:
    time: dt.time
    n: int  # tokens used
    suffix: str | None  # "pm", "am", "h" or None for a bare hour
    lang: str
    evening: bool = False  # a 24-hour clock before 12 moved to the afternoon by a day part ("8h du soir")


_FR_UNITS = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9, "dix": 10,
             "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16}
_FR_TENS = {"dix": 10, "vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50}
_HOURS_FR = {"heure", "heures", "h"}
# "et quart", "et demie", "moins le quart": minutes added to the hour
_FR_FRACTIONS = {("et", "quart"): 15, ("et", "demie"): 30, ("et", "demi"): 30, ("moins", "le", "quart"): -15,
                 ("moins", "quart"): -15}
_DURATION_LEAD_FR = {"pendant", "durant", "depuis"}  # "pendant deux heures" is how long, not when


def _french_number(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """A French number 1-59 in digits or words ("huit", "dix-sept" as read "dix sept", "vingt et une") -> (value,
    tokens used)."""
    if i >= len(tokens):
        return None
    word = tokens[i].norm
    if word.isdigit() and len(word) <= 2:
        return int(word), 1
    if word in _FR_TENS:
        nxt = tokens[i + 1].norm if i + 1 < len(tokens) else ""
        if nxt == "et" and i + 2 < len(tokens) and tokens[i + 2].norm in ("un", "une"):
            return _FR_TENS[word] + 1, 3  # "vingt et une"
        if word != "dix" and nxt in _FR_UNITS and _FR_UNITS[nxt] < 10:
            return _FR_TENS[word] + _FR_UNITS[nxt], 2  # "vingt-deux"
        if word == "dix" and nxt in ("sept", "huit", "neuf"):
            return 10 + _FR_UNITS[nxt], 2  # "dix-sept"
        return _FR_TENS[word], 1
    return (_FR_UNITS[word], 1) if word in _FR_UNITS else None


def _french_clock(tokens: list[Token], i: int) -> _Clock | None:
    """A French clock said in words, the 24-hour reading of "8 heures" / "8h": "huit heures et demie" 08:30, "dix
    heures moins le quart" 09:45, "vingt heures dix", "midi et quart", "8 heures 30". "une heure" alone is how
    long, and so is any clock after "pendant"/"depuis"/"il y a"."""
    prev = tokens[i - 1].norm if i else ""
    if prev in _DURATION_LEAD_FR or (i > 1 and (tokens[i - 2].norm, prev) == ("y", "a")):
        return None
    word = tokens[i].norm
    if word in ("midi", "minuit"):
        hour, j = (12 if word == "midi" else 0), i + 1
    else:
        number = _french_number(tokens, i)
        if number is None or number[0] > 24 or i + number[1] >= len(tokens) \
                or tokens[i + number[1]].norm not in ("heure", "heures"):
            return None
        hour, j = number[0] % 24, i + number[1] + 1
    minutes = 0
    for words, add in _FR_FRACTIONS.items():
        if _starts_with(tokens, j, words):
            minutes, j = add, j + len(words)
            break
    else:
        less = j < len(tokens) and tokens[j].norm == "moins"
        number = _french_number(tokens, j + less)
        if number is not None and number[0] < 60 and (j + less + number[1] >= len(tokens)
                                                      or tokens[j + less + number[1]].norm not in _HOURS_FR):
            minutes, j = (-number[0] if less else number[0]), j + less + number[1]
    if j == i + 1 and word in ("midi", "minuit"):
        return None  # "midi" / "minuit" alone: read as before
    return _Clock(_at(hour, minutes), j - i, "h", "fr")


def _clock_at(tokens: list[Token], i: int, *, bare: bool = False) -> _Clock | None:
    """A clock at token i; one on 24 hours before 12 ("8h", "huit heures") said with an afternoon, evening or
    night-time day part after it is in the afternoon or evening: "vers 8h du soir" 20:00, "à 7h ce soir" 19:00."""
    clock = _clock_at_raw(tokens, i, bare=bare)
    if clock is None or clock.suffix != "h" or not 1 <= clock.time.hour < 12:
        return clock
    j = i + clock.n
    while j < len(tokens) and tokens[j].norm in _DAY_PART_LEAD:
        j += 1
    if j < len(tokens) and _day_part_pm(tokens[j].norm, clock.time.hour):
        return _Clock(clock.time.replace(hour=clock.time.hour + 12), clock.n, clock.suffix, clock.lang, True)
    return clock


def _after_day_part(clock: _Clock, tokens: list[Token], lead: int) -> _Clock:
    """A 24-hour clock before 12 after "vers"/"à" whose afternoon or evening was said just before ("hier soir vers
    9h" 21:00), as `_bare_hour_after_day_part` for a bare hour."""
    if clock.suffix != "h" or clock.evening or not 1 <= clock.time.hour < 12:
        return clock
    for k in range(lead - 1, max(lead - 4, -1), -1):
        if _day_part_pm(tokens[k].norm, clock.time.hour):
            return _Clock(clock.time.replace(hour=clock.time.hour + 12), clock.n, clock.suffix, clock.lang, True)
    return clock


def _clock_at_raw(tokens: list[Token], i: int, *, bare: bool = False) -> _Clock | None:
    if i >= len(tokens):
        return None
    if (french := _french_clock(tokens, i)) is not None:
        return french
    norm = tokens[i].norm
    nxt = tokens[i + 1].norm if i + 1 < len(tokens) else ""
    try:
        if nxt in ("am", "pm", "a.m", "p.m") and not norm.endswith(("am", "pm", "a.m", "p.m")):
            t = parse_clock(norm + nxt)
            return None if t is None else _Clock(t, 2, nxt.replace(".", ""), "en")
        if nxt == "o'clock":
            return None  # "8 o'clock" is 8 or 20: a bare hour (`_spoken_hour`), read with a cue
        if norm.isdigit() and len(norm) <= 2 and nxt in _CLOCK_SUFFIX:
            t = parse_clock(norm + nxt)
            suffix = "pm" if nxt.startswith("p") else "am" if nxt.startswith("a") else "h"
            return None if t is None else _Clock(t, 2, suffix, "fr" if suffix == "h" and nxt != "o'clock" else "en")
        t = parse_clock(norm, bare_hour=bare)
    except ValueError:
        return None
    if t is None:
        return None
    if norm in ("midi", "minuit", "noon", "midnight"):
        return _Clock(t, 1, "h", "fr" if norm in ("midi", "minuit") else "en")
    suffix = "pm" if norm.endswith(("pm", "p.m")) else "am" if norm.endswith(("am", "a.m")) else None
    if suffix is None and ("h" in norm or ":" in norm):
        suffix = "h"
    lang = "en" if suffix in ("am", "pm") else "fr" if "h" in norm else "both"
    return _Clock(t, 1, suffix, lang)


def _inherit(first: _Clock, second: _Clock) -> dt.time:
    """A bare first hour of a range takes the am/pm of the second ("between 2 and 3pm"), a 24-hour one the evening
    of the second ("entre 8h et 9h du soir"); before midnight it is the evening's ("between 11 and midnight")."""
    if second.evening and first.suffix == "h" and first.time.hour + 12 <= second.time.hour:
        return first.time.replace(hour=first.time.hour + 12)
    if first.suffix is None and second.time == dt.time(0) and 1 <= first.time.hour <= 11:
        return first.time.replace(hour=first.time.hour + 12)  # "between 11 and midnight": 23:00, the hour before
    if first.suffix is not None or second.suffix not in ("am", "pm"):
        return first.time
    pm = dt.time((first.time.hour % 12) + 12, first.time.minute)
    return pm if second.suffix == "pm" and pm <= second.time else first.time


def _match_time(tokens: list[Token], i: int) -> _Unit | None:
    """Clock expressions: ranges, after/before/around X, a bare clock, and dates."""
    norm = tokens[i].norm
    day_month = _match_day_month(tokens, i) or _match_day_of_month(tokens, i)
    if day_month is not None:
        return day_month
    # "14h-15h30" in one token
    if "-" in norm and not norm.startswith("-"):
        a, _, b = norm.partition("-")
        try:
            ta, tb = parse_clock(a, bare_hour=True), parse_clock(b)
        except ValueError:
            ta = tb = None
        if ta is not None and tb is not None:
            return _Unit("time", (ta, tb), i, i + 1, "both")
    date = _date_token(norm)
    if date is not None:
        return _Unit("date", date, i, i + 1, "both")
    if norm in _RANGE_START:
        first = _range_start(tokens, i + 1)
        if first is not None:
            j = i + 1 + first.n
            if j < len(tokens) and tokens[j].norm in _RANGE_JOIN:
                second = _clock_at(tokens, j + 1) or _bare_hour_of_day_part(tokens, j + 1)
                if second is not None and (first.suffix is not None or second.suffix is not None):
                    lang = _RANGE_START[norm]
                    return _Unit("time", (_inherit(first, second), second.time), i, j + 1 + second.n, lang)
    for table, kind in ((_SHORTLY_AFTER, "shortly after"), (_SHORTLY_BEFORE, "shortly before"), (_AFTER, "after"),
                        (_BEFORE, "before"), (_AROUND, "around")):
        for words, lang in table.items():
            if _starts_with(tokens, i, words):
                j = i + len(words)
                if kind != "around" and j < len(tokens) and tokens[j].norm in _ABOUT:
                    j += 1  # "until about 9 in the evening", "after around 10pm"
                clock = _clock_at(tokens, j) or _bare_hour_of_day_part(tokens, j) or \
                    _bare_hour_after_day_part(tokens, i, j)
                if clock is not None:
                    clock = _after_day_part(clock, tokens, i)
                    return _Unit("time", _window(kind, clock.time), i, j + clock.n, lang)
    clock = _clock_at(tokens, i)
    if clock is not None and clock.suffix is not None:
        return _Unit("time", _window("around", clock.time), i, i + clock.n, clock.lang)
    clock = _bare_hour_of_day_part(tokens, i)  # "half past two pm", "9 this morning"
    if clock is not None:
        return _Unit("time", _window("around", clock.time), i, i + clock.n, clock.lang)
    spoken = _spoken_hour(tokens, i)
    if spoken is not None and (spoken[2] > 1 or _ISH_RE.fullmatch(norm)):
        # "half past eight", "ten past nine", "7-ish" with no am/pm nor day part: morning or evening? Understood,
        # not applied (a time is a hard filter): the user is told to add am/pm or a day part
        return _Unit("unmeasurable", "clock", i, i + spoken[2], "en", "unmeasurable")
    return None


_DAY_PART_AM = {"morning", "matin", "matinee"}
_DAY_PART_PM = {"afternoon", "evening", "tonight", "soir", "soiree", "apres-midi"}
_DAY_PART_NIGHT = {"night", "nuit"}  # 6 to 11 is the evening ("9 last night" 21:00), 12 to 5 after midnight
_DAY_PART_LEAD = {"this", "in", "the", "ce", "cet", "du", "de", "le", "l'", "d'", "cette", "la", "last", "yesterday",
                  "hier"}


def _day_part_pm(word: str, hour: int) -> bool | None:
    """Whether a bare hour 1-12 said with this day part is in the afternoon or evening; None: not a day part."""
    if word in _DAY_PART_NIGHT:
        return 6 <= hour < 12
    return True if word in _DAY_PART_PM else False if word in _DAY_PART_AM else None


_SPOKEN = {("half", "past"): 30, ("quarter", "past"): 15, ("quarter", "to"): -15, ("half",): 30}  # "half nine" (UK)
_HOUR_WORDS = {w: n for n, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                           "ten", "eleven", "twelve"), 1)}
_MINUTE_WORDS = {"five": 5, "ten": 10, "twenty": 20, "twenty-five": 25, "twentyfive": 25}
_ISH_RE = re.compile(r"(\d{1,2})-?ish")  # "7-ish", "8ish": about that hour


def _minutes_before_hour(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """"ten past" / "20 to" / "twenty five past" before an hour -> (minutes to add, tokens used). Digits only in
    fives ("5 to 10 minutes" is a duration, "2 to 3" a range)."""
    word = tokens[i].norm if i < len(tokens) else ""
    minutes, j = _MINUTE_WORDS.get(word), i + 1
    if word == "twenty" and j < len(tokens) and tokens[j].norm == "five":
        minutes, j = 25, j + 1
    if minutes is None and word.isdigit() and int(word) in range(5, 60, 5):
        minutes = int(word)
    if minutes is None:
        return None
    if j < len(tokens) and tokens[j].norm in ("minutes", "mins", "min"):
        j += 1
    side = tokens[j].norm if j < len(tokens) else ""
    return ((minutes if side == "past" else -minutes), j + 1 - i) if side in ("past", "to") else None


def _spoken_hour(tokens: list[Token], i: int) -> tuple[int, int, int] | None:
    """A bare hour 1-12, spoken or not ("2", "two", "half past two", "quarter to 4", "half nine") -> (hour,
    minutes to add, tokens used); the hour has no am/pm yet."""
    offset_min, j = 0, i
    for words, minutes in _SPOKEN.items():
        if _starts_with(tokens, i, words):
            offset_min, j = minutes, i + len(words)
            break
    else:
        if (before := _minutes_before_hour(tokens, i)) is not None:
            offset_min, j = before[0], i + before[1]
    word = tokens[j].norm if j < len(tokens) else ""
    ish = _ISH_RE.fullmatch(word)
    hour = _HOUR_WORDS.get(word) or (int(word) if word.isdigit() and len(word) <= 2 else None) or \
        (int(ish[1]) if ish else None)
    if hour is None or not 1 <= hour <= 12:
        return None
    if j > i and j + 1 < len(tokens) and tokens[j + 1].norm in _DURATION_UNIT:
        return None  # "10 to 15 minutes": a duration
    if j + 1 < len(tokens) and tokens[j + 1].norm == "o'clock":
        j += 1
    return hour, offset_min, j + 1 - i


def _at(hour: int, offset_min: int) -> dt.time:
    return (dt.datetime.combine(dt.date(2000, 1, 2), dt.time(hour)) + dt.timedelta(minutes=offset_min)).time()


def _bare_hour_of_day_part(tokens: list[Token], i: int) -> _Clock | None:
    """A bare hour, or a spoken one ("half past two", "quarter to 4"), that a cue after it makes a clock time: am /
    pm ("half past two pm") or a day part ("around 9 this morning" 09:00, "vers 7 ce soir" 19:00). Without a cue
    it stays unread: "after 3" may be 3 minutes, 03:00 or 15:00, and a time filter is a hard filter."""
    spoken = _spoken_hour(tokens, i)
    if spoken is None:
        return None
    hour, offset_min, n = spoken
    j = i + n
    if j < len(tokens) and tokens[j].norm in ("am", "pm", "a.m", "p.m"):
        pm, n = tokens[j].norm.startswith("p"), n + 1
    else:
        while j < len(tokens) and tokens[j].norm in _DAY_PART_LEAD:
            j += 1
        day_pm = _day_part_pm(tokens[j].norm if j < len(tokens) else "", hour)
        if day_pm is None:
            return None
        pm = day_pm
    at = _at(hour % 12 + (12 if pm else 0), offset_min)
    return _Clock(at, n, "pm" if pm else "am", "en" if offset_min else "both")


def _bare_hour_after_day_part(tokens: list[Token], lead: int, i: int) -> _Clock | None:
    """A bare hour after "around"/"vers"/"at" whose day part was said just before ("this morning around 7",
    "hier soir vers 9", "last night at about 2"): the day part within the 3 words before the lead word decides
    am / pm, as when it comes after the hour."""
    spoken = _spoken_hour(tokens, i)
    if spoken is None:
        return None
    hour, offset_min, n = spoken
    for k in range(lead - 1, max(lead - 4, -1), -1):
        pm = _day_part_pm(tokens[k].norm, hour)
        if pm is not None:
            return _Clock(_at(hour % 12 + (12 if pm else 0), offset_min), n, "pm" if pm else "am", "both")
    return None


def _range_start(tokens: list[Token], i: int) -> _Clock | None:
    """The first clock of a range: a clock, a bare hour ("between 2 and 3pm") or a spoken one ("between half past
    4 and 5pm"), the last two taking their am/pm from the second clock (`_inherit`)."""
    first = _clock_at(tokens, i, bare=True)
    if first is not None:
        return first
    spoken = _spoken_hour(tokens, i)
    if spoken is None:
        return None
    hour, offset_min, n = spoken
    return _Clock(_at(hour, offset_min), n, None, "en")


def _window(kind: str, t: dt.time) -> tuple[dt.time | None, dt.time | None]:
    if kind == "after":
        return (t, None)
    if kind == "before":
        return (None, t)
    base = dt.datetime.combine(dt.date(2000, 1, 2), t)
    if kind == "shortly after":
        return (t, (base + dt.timedelta(minutes=SHORTLY_MIN)).time())
    if kind == "shortly before":
        return ((base - dt.timedelta(minutes=SHORTLY_MIN)).time(), t)
    delta = dt.timedelta(minutes=AROUND_MIN)
    return ((base - delta).time(), (base + delta).time())


_MONTHS_FR = {"janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5,
              "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
              "decembre": 12, "dec": 12}
_MONTHS_EN = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
              "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
              "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12}
_MONTHS = {**_MONTHS_EN, **_MONTHS_FR}
_DAY_NUMBER_RE = re.compile(r"(\d{1,2})(?:st|nd|rd|th|er|eme)?")


def _match_day_month(tokens: list[Token], i: int) -> _Unit | None:
    """A day written with its month's name, which needs a day number next to it ("may" alone is a verb): "le 20
    novembre", "le 1er mai 2026", "20th of November", "November 20th", "20 nov" -> a date unit (a day and month
    without a year is the latest such day not after today)."""
    def number(k: int) -> int | None:
        m = _DAY_NUMBER_RE.fullmatch(tokens[k].norm) if k < len(tokens) else None
        return int(m[1]) if m and 1 <= int(m[1]) <= 31 else None

    def month(k: int) -> int | None:
        return _MONTHS.get(tokens[k].norm.rstrip(".")) if k < len(tokens) else None

    day, j = number(i), i + 1
    if day is not None:
        if j < len(tokens) and tokens[j].norm == "of":
            j += 1
        mon = month(j)
    else:
        mon, day, j = month(i), number(i + 1), i + 1
    if day is None or mon is None:
        return None
    lang = "fr" if tokens[j].norm.rstrip(".") in _MONTHS_FR else "en"
    end = j + 1
    year = tokens[end].norm if end < len(tokens) else ""
    try:
        if re.fullmatch(r"(19|20)\d\d", year):
            return _Unit("date", dt.date(int(year), mon, day), i, end + 1, lang)
        dt.date(2000, mon, day)  # a day the month has (29 February included)
    except ValueError:
        return None
    return _Unit("date", (day, mon), i, end, lang)


_ORDINAL_RE = re.compile(r"(\d{1,2})(st|nd|rd|th|er|eme)")
# what follows "le 19" within 3 words when it is a day and not a bus line ("le 19 vers la gare"): a clock or a day
# part ("le 19 vers 22h", "le 19 au soir", "le 19 dans la matinée", "dans la nuit du 20 au 21")
_DAY_PART_WORDS = {"matin", "matinee", "soir", "soiree", "apres-midi", "nuit", "journee", "midi", "minuit", "morning",
                   "afternoon", "evening", "night", "noon", "midnight", "lunchtime"}
_CLOCK_TOKEN_RE = re.compile(r"\d{1,2}(?:h\d{0,2}|[:.]\d{2}(?:am|pm)?|am|pm)")
_NIGHT_WORDS = {"nuit", "night"}
_WEEKDAY_NAMES = {w for w in vocabulary.words("weekday") if " " not in w}  # "mardi", "tuesday"


def _match_day_of_month(tokens: list[Token], i: int) -> _Unit | None:
    """A day of the month with no month ("on the 19th", "le 19 vers 22h") -> a date unit (day, None): the latest
    such day not after today. A bare French number or ordinal is a day only after "le"/"du" and before a time or a
    day part, or right after a weekday ("mardi 17"); an English ordinal after "on (the)", "of the", before a time or
    a day part, or at the end ("the 3rd car" is no day).
    "the night of the 20th to the 21st" / "la nuit du 20 au 21" is the night of the first day: the second day is
    taken with it when it is the next day and a night word comes just before."""
    ordinal = _ORDINAL_RE.fullmatch(tokens[i].norm)
    after_weekday = i > 0 and tokens[i - 1].norm in _WEEKDAY_NAMES or \
        i > 1 and tokens[i - 1].norm == "the" and tokens[i - 2].norm in _WEEKDAY_NAMES  # "mardi 17", "Tuesday the 17th"
    ahead = [t.norm for t in tokens[i + 1 : i + 4]]
    timed = any(w in _DAY_PART_WORDS or _CLOCK_TOKEN_RE.fullmatch(w) for w in ahead) or \
        (ahead[:1] == ["au"] and len(ahead) > 1 and ahead[1].isdigit())  # "du 20 au 21"
    before = tuple(t.norm for t in tokens[max(0, i - 2) : i])
    dated = after_weekday or bool(before) and before[-1] in ("le", "du") and timed  # "le 19 vers 22h", "mardi 17"
    # "on the 19th", "the night of the 20th", "the 19th at 10 pm"; not "the 3rd car", "au 1er étage"
    said_as_day = before[-1:] == ("on",) or before in (("on", "the"), ("of", "the")) or timed or i + 1 == len(tokens)
    bare = tokens[i].norm.isdigit() and dated
    if ordinal and not (dated or ordinal[2] in ("st", "nd", "rd", "th") and said_as_day):
        return None
    if not (ordinal or bare):
        return None
    day = int(ordinal[1]) if ordinal else int(tokens[i].norm)
    if not 1 <= day <= 31:
        return None
    lang = "en" if ordinal and ordinal[2] in ("st", "nd", "rd", "th") else "fr"
    end = i + 1
    if end + 1 < len(tokens) and tokens[end].norm in ("to", "au", "-", "and", "into") \
            and any(t.norm in _NIGHT_WORDS for t in tokens[max(0, i - 4) : i]):
        k = end + 1 + (end + 2 < len(tokens) and tokens[end + 1].norm in ("the", "le"))  # "to the 21st"
        nxt = _DAY_NUMBER_RE.fullmatch(tokens[k].norm)
        if nxt and (int(nxt[1]) == day + 1 or int(nxt[1]) == 1 and day >= 28):
            end = k + 1
    return _Unit("date", (day, None), i, end, lang)


def _date_token(norm: str) -> dt.date | tuple[int, int] | None:
    """ISO or dd/mm/yyyy -> date; dd/mm -> (day, month), resolved against `now` later."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}", norm):
        try:
            return parse_date_option(norm)
        except ValueError:
            return None
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})", norm)
    if m and 1 <= int(m[1]) <= 31 and 1 <= int(m[2]) <= 12:
        return (int(m[1]), int(m[2]))
    return None


def _match_duration(tokens: list[Token], i: int, *, prefixed: bool) -> _Unit | None:
    j, lang = i, "both"
    if prefixed:  # one prefix or two ("pendant plus de 5 minutes", "for over 5 minutes")
        for _ in range(2):
            words = next((w for w in _DURATION_PREFIXES if _starts_with(tokens, j, w)), None)
            if words is None:
                break
            j += len(words)
            lang = "en" if words[0] in ("more", "at", "over", "for", "longer") else "fr"
        if j == i:
            return None
        j += j < len(tokens) and tokens[j].norm in _ABOUT
        j += 2 * _starts_with(tokens, j, ("a", "good"))  # "for a good ten minutes": at least that
        part = next((p for p in _HOUR_PARTS if _starts_with(tokens, j, p)), None)
        if part is not None:
            return _Unit("duration", float(_HOUR_PARTS[part]), i, j + len(part), lang)
    else:  # a fraction of an hour said with its article needs no prefix ("resté là une demi-heure")
        part = next((p for p in _HOUR_PARTS if p[0] in _PART_LEADS and _starts_with(tokens, j, p)), None)
        if part is not None and not _starts_with(tokens, j + len(part), ("ago",)):
            return _Unit("duration", float(_HOUR_PARTS[part]), i, j + len(part), "fr" if part[0] == "une" else "both")
    about = _about_n(tokens, j)
    if about is not None:
        return _Unit("duration", about[0], i, j + about[1], lang if prefixed else "fr")
    if j >= len(tokens):
        return None
    units = dict(_DURATION_UNIT, **(_DURATION_HOURS if prefixed else {}))
    norm = tokens[j].norm
    m = re.fullmatch(r"(\d+(?:[.,]\d+)?)([a-z]+)", norm)
    if m and m[2] in units:
        return _Unit("duration", float(m[1].replace(",", ".")) * units[m[2]], i, j + 1, lang)
    good = j + 1 < len(tokens) and tokens[j + 1].norm in _GOOD  # "pendant 20 bonnes minutes"
    if _NUM_RE.match(norm) and j + 1 + good < len(tokens) and tokens[j + 1 + good].norm in units:
        seconds = float(norm.replace(",", ".")) * units[tokens[j + 1 + good].norm]
        return _Unit("duration", seconds, i, j + 2 + good, lang)
    amount = _amount(tokens, j) if prefixed else None
    if amount is not None and j + amount[1] < len(tokens) and tokens[j + amount[1]].norm in units:
        seconds = amount[0] * units[tokens[j + amount[1]].norm]
        return _Unit("duration", seconds, i, j + amount[1] + 1, lang)
    return None


def _about_n(tokens: list[Token], j: int) -> tuple[float, int] | None:
    """"(une) dizaine de minutes" -> (600 s, tokens used); a duration, not an age ("une dizaine d'années")."""
    k = j + (j < len(tokens) and tokens[j].norm in ("une", "un"))
    k += k < len(tokens) and tokens[k].norm in ("bonne", "bon")  # "une bonne dizaine de minutes"
    if k + 2 >= len(tokens) or tokens[k].norm not in _ABOUT_N or tokens[k + 1].norm not in ("de", "d'"):
        return None
    seconds = dict(_DURATION_UNIT, **_DURATION_HOURS).get(tokens[k + 2].norm)
    return None if seconds is None else (float(_ABOUT_N[tokens[k].norm] * seconds), k + 3 - j)


_AMOUNT_WORDS = {**{w: n for w, n in _HOUR_WORDS.items()}, "fifteen": 15, "twenty": 20, "thirty": 30,
                 "a": 1, "an": 1, "un": 1, "une": 1, **_FR_UNITS, "vingt": 20, "trente": 30}
_RANGE_WORDS = {"or", "ou", "to", "a", "-"}  # "two or three", "deux à trois"; "deux-trois" is read "deux trois"


def _amount(tokens: list[Token], j: int) -> tuple[float, int] | None:
    """How many, after a duration prefix, in words or as a range -> (the lower bound, tokens used): "five" 5,
    "deux-trois" 2, "two or three" 2, "2-3" 2, "a couple of" 2. A range's lower bound is the time the object must
    at least stay."""
    couple = next((w for w in (("a", "couple", "of"), ("couple", "of")) if _starts_with(tokens, j, w)), None)
    if couple is not None:  # "for a couple of minutes": two or so
        return 2.0, len(couple)
    word = tokens[j].norm
    m = re.fullmatch(r"(\d+)-(\d+)", word)
    if m and int(m[1]) < int(m[2]):
        return float(m[1]), 1
    first = float(word) if word.isdigit() else _AMOUNT_WORDS.get(word)
    if first is None:
        return None
    k = j + 1 + (j + 1 < len(tokens) and tokens[j + 1].norm in _RANGE_WORDS)
    second = tokens[k].norm if k < len(tokens) else ""
    upper = float(second) if second.isdigit() else _AMOUNT_WORDS.get(second)
    if upper is not None and upper > first:
        return float(first), k + 1 - j
    return float(first), 1


# "in the last 20 minutes", "over the past hour", "dans les 20 dernières minutes", "depuis 20 minutes": a window
# that ends now
_RECENT_LEADS = sorted((_key(p) for p in (
    "in the last", "in the past", "over the last", "over the past", "during the last", "within the last",
    "within the past", "for the last", "for the past", "the last", "the past", "last", "past", "dans les", "dans la",
    "durant les", "durant la", "pendant les", "pendant la", "au cours des", "au cours de la", "ces", "cette", "les",
    "la", "depuis", "il y a moins de", "depuis moins de")), key=len, reverse=True)
_LAST_FR = {"derniere", "dernieres", "dernier", "derniers"}
_HALF_HOUR = [_key(p) for p in ("half an hour", "half hour", "half-hour", "demi-heure", "demi heure")]


_FR_LEADS = {"dans", "durant", "pendant", "au", "ces", "cette", "les", "la", "depuis", "il"}


def _match_recent(tokens: list[Token], i: int) -> _Unit | None:
    """A period that ends now -> a unit of kind recent, value its length in seconds. A lead and a length, with
    "last"/"dernières" said ("the last 20 minutes", "les 20 dernières minutes"), or "depuis"/"il y a moins de"
    and a number ("depuis 20 minutes")."""
    for lead in _RECENT_LEADS:  # longest first
        if not _starts_with(tokens, i, lead):
            continue
        j, lang = i + len(lead), "fr" if lead[0] in _FR_LEADS else "en"
        number = 1.0
        if j < len(tokens) and _NUM_RE.match(tokens[j].norm):
            number, j = float(tokens[j].norm.replace(",", ".")), j + 1
        elif j < len(tokens) and tokens[j].norm in _AMOUNT_WORDS:
            number, j = float(_AMOUNT_WORDS[tokens[j].norm]), j + 1  # "depuis deux heures", "the last ten minutes"
        elif lead[0] == "depuis" or lead[-1] == "de":
            return None  # "depuis" needs a number ("depuis 20 minutes"); "depuis ce matin" is a time
        said_last = lead[-1] in ("last", "past")
        if j < len(tokens) and tokens[j].norm in _LAST_FR:  # "les 20 dernières minutes"
            said_last, j = True, j + 1
        half = next((h for h in _HALF_HOUR if _starts_with(tokens, j, h)), None)
        if half is not None:  # "the last half hour", "la dernière demi-heure"
            seconds, j = 1800, j + len(half)
        else:
            unit = tokens[j].norm if j < len(tokens) else ""
            seconds = dict(_DURATION_UNIT, **_DURATION_HOURS).get(unit)
            if seconds is None:
                return None
            j += 1
        if j < len(tokens) and tokens[j].norm in _LAST_FR:  # said after the unit: "l'heure dernière"
            said_last, j = True, j + 1
        if not said_last and lead[0] not in ("depuis", "il"):
            return None  # "the 20 minutes" alone is not a window
        return _Unit("recent", number * seconds, i, j, lang)
    return None


# "an hour ago", "about 20 minutes ago", "il y a une heure", "il y a environ 2h": a moment before now, as a witness
# gives it -> a window around it (`AGO_TOLERANCE_*`, in `vsearch.query.text`); "two days ago", "il y a trois jours": that day
_FR_AGO = _key("il y a")
_ABOUT_AGO = [_key(p) for p in (*sorted(_ABOUT), "maybe", "a peu pres", "pres de", "approximativement", "peut-etre")]
_GLUED = re.compile(r"^(\d+(?:[.,]\d+)?)(h|mn|min|mins)$")  # "2h", "20mn" typed as one word
_DAY_UNIT = {"day", "days", "jour", "jours"}


def _about_words(tokens: list[Token], j: int) -> int:
    """The position after an "about" word at `j` ("environ", "à peu près"), or `j` when there is none."""
    return next((j + len(w) for w in _ABOUT_AGO if _starts_with(tokens, j, w)), j)


def _ago_length(tokens: list[Token], j: int) -> tuple[float, str, int] | None:
    """A length before now at `j` -> (how many, unit "s" or "day", the position after it)."""
    article = j + (j < len(tokens) and tokens[j].norm in ("une", "un"))  # "il y a une demi-heure"
    for k in (j, article):
        half = next((h for h in _HALF_HOUR if _starts_with(tokens, k, h)), None)
        if half is not None:  # "half an hour ago", "il y a une demi-heure"
            return 1800.0, "s", k + len(half)
        part = next((p for p in _HOUR_PARTS if _starts_with(tokens, k, p)), None)
        if part is not None:  # "a quarter of an hour ago", "il y a trois quarts d'heure"
            return float(_HOUR_PARTS[part]), "s", k + len(part)
    if j >= len(tokens):
        return None
    glued = _GLUED.match(tokens[j].norm)
    if glued:
        n, unit = float(glued.group(1).replace(",", ".")), glued.group(2)
        return n * (3600 if unit == "h" else 60), "s", j + 1
    if _NUM_RE.match(tokens[j].norm):
        n = float(tokens[j].norm.replace(",", "."))
    elif tokens[j].norm in _AMOUNT_WORDS:
        n = float(_AMOUNT_WORDS[tokens[j].norm])
    else:
        return None
    unit = tokens[j + 1].norm if j + 1 < len(tokens) else ""
    if unit in _DAY_UNIT:
        return n, "day", j + 2
    seconds = dict(_DURATION_UNIT, **_DURATION_HOURS).get(unit)
    return (n * seconds, "s", j + 2) if seconds is not None and unit != "s" else None


def _match_ago(tokens: list[Token], i: int) -> _Unit | None:
    """A moment before now -> a unit of kind ago (value: seconds before now), or of kind day for whole days
    ("two days ago": that calendar day, value -2). English: [about] LENGTH ago; French: il y a [environ] LENGTH
    [environ]. "il y a un homme" is no time: a length must follow."""
    if _starts_with(tokens, i, _FR_AGO):
        got = _ago_length(tokens, _about_words(tokens, i + len(_FR_AGO)))
        if got is None:
            return None
        n, unit, j = got
        j = _about_words(tokens, j)  # "il y a une heure environ"
        lang = "fr"
    else:
        got = _ago_length(tokens, _about_words(tokens, i))
        if got is None:
            return None
        n, unit, j = got
        if j >= len(tokens) or tokens[j].norm != "ago":
            return None
        j, lang = j + 1, "en"
    if unit == "day":
        return _Unit("day", -int(n), i, j, lang) if n == int(n) and 0 < n <= 31 else None
    return _Unit("ago", n, i, j, lang) if n > 0 else None
