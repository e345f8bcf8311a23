"""Typing slips in query words: "jaket" is "jacket", "stoped" is "stopped", "goin" is "going".

A word the vocabulary does not know is read as a vocabulary word when it is exactly one listed single word with
one letter missing, two neighbouring letters swapped or one letter doubled, and has at least `MIN_LETTERS`
letters: short words are too close to each other to guess ("cap"/"car"). A word typed as it sounds is read too
when it spells the same sounds as exactly one listed word of at least `MIN_SOUND_LETTERS` letters ("blak" black,
"jeens" jeans, "rouje" rouge: `sound_key`). Only nouns, colours and motion words are
targets (`TARGET_KINDS`), and words with digits are never read. Two meanings within one slip: not guessed, left
unknown. The first word of a listed phrase may be mistyped the same way when the rest of the phrase follows as
listed ("twards the camera": `correct_phrase`).
"""

from __future__ import annotations

from functools import cache

from vsearch.query.lexicon import _EXACT, _LEXICON, Entry

MIN_LETTERS = 5
MIN_SOUND_LETTERS = 4  # typed and listed word alike: "read" is not "red"
# what a word typed as it sounds is read as: the things and colours searched for, never a word to refuse ("tens" is
# not "teens") nor a way of moving
SOUND_KINDS = {"colour", "class", "garment", "item", "vehicle_part"}
# spellings of one sound, in the order applied: "blak" = "black", "jeens" = "jeans", "rouje" = "rouge", "wite" =
# "white". Doubled letters and a silent final e are not dropped: "home" is not "homme", "block" is not "bloke"
_SOUNDS = (("ck", "k"), ("ph", "f"), ("wh", "w"), ("ee", "e"), ("ea", "e"), ("ge", "je"), ("gi", "ji"), ("ow", "ou"),
           ("y", "i"), ("z", "s"))
# what a slip is read as: nouns, colours and a few verbs of motion. Not grammar words (a slip must not make a word
# vanish), not verb forms of setting off ("parent" is not "partent"), not the unmeasurable words (an unknown word
# still reaches CLIP; an unmeasurable one does not)
TARGET_KINDS = {"colour", "class", "garment", "item", "vehicle_part", "rider", "stationary", "motion", "direction",
                "person_sensitive", "sensitive"}


@cache
def _targets() -> dict[str, tuple[str, Entry]]:
    """Folded single word -> (word, entry), the grammar words left out."""
    out: dict[str, tuple[str, Entry]] = {}
    for table in (_LEXICON, _EXACT):
        for key, entry in table.items():
            if len(key) == 1 and entry[0] in TARGET_KINDS and len(key[0]) >= MIN_LETTERS and key[0].isalpha():
                out.setdefault(key[0], (key[0], entry))
    return out


def _slip_of(typed: str, word: str) -> bool:
    """True when `typed` is `word` with one letter left out ("jaket"), two neighbours swapped ("jakcet") or one
    letter doubled ("jackket"), its first letter kept. Changed or added letters are not guessed: they mostly make
    another real word ("block", "write", "tracks", "moved"), which must stay what it is."""
    if typed[:1] != word[:1]:
        return False
    if len(typed) == len(word) - 1:
        i = next((n for n in range(len(typed)) if typed[n] != word[n]), len(typed))
        return typed[i:] == word[i + 1 :]
    if len(typed) == len(word) + 1:
        i = next((n for n in range(len(word)) if typed[n] != word[n]), len(word))
        return typed[i] == typed[i - 1] and typed[:i] + typed[i + 1 :] == word if i else False
    if len(typed) == len(word) and typed != word:
        diff = [n for n in range(len(word)) if typed[n] != word[n]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == word[diff[1]] \
            and typed[diff[1]] == word[diff[0]]
    return False


def sound_key(word: str) -> str:
    """`word` with one spelling per sound (`_SOUNDS`): words typed as they sound share the key of the word meant
    ("blak", "black" -> "blak")."""
    for spelling, sound in _SOUNDS:
        word = word.replace(spelling, sound)
    return word


@cache
def _sound_targets() -> dict[str, set[tuple[str, Entry]]]:
    """Sound key -> the target words that have it."""
    out: dict[str, set[tuple[str, Entry]]] = {}
    for table in (_LEXICON, _EXACT):
        for key, entry in table.items():
            word = key[0] if len(key) == 1 else ""
            if entry[0] in SOUND_KINDS and len(word) >= MIN_SOUND_LETTERS and word.isalpha():
                out.setdefault(sound_key(word), set()).add((word, entry))
    return out


def _sounds_like(word: str) -> tuple[str, Entry] | None:
    """The one target word that `word` spells by its sounds, its first letter kept."""
    if len(word) < MIN_SOUND_LETTERS or not word.isalpha():
        return None
    hits = {(w, e) for w, e in _sound_targets().get(sound_key(word), set()) if w[:1] == word[:1] and w != word}
    return min(hits) if len({(e[0], e[1]) for _, e in hits}) == 1 else None


def _dropped_g(word: str) -> tuple[str, Entry] | None:
    """An -ing word typed as spoken ("goin", "walkin'", "comin"), when the -ing word is in the vocabulary (any
    kind: "going" is a grammar word, and reading it so loses nothing)."""
    stem = word.rstrip("'")
    if len(stem) < 4 or not stem.endswith("in") or not stem.isalpha():
        return None
    entry = _LEXICON.get((stem + "g",))
    return None if entry is None else (stem + "g", entry)


def correct(word: str) -> tuple[str, Entry] | None:
    """The one vocabulary word (and its entry) that folded `word` is a slip of, or None."""
    if (dropped := _dropped_g(word)) is not None:
        return dropped
    if len(word) < MIN_LETTERS or not word.isalpha():
        return _sounds_like(word)
    hits = {(w, e) for w, e in _targets().values() if _slip_of(word, w)}
    meanings = {(e[0], e[1]) for _, e in hits}
    if len(meanings) > 1:  # two different meanings within one slip: not guessed
        return None
    return min(hits) if hits else _sounds_like(word)


@cache
def _phrase_targets() -> dict[int, list[tuple[tuple[str, ...], Entry]]]:
    """Phrase length -> the listed phrases of several words whose first word is long enough to be guessed."""
    out: dict[int, list[tuple[tuple[str, ...], Entry]]] = {}
    for table in (_LEXICON, _EXACT):
        for key, entry in table.items():
            if len(key) > 1 and entry[0] in TARGET_KINDS and len(key[0]) >= MIN_LETTERS and key[0].isalpha():
                out.setdefault(len(key), []).append((key, entry))
    return out


def correct_phrase(words: tuple[str, ...]) -> tuple[tuple[str, ...], Entry] | None:
    """The one listed phrase that folded `words` start with, their first word mistyped (as `_slip_of`), or None."""
    hits = {(key, entry) for n, targets in _phrase_targets().items() if n <= len(words)
            for key, entry in targets if key[1:] == words[1:n] and _slip_of(words[0], key[0])}
    if len({(e[0], e[1]) for _, e in hits}) != 1:
        return None
    return max(hits, key=lambda h: len(h[0]))
