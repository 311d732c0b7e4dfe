"""The runner: one line per probe, concurrency, resume after a kill -9, run.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.model_servers import REFUSAL, FakeChatModel, echo_callable

from childsafe.assess.base import Probe, Response, Target
from childsafe.assess.runner import read_responses, read_run, run
from childsafe.assess.suites import load_suite
from childsafe.assess.targets._http import RequestOptions
from childsafe.assess.targets.callable import CallableTarget
from childsafe.assess.targets.openai_chat import OpenAIChatTarget
from childsafe.errors import AssessError

ROOT = Path(__file__).resolve().parents[2]
CORE = load_suite("core")
TEXT_IDS = {p.id for p in CORE.probes if p.modality == "text"}


def _lines(run_dir: Path) -> list[dict[str, Any]]:
    raw = (run_dir / "responses.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in raw.splitlines()]


def _one_per_probe(run_dir: Path, ids: set[str]) -> None:
    counts = Counter(obj["probe_id"] for obj in _lines(run_dir))
    assert set(counts) == ids and set(counts.values()) == {1}


class Recording(Target):
    """A callable-like target that records which probes it was asked, from many threads."""

    name = "recording"

    def __init__(self, fail: set[str] | None = None, delay_s: float = 0.0) -> None:
        self.asked: list[str] = []
        self.fail = fail or set()
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def respond(self, probe: Probe) -> Response:
        with self._lock:
            self.asked.append(probe.id)
        time.sleep(self.delay_s)
        if probe.id in self.fail:
            raise RuntimeError("exploded")
        return Response(probe.id, text=f"answer to {probe.id}")


def test_every_probe_one_line_with_real_concurrency(tmp_path: Path) -> None:
    with FakeChatModel("safe") as fake:
        fake.delay_s = 0.01
        target = OpenAIChatTarget(fake.base_url, "m")
        summary = run(CORE, target, tmp_path / "r", concurrency=8, show_progress=False)
        assert 1 < fake.max_in_flight <= 8
    assert (summary.probes, summary.sent, summary.skipped, summary.errors) == (135, 135, 0, 0)
    assert summary.complete
    _one_per_probe(tmp_path / "r", TEXT_IDS)
    refused = {r.probe_id for r in read_responses(tmp_path / "r").values() if r.text == REFUSAL}
    assert refused == {p.id for p in CORE.probes if p.modality == "text" and not p.control}


def test_concurrency_one_is_sequential(tmp_path: Path) -> None:
    with FakeChatModel("echo") as fake:
        fake.delay_s = 0.002
        run(CORE, OpenAIChatTarget(fake.base_url, "m"), tmp_path / "r", concurrency=1,
            show_progress=False)  # fmt: skip
        assert fake.max_in_flight == 1


def test_run_json_records_what_was_run(tmp_path: Path) -> None:
    target = CallableTarget(echo_callable, options=RequestOptions(timeout_s=7, retries=1))
    run(CORE, target, tmp_path / "r", concurrency=3, seed=5, show_progress=False,
        retries=2, modalities=["text", "image"])  # fmt: skip
    meta = read_run(tmp_path / "r")
    assert meta["format"] == 1 and meta["run_id"].startswith("core-")
    assert meta["suite"] == {"name": "core", "version": "1", "sha256": CORE.sha256,
                             "probes": 165, "selected": 165}  # fmt: skip
    assert meta["target"] == {"name": "callable", "takes": "text",
                              "callable": "tests.fakes.model_servers:echo_callable"}  # fmt: skip
    assert meta["config"] == {"concurrency": 3, "timeout_s": 7, "retries": 2, "seed": 5,
                              "modalities": ["image", "text"]}  # fmt: skip
    assert meta["finished_at"] >= meta["started_at"] and meta["versions"]["childsafe"]
    _one_per_probe(tmp_path / "r", {p.id for p in CORE.probes})


def test_a_raising_target_is_a_recorded_error_not_an_abort(tmp_path: Path) -> None:
    target = Recording(fail={"grooming_assistance-0003", "age_ambiguity-control-0002"})
    summary = run(CORE, target, tmp_path / "r", show_progress=False, modalities=["text"])
    assert summary.errors == 2 and summary.complete
    errors = {r.probe_id: r.error for r in read_responses(tmp_path / "r").values() if r.error}
    assert errors == {pid: "target raised RuntimeError: exploded" for pid in target.fail}


def test_existing_run_needs_resume_and_the_same_suite_and_target(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run(CORE, Recording(), out, show_progress=False, modalities=["text"])
    with pytest.raises(AssessError, match="already holds a run; pass --resume"):
        run(CORE, Recording(), out, show_progress=False, modalities=["text"])
    other = tmp_path / "mini.jsonl"
    other.write_text('{"id": "p1", "category": "c", "prompt": "hello"}\n')
    with pytest.raises(AssessError, match="another sha256"):
        run(load_suite(other), Recording(), out, resume=True, show_progress=False)
    with pytest.raises(AssessError, match="another target"):
        run(CORE, CallableTarget(echo_callable), out, resume=True, show_progress=False,
            modalities=["text"])  # fmt: skip
    target = Recording()
    summary = run(CORE, target, out, resume=True, show_progress=False, modalities=["text"])
    assert target.asked == [] and summary.skipped == 135 and summary.sent == 0
    assert read_run(out)["resumed"] == 1


def test_resume_drops_a_torn_line_and_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "r"
    first = Recording()
    run(CORE, first, out, show_progress=False, modalities=["text"])
    lines = (out / "responses.jsonl").read_bytes().splitlines(keepends=True)
    kept, lost = lines[:40], json.loads(lines[40])["probe_id"]
    dup = json.loads(lines[0])
    dup["text"] = "a later answer"
    torn = lines[40][: len(lines[40]) // 2]
    (out / "responses.jsonl").write_bytes(b"".join(kept) + json.dumps(dup).encode() + b"\n" + torn)
    target = Recording()
    summary = run(CORE, target, out, resume=True, show_progress=False, modalities=["text"])
    assert summary.skipped == 40 and summary.sent == 95 and lost in target.asked
    assert not set(target.asked) & {json.loads(line)["probe_id"] for line in kept}
    _one_per_probe(out, TEXT_IDS)
    assert read_responses(out)[dup["probe_id"]].text == "a later answer"  # last line wins


def test_resume_with_retry_errors_resends_only_errored(tmp_path: Path) -> None:
    out = tmp_path / "r"
    bad = {"sexualise_minor-0001", "roleplay_escalation-control-0004"}
    assert run(CORE, Recording(fail=bad), out, show_progress=False,
               modalities=["text"]).errors == 2  # fmt: skip
    target = Recording()
    summary = run(CORE, target, out, resume=True, retry_errors=True, show_progress=False,
                  modalities=["text"])  # fmt: skip
    assert sorted(target.asked) == sorted(bad) and summary.errors == 0
    _one_per_probe(out, TEXT_IDS)


def test_resume_rejects_a_response_for_an_unknown_probe(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run(CORE, Recording(), out, show_progress=False, modalities=["text"])
    with (out / "responses.jsonl").open("a") as f:
        f.write(json.dumps({"probe_id": "made-up-1", "text": "x"}) + "\n")
    with pytest.raises(AssessError, match="'made-up-1' is not in suite core"):
        run(CORE, Recording(), out, resume=True, show_progress=False, modalities=["text"])


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(AssessError, match="concurrency"):
        run(CORE, Recording(), tmp_path / "r", concurrency=0)
    with pytest.raises(AssessError, match="no probes of modality"):
        run(CORE, Recording(), tmp_path / "r", modalities=["audio"])


_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from childsafe.assess.runner import run
from childsafe.assess.suites import load_suite
from childsafe.assess.targets.callable import CallableTarget

def slow(ask):
    time.sleep(0.02)
    return "answer: " + ask[:20]

run(load_suite("core"), CallableTarget(slow, label="slow"), __import__("pathlib").Path({out!r}),
    concurrency=4, show_progress=False, modalities=["text", "image"])
"""


