"""``ncmec``: NCMEC hash-sharing API entries XML, as python-threatexchange reads it.

Shape (``threatexchange/exchanges/clients/ncmec/hash_api.py``, ``NCMECEntryUpdate.from_xml``
and ``GetEntriesResponse.from_xml``; sample in ``ncmec/tests/data.py``)::

    <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
      <images count=".." maxTimestamp="..">
        <image>
          <member id="42">Example Member</member> <id>image1</id>
          <classification>A1</classification>
          <fingerprints><md5>..</md5><sha1>..</sha1><pdq>..</pdq><pdna>..</pdna></fingerprints>
        </image>
        <deletedImage><member id="43">..</member><id>image4</id></deletedImage>
      </images>
      <videos> <video>..</video> <deletedVideo>..</deletedVideo> </videos>
    </queryResult>

Mapping, as pytx's NCMEC exchange does (``exchanges/impl/ncmec_api.py``, ``_get_conversion``):
image md5/sha1/pdq are ``md5``/``sha1``/``pdq``; a video's md5 is ``video_md5`` and its sha1
is ``sha1``. Fingerprints childsafe cannot store (PDNA/PhotoDNA, NETCLEAN, VIDENTIFIER,
TMK_PDQF, ...) are skipped and counted in ``stats``, never stored under another type. The
entry id is ``external_id``; ``member`` is ``"<id>:<name>"``; classification is the label. A
``deleted*`` entry is a tombstone: NCMEC sends it without fingerprints, so it yields one
record with an empty hash and the entry id, which the importer resolves to the hashes that
id added.

Safety: the file is parsed by expat directly, in chunks, with a size cap. Any DOCTYPE or
ENTITY declaration is refused outright (billion laughs, external entities): NCMEC never
sends one, so refusing costs nothing and needs no ``defusedxml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any, NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from childsafe.banks.base import BankEntry
from childsafe.banks.batch import Row
from childsafe.banks.formats.base import BankFormat, opt
from childsafe.errors import BankError, BankImportError

MAX_BYTES = 2 * 1024**3
_CHUNK = 1 << 20
_ENTRY = {"image": ("image", False), "video": ("video", False),
          "deletedimage": ("image", True), "deletedvideo": ("video", True)}  # fmt: skip
_TYPES = {("image", "md5"): "md5", ("image", "sha1"): "sha1", ("image", "pdq"): "pdq",
          ("video", "md5"): "video_md5", ("video", "sha1"): "sha1"}  # fmt: skip
_WRITE = {"md5": ("image", "md5"), "sha1": ("image", "sha1"), "pdq": ("image", "pdq"),
          "video_md5": ("video", "md5")}  # fmt: skip


def _local(tag: str) -> str:
    return tag.rpartition(":")[2].rpartition("}")[2]


class _Handler:
    """Expat callbacks building one entry at a time; finished rows go to ``out``."""

    def __init__(self, fmt: NcmecFormat, parser: Any, source: str) -> None:
        self.fmt, self.p, self.source = fmt, parser, source
        self.out: list[Row] = []
        self.entry: dict[str, Any] | None = None
        self.path: list[str] = []
        self.text: list[str] = []

    def refuse(self, *_: Any) -> NoReturn:
        raise BankImportError(
            "DOCTYPE/ENTITY declarations are refused (entity expansion, external entities)",
            source=self.source,
            line=self.p.CurrentLineNumber,
        )

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag).lower()
        self.path.append(name)
        self.text = []
        e = self.entry
        if e is None and name in _ENTRY and len(self.path) >= 2:
            kind, deleted = _ENTRY[name]
            self.entry = {"kind": kind, "deleted": deleted, "fp": [], "depth": len(self.path),
                          "line": self.p.CurrentLineNumber}  # fmt: skip
        elif e is not None and name == "member" and len(self.path) == e["depth"] + 1:
            e["member_id"] = attrs.get("id", "")

    def chars(self, data: str) -> None:
        self.text.append(data)

    def end(self, tag: str) -> None:
        name = self.path.pop()
        e = self.entry
        if e is None:
            return
        text = "".join(self.text).strip()
        self.text = []
        depth = len(self.path)  # of this element's parent
        if depth == e["depth"] and name in ("id", "classification", "member"):
            e[name] = text
        elif depth == e["depth"] + 1 and self.path[-1] == "fingerprints" and text:
            e["fp"].append((name, text))
        elif depth + 1 == e["depth"]:
            self._emit(e)
            self.entry = None

    def _emit(self, e: dict[str, Any]) -> None:
        line = e["line"]
        if not e.get("id"):
            raise BankImportError("NCMEC entry without an <id>", source=self.source, line=line)
        member = f"{e.get('member_id', '')}:{e.get('member', '')}" if "member" in e else None
        label = opt(e.get("classification"))
        got = False
        for ftype, value in e["fp"]:
            htype = _TYPES.get((e["kind"], ftype))
            if htype is None:
                self.fmt.stats[f"ncmec {e['kind']} {ftype.upper()} fingerprints"] += 1
                continue
            got = True
            self.out.append((htype, value, label, None, e["id"], member, e["deleted"], line))
        if e["deleted"] and not got:
            self.out.append(("", "", label, None, e["id"], member, True, line))


class NcmecFormat(BankFormat):
    """NCMEC hash-sharing entries XML."""

    name = "ncmec"

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def sniff(self, head: bytes) -> bool:
        return head.lstrip().startswith(b"<")

    def rows(self, stream: IO[Any], *, source: str, hash_type: str | None) -> Iterator[Row]:
        p = expat.ParserCreate()
        h = _Handler(self, p, source)
        p.StartDoctypeDeclHandler = h.refuse
        p.EntityDeclHandler = h.refuse
        p.ExternalEntityRefHandler = h.refuse
        p.StartElementHandler = h.start
        p.EndElementHandler = h.end
        p.CharacterDataHandler = h.chars
        total = 0
        while True:
            chunk = stream.read(_CHUNK)
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            total += len(chunk)
            if total > self.max_bytes:
                raise BankImportError(f"XML larger than {self.max_bytes} bytes", source=source)
            try:
                p.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                msg = expat.errors.messages.get(exc.code, str(exc))
                raise BankImportError(f"bad XML: {msg}", source=source, line=exc.lineno) from None
            yield from h.out
            h.out.clear()
            if not chunk:
                return

    def write(self, entries: Iterable[BankEntry], stream: IO[str]) -> int:
        """One ``<image>``/``<video>`` per external id (tombstones as ``deleted*``)."""
        groups: dict[tuple[str, str, bool], list[BankEntry]] = {}
        for e in entries:
            if e.hash_type not in _WRITE:
                raise BankError(
                    f"the NCMEC format cannot hold {e.hash_type} hashes; export as csv or jsonl"
                )
            kind = _WRITE[e.hash_type][0]
            key = (kind, e.external_id or f"childsafe-{e.entry_id}", e.deleted)
            groups.setdefault(key, []).append(e)
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
               '<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">\n']  # fmt: skip
        for kind in ("image", "video"):
            items = [(k, v) for k, v in groups.items() if k[0] == kind]
            if not items:
                continue
            out.append(f'  <{kind}s count="{len(items)}">\n')
            for (_, ident, deleted), es in items:
                tag = f"deleted{kind.title()}" if deleted else kind
                out.append(f"    <{tag}>\n")
                if es[0].member:
                    mid, _, mname = es[0].member.partition(":")
                    out.append(f"      <member id={quoteattr(mid)}>{escape(mname)}</member>\n")
                out.append(f"      <id>{escape(ident)}</id>\n")
                if es[0].label:
                    out.append(f"      <classification>{escape(es[0].label)}</classification>\n")
                out.append("      <fingerprints>\n")
                for e in es:
                    ft = _WRITE[e.hash_type][1]
                    out.append(f"        <{ft}>{escape(e.value)}</{ft}>\n")
                out.append(f"      </fingerprints>\n    </{tag}>\n")
            out.append(f"  </{kind}s>\n")
        out.append("</queryResult>\n")
        stream.write("".join(out))
        return sum(len(v) for v in groups.values())


FORMAT = NcmecFormat()
parse = FORMAT.parse
write = FORMAT.write
