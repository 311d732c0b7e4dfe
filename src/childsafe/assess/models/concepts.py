"""Minor and sexual concepts across a model's metadata, and when they co-occur.

Why co-occurrence: a LoRA trained on "children's book illustration" or "school bus" is
ordinary, and so (for this tool) is an adult NSFW LoRA; what hubs remove is a model whose
training tags, trigger words, names or card put *minor* concepts together with *sexual*
ones. So each concept gets its own score and a finding needs both.

How: every :class:`~childsafe.assess.models.base.Source` is read with the text classifiers'
pattern signals (``classifiers.text.patterns``: explicit ages under 18, child nouns, school
grades, age-coded slang such as "loli", a mild sexual-context lexicon, adult indicators),
after Danbooru-style underscores become spaces ("little_girl" → "little girl"). A small
tag supplement adds booru tags that the prose lexicon has no reason to know. Each match's
weight is multiplied by its source's prominence (a tag on most training images counts fully,
a stray caption weakly, card prose at 0.6), the best per distinct term is kept (a tag repeated
across datasets is one piece of evidence), and the noisy-OR of those is the concept score.
Adult indicators ("adult", "18+") scale down only the ambiguous minor readings ("teen"), as
``patterns.signal_scores`` does for text. In prose (cards, descriptions, comments), a term
right after a negation ("not for NSFW use", "do not use to depict minors") is a disclaimer and
is skipped; tags and names are never treated so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from childsafe.assess.models.base import ModelFinding, Source
from childsafe.classifiers.text.lexicon import ADULT, CANCELLABLE, MINOR, SEXUAL
from childsafe.classifiers.text.normalize import normalize
from childsafe.classifiers.text.patterns import find_signals

__all__ = [
    "CONCEPT_FLOOR",
    "Hit",
    "claims_sfw",
    "concept_findings",
    "concept_hits",
    "concept_scores",
    "tag_text",
]

CONCEPT_FLOOR = 0.25
"""Each concept must reach this (after prominence) for a co-occurrence finding: one strong
word ("child" 0.6 × a tag on 40 % of images 0.64 = 0.38), not a weak one ("bikini" 0.2)."""

_HIGH, _MEDIUM = 0.3, 0.12  # thresholds on minor × sexual for the finding's severity

# Booru tags the prose lexicon has no reason to know: (folded phrase, kind, name, weight).
_TAG_TERMS = (
    (re.compile(r"(?<![a-z])school uniforms?(?![a-z])"), MINOR, "attire_coded", 0.3),
    (re.compile(r"(?<![a-z])randoseru(?![a-z])"), MINOR, "attire_coded", 0.6),
    (re.compile(r"(?<![a-z])(?:aged down|age regression)(?![a-z])"), MINOR, "age_coded", 0.6),
)
_PROSE = frozenset({"card", "description"})
_NEGATION = re.compile(
    r"(?<![a-z])(?:no|not|never|without|non|avoid|don'?t|doesn'?t|isn'?t|prohibited|forbidden)"
    r"(?:[\s\-,]+[a-z0-9']+){0,3}[\s\-,]*$"
)
_SFW = re.compile(r"(?<![a-z])(?:sfw|safe for work|family[\s-]friendly|all ages)(?![a-z])")
_NOT_BEFORE = re.compile(r"(?:not|non)[\s-]*$")


def tag_text(text: str) -> str:
    """Booru and file-name separators (``_``, ``.``) as spaces, so words stand apart."""
    return re.sub(r"[_\s]+", " ", text).strip()


@dataclass(frozen=True, slots=True)
class Hit:
    """One concept match in one source."""

    kind: str  # "minor" | "sexual" | "adult"
    name: str  # the signal name: "age_number", "child_noun", "age_coded", "sexual_term", ...
    term: str  # the lexicon word or the folded phrase that matched
    weight: float  # the signal's own weight
    effective: float  # weight × the source's prominence
    source: Source

    def evidence(self) -> dict[str, object]:
        out: dict[str, object] = {
            "concept": self.kind,
            "signal": self.name,
            "term": self.term,
            "where": self.source.where,
            "weight": round(self.effective, 3),
        }
        if self.source.kind == "tag":
            out["tag"] = self.source.text
            if self.source.count is not None:
                out["count"] = self.source.count
            if self.source.images is not None:
                out["images"] = self.source.images
        return out


def _negated(original: str, start: int) -> bool:
    before = normalize(original[max(0, start - 40) : start]).text
    return bool(_NEGATION.search(before))


def concept_hits(source: Source) -> list[Hit]:
    """The minor, sexual and adult matches in one source."""
    text = tag_text(source.text) if source.kind != "card" else source.text
    if not text:
        return []
    prominence = source.prominence
    hits: list[Hit] = []
    for s in find_signals(text):
        if source.kind in _PROSE and s.kind != ADULT and _negated(text, s.start):
            continue
        hits.append(Hit(s.kind, s.name, s.term, s.weight, s.weight * prominence, source))
    folded = normalize(text).text
    for regex, kind, name, weight in _TAG_TERMS:
        for m in regex.finditer(folded):
            hits.append(Hit(kind, name, m.group(), weight, weight * prominence, source))
    return hits


def _noisy_or(weights: Iterable[float]) -> float:
    return 1.0 - math.prod(1.0 - min(max(w, 0.0), 1.0) for w in weights)


def _best(hits: Iterable[Hit]) -> dict[tuple[str, str, str], Hit]:
    best: dict[tuple[str, str, str], Hit] = {}
    for h in hits:
        key = (h.kind, h.name, h.term)
        if key not in best or h.effective > best[key].effective:
            best[key] = h
    return best


def concept_scores(hits: Sequence[Hit]) -> dict[str, float]:
    """``{"minor", "sexual", "adult"}`` scores of a model's hits (see the module docstring)."""
    best = _best(hits)
    adult = _noisy_or(h.effective for h in best.values() if h.kind == ADULT)
    minor = _noisy_or(
        h.effective * (1.0 - adult) if h.name in CANCELLABLE else h.effective
        for h in best.values()
        if h.kind == MINOR
    )
    sexual = _noisy_or(h.effective for h in best.values() if h.kind == SEXUAL)
    return {MINOR: minor, SEXUAL: sexual, ADULT: adult}


