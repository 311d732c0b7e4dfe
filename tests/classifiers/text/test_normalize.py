"""Text folding: one table of cases per step, spans back to the original, and properties.

All fixtures are benign words or the mild terms the detectors exist for ("nude", "sexy");
disguised spellings of them are what the folding must undo.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from childsafe.classifiers.text.normalize import EMOJI_WORDS, normalize

FOLDING = [
    # step 1d: NFKC
    ("fullwidth", "ｎｕｄｅ", "nude"),
    ("ligature", "ﬁne", "fine"),
    ("mathematical bold", "𝐧𝐮𝐝𝐞", "nude"),
    ("circled letters", "ⓚⓘⓓ", "kid"),
    ("fullwidth digits", "１２ years", "12 years"),
    # step 1g: case-fold
    ("upper case", "NuDE", "nude"),
    ("sharp s", "STRAßE", "strasse"),
    # step 1b: invisible characters
    ("zero-width space", "nu\u200bde", "nude"),
    ("zero-width joiner and non-joiner", "nu\u200dd\u200ce", "nude"),
    ("soft hyphen", "nu\u00adde", "nude"),
    ("byte order mark", "\ufeffnude", "nude"),
    ("word joiner", "nu\u2060de", "nude"),
    ("variation selector", "nu\ufe0fde", "nude"),
    ("bidi override", "\u202enude\u202c", "nude"),
    ("tag characters", "nu\U000e0041de", "nude"),
    ("control characters", "\x00nu\x07de\x7f", "nude"),
    ("Hangul filler", "nu\u3164de", "nude"),
    # step 1f: homoglyphs
    ("Cyrillic lower", "nuԁе", "nude"),
    ("Cyrillic upper", "КІD", "kid"),
    ("Greek upper", "ΝΟΤΕ", "note"),
    ("small capitals", "ᴋɪᴅ", "kid"),
    ("negative squared letters", "🅽🆄🅳🅴", "nude"),
    ("regional indicators", "🇳🇺🇩🇪", "nude"),
    ("Greek kept where no look-alike", "λδφψ", "λδφψ"),
    # step 1e: diacritics
    ("precomposed accents", "nüdé", "nude"),
    ("combining accents", "nu\u0301de\u0308", "nude"),
    ("zalgo marks", "n\u0336\u0301u\u035cd\u0489e", "nude"),
    ("Devanagari vowel signs kept", "हिन्दी", "हिन्दी"),
    # step 1a/1h: emoji
    ("child emoji", "\U0001f476", "child"),
    ("emoji glued to a word", "my\U0001f467", "my child"),
    ("skin tone removed", "\U0001f467\U0001f3fd", "child"),
    ("school emoji", "\U0001f3eb \U0001f392", "school school"),
    ("sexual emoji", "\U0001f351", "sexual"),
    ("other emoji separate words", "hot\U0001f600stuff", "hot stuff"),
    ("other emoji alone", "\U0001f600\u2764\ufe0f", ""),
    ("keycap digit", "1\ufe0f\u20e3", "1"),
    # step 2: whitespace
    ("runs of whitespace", "a \t\n  b", "a b"),
    ("no-break and ideographic spaces", "an\u00a0ox\u3000go", "an ox go"),
    ("line separator", "a\u2028b", "a b"),
    ("trimmed", "  nude  ", "nude"),
    # step 3: spaced letters
    ("spaces", "s e x y", "sexy"),
    ("dots", "s.e.x.y", "sexy"),
    ("hyphens", "s-e-x-y", "sexy"),
    ("spaced dots", "s . e . x . y", "sexy"),
    ("underscores", "n_u_d_e", "nude"),
    ("emoji as separators", "s\U0001f600e\U0001f600x\U0001f600y", "sexy"),
    ("three letters are enough", "x x x", "xxx"),
    ("joined inside a sentence", "so S E X Y pics", "so sexy pics"),
    ("two letters stay", "e.g. y o", "e.g. y o"),
    ("mixed separators stay", "s e.x y", "s e.x y"),
    ("digits are not joined", "1 2 3", "1 2 3"),
    ("an age is not joined", "a 5 y o", "a 5 y o"),
    # step 4: leetspeak inside words
    ("digit between letters", "s3xy", "sexy"),
    ("doubled digits", "n00d", "nood"),
    ("one for i", "k1d", "kid"),
    ("four and seven", "wh4t m7h", "what mth"),
    ("at sign", "h@t", "hat"),
    ("bang", "k!d", "kid"),
    ("dollar starting a word", "$exy", "sexy"),
    ("zero before y is not an age", "b0y", "boy"),
    # ... and numbers that must survive
    ("standalone age", "age 9", "age 9"),
    ("age with unit", "13yo", "13yo"),
    ("age with y/o", "12 y/o", "12 y/o"),
    ("ordinal", "5th grade", "5th grade"),
    ("trailing digits", "grade5 year7 mp3", "grade5 year7 mp3"),
    ("age inside a word", "im13yo", "im13yo"),
    ("age after age", "age13and", "age13and"),
    ("ordinal inside a word", "grade5th", "grade5th"),
    ("not all leet digits", "covid19vaccine", "covid19vaccine"),
    ("long digit run", "a13457b", "a13457b"),
    ("money", "$12", "$12"),
    ("exclamation ends a sentence", "wow!", "wow!"),
    # step 5: letter runs
    ("long run to two", "sooooo", "soo"),
    ("three to two", "goood", "good"),
    ("double stays", "good", "good"),
    ("x runs to three", "xxxxx", "xxx"),
    ("xx stays", "love xx", "love xx"),
    ("digits are not squeezed", "1000000", "1000000"),
    ("punctuation is not squeezed", "what!!!!", "what!!!!"),
    ("leet then squeeze", "n000de", "noode"),
]


@pytest.mark.parametrize(("rule", "original", "expected"), FOLDING, ids=[c[0] for c in FOLDING])
def test_folding_rules(rule: str, original: str, expected: str) -> None:
    assert normalize(original).text == expected


SPANS = [
    # (original, folded word to find, the original characters it must map to)
    ("ｎｕｄｅ pics", "nude", "ｎｕｄｅ"),
    ("a nu\u200bԁе pic", "nude", "nu\u200bԁе"),
    ("hey s . e . x . y!", "sexy", "s . e . x . y"),
    ("my \U0001f467\U0001f3fd photo", "child", "\U0001f467"),
    ("wow s3xy", "sexy", "s3xy"),
    ("sooooo good", "soo", "sooooo"),
    ("so sexxxxy", "sexxxy", "sexxxxy"),
    ("STRAßE", "strasse", "STRAßE"),
    ("a ﬁne day", "fine", "ﬁne"),
    ("a\t\tb", "a b", "a\t\tb"),
    ("n\u0308u\u0301de", "nude", "n\u0308u\u0301de"),
]


@pytest.mark.parametrize(("original", "word", "expected"), SPANS)
def test_spans_map_back_to_the_original_characters(original: str, word: str, expected: str) -> None:
    n = normalize(original)
    i = n.text.index(word)
    start, end = n.span(i, i + len(word))
    assert original[start:end] == expected


def test_offsets_of_a_folded_text() -> None:
    n = normalize("A\u200bB")
    assert n.text == "ab"
    assert n.offsets == (0, 2, 3)
    assert n.original == "A\u200bB"
    assert n.span(1, 1) == (2, 2)
    with pytest.raises(ValueError, match="outside"):
        n.span(0, 3)


def test_every_meaningful_emoji_folds_to_its_word() -> None:
    for emoji, word in EMOJI_WORDS.items():
        assert normalize(f"a{emoji}b").text == f"a {word} b"


def test_lone_surrogates_and_empty_text_do_not_raise() -> None:
    assert normalize("").text == ""
    assert normalize("").offsets == (0,)
    assert normalize("nu\ud800de").text == "nude"


@given(st.text())
@settings(max_examples=300)
def test_offsets_are_a_monotonic_map_into_the_original(text: str) -> None:
    n = normalize(text)
    assert n.original == text
    assert len(n.offsets) == len(n.text) + 1
    assert n.offsets[-1] == len(text)
    assert all(a <= b for a, b in zip(n.offsets, n.offsets[1:], strict=False))
    assert all(0 <= o < len(text) for o in n.offsets[:-1])


@given(st.text(), st.data())
@settings(max_examples=200)
def test_any_span_stays_inside_the_original(text: str, data: st.DataObject) -> None:
    n = normalize(text)
    end = data.draw(st.integers(0, len(n.text)))
    start = data.draw(st.integers(0, end))
    a, b = n.span(start, end)
    assert 0 <= a <= b <= len(text)


_TRICKY = st.sampled_from(
    [
        *"abcdeklnsuxyz ABSEX.-_*013457@$!\t",
        "\u200b",
        "\u00ad",
        "е",
        "ѕ",
        "ｎ",
        "é",
        "e\u0301",
        "\U0001f467",
        "\U0001f600",
        "𝐧",
    ]
)


@given(st.lists(_TRICKY, max_size=40).map("".join) | st.text())
@settings(max_examples=500)
@example("a1\uff4ed0a")  # found in CI: "nd" read as an ordinal before "0" was folded to "o"
def test_folding_is_idempotent(text: str) -> None:
    # Per character this holds for every code point (each folded character folds to itself);
    # the tricky alphabet exercises how the word-level steps interact.
    once = normalize(text).text
    assert normalize(once).text == once


@given(
    st.lists(
        st.from_regex(r"[a-z]{2,8}", fullmatch=True).filter(
            lambda w: not any(w[i] == w[i + 1] == w[i + 2] for i in range(len(w) - 2))
        ),
        min_size=1,
        max_size=10,
    ).map(" ".join)
)
def test_plain_lower_case_words_are_left_alone(text: str) -> None:
    n = normalize(text)
    assert n.text == text
    assert n.offsets == tuple(range(len(text) + 1))


PROMPT = (
    "Can you help me write a short story about a girl who goes to middle school and learns "
    "to play the violin? She is shy, but her music teacher helps her to play at the big concert "
    "in town."
)


def _cpu_seconds(fn: object, *args: object, repeat: int = 1) -> float:
    """CPU time of this process, so that other work on the shared cores does not count."""
    start = time.process_time()
    for _ in range(repeat):
        fn(*args)  # type: ignore[operator]
    return (time.process_time() - start) / repeat


@pytest.mark.parametrize(
    "unit",
    [
        PROMPT + " ",
        "Ｃａｎ мe \U0001f467\U0001f3fd wr1te é s.e.x.y ",
        "a " * 40,
        "\u200b" * 40,
        "e\u0301" * 40,
    ],
    ids=["prose", "mixed", "spaced-letters", "zero-width", "combining"],
)
def test_folding_is_linear_in_the_text_length(unit: str) -> None:
    """Huge input must not blow up: 1 MB costs about ten times 100 kB, never a hundred.

    A ratio, not a time budget (speed is measured in bench/bench_text_patterns.py); the
    generous bound still catches any quadratic step."""
    small = unit * (100_000 // len(unit) + 1)
    large = unit * (1_000_000 // len(unit) + 1)
    normalize(small)
    t_small = min(_cpu_seconds(normalize, small) for _ in range(3))
    t_large = _cpu_seconds(normalize, large)
    assert t_large < 30 * max(t_small, 1e-3)
