"""Screening images against real banks (SQLite and PostgreSQL) and the real ``image_risk``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.matching.memory_store import MemoryStore
from tests.screening.samples import Request, bank_photo, encoded

from childsafe.config import Settings
from childsafe.errors import ContentTooLarge, ScreenError
from childsafe.policy.document import DEFAULT_POLICY, PolicyDocument
from childsafe.screening.base import ContentKind
from childsafe.screening.memory_log import MemoryDecisionLog
from childsafe.screening.policies import static_policy
from childsafe.screening.screener import Screener
from childsafe.storage import SqlBankStore


@pytest.fixture
def banked(store: SqlBankStore, tmp_path: Path) -> dict[str, str]:
    return bank_photo(store, "known", "astronaut", tmp_path)


def with_banks(
    settings: Settings, log: MemoryDecisionLog, store: SqlBankStore, **kw: object
) -> Screener:
    return Screener(banks_for=lambda tenant: store, settings=settings, decision_log=log, **kw)  # type: ignore[arg-type]


def test_a_banked_upload_is_blocked_with_a_case(
    store: SqlBankStore,
    banked: dict[str, str],
    settings: Settings,
    log: MemoryDecisionLog,
    req: Request,
    tmp_path: Path,
) -> None:
    screener = with_banks(settings, log, store, index_dir=tmp_path / "idx")
    data = encoded("astronaut")
    verdict = screener.screen(req("image", data=data))
    assert verdict.decision == "block"
    assert verdict.create_case
    assert verdict.message == DEFAULT_POLICY.messages["upload_blocked"]
    assert set(verdict.reasons) == {"match:known:md5", "match:known:pdq"}
    assert {(m.bank, m.hash_type, m.distance) for m in verdict.matches} == {
        ("known", "md5", 0),
        ("known", "pdq", 0),
    }
    assert verdict.pdq == banked["pdq"]
    assert verdict.content_sha256 == hashlib.sha256(data).hexdigest()
    [entry] = log.list("default")
    assert entry.pdq == banked["pdq"] and entry.create_case
    assert sorted(s.split(":")[1] for s in entry.match_summary) == ["md5", "pdq"]
    assert (tmp_path / "idx" / "default").is_dir()  # indexes saved per tenant


def test_a_reencoded_copy_still_matches_by_pdq(
    store: SqlBankStore, banked: dict[str, str], settings: Settings, req: Request
) -> None:
    screener = with_banks(settings, MemoryDecisionLog(), store)
    verdict = screener.screen(req("image", data=encoded("astronaut", "JPEG", quality=70)))
    assert verdict.decision == "block"
    assert verdict.reasons == ("match:known:pdq",)
    assert verdict.matches[0].distance <= 31


def test_other_images_are_allowed_and_generated_ones_classified(
    store: SqlBankStore, banked: dict[str, str], settings: Settings, req: Request
) -> None:
    screener = with_banks(settings, MemoryDecisionLog(), store)
    upload = screener.screen(req("image", data=encoded("coffee")))
    assert (upload.decision, upload.reasons, upload.scores) == ("allow", (), ())
    generated = screener.screen(req("generated_image", data=encoded("chelsea")))
    assert generated.decision == "allow"
    [score] = generated.scores
    assert score.classifier == "image_risk" and score.error is None
    blocked = screener.screen(req("generated_image", data=encoded("astronaut")))
    assert blocked.decision == "block"
    assert blocked.message == DEFAULT_POLICY.messages["output_withheld"]


def test_new_bank_entries_apply_after_sync(
    store: SqlBankStore, banked: dict[str, str], settings: Settings, req: Request, tmp_path: Path
) -> None:
    screener = with_banks(settings, MemoryDecisionLog(), store, sync_interval_s=3600)
    coffee = encoded("coffee")
    assert screener.screen(req("image", data=coffee)).decision == "allow"
    bank_photo(store, "second", "coffee", tmp_path)
    assert screener.screen(req("image", data=coffee)).decision == "allow"  # not synced yet
    screener.sync("default")
    verdict = screener.screen(req("image", data=coffee))
    assert verdict.decision == "block"
    assert "match:second:md5" in verdict.reasons


def test_banks_are_per_tenant(
    store: SqlBankStore, banked: dict[str, str], settings: Settings, req: Request
) -> None:
    empty = MemoryStore()
    screener = Screener(
        banks_for=lambda tenant: store if tenant == "acme" else empty, settings=settings
    )
    data = encoded("astronaut")
    assert screener.screen(req("image", tenant="acme", data=data)).decision == "block"
    assert screener.screen(req("image", tenant="other", data=data)).decision == "allow"


def test_a_rule_naming_a_missing_bank_fails_closed(
    store: SqlBankStore, banked: dict[str, str], settings: Settings, req: Request
) -> None:
    data = DEFAULT_POLICY.to_dict()
    data["rules"]["image"]["banks"] = ["known", "partner-list"]
    policy = PolicyDocument.from_dict(data)
    screener = Screener(
        banks_for=lambda t: store, policies_for=static_policy(policy), settings=settings
    )
    verdict = screener.screen(req("image", data=encoded("coffee")))
    assert (verdict.decision, verdict.reasons) == ("review", ("error:match",))
    assert verdict.error == "tenant 'default' has no bank named partner-list"
    # A match in the banks that do exist still blocks.
    assert screener.screen(req("image", data=encoded("astronaut"))).decision == "block"


def test_unreachable_banks_fail_closed(settings: Settings, req: Request) -> None:
    def down(tenant: str) -> MemoryStore:
        raise ConnectionError("database is down")

    screener = Screener(banks_for=down, settings=settings)
    verdict = screener.screen(req("image", data=encoded("coffee")))
    assert (verdict.decision, verdict.reasons) == ("review", ("error:match",))
    assert verdict.error is not None and "database is down" in verdict.error


@pytest.mark.parametrize(
    ("data", "reason", "problem"),
    [
        (b"definitely not an image", "error:decode", "not an image this service decodes"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "error:hash:pdq", "cannot decode image"),
    ],
)
def test_undecodable_images_get_the_on_error_verdict(
    screener: Screener,
    log: MemoryDecisionLog,
    req: Request,
    data: bytes,
    reason: str,
    problem: str,
) -> None:
    verdict = screener.screen(req("generated_image", data=data, request_id="img-1"))
    assert verdict.decision == "review"
    assert verdict.reasons[0] == reason
    assert verdict.error is not None and problem in verdict.error and "img-1" in verdict.error
    assert verdict.pdq is None
    assert verdict.content_sha256 == hashlib.sha256(data).hexdigest()
    assert log.get("default", "img-1") is not None


def test_exact_hashes_match_even_when_the_bytes_do_not_decode(
    store: SqlBankStore, settings: Settings, req: Request, tmp_path: Path
) -> None:
    junk = b"not an image but a known file"
    (tmp_path / "junk.txt").write_text(f"md5 {hashlib.md5(junk).hexdigest()}\n")
    from childsafe.banks.importer import import_file

    import_file(store, "files", tmp_path / "junk.txt")
    screener = with_banks(settings, MemoryDecisionLog(), store)
    verdict = screener.screen(req("image", data=junk))
    assert verdict.decision == "block"
    assert verdict.reasons == ("match:files:md5", "error:decode")


def test_image_requests_are_checked(screener: Screener, req: Request, settings: Settings) -> None:
    with pytest.raises(ScreenError, match=r"image is empty \(zero bytes\)"):
        screener.screen(req("image", data=b""))
    with pytest.raises(ScreenError, match=r"takes image bytes, not 'text'"):
        screener.screen(req(ContentKind.GENERATED_IMAGE, text="a cat"))
    with pytest.raises(ScreenError, match=r"needs image bytes in 'data'"):
        screener.screen(req("image"))
    small = Screener(settings=settings.model_copy(update={"max_request_bytes": 1024}))
    with pytest.raises(ContentTooLarge, match=r"over the 1024-byte limit"):
        small.screen(req("image", data=encoded("coffee")))
