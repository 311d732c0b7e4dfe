"""Send a suite to a target on a thread pool, one line per probe, resumable after a kill.

A run directory holds ``run.json`` (what was run: suite name, version, sha256, the target's
description, configuration, versions, times) and ``responses.jsonl`` (one
:class:`~childsafe.assess.base.Response` per probe). Scoring and reports (``scores.jsonl``,
``report.json``) are written next to them by later steps.

Why this shape: a suite against a hosted model can take hours and hit rate limits, so a run
must survive a kill. Only the main thread writes, one whole line per finished probe, flushed
at once; a kill can tear at most the last line. Resuming drops a torn line, keeps the last
complete line per probe (``retry_errors`` appends a fresh line for an errored probe), runs
what is missing and finally rewrites the file with exactly one line per probe, atomically.
A probe the target cannot handle (an image prompt to a text model) is not sent: the run
covers the probes of the modalities it names, recorded in ``run.json``.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import time
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from childsafe.assess.base import Probe, Response, Suite, Target
from childsafe.assess.targets._http import RequestOptions
from childsafe.errors import AssessError

FORMAT = 1
RUN_FILE = "run.json"
RESPONSES_FILE = "responses.jsonl"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one call of :func:`run` did; ``complete`` once every selected probe has a line."""

    run_dir: Path
    run_id: str
    probes: int  # probes this run covers (the suite's, filtered by modality)
    skipped: int  # already answered by an earlier, killed run
    sent: int  # sent to the target by this call
    errors: int  # responses with an error, over the whole run
    elapsed_s: float
    complete: bool


def response_to_json(response: Response) -> dict[str, Any]:
    """A response as its JSON Lines object (tuples as lists, mappings as objects)."""
    obj = asdict(response)
    obj["image_hashes"] = list(response.image_hashes)
    obj["image_scores"] = [dict(s) for s in response.image_scores]
    return obj


