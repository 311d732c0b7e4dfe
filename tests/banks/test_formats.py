"""Every format: parse/write round trips and a clear, line-numbered error for bad input."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import pytest

from childsafe.banks.base import BankEntry, ImportRecord
from childsafe.banks.formats import FORMATS, detect_format, get_format
from childsafe.errors import BankError, BankImportError

R = random.Random(7)


def hx(n: int) -> str:
    return f"{R.getrandbits(n * 4):0{n}x}"


def entry(i: int, hash_type: str, value: str, **kw: object) -> BankEntry:
    base: dict[str, object] = dict(
        entry_id=i, bank="b", hash_type=hash_type, value=value, label=None, source=None,
        external_id=None, member=None, added_at=datetime.now(UTC), added_version=1,
    )  # fmt: skip
    base.update(kw)
    return BankEntry(**base)  # type: ignore[arg-type]


def parse(fmt: str, data: bytes | str, hash_type: str | None = None) -> list[ImportRecord]:
    raw = data.encode() if isinstance(data, str) else data
    return list(get_format(fmt).parse(io.BytesIO(raw), source="f", hash_type=hash_type))


def roundtrip(fmt: str, entries: list[BankEntry]) -> list[ImportRecord]:
    out = io.StringIO()
    assert get_format(fmt).write(entries, out) == len(entries)
    return parse(fmt, out.getvalue())


def key(r: ImportRecord | BankEntry) -> tuple[object, ...]:
    return (r.hash_type, r.value, r.label, r.external_id, r.member, r.deleted)


RICH = [
    entry(
        1,
        "pdq",
        hx(64),
        label="Ünïcode ✓ label",
        source="list-a",
        external_id="x1",
        member="7:Member, Inc.",
    ),
    entry(2, "md5", hx(32), label='quote " and, comma', source="list-b"),
    entry(3, "sha256", hx(64), deleted=True, external_id="x3"),
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_rich_roundtrip(fmt: str) -> None:
    got = roundtrip(fmt, RICH)
    assert [key(r) for r in got] == [key(e) for e in RICH]
    assert [r.source for r in got] == [e.source for e in RICH]
    assert [r.line for r in got] == ([2, 3, 4] if fmt == "csv" else [1, 2, 3])


def test_text_roundtrip_typed_lines() -> None:
    live = [e for e in RICH if not e.deleted]
    got = roundtrip("text", live)
    assert [(r.hash_type, r.value) for r in got] == [(e.hash_type, e.value) for e in live]


def test_pytx_roundtrip_and_shape() -> None:
    live = [e for e in RICH if not e.deleted]
    out = io.StringIO()
    get_format("pytx").write(live, out)
    assert out.getvalue().splitlines()[0] == "signal_type,signal_str,collab,category,tags"
    got = parse("pytx", out.getvalue())
    assert [(r.hash_type, r.value, r.label, r.source) for r in got] == [
        (e.hash_type, e.value, e.label, e.source) for e in live
    ]


def test_pytx_skips_negative_class_and_unknown_types() -> None:
    f = get_format("pytx")
    data = (
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{hx(64)},Sample,POSITIVE_CLASS,a b\n"
        f"pdq,{hx(64)},Sample,NEGATIVE_CLASS,\n"
        "url,https://example.org/x,Sample,POSITIVE_CLASS,\n"
    )
    got = list(f.parse(io.BytesIO(data.encode()), source="f"))
    assert len(got) == 1 and got[0].label == "a b" and got[0].source == "Sample"
    assert sum(f.stats.values()) == 2


def test_ncmec_roundtrip_with_tombstones() -> None:
    es = [
        entry(1, "md5", hx(32), external_id="image1", member="42:Example Member", label="A1"),
        entry(2, "sha1", hx(40), external_id="image1", member="42:Example Member", label="A1"),
        entry(3, "pdq", hx(64), external_id="image2", member="43:Other & Co"),
        entry(4, "video_md5", hx(32), external_id="video1", member="42:Example Member"),
        entry(5, "md5", hx(32), external_id="image9", member="42:Example Member", deleted=True),
    ]
    # images are written before videos, so compare without order
    assert sorted(map(key, roundtrip("ncmec", es))) == sorted(map(key, es))


NCMEC_SAMPLE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
  <images count="2" maxTimestamp="2017-10-24T15:10:00Z">
    <image>
      <member id="42">Example Member</member>
      <timestamp>2017-10-24T15:00:00Z</timestamp>
      <id>image1</id>
      <classification>A1</classification>
      <fingerprints>
        <md5>a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1</md5>
        <sha1>a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1</sha1>
        <pdna>a1a1a1a1a1a1...</pdna>
      </fingerprints>
      <feedback><affirmativeFeedback type="Md5"><members>
        <member id="42">Example Member</member></members></affirmativeFeedback></feedback>
    </image>
    <deletedImage>
      <member id="43">Example Member2</member>
      <id>image4</id>
    </deletedImage>
  </images>
  <videos count="1" maxTimestamp="2017-10-24T15:20:00Z">
    <video>
      <member id="42">Example Member</member>
      <id>video1</id>
      <fingerprints>
        <md5>b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1</md5>
        <tmk-pdqf rel="self" href="/v2/entries/1/fingerprints/TMK_PDQF"/>
      </fingerprints>
    </video>
  </videos>
</queryResult>
"""


