"""import_file / export_bank / remove_hashes on both databases: all-or-nothing, counts."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from childsafe.banks import export_bank, import_file, remove_hashes
from childsafe.errors import BankImportError, BankNotFound
from childsafe.storage import SqlBankStore

from .test_formats import NCMEC_SAMPLE

R = random.Random(3)


def pdqs(n: int) -> list[str]:
    return [f"{R.getrandbits(256):064x}" for _ in range(n)]


def test_text_import_and_duplicates_across_imports(store: SqlBankStore, tmp_path: Path) -> None:
    v = pdqs(50)
    f = tmp_path / "a.txt"
    f.write_text("# list\n" + "\n".join(v + v[:5]) + "\n")
    r = import_file(store, "b", f, hash_type="pdq", label="test-set")
    assert (r.format, r.version, r.added, r.duplicates, r.records) == ("text", 1, 50, 5, 55)
    r2 = import_file(store, "b", f, hash_type="pdq")
    assert (r2.version, r2.added, r2.duplicates) == (1, 0, 55)
    e = next(store.iter_entries("b"))
    assert (e.label, e.source) == ("test-set", "a.txt")


def test_bad_last_line_of_large_file_changes_nothing(store: SqlBankStore, tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text("\n".join(pdqs(20)) + "\n")
    import_file(store, "b", f, hash_type="pdq")
    big = tmp_path / "big2.txt"
    big.write_text("\n".join(pdqs(20_000)) + "\n" + "z" * 64 + "\n")
    with pytest.raises(BankImportError, match=r"big2.txt:20001: not a pdq hash"):
        import_file(store, "b", big, hash_type="pdq")
    b = store.get_bank("b")
    assert (b.version, b.entry_count) == (1, 20)


def test_bad_file_does_not_create_bank(store: SqlBankStore, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("abc\n")
    with pytest.raises(BankImportError, match=r"x\.txt:1"):
        import_file(store, "new", f)
    with pytest.raises(BankNotFound):
        store.get_bank("new")


def test_create_false_needs_bank(store: SqlBankStore, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("a" * 32 + "\n")
    with pytest.raises(BankNotFound):
        import_file(store, "nope", f, create=False)


def test_csv_tombstones_crlf_bom_unicode(store: SqlBankStore, tmp_path: Path) -> None:
    a, b = pdqs(2)
    f = tmp_path / "l.csv"
    f.write_bytes(
        "\ufeffhash,type,label,deleted\r\n"
        f"{a.upper()},pdq,Ünïcode ✓ 日本,\r\n{b},pdq,x,\r\n".encode()
    )
    r = import_file(store, "b", f)
    assert (r.format, r.added) == ("csv", 2)
    got = {e.value: e.label for e in store.iter_entries("b")}
    assert got == {a: "Ünïcode ✓ 日本", b: "x"}  # values canonicalised to lower case
    f.write_text(f"hash,type,deleted\n{b},pdq,true\n")
    r = import_file(store, "b", f)
    assert (r.version, r.removed, r.added) == (2, 1, 0)
    assert [e.value for e in store.iter_entries("b")] == [a]


def test_empty_file(store: SqlBankStore, tmp_path: Path) -> None:
    f = tmp_path / "e.txt"
    f.write_bytes(b"")
    r = import_file(store, "b", f)
    assert (r.version, r.records) == (0, 0)


def test_ncmec_import_and_delete_by_id(store: SqlBankStore, tmp_path: Path) -> None:
    first = NCMEC_SAMPLE.replace("image4", "image1-later")  # keep image1 alive first
    f = tmp_path / "e.xml"
    f.write_text(first)
    r = import_file(store, "n", f)
    assert (r.format, r.added, r.skipped) == ("ncmec", 3, {"ncmec image PDNA fingerprints": 1})
    delete = (
        '<queryResult><images><deletedImage><member id="42">M</member><id>image1</id>'
        "</deletedImage></images></queryResult>"
    )
    f.write_text(delete)
    r = import_file(store, "n", f)
    assert r.removed == 2  # the md5 and sha1 of entry image1
    assert [e.hash_type for e in store.iter_entries("n")] == ["video_md5"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "text", "pytx", "ncmec"])
def test_export_import_roundtrip(store: SqlBankStore, tmp_path: Path, fmt: str) -> None:
    v = pdqs(30)
    f = tmp_path / "in.csv"
    f.write_text(
        "hash,type,label,id,member\n"
        + "".join(f"{x},pdq,lbl-é,id{i},9:Mem\n" for i, x in enumerate(v))
    )
    import_file(store, "src", f)
    out = tmp_path / f"out.{fmt}"
    assert export_bank(store, "src", out, fmt=fmt) == 30
    r = import_file(store, "dst", out, fmt=fmt, hash_type="pdq")
    assert r.added == 30
    key = (
        (lambda e: (e.value, e.label)) if fmt in ("csv", "jsonl", "ncmec") else (lambda e: e.value)
    )
    assert sorted(map(key, store.iter_entries("dst"))) == sorted(
        map(key, store.iter_entries("src"))
    )


def test_export_include_deleted_to_stream(store: SqlBankStore, tmp_path: Path) -> None:
    v = pdqs(3)
    f = tmp_path / "a.txt"
    f.write_text("\n".join(v))
    import_file(store, "b", f, hash_type="pdq")
    remove_hashes(store, "b", "pdq", [v[0]])
    buf = io.StringIO()
    assert export_bank(store, "b", buf, fmt="jsonl", include_deleted=True) == 3
    assert buf.getvalue().count('"deleted": true') == 1
    with pytest.raises(BankNotFound):
        export_bank(store, "missing", io.StringIO())


def test_remove_hashes(store: SqlBankStore, tmp_path: Path) -> None:
    v = pdqs(4)
    f = tmp_path / "a.txt"
    f.write_text("\n".join(v))
    import_file(store, "b", f, hash_type="pdq")
    r = remove_hashes(store, "b", "pdq", [v[0].upper(), v[1], pdqs(1)[0]])
    assert (r.version, r.removed, r.duplicates) == (2, 2, 1)
    with pytest.raises(BankImportError, match="remove:2"):
        remove_hashes(store, "b", "pdq", [v[2], "xyz"])
    assert store.get_bank("b").entry_count == 2