def _top(hits: Sequence[Hit], kind: str, n: int = 20) -> list[dict[str, object]]:
    chosen = sorted(
        (h for h in _best(hits).values() if h.kind == kind),
        key=lambda h: (-h.effective, h.term, h.source.where),
    )
    return [h.evidence() for h in chosen[:n]]


def claims_sfw(sources: Iterable[Source]) -> Source | None:
    """The first source that says the model is safe for work (and not "not SFW")."""
    for s in sources:
        folded = normalize(tag_text(s.text)).text
        for m in _SFW.finditer(folded):
            if not _NOT_BEFORE.search(folded, max(0, m.start() - 5), m.start()):
                return s
    return None


def concept_findings(sources: Sequence[Source]) -> tuple[dict[str, float], list[ModelFinding]]:
    """Scores and findings for one model's sources."""
    hits = [h for s in sources for h in concept_hits(s)]
    scores = concept_scores(hits)
    minor, sexual = scores[MINOR], scores[SEXUAL]
    findings: list[ModelFinding] = []
    if minor >= CONCEPT_FLOOR and sexual >= CONCEPT_FLOOR:
        product = minor * sexual
        severity = "high" if product >= _HIGH else "medium" if product >= _MEDIUM else "low"
        findings.append(
            ModelFinding(
                "minor_sexual_cooccurrence",
                severity,
                (
                    f"minor concepts (score {minor:.2f}) and sexual concepts (score "
                    f"{sexual:.2f}) in the same model's metadata",
                ),
                tuple(_top(hits, MINOR) + _top(hits, SEXUAL)),
            )
        )
    coded = [h for h in _best(hits).values() if h.name == "age_coded" and h.effective >= 0.3]
    if coded:
        strong = max(h.weight for h in coded) >= 0.9
        terms = sorted({h.term for h in coded})
        findings.append(
            ModelFinding(
                "age_coded_term",
                "high" if strong else "medium",
                (f"age-coded term(s) {', '.join(terms)} in the model's metadata",),
                tuple(h.evidence() for h in sorted(coded, key=lambda h: -h.effective)[:20]),
            )
        )
    claim = claims_sfw(sources)
    if claim is not None:
        others = [h for h in hits if h.source is not claim and h.kind == SEXUAL]
        if concept_scores(others)[SEXUAL] >= CONCEPT_FLOOR:
            findings.append(
                ModelFinding(
                    "sfw_claim_contradicted",
                    "medium",
                    (
                        f"{claim.where} says the model is safe for work, but its metadata has "
                        "sexual concepts",
                    ),
                    ({"claim": claim.where}, *_top(others, SEXUAL, 10)),
                )
            )
    return scores, findings
