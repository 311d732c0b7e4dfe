"""kohya-ss LoRA training metadata and ``modelspec`` fields, parsed from ``__metadata__``.

Why this metadata matters: the trainer (kohya-ss ``sd-scripts`` and the tools built on it)
writes what a LoRA was trained on into the file itself: ``ss_tag_frequency`` (per dataset
folder, how many training captions carried each tag), ``ss_dataset_dirs`` (per folder, image
count and repeats), ``ss_datasets`` (the same per dataset config, with subsets and class
tokens), the output name, a free-text comment and the base model. The ``modelspec.*`` keys
(Stability's model spec) add a title, description, tags, author, licence and trigger phrase.
Together they describe the training data without anyone looking at an image, which is what
a scanner of hosted models must rely on.

Everything here is tolerant: values are strings, some are JSON text, any of them may be
missing, malformed or hand-edited. A field that cannot be parsed is a ``problem`` on the
result (the scanner reports it as inconsistent metadata) and never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from childsafe.assess.models.safetensors_meta import decode_json_value

__all__ = [
    "MAX_TAGS",
    "DatasetDir",
    "LoraMetadata",
    "TagCount",
    "looks_like_lora",
    "parse_lora_metadata",
    "split_list",
]

MAX_TAGS = 20_000
"""Distinct (dataset, tag) pairs read per model, most frequent first: a 100 MB header could
hold millions, and the rare tail says little that the head does not."""

_LORA_MARKERS = (
    *("lora_down", "lora_up", "lora_a.", "lora_b.", "lora_unet_", "lora_te"),
    *("hada_w1", "lokr_w1", "oft_blocks"),
)


def looks_like_lora(tensor_names: Iterable[str]) -> bool:
    """LoRA / LyCORIS adapters name their tensors after the layers they patch."""
    for name in tensor_names:
        low = name.lower()
        if low.endswith(".alpha") or any(m in low for m in _LORA_MARKERS):
            return True
    return False


@dataclass(frozen=True, slots=True)
class TagCount:
    dataset: str
    tag: str
    count: int


@dataclass(frozen=True, slots=True)
class DatasetDir:
    name: str
    n_repeats: int | None
    img_count: int | None


@dataclass(frozen=True, slots=True)
class LoraMetadata:
    training_keys: tuple[str, ...]  # the ss_* keys present
    output_name: str | None = None
    training_comment: str | None = None
    base_model_version: str | None = None
    base_model: str | None = None
    num_train_images: int | None = None
    title: str | None = None
    description: str | None = None
    author: str | None = None
    license: str | None = None
    modelspec_tags: tuple[str, ...] = ()
    trigger_phrases: tuple[str, ...] = ()
    tags: tuple[TagCount, ...] = ()
    dataset_dirs: tuple[DatasetDir, ...] = ()
    problems: tuple[str, ...] = ()  # fields that could not be parsed
    notes: tuple[str, ...] = ()  # what was bounded (not a fault of the file)

    @property
    def has_training_metadata(self) -> bool:
        return bool(self.training_keys)

    def images_in(self, dataset: str) -> int | None:
        """The image count of a dataset folder, when ``ss_dataset_dirs`` or a subset says."""
        for d in self.dataset_dirs:
            if d.name == dataset and d.img_count is not None:
                return d.img_count
        return None

    def tag_totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tags:
            out[t.tag] = out.get(t.tag, 0) + t.count
        return out

    def top_tags(self, n: int = 10) -> list[tuple[str, int]]:
        """The most frequent tags over all datasets: the words most likely to be triggers."""
        return sorted(self.tag_totals().items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def split_list(value: str | None) -> tuple[str, ...]:
    """``"a, b ,c"`` → ``("a", "b", "c")``; modelspec lists are comma-separated text."""
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _basename(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _frequencies(raw: object, where: str, problems: list[str]) -> dict[tuple[str, str], int]:
    """``{dataset: {tag: count}}`` → {(dataset, tag): count}; odd entries are problems."""
    out: dict[tuple[str, str], int] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        problems.append(f"{where} is {type(raw).__name__}, not an object")
        return out
    bad = 0
    for dataset, tags in raw.items():
        if not isinstance(tags, dict):
            bad += 1
            continue
        for tag, count in tags.items():
            n = _count(count)
            name = str(tag).strip()
            if n is None or not name:
                bad += 1
                continue
            key = (_basename(str(dataset)), name)
            out[key] = max(out.get(key, 0), n)
    if bad:
        problems.append(f"{where}: {bad} entries without a tag and a non-negative count")
    return out


def _dirs(raw: object, problems: list[str]) -> dict[str, DatasetDir]:
    out: dict[str, DatasetDir] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        problems.append(f"ss_dataset_dirs is {type(raw).__name__}, not an object")
        return out
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            problems.append(f"ss_dataset_dirs[{name!r}] is not an object")
            continue
        key = _basename(str(name))
        out[key] = DatasetDir(key, _count(spec.get("n_repeats")), _count(spec.get("img_count")))
    return out


def _datasets(
    raw: object, freq: dict[tuple[str, str], int], dirs: dict[str, DatasetDir], problems: list[str]
) -> list[str]:
    """Fold ``ss_datasets`` (a list of dataset configs) into the frequency and folder maps;
    returns the subsets' class tokens (DreamBooth-style trigger words)."""
    tokens: list[str] = []
    if raw is None:
        return tokens
    if not isinstance(raw, list):
        problems.append(f"ss_datasets is {type(raw).__name__}, not a list")
        return tokens
    for i, ds in enumerate(raw):
        if not isinstance(ds, dict):
            problems.append(f"ss_datasets[{i}] is not an object")
            continue
        for key, n in _frequencies(
            ds.get("tag_frequency"), f"ss_datasets[{i}].tag_frequency", problems
        ).items():
            freq[key] = max(freq.get(key, 0), n)
        for sub in ds.get("subsets") or []:
            if not isinstance(sub, dict):
                continue
            name = _basename(str(sub.get("image_dir") or sub.get("metadata_file") or ""))
            if name and name not in dirs:
                dirs[name] = DatasetDir(
                    name, _count(sub.get("num_repeats")), _count(sub.get("img_count"))
                )
            if isinstance(sub.get("class_tokens"), str) and sub["class_tokens"].strip():
                tokens.append(sub["class_tokens"].strip())
    return tokens


