"""Signing certificates for C2PA manifests: a local development chain, and checks of a real one.

C2PA (and the c2pa-rs library under c2pa-python) refuses to sign with a certificate that does
not fit its profile, with errors as terse as "the certificate is invalid". Checked against
c2pa-rs 0.91 (the tests keep this honest):

* the signing certificate must not be self-signed: a CA issues it, and the chain (signer
  first, then the CA) goes into the manifest;
* it needs the ``digitalSignature`` key usage and an extended key usage C2PA allows:
  ``emailProtection`` works; no EKU, ``serverAuth`` or ``documentSigning`` are refused;
* ES256 (P-256), ES384, ES512 and Ed25519 keys work; so do RSA-PSS keys, not made here.

:func:`check_signing_pair` tests a chain and key against those rules first, so a bad file
gets a message saying what is wrong with it. :func:`make_dev_chain` makes a throwaway CA and
signer for development and tests: manifests it signs verify (``c2pa_valid``) but are trusted
only where its CA is given as a trust anchor. Production deployments use a certificate from a
CA on the C2PA trust list.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from childsafe.errors import ConfigError

KeyAlg = Literal["es256", "ed25519"]
# EKUs c2pa-rs accepts on a claim signer (measured; see the module docstring).
ALLOWED_EKUS = frozenset({ExtendedKeyUsageOID.EMAIL_PROTECTION})
_CURVE_ALG = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
_NO_USAGE = {
    "content_commitment": False,
    "key_encipherment": False,
    "data_encipherment": False,
    "key_agreement": False,
    "encipher_only": False,
    "decipher_only": False,
}


@dataclass(frozen=True, slots=True)
class DevChain:
    """A development CA and a signer it issued, as PEM: ``chain`` is signer then CA."""

    chain: bytes
    key: bytes
    ca: bytes


@dataclass(frozen=True, slots=True)
class SigningPair:
    """A checked chain and key: the C2PA algorithm name and who the signer is."""

    chain: bytes
    key: bytes
    alg: str
    subject: str
    issuer: str
    not_after: dt.datetime


def make_dev_chain(
    *,
    common_name: str = "childsafe development signer",
    organization: str = "childsafe (development only)",
    days: int = 365,
    alg: KeyAlg = "es256",
) -> DevChain:
    """A new CA and a signing certificate fit for C2PA, valid ``days`` from now."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=days)
    ca_key, digest = _new_key(alg)
    ca_name = _name(f"{organization} CA", organization)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **_NO_USAGE),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, digest)
    )
    key, _ = _new_key(alg)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, organization))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **_NO_USAGE),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(sorted(ALLOWED_EKUS, key=str)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, digest)
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    return DevChain(cert.public_bytes(serialization.Encoding.PEM) + ca_pem, key_pem, ca_pem)


def write_dev_chain(
    directory: Path,
    *,
    force: bool = False,
    common_name: str = "childsafe development signer",
    days: int = 365,
    alg: KeyAlg = "es256",
) -> dict[str, Path]:
    """Write ``chain.pem``, ``key.pem`` (mode 0600) and ``ca.pem`` into ``directory``.

    Refuses to overwrite an existing key unless ``force``: replacing a signing key by accident
    orphans every manifest signed with it.
    """
    paths = {name: directory / f"{name}.pem" for name in ("chain", "key", "ca")}
    if not force and (existing := [p for p in paths.values() if p.exists()]):
        raise ConfigError(f"{existing[0]}: already exists (use force to replace it)")
    chain = make_dev_chain(common_name=common_name, days=days, alg=alg)
    directory.mkdir(parents=True, exist_ok=True)
    paths["chain"].write_bytes(chain.chain)
    paths["ca"].write_bytes(chain.ca)
    fd = os.open(paths["key"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(chain.key)
    paths["key"].chmod(0o600)  # O_CREAT's mode is ignored when the file already existed
    return paths


def check_signing_pair(chain: bytes, key: bytes, *, where: str = "signing key") -> SigningPair:
    """Check a PEM chain (signer first) and PEM key against C2PA's rules; say what is wrong."""
    try:
        certs = x509.load_pem_x509_certificates(chain)
    except ValueError as exc:
        raise ConfigError(f"{where}: certificate chain is not PEM certificates: {exc}") from None
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: private key is not an unencrypted PEM key: {exc}") from None
    leaf = certs[0]
    if leaf.public_key() != private.public_key():
        raise ConfigError(f"{where}: the private key does not match the first certificate")
    alg = _alg_of(private, where)
    now = dt.datetime.now(dt.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise ConfigError(
            f"{where}: certificate is not valid now (valid {leaf.not_valid_before_utc:%Y-%m-%d}"
            f" to {leaf.not_valid_after_utc:%Y-%m-%d})"
        )
    if leaf.issuer == leaf.subject:
        raise ConfigError(
            f"{where}: certificate is self-signed; C2PA needs one issued by a CA "
            "(childsafe provenance make-cert makes a development chain)"
        )
    try:
        ekus = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = set()
    if not ekus & ALLOWED_EKUS:
        raise ConfigError(
            f"{where}: certificate lacks an extended key usage C2PA accepts (emailProtection)"
        )
    return SigningPair(
        chain=chain,
        key=key,
        alg=alg,
        subject=_common_name(leaf.subject),
        issuer=_common_name(leaf.issuer),
        not_after=leaf.not_valid_after_utc,
    )


def _alg_of(private: object, where: str) -> str:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name in _CURVE_ALG:
        return _CURVE_ALG[private.curve.name]
    if isinstance(private, rsa.RSAPrivateKey):
        return "ps256"
    raise ConfigError(f"{where}: key type {type(private).__name__} cannot sign C2PA manifests")


def _new_key(
    alg: KeyAlg,
) -> tuple[ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, hashes.SHA256 | None]:
    if alg == "es256":
        return ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()
    if alg == "ed25519":
        return ed25519.Ed25519PrivateKey.generate(), None  # Ed25519 signs without a digest
    raise ConfigError(f"unknown key algorithm {alg!r}: want es256 or ed25519")


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )


def _common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else name.rfc4514_string()
