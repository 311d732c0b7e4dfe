"""Policy documents: which checks apply to which content kind, and what each outcome does.

A deployment (or one tenant of it) screens prompts, captions, generated text, uploads,
generated images and chat messages; each kind gets a ``Rule``: the hashers and banks to match
against, the classifiers to run (with thresholds), and an ``Action`` per trigger — a bank
match, a HIGH/MEDIUM/LOW priority classifier result, a check that could not run. Documents
are versioned (``name`` + ``version`` are recorded with every verdict, so a decision can be
replayed) and come from a TOML or JSON file (:func:`load_policy_file`) or from the database
(:meth:`PolicyDocument.from_stored`). The shape is documented in docs/policy.md.

Why pydantic here (STYLE 12: pydantic only at the edges): a policy is written by people and
sent over HTTP, so it needs strict parsing with errors that name the bad field; nothing
inside the screening hot path touches pydantic (rules are plain attribute reads).

Validation happens in two passes. The model checks shape and types (strict: no ``"true"``
for a boolean, unknown fields refused, so a typo cannot silently disable a check); then
:func:`check_document` checks meaning — known content kinds, hashers and classifiers that
exist *and* fit the kind (``pdq`` cannot hash a prompt, ``text_risk`` cannot score an image),
threshold labels the classifier knows, messages that exist. Every problem is reported at once,
each prefixed by its path (``rules.prompt.classifiers[1]``).

This module is on the ``policy`` layer, under ``screening``: content kinds are plain strings
here (the same values as ``screening.base.ContentKind``; a test pins them together).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from childsafe.classifiers.registry import available, load_class
from childsafe.errors import PluginError, PolicyError
from childsafe.policy._default_data import DEFAULT_POLICY_DATA

KINDS: tuple[str, ...] = (
    "prompt",
    "caption",
    "generated_text",
    "image",
    "generated_image",
    "message",
)
TEXT_KINDS = frozenset({"prompt", "caption", "generated_text", "message"})
IMAGE_KINDS = frozenset({"image", "generated_image"})
# Text is hashed as its UTF-8 bytes, so only the cryptographic digests apply to it; video
# hashers do not apply to anything screened here.
TEXT_HASHERS = ("md5", "sha1", "sha256")
IMAGE_HASHERS = ("md5", "sha1", "sha256", "pdq")
CONVERSATION = "conversation_risk"
CONVERSATION_LABELS = ("low", "review", "high")
OUTCOMES = ("allow", "review", "block")
MAX_FILE_BYTES = 1 << 20
MAX_MESSAGE_CHARS = 2000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")

Outcome = Literal["allow", "review", "block"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Action(_Strict):
    """What a trigger does: the outcome, the prevention message to show (a key of the
    document's ``messages``) and whether the review workflow opens a case."""

    outcome: Outcome
    message: str | None = None
    create_case: bool = False


class Rule(_Strict):
    """The checks for one content kind and the action for each trigger.

    ``on_high_priority`` and ``on_low_priority`` default to ``on_review`` when absent, so a
    short rule routes every classifier flag to review and a longer one can block HIGH (a
    prompt sexualising a minor) and allow LOW (adult content alone) on the same classifier.
    """

    hashers: list[str] = Field(default_factory=list)
    banks: list[str] | Literal["all"] = "all"
    classifiers: list[str] = Field(default_factory=list)
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    on_match: Action = Action(outcome="block", create_case=True)
    on_high_priority: Action | None = None
    on_review: Action = Action(outcome="review")
    on_low_priority: Action | None = None
    on_error: Action = Action(outcome="review")

    @field_validator("banks", mode="before")
    @classmethod
    def _banks(cls, value: Any) -> Any:
        # Checked before the union so a mistake gets one clear message, not one per branch.
        if value == "all":
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError('must be "all" or a list of bank names')
        return value

    @property
    def high(self) -> Action:
        return self.on_high_priority or self.on_review

    @property
    def low(self) -> Action:
        return self.on_low_priority or self.on_review

    def actions(self) -> dict[str, Action]:
        """Every action of the rule by its field name (absent optional ones left out)."""
        out = {"on_match": self.on_match, "on_review": self.on_review, "on_error": self.on_error}
        if self.on_high_priority is not None:
            out["on_high_priority"] = self.on_high_priority
        if self.on_low_priority is not None:
            out["on_low_priority"] = self.on_low_priority
        return out


class PolicyDocument(_Strict):
    """A versioned policy: one ``Rule`` per content kind plus named prevention messages."""

    name: str
    version: str
    description: str = ""
    rules: dict[str, Rule]
    messages: dict[str, str] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # TOML and JSON writers naturally say ``version = 3``; a version is compared as text.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        source: str = "policy",
        allowed_plugins: list[str] | None = None,
    ) -> PolicyDocument:
        """Parse and check a document; ``PolicyError`` lists every problem, naming its field."""
        if not isinstance(data, Mapping):
            raise PolicyError(
                f"{source}: a policy must be an object/table, not {type(data).__name__}",
                problems=[f"expected an object, got {type(data).__name__}"],
            )
        try:
            doc = cls.model_validate(dict(data))
        except ValidationError as exc:
            problems = [_describe(e) for e in exc.errors()]
            raise _policy_error(source, problems) from None
        problems = check_document(doc, allowed_plugins)
        if problems:
            raise _policy_error(source, problems)
        return doc

    @classmethod
    def from_stored(
        cls, stored: Any, *, allowed_plugins: list[str] | None = None
    ) -> PolicyDocument:
        """A document as a ``PolicyStore`` keeps it (``screening.base.StoredPolicy``).

        The store's name and version number replace the document's own: versions in a store
        are assigned by the store and only grow, so ``"<n>"`` identifies exactly what decided.
        """
        data = dict(stored.document)
        data["name"] = stored.name
        data["version"] = str(stored.version)
        where = f"policy {stored.name!r} v{stored.version} of tenant {stored.tenant!r}"
        return cls.from_dict(data, source=where, allowed_plugins=allowed_plugins)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (for ``PolicyStore.put`` and the API); round-trips ``from_dict``."""
        return self.model_dump(mode="json", exclude_none=True)

    def rule(self, kind: str) -> Rule | None:
        """The rule for a content kind, or None when the policy does not screen that kind."""
        return self.rules.get(str(kind))

    def message(self, action: Action) -> str | None:
        """The text of an action's prevention message (checked to exist when loaded)."""
        return self.messages.get(action.message) if action.message else None