def _text(meta: Mapping[str, str], key: str) -> str | None:
    value = meta.get(key)
    if value is None or value.strip() in ("", "None", "null"):
        return None
    return value.strip()


def parse_lora_metadata(meta: Mapping[str, str]) -> LoraMetadata:
    """Read the training and ``modelspec`` fields of a ``__metadata__`` mapping."""
    problems: list[str] = []
    decoded: dict[str, Any] = {}
    for key in ("ss_tag_frequency", "ss_dataset_dirs", "ss_datasets"):
        value, problem = decode_json_value(meta, key)
        decoded[key] = value
        if problem:
            problems.append(problem)
    freq = _frequencies(decoded["ss_tag_frequency"], "ss_tag_frequency", problems)
    dirs = _dirs(decoded["ss_dataset_dirs"], problems)
    class_tokens = _datasets(decoded["ss_datasets"], freq, dirs, problems)
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
    notes: list[str] = []
    if len(ranked) > MAX_TAGS:
        notes.append(f"{len(ranked)} dataset tags; the {MAX_TAGS} most frequent were read")
        ranked = ranked[:MAX_TAGS]
    num_images = _text(meta, "ss_num_train_images")
    triggers = [*split_list(meta.get("modelspec.trigger_phrase")), *class_tokens]
    return LoraMetadata(
        training_keys=tuple(sorted(k for k in meta if k.startswith("ss_"))),
        output_name=_text(meta, "ss_output_name"),
        training_comment=_text(meta, "ss_training_comment"),
        base_model_version=_text(meta, "ss_base_model_version"),
        base_model=_text(meta, "ss_sd_model_name"),
        num_train_images=_count(num_images) if num_images is not None else None,
        title=_text(meta, "modelspec.title"),
        description=_text(meta, "modelspec.description"),
        author=_text(meta, "modelspec.author"),
        license=_text(meta, "modelspec.license"),
        modelspec_tags=split_list(meta.get("modelspec.tags")),
        trigger_phrases=tuple(dict.fromkeys(triggers)),
        tags=tuple(TagCount(ds, tag, n) for (ds, tag), n in ranked),
        dataset_dirs=tuple(dirs[k] for k in sorted(dirs)),
        problems=tuple(problems),
        notes=tuple(notes),
    )
