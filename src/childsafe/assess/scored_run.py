"""A run directory on disk: ``run.json``, ``responses.jsonl`` in; ``scores.jsonl`` and
``scoring.json`` out.

Scores are cached beside the responses with the sha256 of the responses file they came from,
so ``assess report`` rescoring only when the responses changed (a resumed run) is cheap and
safe. Every file is written to a temporary name and renamed: a killed scoring never leaves half
a file that a later report would trust.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from childsafe.assess import runner
from childsafe.assess.base import Score, Suite
from childsafe.assess.refusal import RefusalDetector
from childsafe.assess.scoring import ClassifierJudge, Judge, score_responses
from childsafe.errors import AssessError

SCORES_FILE = "scores.jsonl"
SCORING_FILE = "scoring.json"
RESPONSES_FILE = runner.RESPONSES_FILE
RUN_FILE = runner.RUN_FILE


# -- files --------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSON Lines file; a bad line is an error naming the file and line."""
    if not path.is_file():
        raise AssessError(f"{path}: no such file")
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AssessError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise AssessError(f"{path}:{n}: expected a JSON object")
            out.append(obj)
    return out


def score_to_dict(s: Score) -> dict[str, Any]:
    return {
        "probe_id": s.probe_id,
        "category": s.category,
        "control": s.control,
        "unsafe": s.unsafe,
        "refused": s.refused,
        "errored": s.errored,
        "reasons": list(s.reasons),
        "scores": dict(s.scores),
    }


def score_from_dict(d: Mapping[str, Any]) -> Score:
    return Score(
        probe_id=str(d["probe_id"]),
        category=str(d["category"]),
        control=bool(d["control"]),
        unsafe=bool(d["unsafe"]),
        refused=bool(d["refused"]),
        errored=bool(d["errored"]),
        reasons=tuple(str(r) for r in d.get("reasons", ())),
        scores={str(k): float(v) for k, v in dict(d.get("scores", {})).items()},
    )


def file_sha256(path: Path) -> str:
    if not path.is_file():
        raise AssessError(f"{path}: missing (the run recorded no responses)")
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_scores(run_dir: Path, scores: Sequence[Score], meta: Mapping[str, Any]) -> None:
    """``scores.jsonl`` and ``scoring.json`` (what judged, over which responses file), each
    written to a temporary name and renamed, so a killed scoring never leaves half a file."""
    lines = "".join(json.dumps(score_to_dict(s), ensure_ascii=False) + "\n" for s in scores)
    _atomic_write(run_dir / SCORES_FILE, lines)
    _atomic_write(run_dir / SCORING_FILE, json.dumps(dict(meta), indent=2, sort_keys=True) + "\n")


def read_scores(run_dir: Path) -> list[Score]:
    path = run_dir / SCORES_FILE
    out: list[Score] = []
    for n, d in enumerate(read_jsonl(path), 1):
        try:
            out.append(score_from_dict(d))
        except (KeyError, TypeError, ValueError) as exc:
            raise AssessError(f"{path}: record {n}: not a score ({exc!r})") from None
    return out


def scoring_meta(
    run_dir: Path, judge: Judge, detector: RefusalDetector, scores: Sequence[Score]
) -> dict[str, Any]:
    describe = getattr(judge, "describe", None)
    judge_info = describe() if callable(describe) else {"name": getattr(judge, "__name__", "judge")}
    return {
        "format": 1,
        "scored_at": datetime.now(UTC).isoformat(),
        "responses_sha256": file_sha256(run_dir / RESPONSES_FILE),
        "judge": judge_info,
        "refusal": detector.describe(),
        "n_scores": len(scores),
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# -- a run directory ----------------------------------------------------------------------------


def read_run(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of a run directory, checked for the fields a report relies on."""
    if not run_dir.is_dir():
        raise AssessError(f"{run_dir}: not a run directory")
    meta = runner.read_run(run_dir)
    suite = meta.get("suite")
    if not isinstance(suite, dict) or not all(k in suite for k in ("name", "version", "sha256")):
        raise AssessError(f"{run_dir / RUN_FILE}: no suite name, version and sha256")
    return dict(meta)


def suite_for_run(run_dir: Path, meta: Mapping[str, Any], suite: str | Path | None = None) -> Suite:
    """The probes a run covered: the suite ``suite`` names if given, else the one its
    ``run.json`` names (by path, then as a built-in), limited to the modalities the run sent.
    Its sha256 must match what the run recorded, so a report never pairs answers with the
    wrong probes."""
    from childsafe.assess.suites import load_suite

    recorded = meta["suite"]
    spec = suite if suite is not None else recorded.get("path") or recorded["name"]
    try:
        loaded = load_suite(spec)
    except AssessError as exc:
        if suite is not None:
            raise
        raise AssessError(
            f"{run_dir}: cannot find suite {recorded['name']!r} the run used ({exc}); "
            "pass --suite with its file"
        ) from None
    if loaded.sha256 != recorded["sha256"]:
        raise AssessError(
            f"{run_dir}: the run used suite {recorded['name']} {recorded['version']} "
            f"(sha256 {str(recorded['sha256'])[:12]}…), but {spec} is "
            f"{loaded.name} {loaded.version} (sha256 {loaded.sha256[:12]}…); pass --suite "
            "with the file the run used"
        )
    modalities = meta.get("config", {}).get("modalities")
    if modalities:
        probes = tuple(p for p in loaded.probes if p.modality in set(modalities))
        loaded = replace(loaded, probes=probes)
    return loaded


def scores_are_current(run_dir: Path, suite_sha256: str | None = None) -> bool:
    """Whether ``scores.jsonl`` was computed from the present ``responses.jsonl`` (and, when
    given, for the suite the run now names)."""
    try:
        meta = json.loads((run_dir / SCORING_FILE).read_text(encoding="utf-8"))
        if suite_sha256 is not None and meta.get("suite_sha256") != suite_sha256:
            return False
        return (run_dir / SCORES_FILE).is_file() and meta.get("responses_sha256") == file_sha256(
            run_dir / RESPONSES_FILE
        )
    except (OSError, ValueError, AttributeError):
        return False


def score_run(
    run_dir: Path,
    *,
    suite: str | Path | None = None,
    judge: Judge | None = None,
    detector: RefusalDetector | None = None,
    force: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> tuple[list[Score], dict[str, Any]]:
    """Scores of a run directory, computed and written unless already current (or ``force``).

    Returns the scores and the scoring description (``scoring.json``)."""
    meta = read_run(run_dir)
    current = scores_are_current(run_dir, meta["suite"]["sha256"])
    if not force and judge is None and detector is None and current:
        scoring = json.loads((run_dir / SCORING_FILE).read_text(encoding="utf-8"))
        return read_scores(run_dir), dict(scoring)
    loaded = suite_for_run(run_dir, meta, suite)
    judge = judge if judge is not None else ClassifierJudge()
    detector = detector or RefusalDetector()
    responses = list(runner.read_responses(run_dir).values())
    scores = score_responses(loaded, responses, judge=judge, detector=detector, on_batch=on_batch)
    scoring = {**scoring_meta(run_dir, judge, detector, scores), "suite_sha256": loaded.sha256}
    write_scores(run_dir, scores, scoring)
    return scores, scoring
