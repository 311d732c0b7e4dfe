"""Which hashers exist, and which may run.

Built-ins register through the same ``childsafe.hashers`` entry-point group as third-party
plugins (STYLE 7), but only names on an explicit allow-list load: a child-safety tool must
never silently run whatever happens to be installed. The built-ins are always allowed; other
names must be listed in ``Settings.allowed_plugins`` (``CHILDSAFE_ALLOWED_PLUGINS``).
"""

from __future__ import annotations

from functools import cache

from childsafe import plugins
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
    """Hasher names to ``module:Class`` targets that are installed and allowed (cached)."""
    return plugins.discover(GROUP, BUILTINS, allowed, "hasher")


@cache
def _load(target: str) -> type[Hasher]:
    loaded: type[Hasher] = plugins.load(target, Hasher, "hasher")
    return loaded


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
