"""Signing certificates: the development chain fits C2PA, and bad credentials say what is wrong."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from childsafe.errors import ConfigError
from childsafe.provenance.certs import (
    DevChain,
    check_signing_pair,
    make_dev_chain,
    write_dev_chain,
)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def issue(ekus: list[x509.ObjectIdentifier], *, self_signed: bool = False) -> tuple[bytes, bytes]:
    """A P-256 signing chain (signer, CA) with the given EKUs, and the signer's key.

    Certificates C2PA should refuse are built here, outside the code under test.
    """
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test signer")])

    def base(
        subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
        )

    ca = (
        base(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = base(leaf_name, leaf_name if self_signed else ca_name, key.public_key())
    if ekus:
        leaf = leaf.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    cert = leaf.sign(key if self_signed else ca_key, hashes.SHA256())
    return _pem(cert) + (b"" if self_signed else _pem(ca)), _pem_key(key)


@pytest.mark.parametrize(("alg", "want"), [("es256", "es256"), ("ed25519", "ed25519")])
def test_dev_chain_passes_the_checks(alg: str, want: str) -> None:
    chain = make_dev_chain(alg=alg, common_name="dev signer")
    pair = check_signing_pair(chain.chain, chain.key)
    assert pair.alg == want
    assert pair.subject == "dev signer"
    certs = x509.load_pem_x509_certificates(chain.chain)
    assert len(certs) == 2 and _pem(certs[1]) == chain.ca
    eku = certs[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert pair.not_after > dt.datetime.now(dt.UTC) + dt.timedelta(days=300)


def test_mismatched_key_is_named(dev_chain: DevChain) -> None:
    other = make_dev_chain()
    with pytest.raises(ConfigError, match="does not match"):
        check_signing_pair(dev_chain.chain, other.key, where="chain.pem")


def test_self_signed_is_refused_with_the_fix() -> None:
    chain, key = issue([ExtendedKeyUsageOID.EMAIL_PROTECTION], self_signed=True)
    with pytest.raises(ConfigError, match=r"self-signed.*make-cert"):
        check_signing_pair(chain, key)


@pytest.mark.parametrize(
    "ekus",
    [[], [ExtendedKeyUsageOID.SERVER_AUTH], [x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]],
)
def test_an_eku_c2pa_refuses_is_named(ekus: list[x509.ObjectIdentifier]) -> None:
    chain, key = issue(ekus)
    with pytest.raises(ConfigError, match="extended key usage"):
        check_signing_pair(chain, key)
    ok_chain, ok_key = issue([ExtendedKeyUsageOID.EMAIL_PROTECTION])
    assert check_signing_pair(ok_chain, ok_key).subject == "test signer"


@pytest.mark.parametrize(
    ("chain", "key", "match"),
    [
        (b"not a pem", None, "not PEM certificates"),
        (None, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private key"),
    ],
)
def test_garbage_pem_is_named(
    dev_chain: DevChain, chain: bytes | None, key: bytes | None, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        check_signing_pair(chain or dev_chain.chain, key or dev_chain.key)


def test_write_dev_chain_protects_the_key(tmp_path: Path) -> None:
    paths = write_dev_chain(tmp_path / "certs")
    assert {p.name for p in paths.values()} == {"chain.pem", "key.pem", "ca.pem"}
    assert stat.S_IMODE(paths["key"].stat().st_mode) == 0o600
    pair = check_signing_pair(paths["chain"].read_bytes(), paths["key"].read_bytes())
    assert pair.alg == "es256"
    old_key = paths["key"].read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        write_dev_chain(tmp_path / "certs")
    assert paths["key"].read_bytes() == old_key
    write_dev_chain(tmp_path / "certs", force=True)
    assert paths["key"].read_bytes() != old_key
    assert stat.S_IMODE(paths["key"].stat().st_mode) == 0o600
