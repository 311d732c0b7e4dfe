"""Hosted-model scanner nouns: a source of text about a model, a finding, a result row.

A **source** is one piece of metadata text and where it was found (a training tag with its
count, the ``modelspec`` title, the file name, a model card). The concept rules read sources,
never weights or images. A **finding** is one rule that fired, with a severity, the reasons
in words and the evidence (which tags, counts, where). A **result** is the one row every
model gets: ``ok``, ``flagged`` (at least one finding) or ``error`` (with the reason), so a
batch loses nothing.

Triage, not proof: a finding says "a person should look at this model", never that the
model is abusive. Tag strings appear in findings because they are metadata (what the uploader
wrote), not content; no image, prompt or weight is ever copied into a result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SEVERITIES",
    "ModelFinding",
    "ModelResult",
    "Source",
    "max_severity",
]

SEVERITIES = ("low", "medium", "high")
"""Ordered: ``high`` routes first. Co-occurring minor and sexual concepts are ``high`` when
both are strong; metadata oddities alone are ``low``."""


def max_severity(severities: Iterable[str]) -> str | None:
    ranked = [SEVERITIES.index(s) for s in severities if s in SEVERITIES]
    return SEVERITIES[max(ranked)] if ranked else None


@dataclass(frozen=True, slots=True)
class Source:
    """A text about the model. ``count``/``images`` are a training tag's caption count and
    the image count of its dataset folder, when known."""

    where: str  # "ss_tag_frequency[10_set]", "modelspec.title", "file name", "card", ...
    kind: str  # "tag" | "trigger" | "name" | "description" | "card"
    text: str
    count: int | None = None
    images: int | None = None

    @property
    def prominence(self) -> float:
        """How much a match in this source counts (0-1).

        Names, triggers and hub tags describe the whole model: 1. Card prose mixes purpose
        with disclaimers: 0.6. A training tag counts by the share of its dataset's images
        that carry it (0.4 for a tag in a few images, 1 for a tag on every image), so a
        single stray caption still shows up, weakly, and a concept the model was built
        around shows up fully.
        """
        if self.kind == "card":
            return 0.6
        if self.kind != "tag" or self.count is None:
            return 1.0
        if not self.images:
            return 0.7  # no image count to compare with: in between
        return 0.4 + 0.6 * min(1.0, self.count / self.images)


@dataclass(frozen=True, slots=True)
class ModelFinding:
    rule: str  # "minor_sexual_cooccurrence", "age_coded_term", "stripped_metadata", ...
    severity: str
    reasons: tuple[str, ...]
    evidence: tuple[Mapping[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "reasons": list(self.reasons),
            "evidence": [dict(e) for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class ModelResult:
    """The one row of a model (a file in a folder, or an entry of a hub listing)."""

    model_id: str
    path: str
    status: str  # "ok" | "flagged" | "error"
    findings: tuple[ModelFinding, ...] = ()
    sha256: str | None = None  # of the safetensors header (8-byte length + JSON)
    scores: Mapping[str, float] = field(default_factory=dict)  # "minor", "sexual"
    info: Mapping[str, Any] = field(default_factory=dict)  # tensors, params, lora, base model
    warnings: tuple[str, ...] = ()
    error: str | None = None

    @property
    def severity(self) -> str | None:
        return max_severity(f.severity for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "path": self.path,
            "status": self.status,
            "severity": self.severity,
            "sha256": self.sha256,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "findings": [f.to_dict() for f in self.findings],
            "info": dict(self.info),
            "warnings": list(self.warnings),
            "error": self.error,
        }

    def to_finding(self) -> dict[str, Any] | None:
        """What case intake consumes (``review.intake``): one dict per flagged model, so a
        model's findings land in one case item; ``None`` for ``ok`` and ``error`` rows.

        ``scores`` keeps the ``minor`` key so intake can rank a minor signal above other
        triage; ``dedupe_key`` makes a rescan of the same file join the same item.
        """
        if self.status != "flagged":
            return None
        return {
            "source": "model_scan",
            "kind": "model",
            "model_id": self.model_id,
            "path": self.path,
            "severity": self.severity,
            "rules": [f.rule for f in self.findings],
            "reasons": [r for f in self.findings for r in f.reasons],
            "evidence": [{"rule": f.rule, **e} for f in self.findings for e in f.evidence],
            "sha256": self.sha256,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "dedupe_key": f"model_scan:{self.model_id}:{self.sha256 or self.path}",
        }
