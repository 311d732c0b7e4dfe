"""C2PA manifests: sign and read back, trust, tampering, and credentials c2pa itself refuses."""

from __future__ import annotations

import datetime as dt
import importlib.util
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from childsafe import __version__
from childsafe.config import Settings
from childsafe.errors import ConfigError
from childsafe.provenance import c2pa_manifest as cm
from childsafe.provenance.base import TRAINED_ALGORITHMIC_MEDIA, GenerationClaim
from childsafe.provenance.certs import DevChain, SigningPair, make_dev_chain

Photo = Callable[..., np.ndarray]
Encoder = Callable[..., bytes]


def _issue() -> Callable[..., tuple[bytes, bytes]]:
    path = Path(__file__).with_name("test_certs.py")
    spec = importlib.util.spec_from_file_location("_provenance_test_certs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.issue  # type: ignore[no-any-return]


def edit_png_pixel(png: bytes) -> bytes:
    """Change one pixel byte and rewrite the image data: a well-formed PNG, edited after signing.

    The chunks around the image data (the C2PA ``caBX`` chunk included) are kept as they are.
    """
    chunks: list[tuple[bytes, bytes]] = []
    pos = 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    raw = bytearray(zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT")))
    width, height = struct.unpack(">II", chunks[0][1][:8])  # IHDR; 8-bit RGB, not interlaced
    stride = 1 + 3 * width  # each row starts with its filter-type byte: leave those alone
    raw[stride * (height // 2) + 1 + 3 * (width // 2)] ^= 0x40
    out, wrote_idat = [png[:8]], False
    for kind, body in chunks:
        if kind == b"IDAT":
            if wrote_idat:
                continue
            kind, body, wrote_idat = b"IDAT", zlib.compress(bytes(raw)), True
        out.append(struct.pack(">I", len(body)) + kind + body)
        out.append(struct.pack(">I", zlib.crc32(kind + body)))
    return b"".join(out)


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_sign_and_read_back(
    photo: Photo,
    encoder: Encoder,
    signer: cm.Signer,
    claim: GenerationClaim,
    fmt: str,
    mime: str,
) -> None:
    data = encoder(photo("coffee"), fmt)
    signed, label = cm.sign(data, mime, claim, signer, watermark_id="0a1b2c3d")
    assert label.startswith("urn:c2pa:")
    assert len(signed) < len(data) + 20_000  # no thumbnail copy of the image
    got = cm.read(signed)
    assert (got.present, got.valid, got.trusted, got.error) == (True, True, None, None)
    assert got.label == label
    assert got.claim_generator == f"childsafe/{__version__}"
    assert got.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert (got.model, got.model_version) == ("test-diffusion", "1.2")
    assert got.watermark_id == "0a1b2c3d"
    assert got.signer == "childsafe development signer"
    assert got.failures == []


def test_trust_anchor_decides_trusted(
    photo: Photo, encoder: Encoder, signer: cm.Signer, dev_chain: DevChain, claim: GenerationClaim
) -> None:
    signed, _ = cm.sign(encoder(photo("chelsea")), "image/png", claim, signer)
    mine = cm.read(signed, trust_anchors=dev_chain.ca)
    assert (mine.valid, mine.trusted, mine.failures) == (True, True, [])
    other = cm.read(signed, trust_anchors=make_dev_chain().ca)
    assert other.valid and other.trusted is False
    assert any(f.startswith("signingCredential.untrusted") for f in other.failures)


def test_edited_pixels_invalidate_with_a_reason(
    photo: Photo, encoder: Encoder, signer: cm.Signer, claim: GenerationClaim
) -> None:
    signed, _ = cm.sign(encoder(photo("coffee")), "image/png", claim, signer)
    got = cm.read(edit_png_pixel(signed))
    assert got.present and not got.valid
    assert any("dataHash.mismatch" in f for f in got.failures), got.failures


def test_no_manifest_and_garbage_do_not_raise(photo: Photo, encoder: Encoder) -> None:
    plain = cm.read(encoder(photo("coffee")))
    assert (plain.present, plain.valid, plain.error) == (False, False, None)
    for junk in (b"", b"hello world", b"\x89PNG\r\n\x1a\n" + bytes(40), b"\xff\xd8\xff" + bytes(9)):
        got = cm.read(junk)
        assert not got.present and not got.valid


def test_settings_give_the_signer(tmp_path: Path, dev_chain: DevChain) -> None:
    assert cm.Signer.from_settings(Settings()) is None
    (tmp_path / "chain.pem").write_bytes(dev_chain.chain)
    (tmp_path / "key.pem").write_bytes(dev_chain.key)
    both = Settings(provenance_cert=tmp_path / "chain.pem", provenance_key=tmp_path / "key.pem")
    signer = cm.Signer.from_settings(both)
    assert signer is not None and signer.pair.alg == "es256"
    with pytest.raises(ConfigError, match="both"):
        cm.Signer.from_settings(Settings(provenance_cert=tmp_path / "chain.pem"))
    with pytest.raises(ConfigError, match="cannot read"):
        cm.Signer.from_files(tmp_path / "missing.pem", tmp_path / "key.pem")


DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@pytest.mark.parametrize(
    ("ekus", "self_signed"),
    [
        ([ExtendedKeyUsageOID.SERVER_AUTH], False),
        ([DOCUMENT_SIGNING], False),
        ([], False),
        ([ExtendedKeyUsageOID.EMAIL_PROTECTION], True),
    ],
    ids=["serverAuth", "documentSigning", "no-eku", "self-signed"],
)
def test_c2pa_itself_refuses_what_the_checks_refuse(
    photo: Photo, encoder: Encoder, claim: GenerationClaim, ekus: list[object], self_signed: bool
) -> None:
    """Keeps certs.py's rules honest: bypass the checks, and c2pa-rs refuses to sign."""
    chain, key = _issue()(ekus, self_signed=self_signed)
    pair = SigningPair(chain, key, "es256", "test signer", "test CA", dt.datetime.now(dt.UTC))
    with pytest.raises(ConfigError, match="cannot sign the C2PA manifest"):
        cm.sign(encoder(photo("coffee")), "image/png", claim, cm.Signer(pair))


def test_ed25519_chain_signs(photo: Photo, encoder: Encoder, claim: GenerationClaim) -> None:
    dev = make_dev_chain(alg="ed25519")
    signed, _ = cm.sign(
        encoder(photo("coffee")), "image/png", claim, cm.Signer.from_pem(dev.chain, dev.key)
    )
    got = cm.read(signed, trust_anchors=dev.ca)
    assert got.valid and got.trusted


def test_definition_carries_no_content(claim: GenerationClaim) -> None:
    definition = cm.manifest_definition(claim, watermark_id=None)
    labels = [a["label"] for a in definition["assertions"]]
    assert labels == ["c2pa.actions"]
    (action,) = definition["assertions"][0]["data"]["actions"]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert "req-42" not in repr(definition)  # the generation id stays out of the manifest
