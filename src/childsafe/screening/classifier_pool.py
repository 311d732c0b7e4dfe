"""Classifier instances shared by every tenant and policy version that configures them alike.

Models are the expensive part of screening (an ONNX session, the MiniLM weights), and a
classifier instance holds nothing per request, so instances are pooled by (name, effective
thresholds): a hundred tenants on the default policy share one ``text_risk``, and a tenant
that lowers a threshold gets its own instance over the same process-wide model weights where
the classifier caches them (``text_risk``'s embedder is one per process). Effective
thresholds are the classifier's defaults, then ``Settings.thresholds``, then the policy rule's.

Each rule's plan (its list of instances) is cached per (tenant, policy name, version, kind),
so the hot path is a dictionary lookup. A classifier that cannot be built or that raises is a
per-request error result, never an exception: the policy's ``on_error`` decides.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from childsafe.classifiers.base import Classifier, ClassifierResult, ModelInfo
from childsafe.classifiers.registry import get_classifier
from childsafe.config import Settings
from childsafe.content.base import Item
from childsafe.policy.document import CONVERSATION, Rule

PlanKey = tuple[str, str, str, str]  # tenant, policy name, policy version, kind


@dataclass(frozen=True, slots=True)
class _Broken:
    """A classifier the rule names that could not be built: every item gets its error."""

    name: str
    problem: str

    def result(self, rid: str) -> ClassifierResult:
        unknown = ModelInfo(self.name, "unavailable", "unknown")
        return ClassifierResult(self.name, unknown, error=f"request {rid}: {self.problem}")


class ClassifierPool:
    """Pooled classifier instances and cached per-rule plans; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._instances: dict[tuple[str, tuple[tuple[str, float], ...]], Classifier] = {}
        self._plans: dict[PlanKey, list[Classifier | _Broken]] = {}
        self._lock = threading.Lock()

    def thresholds(self, name: str, rule: Rule) -> dict[str, float]:
        """The overrides for ``name``: settings first, then the rule (the rule wins)."""
        return {**self.settings.thresholds.get(name, {}), **rule.thresholds.get(name, {})}

    def plan(self, key: PlanKey, rule: Rule) -> list[Classifier | _Broken]:
        """The instances a rule runs, in its order (``conversation_risk`` is not one here)."""
        plan = self._plans.get(key)
        if plan is None:
            plan = [
                self._instance(name, self.thresholds(name, rule))
                for name in rule.classifiers
                if name != CONVERSATION
            ]
            with self._lock:
                plan = self._plans.setdefault(key, plan)
        return plan

    def _instance(self, name: str, thresholds: Mapping[str, float]) -> Classifier | _Broken:
        key = (name, tuple(sorted(thresholds.items())))
        with self._lock:
            found = self._instances.get(key)
        if found is not None:
            return found
        try:
            made = get_classifier(name, thresholds, allowed=self.settings.allowed_plugins)
        except Exception as exc:  # a missing extra, a bad threshold in the settings
            return _Broken(name, f"classifier {name!r} unavailable: {exc}")
        with self._lock:
            return self._instances.setdefault(key, made)

    def run(self, key: PlanKey, rule: Rule, item: Item) -> list[ClassifierResult]:
        """One result per classifier of the rule; failures are results with ``error``."""
        results = []
        for clf in self.plan(key, rule):
            if isinstance(clf, _Broken):
                results.append(clf.result(item.id))
                continue
            results += clf.classify_safely([item])
        return results

    def warm_up(self, key: PlanKey, rule: Rule) -> list[str]:
        """Load every model the rule needs now (``setup``); returns the problems, if any."""
        problems = []
        for clf in self.plan(key, rule):
            if isinstance(clf, _Broken):
                problems.append(clf.problem)
                continue
            try:
                clf.setup()
            except Exception as exc:
                problems.append(f"classifier {clf.name!r}: {exc}")
        return problems
