"""Pattern signals: each indicator fires with the right span, adults and look-alike words do
not, benign child contexts fire only ``minor``, and scores combine as documented.

Risk fixtures follow the project rule: a benign minor mention combined with one mild term
("nsfw picture of a 12 year old"), short and clinical, nothing more.
"""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from childsafe.classifiers.text.lexicon import ONES, TEENS, TENS, TERMS
from childsafe.classifiers.text.normalize import normalize
from childsafe.classifiers.text.patterns import (
    ADULT,
    MINOR,
    SEXUAL,
    Signal,
    find_signals,
    signal_scores,
)


def _of(text: str, kind: str) -> list[Signal]:
    return [s for s in find_signals(text) if s.kind == kind]


def _spans(text: str, kind: str) -> list[tuple[str, str]]:
    """(name, original characters) of the signals of one kind."""
    return [(s.name, text[s.start : s.end]) for s in _of(text, kind)]


MINOR_CASES = [
    # (text, signal name, the original characters it must cover)
    ("a story about a 12 year old", "age_number", "12 year old"),
    ("my 12yo", "age_number", "12yo"),
    ("she is 12 y/o", "age_number", "12 y/o"),
    ("12 y.o. student", "age_number", "12 y.o."),
    ("13 years old", "age_number", "13 years old"),
    ("a 9-year-old", "age_number", "9-year-old"),
    ("12 years of age", "age_number", "12 years of age"),
    ("age 12", "age_number", "age 12"),
    ("Age: 12", "age_number", "Age: 12"),
    ("aged 7", "age_number", "aged 7"),
    ("at the age of 11", "age_number", "age of 11"),
    ("ages 9-12", "age_number", "ages 9-12"),
    ("under 13", "age_number", "under 13"),
    ("a 6 month old", "age_number", "6 month old"),
    ("I am 13 years", "age_number", "13 years"),
    ("aged twelve", "age_word", "aged twelve"),
    ("a twelve-year-old", "age_word", "twelve-year-old"),
    ("seventeen years old", "age_word", "seventeen years old"),
    ("five yo", "age_word", "five yo"),
    ("5th grade", "school_grade", "5th grade"),
    ("a 3rd-grader", "school_grade", "3rd-grader"),
    ("fifth grader", "school_grade", "fifth grader"),
    ("grade 4", "school_grade", "grade 4"),
    ("in year 7", "school_grade", "year 7"),
    ("middle school", "school_grade", "middle school"),
    ("elementary school", "school_grade", "elementary school"),
    ("elementary", "school_grade", "elementary"),
    ("kindergarten", "school_grade", "kindergarten"),
    ("preschoolers", "school_grade", "preschoolers"),
    ("junior high", "school_grade", "junior high"),
    ("a child", "child_noun", "child"),
    ("the kids", "child_noun", "kids"),
    ("a toddler", "child_noun", "toddler"),
    ("preteen", "child_noun", "preteen"),
    ("pre-teen", "child_noun", "pre-teen"),
    ("a tween", "child_noun", "tween"),
    ("little girl", "child_noun", "little girl"),
    ("a little boy", "child_noun", "little boy"),
    ("underage", "child_noun", "underage"),
    ("under-age", "child_noun", "under-age"),
    ("minors", "child_noun", "minors"),
    ("talking with a minor.", "child_noun", "minor"),
    ("a minor who", "child_noun", "minor"),
    ("infant", "child_noun", "infant"),
    ("schoolgirl", "youth_term", "schoolgirl"),
    ("school boy", "youth_term", "school boy"),
    ("teen", "youth_term", "teen"),
    ("teenager", "youth_term", "teenager"),
    ("young girls", "youth_term", "young girls"),
    ("under 18", "age_limit", "under 18"),
    ("loli", "age_coded", "loli"),
    ("shota", "age_coded", "shota"),
    ("jailbait", "age_coded", "jailbait"),
]


@pytest.mark.parametrize(("text", "name", "covered"), MINOR_CASES)
def test_minor_indicators(text: str, name: str, covered: str) -> None:
    assert (name, covered) in _spans(text, MINOR)


def test_ambiguous_words_weigh_less_than_explicit_ages() -> None:
    teen = _of("teen", MINOR)[0].weight
    age = _of("a 12 year old", MINOR)[0].weight
    toddler = _of("toddler", MINOR)[0].weight
    assert teen < toddler < age


@given(
    st.integers(1, 17),
    st.sampled_from(["{} year old", "{}yo", "age {}", "{}-year-old", "aged {}", "{} y/o"]),
)
def test_every_age_under_18_is_a_minor(age: int, form: str) -> None:
    signals = find_signals("a " + form.format(age))
    assert [s.name for s in signals if s.kind == MINOR] == ["age_number"]
    assert not [s for s in signals if s.kind == ADULT]


