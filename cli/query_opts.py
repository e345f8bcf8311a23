"""The query options shared by search, synopsis, export and count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Optional

import typer

from vsearch.query.clock import get_tz
from vsearch.query.options import QueryOptions
from vsearch.query.spec import QuerySpec
from vsearch.query.text import build_query
from vsearch.catalogue.store import Store

Text = Annotated[Optional[str], typer.Argument(help='Free text in French or English, e.g. "voiture rouge vers '
                                               'la gauche après 14h".')]
Class = Annotated[Optional[list[str]], typer.Option("--class", help="person, bicycle, motorbike, car, bus, truck, other.")]
Colour = Annotated[Optional[list[str]], typer.Option("--colour", "--color", help="Colour of any part (repeatable).")]
Upper = Annotated[Optional[list[str]], typer.Option("--upper", help="Colour of the upper body (persons).")]
Lower = Annotated[Optional[list[str]], typer.Option("--lower", help="Colour of the lower body (persons).")]
Direction = Annotated[Optional[str], typer.Option("--direction", help="left, right, up, down or N, NE, … (image).")]
Camera = Annotated[Optional[list[str]], typer.Option("--camera", help="Camera id (repeatable).")]
From = Annotated[Optional[str], typer.Option("--from", help='ISO-8601, or "14:00" with --date.')]
To = Annotated[Optional[str], typer.Option("--to", help='ISO-8601, or "14:05" with --date.')]
Date = Annotated[Optional[str], typer.Option("--date", help="Day for clock times (YYYY-MM-DD).")]
Zone = Annotated[Optional[list[str]], typer.Option("--zone", help='"entered:x,y x,y x,y", "crossed:x,y x,y" or '
                                                  '"stayed>=30:x,y …" (0–1 or source pixels).')]
MinDwell = Annotated[Optional[str], typer.Option("--min-dwell", help="Minimum time in view, e.g. 30s.")]
MinSpeed = Annotated[Optional[str], typer.Option("--min-speed", help="e.g. 0.1fw/s or 50px/s.")]
MaxSpeed = Annotated[Optional[str], typer.Option("--max-speed", help="e.g. 0.1fw/s or 50px/s.")]
Like = Annotated[Optional[str], typer.Option("--like", help="Example image FILE or tube:ID (more like this).")]
Limit = Annotated[Optional[int], typer.Option("--limit", help="Maximum number of hits.", min=1)]
Tz = Annotated[str, typer.Option("--tz", help="Local time zone for clock times.")]
Strict = Annotated[bool, typer.Option("--strict", help="Every descriptive word must match (by default they rank "
                                      "the hits; only options, times and cameras filter).")]


@dataclass
class QueryArgs:
    text: str | None = None
    classes: list[str] | None = None
    colours: list[str] | None = None
    upper: list[str] | None = None
    lower: list[str] | None = None
    direction: str | None = None
    cameras: list[str] | None = None
    time_from: str | None = None
    time_to: str | None = None
    date: str | None = None
    zones: list[str] | None = None
    min_dwell: str | None = None
    min_speed: str | None = None
    max_speed: str | None = None
    like: str | None = None
    limit: int | None = None
    tz: str = "Europe/Paris"
    strict: bool = False

    def spec(self, store: Store) -> QuerySpec:
        opts = QueryOptions(
            classes=tuple(self.classes or ()), colours=tuple(self.colours or ()), upper=tuple(self.upper or ()),
            lower=tuple(self.lower or ()), direction=self.direction, cameras=tuple(self.cameras or ()),
            time_from=self.time_from, time_to=self.time_to, date=self.date, zones=tuple(self.zones or ()),
            min_dwell=self.min_dwell, min_speed=self.min_speed, max_speed=self.max_speed, like=self.like,
            limit=self.limit, strict=self.strict)
        return build_query(self.text or "", opts, now=dt.datetime.now(get_tz(self.tz)), tz=self.tz,
                           cameras=store.cameras())

    def params(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [], "", False)}
