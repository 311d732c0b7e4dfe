"""Reading safetensors headers without the weights, and refusing malformed ones clearly."""

from __future__ import annotations

import hashlib
import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file
from tests.assess.lora_files import raw_safetensors

from childsafe.assess.models.safetensors_meta import (
    decode_json_value,
    parse_header,
    read_header,
)
from childsafe.errors import ContentError, ContentTooLarge, CorruptContent


def test_header_of_a_generated_file(tmp_path: Path) -> None:
    path = tmp_path / "a.safetensors"
    tensors = {
        "w": np.zeros((3, 4), np.float16),
        "b": np.zeros((4,), np.float32),
        "i": np.zeros((2, 2, 2), np.int64),
    }
    meta = {"ss_output_name": "水彩 watercolour ✨", "modelspec.title": "Watercolour"}
    save_file(tensors, str(path), metadata=meta)
    h = read_header(path)
    assert h.tensor_count == 3
    assert h.param_count == 12 + 4 + 8
    assert h.dtypes == {"F16": 1, "F32": 1, "I64": 1}
    assert dict(h.metadata) == meta
    assert h.warnings == ()
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert h.header_bytes == n and h.file_size == len(raw)
    assert h.sha256 == hashlib.sha256(raw[: 8 + n]).hexdigest()
    assert h.summary()["param_count"] == 24


class _Counting(io.BufferedReader):
    """Counts the bytes handed to the reader's caller."""

    total = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        _Counting.total += len(data)
        return data


def test_only_the_header_is_read_of_a_huge_sparse_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 50,000 x 50,000 float32 = 10 GB declared; the file is sparse, so it costs no disk.
    nbytes = 50_000 * 50_000 * 4
    header = json.dumps(
        {
            "__metadata__": {"ss_output_name": "big"},
            "huge": {"dtype": "F32", "shape": [50_000, 50_000], "data_offsets": [0, nbytes]},
        }
    ).encode()
    path = raw_safetensors(tmp_path / "huge.safetensors", header)
    with path.open("r+b") as f:
        f.truncate(8 + len(header) + nbytes)
    original = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == path:
            return _Counting(io.FileIO(self, "rb"))
        return original(self, *args, **kwargs)

    _Counting.total = 0

    monkeypatch.setattr(Path, "open", counting_open)
    h = read_header(path)
    assert _Counting.total == 8 + len(header)  # the 10 GB after it were never read
    assert h.param_count == 2_500_000_000
    assert h.file_size == 8 + len(header) + nbytes
    assert h.warnings == ()


def test_short_data_region_is_a_warning_not_an_error(tmp_path: Path) -> None:
    header = json.dumps({"t": {"dtype": "F16", "shape": [1000], "data_offsets": [0, 2000]}})
    path = raw_safetensors(tmp_path / "short.safetensors", header.encode(), tail=b"\0" * 10)
    h = read_header(path)
    assert h.tensor_count == 1
    assert any("data region truncated" in w for w in h.warnings)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "not a safetensors file"),
        (b"\x01\x02\x03", "not a safetensors file"),
        (struct.pack("<Q", 1000) + b'{"a":', "truncated header"),
        (struct.pack("<Q", 0), "empty safetensors header"),
        (struct.pack("<Q", 9) + b"{not json", "not valid JSON"),
        (struct.pack("<Q", 2) + b"[]", "not an object"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", "not UTF-8"),
        (struct.pack("<Q", 1000) + b"[" * 1000, "nested too deeply"),
    ],
)
def test_malformed_headers_name_the_file(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "weird name ü.safetensors"
    path.write_bytes(content)
    with pytest.raises(CorruptContent) as info:
        read_header(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_absurd_header_length_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "absurd.safetensors"
    path.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(ContentTooLarge, match="over the 104857600-byte limit"):
        read_header(path)
    small = raw_safetensors(tmp_path / "small.safetensors", b"{}" + b" " * 100)
    with pytest.raises(ContentTooLarge, match=r"small\.safetensors"):
        read_header(small, max_header_bytes=64)


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"t": 5}, "not an object"),
        ({"t": {"shape": [1], "data_offsets": [0, 4]}}, "dtype"),
        ({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "shape"),
        ({"t": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, "shape"),
        ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, "data_offsets"),
        ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, "data_offsets"),
        ({"__metadata__": ["x"]}, "__metadata__"),
    ],
)
def test_bad_tensor_entries(tmp_path: Path, entry: dict[str, Any], needle: str) -> None:
    path = raw_safetensors(tmp_path / "bad.safetensors", json.dumps(entry).encode())
    with pytest.raises(CorruptContent, match=needle):
        read_header(path)


def test_odd_but_readable_metadata_becomes_warnings(tmp_path: Path) -> None:
    header = {
        "__metadata__": {"ss_output_name": "x", "epochs": 10, "nested": {"a": [1]}},
        "t": {"dtype": "Q4_WEIRD", "shape": [2], "data_offsets": [0, 2]},
        "u": {"dtype": "F32", "shape": [2], "data_offsets": [2, 5]},
    }
    path = raw_safetensors(tmp_path / "odd.safetensors", json.dumps(header).encode(), tail=b"0" * 5)
    h = read_header(path)
    assert h.metadata["epochs"] == "10" and json.loads(h.metadata["nested"]) == {"a": [1]}
    text = " ".join(h.warnings)
    assert "['epochs'] is int" in text and "unknown dtype 'Q4_WEIRD'" in text
    assert "offsets span 3" in text


def test_a_directory_or_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorruptContent, match="cannot read"):
        read_header(tmp_path)
    with pytest.raises(CorruptContent, match=r"missing\.safetensors"):
        read_header(tmp_path / "missing.safetensors")


def test_padding_and_trailing_bytes(tmp_path: Path) -> None:
    header = b'{"__metadata__": {"k": "v"}}' + b" " * 6  # the spec pads with spaces
    h = parse_header(struct.pack("<Q", len(header)) + header + b"weights...", name="mem")
    assert h.metadata == {"k": "v"} and h.tensor_count == 0 and h.path == "mem"


def test_decode_json_value() -> None:
    meta = {"a": '{"x": {"y": 1}}', "b": "None", "c": "{oops", "d": ""}
    assert decode_json_value(meta, "a") == ({"x": {"y": 1}}, None)
    assert decode_json_value(meta, "b") == (None, None)
    assert decode_json_value(meta, "missing") == (None, None)
    assert decode_json_value(meta, "d") == (None, None)
    value, problem = decode_json_value(meta, "c")
    assert value is None and problem is not None and "c is not valid JSON" in problem


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_escape_as_other_errors(data: bytes) -> None:
    try:
        parse_header(data, name="fuzz", max_header_bytes=4096)
    except ContentError as exc:
        assert "fuzz" in str(exc)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3)),
        max_size=4,
    )
)
def test_arbitrary_json_objects_never_escape(doc: dict[str, Any]) -> None:
    raw = json.dumps({"t": doc}).encode()
    try:
        parse_header(struct.pack("<Q", len(raw)) + raw, name="fuzz")
    except ContentError as exc:
        assert "fuzz" in str(exc)
