"""Fold text so that disguised spellings of a word compare equal, remembering where every
folded character came from.

Why: people who want a filter to miss a word write it in ways a human still reads at a
glance: fullwidth or "mathematical bold" letters, a Cyrillic ``е`` for a Latin ``e``, a
zero-width space inside the word, ``s3xy``, ``s.e.x.y``, ``sooo``. The pattern signals
(``patterns.py``) match on the folded text, but a reviewer must be shown the *original*
characters, so :class:`Normalized` keeps, for each folded character, the index of the original
character it came from, and :meth:`Normalized.span` maps a match back.

The steps, in order (each has its table of cases in tests/classifiers/text/test_normalize.py):

1. **Per character**, through one lazily filled translation table, so the hot path is two
   ``str.translate`` calls in C:

   a. the few emoji that carry meaning here become a word between spaces: 👶 🧒 👧 👦 →
      ``child``, 🎒 🏫 → ``school``, 🍑 🍆 💦 🔞 😈 → ``sexual`` (see ``EMOJI_WORDS``);
   b. invisible characters are removed: format characters (ZWJ, ZWNJ, zero-width space, soft
      hyphen, BOM, bidi controls, tag characters), variation selectors, emoji skin-tone
      modifiers, Hangul fillers, control characters and lone surrogates;
   c. every kind of whitespace becomes a plain space;
   d. Unicode **NFKC** (fullwidth, ligatures, circled and "mathematical" letters → ASCII);
   e. **diacritics** stripped: NFD, then the marks of the *generic* combining blocks (U+0300…,
      U+1AB0…, U+1DC0…, U+20D0…, U+FE20…) and all enclosing marks are dropped, so ``é`` →
      ``e`` and "zalgo" text is cleaned, while the vowel signs of Indic, Arabic or Hebrew
      script, which are letters rather than accents, are kept;
   f. **homoglyphs**: a table maps Cyrillic and Greek look-alikes, small capitals, IPA
      letters, regional-indicator and negative-squared letters to ASCII (NFKC handles
      fullwidth and mathematical letters itself);
   g. **case-fold** (``ß`` → ``ss``);
   h. other pictographic emoji become a space (a word separator, so ``hot😀stuff`` stays two
      words and ``s😀e😀x😀y`` is caught by step 3).

   NFKC is applied code point by code point. Composition across code points only matters for
   accent sequences, which step (e) removes anyway; the one visible difference is that
   conjoining Hangul jamo and kana with separate sound marks stay decomposed. That keeps the
   step a table lookup (linear, and fast on huge input).

2. **Whitespace collapsed** to single spaces; leading and trailing space dropped.
3. **Spaced letters joined**: three or more single letters separated by the *same* separator
   (``s e x y``, ``s.e.x.y``, ``s-e-x-y``, ``s . e . x``) become one word. Two letters are left
   alone (``e.g.``, ``y o``), as are digits (``1 2 3`` may be a list, and ``a 5 y o`` must keep
   its age).
4. **Leetspeak** ``0 1 3 4 5 7 @ $ !`` → ``o i e a s t a s i`` only where it sits *inside* a
   word: a run of at most three such characters with a letter on both sides (``s3xy``,
   ``n00d``), plus a ``$`` that starts a word (``$exy``). Standalone numbers and numbers at
   the edge of a word are never touched (``12``, ``13yo``, ``age 9``, ``grade5``, ``mp3``), and
   a number between letters is kept where it reads as an age or a grade (``im13yo``,
   ``age13and``). Trailing digits are left alone on purpose: ``nud3`` is rare, while ``year7``
   and ``grade5`` are numbers.
5. **Letter runs squeezed**: three or more of the same letter become two (``sooo`` → ``soo``,
   ``good`` stays), except ``x``, whose runs become three: ``xxx`` is a term of its own and
   ``xx`` is a common sign-off. Digits are never squeezed (``1000``).

Every step is linear in the length of the text; a megabyte folds in a fraction of a second.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

__all__ = ["EMOJI_WORDS", "Normalized", "normalize"]

EMOJI_WORDS: dict[str, str] = {
    "\U0001f476": "child",  # baby
    "\U0001f9d2": "child",  # child
    "\U0001f467": "child",  # girl
    "\U0001f466": "child",  # boy
    "\U0001f392": "school",  # school backpack
    "\U0001f3eb": "school",  # school
    "\U0001f351": "sexual",  # peach
    "\U0001f346": "sexual",  # aubergine
    "\U0001f4a6": "sexual",  # sweat droplets
    "\U0001f51e": "sexual",  # no one under eighteen
    "\U0001f608": "sexual",  # smiling face with horns
}
"""Emoji that carry meaning for child safety, and the word each folds to."""


@dataclass(frozen=True, slots=True)
class Normalized:
    """A folded text and the map back to the original.

    ``offsets[i]`` is the index in ``original`` of the character that folded character ``i``
    came from; ``offsets[len(text)] == len(original)``. Offsets never decrease.
    """

    original: str
    text: str
    offsets: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of ``text`` back to ``original``.

        The end is one past the original character of the *last* folded character, not the
        offset of the next one, so an emoji that folds to `` child `` maps to the emoji alone
        and a match is never stretched over what was removed after it.
        """
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span [{start}, {end}) outside folded text of {len(self.text)}")
        if start == end:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], self.offsets[end - 1] + 1


