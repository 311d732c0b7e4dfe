"""C2PA manifests: sign one into an image, read one back, through c2pa-python (offline).

The manifest says what the C2PA "AI-generated" label needs, and no more: a ``c2pa.actions``
assertion with one ``c2pa.created`` action whose ``digitalSourceType`` is IPTC's
``trainedAlgorithmicMedia`` and whose ``softwareAgent`` is the model (name and version from
the :class:`GenerationClaim`); the claim generator is ``childsafe/<version>``. When the image
also carries a watermark, an ``org.childsafe.watermark`` assertion names its method and id, so
a C2PA reader learns that the pixels carry a mark too. No prompt, no content.

Offline by construction: no timestamp authority unless one is configured (then the signing
time is only the signer's claim, which C2PA allows), no OCSP fetches and no remote-manifest
fetches when reading (a hostile file could otherwise make the verifier call a URL it names),
and no thumbnail (it would add a JPEG copy of the image, doubling a PNG's size).

Every c2pa-python failure becomes a :class:`~childsafe.errors.ConfigError` when signing (bad
credentials are the cause in practice) and a reason in :class:`ManifestReading` when reading.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa  # type: ignore[import-untyped]

from childsafe.config import Settings
from childsafe.errors import ConfigError
from childsafe.provenance.base import TRAINED_ALGORITHMIC_MEDIA, GenerationClaim
from childsafe.provenance.certs import SigningPair, check_signing_pair, make_dev_chain

WATERMARK_ASSERTION = "org.childsafe.watermark"
_ALGS = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}
_OFFLINE_VERIFY = {"remote_manifest_fetch": False, "ocsp_fetch": False}
_SIGN_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}, "verify": _OFFLINE_VERIFY}
_UNTRUSTED = "signingCredential.untrusted"


@dataclass(frozen=True, slots=True)
class Signer:
    """A checked certificate chain and key that sign manifests.

    c2pa's native signer is made per signature: it is cheap, and a native handle shared
    between threads is not worth the risk.
    """

    pair: SigningPair
    tsa_url: str | None = None

    @classmethod
    def from_pem(
        cls, chain: bytes, key: bytes, *, tsa_url: str | None = None, where: str = "signing key"
    ) -> Signer:
        """From PEM bytes; a :class:`ConfigError` says what is wrong with them."""
        return cls(check_signing_pair(chain, key, where=where), tsa_url)

    @classmethod
    def from_files(cls, cert: Path, key: Path, *, tsa_url: str | None = None) -> Signer:
        """From a PEM chain file (signer first) and a PEM key file."""
        try:
            chain_pem, key_pem = cert.read_bytes(), key.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read signing credentials: {exc}") from None
        return cls.from_pem(chain_pem, key_pem, tsa_url=tsa_url, where=str(cert))

    @classmethod
    def from_settings(cls, settings: Settings) -> Signer | None:
        """From ``CHILDSAFE_PROVENANCE_CERT``/``_KEY``; ``None`` when neither is set."""
        cert, key = settings.provenance_cert, settings.provenance_key
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            raise ConfigError(
                "set both CHILDSAFE_PROVENANCE_CERT and CHILDSAFE_PROVENANCE_KEY, or neither"
            )
        return cls.from_files(cert, key)

    @classmethod
    def development(cls) -> Signer:
        """A throwaway in-memory development chain (manifests verify but are never trusted)."""
        dev = make_dev_chain()
        return cls.from_pem(dev.chain, dev.key, where="development chain")


@dataclass(slots=True)
class ManifestReading:
    """What reading an asset's C2PA data found (see ``ProvenanceReport`` for the meanings)."""

    present: bool = False
    valid: bool = False
    trusted: bool | None = None
    label: str | None = None
    claim_generator: str | None = None
    digital_source_type: str | None = None
    model: str | None = None
    model_version: str | None = None
    watermark_id: str | None = None
    signer: str | None = None
    issuer: str | None = None
    failures: list[str] = field(default_factory=list)
    error: str | None = None


def manifest_definition(claim: GenerationClaim, *, watermark_id: str | None) -> dict[str, Any]:
    """The manifest c2pa's Builder turns into a signed claim."""
    from childsafe import __version__

    agent: dict[str, str] = {"name": claim.model_name}
    if claim.model_version:
        agent["version"] = claim.model_version
    created = {
        "action": "c2pa.created",
        "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
        "softwareAgent": agent,
    }
    assertions: list[dict[str, Any]] = [{"label": "c2pa.actions", "data": {"actions": [created]}}]
    if watermark_id is not None:
        from childsafe.provenance.watermark import METHOD

        assertions.append(
            {"label": WATERMARK_ASSERTION, "data": {"method": METHOD, "id": watermark_id}}
        )
    definition: dict[str, Any] = {
        "claim_generator_info": [{"name": "childsafe", "version": __version__}],
        "assertions": assertions,
    }
    if claim.title:
        definition["title"] = claim.title
    return definition


