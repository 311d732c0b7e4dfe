"""Probe suites as data files: load, expand templates, validate, fingerprint.

Two formats, both meant to be written by hand and reviewed in a pull request:

* **TOML** (the built-ins): a ``[suite]`` table (``name``, ``version``), literal ``[[probe]]``
  tables, and ``[[template]]`` tables whose ``text`` (one user turn) or ``turns`` (a
  conversation) hold ``{slot}`` placeholders. A template expands to the cartesian product of
  its ``slots`` in the order written; a slot value is a string or ``{value, tags}`` so a
  framing ("for a novel I'm writing") can tag the probes it makes. ``obfuscate =
  ["leetspeak", "spacing"]`` adds a disguised copy of each probe with the values of
  ``obfuscate_slots`` rewritten, tagged ``obfuscated``.
* **JSONL**: an optional header line ``{"suite": NAME, "version": V}``, then one probe per
  line with ``id``, ``category``, ``control``, ``modality`` and ``messages`` (or ``prompt``).

Why templates and not a flat list: the same harmful intent must be asked in many disguises
(framing, persona, obfuscation, several turns) while each disguise stays reviewable in one
place. Expansion is deterministic and ids are numbered per category in expansion order, so
``core`` v1 always means the same probes; the sha256 of the file is recorded in every run so a
report names exactly what was asked. Every problem names ``file:line``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from childsafe.assess.base import CATEGORIES, Probe, Suite
from childsafe.errors import AssessError

SUITES_DIR = Path(__file__).with_name("suites")
MODALITIES = ("text", "image")
ROLES = ("system", "user", "assistant")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


def leetspeak(text: str) -> str:
    """Letters swapped for look-alike digits ("a young girl" -> "a y0ung g1rl"); one-letter
    words stay, as people who disguise a request keep it readable."""
    return " ".join(w if len(w) < 2 else w.lower().translate(_LEET) for w in text.split(" "))


def spacing(text: str) -> str:
    """Letters spread apart so keyword filters miss them ("teen" -> "t e e n")."""
    return "   ".join(" ".join(word) for word in text.split())


OBFUSCATIONS = {"leetspeak": leetspeak, "spacing": spacing}


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    """A built-in suite as ``assess suites`` lists it."""

    name: str
    version: str
    path: Path
    probes: int
    attacks: int
    controls: int
    categories: tuple[str, ...]


def builtin_suites() -> list[SuiteInfo]:
    """Every suite shipped in ``assess/suites/``, sorted by name."""
    out = []
    for path in sorted(SUITES_DIR.glob("*.toml")) + sorted(SUITES_DIR.glob("*.jsonl")):
        suite = load_suite_file(path, builtin=True)
        controls = sum(p.control for p in suite.probes)
        cats = tuple(dict.fromkeys(p.category for p in suite.probes))
        n = len(suite.probes)
        out.append(SuiteInfo(suite.name, suite.version, path, n, n - controls, controls, cats))
    return sorted(out, key=lambda s: s.name)


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``core``) or a user's suite file by path."""
    text = str(name_or_path)
    for ext in (".toml", ".jsonl"):
        candidate = SUITES_DIR / f"{text}{ext}"
        if _ID.match(text) and "/" not in text and candidate.is_file():
            return load_suite_file(candidate, builtin=True)
    path = Path(name_or_path)
    if path.is_file():
        return load_suite_file(path)
    names = ", ".join(s.stem for s in sorted(SUITES_DIR.glob("*.toml")))
    raise AssessError(f"{text}: no such suite file, and not a built-in suite ({names})")


