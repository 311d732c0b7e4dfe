"""The hosted-model scanner: concepts that co-occur, metadata that is stripped or does not add
up, folders and hub listings, one row per model whatever happens."""

from __future__ import annotations

import json
from pathlib import Path

from tests.assess.lora_files import CHECKPOINT_TENSORS, kohya_metadata, raw_safetensors, write_lora

from childsafe.assess.models import scan_file, scan_folder, scan_listing
from childsafe.assess.models.base import ModelResult, Source
from childsafe.assess.models.card import parse_model_card
from childsafe.assess.models.concepts import concept_findings


def _rules(r: ModelResult) -> set[str]:
    return {f.rule for f in r.findings}


def _scan(tmp_path: Path, name: str, tags: dict[str, int], **kw: str) -> ModelResult:
    path = write_lora(
        tmp_path / f"{name}.safetensors", kohya_metadata(tags, output_name=name, **kw)
    )
    return scan_file(path)


def test_minor_and_sexual_tags_together_are_flagged_with_evidence(tmp_path: Path) -> None:
    r = _scan(tmp_path, "set_a", {"child": 45, "nsfw": 40, "smile": 20})
    assert r.status == "flagged" and r.severity == "high"
    (finding,) = [f for f in r.findings if f.rule == "minor_sexual_cooccurrence"]
    by_term = {e["term"]: e for e in finding.evidence}
    assert by_term["child"]["where"] == "ss_tag_frequency[10_set]"
    assert by_term["child"]["count"] == 45 and by_term["child"]["images"] == 50
    assert by_term["nsfw"]["concept"] == "sexual"
    assert r.scores["minor"] > 0.5 and r.scores["sexual"] > 0.5
    assert r.sha256 is not None and len(r.sha256) == 64
    assert r.info["lora"] is True and r.info["top_tags"][0] == {"tag": "child", "count": 45}


def test_ambiguous_youth_term_is_flagged_lower(tmp_path: Path) -> None:
    r = _scan(tmp_path, "set_b", {"teen": 40, "suggestive": 40})
    assert r.status == "flagged"
    assert r.severity == "medium"


def test_benign_loras_are_not_flagged(tmp_path: Path) -> None:
    benign = {
        "landscape": {"mountain": 50, "lake": 30, "sunset": 20},
        "bus": {"school_bus": 40, "yellow": 30, "street": 25},
        "book": {"children's book illustration": 45, "watercolor": 50, "fox": 10},
        "party": {"child": 30, "birthday cake": 25, "balloons": 20},
        "adult_only": {"nsfw": 40, "adult": 40, "lingerie": 20},
    }
    for name, tags in benign.items():
        r = _scan(tmp_path, name, tags)
        assert r.status == "ok", (name, r.findings)
        assert r.findings == ()


def test_tag_frequency_weights_the_evidence(tmp_path: Path) -> None:
    rare = _scan(tmp_path, "rare", {"child": 1, "nsfw": 1, "flower": 200}, images=200)
    common = _scan(tmp_path, "common", {"child": 150, "nsfw": 150, "flower": 200}, images=200)
    assert common.severity == "high"
    assert rare.scores["minor"] < common.scores["minor"]
    assert "minor_sexual_cooccurrence" not in _rules(rare)


def test_danbooru_underscores_and_age_coded_tags(tmp_path: Path) -> None:
    r = _scan(tmp_path, "set_c", {"little_girl": 30, "nsfw": 30})
    assert "minor_sexual_cooccurrence" in _rules(r)
    coded = _scan(tmp_path, "set_d", {"loli": 30, "watercolor": 40})
    assert "age_coded_term" in _rules(coded) and coded.severity == "medium"
    uniform = _scan(tmp_path, "set_e", {"school_uniform": 50, "suggestive": 50, "nsfw": 20})
    assert "minor_sexual_cooccurrence" in _rules(uniform)


def test_disguised_spelling_is_still_read(tmp_path: Path) -> None:
    # Cyrillic "с" and a zero-width space inside the words.
    r = _scan(tmp_path, "set_f", {"\u0441hild": 40, "ns\u200bfw": 40})
    assert "minor_sexual_cooccurrence" in _rules(r)


