"""Metadata that is missing or does not add up.

Why these matter for child safety: training metadata is what lets a hub see what a LoRA was
trained on, so an uploader hiding that has a reason to strip it (a LoRA with no ``ss_*`` keys
at all) or to paper over it (a benign title on a file whose output name says otherwise; tag
counts that cannot come from the stated images). None of these is a concept finding on its
own: each is ``low`` severity, a reason to look more closely, and it rides on the same result
row as any concept finding.

The count rule follows how kohya-ss counts: ``ss_tag_frequency[folder][tag]`` is the number of
caption files of that folder carrying the tag (repeats are not counted), and
``ss_num_train_images`` is the sum over folders of ``img_count × n_repeats``. A tag count above
``img_count × n_repeats`` cannot happen with either reading, so only that is flagged.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from childsafe.assess.models.base import ModelFinding
from childsafe.assess.models.lora import LoraMetadata

__all__ = ["count_findings", "name_findings", "stripped_findings"]

_SUFFIX = re.compile(
    r"(?:[\s_.\-]*(?:v\d+(?:\.\d+)*|e\d+|epoch\d+|\d{6}|\d+|final|fp16|bf16|fp32|pruned|ema|"
    r"lora|locon|lycoris|sdxl|sd15|xl))+$"
)
_STOP = frozenset(
    {"lora", "locon", "lycoris", "model", "style", "sdxl", "sd15", "final", "pruned", "the", "and"}
)


def _squash(name: str) -> str:
    """Lower case alphanumerics, without version, epoch and format suffixes."""
    low = name.lower()
    low = _SUFFIX.sub("", low) or low
    return re.sub(r"[^a-z0-9]+", "", low)


def _tokens(name: str) -> set[str]:
    words = re.findall(r"[a-z][a-z0-9]*", re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower())
    return {w for w in words if len(w) >= 4 and w not in _STOP}


def _agree(a: str, b: str) -> bool:
    sa, sb = _squash(a), _squash(b)
    if sa and sb and (sa in sb or sb in sa):
        return True
    return bool(_tokens(a) & _tokens(b))


def stripped_findings(is_lora: bool, meta_keys: set[str], lora: LoraMetadata) -> list[ModelFinding]:
    """A LoRA with no kohya-ss training metadata at all."""
    if not is_lora or lora.has_training_metadata:
        return []
    spec = sorted(k for k in meta_keys if k.startswith("modelspec."))
    reason = "LoRA adapter without any ss_* training metadata (stripped or never written)"
    if not meta_keys:
        reason = "LoRA adapter with no __metadata__ at all (stripped or never written)"
    return [
        ModelFinding(
            "stripped_metadata",
            "low",
            (reason,),
            ({"metadata_keys": len(meta_keys), "modelspec_keys": spec},),
        )
    ]


def name_findings(file_name: str, lora: LoraMetadata) -> list[ModelFinding]:
    """The file name, ``ss_output_name`` and ``modelspec.title`` should name one model."""
    stem = PurePath(file_name).stem if file_name else ""
    names = {
        "file name": stem,
        "ss_output_name": lora.output_name or "",
        "modelspec.title": lora.title or "",
    }
    present = {k: v for k, v in names.items() if v}
    if len(present) < 2:
        return []
    pairs = [(a, b) for i, a in enumerate(present) for b in list(present)[i + 1 :]]
    disagree = [(a, b) for a, b in pairs if not _agree(present[a], present[b])]
    # Renaming a downloaded file is ordinary: only when no two names agree is it a finding.
    if len(disagree) < len(pairs):
        return []
    return [
        ModelFinding(
            "inconsistent_names",
            "low",
            ("the model's names disagree: " + "; ".join(f"{k} {v!r}" for k, v in present.items()),),
            tuple({"field": k, "value": v} for k, v in present.items()),
        )
    ]


def count_findings(lora: LoraMetadata) -> list[ModelFinding]:
    """Tag counts, image counts and folder lists that contradict each other, and fields
    that could not be parsed."""
    reasons: list[str] = []
    evidence: list[dict[str, object]] = []
    dirs = {d.name: d for d in lora.dataset_dirs}
    known = [d for d in lora.dataset_dirs if d.img_count is not None]
    if lora.num_train_images is not None and known and len(known) == len(dirs):
        expected = sum((d.img_count or 0) * max(d.n_repeats or 1, 1) for d in known)
        if expected != lora.num_train_images:
            reasons.append(
                f"ss_num_train_images is {lora.num_train_images}, but the dataset folders "
                f"give {expected} (img_count × n_repeats)"
            )
            evidence.append({"ss_num_train_images": lora.num_train_images, "expected": expected})
    worst: dict[str, tuple[str, int]] = {}
    for t in lora.tags:
        if t.count > worst.get(t.dataset, ("", -1))[1]:
            worst[t.dataset] = (t.tag, t.count)
    for dataset, (tag, count) in sorted(worst.items()):
        d = dirs.get(dataset)
        if d is None:
            if dirs:
                reasons.append(f"ss_tag_frequency has folder {dataset!r}, not in ss_dataset_dirs")
                evidence.append({"dataset": dataset, "missing_from": "ss_dataset_dirs"})
            continue
        if d.img_count is not None and count > d.img_count * max(d.n_repeats or 1, 1):
            reasons.append(
                f"tag {tag!r} counted {count} times in {dataset!r}, which has "
                f"{d.img_count} images × {d.n_repeats or 1} repeats"
            )
            evidence.append({"dataset": dataset, "tag": tag, "count": count, "images": d.img_count})
    for problem in lora.problems:
        reasons.append(f"unreadable training metadata: {problem}")
        evidence.append({"problem": problem})
    if not reasons:
        return []
    return [ModelFinding("inconsistent_metadata", "low", tuple(reasons), tuple(evidence))]
