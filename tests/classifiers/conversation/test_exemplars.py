"""The exemplar files, their embedding cache and the sidecar that guards it."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from childsafe.classifiers.conversation import exemplars as ex
from childsafe.classifiers.conversation.synth import STAGE_LINES

ROOT = Path(__file__).resolve().parents[3]
# Words that must never appear in exemplars: the positives are grooming *patterns* only.
SEXUAL_TERMS = re.compile(r"\b(nsfw|sexy|sexual|sex|nude|nudes|naked|lingerie|erotic|intimate)\b")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    for name in (ex.POSITIVE_FILE, ex.NEGATIVE_FILE):
        shutil.copy(ex.DATA_DIR / name, d / name)
    return d


def test_sizes_and_no_sexual_terms() -> None:
    pos = ex.read_lines(ex.DATA_DIR / ex.POSITIVE_FILE)
    neg = ex.read_lines(ex.DATA_DIR / ex.NEGATIVE_FILE)
    assert 200 <= len(pos) <= 1000 and 1500 <= len(neg) <= 5000
    assert len(set(pos)) == len(pos) and len(set(neg)) == len(neg)
    assert not set(pos) & set(neg)
    for line in [*pos, *neg]:
        assert not SEXUAL_TERMS.search(line), line


def test_held_out_stage_lines_are_not_exemplars() -> None:
    pos = {ex.embedding_text(t) for t in ex.read_lines(ex.DATA_DIR / ex.POSITIVE_FILE)}
    held_out = [ex.embedding_text(t) for lines in STAGE_LINES.values() for t in lines]
    assert not pos & set(held_out)


def test_shipped_cache_matches_the_files_and_the_embedder(real_embedder: Any) -> None:
    pos = ex.read_lines(ex.DATA_DIR / ex.POSITIVE_FILE)
    neg = ex.read_lines(ex.DATA_DIR / ex.NEGATIVE_FILE)
    meta = ex.expected_meta(pos, neg, real_embedder, None)
    vectors = ex._load_cached(ex.DATA_DIR, meta)
    assert vectors is not None, "stale cache: run scripts/make_conversation_data.py"
    assert vectors.dtype == np.float16 and vectors.shape == (len(pos) + len(neg), 384)
    sample = [0, len(pos), len(pos) + len(neg) - 1]
    fresh = real_embedder.embed([ex.embedding_text([*pos, *neg][i]) for i in sample])
    assert np.allclose(vectors[sample].astype(np.float32), fresh, atol=2e-3)


def test_generator_reproduces_the_files() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_conversation_data", ROOT / "scripts" / "make_conversation_data.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0


def test_cache_is_written_then_reused(data_dir: Path, fake_embedder: Any) -> None:
    first = ex.load_index(
        fake_embedder, data_dir=data_dir, cache_dirs=[data_dir], write_to=data_dir
    )
    assert fake_embedder.calls == 1
    assert (data_dir / ex.CACHE_NPY).is_file() and (data_dir / ex.CACHE_META).is_file()
    again = ex.load_index(
        fake_embedder, data_dir=data_dir, cache_dirs=[data_dir], write_to=data_dir
    )
    assert fake_embedder.calls == 1  # from the cache
    assert np.array_equal(first.positives, again.positives)
    assert np.array_equal(first.negatives, again.negatives)


@pytest.mark.parametrize("change", ["exemplars", "embedder", "sidecar", "vectors"])
def test_stale_cache_is_recomputed(data_dir: Path, fake_embedder_class: Any, change: str) -> None:
    embedder = fake_embedder_class()
    ex.load_index(embedder, data_dir=data_dir, cache_dirs=[data_dir], write_to=data_dir)
    if change == "exemplars":
        with (data_dir / ex.POSITIVE_FILE).open("a", encoding="utf-8") as f:
            f.write("a brand new exemplar line\n")
    elif change == "embedder":
        embedder = fake_embedder_class(dim=16)
    elif change == "sidecar":
        (data_dir / ex.CACHE_META).write_text("{not json", encoding="utf-8")
    else:
        np.save(data_dir / ex.CACHE_NPY, np.zeros((3, 32), np.float16))
    calls = embedder.calls
    index = ex.load_index(embedder, data_dir=data_dir, cache_dirs=[data_dir], write_to=data_dir)
    assert embedder.calls == calls + 1
    n_pos = len(ex.read_lines(data_dir / ex.POSITIVE_FILE))
    assert len(index.positives) == n_pos and index.dim == embedder.dim


def test_unwritable_cache_still_gives_an_index(
    data_dir: Path, fake_embedder: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    index = ex.load_index(fake_embedder, data_dir=data_dir, cache_dirs=[], write_to=blocker / "sub")
    assert index.dim == 32


def test_cached_and_fresh_indexes_score_the_same(data_dir: Path, fake_embedder: Any) -> None:
    fresh = ex.load_index(
        fake_embedder, data_dir=data_dir, cache_dirs=[data_dir], write_to=data_dir
    )
    cached = ex.load_index(fake_embedder, data_dir=data_dir, cache_dirs=[data_dir])
    q = fake_embedder.embed(["how old are you", "good game"])
    assert fresh.score(q).tolist() == cached.score(q).tolist()
