"""The synthetic data generator: deterministic, well-formed, held-out disjoint by construction."""

from __future__ import annotations

import random
import re

import pytest

from childsafe.classifiers.text import synth

TRAIN = synth.load_templates("train")
HELDOUT = synth.load_templates("heldout")
SMALL = dict.fromkeys(synth.CLASS_LABELS, 20)


def _words_pattern(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])")


def _texts(t: synth.TemplateSet) -> list[str]:
    """Everything a template file can put in a sentence: frame literals and slot values."""
    frames = [re.sub(r"\{\w+\}", " | ", f) for fs in t.classes.values() for f in fs]
    return frames + [v for values in t.vocab.values() for v in values]


def test_both_files_cover_every_class() -> None:
    assert set(TRAIN.classes) == set(synth.CLASS_LABELS) == set(HELDOUT.classes)


def test_risk_is_exactly_minor_and_sexual_about_one_subject() -> None:
    for cls, (minor, sexual, risk) in synth.CLASS_LABELS.items():
        assert not risk or (minor and sexual), cls
    assert synth.CLASS_LABELS["mixed_subject"] == (True, True, False)


def test_generation_is_deterministic_and_seed_dependent() -> None:
    a = synth.generate(TRAIN, SMALL, seed=1)
    b = synth.generate(TRAIN, SMALL, seed=1)
    c = synth.generate(TRAIN, SMALL, seed=2)
    assert a == b
    assert [s.text for s in a] != [s.text for s in c]


def test_resizing_one_class_leaves_the_others_unchanged() -> None:
    a = synth.generate(TRAIN, SMALL, seed=3)
    b = synth.generate(TRAIN, {**SMALL, "risk": 35}, seed=3)
    assert [s for s in a if s.cls != "risk"] == [s for s in b if s.cls != "risk"]


def test_sizes_are_honoured_and_sentences_distinct() -> None:
    samples = synth.generate(HELDOUT, SMALL, seed=4)
    counts = {cls: sum(s.cls == cls for s in samples) for cls in SMALL}
    assert counts == SMALL
    assert len({s.text for s in samples}) == len(samples)


def test_full_sets_have_the_documented_sizes() -> None:
    train, spec = synth.training_data()
    heldout = synth.heldout_data()
    assert len(train) == sum(synth.TRAIN_SIZES.values()) >= 3000
    assert len(heldout) == sum(synth.HELDOUT_SIZES.values()) >= 1000
    assert sum(s.cls == "risk" for s in heldout) >= 300
    assert sum(s.cls == "benign_child" for s in heldout) >= 300
    assert spec["seed"] == synth.TRAIN_SEED


def test_no_generated_sentence_is_shared() -> None:
    train, _ = synth.training_data()
    heldout = synth.heldout_data()
    fold = {s.text.casefold().rstrip(".?") for s in train}
    assert not [s.text for s in heldout if s.text.casefold().rstrip(".?") in fold]


def test_no_frame_and_no_vocabulary_entry_is_shared() -> None:
    assert not {f for fs in TRAIN.classes.values() for f in fs} & {
        f for fs in HELDOUT.classes.values() for f in fs
    }
    train_values = {v for values in TRAIN.vocab.values() for v in values}
    heldout_values = {v for values in HELDOUT.vocab.values() for v in values}
    assert not train_values & heldout_values


@pytest.mark.parametrize(("one", "other"), [(TRAIN, HELDOUT), (HELDOUT, TRAIN)])
def test_no_signal_word_of_one_file_appears_in_the_other(
    one: synth.TemplateSet, other: synth.TemplateSet
) -> None:
    """Stronger than distinct strings: "little girl" in one file and "underage girl" in the
    other would share the word "girl", so held-out figures would not measure new wording."""
    terms = {v for slot in synth.KEY_SLOTS for v in one.vocab.get(slot, ()) if not v.isdigit()}
    texts = _texts(other)
    leaks = {t: hits for t in terms if (hits := [x for x in texts if _words_pattern(t).search(x)])}
    assert not leaks


def test_ages_are_disjoint_and_on_the_right_side_of_18() -> None:
    train = set(TRAIN.vocab["minor_age"]) | set(TRAIN.vocab["adult_age"])
    held = set(HELDOUT.vocab["minor_age"]) | set(HELDOUT.vocab["adult_age"])
    assert not train & held
    for t in (TRAIN, HELDOUT):
        assert all(int(a) < 18 for a in t.vocab["minor_age"])
        assert all(not a.isdigit() or int(a) >= 18 for a in t.vocab["adult_age"])