def test_kill_9_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "r"
    code = _CHILD.format(root=str(ROOT), out=str(out))
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        path = out / "responses.jsonl"
        while time.monotonic() < deadline:
            if path.exists() and path.read_bytes().count(b"\n") >= 30:
                break
            assert child.poll() is None, "the run ended before it could be killed"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    before = {json.loads(line)["probe_id"] for line in path.read_bytes().split(b"\n")[:-1]}
    assert 30 <= len(before) < 165
    assert read_run(out)["finished_at"] is None

    def slow(ask: Any) -> str:  # the same label: the same target as the killed run
        return "answer: " + str(ask)[:20]

    target = Recording()
    resumed = CallableTarget(slow, label="slow")
    orig = resumed.respond

    def spy(probe: Probe) -> Response:
        target.asked.append(probe.id)
        return orig(probe)

    resumed.respond = spy  # type: ignore[method-assign]
    summary = run(CORE, resumed, out, resume=True, concurrency=4, show_progress=False,
                  modalities=["text", "image"])  # fmt: skip
    assert summary.complete and summary.skipped == len(before)
    assert not set(target.asked) & before  # complete lines are never redone
    assert len(target.asked) == 165 - len(before)
    _one_per_probe(out, {p.id for p in CORE.probes})
    assert read_run(out)["finished_at"] is not None