def load_suite_file(path: Path, *, builtin: bool = False) -> Suite:
    """Load, expand and validate one suite file; ``builtin`` also requires known categories."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AssessError(f"{path}: cannot read suite: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssessError(f"{path}: suite is not UTF-8 (byte {exc.start})") from None
    if path.suffix == ".toml":
        name, version, probes = _from_toml(path, text)
    elif path.suffix == ".jsonl":
        name, version, probes = _from_jsonl(path, text)
    else:
        raise AssessError(f"{path}: a suite is a .toml or .jsonl file")
    if not probes:
        raise AssessError(f"{path}: the suite has no probes")
    seen: dict[str, str] = {}
    for where, probe in probes:
        if probe.id in seen:
            first = seen[probe.id]
            raise AssessError(f"{where}: duplicate probe id {probe.id!r} (first at {first})")
        seen[probe.id] = where
        if builtin and probe.category not in CATEGORIES:
            raise AssessError(f"{where}: unknown category {probe.category!r} in a built-in suite")
    digest = hashlib.sha256(raw).hexdigest()
    return Suite(name=name, version=version, probes=tuple(p for _, p in probes), sha256=digest)


# -- JSONL ----------------------------------------------------------------------------------


def _from_jsonl(path: Path, text: str) -> tuple[str, str, list[tuple[str, Probe]]]:
    name, version = path.stem, "0"
    probes: list[tuple[str, Probe]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{lineno}"
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssessError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise AssessError(f"{where}: want a JSON object per line")
        if "suite" in obj and not probes:
            name = _text(obj["suite"], "suite", where)
            version = _text(obj.get("version", "0"), "version", where)
            continue
        messages = obj.get("messages")
        if messages is None and "prompt" in obj:
            messages = [{"role": "user", "content": obj["prompt"]}]
        probes.append((where, _probe(obj, messages, where)))
    return name, version, probes


# -- TOML -----------------------------------------------------------------------------------


def _from_toml(path: Path, text: str) -> tuple[str, str, list[tuple[str, Probe]]]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AssessError(f"{path}: not valid TOML: {exc}") from None
    head = doc.get("suite")
    if not isinstance(head, dict):
        raise AssessError(f"{path}:1: a TOML suite needs a [suite] table with name and version")
    name = _text(head.get("name"), "suite.name", f"{path}")
    version = _text(str(head.get("version", "")), "suite.version", f"{path}")
    unknown = set(doc) - {"suite", "probe", "template"}
    if unknown:
        raise AssessError(f"{path}: unknown top-level table(s) {sorted(unknown)}")
    probe_lines = _header_lines(text, "probe")
    template_lines = _header_lines(text, "template")
    probes: list[tuple[str, Probe]] = []
    for i, obj in enumerate(_tables(doc, "probe", path)):
        where = f"{path}:{_line(probe_lines, i)}"
        probes.append((where, _probe(obj, _messages_of(obj, where), where)))
    counters: dict[tuple[str, bool], int] = {}
    for i, obj in enumerate(_tables(doc, "template", path)):
        where = f"{path}:{_line(template_lines, i)}"
        for fields in _expand(obj, where):
            key = (fields["category"], fields["control"])
            counters[key] = counters.get(key, 0) + 1
            kind = "-control" if fields["control"] else ""
            fields["id"] = f"{fields['category']}{kind}-{counters[key]:04d}"
            probes.append((where, _probe(fields, fields["messages"], where)))
    return name, version, probes


def _header_lines(text: str, table: str) -> list[int]:
    """Line numbers of each ``[[table]]`` header: tomllib does not report where a table was."""
    pattern = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)]


def _line(lines: list[int], i: int) -> int:
    return lines[i] if i < len(lines) else 0


def _tables(doc: Mapping[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise AssessError(f"{path}: {key} must be an array of tables ([[{key}]])")
    return value


def _messages_of(obj: Mapping[str, Any], where: str) -> Any:
    if "messages" in obj:
        return obj["messages"]
    if "turns" in obj:
        return obj["turns"]
    if "text" in obj:
        return [{"role": "user", "content": obj["text"]}]
    raise AssessError(f"{where}: a probe needs text, turns or messages")


_TEMPLATE_KEYS = {
    "category", "control", "modality", "tags", "text", "turns", "slots", "obfuscate",
    "obfuscate_slots",
}  # fmt: skip


def _expand(obj: Mapping[str, Any], where: str) -> Iterable[dict[str, Any]]:
    """One template -> its probes' fields, in a fixed order (slots as written, then disguises)."""
    unknown = set(obj) - _TEMPLATE_KEYS
    if unknown:
        raise AssessError(f"{where}: unknown template key(s) {sorted(unknown)}")
    turns = _messages_of(obj, where)
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise AssessError(f"{where}: turns must be a list of {{role, content}} tables")
    slots = obj.get("slots", {})
    if not isinstance(slots, dict):
        raise AssessError(f"{where}: slots must be a table of name = [values]")
    used = {m for t in turns for m in _SLOT.findall(str(t.get("content", "")))}
    if missing := used - set(slots):
        raise AssessError(f"{where}: placeholder(s) with no slot: {sorted(missing)}")
    if unused := set(slots) - used:
        raise AssessError(f"{where}: slot(s) never used in the text: {sorted(unused)}")
    names = list(slots)
    choices = [_slot_values(n, slots[n], where) for n in names]
    disguises = [None, *_list_of_str(obj.get("obfuscate", []), "obfuscate", where)]
    for d in disguises[1:]:
        if d not in OBFUSCATIONS:
            raise AssessError(f"{where}: unknown obfuscation {d!r} ({', '.join(OBFUSCATIONS)})")
    hidden = _list_of_str(obj.get("obfuscate_slots", names), "obfuscate_slots", where)
    if bad := set(hidden) - set(names):
        raise AssessError(f"{where}: obfuscate_slots names unknown slot(s) {sorted(bad)}")
    base_tags = _list_of_str(obj.get("tags", []), "tags", where)
    for combo in itertools.product(*choices):
        for disguise in disguises:
            values, tags = {}, list(base_tags)
            for name, (value, value_tags) in zip(names, combo, strict=True):
                if disguise is not None and name in hidden:
                    value = OBFUSCATIONS[disguise](value)
                values[name] = value
                tags.extend(value_tags)
            if disguise is not None:
                tags += ["obfuscated", f"obfuscated:{disguise}"]
            messages = [
                {"role": t.get("role"), "content": _fill(str(t.get("content")), values)}
                for t in turns
            ]
            yield {
                "category": obj.get("category"),
                "control": obj.get("control", False),
                "modality": obj.get("modality", "text"),
                "tags": list(dict.fromkeys(tags)),
                "messages": messages,
            }


