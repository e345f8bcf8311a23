"""Colour terms: the share of an object, garment or headwear in a colour or shade, from its stored palette and tones.

A colour term reads the share of the object / garment / headwear in that colour (`colours`, `upper_colours`,
`lower_colours`, `head_colours` attributes); a shade (light, dark, navy, silver) reads the part's tones
(`<part>_tones`, see `vsearch.indexers.colours`): "dark blue" = the dark blue pixels, plus the black pixels that
lean blue, plus half the mid-tone blue ones; a light / dark grey (silver, charcoal) also counts white / black
pixels at half weight up to its grey share. Tubes indexed before tones existed fall back on counting the
neighbouring palette colours at half weight (dark: black; light: white, grey), and say so. Plain "white" on a
camera where nothing reads white counts light grey at half weight (`vsearch.query.camera_reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow.compute as pc

from vsearch.catalogue.soft_columns import listed_count_column, presence_column
from vsearch.catalogue.store import COLOUR_MIN_FRACTION, sql_str
from vsearch.indexers.colours import tone_key
from vsearch.query.spec import ColourTerm
from vsearch.query.term_base import Candidates, Evidence

COLOUR_FULL = 0.6  # a colour covering this share (or more) of the part scores 1
PART_COLUMN = {"any": "colours", "upper": "upper_colours", "lower": "lower_colours", "head": "head_colours"}
TONE_COLUMN = {"any": "colours_tones", "upper": "upper_tones", "lower": "lower_tones", "head": "head_tones"}
_ACHROMATIC = {"black", "white", "grey"}
# a shade's evidence besides the pixels of that colour and tone: achromatic pixels leaning to the hue count
# partly (a camera's white balance tints every grey of a scene, measured: a grey cardigan indoors is half
# "grey~blue"), the colour's mid-tone pixels less (a shade near the band's edge)
CAST_WEIGHT = 0.5
MID_WEIGHT = 0.3
_LISTED = {"any", "upper", "lower"}  # parts with a list column of the colours above COLOUR_MIN_FRACTION
_SHADE_NEIGHBOURS = {"dark": ("black",), "light": ("white", "grey")}
# a silver (light grey) car or a charcoal (dark grey) one reads partly white or black: its highlights clip to
# white, its shadows to black (measured: the car park's silver car is 45 % white, 45 % grey). So for a grey shade
# the white (black) pixels count at this weight, never more than the grey share itself: a white car, with
# little grey, does not become silver; "grey" without a shade is unchanged
_GREY_LEAN = {"light": "white", "dark": "black"}
GREY_LEAN_WEIGHT = 0.5
# plain "white" (ranking, not a --colour filter, which stays exact) on a camera where no object reads white at
# the listing threshold (`vsearch.query.camera_reference`): a white object there reads light grey, which counts
# at this weight
_DIM_WHITE = tone_key("grey", "light")
DIM_WHITE_WEIGHT = 0.5


def _dim_white(c: ColourTerm) -> bool:
    return c.name == "white" and c.shade is None


@dataclass(frozen=True)
class ColourChoice:
    """Colours wanted on one part; several are alternatives (`--upper green --upper yellow`): the best counts."""

    part: str
    colours: tuple[ColourTerm, ...]
    required: bool
    kind: str = "colour"

    @property
    def reference(self) -> frozenset[str]:  # plain white, ranking only: light grey counts where nothing reads white
        dim = not self.required and self.part in _LISTED and any(_dim_white(c) for c in self.colours)
        return frozenset({"white"} if dim else ())

    @property
    def label(self) -> str:
        where = "colour" if self.part == "any" else f"colour {self.part}"
        return f"{where}=" + "|".join(_colour_name(c) for c in self.colours)

    def evidence(self) -> list[tuple[str, str]]:
        names = {c.name for c in self.colours} | {n for c in self.colours for n in _SHADE_NEIGHBOURS.get(c.shade, ())}
        parts = (self.part, "any") if self.part == "head" else (self.part,)  # head falls back on the whole object
        fields = [(PART_COLUMN[p], n) for p in parts for n in sorted(names)]
        tones = sorted({k for c in self.colours if c.shade
                        for k in (*_tone_keys(c.name, c.shade), tone_key(c.name, "light"), tone_key(c.name, "dark"))}
                       | ({_DIM_WHITE} if self.reference else set()))
        return fields + [(TONE_COLUMN[p], k) for p in parts for k in tones]

    def columns(self) -> list[str]:
        listed = listed_count_column(PART_COLUMN[self.part if self.part in _LISTED else "any"])
        return [listed] + (["class_name", presence_column(PART_COLUMN["head"])] if self.part == "head" else []) + (
            ["camera", presence_column(TONE_COLUMN[self.part])] if self.reference else [])

    def sql(self) -> str | None:
        if self.part not in _LISTED or any(c.shade for c in self.colours):
            return None
        names = sorted({c.name for c in self.colours})
        return f"array_has_any({PART_COLUMN[self.part]}, [{', '.join(sql_str(n) for n in names)}])"

    def evaluate(self, c: Candidates) -> Evidence:
        key = PART_COLUMN[self.part]
        shaded = any(term.shade for term in self.colours)
        toned = c.has(TONE_COLUMN[self.part]) if shaded else np.zeros(c.table.num_rows, bool)  # read for shades only
        fracs, leans = [], []
        for term in self.colours:
            frac = np.nan_to_num(c.attr(key, term.name))
            lean = np.zeros_like(frac)
            if not term.shade:
                if _dim_white(term) and self.reference and c.reference is not None:  # see _DIM_WHITE
                    dim = c.reference.white_absent(c.table.column("camera"))
                    light = np.nan_to_num(c.attr(TONE_COLUMN[self.part], _DIM_WHITE))
                    lean = np.where(dim & c.has(TONE_COLUMN[self.part]), light, 0.0)
                fracs.append(frac + DIM_WHITE_WEIGHT * lean)
                leans.append(lean)
                continue
            near = sum((np.nan_to_num(c.attr(key, n)) for n in _SHADE_NEIGHBOURS.get(term.shade, ())),
                       np.zeros_like(frac))
            # without tones: navy is mostly binned black, so "dark" counts black; "light" only strengthens a colour
            # that is there (light blue with grey/white), else every grey coat would be "light blue"
            guess = frac + 0.5 * (near if term.shade == "dark" else np.minimum(near, frac))
            if term.name == "grey" and term.shade in _GREY_LEAN:  # silver / charcoal: see _GREY_LEAN
                lean = np.where(toned, np.minimum(np.nan_to_num(c.attr(key, _GREY_LEAN[term.shade])), frac), 0.0)
            fracs.append(np.where(toned, self._toned(c, term), guess) + GREY_LEAN_WEIGHT * lean)
            leans.append(lean)
        stacked = np.stack(fracs) if fracs else np.zeros((1, c.table.num_rows))
        choice = np.argmax(stacked, axis=0)
        best = stacked.max(axis=0)
        lean = np.stack(leans)[choice, np.arange(c.table.num_rows)] if leans else np.zeros(c.table.num_rows)
        # a part was measured when the store listed any colour for it (for the head: for the whole object, so a
        # person seen only in black-and-white frames, with no colour at all, is not measurable there either)
        listed = c.table.column(listed_count_column(PART_COLUMN[self.part if self.part in _LISTED else "any"]))
        measured = pc.fill_null(listed, 0).to_numpy(zero_copy_only=False) > 0
        if self.part not in _LISTED:  # the head: stored for persons indexed since head colours exist
            measured &= c.has(key) & c.text_in("class_name", ("person",))
        score = np.where(measured, colour_score(best), np.nan)
        # the quoted share is negative where a shade had to be guessed from neighbouring colours (no tones)
        guessed = ~toned & np.array([bool(t.shade) for t in self.colours], bool)[choice]
        value = np.where(guessed, -best, best)
        if self.part == "head":  # no headwear colour stored: the colour anywhere on the object, as half evidence
            anywhere = ColourChoice("any", tuple(replace(t, part="any") for t in self.colours), False).evaluate(c)
            score = np.where(measured, score, 0.5 * anywhere.score)
            return Evidence(score, np.where(measured, value, anywhere.value), choice)
        return Evidence(score, np.where(measured, value, np.nan), choice, lean)

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        where = {"any": "the object", "upper": "the upper body", "lower": "the lower body",
                 "head": "the headwear"}[self.part]
        if not np.isfinite(score):
            return f"no colour stored for {where}"
        if self.part == "head" and np.isfinite(value) and score <= 0.5 * colour_score(np.array([abs(value)]))[0] + 1e-9:
            return (f"no headwear colour stored; {_colour_name(self.colours[choice])} covers {abs(value):.0%} of the whole "
                    "object (half evidence)")
        best = self.colours[choice]
        shade = " (shade counted from neighbouring colours: no lightness stored)" if best.shade and value < 0 else ""
        if np.isfinite(extra) and extra > 0 and _dim_white(best):
            shade = (f", counting its light grey pixels ({extra:.0%}) at half weight: nothing on this camera reads "
                     "white (a colour cast or a dim exposure)")
        elif np.isfinite(extra) and extra > 0:  # the silver / charcoal rule added to the share
            lean = _GREY_LEAN[best.shade]
            shade = (f", counting its {lean} pixels ({extra:.0%}) at half weight up to its grey share: a "
                     f"{_colour_name(best)} surface reads partly {lean}")
        return f"{_colour_name(best)} covers {abs(value):.0%} of {where}{shade}"

    def _toned(self, c: Candidates, term: ColourTerm) -> np.ndarray:
        """Share of the part in the wanted shade: the pixels of that colour and tone, plus part of the achromatic
        pixels leaning to it (black for dark, white for light) and of the colour's mid-tone pixels."""
        col = TONE_COLUMN[self.part]
        own = np.nan_to_num(c.attr(col, tone_key(term.name, term.shade)))
        cast = sum((np.nan_to_num(c.attr(col, k)) for k in _tone_keys(term.name, term.shade)[1:]),
                   np.zeros(c.table.num_rows))
        frac = np.nan_to_num(c.attr(PART_COLUMN[self.part], term.name))
        other = "light" if term.shade == "dark" else "dark"
        mid = np.clip(frac - own - np.nan_to_num(c.attr(col, tone_key(term.name, other))), 0.0, None)
        return own + CAST_WEIGHT * cast + MID_WEIGHT * mid


def _tone_keys(colour: str, shade: str | None) -> list[str]:
    """Tone bins (`vsearch.indexers.colours.tone_key`) of `shade colour`: its own first, then the casts."""
    if shade is None:
        return []
    keys = [tone_key(colour, shade)]
    if colour not in _ACHROMATIC:  # a bluish black is dark blue; a bluish white is light blue
        keys.append(tone_key("black" if shade == "dark" else "white", f"~{colour}"))
    return keys


def colour_score(frac: np.ndarray) -> np.ndarray:
    """0..1 from a colour share: 0.5 at the store's listing threshold (so "matched" = listed, and the SQL
    pre-filter is exact), rising linearly to 1 at COLOUR_FULL."""
    low = 0.5 * frac / COLOUR_MIN_FRACTION
    high = 0.5 + 0.5 * (frac - COLOUR_MIN_FRACTION) / (COLOUR_FULL - COLOUR_MIN_FRACTION)
    return np.clip(np.where(frac < COLOUR_MIN_FRACTION, low, high), 0.0, 1.0)


def _colour_name(c: ColourTerm) -> str:
    return f"{c.shade} {c.name}" if c.shade else c.name
