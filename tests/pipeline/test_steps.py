"""Each step on its own: never drops a record, errors flow through, precomputed hashes."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from tests.matching.memory_store import MemoryStore
from tests.scan.scanfix import image_bytes

from childsafe.banks.base import ImportRecord
from childsafe.classifiers.base import Classifier, ClassifierResult, ModelInfo, Priority
from childsafe.content.base import Item
from childsafe.hashing.api import hash_file
from childsafe.matching import Matcher
from childsafe.matching.snapshot import MatcherSnapshot
from childsafe.pipeline import ClassifyStep, DecideStep, HashStep, MatchStep, Pipeline, Record
from childsafe.policy import Decision, DefaultPolicy
from childsafe.types import HashValue, Match

MD5 = "5454180a93767d59a4be0c974a33f63a"


def items() -> list[Item]:
    return [
        Item.from_bytes(image_bytes(1), id="img"),
        Item.from_bytes(b"\x89PNG\r\n\x1a\n broken", id="broken.png"),
        Item(id="unreadable", error="truncated tar member"),
        Item.from_hashes({"md5": MD5.upper(), "pdq": "", "pdq_quality": "80"}, id="row1"),
        Item.from_hashes({"md5": "zz", "sha256": "1" * 64}, id="row2"),
        Item.from_bytes(b"hello", id="note.txt"),
    ]


def records() -> list[Record]:
    return list(Pipeline([]).run(items()))


def test_hash_step_keeps_every_record_and_records_errors() -> None:
    out = list(HashStep(["md5", "pdq"]).run(records()))
    assert [r.item.id for r in out] == [i.id for i in items()]
    img, broken, unreadable, row1, row2, note = out
    assert set(img.hashes) == {"md5", "pdq"} and img.error is None
    assert img.hashes["md5"].value == hash_file(items()[0], ["md5"]).get("md5")
    assert broken.error and broken.error.startswith("hash: ") and "md5" in broken.hashes
    assert unreadable.error == "read: truncated tar member" and not unreadable.hashes
    assert row1.hashes == {"md5": HashValue("md5", MD5)} and row1.error is None
    assert row2.error and "not a md5 hash" in row2.error and set(row2.hashes) == {"sha256"}
    assert note.error is None and set(note.hashes) == {"md5"}


def test_match_step_uses_the_snapshot(tmp_path: Path) -> None:
    store = MemoryStore()
    store.create_bank("demo")
    store.apply("demo", [ImportRecord("md5", MD5, label="x")], source="t")
    MatcherSnapshot.save(Matcher(store), tmp_path / "snap")
    step = pickle.loads(pickle.dumps(MatchStep(tmp_path / "snap", batch_size=2)))
    out = list(step.run(HashStep(["md5"]).run(records())))
    assert len(out) == 6
    assert [(r.item.id, [m.bank for m in r.matches]) for r in out if r.matches] == [
        ("row1", ["demo"])
    ]


class Flaky(Classifier):
    name: ClassVar[str] = "flaky"
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})

    @property
    def model(self) -> ModelInfo:
        return ModelInfo("flaky-model", "0.1", "MIT")

    def classify(self, items: Sequence[Item]) -> list[ClassifierResult]:
        if any(i.id == "boom" for i in items):
            raise RuntimeError("model crashed")
        return [
            ClassifierResult(
                self.name,
                self.model,
                {"risk": 0.9},
                {"risk": 0.5},
                ("risk",),
                priority=Priority.HIGH,
            )
            for _ in items
        ]


def test_classify_step_scores_matching_kinds_and_survives_failures() -> None:
    out = list(ClassifyStep([Flaky()]).run(records()))
    scored = {r.item.id for r in out if r.scores}
    assert scored == {"img", "broken.png"}
    boom = list(
        ClassifyStep([Flaky()]).run(Pipeline([]).run([Item.from_bytes(image_bytes(2), id="boom")]))
    )
    [r] = boom
    assert r.scores[0].error == "RuntimeError: model crashed"
    assert r.error == "classify: flaky: RuntimeError: model crashed"


def m(bank: str, hash_type: str) -> Match:
    return Match(bank, hash_type, "0" * 32, 0, 1)


@pytest.mark.parametrize(
    ("matches", "flagged", "error", "decision", "reasons"),
    [
        ([], False, None, Decision.ALLOW, ()),
        ([m("a", "md5"), m("a", "md5"), m("b", "pdq")], False, None, Decision.BLOCK,
         ("match:a:md5", "match:b:pdq")),
        ([], True, None, Decision.REVIEW, ("classifier:flaky:risk",)),
        ([], False, "hash: bad", Decision.ERROR, ("error:hash",)),
        ([m("a", "md5")], True, "read: x", Decision.BLOCK,
         ("match:a:md5", "classifier:flaky:risk", "error:read")),
        ([], True, "hash: bad", Decision.REVIEW, ("classifier:flaky:risk", "error:hash")),
    ],
)  # fmt: skip
def test_default_policy(
    matches: list[Match],
    flagged: bool,
    error: str | None,
    decision: Decision,
    reasons: tuple[str, ...],
) -> None:
    scores = Flaky().classify([Item(id="x")]) if flagged else []
    verdict = DefaultPolicy().decide(matches, scores, error)
    assert (verdict.decision, verdict.reasons) == (decision, reasons)


def test_decide_step_sets_every_decision() -> None:
    out = list(DecideStep().run(HashStep(["md5"]).run(records())))
    assert [r.decision for r in out] == ["allow", "allow", "error", "allow", "error", "allow"]
    assert DecideStep().policy_version == "default/1"
