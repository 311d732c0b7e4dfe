"""Which hashers exist, and which may run.

Built-ins register through the same ``childsafe.hashers`` entry-point group as third-party
plugins (STYLE 7), but only names on an explicit allow-list load: a child-safety tool must
never silently run whatever happens to be installed. The built-ins are always allowed; other
names must be listed in ``Settings.allowed_plugins`` (``CHILDSAFE_ALLOWED_PLUGINS``).
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from childsafe.errors import PluginError
from childsafe.hashing.base import Hasher

GROUP = "childsafe.hashers"

BUILTINS: dict[str, str] = {
    "md5": "childsafe.hashing.md5:MD5Hasher",
    "sha1": "childsafe.hashing.sha1:SHA1Hasher",
    "sha256": "childsafe.hashing.sha256:SHA256Hasher",
    "pdq": "childsafe.hashing.pdq:PDQHasher",
    "video_md5": "childsafe.hashing.video_md5:VideoMD5Hasher",
    "vpdq": "childsafe.hashing.vpdq:VPDQHasher",
}


def available(allowed: list[str] | None = None) -> dict[str, str]:
    """Hasher names to ``module:Class`` targets that are installed and allowed.

    Cached: scanning entry points costs milliseconds, which ``hash_file`` must not pay per
    file.
    """
    return dict(_available(tuple(sorted(set(allowed or ())))))


@cache
def _available(allowed: tuple[str, ...]) -> dict[str, str]:
    found = dict(BUILTINS)
    extra = set(allowed or ())
    for ep in entry_points(group=GROUP):
        if ep.name in BUILTINS:
            if ep.value != BUILTINS[ep.name]:
                raise PluginError(
                    f"plugin {ep.value!r} tries to replace built-in hasher {ep.name!r}"
                )
            continue
        if ep.name in extra:
            found[ep.name] = ep.value
    missing = extra - set(found)
    if missing:
        raise PluginError(f"allowed hasher plugins not installed: {', '.join(sorted(missing))}")
    return found


@cache
def _load(target: str) -> type[Hasher]:
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"cannot load hasher {target!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Hasher)):
        raise PluginError(f"{target!r} is not a Hasher")
    return cls


def get_hasher(name: str, allowed: list[str] | None = None) -> Hasher:
    """A new instance of the hasher called ``name``; raises ``PluginError`` if not allowed."""
    targets = available(allowed)
    if name not in targets:
        raise PluginError(
            f"unknown or not allowed hasher {name!r}; known: {', '.join(sorted(targets))}"
        )
    cls = _load(targets[name])
    if cls.name != name:
        raise PluginError(
            f"hasher {targets[name]!r} calls itself {cls.name!r}, registered as {name!r}"
        )
    return cls()
