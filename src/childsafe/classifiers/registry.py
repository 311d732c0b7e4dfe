"""Which classifiers exist, and which may run.

The same rules as hashers (STYLE 7): built-ins and plugins register through the
``childsafe.classifiers`` entry-point group, but only built-ins and names on the explicit
allow-list (``Settings.allowed_plugins``) load. Importing a classifier's module is cheap; its
model loads in ``setup``, so listing what is available never loads weights. A classifier
whose optional extra is not installed is still listed; building it says which extra to install.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from childsafe import plugins
from childsafe.classifiers.base import Classifier
from childsafe.errors import PluginError

GROUP = "childsafe.classifiers"

BUILTINS: dict[str, str] = {
    "nsfw": "childsafe.classifiers.image.nsfw:NSFWClassifier",
    "face_age": "childsafe.classifiers.image.age:FaceAgeClassifier",
    "image_risk": "childsafe.classifiers.image.risk:ImageRiskClassifier",
    "text_risk": "childsafe.classifiers.text.risk:TextRiskClassifier",
    "openai_moderation": "childsafe.classifiers.adapters.openai:OpenAIModerationClassifier",
    "hive": "childsafe.classifiers.adapters.hive:HiveClassifier",
    "safer": "childsafe.classifiers.adapters.safer:SaferClassifier",
}


def available(allowed: list[str] | None = None) -> dict[str, str]:
    """Classifier names to ``module:Class`` targets that are registered and allowed."""
    return plugins.discover(GROUP, BUILTINS, allowed, "classifier")


@cache
def load_class(target: str) -> type[Classifier]:
    """The class behind ``module:Class``; a missing optional extra is a clear error."""
    loaded: type[Classifier] = plugins.load(target, Classifier, "classifier")
    return loaded


def get_classifier(
    name: str,
    thresholds: Mapping[str, float] | None = None,
    allowed: list[str] | None = None,
    **options: Any,
) -> Classifier:
    """A new instance of the classifier ``name`` (its model not loaded yet)."""
    targets = available(allowed)
    if name not in targets:
        raise PluginError(
            f"unknown or not allowed classifier {name!r}; known: {', '.join(sorted(targets))}"
        )
    cls = load_class(targets[name])
    if cls.name != name:
        raise PluginError(
            f"classifier {targets[name]!r} calls itself {cls.name!r}, registered as {name!r}"
        )
    try:
        return cls(thresholds=thresholds, **options)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"classifier {name!r}: {exc}") from exc


def parse_thresholds(specs: list[str]) -> dict[str, dict[str, float]]:
    """``["nsfw.nsfw=0.7", "text_risk.risk=0.5"]`` → ``{"nsfw": {"nsfw": 0.7}, ...}``.

    Raises ``ValueError`` naming the bad spec, for the CLI to show as a usage error.
    """
    out: dict[str, dict[str, float]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        name, dot, label = key.strip().partition(".")
        if not sep or not dot or not name or not label:
            raise ValueError(f"threshold {spec!r}: expected CLASSIFIER.LABEL=VALUE")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"threshold {spec!r}: {value!r} is not a number") from None
        out.setdefault(name, {})[label.strip()] = number
    return out
