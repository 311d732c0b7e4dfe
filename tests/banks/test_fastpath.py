"""The parse and validation fast paths against their references.

``BankFormat.fast_batch`` must give exactly the records ``rows`` gives, or None; and
``validate`` must give exactly what the row-by-row ``reference`` gives, raising the same
error for the same first bad line. Hypothesis builds files from the pieces that matter
(hex of every length and case, blanks, comments, typed lines, spaces, tabs, CR, BOM,
quotes, commas, non-ASCII).
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from childsafe.banks import RecordBatch, import_file
from childsafe.banks.batch import Columns, Row
from childsafe.banks.formats import get_format
from childsafe.banks.validate import canonical_hex, reference, validate
from childsafe.errors import BankImportError
from childsafe.hashing.formats import canonical
from childsafe.storage import SqlBankStore

R = random.Random(5)
HEX = "0123456789abcdef"


def hexs(n: int, length: int = 64) -> list[str]:
    return ["".join(R.choice(HEX) for _ in range(length)) for _ in range(n)]


def reference_rows(fmt: str, data: bytes, hash_type: str | None) -> list[Row] | Exception:
    try:
        return list(get_format(fmt).rows(io.BytesIO(data), source="f", hash_type=hash_type))
    except BankImportError as exc:
        return exc


def fast_rows(fmt: str, data: bytes, hash_type: str | None) -> list[Row] | None:
    batch = get_format(fmt).fast_batch(io.BytesIO(data), source="f", hash_type=hash_type)
    return None if batch is None else batch.rows


hex_value = st.builds(
    lambda n, upper, pick: (
        "".join(HEX[(pick * 7 + i * 13) % 16] for i in range(n)).upper()
        if upper
        else "".join(HEX[(pick * 7 + i * 13) % 16] for i in range(n))
    ),
    st.sampled_from([0, 5, 31, 32, 40, 63, 64, 65]),
    st.booleans(),
    st.integers(0, 15),
)
odd_piece = st.sampled_from(
    ["", " ", "\t", "#c", "# comment", "pdq ", "md5\t", "zz", "g", "é", '"', ",", "\r", "x y"]
)
text_line = st.one_of(*[hex_value] * 6, st.tuples(odd_piece, hex_value).map("".join))
hash_types = st.sampled_from([None, "pdq", "md5", "sha1", "PDQ"])


@st.composite
def text_files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(text_line, max_size=12))
    body = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    if draw(st.booleans()):
        body += "\n"
    return (("\ufeff" if draw(st.booleans()) else "") + body).encode()


@settings(max_examples=400, deadline=None)
@given(data=text_files(), hash_type=hash_types)
def test_text_fast_path_is_the_reference_or_declines(data: bytes, hash_type: str | None) -> None:
    want = reference_rows("text", data, hash_type)
    got = fast_rows("text", data, hash_type)
    if isinstance(want, Exception):
        assert got is None
    elif got is not None:
        assert got == want


def test_text_fast_path_takes_plain_lists() -> None:
    v = hexs(5)
    data = ("\n".join(v[:2]) + "\n\n" + "\n".join(v[2:]).upper()).encode()
    batch = get_format("text").fast_batch(io.BytesIO(data), source="f", hash_type="pdq")
    assert batch is not None and batch.columns is not None
    assert batch.rows == reference_rows("text", data, "pdq")
    md5 = ("\n".join(hexs(3, 32)) + "\n").encode()
    batch = get_format("text").fast_batch(io.BytesIO(md5), source="f", hash_type=None)
    assert batch is not None and {r[0] for r in batch.rows} == {"md5"}


csv_cell = st.one_of(
    st.sampled_from(["", " ", "a", " A b ", "set-1", "set-2", "Ünï", "true", "no", "x1", "pdq"]),
    *[st.sampled_from(["set-1", "set-2", "pdq", "false", "AB12"])] * 12,
)
csv_headers = st.sampled_from(
    [
        "hash",
        "hash,label",
        "hash,hash_type,label",
        "value,type,label,source,id,member,deleted",
        "signal,deleted",
        "Hash , Label",
        "hash,url",
        "pdq,md5",
        "label",
    ]
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(csv_headers)
    width = header.count(",") + 1
    plain_row = st.lists(csv_cell, min_size=width, max_size=width).map(",".join)
    odd_row = st.sampled_from(["", ",,", '"a,b",c', "a\rb", "x,"])
    rows = draw(st.lists(st.one_of(*[plain_row] * 20, odd_row), max_size=10))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    return (nl.join([header, *rows]) + (nl if draw(st.booleans()) else "")).encode()


PLAIN_COLUMNS = {
    "hash": hex_value.filter(bool),
    "hash_type": st.sampled_from(["pdq", "PDQ ", "", "md5"]),
    "label": st.sampled_from(["", "set-1", " set-2", "Ünï ✓"]),
    "source": st.sampled_from(["", "list-a"]),
    "id": st.sampled_from(["", "x1", "x2"]),
    "member": st.sampled_from(["", "7:M"]),
    "deleted": st.sampled_from(["", "false", "no", "true", "0"]),
}


@st.composite
def plain_csv_files(draw: st.DrawFn) -> bytes:
    """CSVs the fast path should take: each column holds what such a column holds."""
    names = draw(st.sets(st.sampled_from(list(PLAIN_COLUMNS)[1:]))) | {"hash"}
    cols = sorted(names, key=list(PLAIN_COLUMNS).index)
    rows = draw(st.lists(st.tuples(*(PLAIN_COLUMNS[c] for c in cols)), max_size=10))
    return ("\n".join([",".join(cols), *map(",".join, rows)]) + "\n").encode()


@settings(max_examples=400, deadline=None)
@given(data=st.one_of(csv_files(), plain_csv_files()), hash_type=hash_types)
def test_csv_fast_path_is_the_reference_or_declines(data: bytes, hash_type: str | None) -> None:
    want = reference_rows("csv", data, hash_type)
    got = fast_rows("csv", data, hash_type)
    if isinstance(want, Exception):
        assert got is None
    elif got is not None:
        assert got == want


def test_csv_fast_path_takes_labelled_lists_as_columns() -> None:
    v = hexs(30)
    data = "hash,hash_type,label\n" + "".join(f"{x},pdq,set-{i % 3}\n" for i, x in enumerate(v))
    batch = get_format("csv").fast_batch(io.BytesIO(data.encode()), source="f", hash_type=None)
    assert batch is not None and batch.columns is not None
    assert len(batch.columns.provenances) == 3
    assert batch.rows == reference_rows("csv", data.encode(), None)


# validation ----------------------------------------------------------------------------------

value_for_check = st.one_of(hex_value, st.tuples(hex_value, odd_piece).map("".join))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(value_for_check, min_size=1, max_size=8),
    hash_type=st.sampled_from(["pdq", "md5", "sha1", "vpdq"]),
)
def test_canonical_hex_is_canonical_or_declines(values: list[str], hash_type: str) -> None:
    got = canonical_hex(hash_type, values)
    try:
        want = [canonical(hash_type, v) for v in values]
    except ValueError:
        assert got is None
        return
    assert got is None or got == want


def _rows(values: list[str], hash_type: str, label: str | None = None) -> list[Row]:
    return [(hash_type, v, label, None, None, None, False, i) for i, v in enumerate(values, 1)]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(value_for_check, min_size=1, max_size=8), columns=st.booleans())
def test_validate_matches_reference_and_its_error(values: list[str], columns: bool) -> None:
    rows = _rows(values, "pdq", label=None)
    batch = (
        RecordBatch.from_columns(Columns("pdq", values, range(1, len(values) + 1)))
        if columns
        else RecordBatch(rows)
    )
    try:
        want = list(reference(rows, where="f", source="s", label="L", tombstones=[]))
    except BankImportError as exc:
        with pytest.raises(BankImportError) as got_exc:
            validate(batch, where="f", source="s", label="L")
        assert (str(got_exc.value), got_exc.value.line) == (str(exc), exc.line)
        return
    got, tombstones = validate(batch, where="f", source="s", label="L")
    assert (got.rows, tombstones) == (want, [])


@pytest.mark.parametrize("fmt", ["text", "csv"])
@pytest.mark.parametrize("bad", ["z" * 64, "A" * 63, "a" * 64 + " x", "é" * 64])
def test_first_bad_line_is_exact_in_a_big_file(
    store: SqlBankStore, tmp_path: Path, fmt: str, bad: str
) -> None:
    """The vectorised check only declines; the reference finds the first bad line."""
    v = [x.upper() if i % 2 else x for i, x in enumerate(hexs(30_000))]
    v[12_345] = bad
    v[20_000] = "q" * 64  # a later bad line must not be the one reported
    f = tmp_path / f"big.{fmt}"
    if fmt == "text":
        f.write_text("\n".join(v) + "\n", encoding="utf-8")
        line = 12_346
    else:
        f.write_text("hash,label\n" + "".join(f"{x},l\n" for x in v), encoding="utf-8")
        line = 12_347
    import_file(store, "b", _ok(tmp_path), hash_type="pdq")
    before = store.get_bank("b")
    with pytest.raises(BankImportError) as exc:
        import_file(store, "b", f, hash_type="pdq")
    assert exc.value.line == line
    after = store.get_bank("b")
    assert (after.version, after.entry_count) == (before.version, before.entry_count)


def _ok(tmp_path: Path) -> Path:
    f = tmp_path / "ok.txt"
    f.write_text("\n".join(hexs(10)) + "\n")
    return f