def test_risk_sentences_stay_short_and_clinical() -> None:
    """Risk examples only combine a minor mention with one mild term: a few words, no story."""
    for t in (TRAIN, HELDOUT):
        for sample in synth.generate(t, {"risk": 150}, seed=5, obfuscate=0.0):
            assert len(sample.text.split()) <= 14, sample.text


def test_articles_follow_the_word() -> None:
    vocab = {"x": ["apple", "pear", "8 year old", "nsfw"]}
    t = synth.parse_templates("t", {"vocab": vocab, "classes": {"benign_general": ["a {x} here"]}})
    samples = synth.generate(t, {"benign_general": 20}, seed=0, obfuscate=0.0)
    texts = {s.text.rstrip(".?").lower() for s in samples}
    assert texts == {"an apple here", "a pear here", "an 8 year old here", "an nsfw here"}


def test_obfuscations_change_the_word_as_documented() -> None:
    rng = random.Random(0)
    assert re.search(r"[4310575]", synth._obfuscate("seductive", "leet", rng))
    assert not synth._obfuscate("seductive", "homoglyph", rng).isascii()
    spaced = synth._obfuscate("nsfw", "spacing", rng)
    assert len(spaced) == 7 and spaced[::2] == "nsfw"
    assert synth._obfuscate("nsfw", "emoji", rng) == "🔞"
    hidden = synth._obfuscate("lingerie", "emoji", rng)
    assert hidden != "lingerie" and re.sub("[✨⭐💫🌸]", "", hidden) == "lingerie"
    with pytest.raises(ValueError, match="unknown obfuscation"):
        synth._obfuscate("x", "rot13", rng)


def test_obfuscated_variants_appear_in_both_sets() -> None:
    for t in (TRAIN, HELDOUT):
        samples = synth.generate(t, {"risk": 200, "benign_child": 200}, seed=6)
        kinds = {s.obfuscation for s in samples if s.obfuscation}
        assert kinds == set(synth.OBFUSCATIONS)
        assert {s.cls for s in samples if s.obfuscation} == {"risk", "benign_child"}


def test_samples_record_their_slot_values() -> None:
    sample = synth.generate(TRAIN, {"risk": 1}, seed=7, obfuscate=0.0)[0]
    assert sample.slots and all(v in TRAIN.vocab[slot] for slot, v in sample.slots)
    assert sample.labels() == {"minor": True, "sexual": True, "risk": True}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"vocab": {}}, "need 'vocab' and 'classes'"),
        ({"vocab": {"x": []}, "classes": {}}, "slot 'x' needs a non-empty list"),
        ({"vocab": {"x": ["a", "a"]}, "classes": {}}, "repeats a value"),
        ({"vocab": {"x": ["a"]}, "classes": {"other": ["{x}"]}}, "unknown class 'other'"),
        ({"vocab": {"x": ["a"]}, "classes": {"risk": ["{y}"]}}, "unknown 'y'"),
    ],
)
def test_bad_templates_are_refused_with_the_file_named(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"templates 'bad'.*{re.escape(message)}"):
        synth.parse_templates("bad", data)


def test_too_few_distinct_sentences_is_an_error_not_a_smaller_class() -> None:
    t = synth.parse_templates("tiny", {"vocab": {"x": ["a", "b"]},
                                       "classes": {"risk": ["{x}"]}})  # fmt: skip
    with pytest.raises(ValueError, match=r"only \d+ distinct 'risk' sentences"):
        synth.generate(t, {"risk": 50}, seed=0, obfuscate=0.0)


def test_unknown_template_set_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown template set"):
        synth.load_templates("../train")


def test_spec_digest_names_the_data() -> None:
    _, spec = synth.training_data()
    again = synth.data_spec([TRAIN], synth.TRAIN_SIZES, synth.TRAIN_SEED, synth.OBFUSCATE_RATE)
    other = synth.data_spec([TRAIN], synth.TRAIN_SIZES, synth.TRAIN_SEED + 1, synth.OBFUSCATE_RATE)
    assert synth.spec_sha256(spec) == synth.spec_sha256(again)
    assert synth.spec_sha256(spec) != synth.spec_sha256(other)
    assert re.fullmatch(r"[0-9a-f]{64}", synth.spec_sha256(spec))


def test_split_is_per_class_disjoint_and_deterministic() -> None:
    samples = synth.generate(TRAIN, SMALL, seed=8)
    first, second = synth.split(samples, 0.25, seed=1)
    assert synth.split(samples, 0.25, seed=1) == (first, second)
    assert len(first) + len(second) == len(samples)
    assert not {s.text for s in first} & {s.text for s in second}
    for cls in SMALL:
        assert sum(s.cls == cls for s in second) == 5
