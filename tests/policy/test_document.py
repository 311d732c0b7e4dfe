"""Policy documents: parsing from dicts, TOML and JSON files; every bad field named."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from childsafe.errors import ConfigError, PolicyError
from childsafe.policy.document import (
    DEFAULT_POLICY,
    KINDS,
    MAX_FILE_BYTES,
    PolicyDocument,
    check_document,
    load_policy_file,
)
from childsafe.screening.base import ContentKind, StoredPolicy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"

SMALL: dict[str, Any] = {
    "name": "acme",
    "version": "2024-06",
    "messages": {"stop": "Blocked under our child-safety policy."},
    "rules": {
        "prompt": {
            "classifiers": ["text_risk"],
            "thresholds": {"text_risk": {"risk": 0.5}},
            "on_high_priority": {"outcome": "block", "message": "stop", "create_case": True},
        },
        "image": {"hashers": ["md5", "pdq"], "banks": ["known"]},
    },
}

SMALL_TOML = """
name = "acme"
version = "2024-06"

[messages]
stop = "Blocked under our child-safety policy."

[rules.prompt]
classifiers = ["text_risk"]
thresholds = { text_risk = { risk = 0.5 } }
on_high_priority = { outcome = "block", message = "stop", create_case = true }

[rules.image]
hashers = ["md5", "pdq"]
banks = ["known"]
"""


def problems_of(data: Any) -> list[str]:
    with pytest.raises(PolicyError) as info:
        PolicyDocument.from_dict(data, source="test")
    assert str(info.value).startswith("test: invalid policy")
    return info.value.problems


def with_rule(kind: str, **rule: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMALL)
    data["rules"][kind] = rule
    return data


def test_kinds_are_the_screening_content_kinds() -> None:
    assert set(KINDS) == {k.value for k in ContentKind}


def test_default_policy_is_valid_and_covers_every_kind() -> None:
    assert check_document(DEFAULT_POLICY) == []
    assert set(DEFAULT_POLICY.rules) == set(KINDS)
    prompt = DEFAULT_POLICY.rules["prompt"]
    assert prompt.high.outcome == "block" and prompt.high.create_case
    assert "Stop It Now" in (DEFAULT_POLICY.message(prompt.high) or "")
    assert "http" not in json.dumps(DEFAULT_POLICY.to_dict())  # no URL we cannot verify
    for kind in KINDS:
        rule = DEFAULT_POLICY.rules[kind]
        assert rule.on_match.outcome == "block" and rule.on_match.create_case
        assert rule.on_error.outcome == "review"  # fail closed
    assert DEFAULT_POLICY.rules["generated_image"].classifiers == ["image_risk"]
    assert DEFAULT_POLICY.rules["image"].hashers == ["md5", "pdq"]


def test_default_policy_in_docs_is_the_built_in_one() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), flags=re.S)
    documented = [tomllib.loads(b) for b in blocks if 'name = "default"' in b]
    assert len(documented) == 1
    assert PolicyDocument.from_dict(documented[0]) == DEFAULT_POLICY


def test_from_dict_round_trips_through_to_dict() -> None:
    doc = PolicyDocument.from_dict(SMALL)
    assert PolicyDocument.from_dict(doc.to_dict()) == doc
    assert doc.rules["prompt"].high.message == "stop"
    assert doc.rules["prompt"].low.outcome == "review"  # falls back to on_review
    assert doc.rule("caption") is None


def test_toml_and_json_files_load_the_same_document(tmp_path: Path) -> None:
    toml_file = tmp_path / "policy.toml"
    toml_file.write_text(SMALL_TOML)
    json_file = tmp_path / "policy.json"
    json_file.write_text(json.dumps(SMALL))
    no_suffix = tmp_path / "policy"
    no_suffix.write_text(json.dumps(SMALL))
    expected = PolicyDocument.from_dict(SMALL)
    assert load_policy_file(toml_file) == expected
    assert load_policy_file(json_file) == expected
    assert load_policy_file(no_suffix) == expected


def test_integer_version_is_text() -> None:
    assert PolicyDocument.from_dict({**SMALL, "version": 3}).version == "3"


def test_unknown_fields_are_named_with_their_path() -> None:
    data = with_rule("prompt", classifiers=["text_risk"], clasifiers=["x"])
    data["extra"] = 1
    assert sorted(problems_of(data)) == [
        "extra: unknown field",
        "rules.prompt.clasifiers: unknown field",
    ]


def test_wrong_types_are_refused_strictly() -> None:
    data = with_rule("prompt", on_error={"outcome": "maybe", "create_case": "yes"}, banks="some")
    found = problems_of(data)
    assert "rules.prompt.on_error.outcome: Input should be 'allow', 'review' or 'block'" in found
    assert any(p.startswith("rules.prompt.on_error.create_case: ") for p in found)
    assert 'rules.prompt.banks: must be "all" or a list of bank names' in found


def test_missing_required_fields() -> None:
    assert problems_of({"rules": {}}) == [
        "name: required field is missing",
        "version: required field is missing",
    ]
    assert problems_of({"name": "x", "version": "1", "rules": {}}) == [
        "rules: a policy needs a rule for at least one content kind"
    ]


def test_unknown_kinds_and_classifiers_are_clear() -> None:
    data = with_rule("videos")
    data["rules"]["prompt"] = {"classifiers": ["text_risk", "no_such_model"]}
    kind, model = sorted(problems_of(data), reverse=True)
    assert kind.startswith("rules.videos: unknown content kind 'videos' (known: prompt,")
    assert model.startswith(
        "rules.prompt.classifiers[1]: unknown or not allowed classifier 'no_such_model' (known:"
    )
    assert "text_risk" in model


def test_checks_must_fit_the_kind() -> None:
    data = with_rule("prompt", hashers=["pdq"], classifiers=["nsfw", "conversation_risk"])
    data["rules"]["generated_image"] = {"classifiers": ["text_risk"], "hashers": ["vpdq"]}
    assert problems_of(data) == [
        "rules.prompt.hashers[0]: 'pdq' cannot hash prompt content (usable: md5, sha1, sha256)",
        "rules.prompt.classifiers[0]: 'nsfw' scores image, not text (prompt)",
        "rules.prompt.classifiers[1]: 'conversation_risk' scores chat conversations: only for "
        "kind 'message'",
        "rules.generated_image.hashers[0]: 'vpdq' cannot hash generated_image content "
        "(usable: md5, sha1, sha256, pdq)",
        "rules.generated_image.classifiers[0]: 'text_risk' scores text, not image "
        "(generated_image)",
    ]


def test_thresholds_are_checked_against_the_classifier() -> None:
    data = with_rule(
        "prompt",
        classifiers=["text_risk"],
        thresholds={"text_risk": {"risky": 0.5, "risk": 1.5}, "nsfw": {"nsfw": 0.5}},
    )
    assert problems_of(data) == [
        "rules.prompt.thresholds.text_risk.risky: unknown label for text_risk "
        "(known: minor, sexual, risk)",
        "rules.prompt.thresholds.text_risk.risk: 1.5 is not in [0, 1]",
        "rules.prompt.thresholds.nsfw: 'nsfw' is not one of this rule's classifiers",
    ]
    bands = with_rule(
        "message",
        classifiers=["conversation_risk"],
        thresholds={"conversation_risk": {"low": 0.9}},
    )
    assert problems_of(bands)[0].startswith(
        "rules.message.thresholds.conversation_risk: thresholds must satisfy low <= review"
    )


def test_messages_must_exist_and_matches_cannot_be_allowed() -> None:
    data = with_rule(
        "image",
        hashers=["md5"],
        on_match={"outcome": "allow", "message": "nope"},
        classifiers=["image_risk", "image_risk"],
    )
    assert problems_of(data) == [
        "rules.image.classifiers[1]: 'image_risk' is listed twice",
        "rules.image.on_match.message: no message named 'nope' in 'messages' (defined: stop)",
        "rules.image.on_match.outcome: a known-hash match is evidence and can never be allowed "
        "(use 'block' or 'review')",
    ]


def test_not_an_object() -> None:
    with pytest.raises(PolicyError, match=r"test: a policy must be an object/table, not list"):
        PolicyDocument.from_dict([1, 2], source="test")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("bad.toml", b'name = "x"\nversion = \n', r"bad\.toml: not valid TOML: .*line 2"),
        ("bad.json", b'{"name": "x",\n "version": }', r"bad\.json: not valid JSON: .*line 2"),
        ("bin.json", b'{"name": "\xff"}', r"bin\.json: not UTF-8 text \(byte 10\)"),
        ("list.json", b"[1, 2]", r"list\.json: a policy must be an object/table, not list"),
        ("empty.toml", b"", r"empty\.toml: invalid policy \(3 problems\): name: required"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, name: str, content: bytes, error: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PolicyError, match=error):
        load_policy_file(path)


def test_missing_and_huge_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.toml: cannot read: No such file"):
        load_policy_file(tmp_path / "nope.toml")
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(PolicyError, match=r"a policy file is at most"):
        load_policy_file(huge)


def test_policy_error_is_a_config_error() -> None:
    assert issubclass(PolicyError, ConfigError)


def test_from_stored_takes_the_store_name_and_version() -> None:
    stored = StoredPolicy(
        tenant="t1",
        name="acme-prod",
        version=7,
        document={**SMALL, "name": "ignored", "version": "ignored"},
        created_at=datetime.now(UTC),
        active=True,
    )
    doc = PolicyDocument.from_stored(stored)
    assert (doc.name, doc.version) == ("acme-prod", "7")
    bad = StoredPolicy("t1", "acme", 2, {"rules": {"videos": {}}}, datetime.now(UTC))
    with pytest.raises(PolicyError, match=r"policy 'acme' v2 of tenant 't1': invalid policy"):
        PolicyDocument.from_stored(bad)
