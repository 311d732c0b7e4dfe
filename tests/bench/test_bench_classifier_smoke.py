"""Smoke tests of the classifier benchmarks: each runs end to end on a tiny input.

They check the scripts work and print their tables, not the figures (those need a quiet
machine; docs/models/ has them).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module(name)


def test_text_patterns_smoke(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench("bench_text_patterns", monkeypatch)
    out = tmp_path / "patterns.json"
    assert bench.main(["--n", "40", "--repeat", "1", "--json", str(out)]) == 0
    assert "baseline" in capsys.readouterr().out
    assert json.loads(out.read_text())


def test_conversation_smoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench("bench_conversation", monkeypatch)
    assert bench.main(["--n-benign", "4", "--n-grooming", "2", "--latency", "20"]) == 0
    printed = capsys.readouterr().out
    assert "stages (baseline)" in printed and "F0.5" in printed
