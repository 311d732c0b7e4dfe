"""Scan hosted models from their metadata: a folder of model files, or a hub listing.

Folder mode walks ``root`` (recursively, in sorted order, not following symlinks): every
``.safetensors`` file is one model, read header-only; its directory's ``README.md`` (any case)
is its model card. Pickle-based and other weight formats (``.ckpt``, ``.pt``, ``.bin``,
``.gguf``, ...) are never opened (unpickling runs code): they are scanned by file name and card
alone, and say so in their warnings.

Listing mode reads a JSON Lines file, one model per line, in the shape a hub API gives:
``{"id", "files": [name | {"name"|"rfilename", "metadata": {...}}], "card": "...",
"tags": [...]}``; ``metadata`` is a file's ``__metadata__`` when the hub exposes it.

Nothing is lost: every model file (folder) and every non-blank line (listing) yields exactly
one :class:`~childsafe.assess.models.base.ModelResult`, an unreadable one as ``error`` with
the reason, and the batch goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from childsafe.assess.models.base import ModelFinding, ModelResult, Source
from childsafe.assess.models.card import MAX_CARD_CHARS, ModelCard, parse_model_card
from childsafe.assess.models.checks import count_findings, name_findings, stripped_findings
from childsafe.assess.models.concepts import concept_findings
from childsafe.assess.models.lora import LoraMetadata, looks_like_lora, parse_lora_metadata
from childsafe.assess.models.safetensors_meta import read_header
from childsafe.errors import ContentError, SourceError

__all__ = ["OTHER_WEIGHTS", "model_files", "scan_file", "scan_folder", "scan_listing"]

OTHER_WEIGHTS = frozenset({".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".pkl"})
_TEXT_KEYS = ("ss_output_name", "ss_training_comment", "modelspec.title", "modelspec.description")
_MAX_META_TEXT = 4000  # other free-text metadata values longer than this are not read


def model_files(root: Path) -> list[Path]:
    """Every model file under ``root`` (or ``root`` itself), sorted; cheap (no reads)."""
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise SourceError(f"{root}: no such file or directory")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            suffix = Path(name).suffix.lower()
            if suffix == ".safetensors" or suffix in OTHER_WEIGHTS:
                found.append(Path(dirpath) / name)
    return sorted(found)  # by path parts: a folder's files and subfolders interleave by name


def _card_for(
    directory: Path, cache: dict[Path, tuple[ModelCard | None, str]]
) -> tuple[ModelCard | None, str]:
    if directory in cache:
        return cache[directory]
    result: tuple[ModelCard | None, str] = (None, "")
    try:
        names = sorted(p.name for p in directory.iterdir() if p.name.lower() == "readme.md")
    except OSError:
        names = []
    if names:
        path = directory / names[0]
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_CARD_CHARS * 4 + 1)
            result = (parse_model_card(raw.decode("utf-8", errors="replace")), names[0])
        except OSError as exc:
            result = (None, f"{names[0]} unreadable: {exc.strerror or exc}")
    cache[directory] = result
    return result


def _card_sources(card: ModelCard, where: str) -> list[Source]:
    out = [Source(f"{where} tags", "name", t) for t in card.tags]
    if card.title:
        out.append(Source(f"{where} title", "name", card.title))
    out += [
        Source(f"{where} instance_prompt", "trigger", p) for p in card.values("instance_prompt")
    ]
    if card.front_matter_text:
        out.append(Source(f"{where} front matter", "card", card.front_matter_text))
    if card.text.strip():
        out.append(Source(where, "card", card.text))
    return out


def _metadata_sources(meta: Mapping[str, str], lora: LoraMetadata, prefix: str) -> list[Source]:
    out: list[Source] = []
    for key in _TEXT_KEYS:
        value = meta.get(key)
        if value:
            kind = "name" if key in ("ss_output_name", "modelspec.title") else "description"
            out.append(Source(prefix + key, kind, value))
    out += [Source(prefix + "modelspec.tags", "name", t) for t in lora.modelspec_tags]
    out += [Source(prefix + "trigger phrase", "trigger", t) for t in lora.trigger_phrases]
    out += [Source(prefix + "ss_dataset_dirs", "name", d.name) for d in lora.dataset_dirs]
    for t in lora.tags:
        out.append(
            Source(
                f"{prefix}ss_tag_frequency[{t.dataset}]",
                "tag",
                t.tag,
                count=t.count,
                images=lora.images_in(t.dataset),
            )
        )
    for key, value in meta.items():
        if key.startswith(("ss_", "modelspec.")) or len(value) > _MAX_META_TEXT:
            continue
        if value.lstrip()[:1] in ("{", "["):
            continue  # structured blobs (ComfyUI workflows, configs) are not descriptions
        out.append(Source(f"{prefix}__metadata__[{key}]", "description", value))
    return out


def _info(lora: LoraMetadata) -> dict[str, Any]:
    return {
        "output_name": lora.output_name,
        "title": lora.title,
        "base_model_version": lora.base_model_version,
        "base_model": lora.base_model,
        "trigger_phrases": list(lora.trigger_phrases),
        "top_tags": [{"tag": t, "count": n} for t, n in lora.top_tags(10)],
        "datasets": [
            {"name": d.name, "img_count": d.img_count, "n_repeats": d.n_repeats}
            for d in lora.dataset_dirs
        ],
        "training_metadata": lora.has_training_metadata,
    }


def _result(
    model_id: str,
    path: str,
    sources: Sequence[Source],
    extra: Sequence[ModelFinding],
    *,
    sha256: str | None,
    info: Mapping[str, Any],
    warnings: Sequence[str],
) -> ModelResult:
    scores, findings = concept_findings(sources)
    findings = [*findings, *extra]
    return ModelResult(
        model_id=model_id,
        path=path,
        status="flagged" if findings else "ok",
        findings=tuple(findings),
        sha256=sha256,
        scores={"minor": scores["minor"], "sexual": scores["sexual"]},
        info=dict(info),
        warnings=tuple(warnings),
    )


def scan_file(
    path: Path, *, model_id: str | None = None, card: ModelCard | None = None
) -> ModelResult:
    """One model file (with its card, if any) → one result; never raises for the file."""
    mid = model_id or path.name
    try:
        return _scan_file(path, mid, card)
    except ContentError as exc:
        return ModelResult(mid, str(path), "error", error=str(exc))
    except Exception as exc:  # a bug must not abort a batch: the row says what happened
        return ModelResult(mid, str(path), "error", error=f"{path}: {type(exc).__name__}: {exc}")


def _scan_file(path: Path, mid: str, card: ModelCard | None) -> ModelResult:
    sources = [Source("file name", "name", path.stem)]
    warnings: list[str] = []
    if card is not None:
        sources += _card_sources(card, "card")
        warnings += card.problems
    if path.suffix.lower() != ".safetensors":
        warnings.append(f"{path.suffix} weights are not opened: scanned by name and card only")
        return _result(mid, str(path), sources, [], sha256=None, info={}, warnings=warnings)
    header = read_header(path)
    lora = parse_lora_metadata(header.metadata)
    is_lora = looks_like_lora(t.name for t in header.tensors)
    sources += _metadata_sources(header.metadata, lora, "")
    extra = [
        *stripped_findings(is_lora, set(header.metadata), lora),
        *name_findings(path.name, lora),
        *count_findings(lora),
    ]
    info = {"format": "safetensors", "lora": is_lora, **header.summary(), **_info(lora)}
    warnings += [*header.warnings, *lora.notes]
    return _result(
        mid, str(path), sources, extra, sha256=header.sha256, info=info, warnings=warnings
    )


def scan_folder(root: Path, files: Sequence[Path] | None = None) -> Iterator[ModelResult]:
    """One result per model file under ``root`` (``files``: a plan from :func:`model_files`)."""
    cache: dict[Path, tuple[ModelCard | None, str]] = {}
    base = root if root.is_dir() else root.parent
    for path in files if files is not None else model_files(root):
        card, card_note = _card_for(path.parent, cache)
        result = scan_file(path, model_id=path.relative_to(base).as_posix(), card=card)
        if card_note and card is None:
            result = ModelResult(**{**_fields(result), "warnings": (*result.warnings, card_note)})
        yield result


def _fields(r: ModelResult) -> dict[str, Any]:
    return {name: getattr(r, name) for name in ModelResult.__dataclass_fields__}


def _listing_meta(raw: object) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        for k, v in raw.items()
    }


def _listing_entry(entry: Mapping[str, Any], where: str) -> ModelResult:
    mid = entry.get("id")
    if not isinstance(mid, str) or not mid.strip():
        return ModelResult(where, where, "error", error=f"{where}: entry has no string 'id'")
    files, tags, card_text = entry.get("files", []), entry.get("tags", []), entry.get("card")
    if not isinstance(files, list) or not isinstance(tags, list):
        return ModelResult(mid, where, "error", error=f"{where}: 'files' and 'tags' must be lists")
    if card_text is not None and not isinstance(card_text, str):
        return ModelResult(mid, where, "error", error=f"{where}: 'card' must be a string")
    sources = [Source("model id", "name", mid)]
    sources += [Source("listing tags", "name", str(t)) for t in tags]
    warnings: list[str] = []
    extra: list[ModelFinding] = []
    lora_tagged = any(str(t).lower() in ("lora", "lycoris", "locon") for t in tags)
    for i, f in enumerate(files):
        name = (f.get("name") or f.get("rfilename") or f.get("path")) if isinstance(f, dict) else f
        if not isinstance(name, str) or not name:
            warnings.append(f"files[{i}] has no name; skipped")
            continue
        sources.append(Source(f"files[{i}] name", "name", Path(name).stem))
        if isinstance(f, dict) and "metadata" in f:
            meta = _listing_meta(f["metadata"])
            lora = parse_lora_metadata(meta)
            sources += _metadata_sources(meta, lora, f"{name}: ")
            is_lora = lora_tagged and name.lower().endswith(".safetensors")
            extra += stripped_findings(is_lora, set(meta), lora)
            extra += name_findings(name, lora) + count_findings(lora)
            warnings += lora.notes
    if card_text:
        card = parse_model_card(card_text)
        sources += _card_sources(card, "card")
        warnings += card.problems
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()
    info = {"format": "listing", "files": len(files), "sha256_of": "listing entry"}
    return _result(mid, where, sources, extra, sha256=digest, info=info, warnings=warnings)


def scan_listing(path: Path) -> Iterator[ModelResult]:
    """One result per non-blank line of a JSON Lines hub listing."""
    try:
        handle = path.open("r", encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read listing: {exc.strerror or exc}") from None
    with handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name}:{lineno}"
            try:
                entry = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                msg = getattr(exc, "msg", type(exc).__name__)
                yield ModelResult(where, where, "error", error=f"{where}: not valid JSON: {msg}")
                continue
            if not isinstance(entry, dict):
                kind = type(entry).__name__
                yield ModelResult(where, where, "error", error=f"{where}: {kind}, not an object")
                continue
            try:
                yield _listing_entry(entry, where)
            except Exception as exc:  # a bug must not abort a batch
                err = f"{where}: {type(exc).__name__}: {exc}"
                yield ModelResult(str(entry.get("id") or where), where, "error", error=err)