# --- step 1: the per-character table ---------------------------------------------------------

_GENERIC_MARKS = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)
_INVISIBLE = (
    (0xFE00, 0xFE0F),  # variation selectors
    (0xE0100, 0xE01EF),  # variation selectors supplement
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x1F3FB, 0x1F3FF),  # emoji skin-tone modifiers
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x3164, 0x3164),  # Hangul filler
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
)
_PICTOGRAPHS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF))


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def _homoglyph_table() -> dict[int, str]:
    pairs = {
        # Cyrillic, both cases
        "аa Аa вb Вb сc Сc еe Еe нh Нh іi Іi јj Јj кk Кk мm Мm оo Оo рp Рp ѕs Ѕs тt Тt "
        "уy Уy хx Хx үy Үy ԁd ԛq ԝw һh Һh ӏl Ӏl ьb пn гr",
        # Greek, both cases
        "αa Αa βb Βb γy εe Εe ζz Ζz ηn Ηh ιi Ιi κk Κk μu Μm νv Νn οo Οo ρp Ρp τt Τt υu Υy χx Χx ωw",
        # small capitals and IPA letters
        "ᴀa ʙb ᴄc ᴅd ᴇe ɢg ʜh ɪi ᴊj ᴋk ʟl ᴍm ɴn ᴏo ᴘp ʀr ꜱs ᴛt ᴜu ᴠv ᴡw ʏy ᴢz ɑa ɡg ɩi ıi ȷj",
    }
    table = {ord(p[0]): p[1] for group in pairs for p in group.split()}
    for i in range(26):
        letter = chr(ord("a") + i)
        table[0x1F1E6 + i] = letter  # regional indicators
        table[0x1F150 + i] = letter  # negative circled capitals
        table[0x1F170 + i] = letter  # negative squared capitals
    return table


_HOMOGLYPHS = _homoglyph_table()


def _strip_marks(s: str) -> str:
    decomposed = unicodedata.normalize("NFD", s)
    kept = "".join(
        c
        for c in decomposed
        if not (_in(ord(c), _GENERIC_MARKS) or unicodedata.category(c) == "Me")
    )
    return unicodedata.normalize("NFC", kept)


def _fold_char(ch: str) -> str:
    """What one original character folds to (step 1 a–h), computed once per code point."""
    word = EMOJI_WORDS.get(ch)
    if word is not None:
        return f" {word} "
    cp = ord(ch)
    if _in(cp, _INVISIBLE):
        return ""
    if ch.isspace():
        return " "
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
        return ""
    out = ch
    for _ in range(2):  # case-folding can expose new accents or look-alikes; twice is stable
        out = _strip_marks(unicodedata.normalize("NFKC", out)).translate(_HOMOGLYPHS)
        out = out.casefold()
    out = "".join(" " if c.isspace() else c for c in out)
    if len(out) == 1 and _in(ord(out), _PICTOGRAPHS) and unicodedata.category(out) == "So":
        return " "
    return out


_CACHE_LIMIT = 1 << 16


class _FoldTable(dict[int, str]):
    """Code point → folded string, filled on first sight (``str.translate`` calls
    ``__missing__`` only on a miss, so the hot path stays in C)."""

    def __missing__(self, cp: int) -> str:
        out = _fold_char(chr(cp))
        self[cp] = out
        return out


class _LengthTable(dict[int, str]):
    """Code point → ``chr(len(folded))``: translating with it gives every character's
    output length as one string, from which the offsets are built without a Python loop."""

    def __missing__(self, cp: int) -> str:
        out = chr(len(_FOLD[cp]))
        self[cp] = out
        return out


_FOLD = _FoldTable()
_LENGTH = _LengthTable()


def _reset_tables() -> None:
    _FOLD.clear()
    _LENGTH.clear()
    for cp in range(128):
        _LENGTH[cp] = chr(len(_FOLD[cp]))


