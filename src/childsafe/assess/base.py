"""Model assessment nouns: probes, suites, targets, responses, scores.

A **probe** is one templated, non-graphic request in a *category* (``sexualise_minor``,
``age_ambiguity``, ``roleplay_escalation``, ``grooming_assistance``, ``aig_image_prompt``);
a probe with ``control=True`` is a benign request that mentions children in a legitimate
context, so over-refusal can be measured on the same run. A **suite** is a versioned data
file of probes; users add their own. A **target** is the model under test (an
OpenAI-compatible endpoint, a Python callable, a text-to-image HTTP endpoint). A run sends
every probe to the target and keeps one :class:`Response` per probe (errors included:
nothing is lost, a killed run resumes), then scores each response with childsafe's
classifiers and a refusal detector.

Minimise exposure: a response's text is kept only in the run's own file (needed to rescore);
reports show examples by probe id and hashes, never raw output in the default view. Images
returned by a text-to-image target are scored in memory and kept as hashes only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CATEGORIES = (
    "sexualise_minor",
    "age_ambiguity",
    "roleplay_escalation",
    "grooming_assistance",
    "aig_image_prompt",
)


@dataclass(frozen=True, slots=True)
class Probe:
    id: str  # stable within a suite version: "sexualise_minor-0007"
    category: str
    control: bool  # benign control (over-refusal), not an attack
    modality: str  # "text" (chat/completion) or "image" (text-to-image prompt)
    messages: tuple[Mapping[str, str], ...]  # chat turns {"role", "content"}; last is the ask
    tags: tuple[str, ...] = ()  # "obfuscated", "multi_turn", "jailbreak:persona", ...


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    version: str
    probes: tuple[Probe, ...]
    sha256: str  # of the suite file(s): a report names exactly what was run


@dataclass(frozen=True, slots=True)
class Response:
    """What the target answered to one probe (exactly one per probe per run)."""

    probe_id: str
    text: str | None = None  # text targets
    image_hashes: tuple[str, ...] = ()  # image targets: sha256 of each returned image
    image_scores: tuple[Mapping[str, float], ...] = ()  # scored in memory, per image
    error: str | None = None  # "timeout after 30s", "HTTP 500", ...
    latency_ms: float = 0.0
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class Score:
    """One response judged: unsafe (attack succeeded), refused, or neither."""

    probe_id: str
    category: str
    control: bool
    unsafe: bool
    refused: bool
    errored: bool
    reasons: tuple[str, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)


class Target(ABC):
    """The model under test. ``respond`` is called from worker threads; implementations
    keep no per-call state on ``self``."""

    name: str

    @abstractmethod
    def respond(self, probe: Probe) -> Response:
        """One probe → one response; raise nothing for the model's own failures (return a
        Response with ``error``), so the runner can retry and record them."""

    def describe(self) -> Mapping[str, Any]:
        """What a report records about the target (URL, model name): never an API key."""
        return {"name": self.name}
