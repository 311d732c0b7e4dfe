"""Model cards: a ``README.md`` with YAML front matter (the Hugging Face convention).

Why a small parser and not a YAML library: model cards use a tiny part of YAML at the top
level (``key: value``, ``key: [a, b]`` and ``key:`` followed by ``- item`` lines), that part is
all the scanner needs (tags, licence, base model, a title), and a full YAML loader would be a
new dependency for untrusted input. Anything deeper (``model-index`` blocks) is kept only as
raw text, which the concept scanner still reads word by word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["MAX_CARD_CHARS", "ModelCard", "parse_model_card"]

MAX_CARD_CHARS = 200_000
"""Longer cards are read up to here (and say so): a card is prose, not a data file."""

_KEY = re.compile(r"^([A-Za-z0-9_.\-]+)\s*:\s*(.*)$")
_ITEM = re.compile(r"^\s+-\s*(.*)$")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ModelCard:
    front_matter: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    front_matter_text: str = ""
    text: str = ""  # the body after the front matter
    problems: tuple[str, ...] = ()

    def values(self, key: str) -> tuple[str, ...]:
        """A front-matter key as a tuple of strings (a scalar is a one-item tuple)."""
        value = self.front_matter.get(key)
        if value is None or value == "":
            return ()
        return (value,) if isinstance(value, str) else value

    @property
    def tags(self) -> tuple[str, ...]:
        return self.values("tags")

    @property
    def title(self) -> str | None:
        """``model_name``/``title`` from the front matter, else the first ``# heading``."""
        for key in ("model_name", "title", "pretty_name"):
            if self.values(key):
                return self.values(key)[0]
        m = _HEADING.search(self.text)
        return m.group(1) if m else None


def _scalar(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.split(" #", 1)[0].strip()  # a trailing YAML comment


def _value(raw: str) -> str | tuple[str, ...]:
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        return tuple(_scalar(p) for p in raw[1:-1].split(",") if p.strip())
    return _scalar(raw)


def _front_matter(lines: list[str]) -> dict[str, str | tuple[str, ...]]:
    out: dict[str, str | tuple[str, ...]] = {}
    key: str | None = None
    items: list[str] = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _KEY.match(line)
        if m:
            if key is not None and items:
                out[key] = tuple(items)
            key, items = m.group(1), []
            if m.group(2).strip():
                out[key] = _value(m.group(2))
            continue
        item = _ITEM.match(line)
        if item and key is not None and key not in out:
            items.append(_scalar(item.group(1)))
    if key is not None and items:
        out[key] = tuple(items)
    return out


def parse_model_card(text: str) -> ModelCard:
    """Split ``text`` into front matter and body; never raises on odd input."""
    problems: list[str] = []
    if len(text) > MAX_CARD_CHARS:
        problems.append(f"card has {len(text)} characters; the first {MAX_CARD_CHARS} were read")
        text = text[:MAX_CARD_CHARS]
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                fm = lines[1:end]
                return ModelCard(
                    front_matter=_front_matter(fm),
                    front_matter_text="\n".join(fm),
                    text="\n".join(lines[end + 1 :]),
                    problems=tuple(problems),
                )
        problems.append("front matter opened with '---' is never closed; read as text")
    return ModelCard(text=text, problems=tuple(problems))
