"""Table columns: which column is what, and one vectorised pass that validates a batch.

Every tabular reader (Parquet, CSV, JSON Lines, Hugging Face Arrow) maps its columns once
(:func:`guess`, with options overriding), then turns each Arrow batch into the batch layout
of :data:`BATCH_SCHEMA` — column names as in ``childsafe.scan.schema.RESULTS`` — without a
Python object per row. Items are built from that same batch, so ``read`` and
``read_batches`` cannot disagree on ids, hashes or errors.

Hash cells are checked with a fast path (ASCII trim, ASCII lower, exactly the type's number
of hex digits: one numba pass, :func:`_hex_check`) whose accepted values are a subset of
what :func:`childsafe.hashing.formats.canonical` accepts with the same result; every other
non-empty cell goes to ``canonical`` itself, the reference, which also words the error.
Empty and null cells mean "no hash". A malformed hash makes the row an error naming the
column. A row with no valid hash, no image bytes and no caption has nothing to scan
(childsafe never downloads URLs) and is an error row saying so. Captions are kept only as
the SHA-256 of their stored bytes (``readers._sha256``, one numba pass per column).

The common LAION case costs no copy: a hash column already canonical (lower-case digits of
the right length) is passed on as it is, and ids get their prefix in one Arrow kernel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from childsafe.errors import HashFormatError, SourceError
from childsafe.hashing.formats import HEX_LENGTHS, canonical
from childsafe.readers._sha256 import sha256_hex

HASH_TYPES: tuple[str, ...] = ("md5", "sha1", "sha256", "pdq", "video_md5", "vpdq")
ROLES: dict[str, tuple[str, ...]] = {
    "id": ("id", "key", "uid", "sample_id", "__key__", "image_id"),
    "url": ("url", "image_url"),
    "caption": ("caption", "text", "alt"),
    "licence": ("licence", "license"),
    "crawl_date": ("crawl_date", "date"),
    "image": ("image", "jpg", "jpeg", "png", "webp", "img", "bytes"),
}
BATCH_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("source", pa.string()),
        ("shard", pa.string()),
        ("member", pa.string()),
        ("row", pa.int64()),
        ("url", pa.string()),
        ("caption_sha256", pa.string()),
        ("licence", pa.string()),
        ("crawl_date", pa.string()),
        ("kind", pa.string()),
        *[(name, pa.string()) for name in HASH_TYPES],
        ("error", pa.string()),
    ]
)
_WS = " \t\n\r\x0b\x0c"


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """The table column playing each role (None: absent)."""

    roles: dict[str, str] = field(default_factory=dict)  # role -> column
    hashes: dict[str, str] = field(default_factory=dict)  # hash type -> column

    def get(self, role: str) -> str | None:
        return self.roles.get(role)

    def columns(self) -> list[str]:
        return list(dict.fromkeys([*self.roles.values(), *self.hashes.values()]))


def _textual(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_null(t)  # a column empty so far (JSON inference)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_temporal(t)
        or (pa.types.is_dictionary(t) and _textual(t.value_type))
    )


def _image_type_ok(t: pa.DataType) -> bool:
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return True
    return bool(pa.types.is_struct(t) and t.get_field_index("bytes") >= 0)


def guess(
    where: str, schema: pa.Schema, overrides: Mapping[str, str | None], *, images: bool = True
) -> ColumnMap:
    """Map roles to columns: overrides first, then known names (case-insensitive)."""
    names = list(schema.names)
    lower = {n.lower(): n for n in reversed(names)}
    have = ", ".join(names) or "(none)"
    roles: dict[str, str] = {}
    hashes: dict[str, str] = {}
    wanted = {**{r: ROLES[r] for r in ROLES}, **{h: (h,) for h in HASH_TYPES}}
    for role, candidates in wanted.items():
        chosen = overrides.get(f"{role}_column")
        if chosen is not None and chosen not in names:
            raise SourceError(f"{where}: no column {chosen!r} for {role}; columns: {have}")
        chosen = chosen or next((lower[c] for c in candidates if c in lower), None)
        if chosen is None or (role == "image" and not images):
            continue
        t = schema.field(chosen).type
        ok = _image_type_ok(t) if role == "image" else _textual(t)
        if not ok:
            raise SourceError(f"{where}: column {chosen!r} ({role}) has unusable type {t}")
        (hashes if role in HASH_TYPES else roles)[role] = chosen
    if not ({"id", "url", "image"} & roles.keys()) and not hashes:
        raise SourceError(f"{where}: no id, url, hash or image column to scan; columns: {have}")
    return ColumnMap(roles, hashes)


def text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any textual column as UTF-8 strings; invalid bytes become U+FFFD."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string(arr.type):
        return arr
    try:
        return pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raw = pc.cast(arr, pa.binary()).to_pylist()
        return pa.array([None if b is None else b.decode("utf-8", "replace") for b in raw])


def binary_cells(arr: pa.Array) -> pa.Array:
    """A textual column as a binary column of the bytes stored (UTF-8 for strings).

    Strings are reinterpreted, not copied; other types are formatted as strings first.
    """
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        return arr
    if pa.types.is_large_string(arr.type):
        return pc.cast(arr, pa.large_binary())
    if pa.types.is_string(arr.type):
        return pc.cast(arr, pa.binary())
    return pc.cast(pc.cast(arr, pa.string()), pa.binary())


def raw_bytes(arr: pa.Array) -> list[bytes | None]:
    """A textual column's cells as the bytes stored (UTF-8 for strings)."""
    return binary_cells(arr).to_pylist()  # type: ignore[no-any-return]


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(offsets, data, valid)`` of a string or binary column, without copying.

    ``offsets`` (int32 or int64, as stored) index ``data`` directly: a slice's offset is
    already applied. Null cells have arbitrary offsets; ``valid`` says which they are.
    """
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    bufs, n = arr.buffers(), len(arr)
    offsets = np.frombuffer(bufs[1], np.int64 if wide else np.int32)[
        arr.offset : arr.offset + n + 1
    ]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(pc.is_valid(arr), np.bool_) if arr.null_count else np.ones(n, np.bool_)
    return offsets, data, valid


@njit(cache=True, inline="always")
def _space(c):  # type: ignore[no-untyped-def]
    return c == 32 or 9 <= c <= 13  # the ASCII white space ``utf8_trim`` removes here


@njit(cache=True, inline="always")
def _digits(data, s, e):  # type: ignore[no-untyped-def]
    """``(all hex digits, any upper case)`` of ``data[s:e]``: comparisons, no table, so
    the loop vectorises (a 256-entry lookup table ran 1.7x slower)."""
    bad = upper = False
    for j in range(s, e):
        c = data[j]
        up = (c >= 65) & (c <= 70)
        bad |= not (((c >= 48) & (c <= 57)) | ((c >= 97) & (c <= 102)) | up)
        upper |= up
    return not bad, upper


@njit(cache=True, nogil=True)
def _hex_check(offsets, data, valid, nhex):  # type: ignore[no-untyped-def]
    """Per cell: ``present`` (non-empty once trimmed) and ``ok`` (exactly ``nhex`` hex digits).

    Also counts the ok cells that are canonical *as stored* (untrimmed, lower case): when
    that is every non-null cell, the column is its own canonical form. The trim set is
    ASCII, so trimming bytes is the same as ``utf8_trim`` on code points.
    """
    n = offsets.shape[0] - 1
    present = np.zeros(n, np.bool_)
    ok = np.zeros(n, np.bool_)
    as_stored = 0
    for i in range(n):
        if not valid[i]:
            continue
        s, e = offsets[i], offsets[i + 1]
        if e - s == nhex:  # the common case: one pass, no trimming
            hexed, upper = _digits(data, s, e)
            if hexed:
                present[i] = ok[i] = True
                as_stored += not upper
                continue
        while s < e and _space(data[s]):
            s += 1
        while e > s and _space(data[e - 1]):
            e -= 1
        if e == s:
            continue
        present[i] = True
        if e - s == nhex:
            ok[i] = _digits(data, s, e)[0]
    return present, ok, as_stored


@njit(cache=True, nogil=True)
def _hex_lower(offsets, data, ok, nhex):  # type: ignore[no-untyped-def]
    """The ok cells' digits, trimmed and in lower case, ``nhex`` bytes each, in row order."""
    out = np.empty(int(ok.sum()) * nhex, np.uint8)
    k = 0
    for i in range(offsets.shape[0] - 1):
        if not ok[i]:
            continue
        s = offsets[i]
        while _space(data[s]):
            s += 1
        for j in range(nhex):
            c = data[s + j]
            out[k + j] = c + 32 if 65 <= c <= 90 else c
        k += nhex
    return out


