"""report.html: self-contained, complete, and every dataset-controlled value escaped."""

from __future__ import annotations

import re
from pathlib import Path

from tests.scan.test_outputs import context, mixed_parts, row, write_part

from childsafe.readers.base import Shard
from childsafe.scan.outputs import write_outputs
from childsafe.scan.report import render_report

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_hostile_ids_paths_and_reasons_are_escaped(tmp_path: Path) -> None:
    source = f"/data/{HOSTILE}"
    shard = Shard("webdataset", source, "s0", f"{source}/s0.tar")
    rows = [
        row(f"id-{HOSTILE}", "error", error=f"{HOSTILE}: bad", reasons=[f"error:{HOSTILE}"]),
        row("ok", "block", reasons=[f"match:{HOSTILE}:pdq"]),
    ]
    part = write_part(tmp_path / "parts", "s0", rows)
    ctx = context([shard], sources=(source,), config={"note": HOSTILE})
    write_outputs(tmp_path / "out", [part], ctx)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.count("&lt;script&gt;") >= 4  # source, shard table, reason, error kind, config


def test_page_is_self_contained_and_complete(tmp_path: Path) -> None:
    shards = [Shard("webdataset", "src", f"s{i}", f"/data/s{i}.tar") for i in range(3)]
    summary = write_outputs(tmp_path / "out", mixed_parts(tmp_path / "parts"), context(shards))
    page = (tmp_path / "out" / "report.html").read_text()
    assert not re.search(r"(src|href)\s*=", page, re.IGNORECASE)  # no external assets, no links
    assert "<script" not in page
    needles = ["match:known:pdq", "known", "CorruptContent", "s2", "abc123", "Apache-2.0"]
    needles += ["quarantine.parquet", "removal_list.txt", "errors.parquet", "--resume"]
    for needle in needles:
        assert needle in page, needle
    assert render_report(summary.data) == page


def test_content_is_never_in_the_page(tmp_path: Path) -> None:
    part = write_part(
        tmp_path / "parts", "s0", [row("a", "block", url="https://example.org/p.jpg")]
    )
    write_outputs(tmp_path / "out", [part], context())
    assert "example.org" not in (tmp_path / "out" / "report.html").read_text()