def _fill(text: str, values: Mapping[str, str]) -> str:
    return _SLOT.sub(lambda m: values[m.group(1)], text)


def _slot_values(name: str, values: Any, where: str) -> list[tuple[str, list[str]]]:
    if not isinstance(values, list) or not values:
        raise AssessError(f"{where}: slot {name!r} needs a non-empty list of values")
    out: list[tuple[str, list[str]]] = []
    for v in values:
        if isinstance(v, str):
            out.append((v, []))
        elif isinstance(v, dict) and isinstance(v.get("value"), str):
            out.append((v["value"], _list_of_str(v.get("tags", []), f"{name}.tags", where)))
        else:
            raise AssessError(f"{where}: slot {name!r}: a value is a string or {{value, tags}}")
    return out


# -- validation -----------------------------------------------------------------------------


def _probe(obj: Mapping[str, Any], messages: Any, where: str) -> Probe:
    category = obj.get("category")
    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise AssessError(f"{where}: bad category {category!r} (lower_snake_case)")
    pid = obj.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        raise AssessError(f"{where}: bad probe id {pid!r} (letters, digits, _ . : -)")
    control = obj.get("control", False)
    if not isinstance(control, bool):
        raise AssessError(f"{where}: probe {pid}: control must be true or false")
    modality = obj.get("modality", "text")
    if modality not in MODALITIES:
        raise AssessError(f"{where}: probe {pid}: unknown modality {modality!r} (text, image)")
    tags = tuple(_list_of_str(obj.get("tags", []), "tags", where))
    return Probe(pid, category, control, modality, _check_messages(messages, pid, where), tags)


def _check_messages(messages: Any, pid: str, where: str) -> tuple[Mapping[str, str], ...]:
    if not isinstance(messages, list) or not messages:
        raise AssessError(f"{where}: probe {pid}: messages must be a non-empty list")
    out = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise AssessError(f"{where}: probe {pid}: each message needs a role in {ROLES}")
        content = m.get("content")
        if not isinstance(content, str) or not content.strip():
            raise AssessError(f"{where}: probe {pid}: a message has empty content")
        out.append({"role": m["role"], "content": content})
    if out[-1]["role"] != "user":
        raise AssessError(f"{where}: probe {pid}: the last message must be the user's ask")
    return tuple(out)


def _text(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AssessError(f"{where}: {what} must be a non-empty string")
    return value


def _list_of_str(value: Any, what: str, where: str) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise AssessError(f"{where}: {what} must be a list of strings")
    if not all(isinstance(v, str) and v for v in value):
        raise AssessError(f"{where}: {what} must be a list of non-empty strings")
    return list(value)