def test_ncmec_reads_pytx_sample_shape() -> None:
    f = get_format("ncmec")
    got = list(f.parse(io.BytesIO(NCMEC_SAMPLE.encode()), source="f"))
    assert [(r.hash_type, r.external_id, r.member, r.label, r.deleted) for r in got] == [
        ("md5", "image1", "42:Example Member", "A1", False),
        ("sha1", "image1", "42:Example Member", "A1", False),
        ("", "image4", "43:Example Member2", None, True),
        ("video_md5", "video1", "42:Example Member", None, False),
    ]
    assert f.stats == {"ncmec image PDNA fingerprints": 1}


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<queryResult><images><image><id>&b;</id></image></images></queryResult>",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<queryResult><images><image><id>&x;</id></image></images></queryResult>",
        '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><queryResult/>',
    ],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_ncmec_refuses_hostile_xml(xml: str) -> None:
    with pytest.raises(BankImportError, match="DOCTYPE/ENTITY declarations are refused"):
        parse("ncmec", xml)


def test_ncmec_bad_xml_names_line() -> None:
    with pytest.raises(BankImportError, match=r"f:3: bad XML"):
        parse("ncmec", "<queryResult>\n<images>\n</queryResult>")


def test_ncmec_size_cap() -> None:
    f = FORMATS["ncmec"](max_bytes=10)  # type: ignore[call-arg]
    with pytest.raises(BankImportError, match="larger than"):
        list(f.parse(io.BytesIO(NCMEC_SAMPLE.encode()), source="f"))


def test_ncmec_write_refuses_types_it_cannot_hold() -> None:
    with pytest.raises(BankError, match="cannot hold sha256"):
        get_format("ncmec").write([entry(1, "sha256", hx(64))], io.StringIO())


def test_text_skips_comments_blank_crlf_bom() -> None:
    a, b = hx(32), hx(40)
    data = b"\xef\xbb\xbf# header\r\n\r\n" + a.encode() + b"\r\n  " + b.encode() + b"  \r\n"
    got = parse("text", data)
    assert [(r.hash_type, r.value, r.line) for r in got] == [("md5", a, 3), ("sha1", b, 4)]


def test_text_64_hex_is_ambiguous() -> None:
    with pytest.raises(BankImportError, match=r"f:2: .*--type pdq or --type sha256"):
        parse("text", f"{hx(32)}\n{hx(64)}\n")
    assert parse("text", hx(64), hash_type="pdq")[0].hash_type == "pdq"


def test_csv_wide_laion_style() -> None:
    p, m = hx(64), hx(32)
    data = f"url,caption,pdq,md5\nhttps://example.org/1.jpg,a cat,{p},{m}\nhttps://x/2,b,,{m}\n"
    got = parse("csv", data)
    assert [(r.hash_type, r.line) for r in got] == [("pdq", 2), ("md5", 2), ("md5", 3)]


def test_csv_type_from_argument() -> None:
    got = parse("csv", f"hash,label\n{hx(64)},x\n", hash_type="sha256")
    assert got[0].hash_type == "sha256" and got[0].label == "x"


@pytest.mark.parametrize(
    ("fmt", "data", "match"),
    [
        ("csv", "url,caption\nhttps://example.org,x\n", r"f:1: missing hash column"),
        ("csv", 'hash,hash_type\n"abc,md5\n', r"bad CSV"),
        ("csv", f"hash,hash_type,deleted\n{'a' * 32},md5,maybe\n", r"f:2: deleted"),
        ("csv", f"hash\n{'a' * 32}\n", r"f:2: no hash type"),
        ("jsonl", '{"hash": "aa", "hash_type": "md5"}\n{"hash": \n', r"f:2: invalid JSON"),
        ("jsonl", "[1, 2]\n", r"f:1: want a JSON object"),
        ("jsonl", '{"label": "x"}\n', r"f:1: missing hash"),
        ("text", b"\xff\xfe\n", r"f:1: not UTF-8"),
        ("text", "md6 abc\n", r"f:1: .*unknown type 'md6'"),
        ("pytx", "a,b\n", r"f:1: not a python-threatexchange CSV"),
    ],
)
def test_parse_errors_name_the_line(fmt: str, data: str | bytes, match: str) -> None:
    with pytest.raises(BankImportError, match=match):
        parse(fmt, data)


def test_non_utf8_in_csv_names_line() -> None:
    with pytest.raises(BankImportError, match=r"f:3: not UTF-8"):
        parse("csv", b"hash,type\n" + b"a" * 32 + b",md5\n\xc3\x28,md5\n")


@pytest.mark.parametrize(
    ("name", "head", "want"),
    [
        ("x.txt", b"# list\nabc\n", "text"),
        ("x.csv", b"\xef\xbb\xbfhash,label\n", "csv"),
        ("x", b"url,pdq\n", "csv"),
        ("x", b"signal_type,signal_str,collab,category,tags\n", "pytx"),
        ("x", b'{"hash": "a"}\n', "jsonl"),
        ("x", b'<?xml version="1.0"?>', "ncmec"),
        ("x.xml", b"", "ncmec"),
    ],
)
def test_detect_format(name: str, head: bytes, want: str) -> None:
    assert detect_format(name, head) == want


def test_empty_inputs() -> None:
    for fmt in ("text", "csv", "jsonl", "pytx"):
        assert parse(fmt, b"") == []