def _hex_cells(values: pa.Array, nhex: int) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """``(present, ok, canonical)`` of a string column in one numba pass (see ``_hex_check``).

    Replaces ``utf8_trim`` + ``ascii_lower`` + a regex + ``utf8_length`` (five Arrow passes
    and two temporary columns per hash column). A column already canonical (the usual
    LAION table: lower-case digits of the right length) is returned as it is, uncopied.
    """
    offsets, data, valid = _buffers(values)
    present, ok, as_stored = _hex_check(offsets, data, valid, nhex)
    if as_stored == len(values) - values.null_count:
        return present, ok, values
    lowered = _hex_lower(offsets, data, ok, nhex)
    n = len(values)
    out_offsets = np.zeros(n + 1, np.int32)
    np.cumsum(ok * np.int32(nhex), out=out_offsets[1:])
    nulls = n - int(np.count_nonzero(ok))
    bitmap = pa.py_buffer(np.packbits(ok, bitorder="little")) if nulls else None
    canonical_col = pa.StringArray.from_buffers(
        n, pa.py_buffer(out_offsets), pa.py_buffer(lowered), bitmap, nulls
    )
    return present, ok, canonical_col


def _check_hashes(htype: str, column: str, arr: pa.Array, errors: dict[int, str]) -> pa.Array:
    """Canonical hashes of one column (null where absent or bad); bad cells go to ``errors``."""
    values = text(arr)
    if htype in HEX_LENGTHS:
        present, ok, fast = _hex_cells(values, HEX_LENGTHS[htype])
    else:
        trimmed = pc.utf8_trim(values, characters=_WS)
        present = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(trimmed), 0), False))
        ok = np.zeros(len(values), np.bool_)
        fast = pa.nulls(len(values), pa.string())
    slow = np.flatnonzero(present & ~ok)
    if not len(slow):
        return fast
    out: list[str | None] = fast.to_pylist()
    for i in map(int, slow):
        try:
            out[i] = canonical(htype, values[i].as_py())  # the reference decides the rest
        except HashFormatError as exc:
            msg = f"column {column!r}: {exc}"
            errors[i] = f"{errors[i]}; {msg}" if i in errors else msg
    return pa.array(out, pa.string())


