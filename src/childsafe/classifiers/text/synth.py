"""Synthetic, non-explicit sentences for training and testing the ``text_risk`` heads.

No public, lawful labelled data set exists for this task (docs/models/text-risk.md), so the
heads learn from sentences built from templates kept in the repo: a *frame* with ``{slot}``
holes, filled from per-slot vocabularies. The risk is factorised, so every class is lawful to
hold: benign general text, benign text about children (the hard negatives), mild adult-only
terms about adults, and the risk class, which only ever *combines* a benign minor mention with
one mild term ("nsfw picture of a 12 year old"): short and clinical, never an act or a body.

Two template files keep evaluation honest: ``train.json`` feeds training and threshold
choice, ``heldout.json`` only evaluation. They share no frame, no slot value, and no minor,
adult or mild-term word, so held-out figures measure generalisation to new wording rather
than recall of memorised phrases (``tests/classifiers/text/test_synth.py`` checks this).
Generation is a pure function of the templates, the class sizes and a seed, and the
:func:`data_spec` digest of those inputs is stored in the head file, so a trained model names
exactly the data it saw.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

GENERATOR_VERSION = 1
LABELS = ("minor", "sexual", "risk")

# What each class means, label by label (minor, sexual, risk). ``mixed_subject`` mentions a
# child and an adult term about *different* subjects (parental controls, a parents' evening
# out): risk must stay off when the two do not describe the same person.
CLASS_LABELS: Mapping[str, tuple[bool, bool, bool]] = {
    "benign_general": (False, False, False),
    "benign_child": (True, False, False),
    "adult_sexual": (False, True, False),
    "adult_young": (False, False, False),
    "adult_young_sexual": (False, True, False),
    "mixed_subject": (True, True, False),
    "risk": (True, True, True),
}

# Slots that carry the signal (minor, adult, mild-term words). Obfuscation targets them, and
# the disjointness test requires that none of their values appears as a word in the other file.
KEY_SLOTS = frozenset(
    {
        "child",
        "children",
        "minor_phrase",
        "minor_age",
        "teen",
        "grade",
        "young_child",
        "sexual_adj",
        "sexual_thing",
        "lingerie_item",
        "adult_content",
        "adult",
        "adult_age",
        "young_adult",
    }
)

TRAIN_SIZES: Mapping[str, int] = {
    "benign_general": 900,
    "benign_child": 1200,
    "adult_sexual": 550,
    "adult_young": 300,
    "adult_young_sexual": 250,
    "mixed_subject": 300,
    "risk": 800,
}
HELDOUT_SIZES: Mapping[str, int] = {
    "benign_general": 200,
    "benign_child": 400,
    "adult_sexual": 150,
    "adult_young": 100,
    "adult_young_sexual": 100,
    "mixed_subject": 100,
    "risk": 400,
}
TRAIN_SEED = 20240423
HELDOUT_SEED = 20240424
OBFUSCATE_RATE = 0.2

_SLOT = re.compile(r"\{(\w+)\}")
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_HOMOGLYPH = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
    "i": "\u0456",
    "y": "\u0443",
    "s": "\u0455",
}
_EMOJI_FOR = {"nsfw": "🔞", "kid": "🧒", "child": "🧒", "girl": "👧", "boy": "👦", "baby": "👶"}
_FILLER_EMOJI = ("✨", "⭐", "💫", "🌸")
_SEPARATORS = (" ", ".", "-", "_")
_AN_WORDS = frozenset({"nsfw", "x", "hour", "honest", "mri"})
_A_PREFIXES = ("uni", "use", "usu", "eu", "one")


@dataclass(frozen=True, slots=True)
class TemplateSet:
    """One template file: slot vocabularies and, per class, its frames."""

    name: str
    vocab: Mapping[str, tuple[str, ...]]
    classes: Mapping[str, tuple[str, ...]]

    def canonical(self) -> dict[str, Any]:
        """A JSON-able form with sorted keys, for digests."""
        return {
            "name": self.name,
            "vocab": {k: list(v) for k, v in sorted(self.vocab.items())},
            "classes": {k: list(v) for k, v in sorted(self.classes.items())},
        }


@dataclass(frozen=True, slots=True)
class Sample:
    """One generated sentence with its class and what produced it."""

    text: str
    cls: str
    frame: str
    obfuscation: str | None = None
    slots: tuple[tuple[str, str], ...] = ()  # (slot, plain value) in frame order

    @property
    def minor(self) -> bool:
        return CLASS_LABELS[self.cls][0]

    @property
    def sexual(self) -> bool:
        return CLASS_LABELS[self.cls][1]

    @property
    def risk(self) -> bool:
        return CLASS_LABELS[self.cls][2]

    def labels(self) -> dict[str, bool]:
        return dict(zip(LABELS, CLASS_LABELS[self.cls], strict=True))


def parse_templates(name: str, data: Mapping[str, Any]) -> TemplateSet:
    """Validate a template mapping: known classes, non-empty lists, every slot defined.

    Raises ``ValueError`` naming the file and the problem, so a bad edit to a template file
    fails at load, not as a silently smaller data set.
    """
    vocab_raw, classes_raw = data.get("vocab"), data.get("classes")
    if not isinstance(vocab_raw, Mapping) or not isinstance(classes_raw, Mapping):
        raise ValueError(f"templates {name!r}: need 'vocab' and 'classes' objects")
    vocab: dict[str, tuple[str, ...]] = {}
    for slot, values in vocab_raw.items():
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) for v in values)
        ):
            raise ValueError(f"templates {name!r}: slot {slot!r} needs a non-empty list of strings")
        if len(set(values)) != len(values):
            raise ValueError(f"templates {name!r}: slot {slot!r} repeats a value")
        vocab[slot] = tuple(values)
    classes: dict[str, tuple[str, ...]] = {}
    for cls, frames in classes_raw.items():
        if cls not in CLASS_LABELS:
            raise ValueError(f"templates {name!r}: unknown class {cls!r}")
        if not isinstance(frames, list) or not frames:
            raise ValueError(f"templates {name!r}: class {cls!r} needs a non-empty list")
        for frame in frames:
            for slot in _SLOT.findall(frame):
                if slot not in vocab:
                    raise ValueError(f"templates {name!r}: frame {frame!r} uses unknown {slot!r}")
        classes[cls] = tuple(frames)
    return TemplateSet(name, vocab, classes)


def load_templates(name: str) -> TemplateSet:
    """A template file shipped with childsafe: ``"train"`` or ``"heldout"``."""
    if name not in ("train", "heldout"):
        raise ValueError(f"unknown template set {name!r} (known: train, heldout)")
    path = resources.files("childsafe.classifiers.text") / "data" / "templates" / f"{name}.json"
    return parse_templates(name, json.loads(path.read_text(encoding="utf-8")))


def _needs_an(value: str) -> bool:
    """Whether "a" before ``value`` is spoken "an" ("an nsfw", "an 8 year old", "an x-rated")."""
    head = re.split(r"[\s-]", value.lower(), maxsplit=1)[0]
    digits = re.match(r"\d+", head)
    if digits:
        return digits.group().startswith("8") or digits.group() in ("11", "18")
    if head in _AN_WORDS:
        return True
    return head[:1] in "aeiou" and not head.startswith(_A_PREFIXES)


def _obfuscate(value: str, how: str, rng: random.Random) -> str:
    """One evasion a user might type: leetspeak, look-alike letters, spacing or emoji."""
    if how == "leet":
        return "".join(_LEET[c] if c in _LEET and rng.random() < 0.7 else c for c in value)
    if how == "homoglyph":
        return "".join(
            _HOMOGLYPH[c] if c in _HOMOGLYPH and rng.random() < 0.7 else c for c in value
        )
    words = value.split(" ")
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if how == "spacing":
        words[longest] = rng.choice(_SEPARATORS).join(word)
    elif how == "emoji":
        if word in _EMOJI_FOR:
            words[longest] = _EMOJI_FOR[word]
        else:
            cut = max(1, len(word) // 2)
            words[longest] = word[:cut] + rng.choice(_FILLER_EMOJI) + word[cut:]
    else:
        raise ValueError(f"unknown obfuscation {how!r}")
    return " ".join(words)


OBFUSCATIONS = ("leet", "homoglyph", "spacing", "emoji")


def _fill(
    frame: str, vocab: Mapping[str, tuple[str, ...]], rng: random.Random, obfuscate: float
) -> tuple[str, str | None, tuple[tuple[str, str], ...]]:
    slots = list(_SLOT.finditer(frame))
    values = [rng.choice(vocab[m.group(1)]) for m in slots]
    how: str | None = None
    shown = list(values)
    if slots and rng.random() < obfuscate:
        how = rng.choice(OBFUSCATIONS)
        keys = [i for i, m in enumerate(slots) if m.group(1) in KEY_SLOTS] or [0]
        chosen = rng.sample(keys, k=rng.randint(1, len(keys)))
        for i in chosen:
            shown[i] = _obfuscate(values[i], how, rng)
        if shown == values:
            how = None
    out: list[str] = []
    pos = 0
    for m, plain, text in zip(slots, values, shown, strict=True):
        literal = frame[pos : m.start()]
        # Articles follow the plain word, as a writer who then obfuscates it would type them.
        if re.search(r"(^|\s)a $", literal) and _needs_an(plain):
            literal = literal[:-2] + "an "
        out += [literal, text]
        pos = m.end()
    out.append(frame[pos:])
    filled = tuple((m.group(1), v) for m, v in zip(slots, values, strict=True))
    return "".join(out), how, filled


def _surface(text: str, rng: random.Random) -> str:
    """Casing and end punctuation vary as in real prompts; the labels never depend on them."""
    r = rng.random()
    if r < 0.3:
        text = text[:1].upper() + text[1:]
    r = rng.random()
    if r < 0.2 and text[-1:].isalnum():
        text += "."
    elif r < 0.3 and text[-1:].isalnum():
        text += "?"
    return text


def generate(
    templates: TemplateSet,
    sizes: Mapping[str, int],
    *,
    seed: int,
    obfuscate: float = OBFUSCATE_RATE,
) -> list[Sample]:
    """``sizes[cls]`` distinct sentences per class, deterministic in ``seed``.

    Each class draws from its own seeded stream, so resizing one class leaves the others'
    sentences unchanged. Raises ``ValueError`` when the templates cannot produce that many
    distinct sentences (better than a quietly smaller class).
    """
    seen: set[str] = set()
    samples: list[Sample] = []
    for cls in sorted(sizes):
        if sizes[cls] <= 0:
            continue
        frames = templates.classes.get(cls)
        if not frames:
            raise ValueError(f"templates {templates.name!r} have no frames for class {cls!r}")
        rng = random.Random(f"{seed}:{templates.name}:{cls}")
        made, attempts = 0, 0
        while made < sizes[cls]:
            attempts += 1
            if attempts > 200 * sizes[cls]:
                raise ValueError(
                    f"templates {templates.name!r}: only {made} distinct {cls!r} sentences, "
                    f"{sizes[cls]} asked"
                )
            frame = rng.choice(frames)
            text, how, filled = _fill(frame, templates.vocab, rng, obfuscate)
            text = _surface(text, rng)
            if text in seen:
                continue
            seen.add(text)
            samples.append(Sample(text, cls, frame, how, filled))
            made += 1
    return samples


def data_spec(
    templates: Sequence[TemplateSet], sizes: Mapping[str, int], seed: int, obfuscate: float
) -> dict[str, Any]:
    """Everything that determines a generated data set, as canonical JSON-able data."""
    return {
        "generator_version": GENERATOR_VERSION,
        "templates": [t.canonical() for t in templates],
        "sizes": dict(sorted(sizes.items())),
        "seed": seed,
        "obfuscate": obfuscate,
    }


def spec_sha256(spec: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a :func:`data_spec`."""
    blob = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def training_data(seed: int = TRAIN_SEED) -> tuple[list[Sample], dict[str, Any]]:
    """The training sentences and their spec (what ``scripts/train_text_heads.py`` uses)."""
    t = load_templates("train")
    return generate(t, TRAIN_SIZES, seed=seed), data_spec([t], TRAIN_SIZES, seed, OBFUSCATE_RATE)


def heldout_data(seed: int = HELDOUT_SEED) -> list[Sample]:
    """The held-out evaluation sentences (never used for training or thresholds)."""
    return generate(load_templates("heldout"), HELDOUT_SIZES, seed=seed)


def split(
    samples: Sequence[Sample], fraction: float, seed: int
) -> tuple[list[Sample], list[Sample]]:
    """A seeded, per-class split: ``fraction`` of each class goes to the second list."""
    by_class: dict[str, list[Sample]] = {}
    for s in samples:
        by_class.setdefault(s.cls, []).append(s)
    first: list[Sample] = []
    second: list[Sample] = []
    for cls in sorted(by_class):
        group = list(by_class[cls])
        random.Random(f"{seed}:split:{cls}").shuffle(group)
        cut = round(len(group) * fraction)
        second += group[:cut]
        first += group[cut:]
    return first, second
