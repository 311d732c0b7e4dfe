"""The classifier registry: built-ins listed without loading models, plugins need allowing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest

from childsafe.classifiers import registry
from childsafe.classifiers.base import Classifier, ClassifierResult, ModelInfo
from childsafe.content.base import Item
from childsafe.errors import PluginError


class _Echo(Classifier):
    name: ClassVar[str] = "echo"
    kinds: ClassVar[frozenset[str]] = frozenset({"text"})
    default_thresholds: ClassVar[dict[str, float]] = {"long": 0.5}

    @property
    def model(self) -> ModelInfo:
        return ModelInfo("echo", "1", "MIT")

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        return []


def test_builtins_are_listed() -> None:
    names = registry.available()
    assert {"nsfw", "face_age", "image_risk", "text_risk", "openai_moderation"} <= set(names)


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(PluginError, match="unknown or not allowed classifier 'nope'"):
        registry.get_classifier("nope")


def test_thresholds_merge_and_validate() -> None:
    c = _Echo(thresholds={"long": 0.9})
    assert c.thresholds == {"long": 0.9}
    assert _Echo().thresholds == {"long": 0.5}
    with pytest.raises(ValueError, match="unknown label 'lng'"):
        _Echo(thresholds={"lng": 0.1})
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        _Echo(thresholds={"long": 1.5})


def test_load_class_refuses_non_classifiers() -> None:
    with pytest.raises(PluginError, match="is not a Classifier"):
        registry.load_class("childsafe.config:Settings")
    with pytest.raises(PluginError, match="cannot load classifier"):
        registry.load_class("childsafe.no_such_module:X")


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["nsfw.nsfw=0.7"], {"nsfw": {"nsfw": 0.7}}),
        (["a.x=0.1", "a.y=0.2", "b.z=1"], {"a": {"x": 0.1, "y": 0.2}, "b": {"z": 1.0}}),
    ],
)
def test_parse_thresholds(specs: list[str], expected: dict[str, dict[str, float]]) -> None:
    assert registry.parse_thresholds(specs) == expected


@pytest.mark.parametrize("bad", ["nsfw=0.7", "nsfw.nsfw", "nsfw.nsfw=high", ".x=1"])
def test_parse_thresholds_refuses_bad_specs(bad: str) -> None:
    with pytest.raises(ValueError, match="threshold"):
        registry.parse_thresholds([bad])


def test_one_allow_list_serves_every_registry() -> None:
    """Settings.allowed_plugins is shared: a name that is no hasher or classifier plugin at all
    is refused (a typo must not pass silently), by either registry."""
    from childsafe.hashing import registry as hashers

    with pytest.raises(PluginError, match="allowed plugins not installed: no_such_plugin"):
        registry.available(["no_such_plugin"])
    with pytest.raises(PluginError, match="allowed plugins not installed: no_such_plugin"):
        hashers.available(["no_such_plugin"])
    assert set(registry.available()) == set(registry.BUILTINS)


class _Raising(_Echo):
    name: ClassVar[str] = "raising"

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        raise RuntimeError("model file vanished")


class _NoModel(_Raising):
    name: ClassVar[str] = "nomodel"

    @property
    def model(self) -> ModelInfo:
        raise RuntimeError("package metadata broken")


def test_classify_safely_turns_every_failure_into_per_item_errors() -> None:
    items = [Item(id="a", text="x"), Item(id="b", text="y")]
    miscount = _Echo().classify_safely(items)  # _Echo returns no results at all
    assert [r.error for r in miscount] == ["RuntimeError: returned 0 results for 2 items"] * 2
    raised = _Raising().classify_safely(items)
    assert all(r.error == "RuntimeError: model file vanished" for r in raised)
    assert raised[0].model == ModelInfo("echo", "1", "MIT") and len(raised) == 2
    broken = _NoModel().classify_safely(items)
    assert [r.model.name for r in broken] == ["unknown", "unknown"] and broken[0].error
    assert _Raising().classify_safely([]) == []