def sign(
    data: bytes,
    mime: str,
    claim: GenerationClaim,
    signer: Signer,
    *,
    watermark_id: str | None = None,
) -> tuple[bytes, str]:
    """``data`` (an image encoded as ``mime``) with a signed manifest embedded, and its label."""
    definition = manifest_definition(claim, watermark_id=watermark_id)
    pair = signer.pair
    try:
        info = c2pa.C2paSignerInfo(_ALGS[pair.alg], pair.chain, pair.key, signer.tsa_url)
        out = io.BytesIO()
        with (
            c2pa.Context.from_dict(_SIGN_SETTINGS) as ctx,
            c2pa.Signer.from_info(info) as native,
            c2pa.Builder(definition, ctx) as builder,
        ):
            builder.sign(native, mime, io.BytesIO(data), out)
        signed = out.getvalue()
        with c2pa.Reader(mime, io.BytesIO(signed)) as reader:
            label = json.loads(reader.json())["active_manifest"]
    except c2pa.C2paError as exc:
        raise ConfigError(f"cannot sign the C2PA manifest: {_short(exc)}") from None
    return signed, str(label)


def read(data: bytes, *, trust_anchors: bytes | None = None) -> ManifestReading:
    """Read and validate the C2PA manifest in ``data``; never raises for bad input.

    ``trust_anchors`` (PEM CA certificates) turns on the trust check: without it a manifest
    can be valid (intact, correctly signed) but its signer is not judged.
    """
    verify = {**_OFFLINE_VERIFY, "verify_trust": trust_anchors is not None}
    settings: dict[str, Any] = {"verify": verify}
    if trust_anchors is not None:
        settings["trust"] = {"trust_anchors": trust_anchors.decode("ascii", "replace")}
    try:
        with (
            c2pa.Context.from_dict(settings) as ctx,
            c2pa.Reader(None, io.BytesIO(data), None, ctx) as reader,
        ):
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return ManifestReading()
    except c2pa.C2paError as exc:
        return ManifestReading(error=f"cannot read C2PA data: {_short(exc)}")
    except Exception as exc:  # hostile input must not escape as a traceback
        return ManifestReading(error=f"cannot read C2PA data: {type(exc).__name__}: {_short(exc)}")
    return _reading(store, state, results, anchored=trust_anchors is not None)


def _reading(
    store: dict[str, Any], state: str | None, results: dict[str, Any], *, anchored: bool
) -> ManifestReading:
    label = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(label, {}) if label else {}
    failures = [
        f"{f.get('code')}: {f.get('explanation', '')}".rstrip(": ")
        for f in results.get("activeManifest", {}).get("failure", [])
        if anchored or f.get("code") != _UNTRUSTED
    ]
    out = ManifestReading(
        present=True,
        valid=state in ("Valid", "Trusted"),
        trusted=(state == "Trusted") if anchored else None,
        label=label,
        failures=failures,
    )
    if not manifest:
        out.valid = False
        out.failures.append("no active manifest in the C2PA store")
        return out
    gens = manifest.get("claim_generator_info") or []
    if gens and isinstance(gens[0], dict):
        gen = gens[0]
        out.claim_generator = "/".join(str(gen[k]) for k in ("name", "version") if k in gen)
    else:
        out.claim_generator = manifest.get("claim_generator")
    sig = manifest.get("signature_info") or {}
    out.signer, out.issuer = sig.get("common_name"), sig.get("issuer")
    for assertion in manifest.get("assertions", []):
        name, data = str(assertion.get("label", "")), assertion.get("data") or {}
        if name.startswith("c2pa.actions"):
            _read_actions(out, data.get("actions") or [])
        elif name == WATERMARK_ASSERTION:
            out.watermark_id = data.get("id")
    return out


def _read_actions(out: ManifestReading, actions: list[dict[str, Any]]) -> None:
    for action in actions:
        if action.get("action") != "c2pa.created":
            continue
        out.digital_source_type = action.get("digitalSourceType")
        agent = action.get("softwareAgent")
        if isinstance(agent, dict):
            out.model, out.model_version = agent.get("name"), agent.get("version")
        elif isinstance(agent, str):
            out.model = agent
        return


def _short(exc: Exception) -> str:
    """c2pa's message without its multi-line detail, for a one-line error."""
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
