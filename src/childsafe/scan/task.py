"""``ScanTask``: what a worker does with one shard — read, run the steps, write its part.

The task is a small picklable object (reader instances with their options, step instances,
paths); executors ship it to workers. Heavy state is built once per worker *process*: the
first call builds the ``Pipeline`` (loading the matcher snapshot by memory map) and keeps it
under the scan's ``run_key``, so later shards — and later copies of the task, which arrive
unpickled afresh for each shard on a process pool — reuse it.

Writing is atomic (``scan.parts``): rows stream, a batch at a time, into a hidden temporary
file in ``parts/``, renamed to ``parts/<shard_id>.parquet`` (per-item path) or
``parts/<shard_id>.arrow`` (hashes-only fast path) only when the shard is complete. A part
therefore exists if and only if its shard finished, which is what ``--resume`` relies on; a
killed worker leaves at most a temporary file, which the next run deletes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from childsafe.executors.base import ShardDone
from childsafe.pipeline.base import Step
from childsafe.pipeline.chain import Pipeline, batched
from childsafe.readers.base import Reader, Shard
from childsafe.scan import fastpath
from childsafe.scan.parts import (
    ARROW_PART,
    PARQUET_PART,
    TMP_SUFFIX,
    find_part,
    part_path,
    write_part,
)
from childsafe.scan.rows import records_to_table

__all__ = ["TMP_SUFFIX", "ScanTask", "find_part", "part_path", "warm_up"]

ROWS_PER_CHUNK = 4096

# One built pipeline per worker process: the latest scan's (a process serves one scan).
_PIPELINE: tuple[str, Pipeline] | None = None


def warm_up(content: bool = True) -> None:
    """Load, in a fresh worker, what its first shard would otherwise load on the clock.

    Runs in each local worker while the driver builds the matcher snapshot (see
    ``LocalExecutor.start``): numba's registries (without the SciPy probe, see
    ``hashing._jit``), the cached PDQ kernels for both luma types (``uint8`` from the JPEG
    fast path and greyscale files, ``float32`` from colour files) and the matching scan
    kernel, Pillow's decoders and Parquet. Each cached kernel costs tens of milliseconds to
    load on first call, ~0.3-0.7 s in all. ``content=False`` (a hashes-only table scan)
    skips the hashing kernels it will not use.
    """
    import numpy as np

    from childsafe.matching.pdq_index import PDQIndex, pack_hex

    index = PDQIndex()
    index.add_packed(pack_hex(["0" * 64]), np.arange(1))
    index.search(pack_hex(["f" * 64]), 31)
    if not content:
        return
    from PIL import JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

    from childsafe.hashing.pdq import PDQHasher
    from childsafe.hashing.pdq_core import luma_from_rgb

    ramp = np.add.outer(np.arange(96), 2 * np.arange(80)).astype(np.uint8)
    hasher = PDQHasher()
    hasher.hash_luma(ramp)
    hasher.hash_luma(luma_from_rgb(np.stack([ramp, ramp, ramp], axis=2)))


@dataclass(slots=True)
class ScanTask:
    """Runs the scan's steps over one shard; see the module docstring.

    ``readers`` maps each source to its configured reader; ``run_key`` identifies this scan
    run (config fingerprint plus snapshot), keying the per-process pipeline cache.
    """

    run_key: str
    parts_dir: str
    readers: dict[str, Reader]
    steps: Sequence[Step]
    fast_path: bool = True
    compress_parts: bool = True  # see ``scan.parts``: False where parts stay on local disk

    def pipeline(self) -> Pipeline:
        """This process's pipeline for the scan (built and set up on first use)."""
        global _PIPELINE
        if _PIPELINE is None or _PIPELINE[0] != self.run_key:
            _PIPELINE = None  # drop the old one (and its indexes) before building
            built = Pipeline(self.steps)
            built.setup()
            _PIPELINE = (self.run_key, built)
        return _PIPELINE[1]

    def __call__(self, shard: Shard) -> ShardDone:
        start = time.perf_counter()
        pipeline = self.pipeline()
        reader = self.readers[shard.source]
        counters: Counter[str] = Counter()
        batches = fastpath.batches_for(reader, shard, pipeline) if self.fast_path else None
        if batches is None:
            chunks = self._slow_chunks(pipeline, reader, shard)
            suffix = PARQUET_PART
        else:
            chunks = (fastpath.process(batch, shard, pipeline) for batch in batches)
            suffix = ARROW_PART
        final = part_path(Path(self.parts_dir), shard.shard_id, suffix)
        write_part(final, _counted(chunks, counters), compress=self.compress_parts)
        if batches is not None:
            counters["fast_path_rows"] = counters["items"]
        rows = counters["items"]
        return ShardDone(shard.shard_id, rows, time.perf_counter() - start, dict(counters))

    @staticmethod
    def _slow_chunks(pipeline: Pipeline, reader: Reader, shard: Shard) -> Iterator[pa.Table]:
        for chunk in batched(pipeline.run(reader.read(shard)), ROWS_PER_CHUNK):
            yield records_to_table(chunk, shard)


def _counted(tables: Iterator[pa.Table], counters: Counter[str]) -> Iterator[pa.Table]:
    """``tables``, counting rows and decisions into ``counters`` on the way."""
    for table in tables:
        counters["items"] += table.num_rows
        if table.num_rows:
            for entry in pc.value_counts(table["decision"]).to_pylist():
                counters[f"decision:{entry['values']}"] += int(entry["counts"])
        yield table
