"""Source patterns and ids: brace ranges, globs, and file-name-safe shard ids.

Brace expansion is our own (``shard-{00000..00099}.tar``, ``{train,test}``) because shells
differ and a scan must expand a pattern the same way on every worker. Every file a pattern
names must exist: a missing tar in a range is a ``SourceError`` naming it, not a quiet gap
in the scan. Shard ids are slugs: ASCII letters, digits, ``._-``; a name that had to be
changed (spaces, non-ASCII) gets a short hash of the original so two names never slug alike.
"""

from __future__ import annotations

import glob
import hashlib
import re
from collections import Counter
from pathlib import Path

from childsafe.errors import SourceError

MAX_EXPANSION = 100_000
GLOB_CHARS = frozenset("*?[")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")
_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".parquet", ".csv", ".tsv", ".jsonl", ".ndjson", ".arrow")


def _short_hash(text: str, n: int = 6) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def slug(name: str, max_len: int = 48) -> str:
    """A file-name-safe, stable rendering of ``name``; changed names get a hash suffix."""
    s = _UNSAFE.sub("_", name).strip("._-")[:max_len]
    if s == name:
        return s
    return f"{s}_{_short_hash(name)}" if s else f"x{_short_hash(name, 8)}"


def stem(path: str) -> str:
    """The name of a file without its dataset suffix (``a.tar.gz`` -> ``a``)."""
    name = Path(path).name or Path(path).resolve().name or "root"
    lower = name.lower()
    for suffix in _SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def prefix(name: str, index: int | None) -> str:
    """The shard-id prefix of one source: its slug, led by the source index when given."""
    s = slug(name)
    return s if index is None else f"{index}_{s}"


def unique_slugs(paths: list[str], index: int | None) -> list[str]:
    """One prefix per file of a source; stems that collide get a hash of their full path."""
    names = [prefix(stem(p), index) for p in paths]
    counts = Counter(names)
    return [
        f"{n}_{_short_hash(p)}" if counts[n] > 1 else n for n, p in zip(names, paths, strict=True)
    ]


def _close(pattern: str, start: int) -> int:
    depth = 0
    for i in range(start, len(pattern)):
        if pattern[i] == "{":
            depth += 1
        elif pattern[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top(body: str) -> list[str]:
    parts, depth, last = [], 0, 0
    for i, ch in enumerate(body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(body[last:i])
            last = i + 1
    return [*parts, body[last:]]


def _alternatives(body: str) -> list[str]:
    m = _RANGE.match(body)
    if m:
        a, b = m.group(1), m.group(2)
        lo, hi = int(a), int(b)
        padded = any(len(x.lstrip("-")) > 1 and x.lstrip("-")[0] == "0" for x in (a, b))
        width = max(len(a), len(b)) if padded else 0
        step = 1 if hi >= lo else -1
        if abs(hi - lo) >= MAX_EXPANSION:
            raise SourceError(f"brace range {{{body}}} names more than {MAX_EXPANSION} files")
        return [str(n).zfill(width) for n in range(lo, hi + step, step)]
    parts = _split_top(body)
    return parts if len(parts) > 1 else ["{" + body + "}"]


def expand_braces(pattern: str) -> list[str]:
    """``a{0..2}b`` -> ``a0b a1b a2b``; ``{x,y}`` lists; nested braces; ranges zero-padded."""
    start = pattern.find("{")
    end = _close(pattern, start) if start >= 0 else -1
    if end < 0:
        return [pattern]
    head, body, tail = pattern[:start], pattern[start + 1 : end], pattern[end + 1 :]
    out: list[str] = []
    for alt in _alternatives(body):
        if alt == "{" + body + "}":  # not an expansion: keep literally, expand the tail
            out.extend(head + alt + rest for rest in expand_braces(tail))
        else:
            out.extend(expand_braces(head + alt + tail))
        if len(out) > MAX_EXPANSION:
            raise SourceError(f"{pattern}: names more than {MAX_EXPANSION} files")
    return out


def is_pattern(source: str) -> bool:
    """Whether ``source`` is a glob or brace pattern rather than one path."""
    return bool(GLOB_CHARS & set(source)) or expand_braces(source) != [source]


def expand_files(source: str) -> list[str]:
    """The files ``source`` names, in order; ``SourceError`` naming any that is missing."""
    out: list[str] = []
    for pattern in expand_braces(source):
        if GLOB_CHARS & set(pattern):
            found = sorted(glob.glob(pattern, recursive=True))  # noqa: PTH207 - str patterns
            if not found:
                raise SourceError(f"{source}: {pattern} matches no files")
            out.extend(f for f in found if Path(f).is_file())
        elif Path(pattern).is_file():
            out.append(pattern)
        elif Path(pattern).exists():
            raise SourceError(f"{source}: {pattern} is not a regular file")
        else:
            raise SourceError(f"{source}: {pattern}: no such file")
    return list(dict.fromkeys(out))
