"""Tokenising query text and matching it against the vocabulary (longest phrase first).

Tokens keep the text as typed (for reporting) and its folded form (lower case, no accents) for matching;
French elisions split off ("l'entrée" -> l' entrée); "red/white" is two words and a separator. The lexicon is
built once from `vocabulary.toml`; a matched span becomes a `_Unit` of one kind (colour, garment, class, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from vsearch.query import vocabulary
from vsearch.query.vocabulary import fold

Bucket = Literal["mapped", "unmeasurable", "stop", "sensitive", "unknown"]

@dataclass(frozen=True)
class Token:
    text: str  # as typed
    norm: str  # lower-case, accents folded
    start: int  # character offsets in the query text
    end: int


_TOKEN_RE = re.compile(r"(?<![^\s(])[wW]/(?=[\s,;)]|$)|[^\W_]+(?:[-'’:/.][^\W_]+)*['’]?")
_SHORTHAND = {"w/", "w/o"}  # "with", "without" as typed in a hurry: one word, not "w" and a separator
_ELISION_RE = re.compile(r"^(l|d|s|n|j|c|m|t|qu|jusqu|lorsqu|puisqu)'(.+)$")


def tokenise(text: str) -> list[Token]:
    """Word tokens (punctuation and symbols are separators); French elisions split off ("l'entrée" -> l' entrée);
    "red/white" is two words and a separator; a hyphenated compound the vocabulary does not list ("transit-type",
    "grey-haired") is read as its words, while "t-shirt", "deux-roues" and clock ranges ("14h-15h") stay whole."""
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        raw, norm = m.group(), fold(m.group())
        pieces = [(raw, m.start())]
        if "/" in norm and not re.fullmatch(r"[\d/]+", norm) and norm not in _SHORTHAND:
            pieces = _split(raw, m.start(), "/")
        elif "-" in norm and not {norm, _ELISION_RE.sub(r"\2", norm)} & _LEXICON_WORDS \
                and not any(c.isdigit() for c in norm):
            pieces = [p for p in _split(raw, m.start(), "-") if p[0] != "-"]
        for piece, pos in pieces:
            if not piece:
                continue
            folded = fold(piece)
            e = _ELISION_RE.match(folded)
            if e and folded not in _LEXICON_NORM_WORDS:
                cut = len(e[1]) + 1
                tokens.append(Token(piece[:cut], folded[:cut], pos, pos + cut))
                tokens.append(Token(piece[cut:], folded[cut:], pos + cut, pos + len(piece)))
            else:
                tokens.append(Token(piece, folded, pos, pos + len(piece)))
    return tokens


def _split(raw: str, start: int, sep: str) -> list[tuple[str, int]]:
    """`raw` cut at `sep`, each part with its offset; the separators are kept as parts of their own."""
    out, pos = [], start
    for n, part in enumerate(raw.split(sep)):
        if n:
            out.append((sep, pos - 1))
        out.append((part, pos))
        pos += len(part) + 1
    return out


# ---------------------------------------------------------------------------------------------------------------
# Lexicon: phrase (folded, tokenised) -> (kind, value, language). Language "both" gives no language cue.

Entry = tuple[str, object, str]
_LEXICON: dict[tuple[str, ...], Entry] = {}
_EXACT: dict[tuple[str, ...], Entry] = {}  # keyed on lower-case text WITH accents, tried first
_CASED: dict[tuple[str, ...], Entry] = {}  # keyed on the text as typed (abbreviations in capitals), tried before
_LEXICON_NORM_WORDS: set[str] = {"aujourd'hui", "quelqu'un", "o'clock"}


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(m.group() for m in _TOKEN_RE.finditer(fold(phrase)))


def _add(kind: str, value: object, fr: str = "", en: str = "", sep: str = " ") -> None:
    """Add FR and EN words (or `sep`-separated phrases); one in both lists is language-neutral."""
    fr_set = {p.strip() for p in fr.split(sep) if p.strip()}
    en_set = {p.strip() for p in en.split(sep) if p.strip()}
    langs: dict[tuple[str, ...], set[str]] = {}  # folding can join two spellings ("a", "à") on one key
    for phrase in sorted(fr_set | en_set):  # sorted: the lexicon must not depend on the hash seed
        key = _key(phrase)
        langs.setdefault(key, set()).update(l for l, words in (("fr", fr_set), ("en", en_set)) if phrase in words)
    for key, in_langs in langs.items():
        lang = "both" if len(in_langs) == 2 else in_langs.pop()
        # elided forms stay whole in lexicon keys only when the tokeniser keeps them whole
        split: list[str] = []
        for word in key:
            e = _ELISION_RE.match(word)
            if e and word not in _LEXICON_NORM_WORDS:
                split += [word[: len(e[1]) + 1], word[len(e[1]) + 1 :]]
            else:
                split.append(word)
        _LEXICON[tuple(split)] = (kind, value, lang)


for _entry in vocabulary.entries():
    if _entry.cased:  # capitals decide: keyed on the text exactly as typed
        for _phrase in _entry.fr + _entry.en:
            _CASED[tuple(_phrase.split())] = (_entry.kind, _entry.value, "fr" if _phrase in _entry.fr else "en")
    elif _entry.exact:  # accents decide: keyed on the lower-case text as typed
        for _phrase in _entry.fr + _entry.en:
            _EXACT[tuple(_phrase.lower().split())] = (_entry.kind, _entry.value, "fr" if _phrase in _entry.fr else "en")
    else:
        _add(_entry.kind, _entry.value, ",".join(_entry.fr), ",".join(_entry.en), sep=",")
_LEXICON[("/",)] = ("stop", None, "both")  # "red/white": the tokeniser's separator, a conjunction
_LEXICON_WORDS = {word for key in (*_LEXICON, *_EXACT) for word in key} | {fold(w) for key in _CASED for w in key}

_CLOTHING_PREPS = {"en", "in", "wearing", "portant", "porte", "habille", "habillee", "habilles", "habillees",
                   "vetu", "vetue", "vetus", "vetues", "dressed"}
_ARTICLES = {"un", "une", "le", "la", "les", "l'", "des", "du", "de", "d'", "a", "an", "the", "some", "ce", "cette",
             "ces"}
_CONJ = {"et", "and", "ou", "or", "/", "n"}  # "n": "and" as typed in a hurry ("black n white hoodie")
# words that open a new phrase about another thing: a colour is never carried across them to a noun ("in black
# with a large bag": the black is worn, not the bag's)
_NEW_PHRASE = {"with", "avec", "carrying", "carries", "carried", "holding", "holds", "held", "pushing", "pushes",
               "pushed", "pulling", "pulls", "tenant", "tient", "tiennent", "pousse", "poussant", "poussent", "porteur",
               "porteuse"}
_MAX_PHRASE = max(len(k) for k in _LEXICON)
_NOUN_KINDS = {"class", "rider", "garment", "item", "person_sensitive"}
_CONTENT_KINDS = {"class", "rider", "outfit", "colour", "shade", "garment", "item", "direction", "motion",
                  "motion_verb", "stationary", "time",
                  "day", "weekday", "week", "period", "dayperiod", "date", "duration", "recent", "ago", "camera",
                  "unmeasurable",
                  "vehicle_part", "side"}
_MODIFIER_KINDS = {"unknown", "unmeasurable"}  # may stand between a colour and its noun ("blue double-decker bus")


@dataclass
class _Unit:
    kind: str
    value: object
    start: int  # token span [start, end)
    end: int
    lang: str = "both"
    bucket: Bucket = "mapped"
    read_as: str = ""  # the vocabulary word a mistyped word was read as (`vsearch.query.spelling`), else ""


def _match_lexicon(tokens: list[Token], i: int) -> _Unit | None:
    for n in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
        typed = tuple(t.text.replace("’", "'") for t in tokens[i : i + n])
        key = tuple(t.norm for t in tokens[i : i + n])
        entry = _CASED.get(typed) or _EXACT.get(tuple(w.lower() for w in typed)) or _LEXICON.get(key) or \
            _plural_of(key) or _possessive_of(key)
        if entry is not None:
            kind, value, lang = entry
            return _Unit(kind, value, i, i + n, lang)
    return None


_PLURAL_KINDS = {"class", "garment", "item", "rider", "person_sensitive", "unmeasurable"}  # nouns


def _plural_of(key: tuple[str, ...]) -> Entry | None:
    """A noun phrase the vocabulary lists in the singular only ("school bags", "sacs de sport", "gilets jaunes"):
    the plural -s / -es / -x of its first or last word."""
    for k in (len(key) - 1, 0):
        word = key[k]
        for stem in (word[:-1], word[:-2]) if word.endswith("es") else (word[:-1],) if word[-1:] in "sx" else ():
            entry = _LEXICON.get(key[:k] + (stem,) + key[k + 1 :])
            if entry is not None and entry[0] in _PLURAL_KINDS and len(stem) > 2:
                return entry
    return None


def _possessive_of(key: tuple[str, ...]) -> Entry | None:
    """An English possessive of a listed noun ("a child's hand", "the driver's door"): the noun."""
    if key[-1].endswith("'s") and len(key[-1]) > 3:
        entry = _LEXICON.get(key[:-1] + (key[-1][:-2],))
        return entry if entry is not None and entry[0] in _PLURAL_KINDS else None
    return None


def _starts_with(tokens: list[Token], i: int, words: tuple[str, ...]) -> bool:
    return tuple(t.norm for t in tokens[i : i + len(words)]) == words
