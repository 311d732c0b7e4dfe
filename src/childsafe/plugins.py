"""Plugin discovery shared by every registry (hashers, classifiers).

Built-ins and third-party plugins register through entry-point groups, but only built-ins and
names on the explicit allow-list (``Settings.allowed_plugins``) load: a child-safety tool
must never silently run whatever happens to be installed. One allow-list serves every group,
so a name allowed for a classifier is not an error for the hasher registry; a name found in
no childsafe group at all is (a typo must not pass silently).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from childsafe.errors import PluginError

GROUPS = ("childsafe.hashers", "childsafe.classifiers")


def discover(
    group: str, builtins: Mapping[str, str], allowed: list[str] | None, kind: str
) -> dict[str, str]:
    """Names to ``module:Class`` targets: the built-ins plus allowed, installed plugins.

    Cached per allow-list: scanning entry points costs milliseconds, which a per-file call
    must not pay.
    """
    return dict(
        _discover(group, tuple(sorted(builtins.items())), tuple(sorted(set(allowed or ()))), kind)
    )


@cache
def _discover(
    group: str, builtins: tuple[tuple[str, str], ...], allowed: tuple[str, ...], kind: str
) -> dict[str, str]:
    builtin = dict(builtins)
    found = dict(builtin)
    for ep in entry_points(group=group):
        if ep.name in builtin:
            if ep.value != builtin[ep.name]:
                raise PluginError(
                    f"plugin {ep.value!r} tries to replace built-in {kind} {ep.name!r}"
                )
            continue
        if ep.name in allowed:
            found[ep.name] = ep.value
    registered = {ep.name for g in GROUPS for ep in entry_points(group=g)}
    missing = set(allowed) - registered - set(found)
    if missing:
        raise PluginError(f"allowed plugins not installed: {', '.join(sorted(missing))}")
    return found


def load(target: str, base: type, kind: str) -> type[Any]:
    """The class behind ``module:Class``, checked to be a ``base``; a missing optional
    extra is a clear error."""
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise PluginError(
            f"cannot load {kind} {target!r}: {exc} (is its optional extra installed?)"
        ) from exc
    except AttributeError as exc:
        raise PluginError(f"cannot load {kind} {target!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{target!r} is not a {base.__name__}")
    return cls
