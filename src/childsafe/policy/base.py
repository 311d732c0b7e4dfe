"""The ``Policy`` kind: combines matches and scores into a ``Verdict`` with reasons.

A known-hash match is evidence and blocks; a classifier flag is triage and routes to human
review (DESIGN rule 3); an item that could not be checked is neither allowed nor blocked but
recorded as an error, so a clean manifest never contains something nobody looked at.
Reasons are short stable strings (``match:bank:pdq``, ``classifier:nudity:flagged``) that
become counted stats in ``summary.json``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from childsafe.classifiers.base import ClassifierResult
from childsafe.types import Match


class Decision(StrEnum):
    """What happens to an item. ``BLOCK`` and ``REVIEW`` are quarantined in a dataset scan."""

    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision and every reason for it."""

    decision: Decision
    reasons: tuple[str, ...] = ()


class Policy(ABC):
    """Base class of policies; ``version`` is recorded with every verdict."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"

    @abstractmethod
    def decide(
        self, matches: list[Match], scores: list[ClassifierResult], error: str | None
    ) -> Verdict:
        """The verdict for one item."""
