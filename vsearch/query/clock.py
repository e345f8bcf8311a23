"""Clock times, days and time zones as typed by an investigator ("14h05", "2pm", "03/05/2024", --from/--to).

A naive time is local time in the given zone (default Europe/Paris); a time skipped by a DST change is an error,
a repeated one is resolved explicitly (see `localise`). Every error is a `QueryError` naming the option.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vsearch.errors import QueryError
from vsearch.query.vocabulary import fold

DEFAULT_TZ = "Europe/Paris"


def get_tz(tz: str | dt.tzinfo | None) -> dt.tzinfo:
    """A tzinfo from a name ("Europe/Paris"), a tzinfo, or None (the default, Europe/Paris)."""
    if isinstance(tz, dt.tzinfo):
        return tz
    name = tz or DEFAULT_TZ
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise QueryError(f"timezone {name!r} is unknown; use an IANA name such as Europe/Paris") from e


def tz_name(tz: str | dt.tzinfo | None) -> str:
    zone = get_tz(tz)
    return getattr(zone, "key", None) or str(zone)


def localise(naive: dt.datetime, zone: dt.tzinfo, option: str, *, latest: bool) -> dt.datetime:
    """Attach `zone` to a local wall time. A time skipped by a DST change is an error; a repeated one takes its
    first occurrence, or its second with `latest=True` (so an end bound covers both)."""
    aware = naive.replace(tzinfo=zone, fold=1 if latest else 0)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None, fold=0) != naive.replace(fold=0):
        raise QueryError(
            f"{option}: {naive:%Y-%m-%d %H:%M} does not exist in {tz_name(zone)} (clocks moved forward); "
            "give a time outside the DST change or an explicit UTC offset"
        )
    return aware


_CLOCK_RE = re.compile(
    r"^(?P<h>\d{1,2})(?:(?P<sep>[:h.])(?P<m>\d{2})?(?::(?P<s>\d{2}))?)?\s*(?P<ampm>[ap]\.?m\.?)?$"
)
_NAMED_CLOCK = {"midi": dt.time(12), "noon": dt.time(12), "minuit": dt.time(0), "midnight": dt.time(0)}


def parse_clock(value: str, *, bare_hour: bool = False) -> dt.time | None:
    """A clock time ("14:00", "14h", "14h05", "2pm", "2:05 pm", "midi"), or None if `value` is not one.

    A bare number ("14") is an hour only with `bare_hour=True`. Out-of-range values raise ValueError.
    """
    text = fold(value).replace(" ", "").replace("heures", "h").replace("heure", "h").replace("o'clock", "h")
    if text in _NAMED_CLOCK:
        return _NAMED_CLOCK[text]
    m = _CLOCK_RE.match(text)
    if m is None:
        return None
    if m["sep"] is None and m["ampm"] is None and not bare_hour:
        return None
    if m["sep"] in (":", ".") and m["m"] is None:
        return None
    hour, minute, second = int(m["h"]), int(m["m"] or 0), int(m["s"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError(f"{value!r}: an am/pm hour goes from 1 to 12")
        hour = hour % 12 + (12 if m["ampm"].startswith("p") else 0)
    if hour == 24 and minute == 0 and second == 0:
        hour = 0
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError(f"{value!r} is not a valid time of day")
    return dt.time(hour, minute, second)


def parse_date_option(value: str, *, option: str = "--date") -> dt.date:
    """A day: "2024-05-03" (ISO) or "03/05/2024" (French day/month/year)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = (int(p) for p in text.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise QueryError(f"{option} {value!r} is not a date; use YYYY-MM-DD (e.g. 2024-05-03) or DD/MM/YYYY") from e


def parse_time_option(
    value: str, date: dt.date | str | None = None, tz: str | dt.tzinfo | None = DEFAULT_TZ, *, option: str = "--from"
) -> dt.datetime:
    """An absolute, timezone-aware time from an option value.

    Accepts ISO-8601 with or without offset ("2024-05-03T14:00", "2024-05-03 14:00:00+02:00", "...Z"), a day
    alone ("2024-05-03": its start for --from, the next midnight for --to), or a clock time ("14:00", "14h",
    "14h05", "2pm") on `date`. A naive value is local time in `tz`. Errors name `option`.
    """
    zone = get_tz(tz)
    latest = option == "--to"
    hint = "use ISO-8601 (2024-05-03T14:00, optionally with +02:00) or a time such as 14:00 / 14h05 with --date"
    text = value.strip()
    if not text:
        raise QueryError(f"{option} is empty; {hint}")
    try:
        clock = parse_clock(text)
    except ValueError as e:
        raise QueryError(f"{option} {value!r}: {e}; {hint}") from e
    if clock is not None:
        if date is None:
            raise QueryError(f"{option} {value!r} is a time of day; give --date YYYY-MM-DD or a full ISO-8601 time")
        day = parse_date_option(date) if isinstance(date, str) else date
        return localise(dt.datetime.combine(day, clock), zone, option, latest=latest)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = parse_date_option(text, option=option)
        if latest:
            day += dt.timedelta(days=1)
        return localise(dt.datetime.combine(day, dt.time(0, 0)), zone, option, latest=False)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise QueryError(f"{option} {value!r} is not a time; {hint}") from e
    if parsed.tzinfo is None:
        return localise(parsed, zone, option, latest=latest)
    return parsed