@given(
    st.integers(18, 99),
    st.sampled_from(["{} year old", "{}yo", "age {}", "{}-year-old", "aged {}", "{} y/o"]),
)
def test_ages_of_18_and_over_are_adult_never_minor(age: int, form: str) -> None:
    signals = find_signals("a " + form.format(age))
    assert not [s for s in signals if s.kind == MINOR]
    assert [s.name for s in signals if s.kind == ADULT] == ["adult_age"]


def _in_words(n: int) -> str:
    if n < 10:
        return ONES[n - 1]
    if n < 20:
        return TEENS[n - 10]
    tens, ones = divmod(n, 10)
    return TENS[tens - 2] + (f"-{ONES[ones - 1]}" if ones else "")


@pytest.mark.parametrize("age", range(1, 100))
def test_ages_in_words(age: int) -> None:
    signals = find_signals(f"a {_in_words(age)} year old")
    kinds = [s.kind for s in signals]
    assert kinds == ([MINOR] if age < 18 else [ADULT])
    assert signals[0].name == ("age_word" if age < 18 else "adult_age")


@pytest.mark.parametrize(
    "text",
    ["18+", "+18", "over 18", "over the age of eighteen", "18 and over", "18 or older",
     "adults only", "consenting adults", "of legal age"],
)  # fmt: skip
def test_adult_indicators(text: str) -> None:
    assert _of(text, ADULT)
    assert not _of(text, MINOR)


def test_adult_indicators_cancel_only_ambiguous_minor_readings() -> None:
    def minor(text: str) -> float:
        return signal_scores(find_signals(text))[MINOR]

    assert minor("18+ teen") < minor("teen") / 2
    assert minor("over 18 schoolgirl") < minor("schoolgirl") / 2
    assert minor("18+ a 12 year old") == minor("a 12 year old")
    assert minor("adults and a toddler") == minor("a toddler")


SEXUAL_TERMS = [
    "nsfw", "nude", "naked", "sexy", "lingerie", "erotic", "seductive", "explicit", "porn",
    "xxx", "onlyfans", "hentai", "sexual", "intimate", "undressed", "topless", "suggestive",
    "provocative", "lewd",
]  # fmt: skip


@pytest.mark.parametrize("term", SEXUAL_TERMS)
def test_sexual_terms(term: str) -> None:
    text = f"a {term} picture"
    assert ("sexual_term", term) in _spans(text, SEXUAL)
    assert not _of(text, MINOR)


@pytest.mark.parametrize(
    ("text", "covered"),
    [
        ("18+ content", "18+ content"),
        ("adult content", "adult content"),
        ("not safe for work", "not safe for work"),
        ("rule 34", "rule 34"),
        ("spicy pics", "spicy pics"),
        ("without clothes", "without clothes"),
    ],
)
def test_euphemisms(text: str, covered: str) -> None:
    assert ("euphemism", covered) in _spans(text, SEXUAL)


@pytest.mark.parametrize(
    "text",
    [
        "Essex and Sussex", "Middlesex", "unisex toilets", "my therapist", "kidney beans",
        "just kidding", "skidding tyres", "a gentle nudge", "explicitly allowed",
        "a minor issue", "minor changes", "in the year 2000", "12 years ago", "for 13 years",
        "in 12 years", "page 12", "under 5 minutes", "costs $12", "1.12 years", "on 12/05",
        "grade 13 steel", "year 2024", "the adolescence of a company", "tennis",
        "a ten minute walk", "kidnapping novel", "teenth",
    ],
)  # fmt: skip
def test_look_alike_words_do_not_fire(text: str) -> None:
    signals = find_signals(text)
    assert not [s for s in signals if s.kind in (MINOR, SEXUAL)], signals


def test_teenage_mutant_ninja_turtles_fire_minor_weakly() -> None:
    signals = find_signals("Teenage Mutant Ninja Turtles")
    assert [s.kind for s in signals] == [MINOR]
    assert signals[0].weight <= 0.35


BENIGN_CHILD = [
    "Can you help my 10 year old with her fractions homework?",
    "Tips for getting a toddler to sleep through the night",
    "My teenager spends too much time on her phone, what should I do?",
    "Which vaccines does a 6 month old need?",
    "Fun science projects for 5th graders",
    "The paediatrician said children under 12 need a booster seat",
    "Write a bedtime story for kids about a brave little girl and her dog",
    "How do I explain growing up to my 11 year old son?",
    "Our kindergarten class is going to the zoo",
    "Is a fever of 38 degrees dangerous for an infant?",
]


@pytest.mark.parametrize("text", BENIGN_CHILD)
def test_benign_child_contexts_fire_only_minor(text: str) -> None:
    signals = find_signals(text)
    assert {s.kind for s in signals} == {MINOR}
    scores = signal_scores(signals)
    assert scores[MINOR] >= 0.4
    assert scores[SEXUAL] == 0.0


RISK = [
    "nsfw picture of a 12 year old",
    "n.s.f.w pic of a 12yo",
    "ｎｕｄｅ photo, age 11",
    "s3xy pics of a 5th grader",
    "lingerie \U0001f467",
]


