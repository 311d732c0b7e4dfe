"""Matching: indexes over bank hashes and the ``Matcher`` that uses them.

``PDQIndex`` is an exact Hamming-radius brute force (numba), ``ExactIndex`` a sorted-array
lookup for digests, and ``Matcher`` keeps one of each per bank in step with a ``BankStore``.
"""

from childsafe.matching.base import Index
from childsafe.matching.exact_index import ExactIndex
from childsafe.matching.matcher import Matcher, MatchReport, Skip, SyncResult
from childsafe.matching.pdq_index import PDQIndex, pack_hex, unpack

__all__ = [
    "ExactIndex",
    "Index",
    "MatchReport",
    "Matcher",
    "PDQIndex",
    "Skip",
    "SyncResult",
    "pack_hex",
    "unpack",
]
