"""Building classifiers from ``--classifier``/``--threshold`` options and settings.

Thresholds come from three places, most specific last: each classifier's documented
defaults, ``CHILDSAFE_THRESHOLDS`` (JSON), then ``--threshold CLASSIFIER.LABEL=VALUE``. A
threshold for a classifier that is not in use is an error, so a typo never passes silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from childsafe.classifiers.base import Classifier
from childsafe.config import Settings
from childsafe.errors import ChildsafeError

F = TypeVar("F", bound=Callable[..., Any])


def classifier_options(default_help: str) -> Callable[[F], F]:
    """``--classifier`` (repeatable) and ``--threshold`` (repeatable)."""

    def decorate(f: F) -> F:
        f = click.option(
            "--threshold",
            "thresholds",
            multiple=True,
            metavar="CLASSIFIER.LABEL=VALUE",
            help="Override a classifier's threshold (repeatable), e.g. nsfw.nsfw=0.7.",
        )(f)
        return click.option(
            "--classifier",
            "-c",
            "classifiers",
            multiple=True,
            metavar="NAME",
            help=f"Classifier to run (repeatable): nsfw, face_age, image_risk, text_risk, "
            f"openai_moderation, hive, safer. {default_help}",
        )(f)

    return decorate


def build_classifiers(
    names: Sequence[str], threshold_specs: Sequence[str], settings: Settings
) -> list[Classifier]:
    """Instances of the named classifiers (models not loaded); usage errors as BadParameter."""
    from childsafe.classifiers.registry import get_classifier, parse_thresholds

    try:
        overrides = parse_thresholds(list(threshold_specs))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--threshold") from None
    unknown = set(overrides) - set(names)
    if unknown:
        raise click.BadParameter(
            f"threshold for {', '.join(sorted(unknown))}, which is not among the classifiers "
            f"in use ({', '.join(names) or 'none'})",
            param_hint="--threshold",
        )
    out: list[Classifier] = []
    for name in dict.fromkeys(names):
        merged = {**settings.thresholds.get(name, {}), **overrides.get(name, {})}
        try:
            out.append(get_classifier(name, merged or None, settings.allowed_plugins))
        except ChildsafeError as exc:
            raise click.BadParameter(str(exc), param_hint="--classifier") from None
    return out
