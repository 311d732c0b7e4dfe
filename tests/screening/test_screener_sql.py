"""The screener on the real storage layer (SQLite and PostgreSQL): tenant-scoped banks, stored
policies and the durable decision log, as ``childsafe serve`` wires them."""

from __future__ import annotations

from pathlib import Path

from tests.screening.samples import BENIGN, RISKY, bank_photo, encoded

from childsafe.policy.document import DEFAULT_POLICY
from childsafe.screening.base import ContentKind, ScreenRequest, Source, Subject
from childsafe.screening.screener import Screener
from childsafe.storage import SqlBankStore


def test_service_wiring_end_to_end(store: SqlBankStore, tmp_path: Path) -> None:
    acme = store.for_tenant("acme")
    bank_photo(acme, "known", "astronaut", tmp_path)
    policy = DEFAULT_POLICY.to_dict()
    policy["rules"]["image"]["on_match"] = {"outcome": "review", "create_case": True}
    store.policies.put("acme", "acme-policy", policy)
    screener = Screener(
        banks_for=store.for_tenant,
        policies_for=store.policies,
        decision_log=store.decisions,
        index_dir=tmp_path / "idx",
    )
    image = encoded("astronaut")
    acme_verdict = screener.screen(ScreenRequest(ContentKind.IMAGE, "acme", data=image))
    assert (acme_verdict.decision, acme_verdict.create_case) == ("review", True)
    assert (acme_verdict.policy.name, acme_verdict.policy.version) == ("acme-policy", "1")
    # Another tenant sees neither acme's banks nor its policy.
    other = screener.screen(ScreenRequest(ContentKind.IMAGE, "other", data=image))
    assert (other.decision, other.policy.name) == ("allow", "default")

    for text in (RISKY, BENIGN):
        screener.screen(ScreenRequest(ContentKind.PROMPT, "acme", text=text))
    report = screener.user_report("acme", Subject(user_id="u9"), "grooming")
    entries = store.decisions.list("acme")
    assert len(entries) == 4
    assert {e.source for e in entries} == {Source.API, Source.USER_REPORT}
    assert store.decisions.get("acme", report.request_id) == report
    assert store.decisions.get("other", report.request_id) is None
    for entry in entries:
        stored = repr(entry)
        assert RISKY not in stored and BENIGN not in stored
        assert "nsfw picture" not in stored and "fractions" not in stored
