"""A saved snapshot matches exactly like the live Matcher it was saved from."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from tests.matching.memory_store import MemoryStore

from childsafe.banks.base import ImportRecord
from childsafe.errors import IndexError_
from childsafe.matching import Matcher
from childsafe.matching.snapshot import BankVersion, MatcherSnapshot
from childsafe.types import HashValue


def test_snapshot_equals_live_matcher(tmp_path: Path) -> None:
    rng = random.Random(3)
    store = MemoryStore()
    store.create_bank("a")
    store.create_bank("b", pdq_radius=10, pdq_quality_floor=70)
    pdqs = [rng.randbytes(32).hex() for _ in range(50)]
    md5s = [rng.randbytes(16).hex() for _ in range(50)]
    store.apply(
        "a",
        [ImportRecord("pdq", v, label="p") for v in pdqs]
        + [ImportRecord("md5", v, label="m") for v in md5s],
        source="s",
    )
    store.apply(
        "b",
        [ImportRecord("pdq", v) for v in pdqs[:10]] + [ImportRecord("md5", md5s[0])],
        source="s",
    )
    store.add_allowed("a", "md5", [md5s[1]], "fp")
    store.add_allowed("a", "pdq", [pdqs[2]], "fp")
    live = Matcher(store)
    MatcherSnapshot.save(live, tmp_path / "snap")
    frozen = MatcherSnapshot.load(tmp_path / "snap")
    assert frozen.banks == [BankVersion(b, live.version(b)) for b in ("a", "b")]
    queries = []
    for i in range(40):
        n = int(pdqs[i % 50], 16) ^ (1 << rng.randrange(256)) ^ (1 << rng.randrange(256))
        q = {"pdq": HashValue("pdq", f"{n:064x}", rng.choice([None, 40, 90]))}
        if i % 3 == 0:
            q["md5"] = HashValue("md5", md5s[i % 5])
        queries.append(q)
    queries.append({"pdq": HashValue("pdq", rng.randbytes(32).hex(), 100)})
    assert frozen.explain_many(queries) == live.explain_many(queries)
    # The vectorised lookups agree with match_many.
    keys = np.frombuffer(bytes.fromhex("".join(md5s[:5])), np.uint8).reshape(5, 16)
    hits = frozen.lookup_exact("md5", keys, np.arange(5))
    expected = live.match_many([{"md5": HashValue("md5", v)} for v in md5s[:5]])
    got = sorted(zip(hits.row.tolist(), hits.bank, hits.entry_id.tolist(), strict=True))
    want = sorted((i, mm.bank, mm.entry_id) for i, ms in enumerate(expected) for mm in ms)
    assert got == want and (0, "b", got[1][2]) in got


def test_missing_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="no usable matcher snapshot"):
        MatcherSnapshot.load(tmp_path)
