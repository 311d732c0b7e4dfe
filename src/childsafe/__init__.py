"""childsafe: keep CSAM, AI-generated CSAM and child exploitation out of data, models and platforms.

The names a newcomer needs, loaded lazily so ``import childsafe`` stays cheap (the CLI's
``hash`` command should not pay for SQLAlchemy)::

    import childsafe

    fh = childsafe.hash_file("photo.jpg")           # md5, sha1, sha256, pdq (+ quality)
    store = childsafe.open_store("sqlite:///cs.db")  # or a postgresql:// URL
    childsafe.import_file(store, "known", "list.csv")
    matcher = childsafe.Matcher(store)
    matcher.sync()
    matches = matcher.match(fh.hashes)

    clf = childsafe.get_classifier("text_risk")     # triage for human review, never a verdict
    clf.setup()
    [result] = clf.classify([childsafe.Item(id="p1", text="a prompt")])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "hash_file": "childsafe.hashing.api",
    "hash_paths": "childsafe.hashing.api",
    "get_hasher": "childsafe.hashing.registry",
    "open_store": "childsafe.storage",
    "import_file": "childsafe.banks.importer",
    "export_bank": "childsafe.banks.importer",
    "Matcher": "childsafe.matching.matcher",
    "PDQIndex": "childsafe.matching.pdq_index",
    "ExactIndex": "childsafe.matching.exact_index",
    "Settings": "childsafe.config",
    "Item": "childsafe.content.base",
    "HashValue": "childsafe.types",
    "FileHashes": "childsafe.types",
    "Match": "childsafe.types",
    "get_classifier": "childsafe.classifiers.registry",
    "ClassifierResult": "childsafe.classifiers.base",
    "Screener": "childsafe.screening.screener",
    "Guard": "childsafe.guard.guard",
    "Blocked": "childsafe.guard.result",
    "load_policy_file": "childsafe.policy.document",
    "ChildsafeError": "childsafe.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from childsafe.banks.importer import export_bank, import_file
    from childsafe.classifiers.base import ClassifierResult
    from childsafe.classifiers.registry import get_classifier
    from childsafe.config import Settings
    from childsafe.content.base import Item
    from childsafe.errors import ChildsafeError
    from childsafe.guard.guard import Guard
    from childsafe.guard.result import Blocked
    from childsafe.hashing.api import hash_file, hash_paths
    from childsafe.hashing.registry import get_hasher
    from childsafe.matching.exact_index import ExactIndex
    from childsafe.matching.matcher import Matcher
    from childsafe.matching.pdq_index import PDQIndex
    from childsafe.policy.document import load_policy_file
    from childsafe.screening.screener import Screener
    from childsafe.storage import open_store
    from childsafe.types import FileHashes, HashValue, Match


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'childsafe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
