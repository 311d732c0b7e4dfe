"""Pattern signals in text: minor indicators, sexual context and adult indicators, each with
its span in the original text.

Why rules next to a learned model: a rule says exactly which words matched and where, so a
reviewer sees *why* an item was routed to them without reading all of it, and an explicit age
("a 12 year old") is certain in a way no embedding is. Rules run on folded text
(``normalize.py``), so homoglyphs, zero-width characters, spaced letters and leetspeak do not
evade them, and every span is mapped back to the original characters.

A signal is a triage feature, never a verdict: "homework help for my 12 year old" fires a
minor signal and nothing else; only the *combination* with sexual context is a risk, and the
risk model (``risk.py``) scores that, routing items to human review.

How matching works: the folded text is split into ASCII word tokens (``[a-z0-9]+``), so
"Essex", "therapist" and "kidney" never contain a match. Each token is looked up in the
lexicon (``lexicon.TERMS``); a token that is a *trigger* (a number, "age", "grade", "under",
"little", …) also tries the few multi-word rules that start with it, anchored at the token.
That is one dictionary lookup per word plus a handful of anchored regex attempts, linear in
the text. Emoji are read from the original text (``lexicon.EMOJI``).

Ages: an explicit age under 18 is a ``minor`` signal; 18 or over is an ``adult`` signal and
never a minor one. ``signal_scores`` lets adult indicators ("18+", "over 18", "adult",
"a 25 year old") cancel only the *ambiguous* minor readings (``lexicon.CANCELLABLE``: "teen",
"schoolgirl", "under 18", child emoji), never an explicit age or "toddler".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from childsafe.classifiers.text.lexicon import (
    ADULT,
    CANCELLABLE,
    EMOJI,
    MINOR,
    ONES,
    ORDINALS,
    PHRASES,
    SEXUAL,
    TEENS,
    TENS,
    TERMS,
    Entry,
    number_words,
)
from childsafe.classifiers.text.normalize import EMOJI_WORDS, Normalized, normalize

__all__ = ["ADULT", "MINOR", "SEXUAL", "Signal", "find_signals", "signal_scores"]


@dataclass(frozen=True, slots=True)
class Signal:
    """One matched indicator.

    ``start``/``end`` index the ORIGINAL text; ``term`` is the lexicon word that matched, or
    the folded text of a multi-word match ("12 year old"); ``weight`` (0–1) is how strongly
    the match alone suggests its ``kind``.
    """

    kind: str
    name: str
    start: int
    end: int
    weight: float
    term: str


_Hit = tuple[int, int, str, str, float, str]  # folded start, end, kind, name, weight, term
_Emit = Callable[[re.Match[str]], Entry | None]

# --- number helpers --------------------------------------------------------------------------

_NUMBERS = number_words()
_NUMWORD = (
    rf"(?:(?:{'|'.join(TENS)})(?:[\s-]?(?:{'|'.join(ONES)}))?"
    rf"|{'|'.join(TEENS)}|{'|'.join(ONES)})(?![a-z])"
)
_UNITS = (
    r"(?!\s*(?:minutes?|mins?|hours?|hrs?|seconds?|secs?|days?|weeks?|months?|dollars?|"
    r"pounds?|euros?|bucks|cents?|%|percent|kg|kgs|lbs?|g|grams?|miles?|km|feet|ft|inch|"
    r"inches|cm|mm|points?|pts|items?|degrees?|mph|mb|gb|k)(?![a-z]))"
)


def _value(m: re.Match[str]) -> int:
    """The number in group ``n`` (digits) or ``w`` (words, "twenty-one")."""
    digits = m.groupdict().get("n")
    if digits:
        return int(digits)
    words = re.split(r"[\s-]+", m.group("w"))
    return sum(_NUMBERS[w] for w in words if w)


def _age(name: str, weight: float) -> _Emit:
    """An age: ``minor`` under 18, ``adult`` at 18 and over (0 is not an age)."""

    def emit(m: re.Match[str]) -> Entry | None:
        age = _value(m)
        if age == 0:
            return None
        return (MINOR, name, weight) if age < 18 else (ADULT, "adult_age", 0.85)

    return emit


def _minor_age_only(name: str, weight: float) -> _Emit:
    """A weak age form ("13 years"): evidence of a minor, too vague to vouch for an adult."""

    def emit(m: re.Match[str]) -> Entry | None:
        return (MINOR, name, weight) if 0 < _value(m) < 18 else None

    return emit


def _grade(weight: float, top: int = 12) -> _Emit:
    """A school grade or year up to ``top``; the last grades are near 18, so weaker."""

    def emit(m: re.Match[str]) -> Entry | None:
        groups = m.groupdict()
        level = ORDINALS.index(groups["o"]) + 1 if groups.get("o") else _value(m)
        if not 1 <= level <= top:
            return None
        return (MINOR, "school_grade", weight if level < top else weight * 0.75)

    return emit


def _under(m: re.Match[str]) -> Entry | None:
    """ "under 12" speaks of children; "under 18" is mostly an age gate or a disclaimer."""
    age = _value(m)
    if age in (18, 21):
        return (MINOR, "age_limit", 0.35)
    return (MINOR, "age_number", 0.85) if 0 < age < 18 else None


def _fixed(kind: str, name: str, weight: float) -> _Emit:
    return lambda m: (kind, name, weight)


@dataclass(frozen=True, slots=True)
class _Rule:
    regex: re.Pattern[str]
    emit: _Emit


def _rule(pattern: str, emit: _Emit) -> _Rule:
    return _Rule(re.compile(pattern), emit)


_YEARS = r"[\s-]*(?:years?|yrs?)"
_OLD = rf"{_YEARS}[\s-]*(?:old|of\s+age)(?![a-z])"
_YOUNG_UNITS = r"[\s-]*(?:months?|mos?|weeks?|wks?|days?)[\s-]*old(?![a-z])"
_N = r"(?P<n>\d{1,2})(?!\d)"
_SOON = r"ago|later|earlier|before|after|since|from|back|on|running|straight|of(?!\s+age)"

# Rules tried at a token that starts with a digit.
_DIGIT_RULES = (
    _rule(rf"{_N}{_OLD}", _age("age_number", 0.9)),
    _rule(rf"{_N}\s*(?:yo|y/o|y\.o\.?|yrs?o|yro)(?![a-z])", _age("age_number", 0.9)),
    _rule(rf"{_N}{_YOUNG_UNITS}", _fixed(MINOR, "age_number", 0.8)),
    _rule(
        rf"{_N}[\s-]*(?:years|yrs)(?![a-z])(?!\s*(?:{_SOON})(?![a-z]))",
        _minor_age_only("age_number", 0.3),
    ),
    _rule(rf"{_N}(?:st|nd|rd|th)[\s-]*grade(?:rs?)?(?![a-z])", _grade(0.8)),
    _rule(r"(?:18|21)\s*\+", _fixed(ADULT, "adult_term", 0.8)),
    _rule(
        r"18\s*\+\s*(?:content|material|videos?|vids?|pics?|photos?|images?|only)(?![a-z])",
        _fixed(SEXUAL, "euphemism", 0.6),
    ),
    _rule(
        r"(?:18|21)\s*(?:years?\s*)?(?:and|or)\s*(?:over|older|up|above)(?![a-z])",
        _fixed(ADULT, "adult_term", 0.8),
    ),
)
# Ages and counts are not read after these ("$12", "1.12", "12/05", "#12", "3:12").
_NOT_AN_AGE_AFTER = frozenset(".,$#/:£€")
# "in 12 years", "for 13 years": a duration, not an age.
_DURATION_BEFORE = re.compile(
    r"(?<![a-z])(?:in|for|past|last|next|over|within|after|than|every|each|these|those)\s+$"
)
_WEAK_AGE = _DIGIT_RULES[3]
# What every digit rule needs after the number: a unit, an ordinal, "+" or "and/or". Most
# numbers in text have none, and this one check spares them the eight rules.
_DIGIT_PREFILTER = re.compile(r"\d{1,2}(?:[\s-]*[ymwd]|st|nd|rd|th|\s*(?:\+|and|or))")
_PLUS_18 = _rule(r"18", _fixed(ADULT, "adult_term", 0.8))  # "+18"; its span takes the "+"

_WORD_AGE_RULES = (
    _rule(rf"(?P<w>{_NUMWORD}){_OLD}", _age("age_word", 0.9)),
    _rule(rf"(?P<w>{_NUMWORD})\s*(?:yo|y/o)(?![a-z])", _age("age_word", 0.85)),
    _rule(rf"(?P<w>{_NUMWORD}){_YOUNG_UNITS}", _fixed(MINOR, "age_word", 0.8)),
)
_ORDINAL_RULES = (_rule(rf"(?P<o>{'|'.join(ORDINALS)})[\s-]*grade(?:rs?)?(?![a-z])", _grade(0.8)),)
_AGE_IS = r"age[sd]?(?:\s+of)?\s*[:=]?\s*"
_AGE_RULES = (
    _rule(rf"{_AGE_IS}{_N}(?:\s*[-–—]\s*\d{{1,2}}|\s+to\s+\d{{1,2}})?", _age("age_number", 0.85)),
    _rule(rf"{_AGE_IS}(?P<w>{_NUMWORD})", _age("age_word", 0.85)),
)
_TRIGGER_RULES: dict[str, tuple[_Rule, ...]] = {
    **{w: _WORD_AGE_RULES for w in (*ONES, *TEENS, *TENS)},
    **{w: _ORDINAL_RULES for w in ORDINALS},
    **{w: _AGE_RULES for w in ("age", "aged", "ages")},
    "grade": (_rule(rf"grade\s*{_N}(?!\.\d)", _grade(0.45)),),
    "year": (_rule(rf"year\s*{_N}(?!\.\d)(?![\s-]*olds?(?![a-z]))", _grade(0.4, top=13)),),
    "under": (_rule(rf"under\s+(?:the\s+age\s+of\s+)?(?:{_N}|(?P<w>{_NUMWORD})){_UNITS}", _under),),
    "over": (
        _rule(
            rf"over\s+(?:the\s+age\s+of\s+)?(?:18|21|eighteen|twenty[\s-]?one)(?!\d){_UNITS}",
            _fixed(ADULT, "adult_term", 0.8),
        ),
    ),
    # "minor" is a noun here only after an article and before a pause or a function word:
    # "with a minor." / "a minor who", never "a minor issue".
    "minor": (
        _rule(
            r"minor(?=\s*(?:$|[.,;:!?)\]]|(?:who|and|or|is|was|in|at|on|under|aged?|of|as|to|"
            r"for|with)(?![a-z])))",
            _fixed(MINOR, "child_noun", 0.6),
        ),
    ),
}
for _trigger, _rules in PHRASES.items():
    _TRIGGER_RULES[_trigger] = _TRIGGER_RULES.get(_trigger, ()) + tuple(
        _rule(pattern, _fixed(kind, name, weight)) for pattern, kind, name, weight in _rules
    )
_ONES = frozenset(ONES)
_TENS_BEFORE = re.compile(rf"(?<![a-z])(?:{'|'.join(TENS)})[\s-]?$")
_ARTICLE_BEFORE = re.compile(r"(?<![a-z])(?:a|an|the|any|no|with|of|involving|is|was)\s+$")

_TOKEN = re.compile(r"[a-z0-9]+")
_DOUBLE = re.compile(r"([a-z])\1")
_VARIANTS = {
    word: entry
    for word, entry in TERMS.items()
    if len(word) >= 4 and word.isalpha() and not _DOUBLE.search(word)
}
_EMOJI = re.compile("[" + "".join(EMOJI) + "]")


def _lookup(word: str) -> tuple[Entry, str] | None:
    """The lexicon entry of a token, also for doubled-letter variants ("sexxy", "nuude");
    terms that have double letters of their own ("teen") must match exactly ("ten")."""
    entry = TERMS.get(word)
    if entry is not None:
        return entry, word
    if len(word) > 4 and _DOUBLE.search(word):
        # Folded runs are at most three long ("xxx"), so two passes leave single letters.
        squeezed = _DOUBLE.sub(r"\1", _DOUBLE.sub(r"\1", word))
        entry = _VARIANTS.get(squeezed)
        if entry is not None:
            return entry, squeezed
    return None


def _rules_at(t: str, token: str, pos: int) -> Iterable[_Rule]:
    if token[0].isdigit():
        before = t[pos - 1] if pos else ""
        if before == "+" and token == "18":
            return (_PLUS_18,)
        if before in _NOT_AN_AGE_AFTER:
            return ()
        if not _DIGIT_PREFILTER.match(t, pos):
            return ()
        if _DURATION_BEFORE.search(t, max(0, pos - 8), pos):
            return [r for r in _DIGIT_RULES if r is not _WEAK_AGE]
        return _DIGIT_RULES
    rules = _TRIGGER_RULES.get(token, ())
    if token in _ONES and _TENS_BEFORE.search(t, max(0, pos - 8), pos):
        return ()  # the "one" of "twenty-one": the tens word's own rule reads the number
    if token == "minor" and not _ARTICLE_BEFORE.search(t, max(0, pos - 12), pos):
        return ()
    return rules


def _folded_hits(t: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for m in _TOKEN.finditer(t):
        word, pos = m.group(), m.start()
        found = _lookup(word)
        if found is not None:
            (kind, name, weight), term = found
            hits.append((pos, m.end(), kind, name, weight, term))
        if word[0].isdigit() or word in _TRIGGER_RULES:
            for rule in _rules_at(t, word, pos):
                rm = rule.regex.match(t, pos)
                if rm is None:
                    continue
                entry = rule.emit(rm)
                if entry is not None:
                    start = pos - 1 if rule is _PLUS_18 else pos
                    hits.append((start, rm.end(), *entry, t[start : rm.end()]))
    return hits


def _drop_contained(signals: list[Signal]) -> list[Signal]:
    """Per kind, drop a signal inside a stronger (or equal) one: "teen" inside "pre-teen",
    "12 years" inside "12 years old". A sweep against the widest span so far keeps this
    linear."""
    signals.sort(key=lambda s: (s.start, -s.end, -s.weight))
    cover: dict[str, Signal] = {}
    kept: list[Signal] = []
    for s in signals:
        c = cover.get(s.kind)
        if c is not None and s.end <= c.end and c.weight >= s.weight:
            continue
        kept.append(s)
        if c is None or s.end > c.end:
            cover[s.kind] = s
    return kept


def find_signals(text: str | Normalized) -> list[Signal]:
    """All minor, sexual and adult signals of ``text``, ordered by start in the original."""
    norm = text if isinstance(text, Normalized) else normalize(text)
    original = norm.original
    signals: list[Signal] = []
    for a, b, kind, name, weight, term in _folded_hits(norm.text):
        start, end = norm.span(a, b)
        if end - start == 1 and original[start] in EMOJI_WORDS:
            continue  # the emoji's own signal below carries it, with its own weight
        signals.append(Signal(kind, name, start, end, weight, term))
    if not original.isascii():
        for m in _EMOJI.finditer(original):
            for kind, weight in EMOJI[m.group()]:
                word = EMOJI_WORDS[m.group()]
                signals.append(Signal(kind, "emoji", m.start(), m.end(), weight, word))
    return _drop_contained(signals)


def _noisy_or(weights: Iterable[float]) -> float:
    return 1.0 - math.prod(1.0 - min(max(w, 0.0), 1.0) for w in weights)


def signal_scores(signals: Sequence[Signal]) -> dict[str, float]:
    """``{"minor": p, "sexual": p}``: the noisy-OR of the signals' weights, each distinct
    (kind, name, term) counted once so that repeating a word does not inflate the score.

    Adult indicators (their own noisy-OR, ``a``) scale the cancellable minor signals by
    ``1 - a``: "18+ teen" is an adult-content label, "18+ … a 12 year old" is not.
    """
    best: dict[tuple[str, str, str], float] = {}
    for s in signals:
        key = (s.kind, s.name, s.term)
        best[key] = max(best.get(key, 0.0), s.weight)
    adult = _noisy_or(w for (kind, _, _), w in best.items() if kind == ADULT)
    minor = _noisy_or(
        w * (1.0 - adult) if name in CANCELLABLE else w
        for (kind, name, _), w in best.items()
        if kind == MINOR
    )
    sexual = _noisy_or(w for (kind, _, _), w in best.items() if kind == SEXUAL)
    return {MINOR: minor, SEXUAL: sexual}
