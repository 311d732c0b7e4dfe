"""``childsafe assess suites`` and ``childsafe assess run`` end to end against fakes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run
from tests.fakes.model_servers import FakeChatModel, FakeImageModel


def _flat(text: str) -> str:
    """stderr without rich's line wrapping (long temporary paths wrap)."""
    return "".join(text.split("\n"))


def test_suites_lists_core_with_counts(run: Run) -> None:
    res = run("assess", "suites")
    assert res.code == 0
    assert "core v1: 165 probes (101 attacks, 64 controls) in 5 categories" in res.out
    [row] = [r for r in run("assess", "suites", "--json").jsonl() if r["name"] == "core"]
    assert (row["probes"], row["attacks"], row["controls"]) == (165, 101, 64)
    assert len(str(row["sha256"])) == 64


def test_suites_checks_a_user_file(run: Run, tmp_path: Path) -> None:
    good = tmp_path / "mine.jsonl"
    good.write_text('{"id": "p1", "category": "c", "control": true, "prompt": "a school trip"}\n')
    res = run("assess", "suites", str(good), "--json")
    assert res.code == 0 and res.jsonl()[0]["controls"] == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "p1", "category": "c", "prompt": "hi"}\n{oops\n')
    res = run("assess", "suites", str(bad))
    assert res.code == 4 and "bad.jsonl:2: not valid JSON" in _flat(res.err)
    assert "Traceback" not in _flat(res.err)


def test_run_openai_target_then_resume(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "run1"
    with FakeChatModel("safe") as fake:
        args = ("assess", "run", "--target", "openai", "--base-url", fake.base_url,
                "--model", "fake", "--out", str(out), "--concurrency", "4")  # fmt: skip
        res = run(*args, "--json")
        assert res.code == 0, res.err
        [row] = res.jsonl()
        assert (row["probes"], row["sent"], row["errors"], row["complete"]) == (135, 135, 0, True)
        lines = (out / "responses.jsonl").read_text().splitlines()
        assert len(lines) == 135
        (out / "responses.jsonl").write_text("\n".join(lines[:50]) + "\n")
        res = run(*args)
        assert res.code == 4 and "--resume" in _flat(res.err)
        res = run(*args, "--resume", "--json")
        assert res.code == 0 and res.jsonl()[0]["skipped"] == 50
        assert res.jsonl()[0]["sent"] == 85
    assert len((out / "responses.jsonl").read_text().splitlines()) == 135


def test_run_errors_exit_3_and_retry_errors_fixes_them(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "run2"
    with FakeChatModel("echo") as fake:
        fake.fail_next(500, count=3)
        args = ("assess", "run", "--target", "openai", "--base-url", fake.base_url,
                "--model", "fake", "--out", str(out), "--retries", "0", "-c", "1")  # fmt: skip
        res = run(*args)
        assert res.code == 3 and "3 probe(s) ended in an error" in _flat(res.err)
        res = run(*args, "--resume", "--retry-errors", "--json")
        assert res.code == 0 and res.jsonl()[0]["sent"] == 3
    errors = [json.loads(x)["error"] for x in (out / "responses.jsonl").read_text().splitlines()]
    assert errors == [None] * 135


def test_run_callable_and_image_targets(run: Run, tmp_path: Path) -> None:
    res = run("assess", "run", "--target", "callable", "--callable",
              "tests.fakes.model_servers:safe_callable", "--takes", "messages",
              "--out", str(tmp_path / "c"), "--json")  # fmt: skip
    assert res.code == 0 and res.jsonl()[0]["probes"] == 165  # a callable takes both modalities
    with FakeImageModel("openai") as fake:
        res = run("assess", "run", "--target", "image-http", "--url", fake.url,
                  "--image-scorer", "tests.fakes.model_servers:mean_scorer",
                  "--out", str(tmp_path / "i"), "--json")  # fmt: skip
    assert res.code == 0 and res.jsonl()[0]["probes"] == 30
    first = json.loads((tmp_path / "i" / "responses.jsonl").read_text().splitlines()[0])
    assert len(first["image_hashes"]) == 1 and 0 <= first["image_scores"][0]["mean"] <= 1
    assert not list((tmp_path / "i").glob("*.png"))


def test_usage_errors(run: Run, tmp_path: Path) -> None:
    res = run("assess", "run", "--target", "openai", "--model", "m", "--out", str(tmp_path))
    assert res.code == 2 and "--target openai needs --base-url" in _flat(res.err)
    res = run("assess", "run", "--target", "callable", "--callable", "nomodule_zz:f",
              "--out", str(tmp_path / "x"))  # fmt: skip
    assert res.code == 4 and "cannot import nomodule_zz" in _flat(res.err)
    res = run("assess", "run", "--suite", "nosuch", "--target", "image-http", "--url",
              "http://127.0.0.1:9/x", "--out", str(tmp_path / "y"))  # fmt: skip
    assert res.code == 4 and "not a built-in suite" in _flat(res.err)
    res = run("assess", "run", "--target", "openai", "--base-url", "http://127.0.0.1:9/v1",
              "--model", "m", "--api-key-env", "CHILDSAFE_NO_SUCH_KEY_VAR",
              "--out", str(tmp_path / "z"))  # fmt: skip
    assert res.code == 4 and "CHILDSAFE_NO_SUCH_KEY_VAR" in _flat(res.err)
