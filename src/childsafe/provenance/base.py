"""Provenance nouns: what a generation claims, what marking returns, what a check finds.

Two marks, because each fails where the other holds. A C2PA manifest is signed and says who
made the image with which model, but it lives in the file's metadata: any re-encode, screenshot
or metadata strip removes it. The invisible watermark lives in the pixels and survives JPEG
re-encoding, but carries only 64 bits and dies with a crop or a resize. Neither proves anything
when it is missing (docs/provenance.md has the measured survival table).

Nothing here carries content: a claim names the model and an id, never the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The IPTC digital source type for content made by a trained model (C2PA's "AI generated").
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@dataclass(frozen=True, slots=True)
class GenerationClaim:
    """What a marked image declares about its making.

    ``generation_id`` is the caller's id for the generation (a guard or service request id): the
    watermark id is derived from it, so a mark read back can be joined to the decision log. No
    prompt or other content belongs here.
    """

    model_name: str
    model_version: str | None = None
    generation_id: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class MarkedImage:
    """An encoded, marked image.

    ``watermark_payload`` is the 9 bytes hidden in the pixels (marker, id, check byte),
    ``None`` when no watermark was added; ``manifest_label`` is the C2PA manifest's URN,
    ``None`` when unsigned.
    """

    data: bytes
    mime: str
    watermark_payload: bytes | None
    manifest_label: str | None

    @property
    def watermark_id(self) -> str | None:
        """The id part of the payload, as hex."""
        return self.watermark_payload[4:8].hex() if self.watermark_payload else None


@dataclass(slots=True)
class ProvenanceReport:
    """What one check of one file found; built field by field, never raised.

    * ``c2pa_valid``: a manifest is there and its signature and hashes verify (the content is
      the one signed). It says nothing about *who* signed: ``c2pa_trusted`` is ``True`` only
      when the signing chain ends at a trust anchor the caller gave, ``None`` when none was
      given.
    * ``watermark_found``: all 32 marker bits read back; ``watermark_id`` is ``None`` when the
      id after the marker fails its check byte (damaged, e.g. by heavy JPEG compression).
    * ``ai_generated``: a childsafe watermark was found, or a *valid* manifest declares
      :data:`TRAINED_ALGORITHMIC_MEDIA`. ``digital_source_type`` shows what a manifest declares
      even when it does not verify.
    * ``c2pa_failures``: why a manifest does not verify (``code: explanation``);
      ``notes``: a check skipped for a stated reason (an image too small to carry a
      watermark); ``errors``: the file could not be checked (empty, not an image, damaged).
      An unmarked file has none of these: a missing mark is not an error, and proves nothing
      about where the file came from.
    """

    source: str
    watermark_found: bool = False
    watermark_payload: bytes | None = None
    watermark_id: str | None = None
    watermark_confidence: float | None = None
    watermark_scale: float | None = None
    c2pa_present: bool = False
    c2pa_valid: bool = False
    c2pa_trusted: bool | None = None
    ai_generated: bool = False
    digital_source_type: str | None = None
    claim_generator: str | None = None
    model: str | None = None
    model_version: str | None = None
    manifest_label: str | None = None
    signer: str | None = None
    issuer: str | None = None
    mime: str | None = None
    c2pa_failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def marked(self) -> bool:
        """Some provenance mark is there (a watermark, or a manifest, valid or not)."""
        return self.watermark_found or self.c2pa_present

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (bytes as hex), stable keys for scripts and the service."""
        return {
            "source": self.source,
            "mime": self.mime,
            "ai_generated": self.ai_generated,
            "watermark_found": self.watermark_found,
            "watermark_payload": self.watermark_payload.hex() if self.watermark_payload else None,
            "watermark_id": self.watermark_id,
            "watermark_confidence": self.watermark_confidence,
            "watermark_scale": self.watermark_scale,
            "c2pa_present": self.c2pa_present,
            "c2pa_valid": self.c2pa_valid,
            "c2pa_trusted": self.c2pa_trusted,
            "digital_source_type": self.digital_source_type,
            "claim_generator": self.claim_generator,
            "model": self.model,
            "model_version": self.model_version,
            "manifest_label": self.manifest_label,
            "signer": self.signer,
            "issuer": self.issuer,
            "c2pa_failures": list(self.c2pa_failures),
            "notes": list(self.notes),
            "errors": list(self.errors),
        }
