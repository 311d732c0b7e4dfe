"""``childsafe assess models`` and ``childsafe assess sbd`` end to end (real CLI, real files)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.assess.lora_files import kohya_metadata, raw_safetensors, write_lora
from tests.cli.conftest import Run

from childsafe.assess.sbd import BankRecord
from childsafe.banks.base import ImportRecord
from childsafe.cli.assess_models_cmd import store_evidence
from childsafe.screening.base import ContentKind, DecisionEntry, PolicyRef, Source
from childsafe.storage import SqlBankStore


def _models(root: Path, *, flagged: bool = True) -> Path:
    write_lora(root / "lake.safetensors", kohya_metadata({"lake": 40}, output_name="lake"))
    write_lora(
        root / "bus" / "bus.safetensors", kohya_metadata({"school_bus": 30}, output_name="bus")
    )
    if flagged:
        write_lora(
            root / "x" / "set.safetensors",
            kohya_metadata({"child": 45, "nsfw": 40}, output_name="set"),
        )
    return root


def test_models_folder_json_and_out(tmp_path: Path, run: Run) -> None:
    root = _models(tmp_path / "models")
    out = tmp_path / "reports" / "model_scan.json"
    res = run("assess", "models", str(root), "--json", "--out", str(out))
    assert res.code == 1, res.err
    rows = res.jsonl()
    assert [r["model_id"] for r in rows] == [
        "bus/bus.safetensors",
        "lake.safetensors",
        "x/set.safetensors",
    ]
    assert [r["status"] for r in rows] == ["ok", "ok", "flagged"]
    doc = json.loads(out.read_text())
    assert doc["format"] == "childsafe-model-scan/1"
    assert doc["counts"] == {"total": 3, "ok": 2, "flagged": 1, "error": 0}
    (finding,) = doc["findings"]
    assert finding["model_id"] == "x/set.safetensors" and finding["severity"] == "high"
    assert finding["sha256"] == rows[2]["sha256"]
    human = run("assess", "models", str(root))
    assert human.code == 1
    assert "x/set.safetensors" in human.out and "minor_sexual_cooccurrence" in human.out
    assert "scanned 3 model(s): 1 flagged" in human.err


def test_models_clean_errors_and_bad_input(tmp_path: Path, run: Run) -> None:
    clean = _models(tmp_path / "clean", flagged=False)
    assert run("assess", "models", str(clean)).code == 0
    raw_safetensors(clean / "broken.safetensors", b"{oops")
    res = run("assess", "models", str(clean), "--json")
    assert res.code == 3
    broken = next(r for r in res.jsonl() if r["status"] == "error")
    assert "broken.safetensors" in broken["error"] and "not valid JSON" in broken["error"]
    assert run("assess", "models").code == 2
    both = run("assess", "models", str(clean), "--listing", str(clean / "x.jsonl"))
    assert both.code == 2 and "not both" in both.err
    missing = run("assess", "models", str(tmp_path / "nope"))
    assert missing.code == 2 and "nope" in missing.err and "Traceback" not in missing.err
    no_listing = run("assess", "models", "--listing", str(tmp_path / "gone.jsonl"))
    assert no_listing.code == 2 and "gone.jsonl" in no_listing.err


def test_models_listing(tmp_path: Path, run: Run) -> None:
    listing = tmp_path / "hub.jsonl"
    listing.write_text(
        json.dumps({"id": "org/lake", "files": ["lake.safetensors"], "tags": ["lora"]})
        + "\n"
        + json.dumps({"id": "org/kid-nsfw", "files": [], "tags": ["kid", "nsfw"]})
        + "\nnot json\n"
    )
    res = run("assess", "models", "--listing", str(listing), "--json")
    assert res.code == 1
    assert [r["status"] for r in res.jsonl()] == ["ok", "flagged", "error"]


@pytest.fixture
def scan_out(tmp_path: Path, run: Run, samples: Path) -> Path:
    """A real (small, hash-only) `childsafe scan` output folder."""
    assert run("banks", "import", "demo", str(samples / "demo-bank.csv")).code == 0
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"note-{i}.txt").write_text(f"a caption about a lake, number {i}")
    out = tmp_path / "scan1"
    res = run(
        "scan", str(data), "--out", str(out), "--workers", "1", "--hash", "md5", "--hash", "sha256"
    )  # fmt: skip
    assert res.code == 0, res.err
    return out


def test_sbd_from_real_records(
    tmp_path: Path, run: Run, scan_out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_scan = tmp_path / "ms.json"
    run("assess", "models", str(_models(tmp_path / "m")), "--out", str(model_scan))
    monkeypatch.setenv("CHILDSAFE_NCMEC_USERNAME", "esp-test")
    out = tmp_path / "sbd"
    res = run(
        "assess", "sbd", "--scan", str(scan_out), "--assessment", str(model_scan),
        "--out", str(out), "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    (doc,) = res.jsonl()
    items = {i["id"]: i for i in doc["items"]}
    summary = json.loads((scan_out / "summary.json").read_text())
    total = summary["items"]["total"]
    develop = items["develop.1"]
    assert develop["status"] == "partial"  # hash lists matched, but no classifier was used
    assert f"{total} items" in develop["evidence"][0] and "demo" in develop["evidence"][1]
    assert items["deploy.4"]["status"] == "partial"  # a bank, but no screening decisions
    assert "default/demo" in items["deploy.4"]["evidence"][0]
    assert items["deploy.5"]["status"] == "partial"  # 1 flagged model, no takedown actions
    assert "3 models, 1 flagged" in items["deploy.5"]["evidence"][0]
    assert "reporting configured (test)" in " ".join(items["maintain.9"]["evidence"])
    assert items["maintain.8"]["status"] == "unknown"
    assert {p.name for p in out.iterdir()} == {"sbd.json", "sbd.md", "sbd.html"}
    assert json.loads((out / "sbd.json").read_text())["items"] == doc["items"]


def test_sbd_markdown_and_bad_paths(tmp_path: Path, run: Run) -> None:
    res = run("assess", "sbd")
    assert res.code == 0, res.err
    assert res.out.startswith("# Safety by Design self-assessment")
    assert "develop.1 — unknown" in res.out and "— met" not in res.out
    bad = run("assess", "sbd", "--scan", str(tmp_path / "no-scan"))
    assert bad.code == 2 and "no-scan" in bad.err and "Traceback" not in bad.err
    wrong = tmp_path / "wrong.json"
    wrong.write_text("{}")
    res = run("assess", "sbd", "--assessment", str(wrong))
    assert res.code == 2 and "wrong.json" in res.err


def test_store_evidence_on_both_databases(store: SqlBankStore) -> None:
    store.access.create_tenant("acme")
    store.create_bank("demo")
    store.apply("demo", [ImportRecord("md5", f"{i:032x}") for i in range(3)], source="t")
    entry = DecisionEntry(
        "r1", "acme", datetime.now(UTC), Source.API, ContentKind.PROMPT, "review",
        ("text_risk",), PolicyRef("p", "1"), "ab" * 32,
    )  # fmt: skip
    store.decisions.record(entry)
    store.decisions.record(replace(entry, request_id="r2", tenant="default", decision="allow"))
    ev = store_evidence(store, "default")
    assert ev["banks"] == (BankRecord("default/demo", 1, 3),)
    assert ev["decisions"] == {"review": 1, "allow": 1}
    assert ev["active_policies"] == 0
    assert ev["reviewers"] in (None, 0)  # no reviewer accounts (or no review tables yet)