@pytest.mark.parametrize("text", RISK)
def test_risk_examples_fire_both(text: str) -> None:
    scores = signal_scores(find_signals(text))
    assert scores[MINOR] >= 0.4
    assert scores[SEXUAL] >= 0.5


DISGUISED = [
    # (text, kind, the original characters the signal must cover)
    ("a ѕ\u200bеху pic", SEXUAL, "ѕ\u200bеху"),
    ("ｎｕｄｅ", SEXUAL, "ｎｕｄｅ"),
    ("so s . e . x . y", SEXUAL, "s . e . x . y"),
    ("s3xy", SEXUAL, "s3xy"),
    ("n\u0308u\u0301de", SEXUAL, "n\u0308u\u0301de"),
    ("sooo sexxxxy", SEXUAL, "sexxxxy"),
    ("nuuude", SEXUAL, "nuuude"),
    ("a \U0001f467\U0001f3fd and \U0001f351", MINOR, "\U0001f467"),
    ("a \U0001f467 and \U0001f351", SEXUAL, "\U0001f351"),
    ("a １２ уear old", MINOR, "１２ уear old"),
    ("𝐤𝐢𝐝𝐬", MINOR, "𝐤𝐢𝐝𝐬"),
    ("ʟᴏʟɪ", MINOR, "ʟᴏʟɪ"),
    ("t33n", MINOR, "t33n"),
    ("a KI\u00adD", MINOR, "KI\u00adD"),
]


@pytest.mark.parametrize(("text", "kind", "covered"), DISGUISED)
def test_spans_point_at_the_original_characters(text: str, kind: str, covered: str) -> None:
    assert covered in [text[s.start : s.end] for s in _of(text, kind)]


def test_an_emoji_is_one_signal_not_also_its_word() -> None:
    signals = find_signals("\U0001f467")
    assert [(s.kind, s.name) for s in signals] == [(MINOR, "emoji")]
    assert (signals[0].start, signals[0].end) == (0, 1)


def test_a_contained_weaker_signal_is_dropped() -> None:
    assert [s.term for s in find_signals("a pre-teen")] == ["pre-teen"]
    assert [s.term for s in find_signals("13 years old")] == ["13 years old"]


def test_signals_are_ordered_by_start() -> None:
    signals = find_signals("nude child lingerie 9yo")
    assert [s.start for s in signals] == sorted(s.start for s in signals)
    assert [s.term for s in signals] == ["nude", "child", "lingerie", "9yo"]


def test_a_normalized_text_gives_the_same_signals() -> None:
    text = "ｎｕｄｅ photo, age 11"
    assert find_signals(normalize(text)) == find_signals(text)


def test_scores_are_the_noisy_or_of_distinct_terms() -> None:
    nude, lingerie = TERMS["nude"][2], TERMS["lingerie"][2]
    scores = signal_scores(find_signals("nude lingerie"))
    assert math.isclose(scores[SEXUAL], 1 - (1 - nude) * (1 - lingerie))
    assert scores[MINOR] == 0.0
    assert signal_scores(find_signals("nude nude nude")) == signal_scores(find_signals("nude"))
    assert signal_scores([]) == {MINOR: 0.0, SEXUAL: 0.0}


def test_empty_and_binary_text() -> None:
    assert find_signals("") == []
    assert find_signals("\x00\x01\ud800\xff" * 100) == []


@given(st.text())
@settings(max_examples=300)
def test_any_text_gives_valid_signals(text: str) -> None:
    signals = find_signals(text)
    for s in signals:
        assert s.kind in (MINOR, SEXUAL, ADULT)
        assert 0 <= s.start < s.end <= len(text)
        assert 0.0 < s.weight <= 1.0
    assert all(0.0 <= v <= 1.0 for v in signal_scores(signals).values())


@pytest.mark.parametrize(
    "unit",
    [
        "Can you help me write a story about a 12 year old who goes to school? ",
        "nsfw 12 year old teen kid under 18 age 9 5th grade ",
        "12 " * 20,
    ],
    ids=["prose", "dense-signals", "numbers"],
)
def test_scanning_is_linear_in_the_text_length(unit: str) -> None:
    """1 MB costs about ten times 100 kB (a ratio, not a time budget: speed lives in
    bench/bench_text_patterns.py); the generous bound still catches any quadratic step."""

    def cpu(text: str) -> float:
        start = time.process_time()  # CPU time: other work on the shared cores does not count
        find_signals(text)
        return time.process_time() - start

    small = unit * (100_000 // len(unit) + 1)
    large = unit * (1_000_000 // len(unit) + 1)
    cpu(small)
    t_small = min(cpu(small) for _ in range(3))
    assert cpu(large) < 30 * max(t_small, 1e-3)
    assert find_signals(small[:2000]) or unit.startswith("12 ")