def _policy_error(source: str, problems: list[str]) -> PolicyError:
    head = f"{source}: invalid policy ({len(problems)} problem{'s' * (len(problems) != 1)})"
    return PolicyError(f"{head}: " + "; ".join(problems), problems=problems)


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part.startswith("function-"):
            continue  # a union branch's tag, not a field
        else:
            out += f".{part}" if out else part
    return out or "(document)"


def _describe(error: Mapping[str, Any]) -> str:
    where = _path(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    if kind == "missing":
        return f"{where}: required field is missing"
    msg = str(error["msg"])
    return f"{where}: {msg.removeprefix('Value error, ')}"


def check_document(doc: PolicyDocument, allowed_plugins: list[str] | None = None) -> list[str]:
    """Every semantic problem of a shape-valid document, each prefixed by its path."""
    problems: list[str] = []
    if not _NAME.match(doc.name):
        problems.append("name: 1-64 letters, digits, spaces, '.', '_' or '-'")
    if not doc.version.strip() or len(doc.version) > 64:
        problems.append("version: must be 1-64 characters")
    if not doc.rules:
        problems.append("rules: a policy needs a rule for at least one content kind")
    for key, text in doc.messages.items():
        if not text.strip() or len(text) > MAX_MESSAGE_CHARS:
            problems.append(f"messages.{key}: must be 1-{MAX_MESSAGE_CHARS} characters")
    known = available(allowed_plugins)
    for kind, rule in doc.rules.items():
        where = f"rules.{kind}"
        if kind not in KINDS:
            problems.append(f"{where}: unknown content kind {kind!r} (known: {', '.join(KINDS)})")
            continue
        problems += _check_rule(where, kind, rule, known, doc.messages)
    return problems


def _check_rule(
    where: str, kind: str, rule: Rule, known: Mapping[str, str], messages: Mapping[str, str]
) -> list[str]:
    problems: list[str] = []
    fits = TEXT_HASHERS if kind in TEXT_KINDS else IMAGE_HASHERS
    for i, name in enumerate(rule.hashers):
        if name not in fits:
            problems.append(
                f"{where}.hashers[{i}]: {name!r} cannot hash {kind} content "
                f"(usable: {', '.join(fits)})"
            )
    problems += _duplicates(f"{where}.hashers", rule.hashers)
    if isinstance(rule.banks, list):
        problems += _duplicates(f"{where}.banks", rule.banks)
        problems += [
            f"{where}.banks[{i}]: empty bank name" for i, b in enumerate(rule.banks) if not b
        ]
    labels: dict[str, tuple[str, ...] | None] = {}
    for i, name in enumerate(rule.classifiers):
        found, problem = _classifier_labels(name, kind, known)
        if problem:
            problems.append(f"{where}.classifiers[{i}]: {problem}")
        else:
            labels[name] = found
    problems += _duplicates(f"{where}.classifiers", rule.classifiers)
    for name, values in rule.thresholds.items():
        at = f"{where}.thresholds.{name}"
        if name not in rule.classifiers:
            problems.append(f"{at}: {name!r} is not one of this rule's classifiers")
            continue
        for label, value in values.items():
            accepted = labels.get(name)
            if accepted is not None and label not in accepted:
                problems.append(
                    f"{at}.{label}: unknown label for {name} (known: {', '.join(accepted)})"
                )
            if not 0.0 <= value <= 1.0:
                problems.append(f"{at}.{label}: {value} is not in [0, 1]")
        if name == CONVERSATION:
            problems += _conversation_order(at, values)
    for field, action in rule.actions().items():
        if action.message is not None and action.message not in messages:
            names = ", ".join(sorted(messages)) or "none defined"
            problems.append(
                f"{where}.{field}.message: no message named {action.message!r} in 'messages' "
                f"(defined: {names})"
            )
    if rule.on_match.outcome == "allow":
        problems.append(
            f"{where}.on_match.outcome: a known-hash match is evidence and can never be "
            "allowed (use 'block' or 'review')"
        )
    return problems


def _classifier_labels(
    name: str, kind: str, known: Mapping[str, str]
) -> tuple[tuple[str, ...] | None, str | None]:
    """The threshold labels a classifier accepts (None: any), or why it cannot run here."""
    if name == CONVERSATION:
        if kind != "message":
            return None, f"{CONVERSATION!r} scores chat conversations: only for kind 'message'"
        return CONVERSATION_LABELS, None
    if name not in known:
        names = ", ".join(sorted({*known, CONVERSATION}))
        return None, f"unknown or not allowed classifier {name!r} (known: {names})"
    try:
        cls = load_class(known[name])
    except PluginError as exc:
        return None, str(exc)
    needs = "text" if kind in TEXT_KINDS else "image"
    if needs not in cls.kinds:
        return None, f"{name!r} scores {', '.join(sorted(cls.kinds))}, not {needs} ({kind})"
    return (tuple(cls.default_thresholds) or None), None


def _conversation_order(at: str, values: Mapping[str, float]) -> list[str]:
    merged = {"low": 0.3, "review": 0.6, "high": 0.8, **values}
    if not merged["low"] <= merged["review"] <= merged["high"]:
        return [f"{at}: thresholds must satisfy low <= review <= high, got {merged}"]
    return []


def _duplicates(where: str, names: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        if name in seen:
            out.append(f"{where}[{i}]: {name!r} is listed twice")
        seen.add(name)
    return out


def load_policy_file(
    path: str | Path, *, allowed_plugins: list[str] | None = None
) -> PolicyDocument:
    """A policy from a ``.toml`` or ``.json`` file (other names: JSON if it starts with ``{``).

    Every failure is a ``PolicyError`` naming the file: missing, too big, not UTF-8, a syntax
    error (with its line), or an invalid document (with every bad field).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PolicyError(f"{path}: {size} bytes; a policy file is at most {MAX_FILE_BYTES}")
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    suffix = path.suffix.lower()
    as_json = suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{"))
    try:
        data: Any = json.loads(text) if as_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None
    return PolicyDocument.from_dict(data, source=str(path), allowed_plugins=allowed_plugins)


# Shape-checked at import (microseconds); the semantic check loads classifier modules, so it
# runs in the tests rather than on every import.
DEFAULT_POLICY: PolicyDocument = PolicyDocument.model_validate(DEFAULT_POLICY_DATA)
