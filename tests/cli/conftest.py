"""Run the real CLI in-process against a fresh CHILDSAFE_HOME (embedded SQLite)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from childsafe.cli.main import cli

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def jsonl(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("CHILDSAFE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHILDSAFE_DATABASE_URL", raising=False)
    runner = CliRunner()

    def _run(*args: str, input: str | None = None) -> Result:
        res = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        return Result(res.exit_code, res.stdout, res.stderr)

    return _run


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A private copy of the bundled samples (tests may add files to it)."""
    dst = tmp_path / "samples"
    shutil.copytree(SAMPLES, dst)
    return dst
