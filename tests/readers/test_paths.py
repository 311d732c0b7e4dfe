"""Source patterns, slugs and ``reader_for``."""

from __future__ import annotations

from pathlib import Path

import pytest

from childsafe.errors import ConfigError, SourceError
from childsafe.readers import FolderReader, TableReader, WebDatasetReader, reader_for
from childsafe.readers._paths import expand_braces, expand_files, slug, unique_slugs


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        ("s-{00000..00002}.tar", ["s-00000.tar", "s-00001.tar", "s-00002.tar"]),
        ("s-{8..10}.tar", ["s-8.tar", "s-9.tar", "s-10.tar"]),
        ("s-{0..10}", [f"s-{i}" for i in range(11)]),
        ("{2..0}", ["2", "1", "0"]),
        ("{a,b}/{0..1}", ["a/0", "a/1", "b/0", "b/1"]),
        ("x{a,{b,c}}y", ["xay", "xby", "xcy"]),
        ("plain.tar", ["plain.tar"]),
        ("lit{one}.tar", ["lit{one}.tar"]),
        ("{a..c}", ["{a..c}"]),
    ],
)
def test_brace_expansion(pattern: str, want: list[str]) -> None:
    assert expand_braces(pattern) == want


def test_huge_brace_range_is_refused() -> None:
    with pytest.raises(SourceError, match="more than"):
        expand_braces("s-{0..999999999}.tar")


def test_missing_shard_in_range_names_it(wds_dir: Path) -> None:
    with pytest.raises(SourceError, match=r"shard-00003\.tar: no such file"):
        expand_files(str(wds_dir / "shard-{00000..00003}.tar"))
    with pytest.raises(SourceError, match=r"shard-00003\.tar"):
        WebDatasetReader().shards(str(wds_dir / "shard-{00000..00003}.tar"))


def test_glob_and_no_match(wds_dir: Path) -> None:
    assert len(expand_files(str(wds_dir / "*.tar"))) == 3
    with pytest.raises(SourceError, match="matches no files"):
        expand_files(str(wds_dir / "*.parquet"))


def test_slugs_safe_stable_and_distinct() -> None:
    assert slug("shard-00001") == "shard-00001"
    assert slug("фото") == slug("фото") and slug("фото").isascii()
    assert slug("фото") != slug("снимок")
    assert slug("my photos") != slug("my_photos")
    assert slug("../..").isascii() and "/" not in slug("../..")
    assert (
        unique_slugs(["a/x.tar", "b/x.tar"], None)[0]
        != unique_slugs(["a/x.tar", "b/x.tar"], None)[1]
    )
    assert unique_slugs(["a/x.tar"], 3) == ["3_x"]


def test_reader_for_picks_and_refuses(tmp_path: Path, wds_dir: Path) -> None:
    assert isinstance(reader_for(str(tmp_path)), FolderReader)
    assert isinstance(reader_for(str(wds_dir / "shard-{00000..00002}.tar")), WebDatasetReader)
    (tmp_path / "t.csv").write_text("id,url\n1,https://example.org/a\n")
    reader = reader_for(str(tmp_path / "t.csv"), id_column="id", shard_size=None)
    assert isinstance(reader, TableReader)
    with pytest.raises(SourceError, match=r"nope\.tar: no such file"):
        reader_for(str(tmp_path / "nope.tar"))
    (tmp_path / "notes.docx").write_bytes(b"x")
    with pytest.raises(SourceError, match=r"notes\.docx: no reader"):
        reader_for(str(tmp_path / "notes.docx"))
    with pytest.raises(SourceError, match=r"shard-00003\.tar: no such file"):
        reader_for(str(wds_dir / "shard-{00000..00009}.tar"))
    with pytest.raises(ConfigError, match="id_column"):
        reader_for(str(wds_dir / "shard-00000.tar"), id_column="id")
