"""Items from a normalised table batch: the per-row path, for scans that need objects.

Image cells are binary or a Hugging Face ``{bytes, path}`` struct. A struct's ``path`` is
recorded as the item's member but never opened: a dataset could point it anywhere on the
scanning machine. Captions travel as ``Item.text``, decoded as :mod:`._meta` describes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from childsafe.content.base import Item, Provenance
from childsafe.readers._columns import HASH_TYPES, ColumnMap, raw_bytes
from childsafe.readers._meta import caption_extra


def image_parts(batch: pa.RecordBatch, cmap: ColumnMap) -> tuple[pa.Array, pa.Array | None]:
    """The image bytes column (null where absent) and, for structs, the path column."""
    col = cmap.get("image")
    if col is None:
        return pa.nulls(batch.num_rows, pa.binary()), None
    arr = batch.column(col)
    if pa.types.is_struct(arr.type):
        paths = arr.field("path") if arr.type.get_field_index("path") >= 0 else None
        data = arr.field("bytes")
        # A null struct has undefined children: mask them.
        data = pc.if_else(pc.is_valid(arr), data, pa.scalar(None, data.type))
        if paths is not None:
            paths = pc.if_else(pc.is_valid(arr), paths, pa.scalar(None, paths.type))
        return data, paths
    return arr, None


def items(
    norm: pa.RecordBatch,
    raw: pa.RecordBatch,
    cmap: ColumnMap,
    max_bytes: int,
) -> Iterator[Item]:
    """One item per row of ``norm`` (a :data:`BATCH_SCHEMA` batch) built from ``raw``."""
    data, paths = image_parts(raw, cmap)
    capc = cmap.get("caption")
    captions = raw_bytes(raw.column(capc)) if capc else [None] * raw.num_rows
    cols = {name: norm.column(name).to_pylist() for name in norm.schema.names}
    member = paths.to_pylist() if paths is not None else [None] * raw.num_rows
    for i in range(norm.num_rows):
        prov = Provenance(
            source=cols["source"][i],
            shard=cols["shard"][i],
            row=cols["row"][i],
            url=cols["url"][i],
            member=member[i],
        )
        for key in ("licence", "crawl_date"):
            if cols[key][i] is not None:
                prov.extra[key] = cols[key][i]
        text = None
        if (caption := captions[i]) is not None:
            text, extra = caption_extra(caption)
            prov.extra.update(extra)
        hashes = {h: cols[h][i] for h in HASH_TYPES if cols[h][i] is not None}
        item = Item.from_hashes(hashes, id=cols["item_id"][i], provenance=prov, text=text)
        item.error = cols["error"][i]
        blob = data[i].as_py()
        if blob is not None and item.error is None:
            if len(blob) > max_bytes:
                limit = f"over the {max_bytes}-byte limit"
                item.error = f"row {prov.row}: image is {len(blob)} bytes, {limit}"
            else:
                item.data = blob
        yield item