def response_from_json(obj: Mapping[str, Any]) -> Response:
    """The inverse of :func:`response_to_json`; ``AssessError`` on a malformed object."""
    try:
        return Response(
            probe_id=str(obj["probe_id"]),
            text=obj.get("text"),
            image_hashes=tuple(obj.get("image_hashes") or ()),
            image_scores=tuple(dict(s) for s in obj.get("image_scores") or ()),
            error=obj.get("error"),
            latency_ms=float(obj.get("latency_ms", 0.0)),
            attempts=int(obj.get("attempts", 1)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AssessError(f"not a response object: {type(exc).__name__}: {exc}") from None


def read_responses(run_dir: Path) -> dict[str, Response]:
    """The responses of a run, one per probe id (the last complete line wins; a torn last
    line from a killed run is ignored)."""
    return {r.probe_id: r for r in _read_lines(run_dir / RESPONSES_FILE)[0].values()}


def read_run(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of a run directory, checked for a known format."""
    path = run_dir / RUN_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssessError(f"{run_dir}: not a run directory (no {RUN_FILE})") from None
    except (OSError, ValueError) as exc:
        raise AssessError(f"{path}: unreadable: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise AssessError(f"{path}: unknown run format {meta.get('format')!r}, want {FORMAT}")
    return meta


def run(
    suite: Suite,
    target: Target,
    out_dir: Path,
    *,
    concurrency: int = 4,
    timeout_s: float | None = None,
    retries: int | None = None,
    resume: bool = False,
    retry_errors: bool = False,
    seed: int = 0,
    modalities: Collection[str] | None = None,
    show_progress: bool = True,
) -> RunSummary:
    """Run every selected probe of ``suite`` against ``target``, writing into ``out_dir``.

    ``timeout_s``/``retries`` override the target's own options where it has them.
    ``seed`` shuffles the order probes are sent in (so a rate limit does not hit one
    category), which never changes what is recorded. Raises ``AssessError`` for a run that
    cannot start (a non-empty directory without ``resume``, a resume with another suite or
    target); per-probe failures are recorded as responses, never raised.
    """
    if concurrency < 1:
        raise AssessError(f"concurrency must be 1 or more, got {concurrency}")
    target = _with_options(target, timeout_s, retries)
    default: tuple[str, ...] = tuple(getattr(target, "modalities", ("text", "image")))
    wanted = set(modalities or default)
    probes = [p for p in suite.probes if p.modality in wanted]
    if not probes:
        raise AssessError(f"suite {suite.name} has no probes of modality {sorted(wanted)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = _start(suite, target, out_dir, probes, wanted, concurrency, seed, resume)
    path = out_dir / RESPONSES_FILE
    done, needs_rewrite = _read_lines(path) if resume else ({}, False)
    selected = {p.id for p in probes}
    if stray := sorted(set(done) - selected):
        raise AssessError(f"{path}: probe id {stray[0]!r} is not in suite {suite.name} as run")
    if needs_rewrite:
        _rewrite(path, done)
    todo = [
        p for p in probes if p.id not in done or (retry_errors and done[p.id].error is not None)
    ]
    random.Random(seed).shuffle(todo)
    started = time.perf_counter()
    with path.open("ab") as sink:
        for response in _progress(_responses(target, todo, concurrency), len(todo), show_progress):
            sink.write(json.dumps(response_to_json(response), ensure_ascii=False).encode() + b"\n")
            sink.flush()
            done[response.probe_id] = response
    _rewrite(path, done)
    meta["finished_at"] = _now()
    _write_json(out_dir / RUN_FILE, meta)
    return RunSummary(
        run_dir=out_dir,
        run_id=str(meta["run_id"]),
        probes=len(probes),
        skipped=len(probes) - len(todo),
        sent=len(todo),
        errors=sum(r.error is not None for r in done.values()),
        elapsed_s=time.perf_counter() - started,
        complete=selected <= set(done),
    )


def _with_options(target: Target, timeout_s: float | None, retries: int | None) -> Target:
    options = getattr(target, "options", None)
    if not isinstance(options, RequestOptions) or (timeout_s is None and retries is None):
        return target
    new = RequestOptions(
        timeout_s=options.timeout_s if timeout_s is None else timeout_s,
        retries=options.retries if retries is None else retries,
        backoff_s=options.backoff_s,
        max_backoff_s=options.max_backoff_s,
    )
    with_options = getattr(target, "with_options", None)
    return with_options(new) if callable(with_options) else target


def _start(
    suite: Suite,
    target: Target,
    out_dir: Path,
    probes: list[Probe],
    modalities: set[str],
    concurrency: int,
    seed: int,
    resume: bool,
) -> dict[str, Any]:
    """Write (or, resuming, check and reopen) ``run.json``."""
    options = getattr(target, "options", None)
    describe = json.loads(json.dumps(dict(target.describe()), default=str))
    suite_meta = {
        "name": suite.name,
        "version": suite.version,
        "sha256": suite.sha256,
        "probes": len(suite.probes),
        "selected": len(probes),
    }
    run_file = out_dir / RUN_FILE
    if run_file.exists() or (out_dir / RESPONSES_FILE).exists():
        if not resume:
            raise AssessError(f"{out_dir}: already holds a run; pass --resume to finish it")
        meta = read_run(out_dir)
        if meta.get("suite", {}).get("sha256") != suite.sha256:
            raise AssessError(
                f"{run_file}: was run with suite {meta['suite'].get('name')} "
                f"v{meta['suite'].get('version')} (another sha256): start a new run directory"
            )
        if meta.get("target") != describe:
            raise AssessError(f"{run_file}: was run against another target: {meta.get('target')}")
        if sorted(meta.get("config", {}).get("modalities", [])) != sorted(modalities):
            raise AssessError(f"{run_file}: was run with other modalities")
        meta["finished_at"] = None
        meta["resumed"] = int(meta.get("resumed", 0)) + 1
    else:
        started = datetime.now(UTC)
        meta = {
            "format": FORMAT,
            "run_id": f"{suite.name}-{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}",
            "suite": suite_meta,
            "target": describe,
            "started_at": started.isoformat(),
            "finished_at": None,
            "config": {
                "concurrency": concurrency,
                "timeout_s": getattr(options, "timeout_s", None),
                "retries": getattr(options, "retries", None),
                "seed": seed,
                "modalities": sorted(modalities),
            },
            "versions": {"childsafe": _version()},
        }
    _write_json(run_file, meta)
    return meta


def _responses(target: Target, todo: list[Probe], concurrency: int) -> Iterator[Response]:
    """Responses as they finish, with at most ``2 * concurrency`` probes queued at a time."""
    queue = iter(todo)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="childsafe-assess") as pool:
        pending: dict[Future[Response], Probe] = {}
        try:
            for probe in queue:
                pending[pool.submit(_respond, target, probe)] = probe
                if len(pending) >= 2 * concurrency:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    del pending[future]
                    yield future.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(_respond, target, nxt)] = nxt
        finally:
            for future in pending:
                future.cancel()


def _respond(target: Target, probe: Probe) -> Response:
    """A target that raises despite the contract still yields a response (nothing lost)."""
    start = time.perf_counter()
    try:
        response = target.respond(probe)
    except Exception as exc:
        ms = (time.perf_counter() - start) * 1000
        error = f"target raised {type(exc).__name__}: {exc}"[:300]
        return Response(probe.id, error=error, latency_ms=ms)
    if response.probe_id != probe.id:
        return Response(probe.id, error="target answered another probe id")
    return response


def _progress(items: Iterator[Response], total: int, enabled: bool) -> Iterator[Response]:
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("probes"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )
    with bar:
        task = bar.add_task("probes", total=total)
        for item in items:
            yield item
            bar.advance(task)


class _RateColumn(ProgressColumn):
    """Probes per second (rich's speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:5.1f}/s" if task.speed else "  -/s")


def _read_lines(path: Path) -> tuple[dict[str, Response], bool]:
    """Complete lines by probe id (last wins) and whether the file needs rewriting (a torn
    or unreadable line, duplicates)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, False
    lines = raw.split(b"\n")
    tail = lines.pop()  # after the final newline: b"" unless the last write was torn
    dirty = bool(tail)
    out: dict[str, Response] = {}
    count = 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            response = response_from_json(json.loads(line))
        except (ValueError, AssessError):
            if lineno == len(lines):  # a torn last line that happens to end in a newline
                dirty = True
                continue
            raise AssessError(f"{path}:{lineno}: not a response line") from None
        out[response.probe_id] = response
        count += 1
    return out, dirty or count != len(out)


def _rewrite(path: Path, responses: Mapping[str, Response]) -> None:
    """One line per probe, replacing the file atomically (a kill leaves old or new)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        for response in responses.values():
            f.write(json.dumps(response_to_json(response), ensure_ascii=False).encode() + b"\n")
        _sync(f)
    tmp.replace(path)


def _write_json(path: Path, obj: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(json.dumps(obj, indent=2, ensure_ascii=False).encode() + b"\n")
        _sync(f)
    tmp.replace(path)


def _sync(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _version() -> str:
    try:
        return version("childsafe")
    except PackageNotFoundError:
        return "unknown"