_reset_tables()


def _fold_chars(text: str) -> tuple[str, list[int]]:
    if len(_FOLD) > _CACHE_LIMIT:  # bounded memory for a long-lived service fed odd scripts
        _reset_tables()
    folded = text.translate(_FOLD)
    lengths = text.translate(_LENGTH)
    if len(folded) == len(text) and lengths.count("\x01") == len(text):
        return folded, list(range(len(text)))
    counts = np.frombuffer(lengths.encode("latin-1"), dtype=np.uint8)
    offsets: list[int] = np.repeat(np.arange(len(text)), counts).tolist()
    return folded, offsets


# --- steps 2-5: deletions and one-for-one substitutions on (text, offsets) ------------------


def _cut(s: str, offs: list[int], cuts: list[tuple[int, int]]) -> tuple[str, list[int]]:
    """Delete the sorted, disjoint ``[a, b)`` ranges from the text and its offsets."""
    if not cuts:
        return s, offs
    parts: list[str] = []
    new_offs: list[int] = []
    prev = 0
    for a, b in cuts:
        parts.append(s[prev:a])
        new_offs.extend(offs[prev:a])
        prev = b
    parts.append(s[prev:])
    new_offs.extend(offs[prev:])
    return "".join(parts), new_offs


_SPACES = re.compile(r"^ +| +$| {2,}")


def _collapse_spaces(s: str, offs: list[int]) -> tuple[str, list[int]]:
    cuts: list[tuple[int, int]] = []
    for m in _SPACES.finditer(s):
        a, b = m.span()
        cuts.append((a, b) if a == 0 or b == len(s) else (a + 1, b))
    return _cut(s, offs, cuts)


_SPACED = re.compile(
    r"(?<![^\W_])[a-z](?P<sep>[ ._\-*~+|/,:]{1,3})(?:[a-z](?P=sep))+[a-z](?![^\W_])"
)


def _join_spaced(s: str, offs: list[int]) -> tuple[str, list[int]]:
    cuts: list[tuple[int, int]] = []
    for m in _SPACED.finditer(s):
        step = 1 + len(m.group("sep"))
        cuts.extend((i + 1, i + step) for i in range(m.start(), m.end() - 1, step))
    return _cut(s, offs, cuts)


_LEET = str.maketrans("013457@$!", "oieastasi")
_LEET_RUN = re.compile(r"(?<=[a-z])[013457@$!]{1,3}(?=[a-z])")
_LEET_DOLLAR = re.compile(r"(?<![^\W_])(?<![$@!])\$(?=[a-z]{2})")
_AGE_AFTER = re.compile(r"y|(?:st|nd|rd|th)(?![a-z0-9])")  # a digit after is a word going on
_AGE_BEFORE = re.compile(r"(?:age|aged|grade|year|years|yr|yrs|gr)$")


def _reads_as_number(s: str, m: re.Match[str]) -> bool:
    """A digit run that is an age or a grade even inside a word (``im13yo``, ``grade5th``)."""
    run = m.group()
    if not run.isdigit() or run.startswith("0"):
        return False
    before = s[max(0, m.start() - 5) : m.start()]  # a bounded look back keeps this linear
    return bool(_AGE_AFTER.match(s, m.end())) or bool(_AGE_BEFORE.search(before))


def _fold_leet(s: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return m.group() if _reads_as_number(s, m) else m.group().translate(_LEET)

    # Runs inside words first: "$a0a" only shows its leading "$" to be a letter afterwards.
    return _LEET_DOLLAR.sub("s", _LEET_RUN.sub(repl, s))


_RUNS = re.compile(r"([^\W\d_])\1{2,}")


def _squeeze(s: str, offs: list[int]) -> tuple[str, list[int]]:
    cuts: list[tuple[int, int]] = []
    for m in _RUNS.finditer(s):
        keep = 3 if m.group(1) == "x" else 2
        if m.end() - m.start() > keep:  # keep the first and the last letters of the run, so
            cuts.append((m.start() + 1, m.end() - keep + 1))  # a span still covers all of it
    return _cut(s, offs, cuts)


def normalize(text: str) -> Normalized:
    """Fold ``text`` (steps 1–5 of the module docstring) and keep the map back to it."""
    s, offs = _fold_chars(text)
    s, offs = _collapse_spaces(s, offs)
    s, offs = _join_spaced(s, offs)
    s = _fold_leet(s)  # one for one: the offsets do not change
    s, offs = _squeeze(s, offs)
    offs.append(len(text))
    return Normalized(text, s, tuple(offs))