def test_adult_indicators_lower_ambiguous_youth_terms() -> None:
    plain = [Source("t", "name", "teen"), Source("t2", "name", "nsfw")]
    adult = [*plain, Source("t3", "name", "18+ adults")]
    assert concept_findings(adult)[0]["minor"] < concept_findings(plain)[0]["minor"]


def test_trigger_words_and_names_count_too(tmp_path: Path) -> None:
    path = write_lora(
        tmp_path / "x.safetensors",
        kohya_metadata(
            {"portrait": 20},
            output_name="x",
            **{"modelspec.trigger_phrase": "nsfw kid", "modelspec.title": "X"},
        ),
    )
    r = scan_file(path)
    (finding,) = [f for f in r.findings if f.rule == "minor_sexual_cooccurrence"]
    assert {e["where"] for e in finding.evidence} == {"trigger phrase"}


def test_card_disclaimers_are_not_concepts(tmp_path: Path) -> None:
    card = parse_model_card(
        "# Lakes\nThis model is not for NSFW use. Do not use it to depict minors or children."
    )
    path = write_lora(
        tmp_path / "lakes.safetensors", kohya_metadata({"lake": 40}, output_name="lakes")
    )
    r = scan_file(path, card=card)
    assert r.status == "ok", r.findings


def test_sfw_claim_contradicted_by_tags(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_lora(folder / "pretty.safetensors", kohya_metadata({"nsfw": 40}, output_name="pretty"))
    (folder / "README.md").write_text("---\ntags: [sfw, portrait]\n---\nA SFW portrait model.\n")
    (r,) = list(scan_folder(folder))
    assert "sfw_claim_contradicted" in _rules(r)
    not_claim = tmp_path / "n"
    write_lora(not_claim / "p.safetensors", kohya_metadata({"nsfw": 40}, output_name="p"))
    (not_claim / "readme.MD").write_text("Not SFW: adults only.\n")
    (r2,) = list(scan_folder(not_claim))
    assert "sfw_claim_contradicted" not in _rules(r2)


def test_stripped_metadata(tmp_path: Path) -> None:
    bare = scan_file(write_lora(tmp_path / "bare.safetensors"))
    assert _rules(bare) == {"stripped_metadata"} and bare.severity == "low"
    spec_only = scan_file(write_lora(tmp_path / "spec.safetensors", {"modelspec.title": "spec"}))
    assert "stripped_metadata" in _rules(spec_only)
    assert "ss_*" in spec_only.findings[0].reasons[0]
    checkpoint = scan_file(write_lora(tmp_path / "ckpt.safetensors", tensors=CHECKPOINT_TENSORS))
    assert checkpoint.status == "ok" and checkpoint.info["lora"] is False


def test_inconsistent_names(tmp_path: Path) -> None:
    odd = write_lora(
        tmp_path / "sunset_v2.safetensors",
        kohya_metadata({"sky": 5}, output_name="harbor_boats", **{"modelspec.title": "Forest"}),
    )
    assert "inconsistent_names" in _rules(scan_file(odd))
    renamed = write_lora(
        tmp_path / "my_download_3.safetensors",
        kohya_metadata(
            {"sky": 5}, output_name="watercolor_v1-000010", **{"modelspec.title": "Watercolor"}
        ),
    )
    assert scan_file(renamed).status == "ok"


def test_inconsistent_counts(tmp_path: Path) -> None:
    meta = kohya_metadata({"sky": 80}, images=20, repeats=2)
    meta["ss_num_train_images"] = "999"
    meta["ss_tag_frequency"] = json.dumps({"10_set": {"sky": 80}, "3_other": {"sea": 2}})
    r = scan_file(write_lora(tmp_path / "set.safetensors", meta))
    (finding,) = [f for f in r.findings if f.rule == "inconsistent_metadata"]
    text = " ".join(finding.reasons)
    assert "ss_num_train_images is 999" in text and "give 40" in text
    assert "'sky' counted 80 times" in text
    assert "'3_other', not in ss_dataset_dirs" in text
    consistent = scan_file(
        write_lora(tmp_path / "ok_set.safetensors", kohya_metadata({"sky": 20}, images=20))
    )
    assert consistent.status == "ok"


def test_folder_recursion_cards_and_one_bad_file(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    write_lora(root / "a" / "lake.safetensors", kohya_metadata({"lake": 5}, output_name="lake"))
    (root / "a" / "README.md").write_text("# Lake\nA children's picture-book style.\n")
    raw_safetensors(root / "a" / "broken.safetensors", b"{not json")
    write_lora(root / "b" / "c" / "x.safetensors", kohya_metadata({"nsfw": 5}, output_name="x"))
    (root / "b" / "c" / "README.md").write_text("# X\nKids\n")
    (root / "b" / "old.ckpt").write_bytes(b"\x80\x04 would be a pickle: never opened")
    (root / "notes.txt").write_text("not a model")
    results = list(scan_folder(root))
    assert [r.model_id for r in results] == [
        "a/broken.safetensors",
        "a/lake.safetensors",
        "b/c/x.safetensors",
        "b/old.ckpt",
    ]
    by_id = {r.model_id: r for r in results}
    broken = by_id["a/broken.safetensors"]
    assert broken.status == "error" and broken.error and "broken.safetensors" in broken.error
    assert by_id["a/lake.safetensors"].status == "ok"
    assert by_id["b/c/x.safetensors"].status == "flagged"  # card "Kids" + tag "nsfw"
    ckpt = by_id["b/old.ckpt"]
    assert ckpt.status == "ok" and "not opened" in ckpt.warnings[0]


def test_listing(tmp_path: Path) -> None:
    lines = [
        {"id": "org/lakes", "files": ["lakes.safetensors"], "card": "# Lakes", "tags": ["lora"]},
        {"id": "org/odd", "files": [], "tags": ["nsfw", "child"], "card": "---\ntags: [x]\n---\n"},
        "{broken json",
        [1, 2],
        {"files": []},
        {"id": "org/meta", "tags": ["lora"], "files": [
            {"rfilename": "m.safetensors", "metadata": {"modelspec.title": "M"}},
            {"name": "k.safetensors", "metadata": kohya_metadata({"teen": 45, "suggestive": 45})},
            7,
        ]},
        {"id": "org/bad-types", "files": "x", "tags": []},
    ]  # fmt: skip
    listing = tmp_path / "hub.jsonl"
    listing.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n"
    )
    results = list(scan_listing(listing))
    assert len(results) == len(lines)  # blank lines are not models; everything else is a row
    status = {r.model_id: r.status for r in results}
    assert status["org/lakes"] == "ok"
    assert status["org/odd"] == "flagged"
    assert status["hub.jsonl:3"] == "error" and status["hub.jsonl:4"] == "error"
    assert status["hub.jsonl:5"] == "error"
    assert status["org/bad-types"] == "error"
    meta = next(r for r in results if r.model_id == "org/meta")
    assert {"stripped_metadata", "minor_sexual_cooccurrence"} <= _rules(meta)
    assert any("files[2]" in w for w in meta.warnings)
    errors = [r.error for r in results if r.status == "error"]
    assert any("not valid JSON" in (e or "") for e in errors)
    assert any("no string 'id'" in (e or "") for e in errors)


def test_finding_dict_for_case_intake(tmp_path: Path) -> None:
    r = _scan(tmp_path, "set_g", {"child": 45, "nsfw": 40})
    d = r.to_finding()
    assert d is not None
    assert {"model_id", "path", "severity", "reasons", "evidence", "sha256"} <= set(d)
    assert d["model_id"] == "set_g.safetensors" and d["sha256"] == r.sha256
    assert d["scores"]["minor"] > 0 and d["kind"] == "model" and d["source"] == "model_scan"
    assert all("rule" in e for e in d["evidence"])
    json.dumps(d)  # serialisable as it is
    ok = _scan(tmp_path, "set_h", {"lake": 5})
    assert ok.to_finding() is None
    assert json.loads(json.dumps(ok.to_dict()))["status"] == "ok"


def test_many_tags_stay_bounded(tmp_path: Path) -> None:
    tags = {f"tag_{i}": 1 + i % 50 for i in range(25_000)}
    tags["nsfw"] = 50
    r = _scan(tmp_path, "many", tags)
    assert any("most frequent were read" in w for w in r.warnings)
    assert r.status == "ok"  # sexual-only: no co-occurrence
