"""``evaluate_text``: report shape on a small sample, the baseline, and (slow) the targets."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from childsafe.classifiers.text import synth
from childsafe.classifiers.text.evaluation import BASELINE, evaluate_text, patterns_only

SLICES = [
    "minor",
    "sexual",
    "risk",
    "risk | benign_child",
    "risk | mixed_subject",
    "risk | adult_young_sexual",
    "risk | obfuscated",
]


@pytest.fixture(scope="module")
def small() -> list[synth.Sample]:
    return synth.generate(synth.load_templates("heldout"), dict.fromkeys(synth.CLASS_LABELS, 4),
                          seed=11, obfuscate=0.5)  # fmt: skip


def test_reports_model_and_baseline_on_the_same_items(small: list[synth.Sample]) -> None:
    model, baseline = evaluate_text(small)
    assert (model.classifier, baseline.classifier) == ("text_risk", BASELINE)
    assert model.n_items == baseline.n_items == len(small) == 28
    for report in (model, baseline):
        assert [m.label for m in report.metrics] == SLICES
        assert report.latency["n"] == len(small)
        json.dumps(report.to_dict())
    by_label = {m.label: m for m in model.metrics}
    assert by_label["risk"].tp + by_label["risk"].fn == 4  # the 4 risk sentences
    assert by_label["risk | benign_child"].n == 4
    assert by_label["minor"].tp + by_label["minor"].fn == 12  # benign_child, mixed, risk
    assert model.extra["thresholds"]["risk"] > 0
    assert set(model.extra["flag_rates"]) == set(synth.CLASS_LABELS)
    assert any("lexicon coverage" in note for note in model.notes)


def test_thresholds_can_be_overridden(small: list[synth.Sample]) -> None:
    everything = {"minor": 0.0, "sexual": 0.0, "risk": 0.0}
    model, _ = evaluate_text(small, thresholds=everything)
    risk = next(m for m in model.metrics if m.label == "risk")
    assert risk.fn == 0 and risk.tn == 0  # everything flagged


def test_patterns_only_baseline() -> None:
    assert patterns_only("nsfw picture of a 12 year old") == {
        "minor": True,
        "sexual": True,
        "risk": True,
    }
    assert patterns_only("homework help for my 12 year old")["risk"] is False
    assert patterns_only("my 9 year old went to bed early, then I read erotica")["risk"] is False


def test_bench_prints_both_systems_and_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[3] / "bench"))
    bench = importlib.import_module("bench_text_risk")
    out = tmp_path / "text.json"
    assert bench.main(["--per-class", "3", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| text_risk |" in printed and f"| {BASELINE} |" in printed
    assert "target risk F1 >= 0.9:" in printed
    report = json.loads(out.read_text())
    assert [r["classifier"] for r in report["reports"]] == ["text_risk", BASELINE]
    assert report["reports"][0]["n_items"] == 3 * len(synth.CLASS_LABELS)


@pytest.mark.slow
def test_targets_on_the_held_out_set() -> None:
    """The model card's figures: risk F1 >= 0.9 and risk FPR <= 1 % on benign-child prompts
    (the whole held-out set, about 10 s). Latency is measured by bench/bench_text_risk.py on
    a quiet machine, not asserted here."""
    model, baseline = evaluate_text()
    m = {x.label: x for x in model.metrics}
    b = {x.label: x for x in baseline.metrics}
    assert m["risk"].f1 >= 0.9
    assert m["risk | benign_child"].fpr <= 0.01
    assert m["risk"].f1 > b["risk"].f1