@dataclass(frozen=True, slots=True)
class Context:
    """Where a batch comes from: constants of every row, and how to name its rows."""

    source: str
    shard: str
    prefix: str  # item ids from the id column are "<prefix>/<id>"


def _item_ids(batch: pa.RecordBatch, cmap: ColumnMap, ctx: Context, rows: pa.Array) -> pa.Array:
    """``<prefix>/<id>`` from the id column, ``<shard>#<row>`` where there is none (or null)."""

    def fallback() -> pa.Array:
        return pc.binary_join_element_wise(f"{ctx.shard}#", pc.cast(rows, pa.string()), "")

    if (idc := cmap.get("id")) is None:
        return fallback()
    ids = text(batch.column(idc))
    joined = pc.binary_join_element_wise(f"{ctx.prefix}/", ids, "")
    return pc.if_else(pc.is_null(ids), fallback(), joined) if ids.null_count else joined


def normalise(
    batch: pa.RecordBatch, cmap: ColumnMap, ctx: Context, first_row: int, has_content: pa.Array
) -> pa.RecordBatch:
    """One batch in :data:`BATCH_SCHEMA`; ``has_content`` marks rows with image bytes."""
    n = batch.num_rows
    rows = pa.array(np.arange(first_row, first_row + n, dtype=np.int64))
    cols: dict[str, pa.Array] = {"item_id": _item_ids(batch, cmap, ctx, rows)}
    cols["source"] = pa.repeat(pa.scalar(ctx.source), n)
    cols["shard"] = pa.repeat(pa.scalar(ctx.shard), n)
    cols["member"] = pa.nulls(n, pa.string())
    cols["row"] = rows
    for role in ("url", "licence", "crawl_date"):
        c = cmap.get(role)
        cols[role] = text(batch.column(c)) if c else pa.nulls(n, pa.string())
    capc = cmap.get("caption")
    has_caption = pa.repeat(pa.scalar(False), n)
    cols["caption_sha256"] = pa.nulls(n, pa.string())
    if capc is not None:
        caption = binary_cells(batch.column(capc))
        has_caption = pc.fill_null(pc.greater(pc.binary_length(caption), 0), False)
        cols["caption_sha256"] = sha256_hex(caption)  # of the bytes stored, valid UTF-8 or not
    cols["kind"] = pc.if_else(has_content, pa.scalar(None, pa.string()), "hashes")
    errors: dict[int, str] = {}  # sparse: most batches have none
    scannable = pc.or_(has_caption, has_content)
    for htype in HASH_TYPES:
        c = cmap.hashes.get(htype)
        cols[htype] = (
            _check_hashes(htype, c, batch.column(c), errors) if c else pa.nulls(n, pa.string())
        )
        scannable = pc.or_(scannable, pc.is_valid(cols[htype]))
    nothing = "nothing to scan: no valid hash, image bytes or caption in this row"
    for i in np.flatnonzero(~scannable.to_numpy(zero_copy_only=False)):
        errors.setdefault(int(i), nothing)
    named: list[str | None] = [None] * n
    for k, e in errors.items():
        named[k] = f"row {first_row + k}: {e}"
    cols["error"] = pa.array(named, pa.string()) if errors else pa.nulls(n, pa.string())
    return pa.RecordBatch.from_arrays([cols[f.name] for f in BATCH_SCHEMA], schema=BATCH_SCHEMA)
